import Foundation
import Checkpoints
import FileChecks
import Reports

/// Runs a lesson step by step: each step's lab blocks run, then its prose is filled with their results and
/// shown; charts are listed; at the end `report.md` holds the lesson as read, numbers filled and charts
/// embedded, followed by the caller's closing sections.
public struct LessonRunner {
    /// A section the caller adds after the lesson's steps, in the report and on the terminal: what the
    /// run itself measured beside the lesson (the CLI's real offloading totals under `--ram-budget`).
    public struct ReportSection {
        /// The heading, without `##`.
        public var title: String
        /// The section's Markdown.
        public var markdown: String

        public init(title: String, markdown: String) {
            self.title = title
            self.markdown = markdown
        }
    }

    public let lesson: Lesson
    public let lab: LabContext
    /// Where text goes (the terminal, or a buffer in tests).
    public let write: (String) -> Void
    /// Called between steps; returns false to stop (the CLI's `--step` waits for Enter here).
    public let betweenSteps: (_ next: Int, _ total: Int) -> Bool
    /// Terminal width for wrapping prose.
    public let width: Int
    /// Lab-block parameters replaced from the command line.
    public let overrides: ParameterOverrides
    /// Called once the steps have run (also after an early quit): sections that close the report.
    public let closingSections: () throws -> [ReportSection]

    public init(lesson: Lesson, lab: LabContext, overrides: ParameterOverrides = ParameterOverrides(), width: Int = 96,
                closingSections: @escaping () throws -> [ReportSection] = { [] },
                write: @escaping (String) -> Void, betweenSteps: @escaping (Int, Int) -> Bool = { _, _ in true }) {
        self.lesson = lesson
        self.lab = lab
        self.overrides = overrides
        self.closingSections = closingSections
        self.width = width
        self.write = write
        self.betweenSteps = betweenSteps
    }

    /// Runs every step and writes `report.md` (also when the learner quits early, with the steps seen),
    /// ending with `closingSections`.
    /// - Returns: the report's URL.
    /// - Throws: `LessonError` naming the lesson file and line of the failing lab block or placeholder;
    ///   `.overrideUnused` (before anything runs) for an override no experiment of the lesson takes; what
    ///   `closingSections` throws.
    @discardableResult
    public func run() throws -> URL {
        try overrides.checkUsed(by: lesson, onDefaultModel: DefaultModel.isDefault(lab.checkpoint.directory))
        let renderer = TemplateRenderer()
        var results: [String: Any] = [:]
        var report = "# \(lesson.title)\n\n*\(lesson.summary)*\n\n"
        let path = lesson.file.path

        write(TerminalText.banner("Lesson \(lesson.id): \(lesson.title)", width: width))
        write(TerminalText.wrap(lesson.summary, width: width) + "\n")
        if !overrides.all.isEmpty {
            let settings = overrides.all.map { "\($0.parameter) = \($0.value)" }.joined(separator: ", ")
            let note = "Run with settings from the command line instead of the lesson's: \(settings)."
            write(TerminalText.wrap(note, width: width) + "\n")
            report += note + "\n\n"
        }
        for case .prose(let text, let line) in lesson.introduction {
            let filled = try renderer.render(text, results: results, file: path, line: line)
            write(TerminalText.wrap(filled, width: width, chartFolder: lab.outputDirectory) + "\n")
            report += filled + "\n\n"
        }

        // Charts the prose places itself ({{ name.chart_file_stem }}); the others follow their lab block's step.
        let placed = Set(lesson.steps.flatMap { $0.parts }.flatMap { part -> [String] in
            guard case .prose(let text, _) = part else { return [] }
            return Placeholder.all(in: text).filter { $0.keys.first?.hasPrefix("chart_") == true }.map(\.path)
        })
        for (index, step) in lesson.steps.enumerated() {
            if index > 0 && !betweenSteps(index + 1, lesson.steps.count) { break }
            write(TerminalText.heading("Step \(index + 1)/\(lesson.steps.count) · \(step.title)", width: width))
            report += "## \(step.title)\n\n"
            var unplaced: [ChartFile] = []
            for case .lab(let block) in step.parts {
                let result = try runLab(block)
                for chart in result.charts where !placed.contains("\(block.name).\(chart.path)") { unplaced.append(chart.file) }
                results[block.name] = result.values
            }
            for part in step.parts {
                guard case .prose(let text, let line) = part else { continue }
                let filled = try renderer.render(text, results: results, file: path, line: line)
                write(TerminalText.wrap(filled, width: width, chartFolder: lab.outputDirectory) + "\n")
                report += filled + "\n\n"
            }
            for chart in unplaced {
                write("  [chart: \(chart.url.path)]\n")
                report += chart.markdown + "\n\n"
            }
        }
        for section in try closingSections() {
            write(TerminalText.heading(section.title, width: width))
            write(TerminalText.wrap(section.markdown, width: width) + "\n")
            report += "## \(section.title)\n\n\(section.markdown)\n\n"
        }
        let reportURL = lab.output("report.md")
        if let refusal = outputFileRefusal(reportURL.path, overwrite: true) {
            throw LessonError.cannotWrite(path: reportURL.path, reason: refusal.description)
        }
        try report.write(to: reportURL, atomically: true, encoding: .utf8)
        try RunManifest.created(reportURL)
        write("\nreport: \(reportURL.path)\n")
        return reportURL
    }

