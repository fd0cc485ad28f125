import Testing
@testable import LuaRuntime

@Suite struct SandboxProfileTests {
    @Test(arguments: SandboxProfile.names)
    func shippedProfilesLoad(name: String) throws {
        let loaded = try profile(name)
        #expect(loaded.name == name)
        #expect(loaded.limits.problems().isEmpty)
        #expect(loaded.limits.memoryBytes > 0 && loaded.limits.instructions > 0 && loaded.limits.cpuMilliseconds > 0)
    }

    @Test func productionIsTheTightest() throws {
        let production = try profile("production").limits, dev = try profile("dev").limits
        #expect(production.memoryBytes <= dev.memoryBytes)
        #expect(production.instructions <= dev.instructions)
        #expect(production.cpuMilliseconds <= dev.cpuMilliseconds)
    }

    @Test func unknownAndMissingKeysAreNamed() {
        let base = "name: x\nlimits:\n  memory_bytes: 1048576\n  instructions: 1\n  cpu_ms: 1\n  wall_ms: 1\n  call_depth: 1\n  string_bytes: 1\n  pattern_steps: 1\n  json_bytes: 1\n  json_depth: 1\n  hook_interval: 1\n"
        #expect(throws: Never.self) { _ = try SandboxProfile.parse(base, file: "x.yaml") }
        #expect { _ = try SandboxProfile.parse(base + "  memroy: 3\n", file: "x.yaml") } throws: {
            "\($0)".contains("x.yaml") && "\($0)".contains("limits.memroy")
        }
        #expect { _ = try SandboxProfile.parse(base.replacingOccurrences(of: "  cpu_ms: 1\n", with: ""), file: "x.yaml") } throws: {
            "\($0)".contains("missing 'limits.cpu_ms'")
        }
        #expect { _ = try SandboxProfile.parse(base.replacingOccurrences(of: "hook_interval: 1", with: "hook_interval: 0"), file: "x.yaml") } throws: {
            "\($0)".contains("hook_interval")
        }
    }
}
