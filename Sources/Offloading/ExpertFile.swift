import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file experts are read from with positioned reads (`pread`), never mapped: only the bytes asked for
/// enter the process's arrays.
///
/// Reads bypass the page cache (`O_DIRECT`): the aligned range
/// around the bytes asked for is read in chunks of `directChunkBytes` by `directReaders` threads at once
/// (`DirectReaders`, one queue for every file), each chunk into an aligned bounce buffer and copied to its
/// place. Against one buffered `pread` of the
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

    /// Bytes of one direct chunk (4 MiB: `max_sectors_kb` of the development machine's disk, one request).
    static let directChunkBytes = 4 << 20
    /// Chunks read at once (4: the fastest of 2–4 threads × 2–8 MiB measured as above; their bounce
    /// buffers, 6 MiB each on huge pages, are kept for the process's life: part of its overhead outside
    /// `--ram-budget`).
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

    /// Fills every piece's buffer with the file's bytes at its offset (`start`, then `Batch.wait`).
    /// - Throws: `ExpertStoreError.truncated` when the file ends first, `.io` on a read error.
    public func read(_ pieces: [Piece]) throws {
        try start(pieces).wait()
    }

    /// Starts filling every piece's buffer with the file's bytes at its offset: those `readsDirect(bytes:)`
    /// refuses are read buffered, one after another, before this returns; the others are cut into chunks
    /// (`directChunks`) queued on the process's direct readers (`DirectReaders`) behind every chunk queued
    /// before, and read after this returns. An expert's projections started as one batch keep every reader
    /// busy to the end, where reading them one by one left readers idle at the end of each (on the
    /// full-size file's experts, alternating, 0.58 against 0.40 GB/s with 4 MiB chunks and 0.65 against
    /// 0.51 with 2 MiB, 2026-12-07 08:30 UTC, load 14). The buffers must stay valid until the batch's
    /// `wait()` has returned.
    /// - Throws: `ExpertStoreError.truncated` / `.io` from the buffered reads (the direct reads' errors
    ///   come from `wait()`).
    public func start(_ pieces: [Piece]) throws -> Batch {
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
        let chunks = pieces.filter { readsDirect(bytes: $0.buffer.count) }.flatMap(directChunks)
        let batch = Batch(chunks: chunks.count)
        if !chunks.isEmpty {
            DirectReaders.shared.enqueue(chunks.map { chunk in
                DirectReaders.Chunk(count: chunk.count) { bounce in batch.chunkRead(self.readDirect(chunk, through: bounce)) }
            })
        }
        return batch
    }

    /// The direct chunks of one `start`, being read on the direct readers.
    // @unchecked Sendable: `remaining` and `error` are behind `lock`.
    public final class Batch: @unchecked Sendable {
        private let lock = NSLock()
        private var remaining: Int
        private var error: Error?
        private let finished = DispatchSemaphore(value: 0)

        init(chunks: Int) {
            remaining = chunks
            if chunks == 0 { finished.signal() }
        }

        /// Counts one chunk read (or failed with `error`).
        fileprivate func chunkRead(_ error: Error?) {
            lock.lock()
            if self.error == nil { self.error = error }
            remaining -= 1
            let last = remaining == 0
            lock.unlock()
            if last { finished.signal() }
        }

        /// Blocks until every chunk is in its buffer (any number of times).
        /// - Throws: the first chunk's error: `ExpertStoreError.truncated` when the file ends first, `.io` on
        ///   a read error or when there was no memory for a bounce buffer.
        public func wait() throws {
            finished.wait()
            finished.signal()
            lock.lock()
            defer { lock.unlock() }
            if let error { throw error }
        }
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

    /// Reads `chunk` through `O_DIRECT` into `bounce` (a reader thread's own aligned buffer; nil: there was
    /// no memory for one), then copies or places its bytes into the piece's buffer.
    /// - Returns: the error, or nil.
    private func readDirect(_ chunk: DirectChunk, through bounce: UnsafeMutableRawPointer?) -> Error? {
        guard let bounce else { return ExpertStoreError.io(path: path, reason: "no memory for a \(chunk.count)-byte read buffer") }
        do {
            // the file may end inside the last aligned block: the whole block is asked for, what is needed must come
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
            return nil
        } catch {
            return error
        }
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
