import Foundation

/// Byte counts written for people: parsing `512MiB`, `2GiB`, `1.5GB`, and printing `1.50 GiB`.
public enum ByteSize {
    /// Unit suffixes and their multipliers: SI (powers of 1000) and IEC (powers of 1024), case-insensitive.
    static let units: [(suffix: String, multiplier: Double)] = [
        ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024), ("tib", 1024 * 1024 * 1024 * 1024),
        ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12), ("b", 1),
    ]

    /// Parses a size: a non-negative number with an optional unit (`B` when absent).
    /// - Parameters:
    ///   - text: e.g. `"512MiB"`, `"2GiB"`, `"1.5GB"`, `"4096"`.
    ///   - flag: the flag or field it came from, for the error message.
    /// - Returns: bytes, rounded down.
    /// - Throws: `OffloadingError.invalidSize`.
    public static func parse(_ text: String, flag: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        var number = Substring(trimmed)
        var multiplier = 1.0
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            number = trimmed.dropLast(unit.suffix.count)
            multiplier = unit.multiplier
            break
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value.isFinite, value >= 0,
              value * multiplier < 9e18 else {
            throw OffloadingError.invalidSize(text, flag: flag)
        }
        return Int(value * multiplier)
    }

    /// `bytes` in the largest IEC unit that keeps the number ≥ 1, two decimals: `"1.50 GiB"`, `"512 B"`.
    public static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var index = 0
        while abs(value) >= 1024 && index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return index == 0 ? "\(bytes) B" : String(format: "%.2f", value) + " " + units[index]
    }
}
