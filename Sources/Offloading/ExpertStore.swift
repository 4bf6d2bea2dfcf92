import Foundation
import Checkpoints
import Engine
import Quantization

/// Experts written once at a run's precision, one contiguous extent per expert (w1, w2, w3 back to back,
/// each extent starting on a 4 KiB boundary) — the paper's "one storage per expert" (Eliseev & Mazur 2023,
/// section 3.1) — so that loading an expert is one sequential read.
///
/// A store is a folder holding `experts.bin` and `manifest.json`. The manifest records the model's
/// identity (a hash of `config.json` and of every safetensors header, which lists each tensor's name,
/// dtype, shape and offsets), a stamp of every checkpoint file it was built from (`FileStamp`: size,
/// modification time, inode), the precision spec, the layout, the file size and experts.bin's own stamp.
/// `open` refuses a store made for another model, precision or store format, one whose checkpoint files
/// or experts.bin changed since the build (the stamps differ), and a truncated one; `openOrBuild` rebuilds
/// it then. Not detected (no byte is hashed: that would read the whole checkpoint at every start): bytes
/// changed with the size, modification time and inode all restored afterwards, and bit rot. experts.bin
/// is renamed into place complete and the manifest written last, so an interrupted build is never taken
/// for a store; processes sharing the folder take turns on a flock of the folder
/// (`StoreLock`), one building while the others wait.
public enum ExpertStore {
    public static let manifestName = "manifest.json"
    public static let dataName = "experts.bin"
    /// Extents start on multiples of this (a page, and the alignment O_DIRECT reads need).
    static let extentAlignment = 4096

