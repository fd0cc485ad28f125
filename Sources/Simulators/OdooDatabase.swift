import Foundation

/// The Odoo simulator's database: records by model, the ORM methods Odoo exposes over RPC (`create`, `read`, `write`,
/// `search`, `search_read`, `search_count`, `unlink`, `fields_get`, `default_get`) with Odoo's argument names, domains
/// and one2many command tuples, and the business methods the revenue cycle calls (see `OdooDatabase+Accounting`).
///
/// Written by hand: it stands in for Odoo in tests and demos, and no package offers an Odoo-compatible ORM in Swift.
public actor OdooDatabase {
    var records: [String: [Int: [String: JSONValue]]] = [:]
    var nextID: [String: Int] = [:]
    var sequences: [String: Int] = [:]
    /// RPC calls by `model.method`, for tests that count what a connector did.
    public private(set) var calls: [String: Int] = [:]
    let year: Int
    /// The company's lock date (Odoo's fiscal-year lock): no entry dated on or before it may be posted.
    public private(set) var lockDate: String?

    public func setLockDate(_ date: String?) { lockDate = date }

    public init() async {
        year = Calendar(identifier: .gregorian).component(.year, from: Date())
        records["res.users"] = [2: ["id": .int(2), "name": .string("Conflux Bot"), "login": .string("conflux-bot"), "active": .bool(true)]]
        nextID["res.users"] = 3
        for (model, values) in OdooSchema.seed { _ = try? insert(model, values, context: [:]) }
    }

    public func userID(login: String) -> Int? {
        records["res.users"]?.first { $0.value["login"]?.string == login }?.key
    }

    public func setLogin(_ login: String) {
        records["res.users"]?[2]?["login"] = .string(login)
    }

    /// Every record of the non-transient models, as `read` gives them (many2one as `[id, name]`).
    public func dump() -> JSONValue {
        var models: [String: JSONValue] = [:]
        for (name, model) in OdooSchema.models where !model.transient {
            let ids = (records[name] ?? [:]).keys.sorted()
            models[name] = .array(ids.compactMap { try? readOne(name, $0, fields: nil, classic: false) })
        }
        return .object(["models": .object(models), "calls": .object(calls.mapValues { .int($0) })])
    }

    // MARK: RPC entry

    static let parameters: [String: [String]] = [
        "create": ["vals_list"], "write": ["ids", "vals"], "read": ["ids", "fields", "load"],
        "search": ["domain", "offset", "limit", "order"], "search_read": ["domain", "fields", "offset", "limit", "order"],
        "search_count": ["domain", "limit"], "unlink": ["ids"], "fields_get": ["allfields", "attributes"],
        "default_get": ["fields_list"], "context_get": [], "check_object_reference": ["module", "xml_id", "raise_on_access_error"],
    ]

    /// One call, positional `args` then keyword `kwargs` bound to the method's parameter names as Odoo's methods
    /// declare them (an unknown keyword is a TypeError, as in Python). `json2`: create always answers a list.
    public func call(model name: String, method: String, args: [JSONValue], kwargs: [String: JSONValue], uid: Int,
                     json2: Bool = false) throws(OdooError) -> JSONValue {
        calls["\(name).\(method)", default: 0] += 1
        guard let model = OdooSchema.models[name] else { throw OdooError(name: "builtins.KeyError", message: name, status: 404) }
        let names: [String]
        if let known = OdooDatabase.parameters[method] { names = known }
        else if method == "message_post", model.actions.contains(method) { names = OdooDatabase.messagePostParameters }
        else if model.actions.contains(method) { names = ["ids"] }
        else if method.hasPrefix("_") {
            throw OdooError.access("Private methods (such as '\(method)') cannot be called remotely.")
        } else { throw OdooError.attribute(name, method) }
        guard args.count <= names.count else {
            throw OdooError.type("\(method)() takes \(names.count) positional arguments but \(args.count) were given")
        }
        var params: [String: JSONValue] = [:]
        for (index, value) in args.enumerated() { params[names[index]] = value }
        var context: [String: JSONValue] = [:]
        for (key, value) in kwargs {
            if key == "context" { context = value.object ?? [:]; continue }
            guard names.contains(key) else { throw OdooError.type("\(method)() got an unexpected keyword argument '\(key)'") }
            guard params[key] == nil else { throw OdooError.type("\(method)() got multiple values for argument '\(key)'") }
            params[key] = value
        }
        return try dispatch(model, method, params, context: context, uid: uid, json2: json2)
    }

    private func dispatch(_ model: OdooModel, _ method: String, _ p: [String: JSONValue], context: [String: JSONValue], uid: Int,
                          json2: Bool) throws(OdooError) -> JSONValue {
        let name = model.name
        switch method {
        case "create":
            guard let values = p["vals_list"] else { throw OdooError.type("create() missing 1 required positional argument: 'vals_list'") }
            if let list = values.array {
                var ids: [JSONValue] = []
                for item in list {
                    guard let object = item.object else { throw OdooError.value("create: each element of vals_list must be a dict") }
                    ids.append(.int(try create(name, object, context: context)))
                }
                return .array(ids)
            }
            guard let object = values.object else { throw OdooError.value("create: vals_list must be a dict or a list of dicts") }
            let id = try create(name, object, context: context)
            return json2 ? .array([.int(id)]) : .int(id)
        case "write":
            guard let vals = p["vals"]?.object else { throw OdooError.type("write() missing 1 required positional argument: 'vals'") }
            try write(name, try ids(p["ids"]), vals)
            return .bool(true)
        case "read":
            let fields = try fieldList(p["fields"], model)
            let classic = p["load"]?.string == "_classic_write"
            return .array(try ids(p["ids"]).map { id throws(OdooError) in try readOne(name, id, fields: fields, classic: classic) })
        case "search":
            return .array(try search(name, p["domain"], offset: p["offset"]?.int ?? 0, limit: p["limit"]?.int, order: p["order"]?.string).map { .int($0) })
        case "search_read":
            let fields = try fieldList(p["fields"], model)
            let found = try search(name, p["domain"], offset: p["offset"]?.int ?? 0, limit: p["limit"]?.int, order: p["order"]?.string)
            return .array(try found.map { id throws(OdooError) in try readOne(name, id, fields: fields, classic: false) })
        case "search_count":
            return .int(try search(name, p["domain"], offset: 0, limit: p["limit"]?.int, order: nil).count)
        case "unlink":
            try unlink(name, try ids(p["ids"]))
            return .bool(true)
        case "fields_get":
            var fields = model.fields.mapValues(\.description)
            fields["id"] = .object(["type": .string("integer"), "string": .string("ID"), "readonly": .bool(true)])
            if let wanted = p["allfields"]?.array?.compactMap(\.string), !wanted.isEmpty { fields = fields.filter { wanted.contains($0.key) } }
            return .object(fields)
        case "default_get":
            let wanted = p["fields_list"]?.array?.compactMap(\.string) ?? Array(model.fields.keys)
            return .object(Dictionary(uniqueKeysWithValues: wanted.compactMap { field in model.fields[field]?.defaultValue.map { (field, $0) } }))
        case "context_get":
            return .object(["lang": .string("en_US"), "tz": .string("UTC"), "uid": .int(uid)])
        case "check_object_reference":
            guard let module = p["module"]?.string, let xmlid = p["xml_id"]?.string else {
                throw OdooError.type("check_object_reference() missing required arguments: 'module' and 'xml_id'")
            }
            guard let found = records["ir.model.data"]?.values.first(where: { $0["module"]?.string == module && $0["name"]?.string == xmlid }),
                  let target = found["model"]?.string, let id = found["res_id"]?.int else {
                throw OdooError.value("External ID not found in the system: \(module).\(xmlid)")
            }
            return .array([.string(target), .int(id)])
        case "message_post":
            return try messagePost(name, p)
        default:
            return try action(name, method, try ids(p["ids"]), context: context)
        }
    }

    // MARK: ORM

    func ids(_ value: JSONValue?) throws(OdooError) -> [Int] {
        guard let value else { return [] }
        if let id = value.int { return [id] }
        guard let list = value.array else { throw OdooError.value("ids must be a list of integers, got \(value)") }
        var out: [Int] = []
        for item in list {
            guard let id = item.int else { throw OdooError.value("ids must be a list of integers, got \(value)") }
            out.append(id)
        }
        return out
    }

    private func fieldList(_ value: JSONValue?, _ model: OdooModel) throws(OdooError) -> [String]? {
        guard let value, !value.isFalsy else { return nil }
        guard let list = value.array?.compactMap(\.string) else { throw OdooError.value("fields must be a list of field names") }
        for field in list where field != "id" && field != "display_name" && model.fields[field] == nil {
            throw OdooError.value("Invalid field '\(field)' on model '\(model.name)'")
        }
        return list
    }

    func record(_ model: String, _ id: Int) throws(OdooError) -> [String: JSONValue] {
        guard let record = records[model]?[id] else {
            throw OdooError.missing("Record does not exist or has been deleted.\n(Record: \(model)(\(id),), User: 2)")
        }
        return record
    }

    func displayName(_ model: String, _ id: Int) -> String {
        guard let record = records[model]?[id] else { return "\(model),\(id)" }
        if model == "stock.location", let complete = record["complete_name"]?.string { return complete }
        if let name = record["name"]?.string, name != "/" || model != "account.move" { return name }
        if model == "account.move" { return "Draft Invoice (* \(id))" }
        return "\(model),\(id)"
    }

    func readOne(_ model: String, _ id: Int, fields: [String]?, classic: Bool) throws(OdooError) -> JSONValue {
        let stored = try record(model, id)
        guard let schema = OdooSchema.models[model] else { return .null }
        var out: [String: JSONValue] = ["id": .int(id)]
        for field in fields ?? Array(schema.fields.keys) {
            if field == "id" { continue }
            if field == "display_name" { out[field] = .string(displayName(model, id)); continue }
            guard let spec = schema.fields[field] else { continue }
            switch spec.kind {
            case .one2many:
                let children = (records[spec.relation!] ?? [:]).filter { $0.value[spec.inverse!]?.int == id }.keys.sorted()
                out[field] = .array(children.map { .int($0) })
            case .many2many:
                out[field] = stored[field] ?? .array([])
            case .many2one:
                if let target = stored[field]?.int {
                    out[field] = classic ? .int(target) : .array([.int(target), .string(displayName(spec.relation!, target))])
                } else { out[field] = .bool(false) }
            case .integer, .float, .monetary:
                out[field] = stored[field] ?? (spec.kind == .integer ? .int(0) : .double(0))
            case .boolean:
                out[field] = stored[field] ?? .bool(false)
            default:
                out[field] = stored[field].flatMap { $0 == .null ? nil : $0 } ?? .bool(false)
            }
        }
        return .object(out)
    }

    func create(_ model: String, _ values: [String: JSONValue], context: [String: JSONValue]) throws(OdooError) -> Int {
        try beforeCreate(model, values, context: context)
        let id = try insert(model, values, context: context)
        numberOnCreate(model, id)
        try afterCreate(model, id, context: context)
        return id
    }

    /// Validates and stores one record (defaults, types, references, one2many commands, required fields).
    @discardableResult
    func insert(_ model: String, _ values: [String: JSONValue], context: [String: JSONValue]) throws(OdooError) -> Int {
        guard let schema = OdooSchema.models[model] else { throw OdooError(name: "builtins.KeyError", message: model, status: 404) }
        var record: [String: JSONValue] = [:]
        for (name, field) in schema.fields { if let value = field.defaultValue { record[name] = value } }
        if let type = context["default_move_type"], model == "account.move" { record["move_type"] = type }
        var commands: [(String, JSONValue)] = []
        for (name, value) in values {
            guard let field = schema.fields[name] else { throw OdooError.value("Invalid field '\(name)' on model '\(model)'") }
            if field.kind == .one2many { commands.append((name, value)); continue }
            if field.readonly { continue }
            record[name] = field.kind == .many2many && !value.isFalsy ? try many2many(model, field, value, current: []) : try coerce(model, field, value)
        }
        try Self.checkRequired(record, schema)
        let id = nextID[model, default: 1]
        nextID[model] = id + 1
        record["id"] = .int(id)
        records[model, default: [:]][id] = record
        for (name, value) in commands { try applyCommands(model, id, schema.fields[name]!, value) }
        recompute(model, id)
        return id
    }

    func write(_ model: String, _ ids: [Int], _ values: [String: JSONValue]) throws(OdooError) {
        guard let schema = OdooSchema.models[model] else { return }
        for id in ids { _ = try record(model, id) }
        for id in ids { try beforeWrite(model, id, values) }
        for id in ids {
            for (name, value) in values {
                guard let field = schema.fields[name] else { throw OdooError.value("Invalid field '\(name)' on model '\(model)'") }
                if field.kind == .one2many { try applyCommands(model, id, field, value); continue }
                if field.readonly { continue }
                if field.kind == .many2many, !value.isFalsy {
                    let current = records[model]![id]![name]?.array?.compactMap(\.int) ?? []
                    records[model]![id]![name] = try many2many(model, field, value, current: current)
                    continue
                }
                records[model]![id]![name] = try coerce(model, field, value)
            }
            try Self.checkRequired(records[model]![id]!, schema)
            try afterWrite(model, id)
            recompute(model, id)
        }
    }

    func unlink(_ model: String, _ ids: [Int]) throws(OdooError) {
        for id in ids {
            let existing = try record(model, id)
            if model == "account.move", existing["state"]?.string == "posted" {
                throw OdooError.user("You cannot delete an entry which has been posted once.")
            }
        }
        for id in ids {
            records[model]?[id] = nil
            if let schema = OdooSchema.models[model] {
                for field in schema.fields.values where field.kind == .one2many {
                    records[field.relation!] = records[field.relation!]?.filter { $0.value[field.inverse!]?.int != id }
                }
            }
        }
    }

    /// Odoo's NOT NULL columns, reported as Odoo 17+ words a violated one.
    static func checkRequired(_ record: [String: JSONValue], _ schema: OdooModel) throws(OdooError) {
        for (name, field) in schema.fields where field.required && field.kind != .one2many && (record[name]?.isFalsy ?? true) {
            throw OdooError.validation("The operation cannot be completed: a mandatory field is not set.\n- Model: \(schema.label) (\(schema.name))\n- Field: \(field.label) (\(name))")
        }
    }

    /// Odoo's x2many command tuples: (0, 0, vals) create, (1, id, vals) update, (2, id, 0) delete, (3, id, 0) unlink,
    /// (4, id, 0) link, (5, 0, 0) clear, (6, 0, ids) replace.
    func applyCommands(_ model: String, _ id: Int, _ field: OdooField, _ value: JSONValue) throws(OdooError) {
        guard let relation = field.relation, let inverse = field.inverse else { return }
        guard let list = value.array else { throw OdooError.value("\(model).\(field.name): expected a list of commands, got \(value)") }
        func children() -> [Int] { (records[relation] ?? [:]).filter { $0.value[inverse]?.int == id }.keys.sorted() }
        for command in list {
            guard let parts = command.array, let code = parts.first?.int else {
                throw OdooError.value("\(model).\(field.name): a command is a list like [0, 0, {…}], got \(command)")
            }
            let target = parts.count > 1 ? parts[1].int ?? 0 : 0
            switch code {
            case 0:
                guard parts.count == 3, var values = parts[2].object else { throw OdooError.value("\(model).\(field.name): (0, 0, values) needs a dict") }
                values[inverse] = .int(id)
                _ = try insert(relation, values, context: [:])
            case 1:
                guard parts.count == 3, let values = parts[2].object, children().contains(target) else {
                    throw OdooError.missing("Record does not exist or has been deleted.\n(Record: \(relation)(\(target),), User: 2)")
                }
                try write(relation, [target], values)
            case 2, 3:
                guard children().contains(target) else {
                    throw OdooError.missing("Record does not exist or has been deleted.\n(Record: \(relation)(\(target),), User: 2)")
                }
                records[relation]?[target] = nil
            case 4:
                _ = try record(relation, target)
                records[relation]![target]![inverse] = .int(id)
            case 5:
                for child in children() { records[relation]?[child] = nil }
            case 6:
                let keep = Set((parts.count == 3 ? parts[2].array ?? [] : []).compactMap(\.int))
                for child in children() where !keep.contains(child) { records[relation]?[child] = nil }
                for child in keep { _ = try record(relation, child); records[relation]![child]![inverse] = .int(id) }
            default:
                throw OdooError.value("\(model).\(field.name): unknown command \(code)")
            }
        }
    }

    func coerce(_ model: String, _ field: OdooField, _ value: JSONValue) throws(OdooError) -> JSONValue {
        let place = "\(model).\(field.name)"
        if value == .bool(false) || value == .null {
            return field.kind == .boolean ? .bool(false) : .null
        }
        switch field.kind {
        case .char, .text:
            guard case .string = value else { throw OdooError.value("Wrong value for \(place): \(value)") }
            return value
        case .integer:
            guard let int = value.int else { throw OdooError.value("Wrong value for \(place): \(value) is not an integer") }
            return .int(int)
        case .float, .monetary:
            guard let number = value.number else { throw OdooError.value("Wrong value for \(place): \(value) is not a number") }
            return .double(number)
        case .boolean:
            guard case .bool = value else { throw OdooError.value("Wrong value for \(place): \(value) is not a boolean") }
            return value
        case .date:
            guard let text = value.string, OdooDatabase.isDate(text) else {
                throw OdooError.value("time data '\(value.string ?? value.text)' does not match format '%Y-%m-%d' (\(place))")
            }
            return value
        case .datetime:
            guard case .string = value else { throw OdooError.value("Wrong value for \(place): \(value)") }
            return value
        case .selection:
            guard let text = value.string, field.selection.contains(where: { $0.0 == text }) else {
                throw OdooError.value("Wrong value for \(place): \(value)")
            }
            return value
        case .many2one:
            guard let id = value.int else { throw OdooError.value("Wrong value for \(place): \(value) is not a record id") }
            _ = try record(field.relation!, id)
            return .int(id)
        case .many2many:
            return value
        case .one2many:
            return value
        }
    }

    func search(_ model: String, _ domain: JSONValue?, offset: Int, limit: Int?, order: String?) throws(OdooError) -> [Int] {
        let terms = domain?.array ?? []
        let all = records[model] ?? [:]
        let mentionsActive = terms.contains { $0.array?.first?.string == "active" }
        let filterActive = OdooSchema.models[model]?.fields["active"] != nil && !mentionsActive
        var matched: [Int] = []
        for (id, record) in all {
            if filterActive && record["active"] == .bool(false) { continue }
            if try Domain.matches(terms, record, model: model) { matched.append(id) }
        }
        matched.sort()
        if let order, !order.isEmpty {
            let keys = order.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).split(separator: " ").map(String.init) }
            matched.sort { a, b in
                for key in keys {
                    let field = key[0], descending = key.count > 1 && key[1].lowercased() == "desc"
                    let left = all[a]?[field] ?? .null, right = all[b]?[field] ?? .null
                    if left == right { continue }
                    return Domain.less(left, right) != descending
                }
                return a < b
            }
        }
        let start = min(offset, matched.count)
        let end = limit.map { min(matched.count, start + $0) } ?? matched.count
        return Array(matched[start..<end])
    }

    func nextName(_ prefix: String) -> String {
        let key = "\(prefix)/\(year)"
        let number = sequences[key, default: 0] + 1
        sequences[key] = number
        return "\(prefix)/\(year)/\(String(format: "%05d", number))"
    }

    /// `YYYY-MM-DD` naming a day that exists.
    static func isDate(_ text: String) -> Bool {
        guard let match = text.wholeMatch(of: /(\d{4})-(\d{2})-(\d{2})/), let year = Int(match.1), let month = Int(match.2),
              let day = Int(match.3), (1...12).contains(month), day >= 1 else { return false }
        let days = [31, (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= days[month - 1]
    }
}
