import Foundation

/// Original-mode acknowledgements (HL7 v2 chapter 2): what an interface engine expects back for every message.
public enum HL7AckCode: String, Sendable {
    /// AA: the message is held durably and will be processed.
    case accept = "AA"
    /// AE: not taken this time; the sender should resend (the queue is unavailable).
    case error = "AE"
    /// AR: refused; resending the same message will not help (malformed, unknown type).
    case reject = "AR"
}

/// HL7 table 0357 (message error condition codes) for the ERR segment.
public enum HL7ErrorCondition: String, Sendable {
    case segmentSequence = "100", requiredFieldMissing = "101", dataType = "102"
    case unsupportedMessageType = "200", unsupportedEvent = "201", unsupportedProcessingID = "202"
    case internalError = "207"

    var text: String {
        switch self {
        case .segmentSequence: return "Segment sequence error"
        case .requiredFieldMissing: return "Required field missing"
        case .dataType: return "Data type error"
        case .unsupportedMessageType: return "Unsupported message type"
        case .unsupportedEvent: return "Unsupported event code"
        case .unsupportedProcessingID: return "Unsupported processing id"
        case .internalError: return "Application internal error"
        }
    }
}

public enum HL7Acknowledgement {
    /// The ACK for `message` (sender and receiver swapped, same version and processing id, MSA-2 = its control id).
    /// `original` may be nil when the message could not be parsed; the ACK then says so with defaults.
    public static func build(for original: HL7Message?, code: HL7AckCode, text: String? = nil,
                             condition: HL7ErrorCondition? = nil, controlID: String = newControlID(), now: Date = Date()) -> [UInt8] {
        let d = original?.delimiters ?? .standard
        let header = original?.header
        func raw(_ number: Int) -> String {
            guard let header, number <= header.fields.count else { return "" }
            return encode(header.fields[number - 1], d)
        }
        let timestamp = Self.timestamp(now)
        let trigger = original?.triggerEvent ?? ""
        let f = String(decoding: [d.field], as: UTF8.self), c = String(decoding: [d.component], as: UTF8.self)
        var msh = ["MSH", d.encodingCharacters, raw(5), raw(6), raw(3), raw(4), timestamp, "",
                   "ACK" + (trigger.isEmpty ? "" : c + escape(trigger, d)) + c + "ACK", escape(controlID, d),
                   original.map { escape($0.processingID, d) } ?? "P", original.map { escape($0.version, d) } ?? "2.5.1"]
        while msh.last == "" { msh.removeLast() }
        var segments = [msh.joined(separator: f)]
        var msa = ["MSA", code.rawValue, escape(original?.controlID ?? "", d)]
        if let text { msa.append(escape(String(text.prefix(80)), d)) }
        segments.append(msa.joined(separator: f))
        if let condition {
            let err = ["ERR", "", "", [condition.rawValue, condition.text, "HL70357"].joined(separator: c),
                       "E", "", "", "", escape(text ?? condition.text, d)]
            segments.append(err.joined(separator: f))
        }
        return Array((segments.joined(separator: "\r") + "\r").utf8)
    }

    /// A fresh MSH-10 for an acknowledgement: "ACK" and 17 hex digits (20 characters, the field's usual length).
    public static func newControlID() -> String {
        "ACK" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(17))
    }

    /// A value with the message's delimiters written as escape sequences.
    public static func escape(_ value: String, _ d: HL7Delimiters) -> String {
        var out: [UInt8] = []
        for byte in value.utf8 {
            switch byte {
            case d.escape: out += [d.escape, UInt8(ascii: "E"), d.escape]
            case d.field: out += [d.escape, UInt8(ascii: "F"), d.escape]
            case d.component: out += [d.escape, UInt8(ascii: "S"), d.escape]
            case d.subcomponent: out += [d.escape, UInt8(ascii: "T"), d.escape]
            case d.repetition: out += [d.escape, UInt8(ascii: "R"), d.escape]
            case 0x0D, 0x0A: out += [d.escape] + Array(".br".utf8) + [d.escape]
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func encode(_ field: HL7Field, _ d: HL7Delimiters) -> String {
        let r = String(decoding: [d.repetition], as: UTF8.self), c = String(decoding: [d.component], as: UTF8.self)
        let s = String(decoding: [d.subcomponent], as: UTF8.self)
        return field.repetitions.map { components in
            components.map { $0.map { escape($0, d) }.joined(separator: s) }.joined(separator: c)
        }.joined(separator: r)
    }

    /// HL7 DTM with seconds and offset: 20260315093000+0000.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        return formatter.string(from: date) + "+0000"
    }
}
