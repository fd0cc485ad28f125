import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU time spent, as opposed to wall time. This machine is a virtual one whose host takes back a share of the CPU
/// ("steal", a quarter of it in some runs), so rates per wall second move between runs of the same build; CPU time per
/// message does not, and it is what sets the ceiling: 2 cores at 10,000 messages/s leave 200 µs of CPU per message.
struct CPUUsage {
    /// User + system seconds of this process (`who: RUSAGE_SELF`) or of its waited-for children (`RUSAGE_CHILDREN`).
    static func seconds(children: Bool = false) -> Double {
        var usage = rusage()
        getrusage(children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }

    /// The machine's CPU counters from /proc/stat (all cores, in clock ticks): total and stolen.
    struct MachineSample {
        let total: Double
        let steal: Double

        static func now() -> MachineSample? {
            guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
                  let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
            let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            guard fields.count >= 8 else { return nil }
            // user nice system idle iowait irq softirq steal (guest time is already inside user).
            return MachineSample(total: fields[0..<8].reduce(0, +), steal: fields[7])
        }

        /// The share of the machine's CPU the host took back since `earlier`, 0…1.
        func stealShare(since earlier: MachineSample) -> Double {
            let total = self.total - earlier.total
            return total > 0 ? (steal - earlier.steal) / total : 0
        }
    }
}
