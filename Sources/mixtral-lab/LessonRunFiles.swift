import Foundation

/// The files a `lesson run` wrote into its output folder, listed there (one name a line) so that a later
/// `lesson run --force` into the folder replaces that run whole — its report, charts and traces, whichever
/// lesson it was — and leaves every other file (the user's own notes) where it is.
enum LessonRunFiles {
    static let listName = ".mixtral-lab-lesson-run"

    /// Removes the files the earlier run listed in `folder`, and the list; nothing without a list. Only
    /// plain names in the folder itself are removed.
    static func removeEarlierRun(in folder: URL) {
        let list = folder.appendingPathComponent(listName)
        guard let text = try? String(contentsOf: list, encoding: .utf8) else { return }
        for name in text.split(separator: "\n").map(String.init)
        where !name.isEmpty && !name.contains("/") && name != "." && name != ".." {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
        try? FileManager.default.removeItem(at: list)
    }

    /// Lists the files of `folder` written since `start` (this run's).
    /// - Throws: the write's error.
    static func record(in folder: URL, since start: Date) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let written = names.filter { name in
            guard name != listName,
                  let modified = try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)[.modificationDate] as? Date
            else { return false }
            return modified >= start.addingTimeInterval(-1)   // file times may be whole seconds
        }.sorted()
        try (written.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent(listName), atomically: true, encoding: .utf8)
    }
}
