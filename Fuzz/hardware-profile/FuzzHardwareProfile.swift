import Foundation
import FuzzSupport
import Offloading

/// libFuzzer target: the input is a hardware profile JSON as `--hardware FILE.json` reads it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHardwareProfile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = ScratchFiles.write(fuzzInput(data, size), to: "hardware.json")
    _ = try? HardwareProfile(contentsOf: url)
    return 0
}
