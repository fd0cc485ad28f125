import CCurlShim

/// The HTTP version a response arrived over.
public enum HTTPVersion: String, Sendable, Hashable, CustomStringConvertible {
    case http1_0 = "HTTP/1.0"
    case http1_1 = "HTTP/1.1"
    case http2 = "HTTP/2"
    case http3 = "HTTP/3"
    /// libcurl did not say (the transfer never got a response).
    case unknown = "unknown"

    public var description: String { rawValue }

    /// From `CURLINFO_HTTP_VERSION`.
    init(curlVersion: Int) {
        switch curlVersion {
        case CURL_HTTP_VERSION_1_0: self = .http1_0
        case CURL_HTTP_VERSION_1_1: self = .http1_1
        case CURL_HTTP_VERSION_2_0: self = .http2
        case CURL_HTTP_VERSION_3: self = .http3
        default: self = .unknown
        }
    }
}
