import Foundation

/// One figure measured on several prompts (or machines, cells): the mean with the lowest and highest value.
/// NaN for all three when there is no value.
struct Spread: Codable {
    let mean: Double
    let min: Double
    let max: Double

    init(_ values: [Double]) {
        mean = values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        min = values.min() ?? .nan
        max = values.max() ?? .nan
    }

    /// `42.1 % (38.0 – 47.5)`: the mean and the range of fractions, in percent.
    var percentText: String { String(format: "%.1f %% (%.1f – %.1f)", mean * 100, min * 100, max * 100) }
}

/// The lowest and highest of a figure over several machines or cells, e.g. a ratio's range over Table 2's columns.
struct ValueRange: Codable {
    let low: Double
    let high: Double

    init(_ range: ClosedRange<Double>) {
        low = range.lowerBound
        high = range.upperBound
    }
}
