import Foundation

/// A lesson as written in `lessons/NN-slug.md`: front matter, then steps (`##` sections) of prose and
/// `lab` blocks. Content only: nothing in a lesson runs code; lab blocks name experiments of a fixed
/// catalogue (`ExperimentCatalog`) with data parameters.
public struct Lesson {
    /// The Markdown file.
    public let file: URL
    /// Lesson number (front matter `id`, equal to the file name's `NN`).
    public let id: Int
    /// File name without the number and extension, e.g. `what-quantization-is`.
    public let slug: String
    public let title: String
    public let summary: String
    /// Expected reading time in minutes.
    public let minutes: Int
    /// Which model it runs on: `default` (the embedded model) or a path.
    public let model: String
    /// Prose before the first step.
    public let introduction: [LessonPart]
    public let steps: [LessonStep]

    /// `NN-slug`, the name of the lesson's output folder.
    public var name: String { String(format: "%02d-%@", id, slug) }
}

extension Lesson {
    /// The experiments of its lab blocks, in order (a name no experiment has is left out: the parser refuses it).
    public var experiments: [any Experiment.Type] {
        steps.flatMap(\.parts).compactMap { part in
            guard case .lab(let block) = part else { return nil }
            return ExperimentCatalog.experiment(named: block.experiment)
        }
    }

    /// The names of its experiments that load the model at precisions of their own (lesson 3 compares
    /// several) rather than at the run's `--precision`, in a run on the default model or another one.
    public func experimentsChoosingPrecisions(onDefaultModel: Bool) -> [String] {
        experiments.filter { experiment in
            let uses = experiment.modelUse.inRun(onDefaultModel: onDefaultModel)
            return uses.contains(.loadsModel) && !uses.contains(.runPrecision)
        }.map { $0.name }
    }
}

/// One `##` section of a lesson.
public struct LessonStep {
    public let title: String
    /// 1-based line of the heading in the lesson file.
    public let line: Int
    public let parts: [LessonPart]
}

/// Prose (a Stencil template whose placeholders name experiment results) or a lab block.
public enum LessonPart {
    case prose(text: String, line: Int)
    case lab(LabBlock)
}

/// A fenced ```` ```lab ```` block: which experiment to run, under which name its results are referred
/// to (`{{ name.key }}`), and its parameters.
public struct LabBlock {
    public let experiment: String
    /// Namespace of the results in placeholders.
    public let name: String
    public let parameters: [String: Any]
    /// 1-based line of the opening fence.
    public let line: Int
}