    /// `$XDG_CACHE_HOME/mixtral-lab/expert-stores/<model folder>-<identity>-<precision>`, or under
    /// `~/.cache` when `XDG_CACHE_HOME` is unset. `<identity>` (`folderIdentity`) covers the checkpoint's
    /// real path as well as its `modelIdentity`, so two same-shaped checkpoints in folders of one name
    /// (`run1/final`, `run2/final`) get a store each instead of rebuilding one store in turns.
    public static func defaultDirectory(for checkpoint: Checkpoint, precision: PrecisionSpec) throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        let name = "\(checkpoint.directory.lastPathComponent)-\(try folderIdentity(checkpoint))-\(folderName(for: precision))"
        return cache.appendingPathComponent("mixtral-lab/expert-stores").appendingPathComponent(name)
    }

    /// The store for `precision` inside a folder of stores given by the user (`--offload-store DIR`):
    /// `DIR/<precision>`, so that runs at several precisions (`compare`) each keep their own store.
    public static func directory(in folder: URL, precision: PrecisionSpec) -> URL {
        folder.appendingPathComponent(folderName(for: precision))
    }

    /// The precision a store for `checkpoint` holds its experts at, as a uniform spec (a store holds
    /// experts only, so runs that differ in other classes' precision share one): the stored format when
    /// the checkpoint's experts load as stored whatever the spec says (bitsandbytes NF4, GGML blocks,
    /// GGUF 16-bit), else the spec's expert precision. Names the store's folder, so an NF4 checkpoint's
    /// store run at `--precision fp32` lands in `nf4/`, not `fp32/`.
    /// - Throws: checkpoint errors naming layer 0's first expert w1.
    public static func heldExpertPrecision(_ checkpoint: Checkpoint, spec: PrecisionSpec) throws -> PrecisionSpec {
        let c = checkpoint.config
        let stored = try checkpoint.storedWeight(WeightNames.expert(0, 0, "w1"), rows: c.intermediateSize, cols: c.hiddenSize)
        return PrecisionSpec(uniform: stored.flatMap { Precision(rawValue: $0.formatName) } ?? spec.precision(for: .experts))
    }

    /// `precision` as a file name: "q4", "attn-int8_experts-q4".
    private static func folderName(for precision: PrecisionSpec) -> String {
        precision.description.replacingOccurrences(of: ",", with: "_").replacingOccurrences(of: "=", with: "-")
    }

    /// Opens the store in `directory` after checking it was made for this checkpoint and precision.
    /// - Throws: `ExpertStoreError.mismatch` (no manifest, another model, precision or store format),
    ///   `.truncated` (experts.bin shorter than the manifest says), `.io`.
    public static func open(_ directory: URL, checkpoint: Checkpoint, precision: PrecisionSpec) throws -> ExpertSource {
        let manifestURL = directory.appendingPathComponent(manifestName)
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            throw ExpertStoreError.mismatch(path: directory.path, reason: "no \(manifestName): not built yet")
        }
        guard let manifest = try? JSONDecoder().decode(ExpertStoreManifest.self, from: data) else {
            throw ExpertStoreError.mismatch(path: directory.path, reason: "\(manifestName) is not an expert store manifest of this version")
        }
        let expected = try ExpertStoreManifest(checkpoint: checkpoint, precision: precision, layout: manifest.layout)
        if let reason = manifest.difference(from: expected) {
            throw ExpertStoreError.mismatch(path: directory.path, reason: reason)
        }
        let dataURL = directory.appendingPathComponent(dataName)
        let file = try ExpertFile(path: dataURL.path)
        guard file.byteCount == manifest.fileBytes else {
            throw ExpertStoreError.truncated(path: file.path, expectedBytes: manifest.fileBytes, actualBytes: file.byteCount)
        }
        let dataStamp = try FileStamp(dataURL)
        if dataStamp != manifest.dataFile {
            throw ExpertStoreError.mismatch(path: directory.path, reason: "\(dataName) changed since the store was built (\(dataStamp.differences(from: manifest.dataFile)))")
        }
        return manifest.source(file: file, directory: directory)
    }

    /// Writes the store for `checkpoint` at `precision` into `directory` (created if missing; an old store
    /// there is replaced), holding the store's lock (`StoreLock`) exclusively, so a concurrent build by
    /// another process waits. Each expert is loaded exactly as `MixtralModel(checkpoint:precision:)` would
    /// load it (`Checkpoint.loadWeight`), so streamed experts are bit for bit the resident ones.
    /// - Parameter progress: (experts written, experts in all).
    /// - Throws: `ExpertStoreError.mixedLayouts`, `.io`; checkpoint and quantization errors naming the tensor.
    public static func build(_ directory: URL, checkpoint: Checkpoint, precision: PrecisionSpec,
                             progress: ((Int, Int) -> Void)? = nil) throws -> ExpertSource {
        let lock = try StoreLock(directory)
        try lock.acquire(exclusive: true)
        return try withExtendedLifetime(lock) {
            try buildHoldingLock(directory, checkpoint: checkpoint, precision: precision, progress: progress)
        }
    }

    /// `build` for a caller holding the store's lock exclusively. experts.bin is written as
    /// experts.bin.partial and renamed into place when complete, the old manifest removed before the rename
    /// and the new one written after it, so no process ever sees a half-written store, and a store open in
    /// another process keeps reading its own (unlinked) file. An interrupted build leaves at most the
    /// partial file, which the next build replaces (`PartialFiles` removes it on SIGINT/SIGTERM).
    private static func buildHoldingLock(_ directory: URL, checkpoint: Checkpoint, precision: PrecisionSpec,
                                         progress: ((Int, Int) -> Void)?) throws -> ExpertSource {
        let c = checkpoint.config
        let manifestURL = directory.appendingPathComponent(manifestName)
        let dataURL = directory.appendingPathComponent(dataName)
        let partialURL = PartialFiles.partialURL(for: dataURL)
        let experts = precision.precision(for: .experts)
        // before reading them: a file changed during the build then differs from the manifest's stamp
        let sourceStamps = try sourceFiles(checkpoint).map { try FileStamp($0) }
        var layout: ExpertLayout?
        var stride = 0
        try PartialFiles.removingOnInterrupt(partialURL) {
            guard FileManager.default.createFile(atPath: partialURL.path, contents: nil),
                  let handle = FileHandle(forWritingAtPath: partialURL.path) else {
                throw ExpertStoreError.io(path: partialURL.path, reason: "cannot open for writing")
            }
            do {
                defer { try? handle.close() }
                for l in 0..<c.numHiddenLayers {
                    for e in 0..<c.numExperts {
                        let shapes = [("w1", c.intermediateSize, c.hiddenSize), ("w2", c.hiddenSize, c.intermediateSize),
                                      ("w3", c.intermediateSize, c.hiddenSize)]
                        var extent: [UInt8] = []
                        var projections: [ProjectionLayout] = []
                        for (w, rows, cols) in shapes {
                            let name = WeightNames.expert(l, e, w)
                            let weight = try checkpoint.loadWeight(name, rows: rows, cols: cols, precision: experts)
                            guard let projection = ProjectionLayout(of: weight) else {
                                throw ExpertStoreError.mixedLayouts(tensor: name, reason: "\(type(of: weight)) has no streamed form")
                            }
                            projections.append(projection)
                            extent += projection.bytes(of: weight)
                        }
                        let expertLayout = ExpertLayout(w1: projections[0], w2: projections[1], w3: projections[2])
                        if let layout, layout != expertLayout {
                            throw ExpertStoreError.mixedLayouts(tensor: WeightNames.expert(l, e, "w1"),
                                                                reason: "stored as \(expertLayout.w1.format.rawValue), expert 0 of layer 0 as \(layout.w1.format.rawValue)")
                        }
                        if layout == nil {
                            layout = expertLayout
                            stride = (expertLayout.byteCount + extentAlignment - 1) / extentAlignment * extentAlignment
                        }
                        extent += [UInt8](repeating: 0, count: stride - extent.count)
                        do { try handle.write(contentsOf: extent) } catch {
                            throw ExpertStoreError.io(path: partialURL.path, reason: error.localizedDescription)
                        }
                        progress?(l * c.numExperts + e + 1, c.numHiddenLayers * c.numExperts)
                    }
                }
                do { try handle.synchronize() } catch {
                    throw ExpertStoreError.io(path: partialURL.path, reason: error.localizedDescription)
                }
                guard layout != nil else { throw ExpertStoreError.mismatch(path: directory.path, reason: "the model has no experts") }
            } catch {
                try? FileManager.default.removeItem(at: partialURL)
                throw error
            }
            do {
                if FileManager.default.fileExists(atPath: manifestURL.path) { try FileManager.default.removeItem(at: manifestURL) }
            } catch {
                throw ExpertStoreError.io(path: manifestURL.path, reason: error.localizedDescription)
            }
            guard rename(partialURL.path, dataURL.path) == 0 else {
                throw ExpertStoreError.io(path: dataURL.path, reason: String(cString: strerror(errno)))
            }
        }
        var manifest = try ExpertStoreManifest(checkpoint: checkpoint, precision: precision, layout: layout!)
        manifest.extentStride = stride
        manifest.fileBytes = stride * c.numHiddenLayers * c.numExperts
        manifest.sourceFiles = sourceStamps
        manifest.dataFile = try FileStamp(dataURL)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(manifest).write(to: manifestURL, options: .atomic)
        } catch {
            throw ExpertStoreError.io(path: manifestURL.path, reason: error.localizedDescription)
        }
        return try open(directory, checkpoint: checkpoint, precision: precision)
    }

    /// Opens the store in `directory`, or builds it when there is none, or when the one there was made for
    /// another model, precision or store format, or is truncated (`rebuilding` is told why first).
    ///
    /// Safe when several processes share the folder: a finished store is opened under the store's lock
    /// held shared; a build holds it exclusively, and a process finding the lock taken tells `waiting`,
    /// waits, and then opens the store the other process built (checking it again).
    /// - Throws: `ExpertStoreError.notAStore` for a non-empty folder without a manifest (never
    ///   overwritten), `.io` for a lock that cannot be taken, and the errors of `build`.
    public static func openOrBuild(_ directory: URL, checkpoint: Checkpoint, precision: PrecisionSpec,
                                   rebuilding: (String) -> Void = { _ in }, waiting: (String) -> Void = { _ in },
                                   progress: ((Int, Int) -> Void)? = nil) throws -> ExpertSource {
        let manifestURL = directory.appendingPathComponent(manifestName)
        if !FileManager.default.fileExists(atPath: manifestURL.path) {
            let ours: Set = [dataName, PartialFiles.partialURL(for: URL(fileURLWithPath: dataName)).lastPathComponent, StoreLock.legacyFileName]
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            guard contents.allSatisfy(ours.contains) else { throw ExpertStoreError.notAStore(path: directory.path) }
        }
        let lock = try StoreLock(directory)
        return try withExtendedLifetime(lock) {
            let waitingLine = "waiting for another mixtral-lab process building the store \(directory.path) …"
            if !(try lock.tryAcquire(exclusive: false)) {
                waiting(waitingLine)
                try lock.acquire(exclusive: false)
            }
            if case .success(let source) = try openChecked(directory, checkpoint: checkpoint, precision: precision) {
                return source
            }
            lock.release()
            if !(try lock.tryAcquire(exclusive: true)) {
                waiting(waitingLine)
                try lock.acquire(exclusive: true)
            }
            switch try openChecked(directory, checkpoint: checkpoint, precision: precision) {
            case .success(let source):
                return source  // built by another process while this one waited
            case .failure(let reason):
                if FileManager.default.fileExists(atPath: manifestURL.path) { rebuilding(reason.description) }
            }
            return try buildHoldingLock(directory, checkpoint: checkpoint, precision: precision, progress: progress)
        }
    }

    /// `open`, with the errors that call for a build (no manifest, another model, precision or format,
    /// truncated) returned as the failure; other errors are thrown.
    private static func openChecked(_ directory: URL, checkpoint: Checkpoint,
                                    precision: PrecisionSpec) throws -> Result<ExpertSource, ExpertStoreError> {
        do {
            return .success(try open(directory, checkpoint: checkpoint, precision: precision))
        } catch let error as ExpertStoreError {
            switch error {
            case .mismatch, .truncated: return .failure(error)
            default: throw error
            }
        }
    }

    /// The default store folder's identity: 12 hex digits of FNV-1a over `modelIdentity` and the
    /// checkpoint's real path (symbolic links resolved).
    static func folderIdentity(_ checkpoint: Checkpoint) throws -> String {
        var hash = FNV1a()
        hash.add(Data(try modelIdentity(checkpoint).utf8))
        hash.add(Data(checkpoint.directory.resolvingSymlinksInPath().standardizedFileURL.path.utf8))
        return String(String(format: "%016llx", hash.value).prefix(12))
    }

    /// The files a store for `checkpoint` is built from: config.json and every safetensors file, or the
    /// GGUF file.
    static func sourceFiles(_ checkpoint: Checkpoint) -> [URL] {
        if checkpoint.gguf != nil { return [checkpoint.directory] }
        return [checkpoint.directory.appendingPathComponent("config.json")]
            + checkpoint.files.map { URL(fileURLWithPath: $0.path) }.sorted { $0.path < $1.path }
    }

    /// FNV-1a 64 (hex) over `config.json` and, per weights file in path order, its size and its header
    /// (the 8-byte length and the JSON listing every tensor's name, dtype, shape and offsets); for a GGUF
    /// file, over its size and its first MiB (the header: metadata and tensor infos, or their start).
    /// - Throws: `ExpertStoreError.io` when a file cannot be read.
    static func modelIdentity(_ checkpoint: Checkpoint) throws -> String {
        var hash = FNV1a()
        if checkpoint.gguf != nil {
            let path = checkpoint.directory.path
            guard let handle = FileHandle(forReadingAtPath: path) else { throw ExpertStoreError.io(path: path, reason: "cannot open") }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            try? handle.seek(toOffset: 0)
            hash.add(withUnsafeBytes(of: size.littleEndian) { Data($0) })
            hash.add((try? handle.read(upToCount: 1 << 20)) ?? Data())
            return String(format: "%016llx", hash.value)
        }
        let config = checkpoint.directory.appendingPathComponent("config.json")
        guard let configBytes = FileManager.default.contents(atPath: config.path) else {
            throw ExpertStoreError.io(path: config.path, reason: "cannot read")
        }
        hash.add(configBytes)
        for file in checkpoint.files.sorted(by: { $0.path < $1.path }) {
            guard let handle = FileHandle(forReadingAtPath: file.path) else {
                throw ExpertStoreError.io(path: file.path, reason: "cannot open")
            }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            try? handle.seek(toOffset: 0)
            let lengthBytes = (try? handle.read(upToCount: 8)) ?? Data()
            guard lengthBytes.count == 8 else { throw ExpertStoreError.io(path: file.path, reason: "cannot read the header length") }
            let length = lengthBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
            hash.add(withUnsafeBytes(of: size.littleEndian) { Data($0) })
            hash.add(lengthBytes)
            hash.add((try? handle.read(upToCount: Int(length))) ?? Data())
        }
        return String(format: "%016llx", hash.value)
    }
}

