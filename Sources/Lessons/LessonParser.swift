import Foundation

/// Reads `lessons/NN-slug.md` files into `Lesson` values and checks them against the experiment catalogue,
/// reporting the file, line and problem of the first mistake.
public enum LessonParser {
    /// Parses one lesson file.
    /// - Throws: `LessonError.malformed` (bad front matter, unknown experiment, bad parameter, unclosed fence, …).
    public static func parse(file: URL) throws -> Lesson {
        let path = file.path
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw LessonError.malformed(file: path, line: 1, problem: "cannot read the file as UTF-8 text")
        }
        let lines = text.components(separatedBy: "\n")
        func fail(_ line: Int, _ problem: String) -> LessonError { .malformed(file: path, line: line, problem: problem) }

        // File name NN-slug.md
        let base = file.deletingPathExtension().lastPathComponent
        guard let dash = base.firstIndex(of: "-"), let number = Int(base[..<dash]), file.pathExtension == "md" else {
            throw fail(1, "lesson files are named NN-slug.md (e.g. 01-what-quantization-is.md)")
        }
        let slug = String(base[base.index(after: dash)...])

        // Front matter between the first two "---" lines.
        guard lines.first == "---", let end = lines.dropFirst().firstIndex(of: "---") else {
            throw fail(1, "missing front matter: the file must start with a line \"---\", YAML, and a closing \"---\"")
        }
        let frontText = lines[1..<end].joined(separator: "\n")
        let loaded: Any?
        do { loaded = try LessonYAML.value(of: frontText) } catch let problem as LessonYAML.Problem {
            throw fail(1 + (problem.line ?? 1), "front matter \(problem.reason)")
        }
        guard let front = loaded as? [String: Any] else { throw fail(2, "front matter is not a YAML mapping") }
        func field<T>(_ key: String, _ type: T.Type) throws -> T {
            guard let value = front[key] else { throw fail(2, "front matter lacks \"\(key)\"") }
            guard let typed = value as? T else { throw fail(2, "front matter \"\(key)\" must be \(type == Int.self ? "an integer" : "text")") }
            return typed
        }
        let id = try field("id", Int.self)
        if id != number { throw fail(2, "front matter id \(id) does not match the file number \(number)") }
        let allowed: Set<String> = ["id", "title", "summary", "minutes", "model"]
        if let unknown = front.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw fail(2, "unknown front matter key \"\(unknown)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }

        // Body: steps at "## ", lab fences, prose.
        var introduction: [LessonPart] = []
        var steps: [LessonStep] = []
        var stepTitle: String?
        var stepLine = 0
        var parts: [LessonPart] = []
        var prose: [String] = []
        var proseLine = end + 2
        var names: Set<String> = []

        func flushProse() {
            let body = prose.joined(separator: "\n").trimmingCharacters(in: .newlines)
            if !body.trimmingCharacters(in: .whitespaces).isEmpty { parts.append(.prose(text: body, line: proseLine)) }
            prose = []
        }
        func flushStep() {
            flushProse()
            if let title = stepTitle { steps.append(LessonStep(title: title, line: stepLine, parts: parts)) } else { introduction = parts }
            parts = []
        }

        var i = end + 1
        var inOtherFence = false
        while i < lines.count {
            let line = lines[i]
            let lineNumber = i + 1
            if line.hasPrefix("```") && !inOtherFence && line.trimmingCharacters(in: .whitespaces) == "```lab" {
                flushProse()
                guard let close = lines[(i + 1)...].firstIndex(where: { $0.hasPrefix("```") }) else {
                    throw fail(lineNumber, "lab block is not closed with ```")
                }
                let block = try parseLab(lines[(i + 1)..<close].joined(separator: "\n"), line: lineNumber, path: path)
                if names.contains(block.name) { throw fail(lineNumber, "a lab block named \"\(block.name)\" already exists in this lesson") }
                names.insert(block.name)
                parts.append(.lab(block))
                i = close + 1
                proseLine = i + 1
                continue
            }
            if line.hasPrefix("```") { inOtherFence.toggle() }
            if line.hasPrefix("## ") && !inOtherFence {
                flushStep()
                stepTitle = String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)
                stepLine = lineNumber
                proseLine = lineNumber + 1
            } else if !prose.isEmpty || !line.trimmingCharacters(in: .whitespaces).isEmpty {
                // Prose starts at its first non-blank line, so placeholder line numbers count from there.
                if prose.isEmpty { proseLine = lineNumber }
                prose.append(line)
            }
            i += 1
        }
        if inOtherFence { throw fail(lines.count, "a ``` code fence is not closed") }
        flushStep()
        guard !steps.isEmpty else { throw fail(end + 2, "a lesson needs at least one step (a \"## \" heading)") }

