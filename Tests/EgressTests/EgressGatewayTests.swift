import Egress
import Foundation
import HTTPTransport
import LuaRuntime
import Testing

/// Real Lua plugins calling a real local partner server through `EgressGateway`: the egress list, the address check,
/// status classification, timeouts, redirects, header validation and concurrency inside one Lua state.
@Suite struct EgressGatewayTests {
    static func loopback(_ port: Int) throws -> EgressRule {
        try EgressRule(origin: "http://127.0.0.1:\(port)", allowPrivate: true)
    }

    // MARK: Allowed requests

    @Test func postsJSONWithThePluginsHeaderAndTheCorrelationId() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let source = """
                local http = require("http")
                return { kind = "connector", deliver = function(op, ctx)
                  local res = http.request{ method = "POST", url = op.url, headers = { ["X-Partner-Key"] = "k-123" },
                                            json = { patient = "p-1", items = { 1, 2, 3 } } }
                  return { status = res.status, received = res.json.received, bytes = res.json.bytes,
                           echo = res.json.echo, content_type = res.headers["content-type"] }
                end }
                """
            try await PluginFixture.with(source: source, rules: [Self.loopback(port)]) { pool in
                let result = try await pool.deliver(#"{"url":"http://127.0.0.1:\#(port)/echo?q=1"}"#, correlationId: "corr-42")
                #expect(result["status"] as? Int == 201)
                #expect(result["received"] as? Bool == true)
                #expect(result["echo"] as? String == "application/json")
                #expect(result["content_type"] as? String == "application/json")

                let requests = log.requests
                try #require(requests.count == 1)
                let request = requests[0]
                #expect(request.method == "POST")
                #expect(request.path == "/echo")
                #expect(request.header("content-type") == "application/json")
                #expect(request.header("x-partner-key") == "k-123")
                #expect(request.header("x-correlation-id") == "corr-42")
                let sent = try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]
                #expect(sent?["patient"] as? String == "p-1")
                #expect(sent?["items"] as? [Int] == [1, 2, 3])
                #expect(result["bytes"] as? Int == request.body.count)
            }
        }
    }

    @Test func aCorrelationIdSetByThePluginIsKept() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            try await PluginFixture.with(rules: [Self.loopback(port)]) { pool in
                let operation = #"{"method":"POST","url":"http://127.0.0.1:\#(port)/echo","headers":{"X-Correlation-Id":"own"},"body":"x"}"#
                _ = try await pool.deliver(operation, correlationId: "corr-42")
                #expect(log.requests.first?.header("x-correlation-id") == "own")
                #expect(log.requests.first?.headers.filter { $0.name == "x-correlation-id" }.count == 1)
            }
        }
    }

    // MARK: Refused by the egress list

    @Test func anOriginOutsideTheListIsAPermissionFaultBeforeAnyIO() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            // Allowed: the same host on another port, and the same port under another name. Neither matches.
            let rules = [try EgressRule(origin: "http://127.0.0.1:\(port + 1)", allowPrivate: true),
                         try EgressRule(origin: "http://localhost:\(port)", allowPrivate: true)]
            try await PluginFixture.with("odoo-sink", rules: rules) { pool in
                let error = try #require(await pool.deliverFailure(#"{"url":"http://127.0.0.1:\#(port)/echo?token=s3cret","method":"POST","body":"x"}"#))
                #expect(error.kind == .permission)
                #expect(error.plugin == "odoo-sink")
                #expect(error.message.contains("http://127.0.0.1:\(port)"))
                #expect(error.message.contains("odoo-sink"))
                #expect(!error.message.contains("s3cret"))
            }
            #expect(log.requests.isEmpty)
        }
    }

    @Test func pcallCannotSwallowARefusedOrigin() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let source = """
                local http = require("http")
                return { kind = "connector", deliver = function(op, ctx)
                  local ok, err = pcall(http.request, { url = op.url })
                  return { swallowed = true, ok = ok, err = tostring(err) }
                end }
                """
            try await PluginFixture.with(source: source, rules: [try EgressRule(origin: "https://api.example.com")]) { pool in
                let error = try #require(await pool.deliverFailure(#"{"url":"http://127.0.0.1:\#(port)/echo"}"#))
                #expect(error.kind == .permission)
                #expect(error.message.contains("http://127.0.0.1:\(port)"))
            }
            #expect(log.requests.isEmpty)
        }
    }

    @Test func aPluginWithoutAPolicyMayCallNothing() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            try await PluginFixture.with(rules: []) { pool in
                let error = try #require(await pool.deliverFailure(#"{"url":"http://127.0.0.1:\#(port)/echo"}"#))
                #expect(error.kind == .permission)
                #expect(error.message.contains("allowed: none"))
            }
            #expect(log.requests.isEmpty)
        }
    }

    // MARK: The address check

    @Test(arguments: ["127.0.0.1", "localhost"])
    func anAllowedOriginOnLoopbackNeedsAllowPrivate(host: String) async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            try await PluginFixture.with(rules: [try EgressRule(origin: "http://\(host):\(port)")]) { pool in
                let error = try #require(await pool.deliverFailure(#"{"url":"http://\#(host):\#(port)/echo","method":"POST","body":"x"}"#))
                #expect(error.kind == .permission)
                #expect(error.message.contains("loopback"), "\(error.message)")
                #expect(error.message.contains("partner-sink"))
            }
            #expect(log.requests.isEmpty)
        }
    }

    // MARK: Status classification

    @Test func serverErrorsAndRateLimitsRaiseRetryableErrors() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            try await PluginFixture.with(rules: [Self.loopback(port)]) { pool in
                let unavailable = try #require(await pool.deliverFailure(#"{"url":"http://127.0.0.1:\#(port)/status/503"}"#))
                #expect(unavailable.kind == .runtime)
                #expect(unavailable.retryable == true)
                #expect(unavailable.retryAfterMilliseconds == nil)
                #expect(unavailable.message.contains("503"))

                let limited = try #require(await pool.deliverFailure(#"{"url":"http://127.0.0.1:\#(port)/status/429"}"#))
                #expect(limited.kind == .runtime)
                #expect(limited.retryable == true)
                #expect(limited.retryAfterMilliseconds == 7000)
                #expect(limited.message.contains("429"))
            }
            #expect(log.paths == ["/status/503", "/status/429"])
        }
    }

    @Test func otherStatusesAndRaiseFalseAreReturnedToThePlugin() async throws {
        try await PartnerServer.run(log: PartnerLog()) { port in
            try await PluginFixture.with(rules: [Self.loopback(port)]) { pool in
                let notFound = try await pool.deliver(#"{"url":"http://127.0.0.1:\#(port)/status/404"}"#)
                #expect(notFound["status"] as? Int == 404)
                #expect((notFound["json"] as? [String: Any])?["code"] as? Int == 404)

                let unavailable = try await pool.deliver(#"{"url":"http://127.0.0.1:\#(port)/status/503","raise":false}"#)
                #expect(unavailable["status"] as? Int == 503)

                let limited = try await pool.deliver(#"{"url":"http://127.0.0.1:\#(port)/status/429","raise":false}"#)
                #expect(limited["status"] as? Int == 429)
                #expect((limited["headers"] as? [String: Any])?["retry-after"] as? String == "7")
            }
        }
    }

    // MARK: Timeouts

    @Test func aSlowPartnerTimesOutRetryably() async throws {
        try await PartnerServer.run(log: PartnerLog()) { port in
            try await PluginFixture.with(rules: [Self.loopback(port)]) { pool in
                let start = ContinuousClock.now
                let error = try #require(await pool.deliverFailure(#"{"url":"http://127.0.0.1:\#(port)/slow","timeout_ms":200}"#))
                let elapsed = ContinuousClock.now - start
                #expect(error.kind == .runtime)
                #expect(error.retryable == true)
                #expect(error.message.contains("timed out"), "\(error.message)")
                #expect(elapsed < .milliseconds(1_800), "took \(elapsed)") // /slow answers at 2 s; loose for a loaded machine
            }
        }
    }

    // MARK: Redirects

    @Test func aRedirectToAnOriginOutsideTheListIsRefused() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            try await PluginFixture.with(rules: [Self.loopback(port)]) { pool in
                let target = "http://localhost:\(port)/status/200"
                let url = "http://127.0.0.1:\(port)/redirect?to=\(target)"
                let error = try #require(await pool.deliverFailure(#"{"url":\#(jsonString(url)),"max_redirects":3}"#))
                #expect(error.kind == .permission)
                #expect(error.message.contains("localhost"), "\(error.message)")
                #expect(log.paths == ["/redirect"])

                let returned = try await pool.deliver(#"{"url":\#(jsonString(url)),"max_redirects":0}"#)
                #expect(returned["status"] as? Int == 302)
                #expect((returned["headers"] as? [String: Any])?["location"] as? String == target)
                #expect(log.paths == ["/redirect", "/redirect"])
            }
        }
    }

    @Test func aRedirectWithinTheListIsFollowed() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let rules = [try Self.loopback(port), try EgressRule(origin: "http://localhost:\(port)", allowPrivate: true)]
            try await PluginFixture.with(rules: rules) { pool in
                let url = "http://127.0.0.1:\(port)/redirect?to=http://localhost:\(port)/status/200"
                let result = try await pool.deliver(#"{"url":\#(jsonString(url)),"max_redirects":3}"#)
                #expect(result["status"] as? Int == 200)
                #expect(log.paths == ["/redirect", "/status/200"])
            }
        }
    }

    /// The hop to a listed origin without `allow_private` gets that origin's address check, not the first hop's.
    @Test func aRedirectToAnOriginWithoutAllowPrivateMayNotReachLoopback() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let rules = [try Self.loopback(port), try EgressRule(origin: "http://localhost:\(port)")]
            try await PluginFixture.with(rules: rules) { pool in
                let url = "http://127.0.0.1:\(port)/redirect?to=http://localhost:\(port)/status/200"
                let error = try #require(await pool.deliverFailure(#"{"url":\#(jsonString(url)),"max_redirects":3}"#))
                #expect(error.kind == .permission)
                #expect(error.message.contains("loopback"), "\(error.message)")
                #expect(log.paths == ["/redirect"])
            }
        }
    }

    // MARK: Header validation

    @Test(arguments: [
        (#"{"X-Note":"a\r\nInjected: yes"}"#, "header 'X-Note' contains CR, LF or NUL"),
        (#"{"X-Note\r\nInjected":"yes"}"#, "a header name contains CR, LF or NUL"),
        (#"{"Bad Name":"x"}"#, "'Bad Name' is not a valid header name"),
        (#"{"X-Note:":"x"}"#, "'X-Note:' is not a valid header name"),
        (#"{"X-Null":"a\u0000b"}"#, "header 'X-Null' contains CR, LF or NUL"),
    ])
    func headerInjectionIsARuntimeErrorAndSendsNothing(headers: String, problem: String) async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            try await PluginFixture.with(rules: [Self.loopback(port)]) { pool in
                let operation = #"{"method":"POST","url":"http://127.0.0.1:\#(port)/echo","body":"x","headers":\#(headers)}"#
                let error = try #require(await pool.deliverFailure(operation))
                #expect(error.kind == .runtime)
                #expect(error.message.contains(problem), "\(error.message)")
            }
            #expect(log.requests.isEmpty)
        }
    }

    // MARK: Concurrency in one state

    @Test func concurrentInvocationsOfOneStateOverlapTheirRequests() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let configuration = HTTPClient.Configuration(maxConnectionsPerHost: 64)
            try await PluginFixture.with(rules: [Self.loopback(port)], states: 1, client: configuration) { pool in
                #expect(pool.instances.count == 1)
                let operation = #"{"url":"http://127.0.0.1:\#(port)/delay"}"#
                let start = ContinuousClock.now
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<50 {
                        group.addTask { try await pool.deliver(operation)["status"] as? Int ?? -1 }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let elapsed = ContinuousClock.now - start
                #expect(statuses == Array(repeating: 200, count: 50))
                // Sequential would take 5 s; the overlap itself is proven by maxInFlight below (the bound is loose
                // because the whole suite runs in parallel on two cores).
                #expect(elapsed < .milliseconds(4500), "50 × 100 ms took \(elapsed)")
                #expect(log.requests.count == 50)
                #expect(log.maxInFlight > 1, "the partner never saw two requests at once")
            }
        }
    }
}
