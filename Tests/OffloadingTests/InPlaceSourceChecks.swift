import Testing
import Checkpoints
import Engine
import Quantization
@testable import Offloading
import TestSupport

/// What every in-place expert source must satisfy, whatever file it reads (`QuantizedInPlaceTests`,
/// `GGUFInPlaceTests`): each expert projection's location is the tensor's own bytes in the file (its offset,
/// and a projection is all of its bytes — `Checkpoint.info` for safetensors and GGUF alike), and streaming
/// the experts from it gives the resident model's greedy logits bit for bit, reading one projection set per miss.
/// - Parameter label: names the case in failure messages.
func expectInPlaceSourceMatchesTheResidentModel(_ source: ExpertSource, checkpoint: Checkpoint, precision: PrecisionSpec,
                                                prompt: [Int], label: String) throws {
    let c = checkpoint.config
    for l in 0..<c.numHiddenLayers {
        for e in 0..<c.numExperts {
            for (p, w) in ["w1", "w2", "w3"].enumerated() {
                let info = try #require(checkpoint.info(WeightNames.expert(l, e, w)), "\(label)")
                #expect(source.locations[l][e][p] == ExpertSource.Location(file: 0, offset: info.fileOffset), "\(label)")
                #expect(source.layout.projections[p].byteCount == info.byteCount, "\(label)")
            }
        }
    }
    let resident = try MixtralModel(checkpoint: checkpoint, precision: precision)
    let provider = try DiskExpertProvider(source: source, policy: .lru, topK: c.numExpertsPerToken)
    let streamed = try MixtralModel(checkpoint: checkpoint, precision: precision, experts: .streamed(provider))
    try provider.allocateSlots(perLayer: 2)
    #expect(streamed.layers.allSatisfy { $0.experts.isEmpty })
    #expect(try greedyLogitBits(streamed, prompt: prompt) == greedyLogitBits(resident, prompt: prompt), "\(label)")
    let summary = provider.finish()
    #expect(summary.misses > 0 && summary.bytesRead == summary.misses * source.layout.byteCount, "\(label)")
}
