/// Odoo search domains evaluated on stored records: terms `[field, operator, value]` combined with the prefix
/// operators `&` (implicit between terms), `|` and `!`, as Odoo's `expression` module defines them.
enum Domain {
    static let operators: Set<String> = ["=", "!=", "<>", "<", ">", "<=", ">=", "in", "not in", "like", "ilike", "not like",
                                         "not ilike", "=like", "=ilike"]

    static func matches(_ domain: [JSONValue], _ record: [String: JSONValue], model: String) throws(OdooError) -> Bool {
        var index = 0
        func parse() throws(OdooError) -> Bool {
            guard index < domain.count else { throw OdooError.value("Invalid domain: an operator is missing an operand") }
            let item = domain[index]
            index += 1
            if let op = item.string {
                switch op {
                case "&": let a = try parse(); let b = try parse(); return a && b
                case "|": let a = try parse(); let b = try parse(); return a || b
                case "!": return !(try parse())
                default: throw OdooError.value("Invalid domain operator '\(op)'")
                }
            }
            return try term(item, record, model: model)
        }
        var result = true
        while index < domain.count { result = try parse() && result }
        return result
    }

    static func term(_ item: JSONValue, _ record: [String: JSONValue], model: String) throws(OdooError) -> Bool {
        guard let parts = item.array, parts.count == 3, let field = parts[0].string, let op = parts[1].string?.lowercased() else {
            throw OdooError.value("Invalid domain term \(item)")
        }
        guard operators.contains(op) else { throw OdooError.value("Invalid domain operator '\(op)' in \(item)") }
        guard field == "id" || OdooSchema.models[model]?.fields[field] != nil else {
            if field.contains(".") { throw OdooError.value("Invalid field path '\(field)': the simulator does not follow relations in domains") }
            throw OdooError.value("Invalid field \(model).\(field) in leaf \(item)")
        }
        let stored = record[field] ?? .bool(false)
        let value = parts[2]
        switch op {
        case "=": return equal(stored, value)
        case "!=", "<>": return !equal(stored, value)
        case "<": return less(stored, value)
        case ">": return less(value, stored)
        case "<=": return less(stored, value) || equal(stored, value)
        case ">=": return less(value, stored) || equal(stored, value)
        case "in", "not in":
            let options = value.array ?? [value]
            let found = options.contains { equal(stored, $0) }
            return op == "in" ? found : !found
        default:
            guard let pattern = value.string else { return false }
            let text = stored.string ?? ""
            let insensitive = op.contains("ilike")
            let subject = insensitive ? text.lowercased() : text
            let wanted = insensitive ? pattern.lowercased() : pattern
            let hit: Bool
            if op.hasPrefix("=") {
                hit = likeMatch(subject, wanted)
            } else {
                hit = wanted.isEmpty || subject.contains(wanted)
            }
            return op.hasPrefix("not") ? !hit : hit
        }
    }

    static func equal(_ stored: JSONValue, _ value: JSONValue) -> Bool {
        if value == .bool(false) { return stored.isFalsy }
        if let a = stored.number, let b = value.number { return a == b }
        return stored == value
    }

    static func less(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.number, let y = b.number { return x < y }
        if let x = a.string, let y = b.string { return x < y }
        return a.isFalsy && !b.isFalsy
    }

    /// SQL LIKE: `%` any run, `_` one character.
    static func likeMatch(_ text: String, _ pattern: String) -> Bool {
        let t = Array(text), p = Array(pattern)
        var memo: [Int: Bool] = [:]
        func match(_ i: Int, _ j: Int) -> Bool {
            let key = i * (p.count + 1) + j
            if let known = memo[key] { return known }
            let result: Bool
            if j == p.count { result = i == t.count }
            else if p[j] == "%" { result = match(i, j + 1) || (i < t.count && match(i + 1, j)) }
            else { result = i < t.count && (p[j] == "_" || p[j] == t[i]) && match(i + 1, j + 1) }
            memo[key] = result
            return result
        }
        return match(0, 0)
    }
}
