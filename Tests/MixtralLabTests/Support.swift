@testable import mixtral_lab

/// Runs `mixtral-lab arguments` as `MixtralLab.main` does, without exiting: nil when the command
/// succeeds, otherwise the exit code and the message it would print after "mixtral-lab: ".
func failure(_ arguments: [String]) -> (code: Int32, message: String)? {
    do {
        var command = try MixtralLab.parseAsRoot(arguments)
        try command.run()
        return nil
    } catch {
        return MixtralLab.failure(for: error)
    }
}
