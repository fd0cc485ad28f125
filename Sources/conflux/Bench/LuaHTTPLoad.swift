import Egress
import Foundation
import HTTPTransport
import Logging
import LuaRuntime
import Synchronization

/// A connector plugin whose hook loops over `http.request{url=…}` against the sink, run as many concurrent
/// invocations on a pool of states, through a real `EgressGateway` (egress check, circuit, the shared client) — the
/// path a connector's calls take in the pipeline, minus the queue.
struct LuaHTTPLoad: Sendable {
    struct Result: Sendable {
        var requests: Int
        var failures: Int
        var firstFailure: String?
        var seconds: Double
        var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }
    }

    static let source = """
        local http = require("http")
        return { kind = "connector", deliver = function(op)
          local url, n = op.url, op.n
          for _ = 1, n do
            local res = http.request{ url = url }
            if res.status ~= 200 then error("the sink answered " .. res.status) end
          end
          return n
        end }
        """

    let url: String
    let pool: PluginPool

    init(url: String, client: HTTPClient, limits: SandboxLimits, states: Int) async throws {
        self.url = url
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-bench-http-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(Self.source.utf8).write(to: folder.appendingPathComponent(Plugin.entryFileName))
        let rule = try EgressRule(origin: Self.origin(of: url), allowPrivate: true)
        let gateway = EgressGateway(client: client, policies: ["bench-http": EgressPolicy(rules: [rule])])
        pool = try await PluginPool.load(Plugin(name: "bench-http", folder: folder), states: states, limits: limits,
                                         logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }), http: gateway)
    }

    /// `scheme://host:port` of `url`.
    static func origin(of url: String) -> String {
        let afterScheme = url.range(of: "://").map { url[$0.upperBound...] } ?? Substring(url)
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return String(url[..<afterScheme.startIndex] + authority)
    }

    /// `invocations` tasks, each invoking the hook (`requestsPerInvocation` requests) again until `duration` is over.
    func run(invocations: Int, requestsPerInvocation: Int, for duration: Duration) async -> Result {
        let input = Array(#"{"url":"\#(url)","n":\#(requestsPerInvocation)}"#.utf8)
        let totals = Totals()
        let start = ContinuousClock.now
        let deadline = start + duration
        await withDiscardingTaskGroup { group in
            for _ in 0..<invocations {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        do {
                            _ = try await pool.invoke("deliver", input: .json(input))
                            totals.state.withLock { $0.requests += requestsPerInvocation }
                        } catch {
                            totals.state.withLock { totals in
                                totals.failures += 1
                                if totals.firstFailure == nil { totals.firstFailure = "\(error)" }
                            }
                        }
                    }
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        return totals.state.withLock { totals in
            totals.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return totals
        }
    }

    /// Counts shared by the invocation tasks.
    private final class Totals: Sendable {
        let state = Mutex(Result(requests: 0, failures: 0, seconds: 0))
    }
}
