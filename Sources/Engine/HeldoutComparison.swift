import Foundation

/// A reference model's next-token distributions on held-out windows, kept so that any number of candidate
/// models (quantized variants) can be scored against it without running the reference again.
///
/// Memory: `tokens × vocab` fp64 log-probabilities (4,096 tokens × a 2,048-token vocabulary = 64 MiB).
public struct HeldoutReference {
    public let windows: [[Int]]
    /// Per predicted token, in window order: the reference's log-softmax `[vocab]` over the next token.
    let logProbabilities: [[Double]]
    /// The same as probabilities, and the most likely id per token (computed once for every candidate).
    let probabilities: [[Double]]
    let mostLikely: [Int]
    /// Per predicted token: the id that actually follows.
    let targets: [Int]

    /// Runs `model` over `windows` (each in a fresh session, as `Perplexity.evaluate` does).
    /// - Throws: `EngineError` (a window longer than the context, an id outside the vocabulary).
    public init(model: MixtralModel, windows: [[Int]]) throws {
        self.windows = windows
        var logProbabilities: [[Double]] = [], targets: [Int] = []
        try forEachPrediction(model: model, windows: windows) { row, target in
            logProbabilities.append(row)
            targets.append(target)
        }
        self.logProbabilities = logProbabilities
        self.targets = targets
        probabilities = logProbabilities.map { $0.map(exp) }
        mostLikely = logProbabilities.map { row in row.indices.max { row[$0] < row[$1] }! }  // first on ties
    }

    /// Predicted tokens.
    public var tokens: Int { targets.count }
    /// The reference's perplexity on the windows, `exp(mean NLL)`.
    public var perplexity: Double {
        let nll = negativeLogLikelihoods
        return exp(nll.reduce(0, +) / Double(max(nll.count, 1)))
    }
    /// Negative log-likelihood of each actual next token (nats).
    var negativeLogLikelihoods: [Double] { zip(logProbabilities, targets).map { -$0[$1] } }
}

/// A candidate model scored against a `HeldoutReference` on the same held-out tokens, with 95 % bootstrap
/// intervals over chunks of consecutive tokens (`Bootstrap`, paired: the same chunks for both models):
/// perplexity and its change from the reference's, mean KL(reference ‖ candidate) of the next-token
/// distributions, and top-1 agreement.
public struct HeldoutComparison {
    /// Consecutive predicted tokens per bootstrap unit: neighbouring tokens share context and are not
    /// independent, chunks of 64 much less so.
    public static let defaultChunkTokens = 64

    /// Per chunk: tokens, and sums of the candidate's and the reference's NLL, of KL, of top-1 agreements.
    public let chunkTokens: [Double]
    public let chunkNLL: [Double]
    public let chunkReferenceNLL: [Double]
    public let chunkKL: [Double]
    public let chunkAgreements: [Double]

    public let perplexity: Estimate
    public let referencePerplexity: Double
    /// Candidate perplexity − reference perplexity.
    public let deltaPerplexity: Estimate
    /// Mean KL(reference ‖ candidate) per token, nats.
    public let meanKL: Estimate
    /// Share of tokens whose most likely next token is the reference's.
    public let top1Agreement: Estimate

    /// - Throws: `EngineError` from the candidate's forward passes.
    public init(reference: HeldoutReference, candidate: MixtralModel, chunkTokens chunk: Int = defaultChunkTokens) throws {
        precondition(chunk >= 1, "HeldoutComparison: chunk of \(chunk) tokens")
        var nll: [Double] = [], kl: [Double] = [], agree: [Double] = []
        var index = 0
        try forEachPrediction(model: candidate, windows: reference.windows) { row, target in
            let logP = reference.logProbabilities[index], p = reference.probabilities[index]
            var divergence = 0.0
            var bestQ = 0
            for v in 0..<p.count {
                if p[v] > 0 { divergence += p[v] * (logP[v] - row[v]) }
                if row[v] > row[bestQ] { bestQ = v }
            }
            let bestP = reference.mostLikely[index]
            nll.append(-row[target])
            kl.append(divergence)
            agree.append(bestP == bestQ ? 1 : 0)
            index += 1
        }
        let referenceNLL = reference.negativeLogLikelihoods
        func chunked(_ x: [Double]) -> [Double] { chunkSums(x, chunk) }
        chunkTokens = chunked([Double](repeating: 1, count: nll.count))
        chunkNLL = chunked(nll)
        chunkReferenceNLL = chunked(referenceNLL)
        chunkKL = chunked(kl)
        chunkAgreements = chunked(agree)
        referencePerplexity = exp(referenceNLL.reduce(0, +) / Double(max(referenceNLL.count, 1)))
        let (tokens, candidateNLL, baseNLL) = (chunkTokens, chunkNLL, chunkReferenceNLL)
        perplexity = Bootstrap.estimate(units: tokens.count) { exp(weighted(candidateNLL, $0) / weighted(tokens, $0)) }
        deltaPerplexity = Self.pairedPerplexityChange(tokens: tokens, candidateNLL: candidateNLL, referenceNLL: baseNLL)
        let (klSums, agreements) = (chunkKL, chunkAgreements)
        meanKL = Bootstrap.estimate(units: tokens.count) { weighted(klSums, $0) / weighted(tokens, $0) }
        top1Agreement = Bootstrap.estimate(units: tokens.count) { weighted(agreements, $0) / weighted(tokens, $0) }
    }

