import Foundation

/// Byte counts written for people: parsing `512MiB`, `2GiB`, `1.5GB`, and printing `1.50 GiB`.
public enum ByteSize {
    /// Unit suffixes and their multipliers: SI (powers of 1000) and IEC (powers of 1024), case-insensitive.
    static let units: [(suffix: String, multiplier: Double)] = [
        ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024), ("tib", 1024 * 1024 * 1024 * 1024),
        ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12), ("b", 1),
    ]

    /// The largest size accepted, 1 EiB (2⁶⁰ bytes): beyond any machine's memory or disk, and a few such
    /// sizes still add up without overflowing `Int` (2⁶³ − 1). This project's bound, not a published one.
    public static let largest = 1 << 60

    /// Parses a size: a non-negative number with a unit, or a whole number of bytes without one. Sizes
    /// are whole bytes: a fractional number of a unit (`1.5GB`, `1.3KiB`) is rounded down to whole bytes,
    /// but a size that is not zero and rounds down to no byte at all (`0.0001KiB`, `0.5B`) is refused, as
    /// is one above `largest` however it is written (`9223372036854775807`, `1e30GB`).
    /// - Parameters:
    ///   - text: e.g. `"512MiB"`, `"2GiB"`, `"1.5GB"`, `"4096"`.
    ///   - flag: the flag or field it came from, for the error message.
    /// - Returns: bytes, rounded down.
    /// - Throws: `OffloadingError.invalidSize` (not a number, negative, or a fraction without a unit),
    ///   `.sizeBelowOneByte`, `.sizeTooLarge`.
    public static func parse(_ text: String, flag: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        var number = Substring(trimmed)
        var multiplier: Double?
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            number = trimmed.dropLast(unit.suffix.count)
            multiplier = unit.multiplier
            break
        }
        let digits = number.trimmingCharacters(in: .whitespaces)
        let wholeNumber = !digits.isEmpty && digits.allSatisfy { ("0"..."9").contains($0) }
        guard let value = Double(digits), value.isFinite, value >= 0, multiplier != nil || wholeNumber else {
            throw OffloadingError.invalidSize(text, flag: flag)
        }
        let bytes = value * (multiplier ?? 1)
        // a whole number of bytes is taken exactly (a Double holds integers exactly only up to 2⁵³: 2⁶⁰ + 1
        // would round to 2⁶⁰); past Int's range it is too large anyway
        let exact = multiplier == nil ? Int(digits) ?? Int.max : nil
        guard (exact.map { $0 <= largest } ?? (bytes <= Double(largest))) else {
            throw OffloadingError.sizeTooLarge(text, flag: flag, largest: largest)
        }
        guard bytes == 0 || bytes >= 1 else { throw OffloadingError.sizeBelowOneByte(text, flag: flag) }
        return exact ?? Int(bytes)
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
