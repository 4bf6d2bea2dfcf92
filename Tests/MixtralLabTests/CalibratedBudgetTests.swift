import Foundation
import Testing
import TestSupport

/// gptq4/awq4 experts under `--ram-budget`: a checkpoint `quantize` wrote at `experts=gptq4` runs with its
/// experts read in place; experts calibrated at load, or stored awq4 (with input scales), are refused naming
/// `--ram-budget` and what to do instead, before any expert store folder is made.
@Suite(.serialized) struct CalibratedBudgetTests {
    let scratch = try! TemporaryDirectory("calibrated-budget")
    var storeFolder: URL { scratch.url.appendingPathComponent("store") }
    var generate: [String] { ["generate", "--max-tokens", "2", "--ram-budget", "14MiB", "--offload-store", storeFolder.path] }

    /// The default model written by `quantize --precision experts=METHOD`, calibrated on 64 tokens.
    func quantized(_ method: String) throws -> String {
        let folder = scratch.url.appendingPathComponent(method).path
        #expect(failure(["quantize", "--precision", "experts=\(method)", "--calibration-tokens", "64", "--output", folder]) == nil)
        return folder
    }

    @Test(arguments: ["gptq4", "awq4"])
    func calibratingAtLoadIsRefused(_ method: String) {
        let result = failure(generate + ["--precision", "experts=\(method)"])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--ram-budget: experts=\(method) is calibrated when the whole model loads") == true, "\(String(describing: result))")
        #expect(!FileManager.default.fileExists(atPath: storeFolder.path))
    }

    @Test func storedAWQ4IsRefusedAndStoredGPTQ4IsReadInPlace() throws {
        let awq = try quantized("awq4")
        let result = failure(generate + ["--model", awq])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--ram-budget: the experts of \(awq) are stored awq4") == true, "\(String(describing: result))")

        let gptq = try quantized("gptq4")
        let log = try standardError { #expect(failure(generate + ["--model", gptq]) == nil) }
        #expect(log.contains("experts from \(gptq)/model.safetensors (read in place, q4_0)"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: storeFolder.path))
    }
}
