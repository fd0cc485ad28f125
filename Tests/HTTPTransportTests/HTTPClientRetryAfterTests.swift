import HTTPTransport
import Hummingbird
import Foundation
import Testing

@Suite struct RetryAfterTests {
    @Test func tooManyRequestsCarriesRetryAfter() async throws {
        let router = makeRouter(log: ServerLog())
        router.get("/limited") { _, _ in
            Response(status: .tooManyRequests, headers: [.retryAfter: "3"])
        }
        router.get("/limited-until") { request, _ in
            let date = request.uri.queryParameters["at"].map(String.init) ?? ""
            return Response(status: .serviceUnavailable, headers: [.retryAfter: date])
        }
        try await withServer(router) { port in
            try await withClient { client in
                let limited = try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/limited"))
                #expect(limited.status == 429)
                #expect(limited.retryAfter == .seconds(3))

                // An HTTP-date ten seconds ahead.
                let date = Self.httpDate(secondsFromNow: 10).replacingOccurrences(of: " ", with: "%20")
                let until = try await client.execute(HTTPClient.Request(
                    url: "http://127.0.0.1:\(port)/limited-until?at=\(date)"))
                #expect(until.status == 503)
                let wait = try #require(until.retryAfter)
                #expect(wait >= .seconds(8) && wait <= .seconds(10))
            }
        }
    }

    @Test(arguments: [
        ("120", 120), ("0", 0), (" 7 ", 7), ("Sun, 06 Nov 1994 08:49:37 GMT", 0), ("99999999999999", 31_536_000),
    ])
    func parsesBothForms(value: String, seconds: Int) {
        #expect(RetryAfter.parse(value) == .seconds(seconds))
    }

    @Test func parsesDatesRelativeToNow() {
        // 1994-11-06T08:49:37Z is 784111777.
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_777 - 90) == .seconds(90))
        #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: 784_111_777 - 5) == .seconds(5))
        #expect(RetryAfter.parse("Sun Nov  6 08:49:37 1994", now: 784_111_777 - 1) == .seconds(1))
    }

    @Test(arguments: ["", "soon", "-5", "1.5", "3 seconds"])
    func rejectsGarbage(value: String) {
        #expect(RetryAfter.parse(value) == nil)
    }

    static func httpDate(secondsFromNow: Int) -> String {
        var time = time_t(Int(time(nil)) + secondsFromNow)
        var parts = tm()
        gmtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
