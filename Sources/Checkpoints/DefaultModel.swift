import Foundation
import FileChecks

/// Finds files that ship in the repository — the embedded default model under `models/`, the lessons under
/// `lessons/` — from any working directory, whether the tool runs through `swift run`, from `.build/…`, or
/// as a copied binary.
///
/// With `$MIXTRAL_LAB_HOME` set, only that folder is used, and one that does not exist or lacks the file is
/// an error (a mistyped variable is not silently replaced by another checkout). Otherwise the roots tried,
/// in order, are the folders above the running executable (`.build/release/mixtral-lab` sits three
/// levels under the repository) and the repository this binary was compiled from (`#filePath`).
public enum ProjectFiles {
    /// `root/relativePath` for `$MIXTRAL_LAB_HOME`, or the first existing one among the roots above.
    /// - Throws: `CheckpointError.badEnvironment` for a `$MIXTRAL_LAB_HOME` that is not a folder or lacks
    ///   the file, `.fileNotFound` saying where it looked.
    public static func locate(_ relativePath: String) throws -> URL {
        if let home = ProcessInfo.processInfo.environment["MIXTRAL_LAB_HOME"] {
            return try locate(relativePath, home: home)
        }
        var roots: [URL] = []
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
        throw CheckpointError.fileNotFound(path: "\(relativePath) (looked above the executable and in the source repository; set MIXTRAL_LAB_HOME to a checkout)")
    }

    /// `home/relativePath`, which must exist.
    /// - Throws: `CheckpointError.badEnvironment` naming the variable, its value and the problem.
    static func locate(_ relativePath: String, home: String) throws -> URL {
        var isFolder: ObjCBool = false
        guard !home.isEmpty, FileManager.default.fileExists(atPath: home, isDirectory: &isFolder) else {
            let kind = FileKind(path: home)
            throw CheckpointError.badEnvironment(variable: "MIXTRAL_LAB_HOME", value: home,
                                                 problem: (home.isEmpty || kind == .missing ? "no such folder" : "is \(kind)")
                                                     + " (it names the mixtral-lab checkout; unset it to use the one the binary is in)")
        }
        guard isFolder.boolValue else {
            throw CheckpointError.badEnvironment(variable: "MIXTRAL_LAB_HOME", value: home, problem: "is a file, not a folder")
        }
        let candidate = URL(fileURLWithPath: home).appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: candidate.path) else {
            throw CheckpointError.badEnvironment(variable: "MIXTRAL_LAB_HOME", value: home,
                                                 problem: "has no \(relativePath) (is it a mixtral-lab checkout?)")
        }
        return candidate.standardizedFileURL
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

    /// Whether `directory` is the default model's checkpoint directory (symbolic links resolved); false
    /// when the default model cannot be found.
    public static func isDefault(_ directory: URL) -> Bool {
        guard let defaultModel = try? locate() else { return false }
        return directory.standardizedFileURL.resolvingSymlinksInPath() == defaultModel.standardizedFileURL.resolvingSymlinksInPath()
    }
}
