import Foundation
import Logging

/// `conflux bench map`: the production path per message — decode the input bytes into Lua, call `map` under the
/// limits, encode the result to JSON bytes — measured in a loop on one state.
public struct MapBenchmark: Sendable {
    public let messages: Int
    public let seconds: Double
    public let latencyP50Microseconds: Double
    public let latencyP99Microseconds: Double
    public let instructionsPerMessage: Int64
    public let memoryPeakBytes: Int
    public let outputBytes: Int

    public var throughput: Double { Double(messages) / seconds }

    public static func run(mapFile: URL, input: [UInt8], seconds: Double, limits: SandboxLimits, limitsEnabled: Bool,
                           logger: Logger) throws(LuaError) -> MapBenchmark {
        let source: [UInt8]
        do { source = Array(try Data(contentsOf: mapFile)) } catch {
            throw LuaError(kind: .runtime, message: "cannot read \(PluginPaths.display(mapFile))")
        }
        let context = HostContext(pluginName: mapFile.deletingPathExtension().lastPathComponent,
                                  pluginRoot: mapFile.deletingLastPathComponent(), logger: logger)
        let state = try LuaState(limits: limits, limitsEnabled: limitsEnabled, context: context)
        defer { state.close() }
        let chunk = try state.compile(source: source, chunkName: PluginPaths.display(mapFile))
        guard case .value(let table) = try state.runSynchronously(chunk, arguments: [], resultMode: .keep) else {
            throw LuaError(kind: .runtime, message: "\(PluginPaths.display(mapFile)) must return a table with a map function")
        }
        guard let map = try state.functionFields(of: table, names: ["map"])["map"] else {
            throw LuaError(kind: .runtime, message: "\(PluginPaths.display(mapFile)) returned no 'map' function")
        }
        let contextJSON = Array(#"{"plugin":"bench"}"#.utf8)
        // Warm up (JIT-free Lua still benefits: string interning, table shapes, allocator).
        var outputBytes = 0
        for _ in 0..<200 {
            if case .json(let out) = try state.runSynchronously(map, arguments: [.json(input), .json(contextJSON)]) {
                outputBytes = out.count
            }
        }
        var latencies: [UInt64] = []
        latencies.reserveCapacity(1 << 20)
        var instructions: Int64 = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let end = start + UInt64(seconds * 1e9)
        var now = start
        while now < end {
            let before = now
            _ = try state.runSynchronously(map, arguments: [.json(input), .json(contextJSON)])
            now = DispatchTime.now().uptimeNanoseconds
            latencies.append(now - before)
            instructions += state.lastInstructions
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
        }
        return MapBenchmark(
            messages: latencies.count, seconds: Double(now - start) / 1e9,
            latencyP50Microseconds: percentile(0.5), latencyP99Microseconds: percentile(0.99),
            instructionsPerMessage: latencies.isEmpty ? 0 : instructions / Int64(latencies.count),
            memoryPeakBytes: state.memoryPeak, outputBytes: outputBytes)
    }
}
