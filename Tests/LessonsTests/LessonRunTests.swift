import Testing
import Foundation
import Checkpoints
import Quantization
@testable import Lessons
import Reports
import TestSupport

/// Every shipped lesson runs end to end on the embedded default model: the report is written, every
/// placeholder is filled, and every chart it names exists as a PNG.
@Suite(.serialized) struct LessonRunTests {
    /// This test's folder, removed when the test ends.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("lesson-run") }

    @Test(arguments: try! LessonLibrary().files.map { $0.deletingPathExtension().lastPathComponent })
    func lessonRunsOnTheDefaultModel(name: String) throws {
        let lesson = try LessonLibrary().lesson(name)
        let output = scratch.url
        let directory = try DefaultModel.locate()
        let lab = LabContext(checkpoint: try Checkpoint(directory: directory),
                             tokenizer: try Tokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json")),
                             outputDirectory: output, basePrecision: PrecisionSpec(uniform: .fp32), commandLine: "test")
        var printed = ""
        let report = try LessonRunner(lesson: lesson, lab: lab, write: { printed += $0 }).run()
        let text = try String(contentsOf: report, encoding: .utf8)
        #expect(!text.contains("{{") && !text.contains("}}"), "unfilled placeholder in \(name)")
        #expect(text.range(of: #"\b(nan|-?inf)\b"#, options: .regularExpression) == nil, "a NaN or infinity reached the text of \(name)")
        let charts = text.components(separatedBy: "](").dropFirst().compactMap { $0.split(separator: ")").first }.map(String.init)
        #expect(!charts.isEmpty, "\(name) shows no chart")
        for chart in charts {
            let data = try Data(contentsOf: output.appendingPathComponent(chart))
            #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(chart) is not a PNG")
        }
        #expect(printed.contains("Step 1/"))
    }

    @Test func closingSectionsEndTheReportAndTheTerminalText() throws {
        let lesson = try LessonLibrary().lesson("1")
        let directory = try DefaultModel.locate()
        let lab = LabContext(checkpoint: try Checkpoint(directory: directory),
                             tokenizer: try Tokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json")),
                             outputDirectory: scratch.url, basePrecision: PrecisionSpec(uniform: .fp32), commandLine: "test")
        var printed = ""
        let section = LessonRunner.ReportSection(title: "Measured beside the lesson", markdown: "- one line")
        let report = try LessonRunner(lesson: lesson, lab: lab, closingSections: { [section] }, write: { printed += $0 }).run()
        let text = try String(contentsOf: report, encoding: .utf8)
        #expect(text.hasSuffix("\n## Measured beside the lesson\n\n- one line\n\n"))
        #expect(printed.contains("Measured beside the lesson\n──────────────────────────\n- one line"))
    }
}
