import Synchronization

extension HTTPURL {
    /// `HTTPURL(text)`, remembered: connectors call the same few endpoints over and over, and libcurl's parser (a
    /// `curl_url` handle, a set and four gets, each get an allocated copy) was 6% of the HTTP benchmark's client CPU.
    /// The result is the same value `init` returns, so the host checked is still the host libcurl connects to.
    ///
    /// Bounded: past `ParsedURLCache.capacity` distinct texts the cache starts over, so URLs with ids in their paths
    /// cannot grow it without limit. Failures are not cached (they are rare, and their error is rebuilt each time).
    public static func parsed(_ text: String) throws(HTTPTransportError) -> HTTPURL {
        if let known = ParsedURLCache.shared.lookup(text) { return known }
        let url = try HTTPURL(text)
        ParsedURLCache.shared.remember(url, for: text)
        return url
    }
}

/// The texts `HTTPURL.parsed` has seen and what they parsed to. Any thread; one lock, held for a dictionary lookup.
final class ParsedURLCache: Sendable {
    static let capacity = 512
    static let shared = ParsedURLCache()

    private let entries = Mutex<[String: HTTPURL]>([:])

    func lookup(_ text: String) -> HTTPURL? {
        entries.withLock { $0[text] }
    }

    func remember(_ url: HTTPURL, for text: String) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[text] = url
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
