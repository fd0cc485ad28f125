import Formats

/// `x12.parse(text)`: the host's strict X12 5010 parser (Sources/Formats) reached from Lua. Parsing is byte scanning
/// with positions kept for errors — work a plugin should not redo in Lua, both for speed and so every plugin reports a
/// malformed interchange the same way.
///
/// Returns the interchange as a table (see README, "Host modules"), or `nil, message, details` where message names the
/// segment and element ("segment 5 (CLP) element CLP02: …") and details is `{segment=, segment_id=, element=}`.
extension HostModules {
    /// The largest interchange a plugin may hand over (an 835 for a large payer can be several MB; the ingest body limit
    /// is usually smaller).
    static let maxX12Bytes = 32 << 20

    static func x12Parse(_ call: borrowing HostCall) -> HostOutcome {
        guard case .success(let bytes) = call.string(1) else { return .error("x12.parse: expected the interchange as a string") }
        guard bytes.count <= maxX12Bytes else {
            return .error("x12.parse: interchange of \(bytes.count) bytes exceeds \(maxX12Bytes)")
        }
        let interchange: X12Interchange
        do {
            interchange = try X12Interchange.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            let details = JSONText.object([
                ("segment", String(error.segmentPosition)), ("segment_id", JSONText.string(error.segmentID)),
                ("element", error.element.map(String.init) ?? "null"), ("message", JSONText.string(error.message)),
            ])
            return .values([.nil, .text(error.description), .json(Array(details.utf8))])
        }
        return .values([.json(Array(x12JSON(interchange).utf8))])
    }

    static func x12JSON(_ interchange: X12Interchange) -> String {
        let separators = interchange.separators
        func segmentJSON(_ segment: X12Interchange.Segment) -> String {
            let values = segment.elements.map { JSONText.string($0.first?.first ?? "") }
            let elements = segment.elements.map { repetitions in
                "[" + repetitions.map { "[" + $0.map(JSONText.string).joined(separator: ",") + "]" }.joined(separator: ",") + "]"
            }
            return JSONText.object([
                ("id", JSONText.string(segment.id)), ("position", String(segment.position)),
                ("values", "[" + values.joined(separator: ",") + "]"), ("elements", "[" + elements.joined(separator: ",") + "]"),
            ])
        }
        let groups = interchange.groups.map { group in
            JSONText.object([
                ("code", JSONText.string(group.functionalCode)), ("control", JSONText.string(group.controlNumber)),
                ("version", JSONText.string(group.version)),
                ("transactions", "[" + group.transactions.map { transaction in
                    JSONText.object([
                        ("code", JSONText.string(transaction.code)), ("control", JSONText.string(transaction.controlNumber)),
                        ("segments", "[" + transaction.segments.map(segmentJSON).joined(separator: ",") + "]"),
                    ])
                }.joined(separator: ",") + "]"),
            ])
        }
        return JSONText.object([
            ("sender", JSONText.string(interchange.senderID)), ("receiver", JSONText.string(interchange.receiverID)),
            ("control", JSONText.string(interchange.controlNumber)), ("usage", JSONText.string(interchange.usage)),
            ("separators", JSONText.object([
                ("element", JSONText.string(String(separators.element))), ("component", JSONText.string(String(separators.component))),
                ("repetition", separators.repetition.map { JSONText.string(String($0)) } ?? "null"),
                ("segment", JSONText.string(String(separators.segment))),
            ])),
            ("groups", "[" + groups.joined(separator: ",") + "]"),
        ])
    }
}
