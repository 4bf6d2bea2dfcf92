import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file experts are read from with positioned reads (`pread`), never mapped: only the bytes asked for
/// enter the process, straight into a slot's arrays.
public final class ExpertFile: @unchecked Sendable {
    public let path: String
    /// Size in bytes when opened.
    public let byteCount: Int
    private let descriptor: Int32
    /// Drop each read's pages from the page cache once read (see `dropPageCache`), so that reading the
    /// same bytes again goes to the disk again.
    public var dropsPagesAfterRead = false

    /// Opens `path` read-only. The kernel's readahead stays on although it reads past the end of each
    /// projection (up to `read_ahead_kb`, 8 MiB on the development machine's disk; 13–15 % of the bytes the
    /// full-size benchmark's runs read): without it (`POSIX_FADV_RANDOM`), 33 MB positioned reads ran at
    /// 1.0–1.5 GB/s instead of 4.0 (page cache dropped, 2026-12-07), and the benchmark's prefill and decode
    /// at two thirds to four fifths of their speed with it.
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
    }

    deinit { close(descriptor) }

    /// Fills `buffer` with the bytes at `offset` (several `pread` calls if the kernel returns fewer).
    /// - Throws: `ExpertStoreError.truncated` when the file ends first, `.io` on a read error.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ExpertStoreError.io(path: path, reason: "read of \(buffer.count) bytes at \(offset): \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw ExpertStoreError.truncated(path: path, expectedBytes: offset + buffer.count, actualBytes: offset + done) }
            done += n
        }
        if dropsPagesAfterRead { posix_fadvise(descriptor, off_t(offset), off_t(buffer.count), Int32(POSIX_FADV_DONTNEED)) }
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
