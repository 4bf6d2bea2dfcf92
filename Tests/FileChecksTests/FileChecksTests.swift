import Foundation
import Testing
import TestSupport
@testable import FileChecks

/// `outputFileRefusal` and `FileKind`: only regular files are ever replaced.
struct OutputFileRefusalTests {
    let scratch = try! TemporaryDirectory("file-checks")

    @Test func aMissingFileMayBeWritten() {
        #expect(outputFileRefusal(scratch.url.appendingPathComponent("new.bin").path, overwrite: false) == nil)
    }

    @Test func aRegularFileNeedsOverwrite() throws {
        let file = scratch.url.appendingPathComponent("a.txt")
        try Data("x".utf8).write(to: file)
        #expect(outputFileRefusal(file.path, overwrite: false) == .exists)
        #expect(outputFileRefusal(file.path, overwrite: true) == nil)
    }

    @Test func aNamedPipeIsNeverReplaced() throws {
        let fifo = scratch.url.appendingPathComponent("pipe")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(FileKind(path: fifo.path) == .namedPipe)
        #expect(outputFileRefusal(fifo.path, overwrite: true) == .notARegularFile(.namedPipe))
        #expect(outputFileRefusal(fifo.path, overwrite: false) == .notARegularFile(.namedPipe))
    }

    @Test func aDeviceIsNeverReplaced() {
        #expect(FileKind(path: "/dev/null") == .characterDevice)
        #expect(outputFileRefusal("/dev/null", overwrite: true) == .notARegularFile(.characterDevice))
    }

    @Test func aLinkToAPipeOrToNothingIsNeverReplaced() throws {
        let fifo = scratch.url.appendingPathComponent("pipe")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let link = scratch.url.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: fifo.path)
        #expect(outputFileRefusal(link.path, overwrite: true) == .notARegularFile(.namedPipe))
        let broken = scratch.url.appendingPathComponent("broken")
        try FileManager.default.createSymbolicLink(atPath: broken.path, withDestinationPath: "/nonexistent/target")
        #expect(outputFileRefusal(broken.path, overwrite: true) == .notARegularFile(.brokenLink))
    }

    /// A link that leads back to itself is a loop (stat's ELOOP), not a missing file or a link to nothing.
    @Test func aLinkLoopIsALoop() throws {
        let a = scratch.url.appendingPathComponent("a"), b = scratch.url.appendingPathComponent("b")
        try FileManager.default.createSymbolicLink(atPath: a.path, withDestinationPath: b.path)
        try FileManager.default.createSymbolicLink(atPath: b.path, withDestinationPath: a.path)
        #expect(FileKind(path: a.path) == .linkLoop)
        #expect(inputFileProblem(a.path) == "is a symbolic link in a loop: too many levels of symbolic links")
        #expect(outputFileRefusal(a.path, overwrite: true) == .notARegularFile(.linkLoop))
        #expect(FileKind(path: scratch.url.appendingPathComponent("missing").path) == .missing)
    }

    @Test func aFolderIsRefused() {
        #expect(outputFileRefusal(scratch.url.path, overwrite: true) == .isAFolder)
    }

    @Test func aSocketIsNeverReplaced() throws {
        let path = scratch.url.appendingPathComponent("s").path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        #expect(outputFileRefusal(path, overwrite: true) == .notARegularFile(.socket))
    }
}

/// `OutputFolderLock`: one writer per folder at a time.
struct OutputFolderLockTests {
    let scratch = try! TemporaryDirectory("folder-lock")

    @Test func aSecondLockIsRefusedWithoutWaiting() throws {
        let first = try OutputFolderLock(scratch.url, wait: false)
        #expect(throws: OutputFolderLock.Failure.busy) { try OutputFolderLock(scratch.url, wait: false) }
        first.release()
        let second = try OutputFolderLock(scratch.url, wait: false)
        second.release()
    }

    @Test func aWaitingLockGetsTheFolderWhenTheFirstIsReleased() throws {
        let first = try OutputFolderLock(scratch.url, wait: false)
        let released = DispatchSemaphore(value: 0)
        // signalled just before the release: a waiter that has the lock finds the signal (the other order let
        // the waiter win between release and signal on a loaded machine)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { released.signal(); first.release() }
        var waited = false
        let second = try OutputFolderLock(scratch.url, wait: true) { waited = true }
        #expect(waited)
        #expect(released.wait(timeout: .now()) == .success)  // it only got the lock after the release
        second.release()
    }

    @Test func otherFoldersAreIndependent() throws {
        let a = try OutputFolderLock(try scratch.newFolder(), wait: false)
        let b = try OutputFolderLock(try scratch.newFolder(), wait: false)
        a.release(); b.release()
    }

    @Test func aMissingFolderCannotBeLocked() {
        #expect(throws: OutputFolderLock.Failure.self) { try OutputFolderLock(scratch.url.appendingPathComponent("no"), wait: false) }
    }

    @Test func noLockFileIsLeftBehind() throws {
        let lock = try OutputFolderLock(scratch.url, wait: false)
        lock.release()
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }
}
