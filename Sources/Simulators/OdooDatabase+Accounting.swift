import Foundation

/// The business rules of Odoo's `account`, `base` and `mail` modules the revenue cycle meets: posted entries cannot be
/// edited or deleted, posting needs a customer and lines, the payment wizard pays posted invoices and reconciles them,
/// contacts need a name, external ids are unique. Messages follow Odoo's wording so a dead letter reads like Odoo.
extension OdooDatabase {
    /// Fields of a posted journal entry that Odoo refuses to change (its lock on posted accounting data).
    static let lockedWhenPosted: Set<String> = ["partner_id", "invoice_line_ids", "invoice_date", "move_type", "journal_id"]

    func beforeCreate(_ model: String, _ values: [String: JSONValue], context: [String: JSONValue]) throws(OdooError) {
        switch model {
        case "res.partner":
            if values["name"]?.isFalsy ?? true { throw OdooError.validation("Contacts require a name") }
        case "ir.model.data":
            let module = values["module"]?.string ?? "", name = values["name"]?.string ?? ""
            if records["ir.model.data"]?.values.contains(where: { $0["module"]?.string == module && $0["name"]?.string == name }) == true {
                throw OdooError(name: "psycopg2.errors.UniqueViolation",
                                message: "duplicate key value violates unique constraint \"ir_model_data_module_name_uniq_index\"\nDETAIL:  Key (module, name)=(\(module), \(name)) already exists.",
                                status: 409)
            }
        case "account.payment.register":
            guard context["active_model"]?.string == "account.move", let ids = context["active_ids"]?.array?.compactMap(\.int), !ids.isEmpty else {
                throw OdooError.user("The register payment wizard should only be called on account.move or account.move.line records.")
            }
            for id in ids {
                let invoice = try record("account.move", id)
                guard invoice["state"]?.string == "posted" else { throw OdooError.user("You can only register payment for posted journal entries.") }
                guard invoice["payment_state"]?.string != "paid" else {
                    throw OdooError.user("You can't register a payment because there is nothing left to pay on the selected journal items.")
                }
            }
        default: break
        }
    }

    func afterCreate(_ model: String, _ id: Int, context: [String: JSONValue]) throws(OdooError) {
        switch model {
        case "account.move":
            if records[model]![id]!["journal_id"] == nil || records[model]![id]!["journal_id"] == .null {
                records[model]![id]!["journal_id"] = journal(records[model]![id]!["move_type"]?.string?.hasPrefix("out_") == true ? "sale" : "general").map { .int($0) } ?? .null
            }
        case "ir.model.data":
            let record = records[model]![id]!
            records[model]![id]!["complete_name"] = .string("\(record["module"]?.string ?? "").\(record["name"]?.string ?? "")")
        case "account.payment.register":
            let ids = context["active_ids"]?.array?.compactMap(\.int) ?? []
            records[model]![id]!["line_ids"] = .array(ids.map { .int($0) })
            if records[model]![id]!["amount"] == nil {
                let due = ids.compactMap { records["account.move"]?[$0]?["amount_residual"]?.number }.reduce(0, +)
                records[model]![id]!["amount"] = .double(due)
            }
            if records[model]![id]!["journal_id"] == nil { records[model]![id]!["journal_id"] = journal("bank").map { .int($0) } ?? .null }
            if records[model]![id]!["payment_date"] == nil { records[model]![id]!["payment_date"] = .string(today) }
        default: break
        }
    }

    func beforeWrite(_ model: String, _ id: Int, _ values: [String: JSONValue]) throws(OdooError) {
        let existing = try record(model, id)
        if model == "account.move", existing["state"]?.string == "posted" {
            let locked = Set(values.keys).intersection(OdooDatabase.lockedWhenPosted)
            if !locked.isEmpty {
                throw OdooError.user("You cannot modify a posted entry of this journal (\(displayName(model, id))): reset it to draft first (fields: \(locked.sorted().joined(separator: ", "))).")
            }
        }
        if model == "account.move.line", let move = existing["move_id"]?.int, records["account.move"]?[move]?["state"]?.string == "posted" {
            throw OdooError.user("You cannot modify a posted entry of this journal (\(displayName("account.move", move))).")
        }
        if model == "res.partner", let name = values["name"], name.isFalsy { throw OdooError.validation("Contacts require a name") }
        try checkOperationsWrite(model, existing, values)
    }

    func afterWrite(_ model: String, _ id: Int) throws(OdooError) {}

    /// Computed fields: line subtotals, invoice totals and what is left to pay.
    func recompute(_ model: String, _ id: Int) {
        switch model {
        case "account.move.line":
            guard let line = records[model]?[id] else { return }
            let subtotal = ((line["quantity"]?.number ?? 0) * (line["price_unit"]?.number ?? 0) * 100).rounded() / 100
            records[model]![id]!["price_subtotal"] = .double(subtotal)
            if let move = line["move_id"]?.int { recompute("account.move", move) }
        case "account.move":
            guard let move = records[model]?[id] else { return }
            let total = (records["account.move.line"] ?? [:]).values.filter { $0["move_id"]?.int == id }
                .compactMap { $0["price_subtotal"]?.number }.reduce(0, +)
            let rounded = (total * 100).rounded() / 100
            records[model]![id]!["amount_untaxed"] = .double(rounded)
            records[model]![id]!["amount_total"] = .double(rounded)
            if move["state"]?.string != "posted" { records[model]![id]!["amount_residual"] = .double(rounded) }
        default:
            recomputeOperations(model, id)
        }
    }

