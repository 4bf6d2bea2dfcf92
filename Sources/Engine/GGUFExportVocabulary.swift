import Foundation
import Checkpoints

/// The `tokenizer.ggml.*` metadata of an exported GGUF: a llama SentencePiece vocabulary
/// (`tokenizer.ggml.model = "llama"`), which llama.cpp tokenizes with its SPM algorithm (repeatedly merge
/// the adjacent pair whose concatenation is the vocabulary entry of highest score).
///
/// From a checkpoint's `tokenizer.json` (a BPE with byte fallback, as Mixtral's), derived as llama.cpp's
/// converter does for a checkpoint without `tokenizer.model` (`_set_vocab_llama_hf`, gguf-py
/// `LlamaHfVocab` and `SpecialVocab`):
/// - tokens: the vocabulary by id (ids without a token, up to `vocab_size`, become `[PADi]` of type
///   UNUSED, as the SentencePiece path pads);
/// - token types (gguf-py `TokenType`): BYTE for `<0xXX>`, CONTROL for added tokens marked special,
///   USER_DEFINED for other added tokens, NORMAL otherwise;
/// - `bos_token_id` / `eos_token_id` from the config, `unknown_token_id` from the model's `unk_token`;
///   `add_bos_token` / `add_eos_token` from whether the post-processor's single template starts with BOS /
///   ends with EOS, `add_sep_token` false.
/// - scores: where `LlamaHfVocab` writes a placeholder −1000 for every token — which makes llama.cpp
///   merge the leftmost known pair first, not the BPE's order — each token produced by a merge scores
///   −(rank of its first merge), as a SentencePiece BPE model scores its pieces; byte, control and
///   unused tokens 0, other tokens −(number of merges). llama.cpp then tokenizes as the BPE does.
/// From a GGUF checkpoint, its `tokenizer.*` entries are copied unchanged.
struct GGUFExportVocabulary {
    /// gguf-py `TokenType`.
    enum TokenType: Int32 { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    /// Metadata entries in the order the converter writes them.
    let entries: [(key: String, value: GGUFValue)]

    /// - Throws: `TokenizerError` when `tokenizer.json` is missing, not JSON, or lacks `model.vocab`.
    init(checkpoint: Checkpoint) throws {
        if let gguf = checkpoint.gguf {
            entries = gguf.metadataKeys.filter { $0.hasPrefix("tokenizer.") }.map { ($0, gguf.metadata[$0]!) }
            return
        }
        let url = checkpoint.directory.appendingPathComponent("tokenizer.json")
        let source = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadable(source: source, reason: "the GGUF export needs the checkpoint's tokenizer.json (\(error.localizedDescription))")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerError.notJSON(source: source, reason: "top level is not an object")
        }
        guard let model = root["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int] else {
            throw TokenizerError.missingKey(source: source, keyPath: "model.vocab")
        }
        let vocabSize = checkpoint.config.vocabSize
        var tokens = (0..<vocabSize).map { "[PAD\($0)]" }
        var types = [TokenType](repeating: .unused, count: vocabSize)
        for (token, id) in vocab where (0..<vocabSize).contains(id) {
            tokens[id] = token
            types[id] = token.utf8.count == 6 && token.hasPrefix("<0x") && token.hasSuffix(">")
                && UInt8(token.dropFirst(3).prefix(2), radix: 16) != nil ? .byte : .normal
        }
        for added in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = added["id"] as? Int, let content = added["content"] as? String, (0..<vocabSize).contains(id) else { continue }
            tokens[id] = content
            types[id] = (added["special"] as? Bool ?? false) ? .control : .userDefined
        }

        // Scores: −(rank of the first merge producing the token).
        let merges: [String] = ((model["merges"] as? [Any]) ?? []).compactMap { merge in
            if let text = merge as? String { return text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false).joined() }
            if let pair = merge as? [String], pair.count == 2 { return pair[0] + pair[1] }
            return nil
        }
        var rank: [String: Int] = [:]
        for (r, merged) in merges.enumerated() where rank[merged] == nil { rank[merged] = r }
        let scores: [Float] = (0..<vocabSize).map { id in
            guard types[id] == .normal else { return 0 }
            return -Float(rank[tokens[id]] ?? merges.count)
        }

        var entries: [(key: String, value: GGUFValue)] = [
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.pre", .string("default")),
            ("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map { .string($0) })),
            ("tokenizer.ggml.scores", .array(elementType: .float32, scores.map { .float32($0) })),
            ("tokenizer.ggml.token_type", .array(elementType: .int32, types.map { .int32($0.rawValue) })),
        ]
        let unknownID = (model["unk_token"] as? String).flatMap { tokens.firstIndex(of: $0) }
        for (key, id) in [("bos_token_id", checkpoint.config.bosTokenID), ("eos_token_id", checkpoint.config.eosTokenID),
                          ("unknown_token_id", unknownID)] {
            if let id { entries.append(("tokenizer.ggml.\(key)", .uint32(UInt32(id)))) }
        }
        // The post-processor's single template, e.g. [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}].
        if let processor = root["post_processor"] as? [String: Any], processor["type"] as? String == "TemplateProcessing",
           let single = processor["single"] as? [[String: Any]] {
            func special(_ item: [String: Any]?) -> Int? {
                ((item?["SpecialToken"] as? [String: Any])?["id"] as? String).flatMap { tokens.firstIndex(of: $0) }
            }
            let bos = special(single.first), eos = special(single.last)
            entries.append(("tokenizer.ggml.add_bos_token", .bool(bos != nil && bos == checkpoint.config.bosTokenID)))
            entries.append(("tokenizer.ggml.add_sep_token", .bool(false)))
            entries.append(("tokenizer.ggml.add_eos_token", .bool(eos != nil && eos == checkpoint.config.eosTokenID)))
        }
        self.entries = entries
    }
}
