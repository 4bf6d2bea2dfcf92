import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file experts are read from with positioned reads (`pread`), never mapped: only the bytes asked for
/// enter the process's arrays.
///
/// Large reads (an expert's projection, megabytes) bypass the page cache (`O_DIRECT`): the aligned range
/// around the bytes asked for is read in chunks of `directChunkBytes` by `directReaders` threads at once,
/// each chunk into an aligned bounce buffer and copied to its place. Against one buffered `pread` of the
/// same 33 MB (kernel readahead on, pages dropped after each read), three projections 264 MB apart at
/// random offsets of the full-size file, the two ways alternating, on the development machine's virtual
/// disk while other sessions built (2026-12-07 08:00 UTC, load 8–10): 1.3–1.8 GB/s instead of 0.7–1.0,
/// two thirds of the CPU time per byte, and the bytes asked for (plus at most two 4 KiB blocks) instead
/// of readahead's 1–20 % more past the end of each projection (`/proc/self/io`). A slot's array cannot
/// be the read's target itself: `O_DIRECT` needs the memory and the file offset aligned to the device's
/// block (512 B here), and a GGUF tensor is only 32-byte aligned.
/// Where the file system refuses `O_DIRECT` (tmpfs, some network file systems) and for small reads,
/// reads are buffered.
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
    /// Reads smaller than this are buffered (a direct read costs whole aligned blocks and thread hand-offs;
    /// 1 MiB, below any expert projection of a real model; tests lower it to read small models directly).
    var directReadMinimumBytes = 1 << 20
    /// The direct reads' bounce buffers (`directReaders` × `directChunkBytes`, 16 MiB, allocated at the
    /// first direct read and kept: part of the process's overhead outside `--ram-budget`).
    private var bounceBuffers: [UnsafeMutableRawPointer] = []
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

    /// Fills `buffer` with the bytes at `offset`.
    /// - Throws: `ExpertStoreError.truncated` when the file ends first, `.io` on a read error.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        if readsDirect(bytes: buffer.count) {
            try readDirect(into: buffer, at: offset)
            return
        }
        try readFully(descriptor, into: buffer.baseAddress!, count: buffer.count, at: offset, asked: buffer.count)
        if dropsPagesAfterRead { posix_fadvise(descriptor, off_t(offset), off_t(buffer.count), Int32(POSIX_FADV_DONTNEED)) }
    }

    /// `read` through `O_DIRECT`: chunk i of the aligned range goes to reader i mod `directReaders` (the
    /// calling thread is reader 0), each through its own aligned bounce buffer.
    private func readDirect(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        let a = Self.directAlignment, chunk = Self.directChunkBytes
        let start = offset / a * a, end = (offset + buffer.count + a - 1) / a * a
        let chunks = (end - start + chunk - 1) / chunk
        let readers = min(Self.directReaders, chunks)
        // one direct read at a time uses the file's bounce buffers (the engine reads on one thread anyway)
        bounceLock.lock()
        defer { bounceLock.unlock() }
        while bounceBuffers.count < readers {
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, a, chunk) == 0, let bounce = memory else {
                throw ExpertStoreError.io(path: path, reason: "no memory for a \(chunk)-byte read buffer")
            }
            bounceBuffers.append(bounce)
        }
        // addresses cross to the reader threads as integers (pointers are not Sendable); each thread writes
        // its own chunks of the target and its own bounce buffer only
        let bounces = bounceBuffers.map { UInt(bitPattern: $0) }
        let target = UInt(bitPattern: buffer.baseAddress!), count = buffer.count
        let errors = ReaderErrors(count: readers)
        @Sendable func reader(_ r: Int) {
            let bounce = UnsafeMutableRawPointer(bitPattern: bounces[r])!
            do {
                for i in stride(from: r, to: chunks, by: readers) {
                    let chunkStart = start + i * chunk
                    let wanted = min(chunk, end - chunkStart)
                    // the file may end inside the last aligned block: the whole block is asked for, what is
                    // needed must come
                    let from = max(chunkStart, offset), to = min(chunkStart + wanted, offset + count)
                    try readFully(directDescriptor, into: bounce, count: wanted, at: chunkStart, asked: to - chunkStart)
                    UnsafeMutableRawPointer(bitPattern: target + UInt(from - offset))!
                        .copyMemory(from: bounce + (from - chunkStart), byteCount: to - from)
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
