/// The fixed catalogue of experiments a lesson can name. Adding an experiment is one file and one line here.
public enum ExperimentCatalog {
    public static let all: [any Experiment.Type] = [
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

    public static func experiment(named name: String) -> (any Experiment.Type)? {
        all.first { $0.name == name }
    }
}
