import Testing
import Foundation
@testable import Lessons
import TestSupport

/// Writes `text` as `name` in a fresh folder and parses it.
private func parse(_ text: String, name: String = "01-sample.md") throws -> Lesson {
    try withTemporaryDirectory("lessons") { folder in
        let file = folder.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return try LessonParser.parse(file: file)
    }
}

/// The `file:line: problem` message of the error `text` raises.
private func problem(_ text: String, name: String = "01-sample.md") -> String {
    do { _ = try parse(text, name: name); return "no error" } catch { return "\(error)" }
}

private let front = """
---
id: 1
title: Sample
summary: A sample lesson.
minutes: 3
model: default
---

"""

@Suite struct LessonParserTests {
    @Test func parsesStepsProseAndLabBlocks() throws {
        let lesson = try parse(front + """
        Intro text.

        ## First step

        ```lab
        experiment: quantize-tensor
        name: t
        precisions: [q4]
        ```

        The SNR is {{ t.precisions.q4.snr_db|fixed:1 }} dB.

        ```
        mixtral-lab lesson run 2
        ```

        ## Second step

        More {{ t.table }}.
        """)
        #expect(lesson.id == 1 && lesson.slug == "sample" && lesson.title == "Sample" && lesson.minutes == 3)
        #expect(lesson.steps.map(\.title) == ["First step", "Second step"])
        #expect(lesson.steps[0].line == 10)
        guard case .lab(let block) = lesson.steps[0].parts[0] else { Issue.record("expected a lab block"); return }
        #expect(block.experiment == "quantize-tensor" && block.name == "t" && block.line == 12)
        #expect(block.parameters["precisions"] as? [String] == ["q4"])
        #expect(lesson.introduction.count == 1)
    }

    @Test func malformedLessonsNameFileLineAndProblem() {
        #expect(problem("no front matter\n## Step\n").contains(":1: missing front matter"))
        #expect(problem("---\nid: [unclosed\n---\n## Step\n").contains("front matter is not valid YAML"))
        #expect(problem(front.replacingOccurrences(of: "id: 1", with: "id: 2") + "## Step\n").contains("does not match the file number 1"))
        #expect(problem(front.replacingOccurrences(of: "minutes: 3\n", with: "") + "## Step\n").contains("lacks \"minutes\""))
        #expect(problem(front + "## Step\n\n```lab\nexperiment: nonsense\nname: x\n```\n").contains(":10: unknown experiment \"nonsense\""))
        #expect(problem(front + "## Step\n\n```lab\nexperiment: quantize-tensor\nname: x\nbogus: 1\n```\n")
            .contains("unknown parameter \"bogus\""))
        #expect(problem(front + "## Step\n\n```lab\nexperiment: quantize-tensor\nname: x\ntensor: 5\n```\n")
            .contains("parameter \"tensor\" must be text"))
        #expect(problem(front + "## Step\n\n```lab\nexperiment: quantize-tensor\nname: x\n").contains("lab block is not closed"))
        #expect(problem(front + "## Step\n\nValue {{ nowhere.snr }}.\n").contains(":10: placeholder {{ nowhere.snr }} names no lab block"))
        #expect(problem(front + "## Step\n\n```lab\nexperiment: routing\nname: r\n```\n\nOops {{ r.bogus_key }}\n")
            .contains("experiment routing gives"))
        #expect(problem(front + "Only an introduction.\n").contains("at least one step"))
        #expect(problem(front + "## Step\n", name: "sample.md").contains("named NN-slug.md"))
    }

    /// Every placeholder is checked down to its last key against the experiment's result type, including keys
    /// that come from the lab block's parameters (one entry per precision).
    @Test func misspeltNestedPlaceholdersAreRefused() {
        let lab = front + "## Step\n\n```lab\nexperiment: quantize-tensor\nname: t\nprecisions: [int8, q4]\n```\n\n"
        #expect(problem(lab + "Fine {{ t.precisions.q4.snr_db }} and {{ t.chart_quantization_error }}.\n") == "no error")
        // a misspelt key under a precision
        #expect(problem(lab + "Oops {{ t.precisions.q4.snr_dB }}\n")
            .contains(":16: placeholder {{ t.precisions.q4.snr_dB }}: experiment quantize-tensor gives under precisions.q4 bits, bytes,"))
        // a precision the lab block does not measure
        #expect(problem(lab + "Oops {{ t.precisions.nf4.snr_db }}\n")
            .contains("gives under precisions int8, q4"))
        // a path that stops at a dictionary, or goes below a value
        #expect(problem(lab + "Oops {{ t.precisions.q4 }}\n").contains("gives under precisions.q4 bits, bytes,"))
        #expect(problem(lab + "Oops {{ t.table.rows }}\n").contains("gives under table a value, nothing below it"))
        // a chart the experiment does not write
        #expect(problem(lab + "Oops {{ t.chart_block_levels }}\n").contains("experiment quantize-tensor gives "))
        // nested keys of a fixed struct (block-scales' q4 is a scheme, not a precision entry)
        let scales = front + "## Step\n\n```lab\nexperiment: block-scales\nname: b\n```\n\n"
        #expect(problem(scales + "Fine {{ b.nf4_32.snr_db }} {{ b.beyond_3sigma }}.\n") == "no error")
        #expect(problem(scales + "Oops {{ b.nf4_32.snr }}\n").contains("gives under nf4_32 bits, max_error, rel_error, snr_db"))
    }

    /// No experiment opts out: every one's placeholders are read from its result type.
    @Test func everyExperimentHasReadableResultKeys() throws {
        for type in ExperimentCatalog.all {
            let keys = try type.resultKeys(ExperimentParameters([:], specs: type.parameters))
            #expect(!(keys.keys(below: []) ?? []).isEmpty, "\(type.name) has no result keys")
        }
    }

    @Test func placeholderMayNotComeBeforeItsLabBlock() {
        let text = front + "## One\n\nEarly {{ later.table }}\n\n## Two\n\n```lab\nexperiment: quantize-tensor\nname: later\n```\n"
        #expect(problem(text).contains(":10: placeholder {{ later.table }} names no lab block run before it"))
    }

    @Test func shippedLessonsPassTheCheck() throws {
        let lessons = try LessonLibrary().lessons()
        #expect(lessons.count >= 5)
        #expect(lessons.map(\.id) == Array(1...lessons.count))
    }
}