    func journal(_ type: String) -> Int? {
        records["account.journal"]?.filter { $0.value["type"]?.string == type }.keys.min()
    }

    var today: String {
        let parts = Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: .now)
        return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }

    func action(_ model: String, _ method: String, _ ids: [Int], context: [String: JSONValue]) throws(OdooError) -> JSONValue {
        for id in ids { _ = try record(model, id) }
        switch (model, method) {
        case ("account.move", "action_post"):
            for id in ids {
                let move = try record(model, id)
                guard move["state"]?.string == "draft" else {
                    throw OdooError.user("The entry \(displayName(model, id)) (id \(id)) is already posted.")
                }
                let type = move["move_type"]?.string ?? "entry"
                if type.hasPrefix("out_") && (move["partner_id"]?.isFalsy ?? true) {
                    throw OdooError.user("The field 'Customer' is required, please complete it to validate the Customer Invoice.")
                }
                let lines = (records["account.move.line"] ?? [:]).values.filter { $0["move_id"]?.int == id }
                if lines.isEmpty { throw OdooError.user("You need to add a line before posting.") }
                if move["invoice_date"]?.isFalsy ?? true { records[model]![id]!["invoice_date"] = .string(today) }
                if let lock = lockDate, let date = records[model]![id]!["invoice_date"]?.string, date <= lock {
                    throw OdooError.user("You cannot add/modify entries prior to and inclusive of the lock date \(lock).")
                }
                records[model]![id]!["state"] = .string("posted")
                // A number once: an entry reset to draft and posted again keeps it (Odoo's sequence has no gaps).
                if move["name"]?.string ?? "/" == "/" {
                    records[model]![id]!["name"] = .string(nextName(type == "out_refund" ? "RINV" : type.hasPrefix("out_") ? "INV" : "MISC"))
                }
                records[model]![id]!["amount_residual"] = move["amount_total"] ?? .double(0)
            }
            return .bool(false)
        case ("account.move", "button_draft"):
            for id in ids {
                let move = try record(model, id)
                guard move["payment_state"]?.string == "not_paid" else {
                    throw OdooError.user("You cannot reset to draft an entry that has payments reconciled with it.")
                }
                records[model]![id]!["state"] = .string("draft")
            }
            return .bool(false)
        case ("account.move", "button_cancel"):
            for id in ids {
                guard try record(model, id)["state"]?.string == "draft" else { throw OdooError.user("Only draft journal entries can be cancelled.") }
                records[model]![id]!["state"] = .string("cancel")
            }
            return .bool(false)
        case ("account.payment", "action_post"):
            for id in ids {
                guard try record(model, id)["state"]?.string == "draft" else { throw OdooError.user("Only a draft payment can be posted.") }
                if records[model]![id]!["journal_id"] == nil { records[model]![id]!["journal_id"] = journal("bank").map { .int($0) } ?? .null }
                records[model]![id]!["state"] = .string("paid")
                records[model]![id]!["name"] = .string(nextName("PBNK1"))
                if records[model]![id]!["date"] == nil { records[model]![id]!["date"] = .string(today) }
            }
            return .bool(false)
        case ("account.payment", "action_cancel"):
            for id in ids { records[model]![id]!["state"] = .string("canceled") }
            return .bool(false)
        case ("account.payment.register", "action_create_payments"):
            var created: [Int] = []
            for id in ids {
                let wizard = try record(model, id)
                let invoices = wizard["line_ids"]?.array?.compactMap(\.int) ?? []
                var amount = wizard["amount"]?.number ?? 0
                guard amount > 0 else { throw OdooError.user("The payment amount must be strictly positive.") }
                guard let first = invoices.first, let partner = records["account.move"]?[first]?["partner_id"]?.int else {
                    throw OdooError.user("You can only register payment for posted journal entries.")
                }
                let payment = try insert("account.payment", [
                    "payment_type": .string("inbound"), "partner_type": .string("customer"), "partner_id": .int(partner),
                    "amount": .double(amount), "date": wizard["payment_date"] ?? .string(today),
                    "memo": wizard["communication"] ?? .bool(false), "journal_id": wizard["journal_id"] ?? .bool(false),
                ], context: [:])
                records["account.payment"]![payment]!["state"] = .string("paid")
                records["account.payment"]![payment]!["name"] = .string(nextName("PBNK1"))
                records["account.payment"]![payment]!["reconciled_invoice_ids"] = .array(invoices.map { .int($0) })
                for invoice in invoices where amount > 0 {
                    let due = records["account.move"]![invoice]!["amount_residual"]?.number ?? 0
                    let applied = min(due, amount)
                    amount -= applied
                    let left = ((due - applied) * 100).rounded() / 100
                    records["account.move"]![invoice]!["amount_residual"] = .double(left)
                    records["account.move"]![invoice]!["payment_state"] = .string(left <= 0 ? "paid" : "partial")
                }
                created.append(payment)
            }
            if created.count == 1 {
                return .object(["type": .string("ir.actions.act_window"), "res_model": .string("account.payment"),
                                "res_id": .int(created[0]), "view_mode": .string("form"), "name": .string("Payments")])
            }
            return .object(["type": .string("ir.actions.act_window"), "res_model": .string("account.payment"),
                            "domain": .array([.array([.string("id"), .string("in"), .array(created.map { .int($0) })])]),
                            "view_mode": .string("list,form"), "name": .string("Payments")])
        default:
            return try operationsAction(model, method, ids)
        }
    }
}
