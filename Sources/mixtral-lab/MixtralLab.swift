import ArgumentParser

@main
struct MixtralLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixtral-lab",
        abstract: "A reference Mixtral engine and a lab for quantization and expert offloading.")
}
