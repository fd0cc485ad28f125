extension X12Interchange {
    static let isaWidths = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1]

    /// Parses one interchange. Line breaks after segment terminators are tolerated (files are often wrapped);
    /// anything else outside the envelope is an error.
    public static func parse(_ text: String) throws(X12Error) -> X12Interchange {
        let bytes = Array(text.utf8)
        func fail(_ position: Int, _ id: String, _ element: Int?, _ message: String) -> X12Error {
            X12Error(segmentPosition: position, segmentID: id, element: element, message: message)
        }
        var start = 0
        while start < bytes.count, bytes[start] == 0x0A || bytes[start] == 0x0D || bytes[start] == 0x20 { start += 1 }
        guard bytes.count - start >= 106, bytes[start] == UInt8(ascii: "I"), bytes[start + 1] == UInt8(ascii: "S"), bytes[start + 2] == UInt8(ascii: "A") else {
            throw fail(1, "ISA", nil, "an interchange starts with a 106-character ISA segment")
        }
        let elementSeparator = bytes[start + 3], componentSeparator = bytes[start + 104], segmentTerminator = bytes[start + 105]
        // ISA's fixed widths put each separator at a known place; check them before trusting the header.
        var offset = start + 3
        for (index, width) in isaWidths.enumerated() {
            // The separator after the element before this one is missing: that element has the wrong width.
            guard bytes[offset] == elementSeparator else {
                let previous = isaWidths[index - 1]
                throw fail(1, "ISA", index, "ISA is fixed-width: ISA\(index < 10 ? "0" : "")\(index) must be exactly \(previous) characters")
            }
            offset += 1 + width
        }
        let separatorBytes = [elementSeparator, componentSeparator, segmentTerminator]
        for byte in separatorBytes where isAlphanumeric(byte) || byte == 0x20 {
            throw fail(1, "ISA", nil, "separator '\(Character(UnicodeScalar(byte)))' must not be a letter, digit or space")
        }
        guard Set(separatorBytes).count == 3 else { throw fail(1, "ISA", nil, "the element, component and segment separators must differ") }
        let isa11 = bytes[start + 82]
        let version = String(decoding: bytes[(start + 84)..<(start + 89)], as: UTF8.self)
        var repetitionSeparator: UInt8?
        if version >= "00402", !isAlphanumeric(isa11), !separatorBytes.contains(isa11), isa11 != 0x20 { repetitionSeparator = isa11 }

        // Split into segments, elements, repetitions and components.
        var segments: [X12Interchange.Segment] = []
        var index = start
        while index < bytes.count {
            while index < bytes.count, bytes[index] == 0x0A || bytes[index] == 0x0D { index += 1 }
            guard index < bytes.count else { break }
            guard let end = bytes[index...].firstIndex(of: segmentTerminator) else {
                throw fail(segments.count + 1, String(decoding: bytes[index..<min(bytes.count, index + 3)], as: UTF8.self), nil,
                           "the last segment is not terminated by '\(Character(UnicodeScalar(segmentTerminator)))'")
            }
            let position = segments.count + 1
            let raw = bytes[index..<end]
            let fields = raw.split(separator: elementSeparator, omittingEmptySubsequences: false)
            let id = String(decoding: fields[0], as: UTF8.self)
            guard (2...3).contains(fields[0].count), fields[0].allSatisfy({ isUpperAlphanumeric($0) }) else {
                throw fail(position, id, nil, "'\(id)' is not a segment id (2–3 upper-case letters or digits)")
            }
            var elements: [[[String]]] = []
            for field in fields.dropFirst() {
                let repetitions: [ArraySlice<UInt8>] = (id != "ISA" && repetitionSeparator != nil)
                    ? field.split(separator: repetitionSeparator!, omittingEmptySubsequences: false) : [field]
                elements.append(repetitions.map { repetition in
                    let parts = id == "ISA" ? [repetition] : repetition.split(separator: componentSeparator, omittingEmptySubsequences: false)
                    return parts.map { String(decoding: $0, as: UTF8.self) }
                })
            }
            segments.append(X12Interchange.Segment(id: id, elements: elements, position: position))
            index = end + 1
        }
        return try envelope(segments, separators: X12Interchange.Separators(
            element: Character(UnicodeScalar(elementSeparator)), component: Character(UnicodeScalar(componentSeparator)),
            repetition: repetitionSeparator.map { Character(UnicodeScalar($0)) }, segment: Character(UnicodeScalar(segmentTerminator))))
    }

    /// Checks ISA/IEA, GS/GE and ST/SE nesting, control numbers and counts.
    private static func envelope(_ segments: [Segment], separators: Separators) throws(X12Error) -> X12Interchange {
        func fail(_ segment: Segment, _ element: Int?, _ message: String) -> X12Error {
            X12Error(segmentPosition: segment.position, segmentID: segment.id, element: element, message: message)
        }
        let isa = segments[0]
        guard isa.elements.count == 16 else { throw fail(isa, nil, "ISA has 16 elements, found \(isa.elements.count)") }
        let control = isa.value(13)
        var groups: [Group] = []
        var cursor = 1
        while cursor < segments.count, segments[cursor].id == "GS" {
            let gs = segments[cursor]
            guard gs.elements.count >= 8 else { throw fail(gs, nil, "GS has 8 elements, found \(gs.elements.count)") }
            cursor += 1
            var transactions: [Transaction] = []
            while cursor < segments.count, segments[cursor].id == "ST" {
                let st = segments[cursor]
                guard let end = segments[(cursor + 1)...].firstIndex(where: { ["SE", "ST", "GE", "IEA"].contains($0.id) }), segments[end].id == "SE" else {
                    throw fail(st, nil, "transaction set \(st.value(2)) has no SE trailer before the next ST, GE or IEA")
                }
                let se = segments[end]
                let count = end - cursor + 1
                guard let declared = Int(se.value(1)), declared == count else {
                    throw fail(se, 1, "SE01 says \(se.value(1)) segments; the transaction set has \(count) (ST through SE)")
                }
                guard se.value(2) == st.value(2) else {
                    throw fail(se, 2, "SE02 '\(se.value(2))' does not match ST02 '\(st.value(2))'")
                }
                transactions.append(Transaction(code: st.value(1), controlNumber: st.value(2), segments: Array(segments[cursor...end])))
                cursor = end + 1
            }
            guard cursor < segments.count, segments[cursor].id == "GE" else {
                let found = cursor < segments.count ? segments[cursor] : segments[segments.count - 1]
                throw fail(found, nil, "expected ST or the GE trailer of group \(gs.value(6)), found \(found.id)")
            }
            let ge = segments[cursor]
            guard Int(ge.value(1)) == transactions.count else {
                throw fail(ge, 1, "GE01 says \(ge.value(1)) transaction sets; the group has \(transactions.count)")
            }
            guard ge.value(2) == gs.value(6) else { throw fail(ge, 2, "GE02 '\(ge.value(2))' does not match GS06 '\(gs.value(6))'") }
            groups.append(Group(functionalCode: gs.value(1), controlNumber: gs.value(6), version: gs.value(8), transactions: transactions))
            cursor += 1
        }
        guard cursor < segments.count, segments[cursor].id == "IEA" else {
            let found = cursor < segments.count ? segments[cursor] : segments[segments.count - 1]
            throw fail(found, nil, "expected GS or the IEA trailer, found \(found.id)")
        }
        let iea = segments[cursor]
        guard Int(iea.value(1)) == groups.count else { throw fail(iea, 1, "IEA01 says \(iea.value(1)) groups; the interchange has \(groups.count)") }
        guard iea.value(2) == control else { throw fail(iea, 2, "IEA02 '\(iea.value(2))' does not match ISA13 '\(control)'") }
        if cursor + 1 < segments.count { throw fail(segments[cursor + 1], nil, "data after the IEA trailer") }
        return X12Interchange(separators: separators, controlNumber: control, senderID: isa.value(6).trimmingTrailingSpaces,
                              receiverID: isa.value(8).trimmingTrailingSpaces, usage: isa.value(15), groups: groups, segments: segments)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    private static func isUpperAlphanumeric(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) }
}

extension String {
    var trimmingTrailingSpaces: String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
