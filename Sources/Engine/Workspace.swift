import Checkpoints

/// Scratch buffers of a forward pass over up to `tokens` tokens, allocated once and reused, so a decode
/// step allocates nothing. Every float buffer is row-major `[tokens, width]` unless said otherwise.
final class Workspace {
    let tokens: Int
    /// `[tokens, hidden]` residual stream.
    let residual: UnsafeMutablePointer<Float>
    /// `[tokens, hidden]` RMSNorm output.
    let normed: UnsafeMutablePointer<Float>
    /// `[tokens, heads·headDim]` queries, and the attention output per head.
    let queries: UnsafeMutablePointer<Float>
    let attention: UnsafeMutablePointer<Float>
    /// `[tokens, kvHeads·headDim]` new keys and values.
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>
    /// `[tokens, hidden]` output of o_proj or of the MoE block.
    let projected: UnsafeMutablePointer<Float>
    /// `[max(min(tokens, attentionQueryTile), heads), maxPositions]` attention scores of one query head for
    /// a tile of queries, or of every head for one query (`attend`).
    let scores: UnsafeMutablePointer<Float>
    /// `[tokens, numExperts]` raw router logits; `[numExperts]` softmax scratch.
    let routerLogits: UnsafeMutablePointer<Float>
    let probabilities: UnsafeMutablePointer<Float>
    /// `[tokens, k]` chosen experts and their weights.
    let chosen: UnsafeMutablePointer<Int>
    let chosenWeights: UnsafeMutablePointer<Float>
    /// One expert's batch: `[tokens, hidden]` gathered inputs and outputs, `[tokens, intermediate]` w1 and w3 outputs.
    let expertInput: UnsafeMutablePointer<Float>
    let expertOutput: UnsafeMutablePointer<Float>
    let gate: UnsafeMutablePointer<Float>
    let up: UnsafeMutablePointer<Float>
    /// `[tokens]` batch index of each row of an expert's batch, and `[tokens]` its routing weight.
    let expertRows: UnsafeMutablePointer<Int>
    let expertRowWeights: UnsafeMutablePointer<Float>
    /// `[headDim/2]` RoPE cosines and sines of one position.
    let cos: UnsafeMutablePointer<Float>
    let sin: UnsafeMutablePointer<Float>

    private var allocations: [UnsafeMutableRawPointer] = []

    init(tokens n: Int, shape c: ModelShape) {
        tokens = n
        var allocations: [UnsafeMutableRawPointer] = []
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            allocations.append(UnsafeMutableRawPointer(p))
            return p
        }
        func ints(_ count: Int) -> UnsafeMutablePointer<Int> {
            let p = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            allocations.append(UnsafeMutableRawPointer(p))
            return p
        }
        residual = floats(n * c.hidden)
        normed = floats(n * c.hidden)
        queries = floats(n * c.queryWidth)
        attention = floats(n * c.queryWidth)
        keys = floats(n * c.keyValueWidth)
        values = floats(n * c.keyValueWidth)
        projected = floats(n * c.hidden)
        scores = floats(max(min(n, MixtralModel.attentionQueryTile), c.heads) * c.maxPositions)
        routerLogits = floats(n * c.numExperts)
        probabilities = floats(c.numExperts)
        chosen = ints(n * c.topK)
        chosenWeights = floats(n * c.topK)
        expertInput = floats(n * c.hidden)
        expertOutput = floats(n * c.hidden)
        gate = floats(n * c.intermediate)
        up = floats(n * c.intermediate)
        expertRows = ints(n)
        expertRowWeights = floats(n)
        cos = floats(c.headDim / 2)
        sin = floats(c.headDim / 2)
        self.allocations = allocations
    }

    deinit { allocations.forEach { $0.deallocate() } }

    /// Bytes `init(tokens:shape:)` allocates (the float and Int buffers above).
    static func byteCount(tokens n: Int, shape c: ModelShape) -> Int {
        let floats = 5 * n * c.hidden + 2 * n * c.queryWidth + 2 * n * c.keyValueWidth
            + min(n, MixtralModel.attentionQueryTile) * c.maxPositions
            + n * c.numExperts + c.numExperts + n * c.topK + 2 * n * c.intermediate + n + c.headDim
        let ints = n * c.topK + n
        return floats * MemoryLayout<Float>.size + ints * MemoryLayout<Int>.size
    }
}

/// The sizes a forward pass needs, derived once from the config.
struct ModelShape {
    let hidden: Int
    let intermediate: Int
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let numExperts: Int
    let topK: Int
    let maxPositions: Int
    var queryWidth: Int { heads * headDim }

    init(config c: MixtralConfig) {
        hidden = c.hiddenSize
        intermediate = c.intermediateSize
        heads = c.numAttentionHeads
        kvHeads = c.numKeyValueHeads
        headDim = c.headDim
        numExperts = c.numExperts
        topK = c.numExpertsPerToken
        maxPositions = c.maxPositionEmbeddings
    }

    var keyValueWidth: Int { kvHeads * headDim }
}
