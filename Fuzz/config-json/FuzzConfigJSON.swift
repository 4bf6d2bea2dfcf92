import Checkpoints
import Foundation
import FuzzSupport

/// libFuzzer target: the input is a `config.json` (`MixtralConfig(json:path:)` and its checks), and the
/// parameter counts `info` prints from an accepted one.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let config = try? MixtralConfig(json: fuzzInput(data, size), path: "fuzz/config.json") else { return 0 }
    _ = (config.parameterCount, config.activeParameterCount)
    return 0
}