    private func runLab(_ block: LabBlock) throws -> ResultValues {
        guard let type = ExperimentCatalog.experiment(named: block.experiment) else {
            throw LessonError.malformed(file: lesson.file.path, line: block.line, problem: "unknown experiment \(block.experiment)")
        }
        let started = Date()
        do {
            let parameters = overrides.applied(to: block.parameters, experiment: type)
            let experiment = try type.init(try ExperimentParameters(parameters, specs: type.parameters))
            let result = try experiment.values(in: lab)
            let seconds = Date().timeIntervalSince(started)
            if seconds > 1 { lab.progress(String(format: "%@ took %.1f s", block.experiment, seconds)) }
            return result
        } catch let error as LessonError {
            throw error
        } catch {
            // a value the command line put there is the flag's fault, not the lesson file's
            if let wrong = (error as? ExperimentParameterError)?.wrongValue, type.overridableParameters.contains(wrong.parameter),
               let override = overrides.all.first(where: { $0.parameter == wrong.parameter }) {
                throw LessonError.overrideRefused(flag: override.flag, value: "\(override.value)", experiment: block.experiment, problem: wrong.problem)
            }
            throw LessonError.experimentFailed(file: lesson.file.path, line: block.line, experiment: block.experiment, problem: "\(error)")
        }
    }
}

/// Plain-text layout for the terminal: headings, wrapped paragraphs; tables, lists and code kept as written.
enum TerminalText {
    static func banner(_ title: String, width: Int) -> String {
        let rule = String(repeating: "═", count: min(width, title.count + 4))
        return "\(rule)\n  \(title)\n\(rule)\n"
    }

    static func heading(_ title: String, width: Int) -> String {
        "\n\(title)\n\(String(repeating: "─", count: min(width, title.count)))\n"
    }

    /// Wraps paragraphs and list items at `width` columns (a list item's indented continuation lines join
    /// it); tables and headings keep their layout; fenced code is shown indented, without fences; an
    /// image line `![caption](file.png)` becomes `[chart: folder/file.png — caption]`.
    static func wrap(_ text: String, width: Int, chartFolder: URL? = nil) -> String {
        var out: [String] = []
        var paragraph: [String] = []
        var listMarker: String?
        var inFence = false
        func flush() {
            guard !paragraph.isEmpty else { return }
            let text = paragraph.joined(separator: " ")
            if let marker = listMarker {
                out += fill(text, width: width, indent: String(repeating: " ", count: marker.count), first: marker)
            } else {
                out += fill(text, width: width, indent: "")
            }
            paragraph = []
            listMarker = nil
        }
        for line in text.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("```") { flush(); inFence.toggle(); continue }
            if inFence { out.append("    " + line); continue }
            if trimmed.isEmpty { flush(); out.append(""); continue }
            if line.hasPrefix("!["), let close = line.firstIndex(of: "]"), line[close...].hasPrefix("](") {
                flush()
                let caption = line[line.index(line.startIndex, offsetBy: 2)..<close]
                let file = line[line.index(close, offsetBy: 2)...].dropLast()
                let path = chartFolder.map { $0.appendingPathComponent(String(file)).path } ?? String(file)
                out.append("  [chart: \(path) — \(caption)]")
                continue
            }
            if line.hasPrefix("|") || line.hasPrefix("#") { flush(); out.append(line); continue }
            if line.hasPrefix("- ") || line.hasPrefix("* ") || line.range(of: #"^\d+\. "#, options: .regularExpression) != nil {
                flush()
                let marker = String(line.prefix { $0 != " " }) + " "
                listMarker = marker
                paragraph = [String(line.dropFirst(marker.count))]
                continue
            }
            paragraph.append(trimmed)
        }
        flush()
        return out.joined(separator: "\n")
    }

    private static func fill(_ text: String, width: Int, indent: String, first: String? = nil) -> [String] {
        var lines: [String] = []
        var current = first ?? indent
        var empty = true
        for word in text.split(separator: " ") {
            if !empty && current.count + 1 + word.count > width {
                lines.append(current)
                current = indent
                empty = true
            }
            current += (empty ? "" : " ") + word
            empty = false
        }
        lines.append(current)
        return lines
    }
}
