@testable import HTTPTransport
import Testing

@Suite struct HTTPURLTests {
    @Test func parsesAndNormalisesLikeLibcurl() throws {
        let url = try HTTPURL("HTTPS://Partner.Example:8443/a/../b?x=1")
        #expect(url.scheme == "https")
        #expect(url.port == 8443)
        #expect(url.absoluteString == "https://partner.example:8443/b?x=1" || url.absoluteString == "https://Partner.Example:8443/b?x=1")
        #expect(try HTTPURL("http://10.0.0.1/").port == 80)
        #expect(url.description == "https://\(url.host):8443")
    }

    @Test func refusesWhatIsNotAnAbsoluteHTTPURL() {
        for text in ["ftp://example.com/", "/relative", "http://", "file:///etc/passwd", "gopher://x"] {
            #expect(throws: HTTPTransportError.self, "\(text)") { try HTTPURL.parsed(text) }
        }
    }

    @Test func theCachedParseIsTheParse() throws {
        let texts = ["http://127.0.0.1:8080/ping", "https://[::1]:9/x?y#z", "http://0x7f.1/", "HTTP://EXAMPLE.com:80/%7Efoo"]
        for text in texts {
            let first = try HTTPURL.parsed(text)
            let again = try HTTPURL.parsed(text)
            #expect(first == (try HTTPURL(text)), "\(text)")
            #expect(again == first, "\(text)")
        }
    }

    @Test func theCacheStaysWithinItsCapacity() throws {
        for index in 0..<(ParsedURLCache.capacity + 50) {
            _ = try HTTPURL.parsed("http://cache-bound.example/item/\(index)")
        }
        #expect(ParsedURLCache.shared.count <= ParsedURLCache.capacity)
        // Still right after starting over.
        #expect(try HTTPURL.parsed("http://cache-bound.example/item/3").absoluteString == "http://cache-bound.example/item/3")
    }
}
