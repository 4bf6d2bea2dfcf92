import Foundation
import Checkpoints
import Quantization
import UserInput

/// The text calibrated precisions (`gptq4`, `awq4`) quantize the experts with: the last `tokens.count` tokens
/// of a text file (the checkpoint's tokenizer, no BOS), run in windows of `windowTokens` each led by BOS.
/// By default the checkpoint's own `heldout.txt`, last 4,096 tokens (lesson 11: GPTQ and AWQ beat
/// round-to-nearest on the default model only from about this size).
public struct CalibrationText: Sendable {
    /// Calibration tokens when none are asked for.
    public static let defaultTokens = 4096
    /// Tokens per window (BOS included), at most the model's context.
    public static let windowTokens = 256
    /// The held-out file beside a checkpoint.
    public static let heldoutFile = "heldout.txt"

    /// The text file as named.
    public let path: String
    /// SHA-256 of the file's bytes (hex).
    public let sha256: String
    public let bytes: Int
    /// The calibration tokens, the text's last.
    public let tokens: [Int]

    /// Keeps the last `count` tokens of `data`, the bytes of the file `path`.
    /// - Throws: `CalibrationTextError.tokenCount` (count < 1), `.notText` (not UTF-8), `.empty` (no tokens),
    ///   `.tooShort` (fewer tokens than `count`).
    public init(data: Data, path: String, tokenizer: Tokenizer, tokens count: Int) throws {
        guard count >= 1 else { throw CalibrationTextError.tokenCount(count) }
        guard let text = String(data: data, encoding: .utf8) else { throw CalibrationTextError.notText(path: path) }
        let all = tokenizer.encode(text, addBOS: false)
        guard !all.isEmpty else { throw CalibrationTextError.empty(path: path) }
        guard all.count >= count else { throw CalibrationTextError.tooShort(path: path, has: all.count, asked: count) }
        self.path = path
        sha256 = SHA256.hex(data)
        bytes = data.count
        tokens = Array(all.suffix(count))
    }

    /// `heldout.txt` beside `checkpoint`, tokenized by its `tokenizer.json`.
    /// - Throws: `CheckpointError.unreadable` naming the missing file and `precision`; `CalibrationTextError`.
    public static func heldout(beside checkpoint: Checkpoint, for precision: Precision, tokens count: Int = defaultTokens) throws -> CalibrationText {
        let textURL = checkpoint.folder.appendingPathComponent(heldoutFile)
        guard let data = try? Data(contentsOf: textURL) else {
            throw CheckpointError.unreadable(path: textURL.path, reason: "\(precision) calibrates the experts on held-out text beside the checkpoint, and there is none")
        }
        return try CalibrationText(data: data, path: textURL.path, tokenizer: try tokenizer(beside: checkpoint, for: precision), tokens: count)
    }

    /// The checkpoint's `tokenizer.json`, which tokenizes any calibration text.
    /// - Throws: `CheckpointError.unreadable` when it is missing.
    public static func tokenizer(beside checkpoint: Checkpoint, for precision: Precision) throws -> Tokenizer {
        let url = checkpoint.folder.appendingPathComponent("tokenizer.json")
        guard let json = try? Data(contentsOf: url) else {
            throw CheckpointError.unreadable(path: url.path, reason: "\(precision) needs the checkpoint's tokenizer.json to tokenize its calibration text")
        }
        return try Tokenizer(json: json, source: url.path)
    }

    /// Tokens per window for a model: `windowTokens`, or its whole context when shorter.
    static func windowLength(_ config: MixtralConfig) -> Int { min(windowTokens, config.maxPositionEmbeddings) }

    /// The windows the model runs, each led by `config.bosTokenID`.
    func windows(_ config: MixtralConfig) -> [[Int]] {
        Perplexity.windows(of: tokens, length: Self.windowLength(config), bos: config.bosTokenID)
    }

    /// What a checkpoint records of this text when `method` quantized the experts of a model of `config` with it.
    public func record(method: Precision, config: MixtralConfig) -> CalibrationRecord {
        CalibrationRecord(method: method, text: path, textSHA256: sha256, textBytes: bytes, tokens: tokens.count,
                          windowTokens: Self.windowLength(config), parameters: method == .gptq4 ? GPTQ.parameters : AWQ.parameters)
    }
}

/// A calibration text or size that cannot be used.
public enum CalibrationTextError: UserInputError, Equatable {
    case tokenCount(Int)
    case notText(path: String)
    case empty(path: String)
    case tooShort(path: String, has: Int, asked: Int)

    public var description: String {
        switch self {
        case .tokenCount(let n): return "\(n) calibration tokens: at least 1 is needed"
        case .notText(let path): return "\(path): is not UTF-8 text"
        case .empty(let path): return "\(path): holds no text to calibrate on (0 tokens)"
        case .tooShort(let path, let has, let asked): return "\(path): has \(has) tokens, fewer than the \(asked) asked for"
        }
    }
}
