/// Splits the JSON a source's `decode` returned — an array of event objects, as the sandbox's JSON encoder wrote it —
/// into each event's bytes and its top-level `"type"` string, without building Foundation objects.
///
/// Written by hand because this runs for every message and Foundation's JSON round trip (parse, then re-serialise
/// each event with sorted keys) showed in the pipeline's profile; the bytes are passed on to the mapping unchanged.
/// The input is valid JSON (the sandbox encoder produced it); anything unexpected returns nil and the caller reports a
/// contract error.
import Foundation

enum EventListScanner {
    struct Event {
        let bytes: ArraySlice<UInt8>
        /// The string value of the object's top-level "type" key; nil when absent or not a string.
        let type: String?
    }

    static func scan(_ json: [UInt8]) -> [Event]? {
        var i = skipSpace(json, 0)
        if matches(json, i, "null") { return [] }
        guard i < json.count, json[i] == UInt8(ascii: "[") else { return nil }
        i = skipSpace(json, i + 1)
        var events: [Event] = []
        if i < json.count, json[i] == UInt8(ascii: "]") { return [] }
        while i < json.count {
            let start = i
            guard let end = skipValue(json, i) else { return nil }
            events.append(Event(bytes: json[start..<end], type: json[start] == UInt8(ascii: "{") ? topLevelType(json, start, end) : nil))
            i = skipSpace(json, end)
            guard i < json.count else { return nil }
            if json[i] == UInt8(ascii: "]") { return skipSpace(json, i + 1) == json.count ? events : nil }
            guard json[i] == UInt8(ascii: ",") else { return nil }
            i = skipSpace(json, i + 1)
        }
        return nil
    }

    private static func matches(_ json: [UInt8], _ i: Int, _ word: String) -> Bool {
        let bytes = Array(word.utf8)
        return i + bytes.count <= json.count && Array(json[i..<i + bytes.count]) == bytes
    }

    private static func skipSpace(_ json: [UInt8], _ i: Int) -> Int {
        var i = i
        while i < json.count, json[i] == 0x20 || json[i] == 0x0A || json[i] == 0x0D || json[i] == 0x09 { i += 1 }
        return i
    }

    /// The index after the string starting at `i` (a quote).
    private static func skipString(_ json: [UInt8], _ i: Int) -> Int? {
        var i = i + 1
        while i < json.count {
            switch json[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): return i + 1
            default: i += 1
            }
        }
        return nil
    }

    /// The index after the value starting at `i`.
    private static func skipValue(_ json: [UInt8], _ i: Int) -> Int? {
        guard i < json.count else { return nil }
        switch json[i] {
        case UInt8(ascii: "\""):
            return skipString(json, i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var j = i
            while j < json.count {
                switch json[j] {
                case UInt8(ascii: "\""):
                    guard let next = skipString(json, j) else { return nil }
                    j = next
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return j + 1 }
                default: break
                }
                j += 1
            }
            return nil
        default: // number, true, false, null
            var j = i
            while j < json.count, !",]} \n\r\t".utf8.contains(json[j]) { j += 1 }
            return j > i ? j : nil
        }
    }

    /// Finds `"type": "…"` among the object's own keys (not nested ones) and decodes the string.
    private static func topLevelType(_ json: [UInt8], _ start: Int, _ end: Int) -> String? {
        var i = skipSpace(json, start + 1)
        while i < end, json[i] == UInt8(ascii: "\"") {
            guard let keyEnd = skipString(json, i) else { return nil }
            let key = json[(i + 1)..<(keyEnd - 1)]
            i = skipSpace(json, keyEnd)
            guard i < end, json[i] == UInt8(ascii: ":") else { return nil }
            i = skipSpace(json, i + 1)
            guard let valueEnd = skipValue(json, i) else { return nil }
            if key.elementsEqual("type".utf8) {
                guard json[i] == UInt8(ascii: "\"") else { return nil }
                let raw = json[(i + 1)..<(valueEnd - 1)]
                // Event types are plain identifiers; one with escapes is decoded properly, slowly.
                if !raw.contains(UInt8(ascii: "\\")) { return String(decoding: raw, as: UTF8.self) }
                return (try? JSONSerialization.jsonObject(with: Data(json[i..<valueEnd]), options: .fragmentsAllowed)) as? String
            }
            i = skipSpace(json, valueEnd)
            if i < end, json[i] == UInt8(ascii: ",") { i = skipSpace(json, i + 1) }
        }
        return nil
    }
}
