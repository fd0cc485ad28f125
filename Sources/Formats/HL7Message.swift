/// One HL7 v2 message in ER7 ("pipe and hat") encoding, parsed strictly (see `HL7Message.parse`).
///
/// Values are unescaped. Every field has the same shape whatever it holds — repetitions of components of
/// subcomponents — so code reading it never has to guess whether a value was split.
public struct HL7Message: Sendable, Equatable {
    public var delimiters: HL7Delimiters
    public var segments: [HL7Segment]

    /// `MSH-9.1`, `MSH-9.2` and `MSH-9.3`: SIU, S12, SIU_S12 (the structure may be empty in older versions).
    public var messageType: String { header.value(9, component: 1) }
    public var triggerEvent: String { header.value(9, component: 2) }
    public var structure: String { header.value(9, component: 3) }
    /// `MSH-10`: unique per sending application; the key that makes a redelivery a duplicate.
    public var controlID: String { header.value(10) }
    /// `MSH-11.1`: P (production), T (training), D (debugging).
    public var processingID: String { header.value(11) }
    /// `MSH-12.1`.
    public var version: String { header.value(12) }
    public var sendingApplication: String { header.value(3) }
    public var sendingFacility: String { header.value(4) }

    /// The MSH segment (the parser guarantees it is first).
    public var header: HL7Segment { segments[0] }
}

/// The separators a message declares in MSH-1 and MSH-2.
public struct HL7Delimiters: Sendable, Equatable {
    public var field: UInt8
    public var component: UInt8
    public var repetition: UInt8
    public var escape: UInt8
    public var subcomponent: UInt8

    public static let standard = HL7Delimiters(field: UInt8(ascii: "|"), component: UInt8(ascii: "^"),
                                               repetition: UInt8(ascii: "~"), escape: UInt8(ascii: "\\"),
                                               subcomponent: UInt8(ascii: "&"))

    /// MSH-2 as it is written: component, repetition, escape, subcomponent.
    public var encodingCharacters: String {
        String(decoding: [component, repetition, escape, subcomponent], as: UTF8.self)
    }
}

public struct HL7Segment: Sendable, Equatable {
    public var id: String
    /// `fields[0]` is field 1. For MSH, field 1 is the field separator and field 2 the encoding characters, both
    /// kept literally.
    public var fields: [HL7Field]

    public init(id: String, fields: [HL7Field]) {
        self.id = id
        self.fields = fields
    }

    /// The first repetition's component and subcomponent of field `number` (1-based), or "" when absent.
    public func value(_ number: Int, repetition: Int = 1, component: Int = 1, subcomponent: Int = 1) -> String {
        guard number >= 1, number <= fields.count else { return "" }
        let repetitions = fields[number - 1].repetitions
        guard repetition >= 1, repetition <= repetitions.count else { return "" }
        let components = repetitions[repetition - 1]
        guard component >= 1, component <= components.count else { return "" }
        let subcomponents = components[component - 1]
        guard subcomponent >= 1, subcomponent <= subcomponents.count else { return "" }
        return subcomponents[subcomponent - 1]
    }
}

public struct HL7Field: Sendable, Equatable {
    /// Repetitions → components → subcomponents. An empty field is one repetition of one empty component.
    public var repetitions: [[[String]]]

    public init(repetitions: [[[String]]]) { self.repetitions = repetitions }
    public init(literal: String) { repetitions = [[[literal]]] }
}

/// What was wrong with a message and where: "segment 4 (PID) field 5: …". Segment positions count from 1 (MSH is 1).
public struct HL7Error: Error, Sendable, Equatable, CustomStringConvertible {
    public let segmentPosition: Int
    public let segmentID: String
    public let field: Int?
    public let message: String

    public var description: String {
        var text = "segment \(segmentPosition) (\(segmentID.isEmpty ? "?" : segmentID))"
        if let field { text += " field \(segmentID.isEmpty ? "" : segmentID + "-")\(field)" }
        return text + ": " + message
    }
}