        let lesson = Lesson(file: file, id: id, slug: slug, title: try field("title", String.self),
                            summary: try field("summary", String.self), minutes: try field("minutes", Int.self),
                            model: try field("model", String.self), introduction: introduction, steps: steps)
        try check(lesson)
        return lesson
    }

    /// The YAML inside a lab fence: `experiment:` and `name:` plus the experiment's parameters.
    static func parseLab(_ yaml: String, line: Int, path: String) throws -> LabBlock {
        func fail(_ problem: String) -> LessonError { .malformed(file: path, line: line, problem: problem) }
        let loaded: Any?
        do { loaded = try LessonYAML.value(of: yaml) } catch let problem as LessonYAML.Problem {
            throw LessonError.malformed(file: path, line: line + (problem.line ?? 1), problem: "lab block \(problem.reason)")
        }
        guard var mapping = loaded as? [String: Any] else { throw fail("lab block must be a YAML mapping with experiment: and name:") }
        guard let experiment = mapping.removeValue(forKey: "experiment") as? String else { throw fail("lab block lacks \"experiment:\"") }
        guard let name = mapping.removeValue(forKey: "name") as? String,
              name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
            throw fail("lab block lacks \"name:\" (letters, digits and _; used as {{ name.key }})")
        }
        guard let type = ExperimentCatalog.experiment(named: experiment) else {
            throw fail("unknown experiment \"\(experiment)\" (known: \(ExperimentCatalog.names.joined(separator: ", ")))")
        }
        // The experiment's own initialiser checks parameter values (ranges, precision and policy names, …).
        do { _ = try type.init(ExperimentParameters(mapping, specs: type.parameters)) } catch let error as ExperimentParameterError {
            throw fail("experiment \(experiment): \(error)")
        }
        return LabBlock(experiment: experiment, name: name, parameters: mapping, line: line)
    }

    /// Every placeholder must name a result of a lab block that runs before it (same step or earlier), and
    /// a path of that experiment's result type down to a value prose prints (`ResultKeys`).
    static func check(_ lesson: Lesson) throws {
        var known: [String: (experiment: String, keys: ResultKeys)] = [:]
        func checkProse(_ text: String, line: Int) throws {
            if let offset = Placeholder.malformed(in: text).first {
                throw LessonError.malformed(file: lesson.file.path, line: line + offset,
                                            problem: "\"{{\" does not start a placeholder of the form {{ name.key|filter:arg }} (unclosed?)")
            }
            if let (offset, problem) = TemplateRenderer.syntaxProblem(in: text) {
                throw LessonError.malformed(file: lesson.file.path, line: line + offset, problem: problem)
            }
            for placeholder in Placeholder.all(in: text) {
                let lineNumber = line + placeholder.lineOffset
                func fail(_ problem: String) -> LessonError { .malformed(file: lesson.file.path, line: lineNumber, problem: problem) }
                guard let block = known[placeholder.namespace] else {
                    throw fail("placeholder {{ \(placeholder.path) }} names no lab block run before it")
                }
                if let filter = placeholder.filters.first(where: { !TemplateRenderer.filterNames.contains($0) }) {
                    throw fail("placeholder {{ \(placeholder.path) }}: unknown filter \"\(filter)\" (use \(TemplateRenderer.filterNames.sorted().joined(separator: ", ")))")
                }
                guard !block.keys.fills(placeholder.keys) else { continue }
                // The deepest part of the path that exists, and what may follow it.
                var known = placeholder.keys
                while block.keys.keys(below: known) == nil { known.removeLast() }
                let below = block.keys.keys(below: known) ?? []
                let place = known.isEmpty ? "" : " under \(known.joined(separator: "."))"
                throw fail("placeholder {{ \(placeholder.path) }}: experiment \(block.experiment) gives\(place) "
                           + (below.isEmpty ? "a value, nothing below it" : below.joined(separator: ", ")))
            }
        }
        // Lab blocks of a step run before its prose is shown, so register a step's blocks first.
        try lesson.introduction.forEach { if case .prose(let text, let line) = $0 { try checkProse(text, line: line) } }
        for step in lesson.steps {
            for case .lab(let block) in step.parts {
                guard let type = ExperimentCatalog.experiment(named: block.experiment) else { continue }
                do {
                    known[block.name] = (block.experiment, try type.resultKeys(ExperimentParameters(block.parameters, specs: type.parameters)))
                } catch {
                    throw LessonError.malformed(file: lesson.file.path, line: block.line, problem: "experiment \(block.experiment): \(error)")
                }
            }
            for case .prose(let text, let line) in step.parts { try checkProse(text, line: line) }
        }
    }
}
