import CCurlShim

/// One hop of a request: its easy handle, the buffers libcurl's callbacks fill, and the continuation its caller
/// awaits.
///
/// Threading: built and configured on the submitting thread. `CurlEventLoop.submit` hands it to the loop thread under
/// the loop's lock, which orders the two; from then on only the loop thread touches it, libcurl's callbacks included
/// (they run inside `curl_multi_perform`). `cancelRequested` is the exception: it is read and written only under the
/// loop's lock. That is why the `@unchecked Sendable` is safe. The easy handle goes back to its pool in `deinit`, after
/// the loop has removed it from the multi handle.
final class CurlTransfer: @unchecked Sendable {
    enum Phase { case new, active, finished }
    enum Overflow { case body, headers }
    /// Unchecked: the checked kind allocates a canary per request (2% of the HTTP benchmark's client CPU) to catch a
    /// double resume, which cannot happen here: only `CurlEventLoop.complete` resumes, and it clears `completion`
    /// as it does; `HTTPClient.perform` resumes only a continuation it took back before the loop saw it.
    typealias Completion = UnsafeContinuation<Result<HTTPClient.Response, HTTPTransportError>, Never>

    let easy: CurlEasy
    /// Where the handle goes back when the transfer is done with it.
    private let easyPool: CurlEasyPool
    let url: HTTPURL
    let method: String
    let addressPolicy: AddressPolicy
    let maxBodyBytes: Int
    let maxHeaderBytes: Int
    /// Whether the connect timeout is the binding one, to name the right timeout when libcurl reports one.
    let connectLimitFirst: Bool
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// libcurl writes its message for a failure here (`CURLOPT_ERRORBUFFER`).
    let errorBuffer: UnsafeMutablePointer<CChar>

    // Loop-thread state, filled by the callbacks in CurlTransfer+Callbacks.swift.
    var phase = Phase.new
    var completion: Completion?
    var body: [UInt8] = []
    var headers: [HTTPHeader] = []
    var headerBytes = 0
    var overflow: Overflow?
    var refusedAddress: ConnectedAddress?
    /// Sockets opened for addresses the policy allowed.
    var allowedSockets = 0
    /// Set once the connection is ready (after any TLS handshake) and the address policy accepted it.
    var connectionReady = false
    /// Guarded by `CurlEventLoop`'s lock, not by thread confinement.
    var cancelRequested = false

