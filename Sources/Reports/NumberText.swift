import Foundation

/// 1234567 → "1,234,567".
public func formatGrouped(_ n: Int) -> String {
    let digits = String(abs(n))
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}

/// Bytes in binary units: "512 B", "3.4 KiB", "12.5 MiB", "26.1 GiB".
public func formatBytes(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = bytes
    var unit = 0
    while abs(value) >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? String(format: "%.0f B", value) : String(format: "%.1f %@", value, units[unit])
}
