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
    /// Flags that act on the model rather than on a lab-block parameter (`--ram-budget`, `--precision`), each
    /// with what an experiment must do with the model for the flag to reach it.
    public private(set) var modelFlags: [(flag: String, needs: ModelUse)] = []

    public init() {}

    /// Replaces `parameter` with `value` in every lab block whose experiment takes it.
    public mutating func set(_ parameter: String, to value: Any, flag: String) {
        all.removeAll { $0.parameter == parameter }
        all.append(Override(parameter: parameter, value: value, flag: flag))
    }

    /// Notes a flag that acts on the model (`--model`: `.readsCheckpoint`; `--ram-budget`: `.loadsModel`;
    /// `--precision`: `.runPrecision`):
    /// it needs a lab block whose experiment does `needs` in this run.
    public mutating func setModelFlag(_ flag: String, needs: ModelUse) {
        modelFlags.append((flag, needs))
    }

    /// `raw` with every override whose parameter `experiment` lets the command line replace.
    func applied(to raw: [String: Any], experiment: any Experiment.Type) -> [String: Any] {
        var parameters = raw
        for override in all where experiment.overridableParameters.contains(override.parameter) {
            parameters[override.parameter] = override.value
        }
        return parameters
    }

    /// Checks that every override reaches at least one lab block of `lesson`, and every model flag an
    /// experiment that uses the model that way in a run on this model, so a flag never silently does nothing.
    /// - Parameter onDefaultModel: whether the run is on the default model (`DefaultModel.isDefault(_:)`),
    ///   where lesson 9 runs no model (`ModelUse.offTheDefaultModelOnly`).
    /// - Throws: `LessonError.overrideUnused` naming the flag and the experiments of other lessons that
    ///   would take it; `.modelFlagNeedsAnotherModel` when this lesson's would, but only with `--model`.
    public func checkUsed(by lesson: Lesson, onDefaultModel: Bool) throws {
        let experiments = lesson.experiments
        let taken = Set(experiments.flatMap { $0.overridableParameters })
        for override in all where !taken.contains(override.parameter) {
            let takers = ExperimentCatalog.all.filter { $0.overridableParameters.contains(override.parameter) }.map { $0.name }
            throw LessonError.overrideUnused(flag: override.flag, lesson: lesson.id, experiments: takers)
        }
        for (flag, needs) in modelFlags where !experiments.contains(where: { $0.modelUse.inRun(onDefaultModel: onDefaultModel).isSuperset(of: needs) }) {
            let offDefault = experiments.filter { $0.modelUse.inRun(onDefaultModel: false).isSuperset(of: needs) }
            if !offDefault.isEmpty {
                throw LessonError.modelFlagNeedsAnotherModel(flag: flag, lesson: lesson.id, experiments: offDefault.map { $0.name })
            }
            let takers = ExperimentCatalog.all.filter { $0.modelUse.inRun(onDefaultModel: false).isSuperset(of: needs) }.map { $0.name }
            throw LessonError.overrideUnused(flag: flag, lesson: lesson.id, experiments: takers)
        }
    }
}
