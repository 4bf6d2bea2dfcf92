import Foundation
import Quantization

/// What a checkpoint's calibrated experts (`gptq4`, `awq4`, written by `mixtral-lab quantize`) were calibrated
/// on, stored as JSON under `metadataKey` in the `__metadata__` of the safetensors file that holds them, e.g.
/// `{"method":"gptq4","text":"models/shakespeare-mixtral/heldout.txt","text_sha256":"…","text_bytes":119989,
/// "tokens":4096,"window_tokens":256,"parameters":{"dampening":"0.01",…}}`. The tokens are the text's last
/// `tokens` (the checkpoint's tokenizer, no BOS), run in windows of `window_tokens` each led by BOS.
public struct CalibrationRecord: Equatable, Sendable {
    /// `__metadata__` key of the record.
    public static let metadataKey = "mixtral-lab.calibration"

    /// `gptq4` or `awq4`: the method that quantized the experts.
    public var method: Precision
    /// The calibration text as it was named when the checkpoint was written (a path).
    public var text: String
    /// SHA-256 of the text file's bytes, 64 lowercase hex digits.
    public var textSHA256: String
    public var textBytes: Int
    /// Calibration tokens: the text's last `tokens`.
    public var tokens: Int
    public var windowTokens: Int
    /// The method's settings by name (`GPTQ.parameters`, `AWQ.parameters`).
    public var parameters: [String: String]

    public init(method: Precision, text: String, textSHA256: String, textBytes: Int, tokens: Int, windowTokens: Int,
                parameters: [String: String]) {
        self.method = method
        self.text = text
        self.textSHA256 = textSHA256
        self.textBytes = textBytes
        self.tokens = tokens
        self.windowTokens = windowTokens
        self.parameters = parameters
    }

    /// The stored form (Codable: `Precision` is stored by its raw value).
    private struct Stored: Codable {
        var method: String, text: String, textSHA256: String, textBytes: Int, tokens: Int, windowTokens: Int
        var parameters: [String: String]
        enum CodingKeys: String, CodingKey {
            case method, text, textSHA256 = "text_sha256", textBytes = "text_bytes", tokens, windowTokens = "window_tokens", parameters
        }
    }

    /// The record as stored: compact JSON with sorted keys.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let stored = Stored(method: method.rawValue, text: text, textSHA256: textSHA256, textBytes: textBytes, tokens: tokens,
                            windowTokens: windowTokens, parameters: parameters)
        return String(decoding: try! encoder.encode(stored), as: UTF8.self)
    }

    /// Parses a stored record.
    /// - Throws: `CheckpointError.malformedHeader` naming `path` when `json` is not such a record: not JSON,
    ///   a field missing or of the wrong type, a method that is not calibrated, a hash that is not 64 hex
    ///   digits, a count below 1.
    public init(json: String, path: String) throws {
        func bad(_ reason: String) -> CheckpointError {
            .malformedHeader(path: path, reason: "__metadata__ \"\(Self.metadataKey)\" \(reason)")
        }
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(json.utf8)) else {
            throw bad("is not a calibration record (JSON with method, text, text_sha256, text_bytes, tokens, window_tokens, parameters)")
        }
        guard let method = Precision(rawValue: stored.method), method.needsCalibration else {
            throw bad("names method \"\(stored.method)\", which is not a calibrated precision (gptq4, awq4)")
        }
        guard stored.textSHA256.utf8.count == 64, stored.textSHA256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw bad("has text_sha256 \"\(stored.textSHA256)\", expected 64 lowercase hex digits")
        }
        guard stored.tokens >= 1, stored.windowTokens >= 1, stored.textBytes >= 1 else {
            throw bad("has a count below 1 (tokens \(stored.tokens), window_tokens \(stored.windowTokens), text_bytes \(stored.textBytes))")
        }
        self.init(method: method, text: stored.text, textSHA256: stored.textSHA256, textBytes: stored.textBytes, tokens: stored.tokens,
                  windowTokens: stored.windowTokens, parameters: stored.parameters)
    }

    /// One line for people: `gptq4 on the last 4096 tokens of heldout.txt (119989 bytes, sha256 9f2c…) in
    /// 256-token windows; dampening 0.01, …`.
    public var summary: String {
        "\(method) on the last \(tokens) tokens of \(text) "
            + "(\(textBytes) bytes, sha256 \(textSHA256.prefix(16))…) in \(windowTokens)-token windows; "
            + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
    }
}

extension Checkpoint {
    /// The calibration record of the checkpoint's calibrated experts, nil when it has none.
    /// - Throws: `CheckpointError.malformedHeader` for a record that does not parse (`CalibrationRecord(json:path:)`).
    public func calibrationRecord() throws -> CalibrationRecord? {
        guard let file = files.first(where: { $0.metadata[CalibrationRecord.metadataKey] != nil }) else { return nil }
        return try CalibrationRecord(json: file.metadata[CalibrationRecord.metadataKey]!, path: file.path)
    }
}
