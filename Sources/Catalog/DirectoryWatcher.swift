#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Watches folders (recursively) with Linux inotify and reports the changed paths in debounced batches: a batch is
/// delivered once no event has arrived for `quiet` — an editor's save (write a temporary file, rename it over the old
/// one) is one batch, not five. Written by hand because no package in reach wraps inotify; it is a few system calls.
public final class DirectoryWatcher: Sendable {
    public let changes: AsyncStream<Set<String>>
    private let continuation: AsyncStream<Set<String>>.Continuation
    private final class StopFlag: Sendable { let value = Atomic<Bool>(false) }
    private let stopped = StopFlag()
    private let fd: Int32

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    public init(folders: [URL], quiet: Duration = .milliseconds(40)) throws(Failure) {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw Failure(description: "inotify_init1 failed: \(String(cString: strerror(errno)))") }
        (changes, continuation) = AsyncStream.makeStream(of: Set<String>.self, bufferingPolicy: .unbounded)
        var watches: [Int32: String] = [:]
        for folder in folders { Self.watchTree(fd: fd, path: folder.standardizedFileURL.path, into: &watches) }
        let fd = self.fd, stopped = self.stopped, continuation = self.continuation, initial = watches
        let quietNanoseconds = quiet.components.seconds * 1_000_000_000 + quiet.components.attoseconds / 1_000_000_000
        let thread = Thread {
            Self.loop(fd: fd, watches: initial, quietNanoseconds: quietNanoseconds, stopped: stopped, continuation: continuation)
        }
        thread.name = "conflux-watch"
        thread.start()
    }

    /// Stops the thread (within 100 ms) and ends `changes`.
    public func stop() { stopped.value.store(true, ordering: .relaxed) }

    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF)

    private static func watchTree(fd: Int32, path: String, into watches: inout [Int32: String]) {
        let wd = inotify_add_watch(fd, path, mask)
        guard wd >= 0 else { return }
        watches[wd] = path
        let children = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for child in children {
            var isDirectory: ObjCBool = false
            let full = path + "/" + child
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue {
                watchTree(fd: fd, path: full, into: &watches)
            }
        }
    }

    private static func loop(fd: Int32, watches: [Int32: String], quietNanoseconds: Int64, stopped: StopFlag,
                             continuation: AsyncStream<Set<String>>.Continuation) {
        var watches = watches
        var pending = Set<String>()
        var lastEvent = DispatchTime.now().uptimeNanoseconds
        let bufferSize = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate(); close(fd); continuation.finish() }
        while !stopped.value.load(ordering: .relaxed) {
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let timeout: Int32 = pending.isEmpty ? 100 : Int32(max(1, quietNanoseconds / 1_000_000))
            let ready = poll(&pollfd, 1, timeout)
            if ready > 0 {
                let count = read(fd, buffer, bufferSize)
                var offset = 0
                while count > 0, offset + MemoryLayout<inotify_event>.size <= count {
                    let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                    let nameStart = offset + MemoryLayout<inotify_event>.size
                    var name = ""
                    if event.len > 0 {
                        name = String(cString: buffer.advanced(by: nameStart).assumingMemoryBound(to: CChar.self))
                    }
                    offset = nameStart + Int(event.len)
                    guard let directory = watches[event.wd] else { continue }
                    let path = name.isEmpty ? directory : directory + "/" + name
                    if event.mask & UInt32(IN_ISDIR) != 0, event.mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                        watchTree(fd: fd, path: path, into: &watches)
                    }
                    if event.mask & UInt32(IN_IGNORED) != 0 { watches[event.wd] = nil; continue }
                    pending.insert(path)
                    lastEvent = DispatchTime.now().uptimeNanoseconds
                }
            }
            if !pending.isEmpty, DispatchTime.now().uptimeNanoseconds - lastEvent >= UInt64(quietNanoseconds) {
                continuation.yield(pending)
                pending.removeAll()
            }
        }
    }
}
