/// The slice of Odoo's data model the revenue cycle touches, with Odoo's field names, types and the rules that matter
/// to an integration (required fields, read-only computed amounts, posted entries that cannot change). Facts from
/// Odoo's documentation and its `account`, `base` and `mail` modules; the `x_` fields are the kind a clinic adds with
/// Studio (claim status, payer amounts).
public struct OdooField: Sendable {
    public enum Kind: String, Sendable {
        case char, text, integer, float, monetary, boolean, date, datetime, selection, many2one, one2many, many2many
    }
    public let name: String
    public let kind: Kind
    public let label: String
    public var relation: String? = nil
    /// one2many: the many2one field on the other model that points back.
    public var inverse: String? = nil
    public var required = false
    public var readonly = false
    public var selection: [(String, String)] = []
    public var defaultValue: JSONValue? = nil

    var description: JSONValue {
        var fields: [String: JSONValue] = [
            "type": .string(kind.rawValue), "string": .string(label), "required": .bool(required), "readonly": .bool(readonly),
            "store": .bool(true), "searchable": .bool(true), "sortable": .bool(true),
        ]
        if let relation { fields["relation"] = .string(relation) }
        if let inverse { fields["relation_field"] = .string(inverse) }
        if kind == .selection { fields["selection"] = .array(selection.map { .array([.string($0.0), .string($0.1)]) }) }
        return .object(fields)
    }
}

public struct OdooModel: Sendable {
    public let name: String
    public let label: String
    public let fields: [String: OdooField]
    /// Methods callable over RPC besides the ORM's own (create, read, write, …).
    public let actions: Set<String>
    /// Transient models (wizards) are not listed in state dumps.
    public var transient = false

    init(_ name: String, _ label: String, actions: Set<String> = [], transient: Bool = false, _ fields: [OdooField]) {
        self.name = name
        self.label = label
        self.actions = actions
        self.transient = transient
        self.fields = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0) })
    }
}

extension OdooField {
    static func char(_ name: String, _ label: String, required: Bool = false, readonly: Bool = false, default value: JSONValue? = nil) -> OdooField {
        OdooField(name: name, kind: .char, label: label, required: required, readonly: readonly, defaultValue: value)
    }
    static func of(_ kind: Kind, _ name: String, _ label: String, readonly: Bool = false, default value: JSONValue? = nil) -> OdooField {
        OdooField(name: name, kind: kind, label: label, readonly: readonly, defaultValue: value)
    }
    static func many2one(_ name: String, _ label: String, _ relation: String, required: Bool = false, readonly: Bool = false) -> OdooField {
        OdooField(name: name, kind: .many2one, label: label, relation: relation, required: required, readonly: readonly)
    }
    static func one2many(_ name: String, _ label: String, _ relation: String, inverse: String) -> OdooField {
        OdooField(name: name, kind: .one2many, label: label, relation: relation, inverse: inverse)
    }
    static func selection(_ name: String, _ label: String, _ options: [(String, String)], default value: String?, readonly: Bool = false) -> OdooField {
        OdooField(name: name, kind: .selection, label: label, readonly: readonly, selection: options, defaultValue: value.map { .string($0) })
    }
}

