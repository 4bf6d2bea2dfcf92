import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A weights file mapped read-only, whose experts are computed where their bytes lie: an expert cache's
/// mapped slots (`ExpertSlot`) read an expert's pages into the page cache on a miss (`populate`) and drop
/// them on eviction (`release`), as the cache policy decides — the page cache holds exactly the experts the
/// slots hold, and the kernel's own eviction (what llama.cpp's mmap relies on) has nothing to choose.
///
/// Why pages of the file and not arrays of the process: the disk writes the bytes straight into the page
/// cache, and nothing else is written. An array must first be given fresh pages by the kernel, zeroed by the
/// CPU, and — in a virtual machine whose host takes back the memory the guest frees (free page reporting) —
/// provided again by the host: on the development machine a first write of 14 GiB of fresh anonymous memory
/// took 17–18 s of CPU time after 90 s of idleness, 1.2–5.4 s right after another process freed its memory
/// (C test, 2026-12-07 19:27–19:33 UTC); with a 16 GiB budget that cost fell on the prefill. No rearranging
/// either: the kernels read GGML blocks in the file's layout (`ck_layout`, `GGMLMatrix.Storage.mapped`).
///
/// Reading: the mapping is advised `MADV_RANDOM` (a fault reads its own page only, never past an expert's
/// end); `populate` first asks for the whole range with `posix_fadvise(WILLNEED)` in pieces of
/// `readAheadPieceBytes` (the kernel reads at most its readahead window per call), so the disk has the whole
/// expert queued, then maps it with `madvise(MADV_POPULATE_READ)` (Linux 5.14), which waits for the pages.
/// On the full-size file, 24 random ranges of 99 MiB, page cache dropped before each way, alternating
/// (2026-12-07 19:41 UTC, load 2.5): 2.5–4.0 GB/s in one thread and 0.3 s of CPU for 2.5 GB, against
/// 1.2–2.6 GB/s for `O_DIRECT` reads by four threads (`ExpertFile`); `MADV_POPULATE_READ` alone, without the
/// advice, 0.13 GB/s (one page per fault).
public final class MappedPages: Sendable {
    public let path: String
    /// Size in bytes when mapped.
    public let byteCount: Int
    private let descriptor: Int32
    /// The mapping's address (an integer, so that it crosses threads).
    private let base: UInt
    /// Bytes asked for per `posix_fadvise(WILLNEED)` call (8 MiB: the development machine's `read_ahead_kb`;
    /// a call reads at most the larger of that and the device's request size).
    static let readAheadPieceBytes = 8 << 20

    /// Maps `path` read-only.
    /// - Throws: `ExpertStoreError.io` when the file cannot be opened or mapped.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ExpertStoreError.io(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else {
            let reason = info.st_size == 0 ? "empty file" : String(cString: strerror(errno))
            close(fd)
            throw ExpertStoreError.io(path: path, reason: reason)
        }
        guard let address = mmap(nil, Int(info.st_size), PROT_READ, MAP_SHARED, fd, 0), address != MAP_FAILED else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ExpertStoreError.io(path: path, reason: "cannot map the file: \(reason)")
        }
        madvise(address, Int(info.st_size), MADV_RANDOM)
        descriptor = fd
        byteCount = Int(info.st_size)
        base = UInt(bitPattern: address)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(bitPattern: base), byteCount)
        close(descriptor)
    }

    /// Queues the reads of `[offset, offset + count)` into the page cache and returns (`posix_fadvise
    /// WILLNEED`, piece by piece); `populate` waits for them.
    public func readAhead(at offset: Int, count: Int) {
        var at = offset
        while at < offset + count {
            let piece = min(Self.readAheadPieceBytes, offset + count - at)
            posix_fadvise(descriptor, off_t(at), off_t(piece), Int32(POSIX_FADV_WILLNEED))
            at += piece
        }
    }

    /// Maps the pages of `[offset, offset + count)` into the process, reading those not in the page cache
    /// (after `readAhead`, waiting for its reads).
    /// - Returns: the address of byte `offset`, valid while this object lives.
    /// - Throws: `ExpertStoreError.truncated` when the range passes the end of the file, `.io` when the
    ///   kernel cannot read the pages.
    public func populate(at offset: Int, count: Int) throws -> UnsafeRawPointer {
        guard offset >= 0, count >= 0, offset + count <= byteCount else {
            throw ExpertStoreError.truncated(path: path, expectedBytes: offset + count, actualBytes: byteCount)
        }
        let (start, length) = pages(around: offset, count: count)
        let first = UnsafeMutableRawPointer(bitPattern: base + UInt(start))!
        if madvise(first, length, populateRead) != 0 {
            guard errno == EINVAL else {
                throw ExpertStoreError.io(path: path, reason: "reading \(count) bytes at \(offset) into memory: \(String(cString: strerror(errno)))")
            }
            // a kernel without MADV_POPULATE_READ: one read per page faults it in
            var sum: UInt8 = 0
            for page in stride(from: 0, to: length, by: pageBytes) { sum &+= first.load(fromByteOffset: page, as: UInt8.self) }
            withExtendedLifetime(sum) {}
        }
        return UnsafeRawPointer(bitPattern: base + UInt(offset))!
    }

    /// Unmaps the whole pages inside `[offset, offset + count)` from the process (`MADV_DONTNEED`) and drops
    /// them from the page cache (`posix_fadvise DONTNEED`), so the memory is free and the next use reads
    /// the disk again. The partial pages at the ends are kept: a neighbouring expert may be using them.
    public func release(at offset: Int, count: Int) {
        let start = (offset + pageBytes - 1) / pageBytes * pageBytes, end = (offset + count) / pageBytes * pageBytes
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: base + UInt(start)), end - start, MADV_DONTNEED)
        posix_fadvise(descriptor, off_t(start), off_t(end - start), Int32(POSIX_FADV_DONTNEED))
    }

    /// The whole pages covering `[offset, offset + count)`: first page's offset and length in bytes.
    private func pages(around offset: Int, count: Int) -> (Int, Int) {
        let start = offset / pageBytes * pageBytes
        let end = min(byteCount, (offset + count + pageBytes - 1) / pageBytes * pageBytes)
        return (start, end - start)
    }
}

/// The size of a memory page.
private let pageBytes = Int(sysconf(Int32(_SC_PAGESIZE)))

/// `MADV_POPULATE_READ` (Linux 5.14, `asm-generic/mman-common.h`), which Glibc's Swift module may not export.
private let populateRead: Int32 = 22
