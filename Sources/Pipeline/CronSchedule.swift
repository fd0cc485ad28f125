import Foundation

/// A cron schedule as in crontab(5): five fields — minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
/// jan-dec), day of week (0-7 or sun-sat; 0 and 7 are Sunday) — each `*`, a value, a range `a-b`, a step `*/n` or
/// `a-b/n`, or a comma list of those; or one of @yearly @annually @monthly @weekly @daily @midnight @hourly.
/// As in Vixie cron, when both day fields are restricted a day matches if either does.
///
/// Times are wall-clock times in `timeZone` (UTC unless the flow names a zone); a local time skipped by a daylight
/// saving change does not fire that day. Written by hand because no package in reach parses cron.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    public let timeZone: TimeZone
    private let minutes: UInt64
    private let hours: UInt64
    private let daysOfMonth: UInt64
    private let months: UInt64
    private let daysOfWeek: UInt64
    private let dayOfMonthRestricted: Bool
    private let dayOfWeekRestricted: Bool

    public var description: String { expression }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }

    private static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public init(_ expression: String, timeZone: TimeZone = TimeZone(identifier: "UTC")!) throws(ParseError) {
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        let text = trimmed.hasPrefix("@") ? Self.macros[trimmed.lowercased()] : trimmed
        guard let text else {
            throw ParseError(message: "unknown macro '\(trimmed)' (expected one of \(Self.macros.keys.sorted().joined(separator: ", ")))")
        }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(message: "expected 5 fields (minute hour day-of-month month day-of-week), got \(fields.count) in '\(trimmed)'")
        }
        self.expression = trimmed
        self.timeZone = timeZone
        minutes = try Self.field(fields[0], name: "minute", range: 0...59, names: [])
        hours = try Self.field(fields[1], name: "hour", range: 0...23, names: [])
        daysOfMonth = try Self.field(fields[2], name: "day of month", range: 1...31, names: [])
        months = try Self.field(fields[3], name: "month", range: 1...12, names: Self.monthNames, namesStart: 1)
        var weekdays = try Self.field(fields[4], name: "day of week", range: 0...7, names: Self.dayNames)
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) } // 7 is Sunday too
        daysOfWeek = weekdays
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")
        guard next(after: Date(timeIntervalSince1970: 0)) != nil else {
            throw ParseError(message: "'\(trimmed)' never fires (no such date within \(Self.lookaheadYears) years)")
        }
    }

    /// Parses one field into a bit set of the values it allows.
    private static func field(_ text: String, name: String, range: ClosedRange<Int>, names: [String],
                              namesStart: Int = 0) throws(ParseError) -> UInt64 {
        func value(_ token: Substring) throws(ParseError) -> Int {
            if let number = Int(token), range.contains(number) { return number }
            if let index = names.firstIndex(of: token.lowercased()) { return index + namesStart }
            throw ParseError(message: "\(name): '\(token)' is not a value between \(range.lowerBound) and \(range.upperBound)"
                             + (names.isEmpty ? "" : " or a name (\(names.joined(separator: ", ")))"))
        }
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, !parts[0].isEmpty else { throw ParseError(message: "\(name): '\(item)' is not a value, range or step") }
            var step = 1
            if parts.count == 2 {
                guard let n = Int(parts[1]), n >= 1, n <= range.upperBound + 1 else {
                    throw ParseError(message: "\(name): step '\(parts[1])' must be a number between 1 and \(range.upperBound + 1)")
                }
                step = n
            }
            var low: Int, high: Int
            if parts[0] == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = parts[0].firstIndex(of: "-") {
                low = try value(parts[0][..<dash])
                high = try value(parts[0][parts[0].index(after: dash)...])
                guard low <= high else { throw ParseError(message: "\(name): range '\(parts[0])' runs backwards") }
            } else {
                low = try value(parts[0])
                high = parts.count == 2 ? range.upperBound : low // `a/n` means a, a+n, … to the end
            }
            for v in stride(from: low, through: high, by: step) { bits |= 1 << UInt64(v) }
        }
        return bits
    }

    static let lookaheadYears = 8

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    private func dayMatches(day: Int, weekday: Int) -> Bool {
        let byMonth = daysOfMonth & (1 << UInt64(day)) != 0
        let byWeek = daysOfWeek & (1 << UInt64(weekday - 1)) != 0 // Calendar: 1 = Sunday
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): return byMonth || byWeek
        case (true, false): return byMonth
        case (false, true): return byWeek
        case (false, false): return true
        }
    }

    /// The first firing time strictly after `date`, or nil if there is none within the lookahead.
    public func next(after date: Date) -> Date? {
        let calendar = self.calendar
        var t = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
        let limit = date.addingTimeInterval(Double(Self.lookaheadYears) * 366 * 86_400)
        while t <= limit {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: t)
            guard let month = c.month, let day = c.day, let hour = c.hour, let minute = c.minute, let weekday = c.weekday else { return nil }
            if months & (1 << UInt64(month)) == 0 {
                guard let start = calendar.date(from: DateComponents(year: c.year, month: month, day: 1)),
                      let nextMonth = calendar.date(byAdding: .month, value: 1, to: start) else { return nil }
                t = nextMonth
            } else if !dayMatches(day: day, weekday: weekday) {
                guard let nextDay = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: t)) else { return nil }
                t = nextDay
            } else if hours & (1 << UInt64(hour)) == 0 {
                guard let interval = calendar.dateInterval(of: .hour, for: t) else { return nil }
                t = interval.end
            } else if minutes & (1 << UInt64(minute)) == 0 {
                t = t.addingTimeInterval(60)
            } else {
                return t
            }
        }
        return nil
    }

    /// The latest firing time at or before `date` within `window`, or nil (for catching up a run missed while down).
    public func latest(atOrBefore date: Date, within window: TimeInterval) -> Date? {
        var found: Date?
        var t = date.addingTimeInterval(-window - 1)
        while let candidate = next(after: t), candidate <= date {
            found = candidate
            t = candidate
        }
        return found
    }
}
