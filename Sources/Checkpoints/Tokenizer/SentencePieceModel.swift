extension BPEModel {
    /// llama.cpp's SentencePiece tokenizer (`llm_tokenizer_spm_session` in `src/llama-vocab.cpp`,
    /// the same algorithm as sentencepiece's `bpe_model.cc`) expressed as a BPE model.
    ///
    /// llama.cpp splits the text into characters, then repeatedly merges the adjacent pair whose
    /// concatenation is a token with the highest score (leftmost on equal scores); a character that
    /// is no token becomes its `<0xNN>` byte tokens. Here every split of every token into two tokens
    /// is a merge, ranked by the merged token's score (equal scores share a rank, so the leftmost pair
    /// wins as in llama.cpp), and `BPEModel`'s merge loop does the rest. A token listed twice is found
    /// by text as its later id, as llama.cpp's `token_to_id` map does. One case differs from
    /// llama.cpp: a token containing a character that is not itself a token is never formed
    /// (sentencepiece BPE vocabularies contain every character of their pieces).
    init(sentencePiece vocabulary: SentencePieceVocabulary) {
        var ids: [PieceKey: Int32] = [:]
        ids.reserveCapacity(vocabulary.tokens.count)
        for (id, token) in vocabulary.tokens.enumerated() { ids[PieceKey(token)] = Int32(id) }

        let scoresHighestFirst = Set(vocabulary.scores).sorted(by: >)
        let rankOfScore = Dictionary(uniqueKeysWithValues: scoresHighestFirst.enumerated().map { ($1, UInt32($0)) })
        var merges: [(left: Int32, right: Int32, rank: UInt32, merged: Int32)] = []
        for (piece, merged) in ids {
            let scalars = Array(piece.text.unicodeScalars)
            guard scalars.count > 1 else { continue }
            let rank = rankOfScore[vocabulary.scores[Int(merged)]]!
            for split in 1..<scalars.count {
                guard let left = ids[PieceKey(String(String.UnicodeScalarView(scalars[..<split])))],
                      let right = ids[PieceKey(String(String.UnicodeScalarView(scalars[split...])))] else { continue }
                merges.append((left, right, rank, merged))
            }
        }
        var table = BPEMergeTable(capacity: merges.count)
        for merge in merges {
            table.insert(left: merge.left, right: merge.right, rank: merge.rank, mergedID: merge.merged)
        }
        self.init(vocabulary: ids, pieces: vocabulary.tokens, merges: table, byteFallback: true,
                  unknownID: vocabulary.unknownID.map(Int32.init), fuseUnknown: false, ignoreMerges: false)
    }
}
