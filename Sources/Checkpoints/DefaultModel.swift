import Foundation

/// Finds files that ship in the repository — the embedded default model under `models/`, the lessons under
/// `lessons/` — from any working directory, whether the tool runs through `swift run`, from `.build/…`, or
/// as a copied binary.
///
/// Roots tried, in order: `$MIXTRAL_LAB_HOME`; the folders above the running executable
/// (`.build/release/mixtral-lab` sits three levels under the repository); the repository this binary was
/// compiled from (`#filePath`).
public enum ProjectFiles {
    /// The first existing `root/relativePath` among the roots above.
    /// - Throws: `CheckpointError.fileNotFound` saying where it looked.
    public static func locate(_ relativePath: String) throws -> URL {
        var roots: [URL] = []
        if let home = ProcessInfo.processInfo.environment["MIXTRAL_LAB_HOME"] {
            roots.append(URL(fileURLWithPath: home))
        }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            roots.append(folder)
            folder = folder.deletingLastPathComponent()
        }
        // Sources/Checkpoints/DefaultModel.swift → repository root
        roots.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent())
        for root in roots {
            let candidate = root.appendingPathComponent(relativePath)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.standardizedFileURL }
        }
        throw CheckpointError.fileNotFound(path: "\(relativePath) (looked in $MIXTRAL_LAB_HOME, above the executable, and in the source repository)")
    }
}

/// The embedded default model: a small Mixtral trained on Shakespeare (`models/shakespeare-mixtral/`,
/// model card in its README.md).
public enum DefaultModel {
    /// Folder name of the default model under `models/`.
    public static let name = "shakespeare-mixtral"

    /// The default model's checkpoint directory.
    /// - Throws: `CheckpointError.fileNotFound` (pass `--model PATH` instead).
    public static func locate() throws -> URL {
        try ProjectFiles.locate("models/\(name)/config.json").deletingLastPathComponent()
    }
}
