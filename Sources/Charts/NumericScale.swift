import Foundation

/// A numeric axis range with "nice" ticks (1, 2 or 5 × 10^k apart on a linear axis; powers of ten, with 2
/// and 5 between them when the range is short, on a log axis) and labels for them.
struct NumericScale: Equatable {
    let lower: Double
    let upper: Double
    let isLogarithmic: Bool
    let ticks: [Double]
    let labels: [String]

    /// A linear scale covering `lower…upper`, widened to whole tick steps, with at most about
    /// `maxTickCount` ticks, at least `minimumStep` apart. A zero-width range is widened around its value.
    /// With `margin` > 0 the range is instead extended by that share of its width beyond each end and no
    /// further, its ticks the whole steps inside it: values at `lower` and `upper` then lie inside the axis,
    /// off its ends, and no tick stands for a value outside the data (as matplotlib's axes margins do) —
    /// unless fewer than two ticks would fall inside (a very short axis): then it is widened as without.
    static func linear(lower: Double, upper: Double, maxTickCount: Int, minimumStep: Double = 0, margin: Double = 0) -> NumericScale {
        var lo = lower, hi = upper
        if hi <= lo {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad
            hi += pad
        }
        let step = max(niceStep((hi - lo) / Double(max(1, maxTickCount - 1))), minimumStep)
        if margin > 0 {
            let pad = (hi - lo) * margin
            let (lower, upper) = (lo - pad, hi + pad)
            // + 0 turns a tick of -0 (a range starting just below zero) into 0
            let ticks = stride(from: (lower / step).rounded(.up), through: (upper / step).rounded(.down), by: 1).map { $0 * step + 0 }
            if ticks.count >= 2 {
                return NumericScale(lower: lower, upper: upper, isLogarithmic: false, ticks: ticks,
                                    labels: TickFormat.labels(for: ticks, step: step))
            }
        }
        let first = (lo / step).rounded(.down)
        let last = (hi / step).rounded(.up)
        let ticks = stride(from: first, through: last, by: 1).map { $0 * step }
        return NumericScale(lower: first * step, upper: last * step, isLogarithmic: false, ticks: ticks,
                            labels: TickFormat.labels(for: ticks, step: step))
    }

    /// A log10 scale covering `lower…upper` (both > 0). Short ranges get ticks at 1, 2 and 5 × 10^k (also 3
    /// × 10^k when the range is within one factor of ten, so that a narrow range is not widened to several
    /// times its width) and are widened to the nearest such ticks, when those are at most `maxTickCount`;
    /// longer ones get powers of ten (every n-th when there are many) and are widened to whole decades.
    static func logarithmic(lower: Double, upper: Double, maxTickCount: Int) -> NumericScale {
        let lo = Int(log10(lower).rounded(.down))
        var hi = Int(log10(upper).rounded(.up))
        if hi <= lo { hi = lo + 1 }
        let decades = hi - lo
        let multiples: [Double] = upper <= 10 * lower ? [1, 2, 3, 5] : [1, 2, 5]
        let candidates = (lo...hi).flatMap { e in multiples.map { $0 * pow(10, Double(e)) } }
        let first = candidates.last { $0 <= lower * (1 + 1e-9) } ?? candidates[0]
        let last = candidates.first { $0 >= upper * (1 - 1e-9) } ?? candidates[candidates.count - 1]
        let ticks = candidates.filter { $0 >= first && $0 <= last }
        if ticks.count <= maxTickCount {
            return NumericScale(lower: first, upper: last, isLogarithmic: true, ticks: ticks,
                                labels: ticks.map(TickFormat.logTick))
        }
        let decadeStep = max(1, Int((Double(decades) / Double(max(1, maxTickCount - 1))).rounded(.up)))
        let powers = stride(from: lo, through: hi, by: decadeStep).map { pow(10, Double($0)) }
        return NumericScale(lower: pow(10, Double(lo)), upper: pow(10, Double(hi)), isLogarithmic: true, ticks: powers,
                            labels: powers.map(TickFormat.logTick))
    }

    /// Where `value` falls between `lower` (0) and `upper` (1); nil for NaN, or for values ≤ 0 on a log scale.
    func fraction(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        if isLogarithmic {
            guard value > 0 else { return nil }
            return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
        return (value - lower) / (upper - lower)
    }

    /// The smallest of 1, 2, 5 × 10^k that is ≥ `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, log10(raw).rounded(.down))
        for multiple in [1.0, 2, 5, 10] where multiple * magnitude >= raw * (1 - 1e-9) {
            return multiple * magnitude
        }
        return 10 * magnitude
    }
}

