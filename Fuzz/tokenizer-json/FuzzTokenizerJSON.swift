import Checkpoints
import Foundation
import FuzzSupport

/// libFuzzer target: the input is a `tokenizer.json`. A tokenizer that loads then encodes and decodes a
/// short text with spaces, digits, punctuation and non-ASCII letters (its normalizer, pre-tokenizer, BPE
/// merges, byte fallback, post-processor and decoder all run).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let tokenizer = try? Tokenizer(json: fuzzInput(data, size), source: "fuzz/tokenizer.json") else { return 0 }
    let ids = tokenizer.encode("ROMEO: Thou art 2 fair, ça va? ☃\n")
    _ = tokenizer.decode(ids)
    _ = tokenizer.decode(ids, skipSpecialTokens: true)
    _ = tokenizer.decode([0, 1, 2, 3, tokenizer.vocabularySize - 1, tokenizer.vocabularySize, -1])
    return 0
}
