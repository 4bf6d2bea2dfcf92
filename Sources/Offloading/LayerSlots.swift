/// Expert slots of every MoE layer: the same number in each, or — when a RAM budget leaves room for some
/// but not all layers to hold one expert more — one slot more in the first few layers.
public struct LayerSlots: Sendable, Equatable {
    /// Slots of each layer `[numLayers]`.
    public let counts: [Int]

    public init(_ counts: [Int]) { self.counts = counts }

    /// `perLayer` slots in each of `layers` layers.
    public init(perLayer: Int, layers: Int) { counts = Array(repeating: perLayer, count: layers) }

    /// The slots every layer has (the fewest of any layer).
    public var fewest: Int { counts.min() ?? 0 }

    /// The layers holding more than `fewest` slots, ascending (empty when every layer has the same).
    public var layersWithMore: [Int] { counts.indices.filter { counts[$0] > fewest } }

    public var total: Int { counts.reduce(0, +) }

    /// "0–4, 7, 9–10" for [0, 1, 2, 3, 4, 7, 9, 10].
    public static func ranges(_ sorted: [Int]) -> String {
        var parts: [String] = []
        var start = sorted.first, previous = sorted.first
        for value in sorted.dropFirst() + [Int.min] {
            if let p = previous, value == p + 1 {
                previous = value
                continue
            }
            if let s = start, let p = previous { parts.append(s == p ? "\(s)" : "\(s)–\(p)") }
            start = value
            previous = value
        }
        return parts.joined(separator: ", ")
    }
}