/// 64-bit FNV-1a (Fowler, Noll, Vo; http://www.isthe.com/chongo/tech/comp/fnv/): offset basis
/// 0xcbf29ce484222325, prime 0x100000001b3. An identity check, not a cryptographic hash.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ data: Data) {
        for byte in data {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
    }
}

/// `manifest.json` of an expert store.
struct ExpertStoreManifest: Codable, Equatable {
    /// Bumped when the file layout or the manifest changes; a store of another version is rebuilt.
    /// 2: the stamps of the checkpoint's files and of experts.bin.
    static let currentFormatVersion = 2

    var formatVersion: Int
    /// The checkpoint folder the store was made from (for people; identity is `modelIdentity`).
    var checkpoint: String
    /// `ExpertStore.modelIdentity` of that checkpoint.
    var modelIdentity: String
    /// The precision spec (`PrecisionSpec.description`).
    var precision: String
    var numLayers: Int
    var numExperts: Int
    var layout: ExpertLayout
    /// Bytes from one expert's extent to the next (`layout.byteCount` rounded up to 4 KiB).
    var extentStride: Int
    /// Size of experts.bin.
    var fileBytes: Int
    /// The checkpoint's files (`ExpertStore.sourceFiles`) as they were when the build started.
    var sourceFiles: [FileStamp]
    /// experts.bin as the build left it (nil in the manifest a run expects: it is checked on its own).
    var dataFile: FileStamp?