@Suite struct TemplateRendererTests {
    @Test func filtersFormatNumbers() throws {
        let renderer = TemplateRenderer()
        let results: [String: Any] = ["a": ["x": 3.14159, "n": 1234567, "b": 2.5 * 1_048_576, "p": 0.1234, "s": 0.000123]]
        let text = try renderer.render("{{ a.x|fixed:2 }} {{ a.n|grouped }} {{ a.b|bytes }} {{ a.p|percent:1 }} {{ a.s|sci:1 }} {{ a.x }}",
                                       results: results, file: "f.md", line: 1)
        #expect(text == "3.14 1,234,567 2.5 MiB 12.3 % 1.2e-04 3.14")
    }

    @Test func countedFilterAgreesTheNounWithTheCount() throws {
        let text = try TemplateRenderer().render("{{ a.one|counted:\"expert\" }}, {{ a.two|counted:\"expert\" }}, {{ a.zero|counted:\"slot\" }}",
                                                 results: ["a": ["one": 1, "two": 2.0, "zero": 0]], file: "f.md", line: 1)
        #expect(text == "1 expert, 2 experts, 0 slots")
    }

    @Test func missingValueIsAnErrorNotAnEmptyString() {
        do {
            _ = try TemplateRenderer().render("line one\nvalue {{ a.missing }}", results: ["a": ["x": 1.0]], file: "f.md", line: 7)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "f.md:8: placeholder {{ a.missing }} has no value in this run")
        }
    }

    @Test func terminalWrappingKeepsTablesAndCode() {
        let text = "word " + String(repeating: "lorem ipsum ", count: 20) + "\n\n| a | b |\n|---|---|\n\n```\nmixtral-lab lesson run 2\n```"
        let wrapped = TerminalText.wrap(text, width: 40)
        #expect(wrapped.split(separator: "\n").allSatisfy { $0.count <= 40 || $0.hasPrefix("|") })
        #expect(wrapped.contains("| a | b |\n|---|---|"))
        #expect(wrapped.contains("\n    mixtral-lab lesson run 2") && !wrapped.contains("```"))
        let list = TerminalText.wrap("- **int8** is one\n  continued line\n- second", width: 80)
        #expect(list == "- **int8** is one continued line\n- second")
    }
}

@Suite struct LessonCheckTests {
    @Test func checkCatchesWhatARunWouldReject() {
        let lab = "## Step\n\n```lab\nexperiment: cache-sweep\nname: s\n"
        #expect(problem(front + lab + "max_tokens: -5\n```\n").contains("max_tokens"))
        #expect(problem(front + lab + "policies: [lru, foo]\n```\n").contains("foo"))
        #expect(problem(front + lab + "hardware: my-pc\n```\n").contains("hardware"))
        #expect(problem(front + lab + "```\n\nValue {{ s.tokens|fixd:2 }}\n").contains("unknown filter \"fixd\""))
        #expect(problem(front + lab + "```\n\nWe generated {{ s.tokens tokens.\n").contains(":15: \"{{\" does not start a placeholder"))
    }
}