/// Tick and annotation number formatting.
enum TickFormat {
    private static let siPrefixes: [(factor: Double, suffix: String)] = [
        (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"),
    ]

    /// Labels for ticks `step` apart, all in one style: plain decimals with as many digits as the step
    /// needs; SI suffixes (k, M, G, T) when the largest tick is ≥ 10 000; "2×10⁻⁵" style when the step is
    /// below 10⁻⁴. Negative numbers use the minus sign "−".
    static func labels(for ticks: [Double], step: Double) -> [String] {
        let largest = ticks.map(abs).max() ?? 0
        if largest >= 1e4, let prefix = siPrefixes.first(where: { largest >= $0.factor }) {
            let digits = decimals(forStep: step / prefix.factor)
            return ticks.map { $0 == 0 ? "0" : decimal($0 / prefix.factor, digits) + prefix.suffix }
        }
        if step < 1e-4 {
            return ticks.map { scientific($0, step: step) }
        }
        let digits = decimals(forStep: step)
        return ticks.map { decimal($0, digits) }
    }

    /// A tick on a log axis: SI suffixes from 1000 up ("1k", "20k"), decimals down to 0.0001, "10⁻⁵" below.
    static func logTick(_ value: Double) -> String {
        if value >= 1000, let prefix = siPrefixes.first(where: { value >= $0.factor }) {
            return labels(for: [value / prefix.factor], step: value / prefix.factor)[0] + prefix.suffix
        }
        return labels(for: [value], step: value)[0]
    }

    /// A value with about three significant digits, trailing zeros dropped, for annotations: "0.0123",
    /// "4.56", "64", "789", "12.3k", "4.5×10⁻⁶".
    static func compact(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e4, let prefix = siPrefixes.first(where: { magnitude >= $0.factor }) {
            return compact(value / prefix.factor) + prefix.suffix
        }
        if magnitude < 1e-3 { return scientific(value, step: magnitude / 100) }
        let digits = max(0, 2 - Int(log10(magnitude).rounded(.down)))
        var text = decimal(value, digits)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// Annotations for values shown side by side (the bars of one chart), all in one style: plain decimals,
    /// the same number of them for every value, as many as the value needing most takes for two significant
    /// digits (none for whole numbers): "0.01230" beside "0.00045", "25.4" beside "3.1". When that would take
    /// more than 6 decimals, or a value is ≥ 10 000, each value's own `compact` form. Non-finite: "n/a".
    static func annotations(for values: [Double]) -> [String] {
        let magnitudes = values.filter(\.isFinite).map(abs)
        guard let largest = magnitudes.max(), largest < 1e4 else { return values.map(compact) }
        let digits = magnitudes.filter { $0 > 0 && $0 != $0.rounded() }
            .map { max(0, 1 - Int(log10($0).rounded(.down))) }.max() ?? 0
        guard digits <= 6 else { return values.map(compact) }
        return values.map { $0.isFinite ? ($0 == 0 ? "0" : decimal($0, digits)) : "n/a" }
    }

    /// An integer with thin groups of three digits: 16384 → "16,384".
    static func grouped(_ value: Int) -> String {
        let digits = String(abs(value))
        var groups: [Substring] = []
        var end = digits.endIndex
        while end > digits.startIndex {
            let start = digits.index(end, offsetBy: -3, limitedBy: digits.startIndex) ?? digits.startIndex
            groups.insert(digits[start..<end], at: 0)
            end = start
        }
        return (value < 0 ? "−" : "") + groups.joined(separator: ",")
    }

    private static func decimals(forStep step: Double) -> Int {
        max(0, -Int((log10(step) + 1e-9).rounded(.down)))
    }

    private static func decimal(_ value: Double, _ digits: Int) -> String {
        let text = String(format: "%.\(digits)f", abs(value))
        let isZero = text.allSatisfy { $0 == "0" || $0 == "." }
        return (value < 0 && !isZero ? "−" : "") + text
    }

    /// "m×10ᵉ" with the exponent of `value` and enough mantissa digits for `step`.
    private static func scientific(_ value: Double, step: Double) -> String {
        if value == 0 { return "0" }
        let exponent = Int(log10(abs(value)).rounded(.down))
        let mantissa = value / pow(10, Double(exponent))
        let digits = decimals(forStep: step / pow(10, Double(exponent)))
        let power = "10" + superscript(exponent)
        if abs(abs(mantissa) - 1) < 1e-9 { return (mantissa < 0 ? "−" : "") + power }
        return decimal(mantissa, min(digits, 3)) + "×" + power
    }

    private static func superscript(_ n: Int) -> String {
        let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        return (n < 0 ? "⁻" : "") + String(abs(n)).map { digits[Int(String($0))!] }
    }
}
