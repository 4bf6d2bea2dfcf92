import Foundation

/// Finds the embedded default model (`models/shakespeare-mixtral/` in the repository) from any working
/// directory, whether the tool runs through `swift run`, from `.build/…`, or as a copied binary.
///
/// Looked up, in order: `$MIXTRAL_LAB_HOME/models/…`; the folders above the running executable
/// (`.build/release/mixtral-lab` sits two levels under the repository); the repository this binary was
/// compiled from (`#filePath`).
public enum DefaultModel {
    /// Folder name of the default model under `models/`.
    public static let name = "shakespeare-mixtral"

    /// - Throws: `CheckpointError.fileNotFound` listing where it looked.
    public static func locate() throws -> URL {
        var candidates: [URL] = []
        if let home = ProcessInfo.processInfo.environment["MIXTRAL_LAB_HOME"] {
            candidates.append(URL(fileURLWithPath: home))
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(folder)
            folder = folder.deletingLastPathComponent()
        }
        // Sources/Checkpoints/DefaultModel.swift → repository root
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent())
        for root in candidates {
            let model = root.appendingPathComponent("models").appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: model.appendingPathComponent("config.json").path) {
                return model.standardizedFileURL
            }
        }
        throw CheckpointError.fileNotFound(path: "models/\(name) (looked in $MIXTRAL_LAB_HOME, above the executable, and in the source repository; pass --model PATH)")
    }
}
