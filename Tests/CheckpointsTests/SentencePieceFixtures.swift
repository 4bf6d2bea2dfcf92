import Foundation
@testable import Checkpoints

/// The GGUF vocabulary fixture (made by tools/make_gguf_tokenizer_fixtures.py): Mixtral's
/// `tokenizer.ggml.*` metadata as llama.cpp's converter writes it, with llama.cpp's ids for the
/// strings of cases.json. The tokens themselves are mixtral-tokenizer.json's pieces by id (the script
/// checks they are identical).
enum SentencePieceFixtures {
    struct Case: Decodable { let text: String; let ids: [Int] }
    struct Vocabulary: Decodable {
        let bos_token_id: Int
        let eos_token_id: Int
        let unknown_token_id: Int
        let add_bos_token: Bool
        let add_space_prefix: Bool
        let scores: [Float]
        let token_types: [Int32]
        let cases: [Case]
        let llama_hf: LlamaHF
    }
    /// The vocabulary convert_hf_to_gguf.py writes for a model with only a tokenizer.json
    /// (`_set_vocab_llama_hf`): the same tokens, every score `score`.
    struct LlamaHF: Decodable {
        let score: Float
        let token_types_differing: [String: Int32]
        let bos_token_id: Int
        let eos_token_id: Int
        let unknown_token_id: Int
        let add_bos_token: Bool
        let cases: [Case]
    }

    static let fixture: Vocabulary = TokenizerFixtures.load("gguf-vocabulary.json")

    /// Mixtral's GGUF vocabulary, as the GGUF reader would fill it in.
    static let mixtralVocabulary: SentencePieceVocabulary = {
        let model = TokenizerFixtures.mixtralRoot["model"] as! [String: Any]
        let vocab = model["vocab"] as! [String: Int]
        var tokens = [String](repeating: "", count: vocab.count)
        for (piece, id) in vocab { tokens[id] = piece }
        return SentencePieceVocabulary(
            tokens: tokens, scores: fixture.scores, tokenTypes: fixture.token_types,
            bosID: fixture.bos_token_id, eosID: fixture.eos_token_id, unknownID: fixture.unknown_token_id,
            addBOS: fixture.add_bos_token, addSpacePrefix: fixture.add_space_prefix)
    }()

    static let mixtral: Tokenizer = try! Tokenizer(sentencePiece: mixtralVocabulary)

    /// Mixtral's vocabulary as the converter writes it from tokenizer.json alone.
    static let mixtralLlamaHFVocabulary: SentencePieceVocabulary = {
        let hf = fixture.llama_hf
        var vocabulary = mixtralVocabulary
        vocabulary.scores = [Float](repeating: hf.score, count: vocabulary.tokens.count)
        for (id, type) in hf.token_types_differing { vocabulary.tokenTypes[Int(id)!] = type }
        vocabulary.bosID = hf.bos_token_id
        vocabulary.eosID = hf.eos_token_id
        vocabulary.unknownID = hf.unknown_token_id
        vocabulary.addBOS = hf.add_bos_token
        return vocabulary
    }()
}
