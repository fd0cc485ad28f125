import Foundation
import Logging
@testable import Pipeline
import Store
import Testing

@Suite struct CronScheduleTests {
    static func utc(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    @Test(arguments: [
        ("*/15 * * * *", "2026-11-21T10:07:30Z", "2026-11-21T10:15:00Z"),
        ("*/15 * * * *", "2026-11-21T10:45:00Z", "2026-11-21T11:00:00Z"),
        ("0 2 * * *", "2026-11-21T02:00:00Z", "2026-11-22T02:00:00Z"),
        ("30 1 1 * *", "2026-12-15T00:00:00Z", "2027-01-01T01:30:00Z"),
        ("0 9 * jan-mar mon-fri", "2026-11-21T00:00:00Z", "2027-01-01T09:00:00Z"), // 2027-01-01 is a Friday
        ("0 0 * * 7", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"),          // 7 is Sunday
        ("0 0 * * sun", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"),
        ("0 0 13 * 5", "2026-11-14T00:00:00Z", "2026-11-20T00:00:00Z"),         // the 13th or a Friday (Vixie)
        ("0 0 29 2 *", "2026-11-21T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("5,10-12/2 3 * * *", "2026-11-21T03:10:00Z", "2026-11-21T03:12:00Z"),
        ("10/20 * * * *", "2026-11-21T03:31:00Z", "2026-11-21T03:50:00Z"),
        ("@hourly", "2026-11-21T03:00:00Z", "2026-11-21T04:00:00Z"),
        ("@weekly", "2026-11-21T03:00:00Z", "2026-11-22T00:00:00Z"),
    ])
    func nextFiringTime(expression: String, after: String, expected: String) throws {
        let cron = try CronSchedule(expression)
        #expect(cron.next(after: Self.utc(after)) == Self.utc(expected))
    }

    @Test func localTimeInAZoneAndADaylightSavingGap() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let nightly = try CronSchedule("0 2 * * *", timeZone: berlin)
        #expect(nightly.next(after: Self.utc("2026-11-21T00:00:00Z")) == Self.utc("2026-11-21T01:00:00Z")) // CET = UTC+1
        #expect(nightly.next(after: Self.utc("2026-07-01T00:30:00Z")) == Self.utc("2026-07-02T00:00:00Z")) // CEST = UTC+2
        // 02:30 does not exist in Berlin on 2026-03-29 (clocks jump from 02:00 to 03:00): that day does not fire.
        let halfPast = try CronSchedule("30 2 * * *", timeZone: berlin)
        #expect(halfPast.next(after: Self.utc("2026-03-28T12:00:00Z")) == Self.utc("2026-03-30T00:30:00Z"))
    }

    @Test(arguments: [
        ("* * * *", "expected 5 fields"),
        ("61 * * * *", "minute: '61'"),
        ("* 24 * * *", "hour: '24'"),
        ("5-1 * * * *", "runs backwards"),
        ("*/0 * * * *", "step '0'"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 * foo *", "month: 'foo'"),
        ("@reboot", "unknown macro"),
        ("1,,2 * * * *", "minute"),
    ])
    func rejectsWithAClearReason(expression: String, reason: String) {
        #expect {
            try CronSchedule(expression)
        } throws: { error in
            (error as? CronSchedule.ParseError)?.message.contains(reason) == true
        }
    }

    @Test func latestMissedRunWithinAWindow() throws {
        let cron = try CronSchedule("0 */6 * * *")
        let now = Self.utc("2026-11-21T13:05:00Z")
        #expect(cron.latest(atOrBefore: now, within: 86_400) == Self.utc("2026-11-21T12:00:00Z"))
        #expect(cron.latest(atOrBefore: now, within: 60) == nil)
        #expect(cron.latest(atOrBefore: Self.utc("2026-11-21T12:00:00Z"), within: 60) == Self.utc("2026-11-21T12:00:00Z"))
    }
}

@Suite struct FlowScheduleTests {
    static let flow = """
        name: odoo-sync
        source:
          plugin: clinic-webhook
          content_types: [application/json]
        routes:
          - event: appointment.completed
            connector: odoo
        schedules:
          - name: nightly-reconcile
            cron: "0 2 * * *"
            timezone: Europe/Berlin
            plugin: odoo
            hook: reconcile
        """

    static func exists(_ name: String) -> Bool { ["clinic-webhook", "odoo"].contains(name) }

    @Test func parsesSchedules() throws {
        let flow = try FlowLoader.parse(Self.flow, file: "flows/odoo.yaml", pluginExists: Self.exists).get()
        let schedule = try #require(flow.schedules.first)
        #expect(schedule.name == "nightly-reconcile" && schedule.plugin == "odoo" && schedule.hook == "reconcile")
        #expect(schedule.cron.timeZone.identifier == "Europe/Berlin")
    }

    @Test func badSchedulesNameFileLineAndField() {
        let text = Self.flow
            .replacingOccurrences(of: "\"0 2 * * *\"", with: "\"0 25 * * *\"")
            .replacingOccurrences(of: "Europe/Berlin", with: "Mars/Olympus")
            .replacingOccurrences(of: "plugin: odoo\n    hook: reconcile", with: "plugin: mailer\n    hook: sync")
        guard case .failure(let failure) = FlowLoader.parse(text, file: "flows/odoo.yaml", pluginExists: Self.exists) else {
            Issue.record("accepted")
            return
        }
        let shown = failure.problems.map(\.description)
        #expect(shown.contains { $0.hasPrefix("flows/odoo.yaml:10: schedules[0].cron:") && $0.contains("hour: '25'") }, "\(shown)")
        #expect(shown.contains { $0.hasPrefix("flows/odoo.yaml:11: schedules[0].timezone:") && $0.contains("Mars/Olympus") }, "\(shown)")
        #expect(shown.contains { $0.hasPrefix("flows/odoo.yaml:12: schedules[0].plugin:") && $0.contains("not this flow's source") }, "\(shown)")
        #expect(shown.contains { $0.hasPrefix("flows/odoo.yaml:13: schedules[0].hook:") && $0.contains("poll or reconcile") }, "\(shown)")
    }

    /// A mapping of the flow may be polled (its ledger is its own): patient-reminders finds the appointments due.
    @Test func aMappingOfTheFlowMayBeScheduled() throws {
        let text = Self.flow
            .replacingOccurrences(of: "    connector: odoo\n", with: "    mappings: [reminders]\n    connector: odoo\n")
            .replacingOccurrences(of: "plugin: odoo\n    hook: reconcile", with: "plugin: reminders\n    hook: poll")
        let flow = try FlowLoader.parse(text, file: "flows/odoo.yaml", pluginExists: { Self.exists($0) || $0 == "reminders" }).get()
        #expect(flow.schedules.first?.plugin == "reminders" && flow.schedules.first?.hook == "poll")
    }

    /// The scheduler enqueues the run missed while down, once: a restart finds it already enqueued.
    @Test func catchesUpAMissedRunOnceAcrossRestarts() async throws {
        let flow = try FlowLoader.parse(Self.flow.replacingOccurrences(of: "0 2 * * *", with: "* * * * *"),
                                        file: "flows/odoo.yaml", pluginExists: Self.exists).get()
        let store = MemoryMessageStore()
        for _ in 0..<2 {
            let scheduler = FlowScheduler(flows: [flow], logger: Logger(label: "test")) { try await store.enqueue([$0])[0] }
            let task = Task { try await scheduler.run() }
            let deadline = Date().addingTimeInterval(5)
            while try await store.counts()[.ready] == nil, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(50))
            task.cancel()
            _ = try? await task.value
        }
        let queued = try await store.list(MessageFilter(status: .ready, limit: 10))
        // Two runs if the minute turned between the two starts; never two for the same due time.
        #expect((1...2).contains(queued.count))
        #expect(Set(queued.compactMap(\.idempotencyKey)).count == queued.count)
        let run = try #require(queued.first.flatMap(ScheduledRun.of))
        #expect(run.schedule == "nightly-reconcile" && run.plugin == "odoo" && run.hook == "reconcile" && run.flow == "odoo-sync")
        #expect(queued.first?.source == "clinic-webhook")
    }
}
