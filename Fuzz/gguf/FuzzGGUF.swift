import Checkpoints
import Foundation
import FuzzSupport

/// libFuzzer target: the input is a GGUF file given as `--model FILE` would give it. `Checkpoint` checks
/// the magic and reads the header, the metadata key–values and the tensor infos (`GGUFFile`), the
/// config from the `llama.*` keys and the tensor locations; the tokenizer is built from the
/// `tokenizer.ggml.*` vocabulary, and every tensor is converted to fp32 (GGML block decoders, bounds).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = ScratchFiles.write(fuzzInput(data, size), to: "model.gguf")
    if let file = try? GGUFFile(url: url), let vocabulary = try? SentencePieceVocabulary(gguf: file),
       let tokenizer = try? Tokenizer(sentencePiece: vocabulary) {
        _ = tokenizer.decode(tokenizer.encode("ROMEO: Thou art ☃"))
    }
    guard let checkpoint = try? Checkpoint(directory: url) else { return 0 }
    for name in checkpoint.tensorNames { _ = try? checkpoint.floats(name) }
    return 0
}
