import UserInput

/// A problem with a lesson file or a lesson run, located at `file:line` where there is one.
public enum LessonError: UserInputError {
    case malformed(file: String, line: Int, problem: String)
    case notFound(id: String, available: [String])
    /// An output file that may not be written (`outputFileRefusal`'s reason).
    case cannotWrite(path: String, reason: String)
    case experimentFailed(file: String, line: Int, experiment: String, problem: String)
    /// A command-line flag that no experiment of the lesson takes.
    case overrideUnused(flag: String, lesson: Int, experiments: [String])
    /// A model flag (`--ram-budget`, `--precision`) that the lesson's experiments take only on a model other
    /// than the default one.
    case modelFlagNeedsAnotherModel(flag: String, lesson: Int, experiments: [String])
    /// A command-line flag's value that an experiment it reaches refuses.
    case overrideRefused(flag: String, value: String, experiment: String, problem: String)

    public var description: String {
        switch self {
        case .malformed(let file, let line, let problem):
            return "\(file):\(line): \(problem)"
        case .notFound(let id, let available):
            return "no lesson \"\(id)\"; available: \(available.joined(separator: ", "))"
        case .cannotWrite(let path, let reason):
            return "\(path) \(reason)"
        case .experimentFailed(let file, let line, let experiment, let problem):
            return "\(file):\(line): experiment \(experiment) failed: \(problem)"
        case .overrideRefused(let flag, let value, let experiment, let problem):
            return "\(flag) \(value): \(problem) for this lesson's experiment \(experiment)"
        case .modelFlagNeedsAnotherModel(let flag, let lesson, let experiments):
            return "\(flag) has no effect on lesson \(lesson) on the default model: its experiment \(experiments.joined(separator: ", ")) runs a model only with --model FILE (a model other than the default)"
        case .overrideUnused(let flag, let lesson, let experiments):
            return "\(flag) has no effect on lesson \(lesson): none of its experiments takes it (experiments that do, in other lessons: \(experiments.joined(separator: ", ")))"
        }
    }
}
