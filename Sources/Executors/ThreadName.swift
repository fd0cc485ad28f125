#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread for the kernel, which is what `top -H`, `ps -L` and perf show (Foundation's
/// `Thread.name` does not reach it on Linux). The kernel keeps 15 bytes; longer names are cut.
///
/// Written to /proc/thread-self/comm: `pthread_setname_np` is declared only under _GNU_SOURCE and `prctl` is
/// variadic, so neither imports into Swift.
public func nameCurrentThread(_ name: String) {
    #if canImport(Glibc)
    let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    #endif
}
