/// An ASC X12 interchange (5010: 837 claims, 835 remittances) parsed strictly: separators from the ISA header, every
/// segment split into elements, repetitions and components, and the envelopes (ISA/IEA, GS/GE, ST/SE) checked —
/// control numbers that must match, and the counts the trailers declare.
///
/// Written by hand: no Swift package in reach parses X12, and the work is byte scanning with positions kept for
/// errors. Facts from the X12 5010 envelope rules: ISA is fixed-width (106 bytes), byte 3 is the element separator,
/// byte 104 the component separator, byte 105 the segment terminator, ISA11 the repetition separator (5010).
public struct X12Interchange: Sendable, Equatable {
    public struct Separators: Sendable, Equatable {
        public let element: Character
        public let component: Character
        public let repetition: Character?
        public let segment: Character
    }

    /// One segment: its id and its elements (`elements[0]` is the first after the id, X12's `01`). Each element is a
    /// list of repetitions, each a list of components; a simple element is `[[value]]`.
    public struct Segment: Sendable, Equatable {
        public let id: String
        public let elements: [[[String]]]
        /// 1-based position in the interchange.
        public let position: Int

        /// Element `index` (1-based, as X12 numbers them), first repetition, first component; "" when absent.
        public func value(_ index: Int, component: Int = 1) -> String {
            guard index >= 1, index <= elements.count, let repetition = elements[index - 1].first,
                  component >= 1, component <= repetition.count else { return "" }
            return repetition[component - 1]
        }
    }

    public struct Transaction: Sendable, Equatable {
        /// ST01: 835, 837, …
        public let code: String
        public let controlNumber: String
        /// ST through SE, both included.
        public let segments: [Segment]
    }

    public struct Group: Sendable, Equatable {
        /// GS01: HP (835), HC (837), …
        public let functionalCode: String
        public let controlNumber: String
        /// GS08, e.g. 005010X221A1.
        public let version: String
        public let transactions: [Transaction]
    }

    public let separators: Separators
    public let controlNumber: String
    public let senderID: String
    public let receiverID: String
    /// ISA15: P (production) or T (test).
    public let usage: String
    public let groups: [Group]
    /// Every segment, ISA to IEA.
    public let segments: [Segment]
}

/// What is wrong with an interchange and where: the segment (position and id) and, when it is about one, the element.
public struct X12Error: Error, Sendable, Equatable, CustomStringConvertible {
    public let segmentPosition: Int
    public let segmentID: String
    /// 1-based element number (X12's `01`, `02`, …), nil when the problem is the segment as a whole.
    public let element: Int?
    public let message: String

    public var description: String {
        let place = "segment \(segmentPosition) (\(segmentID.isEmpty ? "?" : segmentID))"
            + (element.map { " element \(segmentID)\($0 < 10 ? "0" : "")\($0)" } ?? "")
        return "\(place): \(message)"
    }
}
