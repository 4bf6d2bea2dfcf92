import Testing
import Foundation
import TestSupport

/// Offloading flags beyond what the model has are refused before anything loads, naming the flag, the
/// value and the model's limit (the embedded model: 4 layers, 8 experts per layer).
struct ModelLimitTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("model-limits") }

    @Test func lookaheadPastTheLastLayerIsRefused() {
        for command in [["generate"], ["trace", "--out", scratch.url.appendingPathComponent("trace").path], ["step"], ["compare"]] {
            let result = failure(command + ["--policy", "lru+prefetch", "--lookahead", "4"])
            #expect(result?.code == 2)
            #expect(result?.message == "--lookahead 4: the model has 4 layers, so a layer has at most 3 layers after it; give 1…3", "\(command)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("trace").path))
    }

    @Test func prefetchOfMoreExpertsThanALayerHasIsRefused() {
        let result = failure(["generate", "--policy", "lru+prefetch", "--prefetch", "9"])
        #expect(result?.code == 2)
        #expect(result?.message == "--prefetch 9: the model has 8 experts per layer; give 1…8")
    }

    @Test func lessonRunRefusesThemBeforeWritingItsOutput() {
        let output = scratch.url.appendingPathComponent("lesson")
        let result = failure(["lesson", "run", "7", "--lookahead", "9", "--out", output.path])
        #expect(result?.message.hasPrefix("--lookahead 9: the model has 4 layers") == true, "\(result?.message ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
