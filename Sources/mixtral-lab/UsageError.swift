import ArgumentParser
import UserInput

// ArgumentParser's error for a bad flag or argument is bad input too; its message names the flag.
extension ValidationError: UserInputError {}

/// Runs `body`, turning a `UserInputError` into a `ValidationError` with the same message. For code that
/// runs inside `validate()` only: ArgumentParser reports an error thrown there as a usage error (exit code
/// 2, with the pointer to `--help`) only when it is a `ValidationError`, and any other as exit code 1.
/// Everywhere else `MixtralLab.failure(for:)` gives every `UserInputError` exit code 2 as it is.
func validating<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as UserInputError {
        throw ValidationError(error.description)
    }
}
