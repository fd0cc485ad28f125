import Foundation

/// The business rules of Odoo's `calendar`, `purchase`, `stock` and `mail` modules the scheduling, supply and
/// patient-communication flows meet: order and receipt numbering, confirming an RFQ, validating a receipt (stock on
/// hand and received quantities follow), chatter messages, many2many commands.
extension OdooDatabase {
    /// `message_post`'s keyword arguments (mail.thread), the ones an integration sends.
    static let messagePostParameters = ["ids", "body", "subject", "message_type", "subtype_xmlid", "partner_ids", "body_is_html"]

    /// mail.thread's `message_post` on one record: a `mail.message` on the record's chatter; returns its id.
    func messagePost(_ model: String, _ p: [String: JSONValue]) throws(OdooError) -> JSONValue {
        let targets = try ids(p["ids"])
        guard targets.count == 1, let id = targets.first else {
            throw OdooError.value("Expected singleton: \(model)(\(targets.map(String.init).joined(separator: ", ")))")
        }
        _ = try record(model, id)
        guard let body = p["body"]?.string, !body.isEmpty else { throw OdooError.value("message_post: a body is required") }
        let type = p["message_type"]?.string ?? "notification"
        guard ["comment", "notification", "auto_comment", "user_notification"].contains(type) else {
            throw OdooError.value("Posting a message with type '\(type)' is not allowed (use 'comment' or 'notification').")
        }
        let message = try insert("mail.message", [
            "model": .string(model), "res_id": .int(id), "body": .string(body), "message_type": .string(type),
            "subtype_xmlid": p["subtype_xmlid"] ?? .string("mail.mt_note"), "subject": p["subject"] ?? .bool(false),
            "date": .string(now),
        ], context: [:])
        return .int(message)
    }

    /// A many2many value as Odoo takes it: a list of ids, or commands (6, 0, ids) replace, (4, id) link, (3, id) unlink,
    /// (5,) clear. Stored as the sorted list of ids.
    func many2many(_ model: String, _ field: OdooField, _ value: JSONValue, current: [Int]) throws(OdooError) -> JSONValue {
        guard let list = value.array else { throw OdooError.value("Wrong value for \(model).\(field.name): expected a list, got \(value)") }
        var ids = Set(current)
        for item in list {
            if let id = item.int { _ = try record(field.relation!, id); ids.insert(id); continue }
            guard let parts = item.array, let code = parts.first?.int else {
                throw OdooError.value("\(model).\(field.name): a command is a list like [6, 0, [ids]], got \(item)")
            }
            let target = parts.count > 1 ? parts[1].int ?? 0 : 0
            switch code {
            case 6:
                guard parts.count == 3, let replace = parts[2].array else { throw OdooError.value("\(model).\(field.name): (6, 0, ids) needs a list") }
                ids = []
                for element in replace {
                    guard let id = element.int else { throw OdooError.value("\(model).\(field.name): (6, 0, ids) needs record ids, got \(element)") }
                    _ = try record(field.relation!, id)
                    ids.insert(id)
                }
            case 4: _ = try record(field.relation!, target); ids.insert(target)
            case 3: ids.remove(target)
            case 5: ids = []
            default: throw OdooError.value("\(model).\(field.name): command \(code) is not valid on a many2many field")
            }
        }
        return .array(ids.sorted().map { .int($0) })
    }

    /// Numbers given on creation (Odoo's ir.sequence per model).
    func numberOnCreate(_ model: String, _ id: Int) {
        switch model {
        case "purchase.order":
            sequences["purchase.order", default: 0] += 1
            records[model]![id]!["name"] = .string(String(format: "P%05d", sequences["purchase.order"]!))
            if records[model]![id]!["date_order"]?.isFalsy ?? true { records[model]![id]!["date_order"] = .string(now) }
        case "stock.picking":
            let incoming = records[model]![id]!["picking_type_code"]?.string != "outgoing"
            let key = incoming ? "WH/IN" : "WH/OUT"
            sequences[key, default: 0] += 1
            records[model]![id]!["name"] = .string(String(format: "\(key)/%05d", sequences[key]!))
            records[model]![id]!["state"] = .string("assigned")
        default: break
        }
    }

    func recomputeOperations(_ model: String, _ id: Int) {
        switch model {
        case "purchase.order.line":
            guard let line = records[model]?[id] else { return }
            let subtotal = ((line["product_qty"]?.number ?? 0) * (line["price_unit"]?.number ?? 0) * 100).rounded() / 100
            records[model]![id]!["price_subtotal"] = .double(subtotal)
            if let order = line["order_id"]?.int { recomputeOperations("purchase.order", order) }
        case "purchase.order":
            guard records[model]?[id] != nil else { return }
            let total = (records["purchase.order.line"] ?? [:]).values.filter { $0["order_id"]?.int == id }
                .compactMap { $0["price_subtotal"]?.number }.reduce(0, +)
            records[model]![id]!["amount_total"] = .double((total * 100).rounded() / 100)
        default: break
        }
    }

