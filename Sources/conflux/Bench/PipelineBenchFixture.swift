import Foundation

/// The plugins and flow `conflux bench pipeline` runs: a JSON source, the appointment → invoice mapping of
/// `bench/appointment_map.lua`, and a connector that POSTs each operation to the loopback sink with its idempotency key.
struct PipelineBenchFixture {
    let folder: URL
    var plugins: URL { folder.appendingPathComponent("plugins") }
    var flows: URL { folder.appendingPathComponent("flows") }
    var catalog: URL { folder.appendingPathComponent("catalog") }
    var data: URL { folder.appendingPathComponent("data") }

    init(root: URL, sinkPort: Int, concurrency: Int, ordered: Bool) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-bench-pipeline-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try write("plugins/bench-source/plugin.lua", """
            local json = require("json")
            return { kind = "source", decode = function(payload) return { json.decode(payload) } end }
            """)
        try write("plugins/bench-map/appointment_map.lua",
                  String(decoding: try Data(contentsOf: root.appendingPathComponent("bench/appointment_map.lua")), as: UTF8.self))
        try write("plugins/bench-map/plugin.lua", """
            local m = require("appointment_map")
            return { kind = "mapping", map = m.map }
            """)
        try write("plugins/bench-sink/plugin.lua", """
            local http, conflux = require("http"), require("conflux")
            return { kind = "connector", deliver = function(op, ctx)
              local res = http.request{ method = "POST", url = "http://127.0.0.1:\(sinkPort)/invoices", json = op,
                                        headers = { ["Idempotency-Key"] = op.external_id }, timeout_ms = 10000 }
              if res.status ~= 200 then error(conflux.permanent("sink answered " .. res.status)) end
              return res.json
            end }
            """)
        try write("catalog/bench-sink.yaml", """
            name: bench-sink
            egress:
              - url: http://127.0.0.1:\(sinkPort)
                allow_private: true
            """)
        try write("flows/bench.yaml", """
            name: bench
            source:
              plugin: bench-source
              content_types: [application/json]
              max_body_bytes: 65536
            \(ordered ? "  ordering_key: /appointment/id" : "")
            routes:
              - event: appointment.completed
                mappings: [bench-map]
                connector: bench-sink
            concurrency: \(concurrency)
            """)
    }

    func write(_ path: String, _ text: String) throws {
        let url = folder.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// The n-th distinct event: the sample appointment with its ids made unique.
    static func event(_ template: String, _ n: Int) -> [UInt8] { EventTemplate(template).event(n) }
}

/// The sample event cut at its two ids, so the load generator builds each distinct event by concatenation (string
/// replacement per request showed in the benchmark's own profile).
struct EventTemplate: Sendable {
    private let parts: [[UInt8]]

    init(_ template: String) {
        var parts: [[UInt8]] = []
        var rest = Substring(template)
        for marker in ["evt-20261121-000417", "APT-88231"] {
            if let range = rest.range(of: marker) {
                parts.append(Array(rest[..<range.lowerBound].utf8))
                rest = rest[range.upperBound...]
            }
        }
        parts.append(Array(rest.utf8))
        self.parts = parts
    }

    func event(_ n: Int) -> [UInt8] {
        let ids = ["evt-bench-\(n)", "APT-\(n)"]
        var bytes = parts[0]
        for (index, part) in parts.dropFirst().enumerated() {
            bytes += Array(ids[index].utf8)
            bytes += part
        }
        return bytes
    }
}