    /// Paired interval of `a`'s mean KL minus `b`'s (both scored against the same reference and chunks):
    /// when it includes 0, the two cannot be ranked on this text.
    public static func klDifference(_ a: HeldoutComparison, _ b: HeldoutComparison) -> Estimate {
        precondition(a.chunkTokens == b.chunkTokens, "klDifference: comparisons on different tokens")
        let (tokens, klA, klB) = (a.chunkTokens, a.chunkKL, b.chunkKL)
        return Bootstrap.estimate(units: tokens.count) { counts in
            (weighted(klA, counts) - weighted(klB, counts)) / weighted(tokens, counts)
        }
    }

    /// Paired interval of `a`'s top-1 agreement minus `b`'s (a share, 0…1; same reference and chunks).
    public static func top1Difference(_ a: HeldoutComparison, _ b: HeldoutComparison) -> Estimate {
        precondition(a.chunkTokens == b.chunkTokens, "top1Difference: comparisons on different tokens")
        let (tokens, agreeA, agreeB) = (a.chunkTokens, a.chunkAgreements, b.chunkAgreements)
        return Bootstrap.estimate(units: tokens.count) { counts in
            (weighted(agreeA, counts) - weighted(agreeB, counts)) / weighted(tokens, counts)
        }
    }

    /// Paired interval of `a`'s perplexity minus `b`'s.
    public static func perplexityDifference(_ a: HeldoutComparison, _ b: HeldoutComparison) -> Estimate {
        precondition(a.chunkTokens == b.chunkTokens, "perplexityDifference: comparisons on different tokens")
        return pairedPerplexityChange(tokens: a.chunkTokens, candidateNLL: a.chunkNLL, referenceNLL: b.chunkNLL)
    }

    /// Perplexity from `candidateNLL` minus perplexity from `referenceNLL` (per predicted token, nats, the same
    /// tokens in the same order: `Perplexity.negativeLogLikelihoods`), with the paired 95 % bootstrap interval
    /// over chunks of `chunk` consecutive tokens that `deltaPerplexity` has — without keeping the reference's
    /// distributions (`HeldoutReference`), so it costs nothing at a large vocabulary.
    public static func perplexityChange(candidateNLL: [Double], referenceNLL: [Double], chunkTokens chunk: Int = defaultChunkTokens) -> Estimate {
        precondition(candidateNLL.count == referenceNLL.count && chunk >= 1, "perplexityChange: \(candidateNLL.count) against \(referenceNLL.count) tokens")
        return pairedPerplexityChange(tokens: chunkSums([Double](repeating: 1, count: candidateNLL.count), chunk),
                                      candidateNLL: chunkSums(candidateNLL, chunk), referenceNLL: chunkSums(referenceNLL, chunk))
    }

    /// exp(mean candidate NLL) − exp(mean reference NLL) over chunk sums, resampling the same chunks for both.
    private static func pairedPerplexityChange(tokens: [Double], candidateNLL: [Double], referenceNLL: [Double]) -> Estimate {
        Bootstrap.estimate(units: tokens.count) { counts in
            let n = weighted(tokens, counts)
            return exp(weighted(candidateNLL, counts) / n) - exp(weighted(referenceNLL, counts) / n)
        }
    }
}

/// Sums of consecutive runs of `chunk` values (the last run may be shorter).
private func chunkSums(_ x: [Double], _ chunk: Int) -> [Double] {
    stride(from: 0, to: x.count, by: chunk).map { x[$0..<min($0 + chunk, x.count)].reduce(0, +) }
}

/// Σ values[i] · counts[i].
private func weighted(_ values: [Double], _ counts: [Int]) -> Double {
    var sum = 0.0
    for (v, c) in zip(values, counts) where c > 0 { sum += v * Double(c) }
    return sum
}

/// Calls `body(logSoftmax row [vocab] in fp64, actual next id)` for every predicted token of every window,
/// in order (teacher forcing, one fresh session per window).
private func forEachPrediction(model: MixtralModel, windows: [[Int]], _ body: ([Double], Int) throws -> Void) throws {
    let vocab = model.config.vocabSize
    let session = Session(model: model, capacity: windows.map(\.count).max() ?? 1)
    for window in windows where window.count >= 2 {
        session.cache.reset()
        let logits = try model.forward(window, session: session, allLogits: true)
        for position in 0..<(window.count - 1) {
            let base = position * vocab
            var maxLogit = -Double.infinity
            for v in 0..<vocab { maxLogit = max(maxLogit, Double(logits[base + v])) }
            var sum = 0.0
            for v in 0..<vocab { sum += exp(Double(logits[base + v]) - maxLogit) }
            let logZ = maxLogit + log(sum)
            try body((0..<vocab).map { Double(logits[base + $0]) - logZ }, window[position + 1])
        }
    }
}
