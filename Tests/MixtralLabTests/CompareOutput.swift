import Testing
@testable import mixtral_lab

/// What `mixtral-lab compare ARGUMENTS` prints on standard output, run in this process.
func compareOutput(_ arguments: [String]) throws -> String {
    let command = try #require(try MixtralLab.parseAsRoot(["compare"] + arguments) as? Compare)
    var printed: [String] = []
    try command.run { printed.append($0) }
    return printed.joined(separator: "\n")
}
