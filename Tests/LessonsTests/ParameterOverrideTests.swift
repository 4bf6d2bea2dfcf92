import Testing
import Foundation
import Checkpoints
import Offloading
import Quantization
@testable import Lessons
import Reports
import TestSupport

/// Command-line settings replacing lab-block parameters (`lesson run --cache-experts …`), and offloading
/// in the precision comparison (`compare --cache-bytes …`), on the embedded default model.
@Suite(.serialized) struct ParameterOverrideTests {
    /// This test's folder, removed when the test ends.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("overrides") }

    /// The default model, writing into this test's folder.
    private func lab() throws -> LabContext {
        let directory = try DefaultModel.locate()
        return LabContext(checkpoint: try Checkpoint(directory: directory),
                          tokenizer: try Tokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json")),
                          outputDirectory: scratch.url, basePrecision: PrecisionSpec(uniform: .fp32), commandLine: "test")
    }

    @Test func overridesReplaceTheLessonsSettingsAndTheProseFollows() throws {
        var overrides = ParameterOverrides()
        overrides.set("cache_experts", to: 2, flag: "--cache-experts")
        overrides.set("policy", to: "lfu", flag: "--policy")
        overrides.set("hardware", to: "colab-t4", flag: "--hardware")
        let lab = try lab()
        let report = try LessonRunner(lesson: try LessonLibrary().lesson("6"), lab: lab, overrides: overrides, write: { _ in }).run()
        // Prose wraps lines: compare with single spaces.
        let text = try String(contentsOf: report, encoding: .utf8).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("cache_experts = 2, policy = lfu, hardware = colab-t4"))
        #expect(text.contains("At 2 experts per layer"))
        #expect(text.contains("from the host RAM into the GPU memory"))
        #expect(text.contains("`lfu` cache of 2 experts per layer"))
        #expect(FileManager.default.fileExists(atPath: lab.output("trace-lfu.jsonl").path))
        #expect(!FileManager.default.fileExists(atPath: lab.output("trace-lru.jsonl").path))
    }

    @Test func anOverrideNoExperimentTakesIsRefusedBeforeAnythingRuns() throws {
        var overrides = ParameterOverrides()
        overrides.set("hardware", to: "colab-t4", flag: "--hardware")
        let lab = try lab()
        var printed = ""
        #expect(throws: LessonError.self) {
            try LessonRunner(lesson: try LessonLibrary().lesson("1"), lab: lab, overrides: overrides, write: { printed += $0 }).run()
        }
        #expect(printed.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: lab.output("report.md").path))
    }

    @Test func aModelLoadingFlagNeedsAnExperimentThatLoadsTheModel() throws {
        var overrides = ParameterOverrides()
        overrides.setModelFlag("--ram-budget", needs: .loadsModel)
        for id in ["1", "2", "8"] {
            let lesson = try LessonLibrary().lesson(id)
            let error = #expect(throws: LessonError.self) { try overrides.checkUsed(by: lesson, onDefaultModel: true) }
            #expect(error?.description.hasPrefix("--ram-budget has no effect on lesson \(lesson.id)") == true)
        }
        for id in ["3", "4", "5", "6", "7", "10", "11", "12"] {
            try overrides.checkUsed(by: try LessonLibrary().lesson(id), onDefaultModel: true)
        }
        // lesson 9 runs a model only with --model: on the default model it shows committed numbers
        let nine = try LessonLibrary().lesson("9")
        let error = #expect(throws: LessonError.self) { try overrides.checkUsed(by: nine, onDefaultModel: true) }
        #expect(error?.description == "--ram-budget has no effect on lesson 9 on the default model: its experiment full-size runs a model only with --model FILE (a model other than the default)")
        try overrides.checkUsed(by: nine, onDefaultModel: false)
    }

    /// `--precision` reaches only experiments that run at the run's precision (lessons 5–7, and 9 with
    /// --model); the others choose their own precisions or run no model.
    @Test func precisionNeedsAnExperimentThatRunsAtIt() throws {
        var overrides = ParameterOverrides()
        overrides.setModelFlag("--precision", needs: .runPrecision)
        for id in ["1", "2", "3", "4", "8", "10", "11", "12"] {
            let lesson = try LessonLibrary().lesson(id)
            let error = #expect(throws: LessonError.self) { try overrides.checkUsed(by: lesson, onDefaultModel: true) }
            #expect(error?.description.hasPrefix("--precision has no effect on lesson \(lesson.id): none of its experiments takes it") == true,
                    "\(error?.description ?? "accepted")")
        }
        for id in ["5", "6", "7"] {
            try overrides.checkUsed(by: try LessonLibrary().lesson(id), onDefaultModel: true)
        }
        let nine = try LessonLibrary().lesson("9")
        #expect(throws: LessonError.self) { try overrides.checkUsed(by: nine, onDefaultModel: true) }
        try overrides.checkUsed(by: nine, onDefaultModel: false)
    }

    /// `--model` reaches every lesson whose experiments read the lab's checkpoint (lesson 9 only off the
    /// default model), not lesson 8, whose plan is for a real Mixtral's shapes (F13).
    @Test func modelNeedsAnExperimentThatReadsTheCheckpoint() throws {
        var overrides = ParameterOverrides()
        overrides.setModelFlag("--model", needs: .readsCheckpoint)
        let eight = try LessonLibrary().lesson("8")
        let error = #expect(throws: LessonError.self) { try overrides.checkUsed(by: eight, onDefaultModel: false) }
        #expect(error?.description.hasPrefix("--model has no effect on lesson 8: none of its experiments takes it") == true,
                "\(error?.description ?? "accepted")")
        for id in ["1", "2", "3", "4", "5", "6", "7", "9", "10", "11", "12"] {
            try overrides.checkUsed(by: try LessonLibrary().lesson(id), onDefaultModel: false)
        }
    }

    /// Lessons whose experiments load the model at precisions of their own, which `--mmap-experts` on F32
    /// experts cannot give (lesson 3 compares several); lessons 5–7 run at `--precision`.
    @Test func experimentsChoosingTheirPrecisionsAreNamed() throws {
        #expect(try LessonLibrary().lesson("3").experimentsChoosingPrecisions(onDefaultModel: true) == ["compare-precisions"])
        for id in ["1", "2", "5", "6", "7", "8"] {
            #expect(try LessonLibrary().lesson(id).experimentsChoosingPrecisions(onDefaultModel: true).isEmpty, "lesson \(id)")
        }
        #expect(try LessonLibrary().lesson("9").experimentsChoosingPrecisions(onDefaultModel: false).isEmpty)
    }

    /// The runner checks on its own model: lesson 9 on the default model refuses --ram-budget before anything runs.
    @Test func theRunnerChecksModelFlagsOnItsModel() throws {
        var overrides = ParameterOverrides()
        overrides.setModelFlag("--mmap-experts", needs: .loadsModel)
        let lab = try lab()
        var printed = ""
        #expect(throws: LessonError.self) {
            try LessonRunner(lesson: try LessonLibrary().lesson("9"), lab: lab, overrides: overrides, write: { printed += $0 }).run()
        }
        #expect(printed.isEmpty)
    }

    @Test func comparisonSimulatesEachPrecisionWithItsOwnExpertSizes() throws {
        let lab = try lab()
        let budget = 4 * 576 * 1024                      // one fp32 expert (576 KiB) per layer, 4 layers
        let setup = OffloadingSetup(policy: .lru, cache: .bytes(budget), hardware: try HardwareProfile.named("laptop-16gb-nvme"))
        let comparison = try PrecisionComparison(lab: lab, promptIDs: lab.tokenizer.encode("ROMEO:\n", addBOS: true), precisions: [PrecisionSpec(uniform: .q4)],
                                                 maxTokens: 8, heldoutTokens: 0, offloading: setup)
        let fp32 = try #require(comparison.rows[0].offloading)
        let q4 = try #require(comparison.rows[1].offloading)
        #expect(fp32.cacheExperts == 1)
        #expect(q4.cacheExperts == 7)                    // 4.5 bits per weight: 7 q4 experts in one fp32 expert's bytes
        #expect(q4.hitRate > fp32.hitRate)
        #expect(q4.bytesTransferred < fp32.bytesTransferred)
        #expect(comparison.table().description.contains("est. tok/s on laptop-16gb-nvme"))
    }
}
