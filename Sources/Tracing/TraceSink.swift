/// Receives trace records as a run produces them, in order: layer records of a forward call, then the
/// token record of the token it produced. Writers stream each record to disk as it arrives, so a long run
/// never accumulates in memory.
///
/// `write` does not throw (it is called from inside a forward pass); a writer keeps the first I/O error
/// and `close()` throws it.
public protocol TraceSink: AnyObject {
    func write(_ record: LayerRecord)
    func write(_ record: TokenRecord)
    /// Flushes and closes the output.
    /// - Throws: `TraceError.io` with the first write error, naming the file.
    func close() throws
}
