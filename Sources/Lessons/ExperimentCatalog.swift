/// The fixed catalogue of experiments a lesson can name. Adding an experiment is one file and one line here.
public enum ExperimentCatalog {
    public static let all: [Experiment.Type] = [
        QuantizeTensorExperiment.self,
        BlockScalesExperiment.self,
        ComparePrecisionsExperiment.self,
        SensitivityByClassExperiment.self,
        RoutingExperiment.self,
        CacheSweepExperiment.self,
        PrefetchRecallExperiment.self,
        PlanExperiment.self,
        PredictedMeasuredExperiment.self,
        PaperRecipeExperiment.self,
        FullSizeExperiment.self,
        CalibrationExperiment.self,
        PTQAgainstQATExperiment.self,
    ]

    public static var names: [String] { all.map { $0.name } }

    public static func experiment(named name: String) -> Experiment.Type? {
        all.first { $0.name == name }
    }
}

extension ExperimentCatalog {
    /// Runs an experiment by name outside a lesson (the `chart` commands use this).
    /// - Throws: `ExperimentParameterError` for an unknown experiment or bad parameters; what the experiment throws.
    public static func run(_ name: String, parameters: [String: Any], in lab: LabContext) throws -> ExperimentResult {
        guard let type = experiment(named: name) else { throw ExperimentParameterError.invalid("experiment", reason: "no experiment \(name)") }
        return try type.init(ExperimentParameters(parameters, specs: type.parameters)).run(in: lab)
    }
}
