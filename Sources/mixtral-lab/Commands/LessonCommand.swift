import ArgumentParser
import Foundation
import Checkpoints
import Lessons
import Reports
import Offloading
import Quantization

/// `mixtral-lab lesson list|show|run|check`.
struct LessonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lesson",
        abstract: "Step-by-step lessons on quantization and expert offloading, run on the real model.",
        subcommands: [List.self, Show.self, Run.self, Check.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the lessons.")
        func run() throws {
            for lesson in try LessonLibrary().lessons() {
                emit(String(format: "%2d  %@  (%d min)", lesson.id, lesson.title, lesson.minutes))
                emit("    \(lesson.summary)")
            }
            emit("\nrun one with: mixtral-lab lesson run ID   (ID = number or slug)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a lesson's text and the experiments it runs, without running them.",
                                                        usage: "mixtral-lab lesson show <id>")
        @OptionGroup var lessonID: LessonID
        func run() throws {
            let lesson = try lessonID.lesson()
            emit("Lesson \(lesson.id): \(lesson.title) — \(lesson.minutes) min\n\(lesson.summary)\n")
            for (i, step) in lesson.steps.enumerated() {
                emit("\(i + 1). \(step.title)")
                for case .lab(let block) in step.parts { emit("     runs \(block.experiment) as \(block.name)") }
            }
            emit("\nfile: \(lesson.file.path)")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate every lesson (front matter, experiments, parameters, placeholders) without running it.")
        @Option(help: "Lessons folder (default: the repository's lessons/).") var lessons: String?
        func run() throws {
            let library = try LessonLibrary(directory: lessons.map { URL(fileURLWithPath: $0) })
            let all = try library.lessons()
            emit("\(all.count) lessons OK in \(library.directory.path)")
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a lesson: measured numbers, tables and charts, and a report.md.",
            usage: "mixtral-lab lesson run <id> [<options>]",
            discussion: """
            The offloading flags replace the lesson's own settings in every experiment that takes them: \
            --policy (the traced run's policy), --cache-experts or --cache-bytes (cache size), --prefetch, \
            --lookahead and --hardware. A flag no experiment of the lesson takes is an error, as is \
            --ram-budget or --mmap-experts for a lesson whose experiments run no model, --model for one that \
            reads no checkpoint (lesson 8 plans a real Mixtral's shapes), and --precision for one whose \
            experiments choose their own precisions (lessons 5, 6 and 7 run at --precision; lesson 9 only \
            with --model); --mmap-experts is also refused, before the lesson starts, when the experts cannot \
            be computed from the mapped file at every precision the lesson loads. With --ram-budget, \
            report.md ends with each loaded precision's real offloading totals. Example: \
            mixtral-lab lesson run 6 --cache-experts 2 --hardware colab-t4

            Without --out, the files go to lesson-output/NN-slug; when an earlier run's files are there, to \
            the first of NN-slug-2, NN-slug-3, … that is free (said on standard error), so runs never mix; \
            --force replaces the earlier run's files instead: those it listed in the folder's .mixtral-lab-run \
            are removed, other files stay.
            """)
        @OptionGroup var lessonID: LessonID
        @Flag(help: "Wait for Enter between steps (q quits). Ignored without a terminal.") var step = false
        @Option(help: "Output folder, made in a folder that exists (default: lesson-output/NN-slug, or NN-slug-2, -3, … when an earlier run's files are there).") var out: String?
        @Flag(help: "Replace the earlier run's files in a non-empty output folder (without --out: lesson-output/NN-slug itself); other files stay.") var force = false
        @OptionGroup var modelOptions: ModelOptions
        @OptionGroup var precisionOptions: PrecisionOptions
        @OptionGroup var offloading: OffloadingOptions
        @OptionGroup var ramBudget: RAMBudgetOptions

        func run() throws {
            let lesson = try lessonID.lesson()
            // A flag no experiment of the lesson takes is refused before anything is loaded or written.
            let onDefaultModel = DefaultModel.isDefault(try modelOptions.directory())
            try overrides(cacheBytesSlots: { 1 }).checkUsed(by: lesson, onDefaultModel: onDefaultModel)
            let checkpoint = try modelOptions.checkpoint()
            if ramBudget.mmapExperts {
                _ = try ramBudget.mappedExpertSource(checkpoint, precisions: [precisionOptions.precision], flag: "--precision",
                                                     choosing: (lesson.id, lesson.experimentsChoosingPrecisions(onDefaultModel: onDefaultModel)))
            }
            try offloading.check(checkpoint.config)
            try ramBudget.checkLabFloor(checkpoint, policy: offloading.policySpec)
            let output: URL
            if let out {
                output = URL(fileURLWithPath: out)
                try createOutputFolder(output, flag: "--out", force: force, requireEmpty: true)
            } else {
                // a re-run goes to a new numbered folder beside the earlier one, never into it
                output = try createNumberedOutputFolder(URL(fileURLWithPath: "lesson-output/\(lesson.name)"),
                                                        label: "the output folder", force: force)
            }
            var streamers: [(PrecisionSpec, DiskExpertProvider)] = []
            let lab = LabContext(checkpoint: checkpoint, tokenizer: try modelOptions.tokenizer(), outputDirectory: output,
                                 basePrecision: precisionOptions.precision,
                                 commandLine: CommandLine.arguments.joined(separator: " "),
                                 loadModel: ramBudget.labLoader(checkpoint, policy: offloading.policySpec) { streamers.append(($0, $1)) }) { message in
                note("  … \(message)")
            }
            let interactive = step && isatty(STDIN_FILENO) == 1
            let runner = LessonRunner(lesson: lesson, lab: lab, overrides: try overrides(cacheBytesSlots: { try slots(cacheBytesFor: lab) }),
                                      closingSections: { realOffloadingSections(finishStreaming(streamers), numExperts: checkpoint.config.numExperts) },
                                      write: { emit($0, newline: false) }) { next, total in
                guard interactive else { return true }
                emit("\n[Enter] step \(next)/\(total) · [q] quit ", newline: false)
                let answer = readLine() ?? "q"
                return answer.trimmingCharacters(in: .whitespaces).lowercased() != "q"
            }
            try runner.run()
        }

        /// With `--ram-budget`, the report's closing section: each precision's real offloading totals.
        private func realOffloadingSections(_ summaries: [(precision: PrecisionSpec, summary: DiskOffloadingSummary)],
                                            numExperts: Int) -> [LessonRunner.ReportSection] {
            guard let budget = ramBudget.ramBudget, !summaries.isEmpty else { return [] }
            let lines = diskSummaryLines(summaries, numExperts: numExperts).map { "- " + $0 }
            return [LessonRunner.ReportSection(title: "Real offloading (--ram-budget \(budget.text))",
                                               markdown: "Experts streamed from disk under the budget, totals per precision loaded:\n\n"
                                                   + lines.joined(separator: "\n"))]
        }

        /// The lab-block parameters the offloading flags replace; `cacheBytesSlots` turns `--cache-bytes`
        /// into experts per layer (called only when it is given).
        private func overrides(cacheBytesSlots: () throws -> Int) throws -> ParameterOverrides {
            var overrides = ParameterOverrides()
            if modelOptions.model != nil { overrides.setModelFlag("--model", needs: .readsCheckpoint) }
            if let policy = offloading.policy { overrides.set("policy", to: policy.description, flag: "--policy") }
            if let cacheExperts = offloading.cacheExperts { overrides.set("cache_experts", to: cacheExperts, flag: "--cache-experts") }
            if offloading.cacheBytes != nil { overrides.set("cache_experts", to: try cacheBytesSlots(), flag: "--cache-bytes") }
            if let prefetch = offloading.prefetchFlag { overrides.set("prefetch", to: prefetch, flag: "--prefetch") }
            if let lookahead = offloading.lookaheadFlag { overrides.set("lookahead", to: lookahead, flag: "--lookahead") }
            if let hardware = offloading.hardwareFlag { overrides.set("hardware", to: hardware, flag: "--hardware") }
            if ramBudget.ramBudget != nil { overrides.setModelFlag("--ram-budget", needs: .loadsModel) }
            if ramBudget.mmapExperts { overrides.setModelFlag("--mmap-experts", needs: .loadsModel) }
            if precisionOptions.precisionFlag != nil { overrides.setModelFlag("--precision", needs: .runPrecision) }
            return overrides
        }

        /// `--cache-bytes` as experts per layer of the model at the run's precision.
        /// - Throws: `ValidationError` when the budget holds no expert.
        private func slots(cacheBytesFor lab: LabContext) throws -> Int {
            let footprint = ModelFootprint(model: try lab.model(lab.basePrecision))
            let slots = try offloading.slots(footprint: footprint)
            guard slots >= 1 else {
                throw ValidationError("--cache-bytes \(offloading.cacheBytes?.text ?? "") holds no expert: one per layer of this model at \(lab.basePrecision) needs \(ByteSize.format(footprint.numLayers * footprint.largestExpertBytes))")
            }
            return slots
        }
    }
}

/// The `ID` of `lesson show ID` and `lesson run ID`: a lesson number or slug. ArgumentParser reads a
/// negative number such as `-1` as an unknown short flag, and a plain positional argument would then be
/// reported missing; taking every input no option claims lets `-1` reach `LessonLibrary.lesson(_:)`,
/// whose error names it and lists the lessons. Such an argument is a list, which the generated usage
/// line would show as `[<id> ...]`: both commands give their own usage line, with one `<id>`.
struct LessonID: ParsableArguments {
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Lesson number or slug.", valueName: "id"))
    var inputs: [String] = []

    func validate() throws {
        if let option = inputs.first(where: { $0.hasPrefix("-") && Int($0) == nil }) {
            throw ValidationError("Unknown option '\(option)'")
        }
        guard !inputs.isEmpty else { throw ValidationError("give a lesson number or slug; `mixtral-lab lesson list` lists them") }
        guard inputs.count == 1 else { throw ValidationError("give one lesson, not \(inputs.count) (\(inputs.joined(separator: " ")))") }
    }

    /// The lesson the id names.
    /// - Throws: `LessonError.notFound` naming the id and listing the lessons; errors reading the lesson.
    func lesson() throws -> Lesson { try LessonLibrary().lesson(inputs[0]) }
}
