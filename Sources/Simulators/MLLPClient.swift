#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A blocking MLLP sender (HL7 v2 Minimal Lower Layer Protocol: <VT> message <FS><CR>), as a scheduling system's
/// interface engine is: one connection, each message sent then its acknowledgement read before the next. Blocking
/// sockets because the simulator sends a handful of messages from its own thread; never used on the server's loops.
final class MLLPClient {
    enum Failure: Error, CustomStringConvertible {
        case connect(String, Int32), closed
        var description: String {
            switch self {
            case .connect(let target, let code): return "cannot connect to MLLP \(target) (errno \(code))"
            case .closed: return "the MLLP peer closed the connection without an acknowledgement"
            }
        }
    }

    private let socket: Int32

    init(host: String, port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure.connect("\(host):\(port)", errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // deinit closes the socket, also when this initializer throws (every stored property is set by then).
        guard connected == 0 else { throw Failure.connect("\(host):\(port)", errno) }
    }

    deinit { if socket >= 0 { close(socket) } }

    /// Sends one message and returns the acknowledgement's text (segments separated by CR).
    func exchange(_ message: String) throws -> String {
        let frame = [0x0B] + Array(message.utf8) + [0x1C, 0x0D]
        var offset = 0
        while offset < frame.count {
            let sent = frame[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure.closed }
            offset += sent
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !(received.count >= 2 && received.suffix(2) == [0x1C, 0x0D]) {
            let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure.closed }
            received += chunk[0..<n]
        }
        guard received.first == 0x0B else { throw Failure.closed }
        return String(decoding: received.dropFirst().dropLast(2), as: UTF8.self)
    }
}
