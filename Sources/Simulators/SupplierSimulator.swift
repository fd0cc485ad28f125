import Foundation
import Hummingbird
import NIOCore

/// `conflux simulate supplier`: a medical-supply distributor's portal. `POST /api/v1/orders` (Bearer API key,
/// Idempotency-Key) takes a purchase order by SKU; the portal then sends signed webhooks (Standard Webhooks):
/// `order.acknowledged` with the quantities it confirms and a promised date, and `order.delivered` when the goods are
/// at the site (after --deliver-after-ms, or on `POST /_sim/deliver {"order_ref":…}`). `GET /api/v1/sites/{site}/balances`
/// gives the site's counted stock (vendor-managed inventory): what was delivered, unless a count was set with
/// `POST /_sim/counts {"site":…,"sku":…,"quantity":…}`. Faults: `POST /_sim/faults {"fail_next":2,"fail_status":503}`.
/// `GET /_sim/state` lists orders, webhooks and counts.
public actor SupplierSimulator {
    public static let catalog: [String: Double] = [
        "GLV-NIT-M": 12.5, "SYR-3ML": 18, "NDL-23G": 9.75, "ALC-PAD": 6.4, "TUBE-SST-5": 31, "ECG-ELEC": 14.2,
        "GAUZE-2X2": 7.9, "FLU-QUAD-10": 142, "BANDAGE": 5.5, "PAPER-EXAM": 8.25,
    ]
    let apiKey: String
    let webhookURL: URL?
    let webhookSecret: String
    let deliverAfter: Duration?
    var orders: [String: JSONValue] = [:]
    var orderSequence: [String] = []
    var byIdempotencyKey: [String: String] = [:]
    var delivered: [String: [String: Double]] = [:]
    var counted: [String: [String: Double]] = [:]
    var webhooks: [JSONValue] = []
    var failNext = 0
    var failStatus = 503
    var counter = 0

    public init(apiKey: String, webhookURL: URL?, webhookSecret: String, deliverAfterMilliseconds: Int?) {
        self.apiKey = apiKey
        self.webhookURL = webhookURL
        self.webhookSecret = webhookSecret
        deliverAfter = deliverAfterMilliseconds.map { .milliseconds($0) }
    }

    public nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("api/v1/orders") { request, _ in
            let body = try await MessagingSimulator.text(request)
            return await self.order(authorization: request.headers[.authorization], idempotencyKey: request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value,
                                    body: body)
        }
        router.get("api/v1/sites/:site/balances") { request, context in
            await self.balances(authorization: request.headers[.authorization], site: context.parameters.get("site") ?? "")
        }
        router.post("_sim/deliver") { request, _ in
            let object = try JSONValue.parse(Array(try await MessagingSimulator.text(request).utf8))
            return await self.deliver(orderRef: object["order_ref"]?.string ?? "")
        }
        router.post("_sim/counts") { request, _ in
            let object = try JSONValue.parse(Array(try await MessagingSimulator.text(request).utf8))
            return await self.setCount(site: object["site"]?.string ?? "", sku: object["sku"]?.string ?? "", quantity: object["quantity"]?.number ?? 0)
        }
        router.post("_sim/faults") { request, _ in
            let object = try JSONValue.parse(Array(try await MessagingSimulator.text(request).utf8))
            return await self.setFaults(failNext: object["fail_next"]?.int ?? 0, status: object["fail_status"]?.int ?? 503)
        }
        router.get("_sim/state") { _, _ in await self.state() }
        return router
    }

    func authorized(_ header: String?) -> Bool { header == "Bearer \(apiKey)" }

    func setFaults(failNext: Int, status: Int) -> Response {
        self.failNext = failNext
        failStatus = status
        return OdooSimulator.json(.ok, .object(["fail_next": .int(failNext), "fail_status": .int(status)]))
    }

    func order(authorization: String?, idempotencyKey: String?, body: String) async -> Response {
        guard authorized(authorization) else { return Self.error(401, "unauthorized", nil, "missing or wrong API key (Authorization: Bearer …)") }
        if failNext > 0 {
            failNext -= 1
            return Self.error(failStatus, "unavailable", nil, "the order service is temporarily unavailable")
        }
        if let key = idempotencyKey, let existing = byIdempotencyKey[key], let order = orders[existing] {
            return OdooSimulator.json(.ok, Self.summary(order))
        }
        guard let object = try? JSONValue.parse(Array(body.utf8)), object.object != nil else {
            return Self.error(400, "invalid_json", nil, "the body is not a JSON object")
        }
        guard let reference = object["order_ref"]?.string, !reference.isEmpty else { return Self.error(422, "invalid", "order_ref", "order_ref is required") }
        guard let site = object["site"]?.string, !site.isEmpty else { return Self.error(422, "invalid", "site", "site is required") }
        guard let lines = object["lines"]?.array, !lines.isEmpty else { return Self.error(422, "invalid", "lines", "at least one line is required") }
        var confirmed: [JSONValue] = []
        for (index, line) in lines.enumerated() {
            guard let sku = line["sku"]?.string, Self.catalog[sku] != nil else {
                return Self.error(422, "unknown_sku", "lines[\(index + 1)].sku", "unknown SKU '\(line["sku"]?.string ?? "")'")
            }
            guard let quantity = line["quantity"]?.number, quantity > 0, quantity == quantity.rounded() else {
                return Self.error(422, "invalid", "lines[\(index + 1)].quantity", "quantity must be a positive whole number of packs")
            }
            confirmed.append(.object(["sku": .string(sku), "quantity_confirmed": .double(quantity)]))
        }
        counter += 1
        let id = String(format: "SO-%05d", 40000 + counter)
        let promised = Self.day(Date().addingTimeInterval(2 * 86400))
        let order: JSONValue = .object([
            "id": .string(id), "order_ref": .string(reference), "site": .string(site), "status": .string("received"),
            "lines": .array(lines), "confirmed": .array(confirmed), "promised_date": .string(promised),
        ])
        orders[id] = order
        orderSequence.append(id)
        if let key = idempotencyKey { byIdempotencyKey[key] = id }
        Task {
            try? await Task.sleep(for: .milliseconds(100))
            await self.send("order.acknowledged", ["order_ref": .string(reference), "supplier_order_id": .string(id),
                                                   "promised_date": .string(promised), "lines": .array(confirmed)])
            if let deliverAfter = self.deliverAfter {
                try? await Task.sleep(for: deliverAfter)
                _ = await self.deliver(orderRef: reference)
            }
        }
        return OdooSimulator.json(.created, Self.summary(order))
    }

    func deliver(orderRef: String) async -> Response {
        guard let id = orderSequence.first(where: { orders[$0]?["order_ref"]?.string == orderRef }), let order = orders[id] else {
            return Self.error(404, "not_found", "order_ref", "no order \(orderRef)")
        }
        guard order["status"]?.string != "delivered" else { return OdooSimulator.json(.ok, Self.summary(order)) }
        let site = order["site"]?.string ?? ""
        var lines: [JSONValue] = []
        for line in order["confirmed"]?.array ?? [] {
            let sku = line["sku"]?.string ?? "", quantity = line["quantity_confirmed"]?.number ?? 0
            delivered[site, default: [:]][sku, default: 0] += quantity
            lines.append(.object(["sku": .string(sku), "quantity_delivered": .double(quantity)]))
        }
        var updated = order.object ?? [:]
        updated["status"] = .string("delivered")
        orders[id] = .object(updated)
        counter += 1
        await send("order.delivered", ["order_ref": .string(orderRef), "supplier_order_id": .string(id),
                                       "delivery_id": .string(String(format: "DLV-%05d", 70000 + counter)), "site": .string(site),
                                       "delivered_at": .string(ISO8601DateFormatter().string(from: Date())), "lines": .array(lines)])
        return OdooSimulator.json(.ok, Self.summary(.object(updated)))
    }

    func setCount(site: String, sku: String, quantity: Double) -> Response {
        guard Self.catalog[sku] != nil, !site.isEmpty else { return Self.error(422, "invalid", "sku", "unknown SKU or empty site") }
        counted[site, default: [:]][sku] = quantity
        return OdooSimulator.json(.ok, .object(["site": .string(site), "sku": .string(sku), "quantity": .double(quantity)]))
    }

    func balances(authorization: String?, site: String) -> Response {
        guard authorized(authorization) else { return Self.error(401, "unauthorized", nil, "missing or wrong API key (Authorization: Bearer …)") }
        var items = delivered[site] ?? [:]
        for (sku, quantity) in counted[site] ?? [:] { items[sku] = quantity }
        return OdooSimulator.json(.ok, .object([
            "site": .string(site), "counted_at": .string(ISO8601DateFormatter().string(from: Date())),
            "items": .array(items.keys.sorted().map { .object(["sku": .string($0), "quantity": .double(items[$0]!)]) }),
        ]))
    }

    func send(_ type: String, _ data: [String: JSONValue]) async {
        counter += 1
        let id = "evt_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased())"
        let event: JSONValue = .object(["id": .string(id), "type": .string(type), "created": .int(Int(Date().timeIntervalSince1970)),
                                        "data": .object(data)])
        var status = 0, tries = 0
        if let webhookURL {
            let body = Data(event.text.utf8)
            (status, tries) = await WebhookSender.post(webhookURL, body: body,
                                                       headers: WebhookSender.standardWebhooksHeaders(id: id, body: body, secret: webhookSecret))
        }
        webhooks.append(.object(["id": .string(id), "type": .string(type), "order_ref": data["order_ref"] ?? .null,
                                 "http_status": .int(status), "tries": .int(tries)]))
    }

    func state() -> Response {
        OdooSimulator.json(.ok, .object([
            "orders": .array(orderSequence.compactMap { orders[$0] }), "webhooks": .array(webhooks),
            "delivered": .object(delivered.mapValues { .object($0.mapValues { .double($0) }) }),
            "counts": .object(counted.mapValues { .object($0.mapValues { .double($0) }) }),
        ]))
    }

    static func summary(_ order: JSONValue) -> JSONValue {
        .object(["id": order["id"] ?? .null, "order_ref": order["order_ref"] ?? .null, "status": order["status"] ?? .null,
                 "promised_date": order["promised_date"] ?? .null])
    }

    static func error(_ status: Int, _ code: String, _ field: String?, _ message: String) -> Response {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let field { error["field"] = .string(field) }
        return OdooSimulator.json(HTTPResponse.Status(code: status), .object(["error": .object(error)]))
    }

    static func day(_ date: Date) -> String {
        let parts = Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }
}
