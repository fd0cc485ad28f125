import Foundation
import Testing
@testable import LuaRuntime

/// `require("hl7")`: the host parser's result as Lua sees it, and the path accessors the prelude adds.
@Suite struct HL7ModuleTests {
    static let message = #"MSH|^~\\&|SCHED|NORTH|CONFLUX|ODOO|20260315083000||SIU^S12^SIU_S12|C-17|P|2.5.1\r"#
        + #"SCH|A-100|F-9|||||||30|min|^^30^20260320093000^20260320100000||||||||||||||Booked\r"#
        + #"PID|1||MRN-1^^^NORTH^MR~555-11-2222^^^USSSA^SS||Doe^Jane^Q||19800101|F\r"#
        + #"AIS|1|A|99213^Office visit^CPT\rAIS|2|A|36415^Venipuncture^CPT\r"#

    @Test func pathsReachSegmentsRepetitionsComponentsAndSubcomponents() async throws {
        let result = try await evaluate("""
            local hl7 = require("hl7")
            local m = assert(hl7.parse("\(Self.message)"))
            local ais = hl7.segments(m, "AIS")
            return { m.type, m.event, m.structure, m.control_id, m.version, m.sending_facility,
                     hl7.get(m, "PID-5.2"), hl7.get(m, "PID-3(2)-5"), hl7.get(m, "PID-3.4"), hl7.get(m, "AIS(2)-3.1"),
                     hl7.get(m, "SCH-11.4"), hl7.get(m, "SCH-25"), hl7.get(m, "PID-40"), hl7.get(m, "ZZZ-1") == nil,
                     #ais, hl7.value(ais[1], 3, 2), hl7.get(m, "PID").id, m.segments[3].fields[5][1][1][1] }
            """)
        #expect(result == #"["SIU","S12","SIU_S12","C-17","2.5.1","NORTH","Jane","SS","NORTH","36415","20260320093000","Booked","",true,2,"Office visit","PID","Doe"]"#)
    }

    @Test func aMalformedMessageIsNilWithTheSegmentAndField() async throws {
        let result = try await evaluate(#"""
            local hl7 = require("hl7")
            local m, err, details = hl7.parse("MSH|^~\\&|A|B|C|D|1||SIU^S12|1|P|2.5\rPID|1||7||DOE^\\Q\\\r")
            return { m == nil, err, details.segment, details.segment_id, details.field }
            """#)
        #expect(result == #"[true,"segment 2 (PID) field PID-5: unsupported escape sequence '\\Q\\' (F S T R E Xhh H N .br)",2,"PID",5]"#)
    }

    @Test(arguments: ["PID-", "pid-5", "PID-5.x", "PID-5..1", "PID(0-5"])
    func aBadPathIsAnErrorNamingIt(path: String) async throws {
        await #expect { _ = try await evaluate("""
            local hl7 = require("hl7")
            return hl7.get(assert(hl7.parse("\(Self.message)")), "\(path)")
            """) } throws: { error in
            (error as? LuaError)?.message.contains("'\(path)' is not a path like PID-5.1") == true
        }
    }
}
