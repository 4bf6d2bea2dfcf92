import Foundation
import Checkpoints

/// The lessons shipped in `lessons/`, found from any working directory like the default model.
public struct LessonLibrary {
    public let directory: URL

    /// - Parameter directory: a lessons folder; nil = the repository's `lessons/`.
    /// - Throws: `CheckpointError.fileNotFound` when no lessons folder can be found.
    /// - Throws: `CheckpointError.fileNotFound` for a folder that does not exist or holds no `NN-slug.md` file.
    public init(directory: URL? = nil) throws {
        self.directory = try directory ?? ProjectFiles.locate("lessons")
        if files.isEmpty {
            throw CheckpointError.fileNotFound(path: "\(self.directory.path): no lesson files (NN-slug.md)")
        }
    }

    /// Lesson files `NN-slug.md`, in order.
    public var files: [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    /// Every lesson, parsed and checked.
    /// - Throws: the first `LessonError` found.
    public func lessons() throws -> [Lesson] { try files.map(LessonParser.parse(file:)) }

    /// The lesson whose number (`1`, `01`) or slug (`what-quantization-is`, `01-what-quantization-is`) is `id`.
    /// - Throws: `LessonError.notFound` listing what exists, or the lesson's own parse error.
    public func lesson(_ id: String) throws -> Lesson {
        let names = files.map { $0.deletingPathExtension().lastPathComponent }
        let match = files.first { file in
            let name = file.deletingPathExtension().lastPathComponent
            guard let dash = name.firstIndex(of: "-") else { return false }
            let number = Int(name[..<dash])
            return name == id || String(name[name.index(after: dash)...]) == id || (Int(id) != nil && Int(id) == number)
        }
        guard let file = match else { throw LessonError.notFound(id: id, available: names) }
        return try LessonParser.parse(file: file)
    }
}
