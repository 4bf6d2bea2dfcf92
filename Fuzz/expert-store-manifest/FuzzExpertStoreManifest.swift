import Checkpoints
import Foundation
import FuzzSupport
import Offloading
import Quantization

/// libFuzzer target: the input is an expert store's `manifest.json`. At start an expert store is built for
/// a small checkpoint (`MIXTRAL_LAB_FUZZ_CHECKPOINT`, default the offloading tests' bf16-8experts fixture,
/// relative to the checkout `scripts/fuzz.sh` runs from) at nf4 (its rows of 48 are no whole Q4_0 blocks); each input replaces its manifest and the
/// store is opened as a run would open it (decode, identity and layout checks, size check, locations).
/// With `MIXTRAL_LAB_FUZZ_SEEDS=DIR`, the valid manifest is copied into DIR as a seed.
private let checkpoint = try! Checkpoint(directory: URL(fileURLWithPath:
    ProcessInfo.processInfo.environment["MIXTRAL_LAB_FUZZ_CHECKPOINT"] ?? "Tests/OffloadingTests/Fixtures/bf16-8experts"))
private let precision = try! PrecisionSpec(parsing: "nf4")
private let store = ScratchFiles.folder.appendingPathComponent("store")

@_cdecl("LLVMFuzzerInitialize")
public func initializeExpertStoreManifest(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    _ = try! ExpertStore.build(store, checkpoint: checkpoint, precision: precision)
    if let seeds = ProcessInfo.processInfo.environment["MIXTRAL_LAB_FUZZ_SEEDS"] {
        let seed = URL(fileURLWithPath: seeds).appendingPathComponent("built-manifest.json")
        try? FileManager.default.removeItem(at: seed)
        try! FileManager.default.copyItem(at: store.appendingPathComponent("manifest.json"), to: seed)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpertStoreManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    try! fuzzInput(data, size).write(to: store.appendingPathComponent("manifest.json"))
    _ = try? ExpertStore.open(store, checkpoint: checkpoint, precision: precision)
    return 0
}
