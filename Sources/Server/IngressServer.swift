import Foundation
import Hummingbird
import Logging
import NIOCore
import LuaRuntime
import Pipeline
import Store

/// The HTTP face of Conflux: `POST /ingest/{source}`, `GET /healthz`, `GET /readyz`, the admin API, `GET /metrics`.
///
/// A request is answered `202` only after the commit that holds its message (the batcher groups concurrent requests
/// into one commit). Nothing a plugin wrote runs before that: the checks here are host code.
public struct IngressServer: Sendable {
    public let flows: [String: FlowDefinition]
    public let store: any MessageStore
    public let batcher: IngestBatcher
    public let logger: Logger

    /// The plugins the flows run, which must all load for the server to be ready.
    public let plugins: PluginDirectory?
    /// Verifies the sources that declare `auth`; a source that declares it is refused (503) without one.
    public let authentication: SourceAuthentication?
    /// Plugins' outbound endpoints, for `GET /api/endpoints` and `GET /metrics`.
    public let endpoints: EndpointsReport
    /// Who may use the admin API.
    public let access: AdminAccess
    /// The catalog routes; nil where the host serves no catalog.
    public let catalog: CatalogHandlers?

    public init(flows: [FlowDefinition], store: any MessageStore, batcher: IngestBatcher, plugins: PluginDirectory? = nil,
                authentication: SourceAuthentication? = nil, endpoints: EndpointsReport = .empty, access: AdminAccess = .open,
                catalog: CatalogHandlers? = nil, logger: Logger) {
        self.access = access
        self.catalog = catalog
        self.authentication = authentication
        self.endpoints = endpoints
        self.flows = Dictionary(uniqueKeysWithValues: flows.map { ($0.source.plugin, $0) })
        self.store = store
        self.batcher = batcher
        self.plugins = plugins
        self.logger = logger
    }

    /// The largest body any source accepts; bodies are read up to their own source's limit.
    var knownSources: [String] { flows.keys.sorted() }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("ingest/:source") { request, context in
            await self.ingest(request, source: context.parameters.get("source") ?? "")
        }
        router.get("healthz") { _, _ in ErrorBody.json(.ok, #"{"status":"ok"}"#) }
        router.get("readyz") { _, _ in await self.readiness() }
        AdminAPI(store: store, access: access).register(on: router)
        if let catalog { CatalogAPI(handlers: catalog, access: access, audit: store as? any AuditLog).register(on: router) }
        EndpointsAPI(report: endpoints).register(on: router)
        return router
    }

    func ingest(_ request: Request, source: String) async -> Response {
        guard let flow = flows[source] else {
            let rejection = IngestRejection.unknownSource(source, known: knownSources)
            return ErrorBody.response(status: .init(code: rejection.status), code: rejection.code, message: rejection.message)
        }
        let limit = flow.source.maxBodyBytes
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > limit {
            // Refused before reading a byte of it.
            let rejection = IngestRejection.tooLarge(bytes: declared, limit: limit)
            return ErrorBody.response(status: .contentTooLarge, code: rejection.code, message: rejection.message)
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            let rejection = IngestRejection.tooLarge(bytes: declared ?? limit + 1, limit: limit)
            return ErrorBody.response(status: .contentTooLarge, code: rejection.code, message: rejection.message)
        } catch {
            return ErrorBody.response(status: .badRequest, code: "unreadable_body", message: "the body could not be read completely (\(error))")
        }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let ingestRequest = IngestRequest(contentType: request.headers[.contentType], headers: headers,
                                          body: Array(buffer: body), query: request.uri.query)
        if let auth = flow.source.auth {
            // Before anything else looks at the body: an unauthenticated request is refused, and nothing is enqueued.
            guard let authentication else {
                return ErrorBody.response(status: .serviceUnavailable, code: "auth_unavailable",
                                          message: "source \(source) requires authentication, which this server cannot check; retry later",
                                          headers: [.retryAfter: "30"])
            }
            switch await authentication.verify(auth, source: source, headers: ingestRequest.headers, body: ingestRequest.body,
                                               query: ingestRequest.query) {
            case .accepted: break
            case .refused(let code, let message):
                logger.warning("webhook refused", metadata: ["source": "\(source)", "code": "\(code)"])
                return ErrorBody.response(status: .unauthorized, code: code, message: message)
            case .unavailable(let reason):
                logger.error("webhook secrets unavailable", metadata: ["source": "\(source)", "reason": "\(reason)"])
                return ErrorBody.response(status: .serviceUnavailable, code: "auth_unavailable",
                                          message: "the server cannot check this source's signatures right now; retry later",
                                          headers: [.retryAfter: "30"])
            }
        }
        let id = "msg_" + UUID().uuidString.lowercased()
        let message: NewMessage
        switch IngestPreparation.prepare(ingestRequest, flow: flow, id: id, now: Date()) {
        case .success(let prepared): message = prepared
        case .failure(let rejection):
            logger.info("ingest refused", metadata: ["source": "\(source)", "code": "\(rejection.code)"])
            return ErrorBody.response(status: .init(code: rejection.status), code: rejection.code, message: rejection.message)
        }
        do {
            switch try await batcher.submit(message) {
            case .accepted(let id):
                return ErrorBody.json(.accepted, JSONText.object([
                    ("id", JSONText.string(id)), ("status", JSONText.string("accepted")),
                    ("correlation_id", JSONText.string(message.correlationId)),
                ]))
            case .duplicate(let first):
                return ErrorBody.json(.ok, JSONText.object([("status", JSONText.string("duplicate")), ("id", JSONText.string(first))]))
            }
        } catch {
            logger.error("store unavailable at ingest", metadata: ["source": "\(source)", "error": "\(error)"])
            return ErrorBody.response(status: .serviceUnavailable, code: "store_unavailable",
                                      message: "the message was not accepted: the queue is unavailable; retry later",
                                      headers: [.retryAfter: "5"])
        }
    }

    /// Ready when the store answers and every plugin of every flow loads; otherwise 503 naming what is not ready.
    func readiness() async -> Response {
        if let plugins {
            let failures = await plugins.load(flows.values.flatMap(\.plugins))
            if !failures.isEmpty {
                let reasons = failures.map { "\($0.plugin): \($0.error)" }.joined(separator: "; ")
                return ErrorBody.response(status: .serviceUnavailable, code: "plugins_not_loaded",
                                          message: "\(failures.count) plugin(s) do not load: \(reasons)", headers: [.retryAfter: "5"])
            }
        }
        do {
            let counts = try await store.openCounts()
            let backlog = (counts[.ready] ?? 0) + (counts[.leased] ?? 0)
            return ErrorBody.json(.ok, JSONText.object([
                ("status", JSONText.string("ready")), ("sources", "[" + knownSources.map(JSONText.string).joined(separator: ",") + "]"),
                ("backlog", String(backlog)), ("dead", String(counts[.dead] ?? 0)),
            ]))
        } catch {
            return ErrorBody.response(status: .serviceUnavailable, code: "store_unavailable", message: "\(error)", headers: [.retryAfter: "5"])
        }
    }
}