enum OdooSchema {
    static let models: [String: OdooModel] = Dictionary(uniqueKeysWithValues: [
        OdooModel("res.users", "User", actions: ["context_get"], [
            .char("name", "Name", required: true), .char("login", "Login", required: true), .of(.boolean, "active", "Active", default: .bool(true)),
        ]),
        OdooModel("res.partner", "Contact", actions: ["message_post"], [
            .char("name", "Name"), .char("ref", "Reference"), .char("email", "Email"), .char("phone", "Phone"), .char("mobile", "Mobile"),
            .of(.integer, "customer_rank", "Customer Rank", default: .int(0)), .of(.integer, "supplier_rank", "Supplier Rank", default: .int(0)),
            .of(.boolean, "is_company", "Is a Company", default: .bool(false)), .of(.boolean, "active", "Active", default: .bool(true)),
            .of(.text, "comment", "Notes"),
        ]),
        OdooModel("res.currency", "Currency", [
            .char("name", "Currency", required: true), .char("symbol", "Symbol"), .of(.boolean, "active", "Active", default: .bool(true)),
        ]),
        OdooModel("product.product", "Product Variant", [
            .char("name", "Name", required: true), .char("default_code", "Internal Reference"),
            .of(.float, "list_price", "Sales Price", default: .double(0)), .of(.float, "standard_price", "Cost", default: .double(0)),
            .selection("type", "Product Type", [("consu", "Goods"), ("service", "Service"), ("combo", "Combo")], default: "service"),
            .of(.boolean, "active", "Active", default: .bool(true)),
        ]),
        OdooModel("account.journal", "Journal", [
            .char("name", "Journal Name", required: true), .char("code", "Short Code", required: true),
            .selection("type", "Type", [("sale", "Sales"), ("purchase", "Purchase"), ("cash", "Cash"), ("bank", "Bank"), ("general", "Miscellaneous")], default: nil),
        ]),
        OdooModel("account.move", "Journal Entry", actions: ["action_post", "button_draft", "button_cancel", "message_post"], [
            .char("name", "Number", readonly: true, default: .string("/")),
            .selection("move_type", "Type", [("entry", "Journal Entry"), ("out_invoice", "Customer Invoice"), ("out_refund", "Customer Credit Note"),
                                             ("in_invoice", "Vendor Bill"), ("in_refund", "Vendor Credit Note")], default: "entry"),
            .many2one("partner_id", "Partner", "res.partner"), .of(.date, "invoice_date", "Invoice/Bill Date"),
            .char("invoice_origin", "Origin"), .char("ref", "Reference"), .of(.text, "narration", "Terms and Conditions"),
            .selection("state", "Status", [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")], default: "draft", readonly: true),
            .selection("payment_state", "Payment Status", [("not_paid", "Not Paid"), ("in_payment", "In Payment"), ("paid", "Paid"),
                                                           ("partial", "Partially Paid"), ("reversed", "Reversed")], default: "not_paid", readonly: true),
            .one2many("invoice_line_ids", "Invoice lines", "account.move.line", inverse: "move_id"),
            .many2one("journal_id", "Journal", "account.journal"), .many2one("currency_id", "Currency", "res.currency"),
            .of(.monetary, "amount_untaxed", "Untaxed Amount", readonly: true), .of(.monetary, "amount_total", "Total", readonly: true),
            .of(.monetary, "amount_residual", "Amount Due", readonly: true),
            .selection("x_claim_status", "Claim Status", [("none", "No claim"), ("submitted", "Submitted"), ("paid", "Paid by payer"),
                                                          ("partial", "Partially paid by payer"), ("denied", "Denied"), ("reversed", "Reversed")], default: "none"),
            .char("x_claim_ref", "Claim Reference"), .of(.monetary, "x_payer_paid", "Paid by Payer"),
            .of(.monetary, "x_patient_responsibility", "Patient Responsibility"),
        ]),
        OdooModel("account.move.line", "Journal Item", [
            .many2one("move_id", "Journal Entry", "account.move", required: true), .many2one("product_id", "Product", "product.product"),
            .char("name", "Label"), .of(.float, "quantity", "Quantity", default: .double(1)), .of(.float, "price_unit", "Unit Price", default: .double(0)),
            .of(.monetary, "price_subtotal", "Subtotal", readonly: true),
            .selection("display_type", "Display Type", [("product", "Product"), ("line_section", "Section"), ("line_note", "Note")], default: "product"),
        ]),
        OdooModel("account.payment", "Payments", actions: ["action_post", "action_cancel"], [
            .char("name", "Number", readonly: true, default: .string("/")),
            .selection("payment_type", "Payment Type", [("outbound", "Send"), ("inbound", "Receive")], default: "inbound"),
            .selection("partner_type", "Partner Type", [("customer", "Customer"), ("supplier", "Vendor")], default: "customer"),
            .many2one("partner_id", "Customer/Vendor", "res.partner"), .of(.monetary, "amount", "Amount"), .of(.date, "date", "Date"),
            .char("memo", "Memo"), .many2one("journal_id", "Journal", "account.journal"),
            .selection("state", "Status", [("draft", "Draft"), ("in_process", "In Process"), ("paid", "Paid"), ("canceled", "Canceled")],
                       default: "draft", readonly: true),
            OdooField(name: "reconciled_invoice_ids", kind: .many2many, label: "Reconciled Invoices", relation: "account.move", readonly: true),
        ]),
        OdooModel("account.payment.register", "Pay", actions: ["action_create_payments"], transient: true, [
            .of(.monetary, "amount", "Amount"), .of(.date, "payment_date", "Payment Date"), .many2one("journal_id", "Journal", "account.journal"),
            .char("communication", "Memo"),
            OdooField(name: "line_ids", kind: .many2many, label: "Invoices", relation: "account.move", readonly: true),
        ]),
        OdooModel("ir.model.data", "Model Data", actions: ["check_object_reference"], [
            .char("module", "Module", required: true), .char("name", "External Identifier", required: true),
            .char("model", "Model Name", required: true), .of(.integer, "res_id", "Record ID"),
            .of(.boolean, "noupdate", "Non Updatable", default: .bool(false)), .char("complete_name", "Complete ID", readonly: true),
        ]),
        OdooModel("mail.message", "Message", [
            .char("model", "Related Document Model"), .of(.integer, "res_id", "Related Document ID"), .of(.text, "body", "Contents"),
            .char("subject", "Subject"),
            .selection("message_type", "Type", [("email", "Incoming Email"), ("comment", "Comment"), ("notification", "System notification"),
                                                ("auto_comment", "Automated Targeted Notification"), ("user_notification", "User Specific Notification")],
                       default: "comment"),
            .char("subtype_xmlid", "Subtype"), .of(.datetime, "date", "Date"), .many2one("author_id", "Author", "res.partner"),
        ]),
        OdooModel("calendar.event", "Calendar Event", actions: ["message_post"], [
            .char("name", "Meeting Subject", required: true), .of(.datetime, "start", "Start"), .of(.datetime, "stop", "Stop"),
            .of(.float, "duration", "Duration"), .of(.boolean, "allday", "All Day", default: .bool(false)),
            OdooField(name: "partner_ids", kind: .many2many, label: "Attendees", relation: "res.partner"),
            .many2one("user_id", "Organizer", "res.users"), .char("location", "Location"), .of(.text, "description", "Description"),
            .of(.boolean, "active", "Active", default: .bool(true)),
            .char("x_appointment_ref", "Appointment Reference"), .char("x_site", "Site"), .char("x_service_code", "Service Code"),
            .of(.monetary, "x_expected_revenue", "Expected Revenue"),
            .selection("x_status", "Appointment Status", [("booked", "Booked"), ("rescheduled", "Rescheduled"), ("modified", "Modified"),
                                                          ("cancelled", "Cancelled"), ("no_show", "No-show"), ("completed", "Completed")], default: "booked"),
            .selection("x_reminder_status", "Reminder", [("none", "None"), ("sent", "Sent"), ("delivered", "Delivered"), ("failed", "Failed"),
                                                         ("opted_out", "Opted out")], default: "none"),
        ]),
        OdooModel("stock.location", "Inventory Locations", [
            .char("name", "Location Name", required: true), .char("complete_name", "Full Location Name"),
            .selection("usage", "Location Type", [("supplier", "Vendor"), ("view", "Virtual"), ("internal", "Internal"), ("customer", "Customer"),
                                                  ("inventory", "Inventory Loss"), ("production", "Production"), ("transit", "Transit")], default: "internal"),
            .char("x_site", "Site"), .of(.boolean, "active", "Active", default: .bool(true)),
        ]),
        OdooModel("stock.quant", "Quants", [
            .many2one("product_id", "Product", "product.product", required: true), .many2one("location_id", "Location", "stock.location", required: true),
            .of(.float, "quantity", "Quantity", readonly: true),
        ]),
        OdooModel("purchase.order", "Purchase Order", actions: ["button_confirm", "button_cancel", "message_post"], [
            .char("name", "Order Reference", readonly: true, default: .string("New")),
            .many2one("partner_id", "Vendor", "res.partner", required: true), .char("partner_ref", "Vendor Reference"), .char("origin", "Source Document"),
            .of(.datetime, "date_order", "Order Deadline"), .of(.datetime, "date_planned", "Expected Arrival"),
            .selection("state", "Status", [("draft", "RFQ"), ("sent", "RFQ Sent"), ("to approve", "To Approve"), ("purchase", "Purchase Order"),
                                           ("done", "Locked"), ("cancel", "Cancelled")], default: "draft", readonly: true),
            .one2many("order_line", "Order Lines", "purchase.order.line", inverse: "order_id"),
            .of(.monetary, "amount_total", "Total", readonly: true), .char("x_site", "Site"),
            .selection("x_supplier_status", "Supplier Status", [("none", "Not sent"), ("sent", "Sent to supplier"), ("acknowledged", "Acknowledged"),
                                                                ("partial", "Partially delivered"), ("delivered", "Delivered")], default: "none"),
            .char("x_supplier_order_ref", "Supplier Order"),
        ]),
        OdooModel("purchase.order.line", "Purchase Order Line", [
            .many2one("order_id", "Order Reference", "purchase.order", required: true), .many2one("product_id", "Product", "product.product"),
            .char("name", "Description"), .of(.float, "product_qty", "Quantity", default: .double(1)),
            .of(.float, "price_unit", "Unit Price", default: .double(0)), .of(.monetary, "price_subtotal", "Subtotal", readonly: true),
            .of(.float, "qty_received", "Received Qty", default: .double(0)), .of(.datetime, "date_planned", "Expected Arrival"),
        ]),
        OdooModel("stock.picking", "Transfer", actions: ["button_validate", "action_cancel", "message_post"], [
            .char("name", "Reference", readonly: true, default: .string("/")),
            .selection("picking_type_code", "Type of Operation", [("incoming", "Receipt"), ("outgoing", "Delivery"), ("internal", "Internal Transfer")],
                       default: "incoming"),
            .many2one("partner_id", "Contact", "res.partner"), .char("origin", "Source Document"),
            .many2one("location_id", "Source Location", "stock.location", required: true),
            .many2one("location_dest_id", "Destination Location", "stock.location", required: true),
            .of(.datetime, "scheduled_date", "Scheduled Date"), .of(.datetime, "date_done", "Date of Transfer", readonly: true),
            .selection("state", "Status", [("draft", "Draft"), ("waiting", "Waiting"), ("assigned", "Ready"), ("done", "Done"), ("cancel", "Cancelled")],
                       default: "draft", readonly: true),
            .many2one("purchase_id", "Purchase Order", "purchase.order"),
            .one2many("move_ids", "Stock moves", "stock.move", inverse: "picking_id"),
        ]),
        OdooModel("stock.move", "Stock Move", [
            .many2one("picking_id", "Transfer", "stock.picking"), .many2one("product_id", "Product", "product.product", required: true),
            .char("name", "Description"), .of(.float, "product_uom_qty", "Demand", default: .double(0)), .of(.float, "quantity", "Quantity", default: .double(0)),
            .many2one("location_id", "Source Location", "stock.location"), .many2one("location_dest_id", "Destination Location", "stock.location"),
            .selection("state", "Status", [("draft", "New"), ("assigned", "Available"), ("done", "Done"), ("cancel", "Cancelled")], default: "draft", readonly: true),
        ]),
        OdooModel("mail.activity", "Activity", [
            .char("res_model", "Related Document Model", required: true), .of(.integer, "res_id", "Related Document ID"),
            .char("summary", "Summary"), .of(.text, "note", "Note"), .of(.date, "date_deadline", "Due Date"),
            .many2one("user_id", "Assigned to", "res.users"),
        ]),
    ].map { ($0.name, $0) })

    /// What a fresh database holds: the bot user, the clinic, the sales and bank journals, and service products whose
    /// internal references are `SVC-` and the CPT/HCPCS code the clinics bill (the value map in the service-invoice
    /// plugin names them).
    static let seed: [(model: String, values: [String: JSONValue])] = {
        var records: [(String, [String: JSONValue])] = [
            ("res.partner", ["name": .string("Northside Clinics"), "is_company": .bool(true)]),
            ("res.currency", ["name": .string("USD"), "symbol": .string("$")]),
            ("res.currency", ["name": .string("EUR"), "symbol": .string("€"), "active": .bool(false)]),
            ("account.journal", ["name": .string("Customer Invoices"), "code": .string("INV"), "type": .string("sale")]),
            ("account.journal", ["name": .string("Bank"), "code": .string("BNK1"), "type": .string("bank")]),
        ]
        let services: [(String, String, Double)] = [
            ("99202", "New patient office visit, 15-29 min", 95), ("99203", "New patient office visit, 30-44 min", 140),
            ("99212", "Established patient office visit, 10-19 min", 70), ("99213", "Established patient office visit, 20-29 min", 125),
            ("99214", "Established patient office visit, 30-39 min", 185), ("36415", "Venipuncture", 18.5),
            ("80053", "Comprehensive metabolic panel", 42.75), ("85025", "Complete blood count with differential", 42.75),
            ("93000", "Electrocardiogram, 12 leads", 65), ("71046", "Chest X-ray, 2 views", 110),
            ("97110", "Therapeutic exercise, 15 min", 55), ("G0008", "Influenza vaccine administration", 25),
            ("90686", "Influenza vaccine, quadrivalent", 28),
        ]
        for (code, name, price) in services {
            records.append(("product.product", ["name": .string(name), "default_code": .string("SVC-" + code), "list_price": .double(price)]))
        }
        // Consumables the clinics order from their supplier, by the supplier's SKU, with the pack price paid.
        let consumables: [(String, String, Double)] = [
            ("GLV-NIT-M", "Nitrile gloves, medium, box of 100", 12.5), ("SYR-3ML", "Syringe 3 ml, box of 100", 18),
            ("NDL-23G", "Needle 23G, box of 100", 9.75), ("ALC-PAD", "Alcohol prep pads, box of 200", 6.4),
            ("TUBE-SST-5", "Blood collection tube SST 5 ml, pack of 100", 31), ("ECG-ELEC", "ECG electrodes, pack of 50", 14.2),
            ("GAUZE-2X2", "Gauze sponges 2x2, pack of 200", 7.9), ("FLU-QUAD-10", "Influenza vaccine quadrivalent, 10 doses", 142),
            ("BANDAGE", "Adhesive bandages, box of 100", 5.5), ("PAPER-EXAM", "Exam table paper roll", 8.25),
        ]
        for (sku, name, cost) in consumables {
            records.append(("product.product", ["name": .string(name), "default_code": .string(sku), "type": .string("consu"),
                                                "standard_price": .double(cost), "list_price": .double(0)]))
        }
        records.append(("res.partner", ["name": .string("MedSupply Direct"), "ref": .string("MEDSUPPLY"), "is_company": .bool(true),
                                        "supplier_rank": .int(1)]))
        records.append(("stock.location", ["name": .string("Vendors"), "complete_name": .string("Partners/Vendors"), "usage": .string("supplier")]))
        records.append(("stock.location", ["name": .string("Stock"), "complete_name": .string("NORTH/Stock"), "usage": .string("internal"), "x_site": .string("north")]))
        records.append(("stock.location", ["name": .string("Stock"), "complete_name": .string("SOUTH/Stock"), "usage": .string("internal"), "x_site": .string("south")]))
        return records
    }()
}
