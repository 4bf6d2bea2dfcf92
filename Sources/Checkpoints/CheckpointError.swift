import FileChecks
import UserInput

/// Everything that can be wrong with a checkpoint on disk. Each message names the file (and tensor or key)
/// and the problem, so the CLI can print it as the single line a user sees.
public enum CheckpointError: UserInputError, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    /// A file given as the model that does not start with GGUF's magic; `start` is its first (up to 4) bytes.
    case notGGUF(path: String, start: [UInt8])
    /// A directory given as the model without `config.json`.
    case notACheckpointDirectory(path: String)
    case gitLFSPointer(path: String)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    case malformedHeader(path: String, reason: String)
    /// A GGUF file whose header, metadata or tensor infos are invalid.
    case malformedGGUF(path: String, reason: String)
    case badTensor(path: String, tensor: String, reason: String)
    case missingTensor(path: String, tensor: String)
    case malformedConfig(path: String, reason: String)
    case missingConfigKey(path: String, key: String)
    case unsupportedModelType(path: String, modelType: String)
    /// An environment variable naming a folder that does not exist or lacks what it should hold.
    case badEnvironment(variable: String, value: String, problem: String)

    /// The error for a path where `FileManager.fileExists` finds nothing: `.fileNotFound` when nothing is
    /// there, else `.unreadable` saying what is (`FileKind`: a symbolic link to nothing, or one in a loop).
    public static func nothingAt(_ path: String) -> CheckpointError {
        let kind = FileKind(path: path)
        return kind == .missing ? .fileNotFound(path: path) : .unreadable(path: path, reason: kind.description)
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file or directory"
        case .unreadable(let path, let reason):
            return "\(path): cannot read file (\(reason))"
        case .notGGUF(let path, let start):
            let what = start.isEmpty ? "an empty file"
                : "not a GGUF file (bad magic \(start.map { String(format: "%02x", $0) }.joined(separator: " ")), expected \"GGUF\")"
            return "\(path): \(what); --model takes a GGUF file or a checkpoint directory (config.json + *.safetensors + tokenizer.json)"
        case .notACheckpointDirectory(let path):
            return "\(path): not a checkpoint directory: no config.json (expected config.json, model.safetensors or its shards, and tokenizer.json)"
        case .gitLFSPointer(let path):
            return "\(path): this is a Git LFS pointer, not the weights; fetch the real file (git lfs pull)"
        case .truncated(let path, let expected, let actual):
            return "\(path): file is truncated (header promises \(expected) bytes, file has \(actual)); the download is incomplete"
        case .malformedHeader(let path, let reason):
            return "\(path): malformed safetensors header: \(reason)"
        case .malformedGGUF(let path, let reason):
            return "\(path): malformed GGUF file: \(reason)"
        case .badTensor(let path, let tensor, let reason):
            return "\(path): tensor \(tensor): \(reason)"
        case .missingTensor(let path, let tensor):
            return "\(path): missing tensor \(tensor)"
        case .malformedConfig(let path, let reason):
            return "\(path): malformed config: \(reason)"
        case .missingConfigKey(let path, let key):
            return "\(path): missing required key \"\(key)\""
        case .unsupportedModelType(let path, let modelType):
            return "\(path): model_type is \"\(modelType)\", but mixtral-lab runs only \"mixtral\" checkpoints"
        case .badEnvironment(let variable, let value, let problem):
            return "\(variable)=\(value): \(problem)"
        }
    }
}
