import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file experts are read from with positioned reads (`pread`), never mapped: only the bytes asked for
/// enter the process's arrays.
///
/// Reads bypass the page cache (`O_DIRECT`): the aligned range
/// around the bytes asked for is read in chunks of `directChunkBytes` by `directReaders` threads at once,
/// each chunk into an aligned bounce buffer and copied to its place. Against one buffered `pread` of the
/// same 33 MB (kernel readahead on, pages dropped after each read), three projections 264 MB apart at
/// random offsets of the full-size file, the two ways alternating, on the development machine's virtual
/// disk while other sessions built (2026-12-07 08:00 UTC, load 8–10): 1.3–1.8 GB/s instead of 0.7–1.0,
/// two thirds of the CPU time per byte, and the bytes asked for (plus at most two 4 KiB blocks) instead
/// of readahead's 1–20 % more past the end of each projection (`/proc/self/io`). A slot's array cannot
/// be the read's target itself: `O_DIRECT` needs the memory and the file offset aligned to the device's
/// block (512 B here), and a GGUF tensor is only 32-byte aligned.
/// Where the file system refuses `O_DIRECT` (some network file systems, older tmpfs), reads are buffered.
// @unchecked Sendable: descriptors used only by positioned reads (`pread`, no shared offset); the two `var`s are set before any read.
public final class ExpertFile: @unchecked Sendable {
    public let path: String
    /// Size in bytes when opened.
    public let byteCount: Int
    private let descriptor: Int32
    /// The same file opened with `O_DIRECT`, or -1 where the file system refuses it.
    private let directDescriptor: Int32
    /// Drop each buffered read's pages from the page cache once read (see `dropPageCache`), so that reading
    /// the same bytes again goes to the disk again. (Direct reads leave no pages.)
    public var dropsPagesAfterRead = false
    /// Reads smaller than this are buffered. 0: every read is direct where the file system allows, small
    /// ones too: buffered, a small model's reads let the kernel's readahead bring the next experts into the
    /// page cache, from which they were then "read" (a `--policy cpu-compute` run on the default model
    /// reported 5–16 GB/s). Tests raise it to cover the buffered path.
    var directReadMinimumBytes = 0
    /// The direct reads' bounce buffers (`directReaders` of `bounceBytes`: about 16 MiB, allocated at the
    /// first direct read and kept: part of the process's overhead outside `--ram-budget`).
    private var bounceBuffers: [UnsafeMutableRawPointer] = []
    /// Bytes of each bounce buffer: the largest chunk read so far (`directChunkBytes` plus at most a unit
    /// of a placement and an aligned block).
    private var bounceBytes = 0
    private let bounceLock = NSLock()

    /// Bytes of one direct chunk (4 MiB: `max_sectors_kb` of the development machine's disk, one request).
    static let directChunkBytes = 4 << 20
    /// Chunks read at once (4: the fastest of 2–4 threads × 2–8 MiB measured as above).
    static let directReaders = 4
    /// Alignment of a direct read's offset, length and memory (the largest logical block size in use).
    static let directAlignment = 4096

