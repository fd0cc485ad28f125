import CCurlShim

// libcurl's callbacks for a transfer. They run on the client's event-loop thread inside `curl_multi_perform`, get
// their `CurlTransfer` as an unretained pointer (the loop holds the retain), and only append to its buffers or ask
// its address policy: no locks, no Swift concurrency, nothing that could block or call back into libcurl.

/// `CURLOPT_WRITEFUNCTION`: appends body bytes; returning less than given makes libcurl fail with CURLE_WRITE_ERROR.
let curlWriteBody: curl_write_callback = { data, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    guard transfer.body.count + length <= transfer.maxBodyBytes else {
        transfer.overflow = .body
        return 0
    }
    if length > 0, let data {
        transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    }
    return length
}

/// `CURLOPT_HEADERFUNCTION`: one complete header line per call, status lines included.
let curlWriteHeader: curl_write_callback = { data, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    transfer.headerBytes += length
    guard transfer.headerBytes <= transfer.maxHeaderBytes else {
        transfer.overflow = .headers
        return 0
    }
    guard length > 0, let data else { return length }
    transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: length))
    return length
}

/// `CURLOPT_OPENSOCKETFUNCTION`: asks the address policy before a socket is even opened, so a refused address gets
/// no packet at all. Refusing returns CURL_SOCKET_BAD; libcurl then tries the host's next address, if any.
let curlOpenSocket: curl_opensocket_callback = { context, _, address in
    guard let context, let address else { return CURL_SOCKET_BAD }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    var text = [CChar](repeating: 0, count: 64)
    var port: Int32 = 0
    guard ccurl_sockaddr_format(address, &text, text.count, &port) == 0 else { return CURL_SOCKET_BAD }
    let ip = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let peer = ConnectedAddress(ip: ip, port: Int(port))
    guard transfer.addressPolicy.allows(peer) else {
        transfer.refusedAddress = peer
        return CURL_SOCKET_BAD
    }
    transfer.allowedSockets += 1
    return ccurl_open_socket(address)
}

/// `CURLOPT_PREREQFUNCTION`: the connection, new or reused, is ready (TLS included) and no request byte has been
/// sent. Asks the address policy again, which also covers a kept-alive connection opened under another policy.
let curlPrerequest: curl_prereq_callback = { context, primaryIP, _, primaryPort, _ in
    guard let context, let primaryIP else { return Int32(CURL_PREREQFUNC_ABORT) }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let peer = ConnectedAddress(ip: String(cString: primaryIP), port: Int(primaryPort))
    guard transfer.addressPolicy.allows(peer) else {
        transfer.refusedAddress = peer
        return Int32(CURL_PREREQFUNC_ABORT)
    }
    transfer.connectionReady = true
    return Int32(CURL_PREREQFUNC_OK)
}

extension CurlTransfer {
    /// Keeps the header fields of the latest response only: a status line (`HTTP/1.1 100 Continue`, `HTTP/2 200`)
    /// starts a new list. The blank line that ends a header section is dropped; a folded continuation line (obsolete,
    /// starting with space or tab) is joined to the field before it.
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            headers.removeAll(keepingCapacity: true)
            return
        }
        if let first = line.first, first == " " || first == "\t" {
            guard !headers.isEmpty else { return }
            let continuation = line.trimmingWhitespace()
            if !continuation.isEmpty { headers[headers.count - 1].value += " " + continuation }
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = String(line[..<colon])
        let value = String(line[line.index(after: colon)...]).trimmingWhitespace()
        headers.append(HTTPHeader(name, value))
    }
}
