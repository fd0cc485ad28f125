import Foundation
import Hummingbird
import NIOCore

/// `conflux simulate odoo`: a stand-in for an Odoo 19 server that speaks its external APIs as Odoo implements them —
/// JSON-RPC on `/jsonrpc` (`common.version`, `common.login`, `common.authenticate`, `object.execute`,
/// `object.execute_kw`, with the API key as password), the JSON-2 API on `/json/2/<model>/<method>` (bearer API key,
/// `X-Odoo-Database`), and `/web/webclient/version_info` (which third-party clients such as odoorpc call first).
/// Synthetic data only. `/_sim/state` shows what it holds, `/_sim/faults` injects failures, `/_sim/lock_date` sets the
/// company's lock date (posting on or before it fails with Odoo's UserError, as when the books are closed).
public struct OdooSimulator: Sendable {
    public let database: String
    public let login: String
    public let apiKey: String
    public let db: OdooDatabase
    let faults = FaultPlan()
    static let version: JSONValue = .object([
        "server_version": .string("19.0"), "server_version_info": .array([.int(19), .int(0), .int(0), .string("final"), .int(0), .string("")]),
        "server_serie": .string("19.0"), "protocol_version": .int(1),
    ])
    static let maxBody = 8 << 20

    public init(database: String, login: String, apiKey: String) async {
        self.database = database
        self.login = login
        self.apiKey = apiKey
        self.db = await OdooDatabase()
        await db.setLogin(login)
    }

