import Foundation

// What the process itself measured: peak resident set size and time since start (Linux /proc).

/// Peak resident set size of this process (`VmHWM` in /proc/self/status), bytes; nil where unavailable.
func peakResidentBytes() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
    return kib * 1024
}

/// Seconds since this process started (`starttime` in /proc/self/stat against /proc/uptime, both since
/// boot, in clock ticks of 10 ms), so start-up counts loading the binary and its libraries too; nil
/// where unavailable.
func secondsSinceProcessStart() -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
          let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
          let now = Double(uptime.split(separator: " ").first ?? ""),
          let afterName = stat.range(of: ") ", options: .backwards) else { return nil }
    // fields after "pid (comm) ": state is field 3, starttime field 22
    let fields = stat[afterName.upperBound...].split(separator: " ")
    guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
    return now - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
}
