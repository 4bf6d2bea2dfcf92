import Testing
import Foundation
import TestSupport

/// Lesson 9 with `--model FILE`: besides the committed measurements, it runs the given GGUF live — here
/// the default model exported to a Q4_0 GGUF, its experts read in place under `--ram-budget` — and its
/// report gives this run's figures, bytes per decoded token included.
struct FullSizeLessonLiveTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("full-size-lesson-live") }

    @Test func lessonNineRunsAGGUFLiveUnderABudget() throws {
        let gguf = scratch.url.appendingPathComponent("model-q4.gguf")
        #expect(failure(["export", "--format", "gguf", "--precision", "q4", "--output", gguf.path]) == nil)
        let output = scratch.url.appendingPathComponent("lesson")
        let store = scratch.url.appendingPathComponent("store")
        let result = failure(["lesson", "run", "9", "--model", gguf.path, "--ram-budget", "24MiB",
                              "--offload-store", store.path, "--out", output.path])
        #expect(result == nil, "\(result?.message ?? "")")
        let report = try String(contentsOf: output.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("Measured just now on model-q4.gguf"), "the live run's paragraph is missing")
        #expect(report.contains("The experts streamed under the budget: "), "the run did not stream its experts")
        #expect(report.contains(" of experts; each decoded token read "))
        // the committed measurements are still shown, with their machine, date and command
        #expect(report.contains("Measured by `tools/bench_full_size.py "))
        // the experts came from the GGUF itself, read in place: no expert store was written
        #expect(!FileManager.default.fileExists(atPath: store.path))
        #expect(!report.contains("{{"), "an unfilled placeholder")
    }
}