    /// Creates the easy handle and sets every option. libcurl applies whichever of the two limits runs out first.
    init(_ request: HTTPClient.Request, url: HTTPURL, connectTimeout: Duration, timeout: Duration,
         configuration: HTTPClient.Configuration, easyPool: CurlEasyPool) throws(HTTPTransportError) {
        guard let handle = easyPool.take() else {
            throw HTTPTransportError(.other, host: url.host, detail: "libcurl could not create a transfer")
        }
        self.easy = CurlEasy(handle: handle)
        self.easyPool = easyPool
        self.url = url
        self.method = request.method
        self.addressPolicy = request.addressPolicy ?? configuration.addressPolicy
        self.maxBodyBytes = request.maxResponseBytes ?? configuration.maxResponseBytes
        self.maxHeaderBytes = configuration.maxHeaderBytes
        self.connectLimitFirst = connectTimeout <= timeout
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))

        guard HTTPHeader.isToken(request.method) else {
            throw HTTPTransportError(.invalidRequest, host: url.host, detail: "the method is not a valid token")
        }
        for header in request.headers {
            guard HTTPHeader.isToken(header.name) else {
                throw HTTPTransportError(.invalidRequest, host: url.host, detail: "a header name is not a valid token")
            }
            guard HTTPHeader.isSafeValue(header.value) else {
                throw HTTPTransportError(.invalidRequest, host: url.host,
                                         detail: "the value of header '\(header.name)' contains CR, LF or NUL")
            }
        }
        do {
            try configure(request, connectTimeout: connectTimeout, timeout: timeout, configuration: configuration)
        } catch {
            throw HTTPTransportError(.other, host: url.host, detail: error.message, curlCode: Int(error.code.rawValue))
        }
    }

    deinit {
        // Reset (in `give`) before the header list is freed: the handle must not keep a pointer into it.
        easyPool.give(easy.handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    /// libcurl's message for the failure, if it wrote one.
    var curlMessage: String? {
        let text = String(cString: errorBuffer).trimmingWhitespace()
        return text.isEmpty ? nil : text
    }

    private func configure(_ request: HTTPClient.Request, connectTimeout: Duration, timeout: Duration,
                           configuration: HTTPClient.Configuration) throws(CurlEasy.OptionError) {
        try easy.set(CURLOPT_URL, url.absoluteString)
        try easy.set(CURLOPT_ERRORBUFFER, pointer: errorBuffer)
        try easy.set(CURLOPT_NOSIGNAL, 1)
        // Only http(s), never a proxy from the environment, never a redirect followed by libcurl itself.
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_FOLLOWLOCATION, 0)
        try easy.set(CURLOPT_PROXY, "")
        try easy.set(CURLOPT_HTTP_VERSION, configuration.allowHTTP2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1)
        try easy.set(CURLOPT_PIPEWAIT, 1)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(connectTimeout))
        try easy.set(CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout))
        try easy.set(CURLOPT_MAXFILESIZE_LARGE, offset: Int64(maxBodyBytes))
        try easy.set(CURLOPT_USERAGENT, configuration.userAgent)
        try configureTLS(request.tls ?? configuration.tls)
        try configureMethodAndBody(request)
        try configureHeaders(request)
        try configureCallbacks()
    }

    private func configureTLS(_ tls: TLSOptions) throws(CurlEasy.OptionError) {
        try easy.set(CURLOPT_SSL_VERIFYPEER, 1)
        try easy.set(CURLOPT_SSL_VERIFYHOST, 2)
        if let roots = tls.additionalTrustRootsPEM {
            // The blob replaces the CA file; the CA directory (/etc/ssl/certs) still supplies the system roots.
            try easy.set(CURLOPT_CAINFO_BLOB, blob: roots)
        }
        if !tls.trustSystemRoots {
            try easy.set(CURLOPT_CAINFO, pointer: nil)
            try easy.set(CURLOPT_CAPATH, pointer: nil)
        }
        if let identity = tls.clientIdentity {
            try easy.set(CURLOPT_SSLCERTTYPE, "PEM")
            try easy.set(CURLOPT_SSLCERT_BLOB, blob: identity.certificateChainPEM)
            try easy.set(CURLOPT_SSLKEYTYPE, "PEM")
            try easy.set(CURLOPT_SSLKEY_BLOB, blob: identity.privateKeyPEM)
        }
    }

    private func configureMethodAndBody(_ request: HTTPClient.Request) throws(CurlEasy.OptionError) {
        let method = request.method
        let body = request.body ?? (["POST", "PUT", "PATCH"].contains(method) ? [] : nil)
        switch (method, body) {
        case ("GET", nil):
            try easy.set(CURLOPT_HTTPGET, 1)
        case ("HEAD", nil):
            try easy.set(CURLOPT_NOBODY, 1)
        case (_, nil):
            try easy.set(CURLOPT_CUSTOMREQUEST, method)
        case (_, let body?):
            // COPYPOSTFIELDS copies `size` bytes, so the size goes first and the bytes may contain NULs.
            try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(body.count))
            // An empty body still needs a non-null pointer: a null one would make libcurl read the body from stdin.
            let code = body.isEmpty
                ? "".withCString { ccurl_easy_setopt_pointer(easy.handle, CURLOPT_COPYPOSTFIELDS, $0) }
                : body.withUnsafeBytes {
                    ccurl_easy_setopt_pointer(easy.handle, CURLOPT_COPYPOSTFIELDS, $0.baseAddress)
                }
            guard code == CURLE_OK else { throw CurlEasy.OptionError(option: CURLOPT_COPYPOSTFIELDS, code: code) }
            if method != "POST" { try easy.set(CURLOPT_CUSTOMREQUEST, method) }
        }
    }

    private func configureHeaders(_ request: HTTPClient.Request) throws(CurlEasy.OptionError) {
        var lines = request.headers.map { header in
            // "Name;" is libcurl's way to send a header with an empty value ("Name:" would remove it).
            header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)"
        }
        // With a body libcurl would add "Content-Type: application/x-www-form-urlencoded"; send none unless asked.
        if !request.headers.contains("Content-Type") { lines.append("Content-Type:") }
        for line in lines {
            guard let appended = curl_slist_append(headerList, line) else {
                throw CurlEasy.OptionError(option: CURLOPT_HTTPHEADER, code: CURLE_OUT_OF_MEMORY)
            }
            headerList = appended
        }
        try easy.set(CURLOPT_HTTPHEADER, pointer: headerList)
    }

    /// The callbacks get this object, unretained: `CurlEventLoop` holds a retain (`Unmanaged`) for as long as the
    /// handle is in the multi handle, which is the only time libcurl calls them.
    private func configureCallbacks() throws(CurlEasy.OptionError) {
        let context = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        try check(CURLOPT_WRITEFUNCTION,
                  ccurl_easy_setopt_write_function(easy.handle, CURLOPT_WRITEFUNCTION, curlWriteBody))
        try easy.set(CURLOPT_WRITEDATA, pointer: context)
        try check(CURLOPT_HEADERFUNCTION,
                  ccurl_easy_setopt_write_function(easy.handle, CURLOPT_HEADERFUNCTION, curlWriteHeader))
        try easy.set(CURLOPT_HEADERDATA, pointer: context)
        try check(CURLOPT_OPENSOCKETFUNCTION, ccurl_easy_setopt_opensocket_function(easy.handle, curlOpenSocket))
        try easy.set(CURLOPT_OPENSOCKETDATA, pointer: context)
        try check(CURLOPT_PREREQFUNCTION, ccurl_easy_setopt_prereq_function(easy.handle, curlPrerequest))
        try easy.set(CURLOPT_PREREQDATA, pointer: context)
    }

    private func check(_ option: CURLoption, _ code: CURLcode) throws(CurlEasy.OptionError) {
        guard code == CURLE_OK else { throw CurlEasy.OptionError(option: option, code: code) }
    }

    /// A timeout for libcurl: whole milliseconds, rounded up, at least 1 (0 would mean "no limit").
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let total = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return max(1, Int(clamping: total))
    }
}
