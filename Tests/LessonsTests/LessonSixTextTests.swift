import Testing
import Foundation
import Checkpoints
import Quantization
@testable import Lessons
import Reports
import TestSupport

/// Lesson 6's sentences follow the run they describe (review 9, F33 and F34).
struct LessonSixTextTests {
    /// The verdict under the predicted-against-measured table names the direction the rows show; rows on
    /// both sides of 1 are called noise, not a bias of the clock.
    @Test func theVerdictFollowsTheRows() {
        let mixed = PredictedMeasuredExperiment.verdict(ratios: [0.34, 1.14, 0.70])
        #expect(mixed.hasPrefix("Measured ÷ predicted runs from 0.34 to 1.14 over the rows, 1 of 3 within 25 %. "))
        #expect(mixed.contains("Some rows ran faster than predicted and some slower, so the spread is noise"))
        #expect(!mixed.contains("Slower than predicted") && !mixed.contains("Faster than predicted"))
        let slower = PredictedMeasuredExperiment.verdict(ratios: [0.34, 0.9, 0.70])
        #expect(slower.contains("Slower than predicted: the probe times the kernels") && !slower.contains("noise"))
        let faster = PredictedMeasuredExperiment.verdict(ratios: [1.4, 1.1, 1.0])
        #expect(faster.contains("Faster than predicted: the disk served the runs faster") && !faster.contains("Slower"))
        #expect(PredictedMeasuredExperiment.verdict(ratios: [0.8, 1.2]).hasPrefix("Every row is within 25 %"))
    }

    /// The size of a fetched expert is given with the precision it is stored in on this run, not "fp32".
    @Test func theExpertSizeNamesTheRunsPrecision() throws {
        let lesson = try String(contentsOf: try LessonLibrary().files.first { $0.lastPathComponent.hasPrefix("06-") }!, encoding: .utf8)
        #expect(lesson.contains("({{ s.expert_bytes|bytes }} per expert of this model, stored in {{ s.expert_precision }} here)"))
        let directory = try DefaultModel.locate()
        let scratch = try TemporaryDirectory("lesson-six")
        let lab = LabContext(checkpoint: try Checkpoint(directory: directory),
                             tokenizer: try Tokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json")),
                             outputDirectory: scratch.url,
                             basePrecision: PrecisionSpec(uniform: .q4), commandLine: "test")
        let sweep = try CacheSweepExperiment(ExperimentParameters(["max_tokens": 4, "prompts": [String](), "policies": ["lru"]],
                                                                  specs: CacheSweepExperiment.parameters))
        let result = try sweep.run(in: lab)
        #expect(result.expertPrecision == "q4")
    }
}
