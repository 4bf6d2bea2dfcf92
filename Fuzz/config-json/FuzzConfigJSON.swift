import Checkpoints
import Foundation
import FuzzSupport

/// libFuzzer target: the input is a `config.json` (`MixtralConfig(json:path:)` and its checks).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? MixtralConfig(json: fuzzInput(data, size), path: "fuzz/config.json")
    return 0
}
