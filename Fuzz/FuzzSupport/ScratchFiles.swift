import Foundation

/// Files a fuzz target writes its input into, for parsers that take a path (they map or read the file
/// themselves): one folder per fuzzing process under /dev/shm (memory, when there is one) or the
/// temporary directory, removed when the process exits normally.
public enum ScratchFiles {
    /// This process's folder.
    public static let folder: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm")
                                                                      : FileManager.default.temporaryDirectory
        let url = base.appendingPathComponent("mixtral-lab-fuzz-\(getpid())")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: ScratchFiles.folder) }
        return url
    }()

    /// Writes `bytes` to `name` in `folder` (replacing it) and returns its URL.
    public static func write(_ bytes: Data, to name: String) -> URL {
        let url = folder.appendingPathComponent(name)
        try! bytes.write(to: url)
        return url
    }
}

/// The fuzzer's input as `Data`.
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Data {
    guard let data, size > 0 else { return Data() }
    return Data(bytes: data, count: size)
}
