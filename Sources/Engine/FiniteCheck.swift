/// Where in a forward pass a value was computed: the block whose output was just added to the residual
/// stream (or the logits).
public enum ForwardPlace: Equatable, Sendable, CustomStringConvertible {
    case embedding
    case attention(layer: Int)
    case experts(layer: Int)
    case head

    /// "after layer 3's attention block", … — reads after "in the residual stream".
    public var description: String {
        switch self {
        case .embedding: return "after the token embedding"
        case .attention(let layer): return "after layer \(layer)'s attention block"
        case .experts(let layer): return "after layer \(layer)'s mixture-of-experts block"
        case .head: return "of the logits (LM head)"
        }
    }
}

/// Throws when `values` (`rows × width`, row t at position `firstPosition + t`) hold a NaN or an
/// infinity, naming `place`, the first such row's position and its value. The fast path is one
/// branch-free pass (`x · 0` is NaN exactly when x is NaN or ±∞, and NaN survives the sum); only a run
/// that fails scans again for the first one. A NaN or infinity in the residual stream reaches every later
/// value, so checking after each block finds where it first appeared.
/// - Throws: `EngineError.nonFinite`.
func checkFinite(_ values: UnsafePointer<Float>, rows: Int, width: Int, firstPosition: Int, place: ForwardPlace) throws {
    let count = rows * width
    var probe: Float = 0
    for i in 0..<count { probe += values[i] * 0 }
    guard probe.isNaN else { return }
    for i in 0..<count where !values[i].isFinite {
        throw EngineError.nonFinite(place: place, position: firstPosition + i / width, value: values[i])
    }
}
