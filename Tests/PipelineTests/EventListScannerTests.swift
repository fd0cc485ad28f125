@testable import Pipeline
import Testing

@Suite struct EventListScannerTests {
    static func scan(_ text: String) -> [(String, String?)]? {
        EventListScanner.scan(Array(text.utf8))?.map { (String(decoding: $0.bytes, as: UTF8.self), $0.type) }
    }

    @Test func splitsEventsAndReadsTheirOwnType() throws {
        let events = try #require(Self.scan(#"[{"data":{"type":"nested"},"type":"a.b"},{"type":"c.d","x":[1,{"y":"]"}]}, {"n":1}]"#))
        #expect(events.map(\.0) == [#"{"data":{"type":"nested"},"type":"a.b"}"#, #"{"type":"c.d","x":[1,{"y":"]"}]}"#, #"{"n":1}"#])
        #expect(events.map(\.1) == ["a.b", "c.d", nil])
    }

    @Test func decodesEscapesAndToleratesSpace() throws {
        let events = try #require(Self.scan(" [ { \"type\" : \"a\\u002eb\" , \"s\":\"q\\\"}\" } ] "))
        #expect(events.map(\.1) == ["a.b"])
    }

    @Test(arguments: ["[]", "null", " [ ] "])
    func emptyLists(text: String) { #expect(Self.scan(text)?.isEmpty == true) }

    @Test(arguments: [#"{"type":"a.b"}"#, #"[{"type":"a"}"#, #"[{"type":"a"}]x"#, "", #"["unterminated]"#, #"[{"type":"a"},]"#])
    func refusesWhatIsNotAList(text: String) { #expect(Self.scan(text) == nil) }

    @Test func aNonStringTypeIsNoType() throws {
        #expect(try #require(Self.scan(#"[{"type":7},"text",3]"#)).map(\.1) == [nil, nil, nil])
    }
}
