import Foundation
import Testing
@testable import Lessons
import TestSupport

/// Lesson files the fuzz target (Fuzz/lesson, `scripts/fuzz.sh lesson`) found crashing or stalling the
/// parser, and others of the same class: each must now be refused with one message naming the file and
/// line, not crash.
struct LessonFuzzRegressionTests {
    /// The `file:line: problem` message `LessonParser` gives for `text` written as 01-fuzz.md.
    private func problem(_ text: String) -> String {
        do {
            return try withTemporaryDirectory("lesson-fuzz") { folder in
                let file = folder.appendingPathComponent("01-fuzz.md")
                try text.write(to: file, atomically: true, encoding: .utf8)
                _ = try LessonParser.parse(file: file)
                return "no error"
            }
        } catch { return "\(error)" }
    }

    private let front = "---\nid: 1\ntitle: T\nsummary: S\nminutes: 1\nmodel: default\n---\n\n## Step\n\n"

    /// fuzz-lesson (session 5, 133,244 inputs in): a front matter line `{{ b.q4.bits|fixed:2 }}: …` (a flow
    /// mapping used as a key) made Yams' `load` force-unwrap nil. Sequences and mappings as keys, at the
    /// top, nested, behind an alias or in a `!!set`, in the front matter or a lab block, are refused.
    @Test func aMappingKeyThatIsNotAScalarIsRefused() {
        let frontMatters = [
            "{{ b.q4.bits|fixed:2 }}: at dqual bits",
            "? [a, b]\n: 1",
            "nested: {[1]: 2}",
            "title: {nested: {[x]: y}}",
            "list: [{? {a: 1} : 2}]",
            "base: &k [1]\nother: {*k : 3}",
            "set: !!set {? [1] }",
        ]
        for (index, extra) in frontMatters.enumerated() {
            let text = "---\nid: 1\n\(extra)\n---\n## Step\n"
            let message = problem(text)
            #expect(message.contains("01-fuzz.md:") && message.contains("front matter has a mapping key that is a"), "case \(index): \(message)")
        }
        // the brief's whole-document forms, through the reader itself
        for document in ["? [a, b]\n: 1", "{[1]: 2}"] {
            #expect(throws: LessonYAML.Problem.self) { try LessonYAML.value(of: document) }
        }
        let labBlocks = ["experiment: routing\nname: r\n? [tokens]\n: 3", "experiment: routing\n{[name]: r}: 1"]
        for block in labBlocks {
            let message = problem(front + "```lab\n\(block)\n```\n")
            #expect(message.contains("01-fuzz.md:") && message.contains("lab block has a mapping key that is a"), "\(message)")
        }
    }

    /// The line named is the key's line in the file.
    @Test func theRefusalNamesTheKeysLine() {
        #expect(problem("---\nid: 1\ntitle: T\n? [a]\n: 1\n---\n## Step\n").hasSuffix("01-fuzz.md:4: front matter has a mapping key that is a sequence; keys must be plain text or numbers"))
        #expect(problem(front + "```lab\nexperiment: routing\nname: r\n{a: 1}: 2\n```\n").contains("01-fuzz.md:14: lab block has a mapping key that is a mapping"))
    }

    /// Nested aliases that expand to 10^9 values ("billion laughs") are refused at `LessonYAML.nodeLimit`
    /// values instead of being expanded.
    @Test func aliasesExpandingToTooManyValuesAreRefused() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 { yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let message = problem("---\n\(yaml)---\n## Step\n")
        #expect(message.contains("front matter has more than 10000 values"), "\(message)")
    }

    /// Lesson prose is text with placeholders, not a Stencil program: tags and comments, and filter
    /// arguments a filter does not take (a Stencil range `1...2000000000` would be built as an array at
    /// `lesson run`), are refused by `lesson check` already, naming the line.
    @Test func templateTagsAndBadFilterArgumentsAreRefused() {
        let lab = "```lab\nexperiment: routing\nname: r\n```\n\n"
        let cases: [(prose: String, expected: String)] = [
            ("{% for i in 1...2000000000 %}x{% endfor %}", "\"{%\" starts a template tag or comment"),
            ("Note {# hidden #}", "\"{#\" starts a template tag or comment"),
            ("{{ r.reuse|fixed:1...2000000000 }}", "filter fixed takes a number of decimals from 0 to 12, not \"1...2000000000\""),
            ("{{ r.reuse|percent:-3 }}", "filter percent takes a number of decimals from 0 to 12, not \"-3\""),
            ("{{ r.reuse|sci:99 }}", "filter sci takes a number of decimals from 0 to 12, not \"99\""),
            ("{{ r.reuse|counted:expert }}", "filter counted takes one quoted noun"),
            ("{{ r.reuse|counted }}", "filter counted takes one quoted noun"),
            ("{{ r.reuse|bytes:3 }}", "filter bytes takes no argument, not \"3\""),
        ]
        for (prose, expected) in cases {
            let message = problem(front + lab + "Line one.\n" + prose + "\n")
            #expect(message.contains("01-fuzz.md:17: ") && message.contains(expected), "\(prose): \(message)")
        }
        #expect(problem(front + lab + "{{ r.reuse|fixed:2 }} {{ r.reuse|counted:\"expert\" }} {{ r.reuse|bytes }}\n") == "no error")
    }

    /// Scalar keys of every kind still load, as before.
    @Test func scalarKeysStillLoad() throws {
        #expect(try LessonYAML.value(of: "1: a\ntrue: b\n'q': c\nlist: [1, {k: v}]") as? [String: Any] != nil)
        #expect(try LessonYAML.value(of: "") == nil)
        #expect(problem("---\nid: 1\ntitle: T\nsummary: S\nminutes: 1\nmodel: default\n---\n## Step\n") == "no error")
    }
}