    /// Opens `path` read-only (and again with `O_DIRECT` where allowed).
    /// - Throws: `ExpertStoreError.io`.
    public init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw ExpertStoreError.io(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            close(descriptor)
            throw ExpertStoreError.io(path: path, reason: String(cString: strerror(errno)))
        }
        byteCount = Int(info.st_size)
        directDescriptor = directOpenFlag.map { open(path, O_RDONLY | $0) } ?? -1
    }

    deinit {
        close(descriptor)
        if directDescriptor >= 0 { close(directDescriptor) }
        for buffer in bounceBuffers { free(buffer) }
    }

    /// Whether the file system allows reads that bypass the page cache.
    public var readsDirect: Bool { directDescriptor >= 0 }

    /// Whether a read of `bytes` bypasses the page cache.
    public func readsDirect(bytes: Int) -> Bool { directDescriptor >= 0 && bytes >= directReadMinimumBytes }

    /// A range of the file and the memory it is read into: copied as it is, or put in place by `placement`.
    public struct Piece {
        public var buffer: UnsafeMutableRawBufferPointer
        public var offset: Int
        public var placement: Placement?

        public init(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int, placement: Placement? = nil) {
            self.buffer = buffer
            self.offset = offset
            self.placement = placement
        }
    }

    /// How a piece's bytes are put into its buffer other than by a copy — rearranged into the layout the
    /// engine computes with (Q4_0/Q8_0 rows interleaved, `ExpertSlot`) — a whole number of `unitBytes` at a
    /// time: `place(source, destination)` gets the file's bytes of some whole units of the piece and the
    /// same span of its buffer, on the reader thread that read them (so the rearranging of one chunk runs
    /// while the other readers' reads are under way).
    public struct Placement: Sendable {
        public var unitBytes: Int
        public var place: @Sendable (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Void

        public init(unitBytes: Int, place: @escaping @Sendable (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Void) {
            precondition(unitBytes > 0, "ExpertFile.Placement: unit of \(unitBytes) bytes")
            self.unitBytes = unitBytes
            self.place = place
        }
    }

    /// Fills `buffer` with the bytes at `offset`.
    /// - Throws: `ExpertStoreError.truncated` when the file ends first, `.io` on a read error.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        try read([Piece(buffer, at: offset)])
    }

    /// Fills every piece's buffer with the file's bytes at its offset: those `readsDirect(bytes:)` refuses
    /// buffered, one after another; the others as one direct read, their chunks shared out among
    /// the reader threads together — an expert's projections read as one batch keep every reader busy to
    /// the end, where reading them one by one leaves readers idle at the end of each (on the full-size
    /// file's experts, alternating, 0.58 against 0.40 GB/s with 4 MiB chunks and 0.65 against 0.51 with
    /// 2 MiB, 2026-12-07 08:30 UTC, load 14).
    /// - Throws: `ExpertStoreError.truncated` when the file ends first, `.io` on a read error.
    public func read(_ pieces: [Piece]) throws {
        for piece in pieces where !readsDirect(bytes: piece.buffer.count) {
            if let placement = piece.placement {
                // read as stored, then put in place
                let stored = UnsafeMutableRawBufferPointer.allocate(byteCount: piece.buffer.count, alignment: 64)
                defer { stored.deallocate() }
                try readFully(descriptor, into: stored.baseAddress!, count: stored.count, at: piece.offset, asked: stored.count)
                placement.place(UnsafeRawBufferPointer(stored), piece.buffer)
            } else {
                try readFully(descriptor, into: piece.buffer.baseAddress!, count: piece.buffer.count, at: piece.offset, asked: piece.buffer.count)
            }
            if dropsPagesAfterRead { posix_fadvise(descriptor, off_t(piece.offset), off_t(piece.buffer.count), Int32(POSIX_FADV_DONTNEED)) }
        }
        let direct = pieces.filter { readsDirect(bytes: $0.buffer.count) }
        if !direct.isEmpty { try readDirect(direct) }
    }

    /// One chunk of a direct read: `count` bytes at the aligned `offset` of the file, holding the piece's
    /// bytes `[from, to)` (offsets in the piece), which go to the piece's buffer at `target` (an address,
    /// so that it crosses to the reader threads).
    private struct DirectChunk: Sendable {
        var offset: Int
        var count: Int
        var pieceOffset: Int
        var from: Int
        var to: Int
        var target: UInt
        var placement: Placement?
    }

    /// The chunks of a direct read of `piece`: its bytes split where the aligned file offsets
    /// `directChunkBytes` apart fall, each boundary moved back to a whole unit of the piece's placement
    /// (none: a byte, so the chunks are the aligned range cut into `directChunkBytes`), each chunk read as
    /// the aligned range around its bytes. A boundary inside an aligned block has that block read by both
    /// chunks: at most `directAlignment` bytes more per chunk (0.1 % at 4 MiB chunks).
    private func directChunks(_ piece: Piece) -> [DirectChunk] {
        let a = Self.directAlignment, unit = piece.placement?.unitBytes ?? 1, count = piece.buffer.count
        let start = piece.offset / a * a
        var bounds = [0]
        var next = start + Self.directChunkBytes
        while next < piece.offset + count {
            let bound = (next - piece.offset) / unit * unit
            if bound > bounds.last! { bounds.append(bound) }
            next += Self.directChunkBytes
        }
        bounds.append(count)
        return zip(bounds, bounds.dropFirst()).map { from, to in
            let readStart = (piece.offset + from) / a * a, readEnd = (piece.offset + to + a - 1) / a * a
            return DirectChunk(offset: readStart, count: readEnd - readStart, pieceOffset: piece.offset, from: from, to: to,
                               target: UInt(bitPattern: piece.buffer.baseAddress!), placement: piece.placement)
        }
    }

    /// `read` through `O_DIRECT`: each piece in chunks (`directChunks`); chunk i goes to reader i mod
    /// `directReaders` (the calling thread is reader 0), each through its own aligned bounce buffer, from
    /// which the reader copies or places the chunk's bytes.
    private func readDirect(_ pieces: [Piece]) throws {
        let a = Self.directAlignment
        let chunks = pieces.flatMap(directChunks)
        let readers = min(Self.directReaders, chunks.count)
        let size = chunks.map(\.count).max() ?? 0
        // one direct read at a time uses the file's bounce buffers (the engine reads on one thread anyway)
        bounceLock.lock()
        defer { bounceLock.unlock() }
        if size > bounceBytes {
            for buffer in bounceBuffers { free(buffer) }
            bounceBuffers = []
            bounceBytes = size
        }
        while bounceBuffers.count < readers {
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, a, bounceBytes) == 0, let bounce = memory else {
                throw ExpertStoreError.io(path: path, reason: "no memory for a \(bounceBytes)-byte read buffer")
            }
            bounceBuffers.append(bounce)
        }
        // addresses cross to the reader threads as integers (pointers are not Sendable); each thread writes
        // its own chunks of the targets and its own bounce buffer only
        let bounces = bounceBuffers.map { UInt(bitPattern: $0) }
        let errors = ReaderErrors(count: readers)
        @Sendable func reader(_ r: Int) {
            let bounce = UnsafeMutableRawPointer(bitPattern: bounces[r])!
            do {
                for chunk in stride(from: r, to: chunks.count, by: readers).map({ chunks[$0] }) {
                    // the file may end inside the last aligned block: the whole block is asked for, what is
                    // needed must come
                    let fileFrom = chunk.pieceOffset + chunk.from, fileTo = chunk.pieceOffset + chunk.to
                    try readFully(directDescriptor, into: bounce, count: chunk.count, at: chunk.offset, asked: fileTo - chunk.offset)
                    let source = UnsafeRawBufferPointer(start: bounce + (fileFrom - chunk.offset), count: chunk.to - chunk.from)
                    let destination = UnsafeMutableRawBufferPointer(
                        start: UnsafeMutableRawPointer(bitPattern: chunk.target + UInt(chunk.from)), count: chunk.to - chunk.from)
                    if let placement = chunk.placement {
                        placement.place(source, destination)
                    } else {
                        destination.copyMemory(from: source)
                    }
                }
            } catch {
                errors.set(r, error)
            }
        }
        let done = DispatchGroup()
        for r in 1..<max(1, readers) {
            done.enter()
            Thread.detachNewThread {
                reader(r)
                done.leave()
            }
        }
        reader(0)
        done.wait()
        if let error = errors.first { throw error }
    }

    /// Reads up to `count` bytes at `offset` into `to` (several `pread` calls if the kernel returns fewer),
    /// stopping early only at the end of the file, which is an error if fewer than `asked` bytes came.
    /// - Returns: bytes read.
    @discardableResult
    private func readFully(_ fd: Int32, into to: UnsafeMutableRawPointer, count: Int, at offset: Int, asked: Int) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, to + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ExpertStoreError.io(path: path, reason: "read of \(count) bytes at \(offset): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            done += n
            // a direct read comes back short only at the end of the file (its end need not be aligned)
            if fd == directDescriptor && (offset + done) % Self.directAlignment != 0 { break }
        }
        if done < asked { throw ExpertStoreError.truncated(path: path, expectedBytes: offset + asked, actualBytes: offset + done) }
        return done
    }

    /// Asks the kernel to drop this file's pages from the page cache (`posix_fadvise(POSIX_FADV_DONTNEED)`
    /// over the whole file), so reads that follow come from the disk, not from memory. Pages mapped or
    /// dirty elsewhere may stay.
    /// - Returns: whether the advice was accepted.
    @discardableResult
    public func dropPageCache() -> Bool {
        dropPages(at: 0, count: 0)
    }

    /// `dropPageCache` for the bytes `[offset, offset + count)` only (count 0: to the end of the file).
    @discardableResult
    public func dropPages(at offset: Int, count: Int) -> Bool {
        posix_fadvise(descriptor, off_t(offset), off_t(count), Int32(POSIX_FADV_DONTNEED)) == 0
    }
}

/// `O_DIRECT` (Linux `asm-generic/fcntl.h`; arm64 `asm/fcntl.h`), which Glibc's Swift module does not
/// export; nil where there is none.
#if os(Linux) && (arch(x86_64) || arch(i386))
private let directOpenFlag: Int32? = 0o40000
#elseif os(Linux) && arch(arm64)
private let directOpenFlag: Int32? = 0o200000
#else
private let directOpenFlag: Int32? = nil
#endif

/// One error slot per reader thread of a direct read, each written by its own thread only, read after all
/// have finished.
// @unchecked Sendable: each reader thread writes only its own slot; the slots are read after every reader has finished.
private final class ReaderErrors: @unchecked Sendable {
    private let errors: UnsafeMutableBufferPointer<Error?>
    init(count: Int) {
        errors = .allocate(capacity: count)
        errors.initialize(repeating: nil)
    }
    deinit {
        errors.deinitialize()
        errors.deallocate()
    }
    func set(_ reader: Int, _ error: Error) { errors[reader] = error }
    var first: Error? { errors.lazy.compactMap { $0 }.first }
}
