/// An error caused by what the user gave — a file, a flag, a value, an environment variable — as opposed
/// to a bug. The command line prints its `description` after "mixtral-lab: " and exits with code 2
/// (`MixtralLab.failure(for:)`); any other error ends the run as an internal error, exit code 1.
/// The description names the file or flag and the problem in one line.
public protocol UserInputError: Error, CustomStringConvertible {}
