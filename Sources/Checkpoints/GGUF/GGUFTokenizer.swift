extension SentencePieceVocabulary {
    /// The vocabulary of a GGUF file's `tokenizer.ggml.*` metadata (gguf-py `Keys.Tokenizer`):
    /// `model` (must be "llama", a SentencePiece vocabulary), `tokens`, `scores`, `token_type`,
    /// `bos_token_id`, `eos_token_id`, `unknown_token_id`, `add_bos_token` and `add_space_prefix`
    /// (both default true, as llama.cpp's `llama_vocab::impl::load` for "llama").
    /// - Throws: `TokenizerError.missingKey` / `.invalidValue` / `.unsupported` naming the key and the file.
    public init(gguf: GGUFFile) throws {
        let source = gguf.path
        func key(_ name: String) -> String { "tokenizer.ggml." + name }
        func invalid(_ name: String, _ problem: String) -> TokenizerError {
            .invalidValue(source: source, keyPath: key(name), problem: problem)
        }
        func array<T>(_ name: String, _ element: (GGUFValue) -> T?, expected: String) throws -> [T] {
            guard let value = gguf.metadata[key(name)] else { throw TokenizerError.missingKey(source: source, keyPath: key(name)) }
            guard let values = value.array else { throw invalid(name, "is \(value.type), expected an array of \(expected)") }
            return try values.enumerated().map { i, v in
                guard let x = element(v) else { throw invalid(name, "element \(i) is \(v.type), expected \(expected)") }
                return x
            }
        }
        func id(_ name: String) throws -> Int? {
            guard let value = gguf.metadata[key(name)] else { return nil }
            guard let id = value.int else { throw invalid(name, "is \(value.type), expected an integer") }
            return id
        }
        func flag(_ name: String) throws -> Bool {
            guard let value = gguf.metadata[key(name)] else { return true }
            guard let b = value.bool else { throw invalid(name, "is \(value.type), expected a bool") }
            return b
        }
        guard let model = gguf.metadata[key("model")]?.string else { throw TokenizerError.missingKey(source: source, keyPath: key("model")) }
        guard model == "llama" else {
            throw TokenizerError.unsupported(source: source, keyPath: key("model"),
                                             reason: "tokenizer model \"\(model)\"; mixtral-lab reads the SentencePiece vocabulary \"llama\"")
        }
        self.init(tokens: try array("tokens", { $0.string }, expected: "strings"),
                  scores: try array("scores", { $0.double.map(Float.init) }, expected: "numbers"),
                  tokenTypes: try array("token_type", { $0.int.flatMap { Int32(exactly: $0) } }, expected: "int32"),
                  bosID: try id("bos_token_id"), eosID: try id("eos_token_id"), unknownID: try id("unknown_token_id"),
                  addBOS: try flag("add_bos_token"), addSpacePrefix: try flag("add_space_prefix"))
    }
}
