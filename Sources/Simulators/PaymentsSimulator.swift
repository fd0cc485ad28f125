import Crypto
import Foundation
import Hummingbird
import NIOCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `conflux simulate payments`: a payment gateway stand-in with Stripe's shapes. `POST /v1/payment_intents` (JSON or
/// form-encoded: amount in minor units, currency, metadata[service_id]) charges at once and sends the signed
/// `payment_intent.succeeded` event; `POST /v1/refunds` (payment_intent, amount) sends `charge.refunded`, which
/// carries, as Stripe's does, the charge's refunded total (`amount_refunded`) and every refund so far. Webhooks carry
/// `Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")` and are retried (3 tries) until a 2xx, as a gateway does.
/// `GET /_sim/state` lists intents and deliveries; `POST /_sim/redeliver {"event":"evt_…"}` sends one again;
/// `POST /_sim/faults {"latency_ms":200,"fail_next":2,"fail_status":503,"duplicate_webhooks":1}` injects faults.
public actor PaymentsSimulator {
    let webhookURL: URL?
    let secret: String
    var intents: [String: JSONValue] = [:]
    var order: [String] = []
    var events: [String: String] = [:]
    /// Refunds made so far, by payment intent: a partial refund adds to the charge's refunded total.
    var refunds: [String: [(id: String, amount: Int)]] = [:]
    var deliveries: [(event: String, type: String, status: Int, tries: Int)] = []
    var counter = 0
    /// Injected faults (`POST /_sim/faults`): API answers delayed or failed, webhooks delivered twice.
    var latencyMilliseconds = 0
    var failNext = 0
    var failStatus = 503
    var duplicateWebhooks = 0

    public init(webhookURL: URL?, secret: String) {
        self.webhookURL = webhookURL
        self.secret = secret
    }

    public nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("v1/payment_intents") { request, _ in
            if let fault = await self.fault() { return fault }
            return await self.createIntent(try await Self.parameters(request))
        }
        router.post("v1/refunds") { request, _ in
            if let fault = await self.fault() { return fault }
            return await self.refund(try await Self.parameters(request))
        }
        router.post("_sim/faults") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 16)
            let object = try JSONValue.parse(Array(body.readableBytesView))
            return await self.setFaults(object)
        }
        router.get("_sim/state") { _, _ in await self.state() }
        router.post("_sim/redeliver") { request, _ in
            let parameters = try await Self.parameters(request)
            return await self.redeliver(parameters["event"] ?? "")
        }
        return router
    }

    func setFaults(_ object: JSONValue) -> Response {
        latencyMilliseconds = max(0, min(object["latency_ms"]?.int ?? 0, 60_000))
        failNext = max(0, object["fail_next"]?.int ?? 0)
        failStatus = object["fail_status"]?.int ?? 503
        duplicateWebhooks = max(0, object["duplicate_webhooks"]?.int ?? 0)
        return OdooSimulator.json(.ok, .object(["latency_ms": .int(latencyMilliseconds), "fail_next": .int(failNext),
                                                "fail_status": .int(failStatus), "duplicate_webhooks": .int(duplicateWebhooks)]))
    }

    /// The injected fault for this API call, if any (after the injected latency), in Stripe's error shape.
    func fault() async -> Response? {
        if latencyMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(latencyMilliseconds)) }
        guard failNext > 0 else { return nil }
        failNext -= 1
        return OdooSimulator.json(HTTPResponse.Status(code: failStatus), .object(["error": .object([
            "type": .string(failStatus == 429 ? "rate_limit_error" : "api_error"),
            "message": .string(failStatus == 429 ? "Too many requests hit the API too quickly." : "An error occurred with our connection to Stripe."),
        ])]))
    }

    /// A body as flat parameters: JSON (metadata as an object) or form-encoded (`metadata[service_id]=…`, as Stripe's API takes).
    static func parameters(_ request: Request) async throws -> [String: String] {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 16)
        let text = String(decoding: body.readableBytesView, as: UTF8.self)
        if let object = (try? JSONValue.parse(Array(text.utf8)))?.object {
            var flat: [String: String] = [:]
            for (key, value) in object {
                if let nested = value.object { for (inner, item) in nested { flat["\(key)[\(inner)]"] = item.string ?? item.text } }
                else { flat[key] = value.string ?? value.text }
            }
            return flat
        }
        var flat: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if parts.count == 2 { flat[parts[0]] = parts[1] }
        }
        return flat
    }

    func nextID(_ prefix: String) -> String {
        counter += 1
        let random = (0..<14).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".randomElement()! }
        return "\(prefix)_\(String(random))\(counter)"
    }

    func createIntent(_ p: [String: String]) async -> Response {
        guard let amount = p["amount"].flatMap(Int.init), amount > 0 else { return Self.error("amount", "amount must be a positive integer in minor units") }
        let currency = (p["currency"] ?? "usd").lowercased()
        guard currency.count == 3 else { return Self.error("currency", "currency must be a three-letter ISO code") }
        var metadata: [String: JSONValue] = [:]
        for (key, value) in p where key.hasPrefix("metadata[") && key.hasSuffix("]") {
            metadata[String(key.dropFirst(9).dropLast())] = .string(value)
        }
        let id = nextID("pi"), charge = nextID("ch")
        let created = Int(Date().timeIntervalSince1970)
        let intent: JSONValue = .object([
            "id": .string(id), "object": .string("payment_intent"), "amount": .int(amount), "amount_received": .int(amount),
            "currency": .string(currency), "status": .string("succeeded"), "created": .int(created), "latest_charge": .string(charge),
            "metadata": .object(metadata), "livemode": .bool(false),
        ])
        intents[id] = intent
        order.append(id)
        await send(type: "payment_intent.succeeded", object: intent)
        return OdooSimulator.json(.ok, intent)
    }

    func refund(_ p: [String: String]) async -> Response {
        guard let intentID = p["payment_intent"], let intent = intents[intentID] else {
            return Self.error("payment_intent", "no such payment_intent: \(p["payment_intent"] ?? "")")
        }
        let paid = intent["amount_received"]?.int ?? 0
        let earlier = refunds[intentID] ?? []
        let refundable = paid - earlier.reduce(0) { $0 + $1.amount }
        let amount = p["amount"].flatMap(Int.init) ?? refundable
        guard amount > 0, amount <= refundable else { return Self.error("amount", "amount must be between 1 and \(refundable) (what is not refunded yet)") }
        let refundID = nextID("re")
        let all = earlier + [(refundID, amount)]
        refunds[intentID] = all
        let total = all.reduce(0) { $0 + $1.amount }
        let charge: JSONValue = .object([
            "id": intent["latest_charge"] ?? .null, "object": .string("charge"), "amount": .int(paid), "amount_refunded": .int(total),
            "currency": intent["currency"] ?? .string("usd"), "payment_intent": .string(intentID), "refunded": .bool(total == paid),
            "metadata": intent["metadata"] ?? .object([:]), "created": .int(Int(Date().timeIntervalSince1970)),
            "refunds": .object(["object": .string("list"), "data": .array(all.reversed().map {
                .object(["id": .string($0.id), "object": .string("refund"), "amount": .int($0.amount)])
            })]),
        ])
        await send(type: "charge.refunded", object: charge)
        return OdooSimulator.json(.ok, .object(["id": .string(refundID), "object": .string("refund"), "amount": .int(amount),
                                                "payment_intent": .string(intentID), "status": .string("succeeded")]))
    }

    func send(type: String, object: JSONValue) async {
        let id = nextID("evt")
        let event: JSONValue = .object([
            "id": .string(id), "object": .string("event"), "type": .string(type), "created": .int(Int(Date().timeIntervalSince1970)),
            "livemode": .bool(false), "api_version": .string("2024-06-20"), "data": .object(["object": object]),
        ])
        events[id] = event.text
        await deliver(id)
        // A gateway may deliver an event more than once (Stripe says so): the receiver must be idempotent.
        if duplicateWebhooks > 0 {
            duplicateWebhooks -= 1
            await deliver(id)
        }
    }

    func deliver(_ id: String) async {
        guard let body = events[id], let webhookURL else { return }
        var status = 0, tries = 0
        while tries < 3 {
            tries += 1
            let timestamp = Int(Date().timeIntervalSince1970)
            let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
            var request = URLRequest(url: webhookURL)
            request.httpMethod = "POST"
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue("t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined(), forHTTPHeaderField: "Stripe-Signature")
            status = ((try? await URLSession.shared.data(for: request))?.1 as? HTTPURLResponse)?.statusCode ?? 0
            if (200..<300).contains(status) { break }
            try? await Task.sleep(for: .milliseconds(200 * tries))
        }
        let type = (try? JSONValue.parse(Array(body.utf8)))?["type"]?.string ?? "?"
        deliveries.append((id, type, status, tries))
    }

    func redeliver(_ id: String) async -> Response {
        guard events[id] != nil else { return Self.error("event", "no such event: \(id)") }
        await deliver(id)
        return OdooSimulator.json(.ok, .object(["event": .string(id), "status": .int(deliveries.last?.status ?? 0)]))
    }

    func state() -> Response {
        OdooSimulator.json(.ok, .object([
            "payment_intents": .array(order.compactMap { intents[$0] }),
            "deliveries": .array(deliveries.map { .object(["event": .string($0.event), "type": .string($0.type),
                                                            "status": .int($0.status), "tries": .int($0.tries)]) }),
        ]))
    }

    static func error(_ parameter: String, _ message: String) -> Response {
        OdooSimulator.json(.badRequest, .object(["error": .object(["type": .string("invalid_request_error"), "param": .string(parameter),
                                                                   "message": .string(message)])]))
    }
}
