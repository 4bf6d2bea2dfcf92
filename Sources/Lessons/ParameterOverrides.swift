/// Values given on the `lesson run` command line that replace the lab-block parameter of the same name in
/// every experiment that takes it — `lesson run 6 --cache-experts 2 --hardware colab-t4` reruns lesson 6's
/// measurements with two experts per layer on a T4. The lesson's prose reads its numbers from the results,
/// so it describes the run as made.
public struct ParameterOverrides {
    /// One replaced parameter and the flag it came from (for messages and the report).
    public struct Override {
        /// Lab-block parameter name, e.g. `cache_experts`.
        public let parameter: String
        public let value: Any
        /// The command-line flag, e.g. `--cache-experts`.
        public let flag: String
    }

    public private(set) var all: [Override] = []
    /// Flags that act on how the model is loaded (`--ram-budget`), not on a lab-block parameter.
    public private(set) var modelLoadingFlags: [String] = []

    public init() {}

    /// Replaces `parameter` with `value` in every lab block whose experiment takes it.
    public mutating func set(_ parameter: String, to value: Any, flag: String) {
        all.removeAll { $0.parameter == parameter }
        all.append(Override(parameter: parameter, value: value, flag: flag))
    }

    /// Notes a flag that acts on how the model is loaded (`--ram-budget`): it needs a lab block whose
    /// experiment loads the model.
    public mutating func setModelLoading(flag: String) {
        modelLoadingFlags.append(flag)
    }

    /// `raw` with every override whose parameter `experiment` lets the command line replace.
    func applied(to raw: [String: Any], experiment: any Experiment.Type) -> [String: Any] {
        var parameters = raw
        for override in all where experiment.overridableParameters.contains(override.parameter) {
            parameters[override.parameter] = override.value
        }
        return parameters
    }

    /// Checks that every override reaches at least one lab block of `lesson`, and every model-loading
    /// flag an experiment that loads the model, so a flag never silently does nothing.
    /// - Throws: `LessonError.overrideUnused` naming the flag and the experiments that would take it.
    public func checkUsed(by lesson: Lesson) throws {
        let experiments = lesson.steps.flatMap(\.parts).compactMap { part -> (any Experiment.Type)? in
            guard case .lab(let block) = part else { return nil }
            return ExperimentCatalog.experiment(named: block.experiment)
        }
        let taken = Set(experiments.flatMap { $0.overridableParameters })
        for override in all where !taken.contains(override.parameter) {
            let takers = ExperimentCatalog.all.filter { $0.overridableParameters.contains(override.parameter) }.map { $0.name }
            throw LessonError.overrideUnused(flag: override.flag, lesson: lesson.id, experiments: takers)
        }
        if let flag = modelLoadingFlags.first, !experiments.contains(where: { $0.loadsModel }) {
            let takers = ExperimentCatalog.all.filter { $0.loadsModel }.map { $0.name }
            throw LessonError.overrideUnused(flag: flag, lesson: lesson.id, experiments: takers)
        }
    }
}
