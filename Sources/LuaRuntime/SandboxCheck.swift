import Foundation
import Logging

/// `conflux sandbox check`: runs one Lua file as a plugin chunk in a fresh sandbox and reports what happened.
public struct SandboxCheck: Sendable {
    public let ok: Bool
    /// The chunk's first return value as JSON (`null` when it returned nothing).
    public let resultJSON: String?
    public let error: LuaError?
    public let elapsedMilliseconds: Double
    public let instructions: Int64
    public let memoryPeakBytes: Int

    /// Exit status of the CLI: 0 ok, 3 when the script failed and was contained.
    public var exitCode: Int32 { ok ? 0 : 3 }

    public static func run(file: URL, limits: SandboxLimits, logger: Logger) async -> SandboxCheck {
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Double {
            let duration = clock.now - start
            return Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        }
        let source: [UInt8]
        do {
            source = Array(try Data(contentsOf: file))
        } catch {
            return failure(LuaError(kind: .runtime, message: "cannot read \(PluginPaths.display(file)): \(error.localizedDescription)"), elapsed())
        }
        let context = HostContext(pluginName: file.deletingPathExtension().lastPathComponent,
                                  pluginRoot: file.deletingLastPathComponent(), logger: logger)
        let state: LuaState
        do {
            state = try LuaState(limits: limits, context: context)
        } catch {
            return failure(error, elapsed())
        }
        defer { state.close() }
        do {
            let chunk = try state.compile(source: source, chunkName: PluginPaths.display(file))
            let result = try await state.run(chunk, arguments: [])
            let json: String
            switch result {
            case .json(let bytes): json = String(decoding: bytes, as: UTF8.self)
            case .nothing, .value: json = "null"
            }
            return SandboxCheck(ok: true, resultJSON: json, error: nil, elapsedMilliseconds: elapsed(),
                                instructions: state.lastInstructions, memoryPeakBytes: state.memoryPeak)
        } catch {
            return SandboxCheck(ok: false, resultJSON: nil, error: error, elapsedMilliseconds: elapsed(),
                                instructions: state.lastInstructions, memoryPeakBytes: state.memoryPeak)
        }
    }

    private static func failure(_ error: LuaError, _ elapsed: Double) -> SandboxCheck {
        SandboxCheck(ok: false, resultJSON: nil, error: error, elapsedMilliseconds: elapsed, instructions: 0, memoryPeakBytes: 0)
    }

    /// The one JSON line the CLI prints.
    public var jsonLine: String {
        if ok {
            return JSONText.object([
                ("ok", "true"), ("result", resultJSON ?? "null"),
                ("elapsed_ms", JSONText.milliseconds(elapsedMilliseconds)),
                ("instructions", String(instructions)), ("memory_peak_bytes", String(memoryPeakBytes)),
            ])
        }
        let error = error ?? LuaError(kind: .runtime, message: "unknown failure")
        return JSONText.object([
            ("ok", "false"),
            ("error", JSONText.object([
                ("kind", JSONText.string(error.kind.rawValue)), ("message", JSONText.string(error.message)),
                ("location", error.location.map(JSONText.string) ?? "null"),
            ])),
            ("elapsed_ms", JSONText.milliseconds(elapsedMilliseconds)),
        ])
    }
}
