/// The `model` of a tokenizer.json of type BPE (tokenizers, `src/models/bpe/model.rs`):
/// a vocabulary of pieces, merges ranked by their order in the file, byte fallback and an
/// unknown token.
///
/// A word is split into Unicode scalars, each looked up as a piece; one that is not in the
/// vocabulary becomes its UTF-8 bytes as `<0xNN>` pieces (byte fallback) or else the unknown token
/// (consecutive unknowns fused into one when `fuse_unk`). Then the adjacent pair with the lowest
/// merge rank (leftmost on ties) is merged, repeatedly, until no pair has a merge.
struct BPEModel {
    /// Piece → id, as in `model.vocab`.
    let vocabulary: [PieceKey: Int32]
    /// id → piece; "" where the vocabulary has no such id.
    let pieces: [String]
    /// (left id, right id) → (rank, merged id).
    private let merges: BPEMergeTable
    /// Ids of single-scalar pieces, by scalar value.
    private let scalarIDs: [UInt32: Int32]
    /// Ids of `<0x00>` … `<0xFF>` (−1 where absent), or nil without byte fallback.
    private let byteIDs: [Int32]?
    let unknownID: Int32?
    private let fuseUnknown: Bool
    /// With `ignore_merges`, a word that is itself in the vocabulary is that one token.
    private let ignoreMerges: Bool

    /// Reads `model` of a tokenizer.json. Throws `TokenizerError`: `.unknownType` unless type is BPE,
    /// `.missingKey` without vocab or merges, `.mergeTokenNotInVocabulary` for a merge whose parts or
    /// result are not pieces, `.unsupported` for dropout, continuing_subword_prefix or
    /// end_of_word_suffix, `.invalidValue` for malformed entries or an unk_token not in the vocabulary.
    init(json: TokenizerJSON) throws {
        let type = try json.optionalString("type") ?? "BPE"
        guard type == "BPE" else {
            throw TokenizerError.unknownType(source: json.source, keyPath: json.path("type"), type: type, supported: ["BPE"])
        }
        if !json.isNull("dropout") { throw json.unsupported("dropout", "BPE dropout (only null is implemented)") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] where !json.isNull(key) {
            throw json.unsupported(key, "subword prefixes and suffixes are not implemented")
        }

        let vocabularyJSON = try json.object("vocab")
        var vocabulary: [PieceKey: Int32] = [:]
        vocabulary.reserveCapacity(vocabularyJSON.fields.count)
        var largestID = -1
        for (piece, _) in vocabularyJSON.fields {
            let id = try vocabularyJSON.int(piece)
            // ids index a table of pieces: a few entries with huge ids would allocate gigabytes (found by
            // fuzzing); a vocabulary's ids are 0…count−1, and gaps of more than that are refused.
            guard id >= 0 && id < 2 * vocabularyJSON.fields.count + 1024 else {
                throw vocabularyJSON.invalid(piece, "id \(id) out of range for a vocabulary of \(vocabularyJSON.fields.count) entries")
            }
            vocabulary[PieceKey(piece)] = Int32(id)
            largestID = max(largestID, id)
        }
        var pieces = [String](repeating: "", count: largestID + 1)
        for (piece, id) in vocabulary { pieces[Int(id)] = piece.text }
        let merges = try Self.readMerges(json: json, vocabulary: vocabulary)

        var unknownID: Int32?
        if let unknown = try json.optionalString("unk_token") {
            guard let id = vocabulary[PieceKey(unknown)] else {
                throw json.invalid("unk_token", "\"\(unknown)\" is not in model.vocab")
            }
            unknownID = id
        }
        self.init(vocabulary: vocabulary, pieces: pieces, merges: merges,
                  byteFallback: try json.bool("byte_fallback", default: false), unknownID: unknownID,
                  fuseUnknown: try json.bool("fuse_unk", default: false),
                  ignoreMerges: try json.bool("ignore_merges", default: false))
    }

    /// A model from its parts: `vocabulary` piece → id, `pieces` id → piece ("" for an unused id),
    /// `merges` (left id, right id) → (rank, merged id); with `byteFallback` an unknown scalar
    /// becomes its `<0xNN>` pieces when all exist.
    init(vocabulary: [PieceKey: Int32], pieces: [String], merges: BPEMergeTable, byteFallback: Bool,
         unknownID: Int32?, fuseUnknown: Bool, ignoreMerges: Bool) {
        var scalarIDs: [UInt32: Int32] = [:]
        for (piece, id) in vocabulary {
            let scalars = piece.text.unicodeScalars
            if scalars.count == 1 { scalarIDs[scalars.first!.value] = id }
        }
        self.vocabulary = vocabulary
        self.pieces = pieces
        self.scalarIDs = scalarIDs
        self.merges = merges
        byteIDs = byteFallback ? (0...255).map { vocabulary[PieceKey(Self.bytePiece(UInt8($0)))] ?? -1 } : nil
        self.unknownID = unknownID
        self.fuseUnknown = fuseUnknown
        self.ignoreMerges = ignoreMerges
    }