    public func setFaults(_ faults: OdooFaults) async { await self.faults.set(faults) }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("jsonrpc") { request, _ in
            await self.jsonRPC(request) { (params) async throws(OdooError) -> JSONValue in try await self.dispatch(params) }
        }
        router.post("web/webclient/version_info") { request, _ in
            await self.jsonRPC(request) { (_) async throws(OdooError) -> JSONValue in OdooSimulator.version }
        }
        router.post("web/session/destroy") { request, _ in
            await self.jsonRPC(request) { (_) async throws(OdooError) -> JSONValue in .null }
        }
        router.get("web/version") { _, _ in
            Self.json(.ok, .object(["version": .string("19.0"), "version_info": OdooSimulator.version["server_version_info"]!]))
        }
        router.post("json/2/:model/:method") { request, context in
            await self.json2(request, model: context.parameters.get("model") ?? "", method: context.parameters.get("method") ?? "")
        }
        router.get("_sim/state") { _, _ in Self.json(.ok, await self.db.dump()) }
        router.get("_sim/faults") { _, _ in
            Self.json(.ok, (try? JSONValue.parse(JSONEncoder().encode(await self.faults.faults))) ?? .null)
        }
        router.post("_sim/faults") { request, _ in
            var request = request
            guard let body = try? await request.collectBody(upTo: 1 << 16),
                  let faults = try? JSONDecoder().decode(OdooFaults.self, from: Data(body.readableBytesView)) else {
                return Self.json(.badRequest, .object(["error": .string("expected a JSON object of faults (see OdooFaults)")]))
            }
            await self.faults.set(faults)
            return Self.json(.ok, (try? JSONValue.parse(JSONEncoder().encode(faults))) ?? .null)
        }
        router.post("_sim/lock_date") { request, _ in
            var request = request
            guard let body = try? await request.collectBody(upTo: 1 << 12), let value = try? JSONValue.parse(body.readableBytesView),
                  let date = value["date"], date == .null || (date.string.map(OdooDatabase.isDate) ?? false) else {
                return Self.json(.badRequest, .object(["error": .string("expected {\"date\": \"YYYY-MM-DD\"} or {\"date\": null}")]))
            }
            await self.db.setLockDate(date.string)
            return Self.json(.ok, .object(["lock_date": date]))
        }
        return router
    }

    // MARK: JSON-RPC

    struct RPCFailure: Error { let error: OdooError }

    /// A JSON-RPC 2.0 exchange as Odoo's `JsonRPCDispatcher` answers it: HTTP 200 with `result`, or with `error`
    /// carrying Odoo's exception (name, message, arguments, debug).
    func jsonRPC(_ request: Request, _ handle: @Sendable (JSONValue) async throws(OdooError) -> JSONValue) async -> Response {
        var request = request
        guard let body = try? await request.collectBody(upTo: Self.maxBody), let envelope = try? JSONValue.parse(body.readableBytesView),
              envelope.object != nil else {
            return Self.json(.ok, .object(["jsonrpc": .string("2.0"), "id": .null,
                                           "error": .object(["code": .int(-32700), "message": .string("Parse error")])]))
        }
        let id = envelope["id"] ?? .null
        let params = envelope["params"] ?? .object([:])
        let objectCall = params["service"]?.string == "object"
        let (fault, latency) = await faults.next(objectCall: objectCall)
        if latency > 0 { try? await Task.sleep(for: .milliseconds(latency)) }
        if let response = proxyFault(fault) { return response }
        do throws(OdooError) {
            if fault == .serialization { throw OdooError.serialization }
            if fault == .accessDenied { throw OdooError.accessDenied }
            let result = try await handle(params)
            return Self.json(.ok, .object(["jsonrpc": .string("2.0"), "id": id, "result": result]))
        } catch {
            return Self.json(.ok, .object(["jsonrpc": .string("2.0"), "id": id, "error": error.jsonRPC]))
        }
    }

    func dispatch(_ params: JSONValue) async throws(OdooError) -> JSONValue {
        let service = params["service"]?.string ?? ""
        let method = params["method"]?.string ?? ""
        let args = params["args"]?.array ?? []
        switch (service, method) {
        case ("common", "version"): return OdooSimulator.version
        case ("common", "login"), ("common", "authenticate"):
            guard args.count >= 3, let db = args[0].string, let user = args[1].string, let password = args[2].string else {
                throw OdooError.type("\(method)() needs db, login and password")
            }
            guard db == database, user == login, constantTimeEqual(password, apiKey), let uid = await self.db.userID(login: user) else {
                return .bool(false)
            }
            return .int(uid)
        case ("db", "list"): return .array([.string(database)])
        case ("db", "server_version"): return OdooSimulator.version["server_version"]!
        case ("object", "execute_kw"), ("object", "execute"):
            guard args.count >= 5, let db = args[0].string, let uid = args[1].int, let password = args[2].string,
                  let model = args[3].string, let name = args[4].string else {
                throw OdooError.type("\(method)() needs db, uid, password, model and method")
            }
            try await authorize(db: db, uid: uid, password: password)
            if method == "execute_kw" {
                let positional = args.count > 5 ? args[5].array ?? [] : []
                let keywords = args.count > 6 ? args[6].object ?? [:] : [:]
                return try await self.db.call(model: model, method: name, args: positional, kwargs: keywords, uid: uid)
            }
            return try await self.db.call(model: model, method: name, args: Array(args.dropFirst(5)), kwargs: [:], uid: uid)
        default:
            throw OdooError(name: "builtins.NameError", message: "no service/method \(service).\(method)", status: 404)
        }
    }

    func authorize(db: String, uid: Int, password: String) async throws(OdooError) {
        guard db == database, constantTimeEqual(password, apiKey), await self.db.userID(login: login) == uid else {
            throw OdooError.accessDenied
        }
    }

    // MARK: JSON-2

    /// `POST /json/2/<model>/<method>`: the body's members are the method's named parameters (`ids` and `context`
    /// too); 200 with the JSON result, or a 4xx/5xx with Odoo's error object.
    func json2(_ request: Request, model: String, method: String) async -> Response {
        var request = request
        let (fault, latency) = await faults.next(objectCall: true)
        if latency > 0 { try? await Task.sleep(for: .milliseconds(latency)) }
        if let response = proxyFault(fault) { return response }
        let authorization = request.headers[.authorization] ?? ""
        let token = authorization.lowercased().hasPrefix("bearer ") ? String(authorization.dropFirst(7)) : ""
        guard constantTimeEqual(token, apiKey) else {
            return error(OdooError(name: "werkzeug.exceptions.Unauthorized", message: "Invalid apikey", status: 401))
        }
        if let requested = request.headers.first(where: { $0.name.canonicalName == "x-odoo-database" })?.value, requested != database {
            return error(OdooError(name: "werkzeug.exceptions.NotFound", message: "database \(requested) not found", status: 404))
        }
        guard let body = try? await request.collectBody(upTo: Self.maxBody), let params = try? JSONValue.parse(body.readableBytesView),
              var named = params.object else {
            return error(OdooError(name: "werkzeug.exceptions.BadRequest", message: "the body must be a JSON object", status: 400))
        }
        if fault == .serialization { return error(.serialization) }
        if fault == .accessDenied { return error(OdooError(name: "werkzeug.exceptions.Unauthorized", message: "Invalid apikey", status: 401)) }
        let ids = named.removeValue(forKey: "ids")
        var args: [JSONValue] = []
        if let ids, !ids.isFalsy, method != "create" { args.append(ids) }
        guard let uid = await db.userID(login: login) else { return error(.accessDenied) }
        do throws(OdooError) {
            let result = try await db.call(model: model, method: method, args: args, kwargs: named, uid: uid, json2: true)
            return Self.json(.ok, result)
        } catch {
            return self.error(error)
        }
    }

    func error(_ error: OdooError) -> Response {
        Self.json(HTTPResponse.Status(code: error.status), error.data)
    }

    /// What a reverse proxy in front of a failing Odoo answers, or a connection dropped mid-response.
    func proxyFault(_ fault: InjectedFault?) -> Response? {
        switch fault {
        case .status(let status):
            var headers: HTTPFields = [.contentType: "text/html"]
            if status == 429 || status == 503 { headers[.retryAfter] = "1" }
            return Response(status: HTTPResponse.Status(code: status), headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "<html><body><h1>\(status)</h1>The server is temporarily unable to service your request.</body></html>")))
        case .drop:
            // Promise a body, then fail while writing it: the connection closes with the response incomplete.
            return Response(status: .ok, headers: [.contentType: "application/json", .contentLength: "4096"],
                            body: ResponseBody { _ in throw CancellationError() })
        default:
            return nil
        }
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: value.text)))
    }
}

/// Compares two secrets in time that depends only on their lengths.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var difference = UInt8(x.count == y.count ? 0 : 1)
    for index in 0..<max(x.count, y.count) {
        difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
    }
    return difference == 0
}
