import Egress
import Foundation
import Testing

/// The egress lists of catalog manifests: accepted forms, and errors pinned to file:line:field.
@Suite struct EgressManifestTests {
    static func problems(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [EgressManifest.Problem] {
        switch EgressManifest.parse(text, file: "catalog/odoo.yaml") {
        case .success(let (name, policy)):
            Issue.record("expected problems, got \(name): \(policy.rules)", sourceLocation: sourceLocation)
            return []
        case .failure(let failure):
            return failure.problems
        }
    }

    @Test func acceptsOriginsAndMappings() throws {
        let text = """
            name: odoo
            owner: integrations-team
            egress:
              - https://odoo.example.com
              - https://API.example.com:8443/
              - url: http://127.0.0.1:8069
                allow_private: true
              - url: http://partner.example.org
                allow_private: false
            """
        let (name, policy) = try EgressManifest.parse(text, file: "catalog/odoo.yaml").get()
        #expect(name == "odoo")
        #expect(policy.rules == [
            try EgressRule(origin: "https://odoo.example.com"),
            try EgressRule(origin: "https://api.example.com:8443"),
            try EgressRule(origin: "http://127.0.0.1:8069", allowPrivate: true),
            try EgressRule(origin: "http://partner.example.org"),
        ])
        #expect(policy.rules.map(\.description) == [
            "https://odoo.example.com:443", "https://api.example.com:8443",
            "http://127.0.0.1:8069 (private addresses allowed)", "http://partner.example.org:80",
        ])
    }

    @Test func readsRateLimitsAndCircuitsWithDefaults() throws {
        let text = """
            name: odoo
            egress:
              - url: https://odoo.example.com
                rate_limit: { per_second: 20, burst: 40 }
                circuit: { failure_rate: 0.25, min_requests: 10, window_s: 60, open_s: 0.5, half_open_probes: 1 }
              - url: https://api.example.com
                rate_limit:
                  per_second: 2.5
                circuit:
                  open_s: 120
              - https://plain.example.com
            """
        let (_, policy) = try EgressManifest.parse(text, file: "catalog/odoo.yaml").get()
        try #require(policy.rules.count == 3)
        #expect(policy.rules[0].rateLimit == RateLimit(perSecond: 20, burst: 40))
        #expect(policy.rules[0].circuit == CircuitSettings(failureRate: 0.25, minRequests: 10, window: .seconds(60),
                                                           openDuration: .milliseconds(500), halfOpenProbes: 1))
        #expect(policy.rules[1].rateLimit == RateLimit(perSecond: 2.5, burst: 3))
        #expect(policy.rules[1].circuit == CircuitSettings(openDuration: .seconds(120)))
        // Without settings: no rate limit, the standard circuit.
        #expect(policy.rules[2].rateLimit == nil)
        #expect(policy.rules[2].circuit == .standard)
        #expect(CircuitSettings.standard == CircuitSettings(failureRate: 0.5, minRequests: 20, window: .seconds(30),
                                                            openDuration: .seconds(30), halfOpenProbes: 3))
    }

    @Test func aManifestWithoutEgressMayCallNothing() throws {
        let (name, policy) = try EgressManifest.parse("name: quiet\nowner: someone\n", file: "catalog/quiet.yaml").get()
        #expect(name == "quiet")
        #expect(policy == .none)
    }

    @Test(arguments: [
        // (manifest, line, field, words the message must contain)
        ("name: odoo\negress:\n  - https://odoo.example.com\n  - https://h/x\n", 4, "egress[1]", "without path"),
        ("name: odoo\negress:\n  - https://user:pw@odoo.example.com\n", 3, "egress[0]", "credentials"),
        ("name: odoo\negress:\n  - https://odoo.example.com?x=1\n", 3, "egress[0]", "without path, query"),
        ("name: odoo\negress:\n  - ftp://odoo.example.com\n", 3, "egress[0]", "not an http(s) origin"),
        ("name: odoo\negress:\n  - url: http://10.0.0.5\n    allow_private: maybe\n", 4, "egress[0].allow_private", "true or false"),
        ("name: odoo\negress:\n  - url: http://10.0.0.5\n    port: 8080\n", 4, "egress[0].port", "unknown key"),
        ("name: odoo\negress:\n  - allow_private: true\n", 3, "egress[0].url", "missing"),
        ("name: odoo\negress: https://odoo.example.com\n", 2, "egress", "a list"),
        ("name: odoo\negress:\n  - [https://odoo.example.com]\n", 3, "egress[0]", "expected an origin"),
        ("owner: someone\negress:\n  - https://odoo.example.com\n", 1, "name", "missing"),
        ("name: ''\n", 1, "name", "missing"),
        ("- just\n- a list\n", 1, "(file)", "mapping"),
        ("name: [unclosed\n", 1, "(file)", "not valid YAML"),
        ("name: odoo\negress:\n  - https://odoo.example.com\n  - https://ODOO.example.com:443\n", 4, "egress[1]", "listed twice"),
        // rate_limit and circuit
        ("name: odoo\negress:\n  - url: https://h\n    rate_limit: 20\n", 4, "egress[0].rate_limit", "expected a mapping"),
        ("name: odoo\negress:\n  - url: https://h\n    rate_limit: { burst: 40 }\n", 4, "egress[0].rate_limit.per_second", "missing"),
        ("name: odoo\negress:\n  - url: https://h\n    rate_limit:\n      per_second: 0\n", 5, "egress[0].rate_limit.per_second", "a number from 0.001"),
        ("name: odoo\negress:\n  - url: https://h\n    rate_limit:\n      per_second: '20'\n", 5, "egress[0].rate_limit.per_second", "a number"),
        ("name: odoo\negress:\n  - url: https://h\n    rate_limit:\n      per_second: 20\n      burst: 2.5\n", 6, "egress[0].rate_limit.burst", "whole number"),
        ("name: odoo\negress:\n  - url: https://h\n    rate_limit:\n      per_second: 20\n      per_minute: 5\n", 6, "egress[0].rate_limit.per_minute", "unknown key"),
        ("name: odoo\negress:\n  - url: https://h\n    circuit: on\n", 4, "egress[0].circuit", "expected a mapping"),
        ("name: odoo\negress:\n  - url: https://h\n    circuit:\n      failure_rate: 1.5\n", 5, "egress[0].circuit.failure_rate", "from 0.01 to 1"),
        ("name: odoo\negress:\n  - url: https://h\n    circuit:\n      min_requests: 0\n", 5, "egress[0].circuit.min_requests", "whole number from 1"),
        ("name: odoo\negress:\n  - url: https://h\n    circuit:\n      open_s: -1\n", 5, "egress[0].circuit.open_s", "a number"),
        ("name: odoo\negress:\n  - url: https://h\n    circuit:\n      window_s: forever\n", 5, "egress[0].circuit.window_s", "a number"),
        ("name: odoo\negress:\n  - url: https://h\n    circuit:\n      half_open_probes: 3.5\n", 5, "egress[0].circuit.half_open_probes", "whole number"),
        ("name: odoo\negress:\n  - url: https://h\n    circuit:\n      threshold: 0.5\n", 5, "egress[0].circuit.threshold", "unknown key"),
    ])
    func reportsFileLineAndField(text: String, line: Int, field: String, words: String) {
        let problems = Self.problems(text)
        #expect(problems.count == 1, "\(problems)")
        guard let problem = problems.first else { return }
        #expect(problem.file == "catalog/odoo.yaml")
        #expect(problem.line == line, "\(problem)")
        #expect(problem.field == field, "\(problem)")
        #expect(problem.message.contains(words), "\(problem)")
        #expect(problem.description.hasPrefix("catalog/odoo.yaml:\(line): \(field): "))
    }

    @Test func reportsEveryProblemInOneManifest() {
        let text = """
            egress:
              - https://h/x
              - url: https://ok.example.com
                allow_private: perhaps
                timeout: 3
            """
        let problems = Self.problems(text)
        #expect(problems.map(\.field).sorted() == ["egress[0]", "egress[1].allow_private", "egress[1].timeout", "name"])
        #expect(problems.first { $0.field == "egress[0]" }?.line == 2)
        #expect(problems.first { $0.field == "egress[1].allow_private" }?.line == 4)
        #expect(problems.first { $0.field == "egress[1].timeout" }?.line == 5)
    }

    @Test func loadsADirectoryAndRefusesTwoManifestsForOnePlugin() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("name: odoo\negress:\n  - https://odoo.example.com\n".utf8).write(to: folder.appendingPathComponent("odoo.yaml"))
        try Data("name: epic\negress: [https://fhir.example.org]\n".utf8).write(to: folder.appendingPathComponent("epic.yml"))
        try Data("not a manifest".utf8).write(to: folder.appendingPathComponent("README.md"))
        let policies = try EgressManifest.load(directory: folder)
        #expect(policies.keys.sorted() == ["epic", "odoo"])
        #expect(policies["epic"]?.rules == [try EgressRule(origin: "https://fhir.example.org")])

        try Data("name: odoo\n".utf8).write(to: folder.appendingPathComponent("odoo-copy.yaml"))
        #expect {
            try EgressManifest.load(directory: folder)
        } throws: { error in
            let problems = (error as? EgressManifest.Problems)?.problems ?? []
            return problems.count == 1 && problems[0].field == "name" && problems[0].message.contains("two manifests")
        }
        #expect(try EgressManifest.load(directory: folder.appendingPathComponent("missing")).isEmpty)
    }
}