    /// Merges in either JSON form: `"left right"` strings (split at the one space) or
    /// `["left", "right"]` pairs. A pair listed twice keeps its later rank, as tokenizers' map does.
    private static func readMerges(json: TokenizerJSON, vocabulary: [PieceKey: Int32]) throws -> BPEMergeTable {
        let entries = try json.array("merges")
        var merges = BPEMergeTable(capacity: entries.count)
        for (rank, entry) in entries.enumerated() {
            let parts: [String]
            if let line = entry as? String {
                parts = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            } else if let pair = entry as? [Any], let strings = pair as? [String] {
                parts = strings
            } else {
                throw json.invalid("merges[\(rank)]", "expected \"left right\" or [\"left\", \"right\"]")
            }
            guard parts.count == 2 else {
                throw json.invalid("merges[\(rank)]", "expected exactly two tokens, found \(parts.count)")
            }
            var ids: [Int32] = []
            for token in [parts[0], parts[1], parts[0] + parts[1]] {
                guard let id = vocabulary[PieceKey(token)] else {
                    throw TokenizerError.mergeTokenNotInVocabulary(source: json.source, mergeIndex: rank, token: token)
                }
                ids.append(id)
            }
            merges.insert(left: ids[0], right: ids[1], rank: UInt32(rank), mergedID: ids[2])
        }
        return merges
    }

    /// The byte-fallback piece of `byte`: "<0x0A>" for 10.
    static func bytePiece(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "<0x" + (byte < 16 ? "0" : "") + hex + ">"
    }

    /// Appends the ids of `word` (one pre-tokenized piece) to `ids`.
    func tokenize(_ word: String, into ids: inout [Int]) {
        if ignoreMerges, let id = vocabulary[PieceKey(word)] {
            ids.append(Int(id))
            return
        }
        var symbols = initialSymbols(word)
        mergeAll(&symbols)
        for id in symbols where id >= 0 { ids.append(Int(id)) }
    }

    /// One id per scalar, or its byte-fallback ids, or the (fused) unknown id; unknown scalars are
    /// dropped when the model has neither byte fallback nor unk_token.
    private func initialSymbols(_ word: String) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.utf8.count)
        var pendingUnknown = false
        for scalar in word.unicodeScalars {
            if let id = scalarIDs[scalar.value] {
                if pendingUnknown, let unknownID { symbols.append(unknownID) }
                pendingUnknown = false
                symbols.append(id)
                continue
            }
            if let byteIDs {
                let bytes = Array(String(scalar).utf8)
                if bytes.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                    // As in tokenizers, a pending unknown is not flushed here: it lands after these bytes.
                    symbols.append(contentsOf: bytes.map { byteIDs[Int($0)] })
                    continue
                }
            }
            guard let unknownID else { continue }
            if pendingUnknown && !fuseUnknown { symbols.append(unknownID) }
            pendingUnknown = true
        }
        if pendingUnknown, let unknownID { symbols.append(unknownID) }
        return symbols
    }

    /// tokenizers' `Word::merge_all` without dropout: symbols form a linked list; the queue holds
    /// candidate pairs by (rank, position); a popped entry is skipped when its left symbol is gone,
    /// has no right neighbour, or the pair there is no longer the one queued. (tokenizers compares
    /// the merged id; as a symbol only grows by absorbing its right neighbour, the pair at a position
    /// merges to the same id exactly when it is the same pair, i.e. has the same rank. Where merges
    /// share a rank — the SentencePiece form — a stale entry whose rank equals that of the pair now at
    /// its position merges that pair, exactly as the pair's own entry, with the same key, would.)
    /// Merged-away symbols are marked −1.
    private func mergeAll(_ symbols: inout [Int32]) {
        let count = symbols.count
        guard count > 1 else { return }
        var previous = (0..<count).map { Int32($0) - 1 }
        var next = (0..<count).map { $0 + 1 < count ? Int32($0 + 1) : -1 }
        var candidates: [UInt64] = []
        candidates.reserveCapacity(count)
        for position in 0..<(count - 1) {
            if let found = merges.merge(symbols[position], symbols[position + 1]) {
                candidates.append(BPEMergeQueue.key(rank: found.rank, position: position))
            }
        }
        var queue = BPEMergeQueue(heapifying: candidates)
        while let top = queue.pop() {
            let position = top.position
            guard symbols[position] >= 0, next[position] >= 0 else { continue }
            let right = Int(next[position])
            guard let current = merges.merge(symbols[position], symbols[right]), current.rank == top.rank else { continue }

            symbols[position] = current.mergedID
            symbols[right] = -1
            let afterRight = next[right]
            next[position] = afterRight
            if afterRight >= 0 { previous[Int(afterRight)] = Int32(position) }

            let before = previous[position]
            if before >= 0, let found = merges.merge(symbols[Int(before)], current.mergedID) {
                queue.push(rank: found.rank, position: Int(before))
            }
            if afterRight >= 0, let found = merges.merge(current.mergedID, symbols[Int(afterRight)]) {
                queue.push(rank: found.rank, position: position)
            }
        }
    }
}
