import Foundation

/// Perplexity of a model on token windows: `exp(mean negative log-likelihood)` of every token after the
/// first of each window, predicted from the tokens before it (teacher forcing), log-softmax in fp64.
public enum Perplexity {
    /// - Parameters:
    ///   - windows: token sequences (each typically starting with BOS); each is run in a fresh session.
    ///   - progress: called with (windows done, windows in all).
    /// - Returns: the perplexity and the number of predicted tokens.
    /// - Throws: `EngineError` (a window longer than the context, an id outside the vocabulary).
    public static func evaluate(model: MixtralModel, windows: [[Int]],
                                progress: ((Int, Int) -> Void)? = nil) throws -> (perplexity: Double, tokens: Int) {
        let nll = try negativeLogLikelihoods(model: model, windows: windows, progress: progress)
        return (nll.isEmpty ? .nan : exp(nll.reduce(0, +) / Double(nll.count)), nll.count)
    }

    /// The negative log-likelihood (nats) of every predicted token, in window order: what `evaluate`
    /// averages, kept per token for paired intervals (`HeldoutComparison.perplexityChange`).
    /// - Throws: `EngineError` (a window longer than the context, an id outside the vocabulary).
    public static func negativeLogLikelihoods(model: MixtralModel, windows: [[Int]],
                                              progress: ((Int, Int) -> Void)? = nil) throws -> [Double] {
        var nll: [Double] = []
        let vocab = model.config.vocabSize
        let session = Session(model: model, capacity: windows.map(\.count).max() ?? 1)
        for (w, window) in windows.enumerated() where window.count >= 2 {
            session.cache.reset()
            let logits = try model.forward(window, session: session, allLogits: true)
            for position in 0..<(window.count - 1) {
                nll.append(-logSoftmax(logits, row: position, vocab: vocab, at: window[position + 1]))
            }
            progress?(w + 1, windows.count)
        }
        return nll
    }

    /// Splits a token stream into windows of at most `length` tokens, each starting with `bos` followed by
    /// the next `length − 1` tokens of the stream (non-overlapping), so every stream token is predicted once.
    public static func windows(of tokens: [Int], length: Int, bos: Int?) -> [[Int]] {
        let stride = bos == nil ? length : length - 1
        return Swift.stride(from: 0, to: tokens.count, by: max(stride, 1)).map { start in
            let chunk = Array(tokens[start..<min(start + stride, tokens.count)])
            return bos.map { [$0] + chunk } ?? chunk
        }
    }
}

/// `log softmax(logits[row])[index]` in fp64, for `[rows, vocab]` logits.
func logSoftmax(_ logits: [Float], row: Int, vocab: Int, at index: Int) -> Double {
    let base = row * vocab
    var maxLogit = -Double.infinity
    for v in 0..<vocab { maxLogit = max(maxLogit, Double(logits[base + v])) }
    var sum = 0.0
    for v in 0..<vocab { sum += exp(Double(logits[base + v]) - maxLogit) }
    return Double(logits[base + index]) - maxLogit - log(sum)
}
