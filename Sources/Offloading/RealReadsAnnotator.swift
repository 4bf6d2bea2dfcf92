import Tracing

/// A trace sink that puts a real run's reads (`DiskExpertProvider.onStep`) next to the simulated records
/// of the same routing: each layer step's `RealReads` go on the record of the step's first token, then
/// every record is passed on to `sinks`.
public final class RealReadsAnnotator: TraceSink {
    private struct Step: Hashable {
        let layer: Int
        let position: Int
    }
    private var reads: [Step: RealReads] = [:]
    private let sinks: [TraceSink]

    public init(sinks: [TraceSink]) { self.sinks = sinks }

    /// Records the reads of `layer`'s step whose first token is at `position` (an `onStep` callback).
    public func add(layer: Int, firstPosition position: Int, reads: RealReads) {
        self.reads[Step(layer: layer, position: position)] = reads
    }

    public func write(_ record: LayerRecord) {
        var record = record
        record.real = reads[Step(layer: record.layer, position: record.position)]
        for sink in sinks { sink.write(record) }
    }

    public func write(_ record: TokenRecord) { for sink in sinks { sink.write(record) } }

    /// Closes nothing: the wrapped sinks are closed by their owner.
    public func close() throws {}
}
