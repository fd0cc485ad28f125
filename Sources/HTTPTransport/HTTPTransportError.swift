/// Why a request failed, with whether trying again may help and a message a person can act on.
///
/// A struct over a private code enum (so adding a code breaks no caller); `code.rawValue` is the stable string the
/// Lua host hands to plugins (`nil, "timeout"`). Messages name the host and never the path, query string, header
/// values or body, which can carry secrets and PHI.
public struct HTTPTransportError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidURL, invalidRequest, connectFailed, connectTimeout, timeout, tlsFailure,
                 certificateVerificationFailed, connectionReset, invalidResponse, responseTooLarge,
                 headersTooLarge, addressRefused, redirectRefused, tooManyRedirects, cancelled, shutdown, other
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Not an absolute http(s) URL with a host.
        public static let invalidURL = Code(.invalidURL)
        /// A bad method token, header name or header value (CR/LF/NUL).
        public static let invalidRequest = Code(.invalidRequest)
        /// Name resolution or TCP connect failed.
        public static let connectFailed = Code(.connectFailed)
        /// TCP connect plus TLS handshake did not finish in time.
        public static let connectTimeout = Code(.connectTimeout)
        /// Connected, but the whole request did not finish in time.
        public static let timeout = Code(.timeout)
        /// The TLS handshake failed for a reason other than verifying the server (protocol, client certificate,
        /// an alert from the server).
        public static let tlsFailure = Code(.tlsFailure)
        /// The server's certificate chain or name did not verify against the trusted roots.
        public static let certificateVerificationFailed = Code(.certificateVerificationFailed)
        /// The connection broke while sending or receiving (reset, closed early, empty or truncated reply).
        public static let connectionReset = Code(.connectionReset)
        /// The server's reply was not valid HTTP, or its content encoding was broken.
        public static let invalidResponse = Code(.invalidResponse)
        /// The response body exceeded `limit` bytes.
        public static let responseTooLarge = Code(.responseTooLarge)
        /// The response header section exceeded `limit` bytes.
        public static let headersTooLarge = Code(.headersTooLarge)
        /// The address policy refused the connected address (`address`).
        public static let addressRefused = Code(.addressRefused)
        /// The redirect policy refused a redirect target.
        public static let redirectRefused = Code(.redirectRefused)
        /// More redirects than the request allowed (`limit`).
        public static let tooManyRedirects = Code(.tooManyRedirects)
        /// The awaiting task was cancelled.
        public static let cancelled = Code(.cancelled)
        /// The client was shut down.
        public static let shutdown = Code(.shutdown)
        /// Anything else; `curlCode` and `detail` say what.
        public static let other = Code(.other)

        public var rawValue: String { base.rawValue }
        public var description: String { base.rawValue }

        /// Whether the same request may succeed later: transient network conditions yes; configuration, policy,
        /// certificates and limits no.
        public var isRetryable: Bool {
            switch base {
            case .connectFailed, .connectTimeout, .timeout, .connectionReset: return true
            default: return false
            }
        }
    }

    public let code: Code
    /// The host of the URL concerned, when known.
    public let host: String?
    /// libcurl's own words (`CURLOPT_ERRORBUFFER`) or ours; never contains header values or query strings.
    public let detail: String?
    /// The byte limit for `responseTooLarge`/`headersTooLarge`, the hop limit for `tooManyRedirects`.
    public let limit: Int?
    /// The refused address for `addressRefused`.
    public let address: ConnectedAddress?
    /// The `CURLcode`, when libcurl reported the failure.
    public let curlCode: Int?

    public init(_ code: Code, host: String?, detail: String? = nil, limit: Int? = nil,
                address: ConnectedAddress? = nil, curlCode: Int? = nil) {
        self.code = code
        self.host = host
        self.detail = detail
        self.limit = limit
        self.address = address
        self.curlCode = curlCode
    }

    public var isRetryable: Bool { code.isRetryable }

    public var description: String {
        let target = host.map { " (host \($0))" } ?? ""
        var text: String
        switch code {
        case .invalidURL: text = "invalid URL\(target)"
        case .invalidRequest: text = "invalid request\(target)"
        case .connectFailed: text = "could not connect\(target)"
        case .connectTimeout: text = "connecting timed out\(target)"
        case .timeout: text = "the request timed out\(target)"
        case .tlsFailure: text = "TLS handshake failed\(target)"
        case .certificateVerificationFailed:
            text = "the server certificate did not verify\(target); add its CA to the trusted roots if it is expected"
        case .connectionReset: text = "the connection broke\(target)"
        case .invalidResponse: text = "the server sent an invalid response\(target)"
        case .responseTooLarge: text = "the response body exceeded the limit of \(limit ?? 0) bytes\(target)"
        case .headersTooLarge: text = "the response headers exceeded the limit of \(limit ?? 0) bytes\(target)"
        case .addressRefused:
            text = "connecting to \(address?.description ?? "?") was refused by the address policy\(target)"
            if let address { text += ": it is a \(address.classification) address" }
        case .redirectRefused: text = "a redirect was refused by the redirect policy\(target)"
        case .tooManyRedirects: text = "more than \(limit ?? 0) redirects\(target)"
        case .cancelled: text = "the request was cancelled\(target)"
        case .shutdown: text = "the HTTP client is shut down"
        default: text = "the request failed\(target)"
        }
        if let detail, !detail.isEmpty { text += ": \(detail)" }
        if let curlCode { text += " [curl \(curlCode)]" }
        return text + (isRetryable ? " (retryable)" : "")
    }
}
