import Hummingbird

/// What the server shows about plugins' outbound endpoints (circuits, rate limits, request counts), rendered by their
/// owner — the egress gateway — so this target does not depend on it.
public struct EndpointsReport: Sendable {
    /// `{"endpoints":[…]}` for `GET /api/endpoints`.
    public let json: @Sendable () -> String
    /// Prometheus text exposition for `GET /metrics`.
    public let metrics: @Sendable () -> String

    public init(json: @escaping @Sendable () -> String, metrics: @escaping @Sendable () -> String) {
        self.json = json
        self.metrics = metrics
    }

    /// A server without plugins' egress: no endpoints, no series.
    public static let empty = EndpointsReport(json: { #"{"endpoints":[]}"# }, metrics: { "" })
}

/// `GET /api/endpoints` (JSON, beside the rest of the admin API) and `GET /metrics` (for a Prometheus scrape).
struct EndpointsAPI: Sendable {
    let report: EndpointsReport

    func register(on router: Router<BasicRequestContext>) {
        router.get("api/endpoints") { _, _ in ErrorBody.json(.ok, report.json()) }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: report.metrics())))
        }
    }
}
