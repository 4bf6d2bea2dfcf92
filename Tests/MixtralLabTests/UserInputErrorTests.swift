import Foundation
import Testing
import ArgumentParser
import Charts
import Checkpoints
import Engine
import Lessons
import Offloading
import Quantization
import Tracing
import UserInput
@testable import mixtral_lab

/// Exit code 2 rests on one protocol, `UserInputError`: every error type a module throws at bad input
/// adopts it, and `MixtralLab.failure(for:)` gives each exit code 2 with its message alone.
struct UserInputErrorTests {
    /// Error types that never leave the code that throws them: it catches each and throws a
    /// `UserInputError` naming the flag instead.
    static let caughtWhereThrown: Set<String> = [
        "Failure",  // OutputFolderLock.Failure, turned into a ValidationError naming the folder's flag (OutputFolder.swift)
        "Problem",  // LessonYAML.Problem, turned into a LessonError naming the lesson file and line (LessonParser.swift)
    ]

    /// Every `enum`/`struct`/`class` in Sources whose declaration lists `Error` or a protocol derived from
    /// it, with that list (read from the source text, so a new error type cannot be forgotten).
    static func declaredErrorTypes() throws -> [(name: String, conformances: [String], file: String)] {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let declaration = try NSRegularExpression(pattern: #"(?:enum|struct|class)\s+(\w+)\s*:\s*([\w\s,.]+?)\s*(?:where[^{]*)?\{"#)
        var found: [(String, [String], String)] = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
        for case let url as URL in files where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            for match in declaration.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let name = String(text[Range(match.range(at: 1), in: text)!])
                let conformances = text[Range(match.range(at: 2), in: text)!].split(separator: ",")
                    .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                if conformances.contains(where: { $0 == "Error" || $0 == "UserInputError" }) {
                    found.append((name, conformances, url.lastPathComponent))
                }
            }
        }
        return found
    }

    @Test func everyErrorTypeInSourcesIsAUserInputError() throws {
        let declared = try Self.declaredErrorTypes()
        #expect(declared.count >= 12, "found only \(declared.map(\.name))")
        for type in declared where !Self.caughtWhereThrown.contains(type.name) {
            #expect(type.conformances.contains("UserInputError"), "\(type.name) (\(type.file)) is not declared a UserInputError")
        }
    }

    @Test(arguments: [
        ExpertStoreError.mismatch(path: "store", reason: "another model") as UserInputError,
        OffloadingError.unknownPolicy("fifo", known: ["lru"]),
        CheckpointError.fileNotFound(path: "config.json"),
        TokenizerError.notJSON(source: "tokenizer.json", reason: "bad"),
        CheckpointWriteError.wouldOverwrite(path: "out"),
        LessonError.notFound(id: "99", available: ["1"]),
        ExperimentParameterError.missing("layer"),
        QuantizeError.nonFiniteWeight(tensor: "w", row: 0, column: 1, value: .nan),
        PrecisionSpecError.empty,
        ChartError.fileExists(path: "chart.png"),
        EngineError.invalidToken(id: 40_000, vocabularySize: 32_000),
        TraceError.fileExists(path: "trace.jsonl"),
        ValidationError("--flag: bad"),
    ])
    func badInputExitsWithCodeTwoAndItsMessage(error: UserInputError) {
        let failure = MixtralLab.failure(for: error)
        #expect(failure.code == 2)
        #expect(failure.message == error.description)
    }

    @Test func anyOtherErrorIsAnInternalError() {
        struct Bug: Error {}
        #expect(MixtralLab.failure(for: Bug()).code == 1)
    }
}
