import Formats

/// `hl7.parse(text)`: the host's strict HL7 v2 parser (Sources/Formats) reached from Lua, for the same reasons as
/// `x12.parse`: byte scanning belongs in the host, and every plugin should report a malformed message the same way.
///
/// Returns `{type=, event=, structure=, control_id=, processing_id=, version=, sending_application=,
/// sending_facility=, segments = { {id=, fields = { field1, … }}, … }}` where every field is repetitions of components of
/// subcomponents (`fields[5][1][2][1]` is PID-5.2); the prelude adds `hl7.get(msg, "PID-5.2")` over it. On a malformed
/// message: `nil, "segment 4 (PID) field PID-5: …", {segment=, segment_id=, field=, message=}`.
extension HostModules {
    /// HL7 messages are small; a megabyte is far beyond any real scheduling or ADT message.
    static let maxHL7Bytes = 1 << 20

    static func hl7Parse(_ call: borrowing HostCall) -> HostOutcome {
        guard case .success(let bytes) = call.string(1) else { return .error("hl7.parse: expected the message as a string") }
        guard bytes.count <= maxHL7Bytes else {
            return .error("hl7.parse: message of \(bytes.count) bytes exceeds \(maxHL7Bytes)")
        }
        let message: HL7Message
        do {
            message = try HL7Message.parse(bytes)
        } catch {
            let details = JSONText.object([
                ("segment", String(error.segmentPosition)), ("segment_id", JSONText.string(error.segmentID)),
                ("field", error.field.map(String.init) ?? "null"), ("message", JSONText.string(error.message)),
            ])
            return .values([.nil, .text(error.description), .json(Array(details.utf8))])
        }
        return .values([.json(Array(hl7JSON(message).utf8))])
    }

    static func hl7JSON(_ message: HL7Message) -> String {
        func list(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
        let segments = message.segments.map { segment in
            let fields = segment.fields.map { field in
                list(field.repetitions.map { components in list(components.map { list($0.map(JSONText.string)) }) })
            }
            return JSONText.object([("id", JSONText.string(segment.id)), ("fields", list(fields))])
        }
        return JSONText.object([
            ("type", JSONText.string(message.messageType)), ("event", JSONText.string(message.triggerEvent)),
            ("structure", JSONText.string(message.structure)), ("control_id", JSONText.string(message.controlID)),
            ("processing_id", JSONText.string(message.processingID)), ("version", JSONText.string(message.version)),
            ("sending_application", JSONText.string(message.sendingApplication)),
            ("sending_facility", JSONText.string(message.sendingFacility)),
            ("segments", list(segments)),
        ])
    }
}
