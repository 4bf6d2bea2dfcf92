import Checkpoints
import Foundation
import FuzzSupport

/// libFuzzer target: the input is a `model.safetensors` next to a valid tiny `config.json`. The header is
/// parsed (`SafeTensorsFile`), then every tensor the header accepted is converted to fp32 (the dtype
/// conversions and bounds the engine relies on), and a `__metadata__` calibration record is parsed. Errors are expected; crashes, hangs and huge
/// allocations are not.
private let folder: URL = {
    let config = #"{"architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "vocab_size": 32, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "num_local_experts": 2, "num_experts_per_tok": 1, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 64, "tie_word_embeddings": false}"#
    _ = ScratchFiles.write(Data(config.utf8), to: "config.json")
    return ScratchFiles.folder
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = ScratchFiles.write(fuzzInput(data, size), to: "model.safetensors")
    _ = try? SafeTensorsFile(url: folder.appendingPathComponent("model.safetensors"))
    guard let checkpoint = try? Checkpoint(directory: folder) else { return 0 }
    for name in checkpoint.tensorNames { _ = try? checkpoint.floats(name) }
    _ = try? checkpoint.calibrationRecord()
    return 0
}
