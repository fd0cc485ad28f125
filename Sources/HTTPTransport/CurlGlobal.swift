import CCurlShim

/// libcurl's process-wide initialisation, done once.
///
/// `curl_global_init` is not itself thread-safe in every build, so it runs inside a Swift global's lazy initialiser,
/// which the runtime guarantees to run exactly once (`swift_once`), however many threads race to the first client.
enum CurlGlobal {
    private static let result: CURLcode = ccurl_global_init_default()

    /// Initialises libcurl if nobody has yet; returns whether it succeeded.
    @discardableResult
    static func initialize() -> Bool { result == CURLE_OK }

    /// The libcurl version string, such as `libcurl/7.88.1 OpenSSL/3.0.19 … nghttp2/1.52.0`.
    static var version: String {
        initialize()
        return String(cString: curl_version())
    }
}
