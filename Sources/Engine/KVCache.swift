/// Keys and values of every past position, per layer, so a decode step attends to the whole prefix
/// without recomputing it.
///
/// Layout per layer: `[capacity, numKeyValueHeads · headDim]` for keys and for values, row = position.
public final class KVCache {
    public let capacity: Int
    let rowSize: Int
    let keys: [UnsafeMutablePointer<Float>]
    let values: [UnsafeMutablePointer<Float>]
    /// Number of positions stored so far (the next token's position).
    public internal(set) var count = 0

    /// - Parameters:
    ///   - layers: `num_hidden_layers`.
    ///   - capacity: most positions this cache will hold (≤ `max_position_embeddings`).
    ///   - rowSize: `numKeyValueHeads · headDim` floats per position.
    public init(layers: Int, capacity: Int, rowSize: Int) {
        self.capacity = capacity
        self.rowSize = rowSize
        keys = (0..<layers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: capacity * rowSize) }
        values = (0..<layers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: capacity * rowSize) }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Forgets every position (the buffers are kept).
    public func reset() { count = 0 }
}