    /// The manifest a store for `checkpoint` at `precision` has (stride and size from `layout`).
    init(checkpoint: Checkpoint, precision: PrecisionSpec, layout: ExpertLayout) throws {
        let c = checkpoint.config
        formatVersion = Self.currentFormatVersion
        self.checkpoint = checkpoint.directory.path
        modelIdentity = try ExpertStore.modelIdentity(checkpoint)
        self.precision = precision.description
        numLayers = c.numHiddenLayers
        numExperts = c.numExperts
        self.layout = layout
        extentStride = (layout.byteCount + ExpertStore.extentAlignment - 1) / ExpertStore.extentAlignment * ExpertStore.extentAlignment
        fileBytes = extentStride * numLayers * numExperts
        sourceFiles = try ExpertStore.sourceFiles(checkpoint).map { try FileStamp($0) }
        dataFile = nil
    }

    /// Why a store with this manifest cannot serve a run expecting `expected`, or nil.
    func difference(from expected: ExpertStoreManifest) -> String? {
        if formatVersion != expected.formatVersion {
            return "store format \(formatVersion), this mixtral-lab writes format \(expected.formatVersion)"
        }
        if modelIdentity != expected.modelIdentity || numLayers != expected.numLayers || numExperts != expected.numExperts {
            return "built for another model (\(checkpoint), identity \(modelIdentity)); this is \(expected.checkpoint), identity \(expected.modelIdentity)"
        }
        if let changed = expected.sourceFiles.first(where: { !sourceFiles.contains($0) }) {
            return "\(changed.name) changed since the store was built from it (\(changed.differences(from: sourceFiles.first { $0.name == changed.name })))"
        }
        if precision != expected.precision {
            return "built at precision \(precision); this run uses \(expected.precision)"
        }
        if extentStride != expected.extentStride || fileBytes != expected.fileBytes {
            return "manifest sizes (stride \(extentStride), \(fileBytes) bytes) disagree with its layout"
        }
        return nil
    }

    func source(file: ExpertFile, directory: URL) -> ExpertSource {
        let offsets = [0, layout.w1.byteCount, layout.w1.byteCount + layout.w2.byteCount]
        let locations = (0..<numLayers).map { l in
            (0..<numExperts).map { e in
                offsets.map { ExpertSource.Location(file: 0, offset: (l * numExperts + e) * extentStride + $0) }
            }
        }
        return ExpertSource(files: [file], layout: layout, locations: locations,
                            description: "expert store \(directory.path) (\(layout.w1.format.rawValue), one extent per expert)")
    }
}
