import Foundation
@testable import Pipeline
import Testing

@Suite struct FlowLoaderTests {
    static let plugins: Set = ["clinic-webhook", "appointment-invoice", "odoo"]
    static func exists(_ name: String) -> Bool { plugins.contains(name) }

    static let valid = """
        name: clinic-billing
        description: Completed appointments become posted invoices in Odoo.
        source:
          plugin: clinic-webhook
          content_types: [application/json]
          max_body_bytes: 65536
          idempotency_headers: [webhook-id]
          ordering_key: /appointment/id
        routes:
          - event: appointment.completed
            mappings: [appointment-invoice]
            connector: odoo
        concurrency: 8
        retry:
          max_attempts: 5
          base_delay_ms: 200
          max_delay_ms: 30000
          max_age_s: 3600
        """

    @Test func anEventMayReachOneConnectorThroughDifferentMappingsButNotTheSameChainTwice() throws {
        let twoMappings = Self.valid.replacingOccurrences(of: "concurrency: 8", with: """
              - event: appointment.completed
                mappings: [supply-demand]
                connector: odoo
            concurrency: 8
            """)
        let exists: (String) -> Bool = { Self.exists($0) || $0 == "supply-demand" }
        let flow = try FlowLoader.parse(twoMappings, file: "f.yaml", pluginExists: exists).get()
        #expect(flow.routes.map(\.mappings) == [["appointment-invoice"], ["supply-demand"]])
        let copied = twoMappings.replacingOccurrences(of: "[supply-demand]", with: "[appointment-invoice]")
        guard case .failure(let failure) = FlowLoader.parse(copied, file: "f.yaml", pluginExists: exists) else { Issue.record("accepted"); return }
        #expect(failure.problems.map(\.description).contains { $0.contains("routed through appointment-invoice to odoo twice") }, "\(failure.problems)")
    }

    @Test func parsesAValidFlow() throws {
        let flow = try FlowLoader.parse(Self.valid, file: "catalog/flows/clinic-billing.yaml", pluginExists: Self.exists).get()
        #expect(flow.name == "clinic-billing")
        #expect(flow.source.plugin == "clinic-webhook")
        #expect(flow.source.contentTypes == ["application/json"])
        #expect(flow.source.maxBodyBytes == 65536)
        #expect(flow.source.idempotencyHeaders == ["webhook-id"])
        #expect(flow.source.orderingKey == "/appointment/id")
        #expect(flow.routes == [FlowDefinition.Route(event: "appointment.completed", mappings: ["appointment-invoice"], connector: "odoo")])
        #expect(flow.concurrency == 8)
        #expect(flow.retry == FlowDefinition.RetryPolicy(maxAttempts: 5, baseDelayMilliseconds: 200, maxDelayMilliseconds: 30000, maxAgeSeconds: 3600))
    }

    @Test(arguments: [
        ("connector: odoo", "connector: odo", "12: routes[0].connector: no plugin 'odo'"),
        ("concurrency: 8", "concurency: 8", "13: concurency: unknown key"),
        ("max_attempts: 5", "max_attempts: 0", "15: retry.max_attempts: expected an integer between 1 and 100"),
        ("event: appointment.completed", "event: Completed", "10: routes[0].event: expected an event type"),
        ("[application/json]", "[json]", "5: source.content_types[0]: expected media types"),
        ("ordering_key: /appointment/id", "ordering_key: appointment.id", "8: source.ordering_key: expected a JSON pointer"),
    ])
    func problemsNameFileLineAndField(original: String, replacement: String, expected: String) throws {
        let text = Self.valid.replacingOccurrences(of: original, with: replacement)
        guard case .failure(let problems) = FlowLoader.parse(text, file: "catalog/flows/x.yaml", pluginExists: Self.exists) else {
            Issue.record("accepted: \(replacement)")
            return
        }
        let rendered = problems.description
        let parts = expected.split(separator: ": ", maxSplits: 1)
        let field = String(parts[1])
        #expect(rendered.contains("catalog/flows/x.yaml:"), "\(rendered)")
        #expect(rendered.contains(field), "\(rendered)")
        if let line = parts[0].split(separator: ":").first.flatMap({ Int($0) }) {
            #expect(rendered.contains("x.yaml:\(line):"), "\(rendered)")
        }
    }

    @Test func missingRequiredFieldsAreAllReported() {
        guard case .failure(let problems) = FlowLoader.parse("description: nothing else\n", file: "f.yaml", pluginExists: Self.exists) else {
            Issue.record("accepted an empty flow")
            return
        }
        let fields = problems.problems.map(\.field)
        #expect(fields.contains("name") && fields.contains("source") && fields.contains("routes"), "\(fields)")
    }

    @Test func twoFlowsMayNotShareASource() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("flows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(Self.valid.utf8).write(to: folder.appendingPathComponent("a.yaml"))
        try Data(Self.valid.replacingOccurrences(of: "name: clinic-billing", with: "name: other").utf8).write(to: folder.appendingPathComponent("b.yaml"))
        #expect { _ = try FlowLoader.load(directory: folder, pluginExists: Self.exists) } throws: { error in
            "\(error)".contains("source.plugin") && "\(error)".contains("one flow per source")
        }
    }
}
