/// A dense fp32 matrix stored row-major: element (r, c) is `values[r * cols + c]`.
///
/// Shape `[rows, cols]`. For a linear layer (PyTorch `nn.Linear` convention) `rows` is the number of
/// output features and `cols` the number of input features, so `y = W x` has `y: [rows]`, `x: [cols]`.
public struct Matrix: Sendable {
    /// Number of rows (output features of a linear layer).
    public let rows: Int
    /// Number of columns (input features of a linear layer).
    public let cols: Int
    /// `rows * cols` values, row-major.
    public var values: [Float]

    /// Wraps `values` as a `[rows, cols]` matrix. Precondition: `values.count == rows * cols`.
    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "Matrix: \(values.count) values for shape [\(rows), \(cols)]")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// A `[rows, cols]` matrix of zeros.
    public init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, values: [Float](repeating: 0, count: rows * cols))
    }

    /// Row `r` as a fresh array `[cols]`.
    public func row(_ r: Int) -> [Float] {
        Array(values[(r * cols)..<((r + 1) * cols)])
    }
}