    /// Purchase and stock rules on writes: a confirmed order's lines and vendor are locked; a done transfer is locked.
    func checkOperationsWrite(_ model: String, _ existing: [String: JSONValue], _ values: [String: JSONValue]) throws(OdooError) {
        if model == "purchase.order", ["purchase", "done", "cancel"].contains(existing["state"]?.string ?? "") {
            let locked = Set(values.keys).intersection(["partner_id", "order_line"])
            if !locked.isEmpty {
                throw OdooError.user("You cannot change the vendor or the lines of a confirmed purchase order (\(existing["name"]?.string ?? "?")).")
            }
        }
        if model == "stock.picking", existing["state"]?.string == "done" {
            let locked = Set(values.keys).intersection(["move_ids", "location_id", "location_dest_id", "partner_id"])
            if !locked.isEmpty { throw OdooError.user("You cannot change a transfer that is done (\(existing["name"]?.string ?? "?")).") }
        }
    }

    func operationsAction(_ model: String, _ method: String, _ ids: [Int]) throws(OdooError) -> JSONValue {
        switch (model, method) {
        case ("purchase.order", "button_confirm"):
            for id in ids {
                let order = try record(model, id)
                guard ["draft", "sent"].contains(order["state"]?.string ?? "") else { continue } // Odoo skips orders not in draft/sent
                let lines = (records["purchase.order.line"] ?? [:]).values.filter { $0["order_id"]?.int == id }
                if lines.isEmpty { throw OdooError.user("Please add some items to purchase.") }
                records[model]![id]!["state"] = .string("purchase")
            }
            return .bool(true)
        case ("purchase.order", "button_cancel"):
            for id in ids {
                let received = (records["purchase.order.line"] ?? [:]).values.filter { $0["order_id"]?.int == id }
                    .contains { ($0["qty_received"]?.number ?? 0) > 0 }
                if received { throw OdooError.user("Unable to cancel purchase order \(displayName(model, id)) as some receptions have already been done.") }
                records[model]![id]!["state"] = .string("cancel")
            }
            return .bool(true)
        case ("stock.picking", "button_validate"):
            for id in ids { try validate(picking: id) }
            return .bool(true)
        case ("stock.picking", "action_cancel"):
            for id in ids {
                guard try record(model, id)["state"]?.string != "done" else { throw OdooError.user("You cannot cancel a transfer that is done.") }
                records[model]![id]!["state"] = .string("cancel")
            }
            return .bool(true)
        default:
            throw OdooError.attribute(model, method)
        }
    }

    /// Validating a transfer: its moves are done, stock on hand moves between locations, and a receipt of a purchase
    /// order counts as received on the order's lines (by product), as Odoo's stock and purchase modules do.
    private func validate(picking id: Int) throws(OdooError) {
        let picking = try record("stock.picking", id)
        guard picking["state"]?.string != "done" else { throw OdooError.user("The transfer \(displayName("stock.picking", id)) is already done.") }
        guard picking["state"]?.string != "cancel" else { throw OdooError.user("You cannot validate a cancelled transfer.") }
        let moves = (records["stock.move"] ?? [:]).filter { $0.value["picking_id"]?.int == id }.sorted { $0.key < $1.key }
        if moves.isEmpty { throw OdooError.user("Please add some items to move.") }
        if moves.allSatisfy({ ($0.value["quantity"]?.number ?? 0) <= 0 }) {
            throw OdooError.user("You cannot validate a transfer if no quantities are reserved nor done.")
        }
        let source = picking["location_id"]?.int, destination = picking["location_dest_id"]?.int
        for (moveID, move) in moves {
            guard let product = move["product_id"]?.int else { continue }
            let quantity = move["quantity"]?.number ?? 0
            if let destination, records["stock.location"]?[destination]?["usage"]?.string == "internal" { addQuant(product, destination, quantity) }
            if let source, records["stock.location"]?[source]?["usage"]?.string == "internal" { addQuant(product, source, -quantity) }
            records["stock.move"]![moveID]!["state"] = .string("done")
            if let order = picking["purchase_id"]?.int,
               let line = (records["purchase.order.line"] ?? [:]).filter({ $0.value["order_id"]?.int == order && $0.value["product_id"]?.int == product })
                .keys.min() {
                records["purchase.order.line"]![line]!["qty_received"] = .double((records["purchase.order.line"]![line]!["qty_received"]?.number ?? 0) + quantity)
            }
        }
        records["stock.picking"]![id]!["state"] = .string("done")
        records["stock.picking"]![id]!["date_done"] = .string(now)
    }

    private func addQuant(_ product: Int, _ location: Int, _ quantity: Double) {
        if let quant = (records["stock.quant"] ?? [:]).first(where: { $0.value["product_id"]?.int == product && $0.value["location_id"]?.int == location })?.key {
            records["stock.quant"]![quant]!["quantity"] = .double((records["stock.quant"]![quant]!["quantity"]?.number ?? 0) + quantity)
        } else if let quant = try? insert("stock.quant", ["product_id": .int(product), "location_id": .int(location)], context: [:]) {
            records["stock.quant"]![quant]!["quantity"] = .double(quantity)
        }
    }

    /// Odoo's datetime format, UTC.
    var now: String {
        let parts = Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: .now)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1,
                      parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }
}
