/// What an experiment does with the lab's model, which decides which of `lesson run`'s model flags reach it:
/// `--model` is `LabContext.checkpoint`, `--ram-budget` and `--mmap-experts` act on how
/// `LabContext.model(_:)` loads the model, `--precision` is `LabContext.basePrecision`. A model flag that
/// reaches no experiment of a lesson is refused before the lesson runs
/// (`ParameterOverrides.checkUsed(by:onDefaultModel:)`), so it never silently does nothing.
public struct ModelUse: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// It loads the model through `LabContext.model(_:)`.
    public static let loadsModel = ModelUse(rawValue: 1 << 0)
    /// It runs at the run's `--precision` (`LabContext.basePrecision`), not at precisions of its own.
    public static let runPrecision = ModelUse(rawValue: 1 << 1)
    /// The other members hold only when the lesson runs on a model other than the default one
    /// (`DefaultModel.isDefault(_:)`); on the default model it uses none (lesson 9 shows committed numbers).
    public static let offTheDefaultModelOnly = ModelUse(rawValue: 1 << 2)
    /// It reads the lab's checkpoint (a tensor, `LabContext.weight(_:)`, or the config or tokenizer) — implied
    /// by `.loadsModel` and `.runPrecision`; an experiment without it (lesson 8's plan, which plans a real
    /// Mixtral's shapes) gives `--model` nothing to act on.
    public static let readsCheckpoint = ModelUse(rawValue: 1 << 3)

    /// What it uses in a run on the default model or on another one (`.readsCheckpoint` included wherever
    /// it loads or runs the model).
    public func inRun(onDefaultModel: Bool) -> ModelUse {
        guard !(contains(.offTheDefaultModelOnly) && onDefaultModel) else { return [] }
        let uses = subtracting(.offTheDefaultModelOnly)
        return uses.isDisjoint(with: [.loadsModel, .runPrecision]) ? uses : uses.union(.readsCheckpoint)
    }
}
