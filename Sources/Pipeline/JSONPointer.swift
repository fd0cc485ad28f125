/// RFC 6901 JSON pointers over values from JSONSerialization (`/appointment/id`, `/lines/0/code`).
enum JSONPointer {
    static func resolve(_ pointer: String, in document: Any) -> Any? {
        guard pointer.hasPrefix("/") else { return pointer.isEmpty ? document : nil }
        var current: Any = document
        for rawToken in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = rawToken.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let object = current as? [String: Any], let next = object[token] {
                current = next
            } else if let array = current as? [Any], let index = Int(token), array.indices.contains(index) {
                current = array[index]
            } else {
                return nil
            }
        }
        return current
    }
}
