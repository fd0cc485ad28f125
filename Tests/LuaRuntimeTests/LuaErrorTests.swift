import Testing
@testable import LuaRuntime

@Suite struct LuaErrorTests {
    @Test func splitsLocationFromMessage() {
        let split = LuaError.splitLocation("plugins/odoo/plugin.lua:12: attempt to index a nil value")
        #expect(split.location == "plugins/odoo/plugin.lua:12")
        #expect(split.message == "attempt to index a nil value")
    }

    @Test func keepsMessagesWithoutLocation() {
        let split = LuaError.splitLocation("not enough memory")
        #expect(split.location == nil)
        #expect(split.message == "not enough memory")
    }

    @Test func kindsRoundTripThroughTheirCodes() {
        for name in ["permission", "cpu", "memory", "stack", "limit", "runtime", "syntax"] {
            #expect(LuaError.Kind(rawValue: name)?.rawValue == name)
        }
        #expect(LuaError.Kind(rawValue: "other") == nil)
    }
}
