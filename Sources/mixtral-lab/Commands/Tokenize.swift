import ArgumentParser
import Foundation
import Checkpoints

/// `mixtral-lab tokenize`: text → ids and pieces, or ids → text, as JSON.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize TEXT ({\"ids\", \"tokens\"}) or decode --decode 1,2,3 ({\"text\"}) with the model's tokenizer.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(parsing: .unconditional, help: "Comma-separated token ids to decode instead of tokenizing.") var decode: String?
    @Flag(help: "Do not prepend the BOS token when tokenizing.") var noBos = false
    @Argument(help: "Text to tokenize.") var text: String?

    func validate() throws {
        if decode == nil && text == nil { throw ValidationError("give TEXT to tokenize or --decode IDS") }
        if decode != nil && text != nil { throw ValidationError("give either TEXT or --decode, not both") }
    }

    func run() throws {
        let tokenizer = try modelOptions.tokenizer()
        let object: [String: Any]
        if let decode {
            let ids = try parseTokenIDs(decode, flag: "--decode")
            if let bad = ids.first(where: { $0 >= tokenizer.vocabularySize }) {
                throw ValidationError("--decode: \(bad) is outside the vocabulary (0..<\(tokenizer.vocabularySize))")
            }
            object = ["text": tokenizer.decode(ids)]
        } else {
            let ids = tokenizer.encode(text ?? "", addBOS: !noBos)
            object = ["ids": ids, "tokens": ids.map { tokenizer.tokenString($0) }]
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        emit(String(decoding: data, as: UTF8.self))
    }
}
