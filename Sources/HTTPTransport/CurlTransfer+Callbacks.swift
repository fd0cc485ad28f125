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
    /// starting with space or tab) is joined to the field before it. Works on the bytes and makes Strings only of the
    /// name and the trimmed value: this runs on the loop thread for every header of every response.
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        let line = Self.trimmed(bytes)
        guard !line.isEmpty else { return }
        if line.starts(with: "HTTP/".utf8) {
            headers.removeAll(keepingCapacity: true)
            return
        }
        if bytes[0] == UInt8(ascii: " ") || bytes[0] == UInt8(ascii: "\t") {
            guard !headers.isEmpty else { return }
            headers[headers.count - 1].value += " " + String(decoding: line, as: UTF8.self)
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        let value = String(decoding: Self.trimmed(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...])), as: UTF8.self)
        headers.append(HTTPHeader(name, value))
    }

    /// `bytes` without leading and trailing spaces, tabs, CR and LF.
    private static func trimmed(_ bytes: UnsafeRawBufferPointer) -> Slice<UnsafeRawBufferPointer> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return bytes[0..<0]
        }
        return bytes[first...last]
    }
}
