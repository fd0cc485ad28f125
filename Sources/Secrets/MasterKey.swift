import Crypto
import Foundation

/// The key every secret is sealed with: 32 bytes from `CONFLUX_MASTER_KEY` (base64 or hex) or from a key file that
/// only its owner may read. Anything else refuses to start, saying why.
public struct MasterKey: Sendable {
    private let bytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: bytes) }

    public static let environmentVariable = "CONFLUX_MASTER_KEY"

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// From the environment when set, else from `keyFile`.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment, keyFile: URL) throws(Problem) -> MasterKey {
        if let text = environment[environmentVariable] {
            guard let bytes = decode(text) else {
                throw Problem(description: "\(environmentVariable) must be 32 bytes in base64 or hex (64 hex digits); its value was not")
            }
            return MasterKey(bytes: bytes)
        }
        let path = keyFile.path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Problem(description: "no master key: set \(environmentVariable), or create the key file \(path) with `conflux secrets init-key --key-file \(path)`")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw Problem(description: "the key file \(path) is readable or writable by its group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run `chmod 600 \(path)`")
        }
        guard info.st_uid == getuid() else {
            throw Problem(description: "the key file \(path) belongs to another user (uid \(info.st_uid)); the key must be owned by the user running conflux")
        }
        guard let data = FileManager.default.contents(atPath: path),
              let bytes = decode(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Problem(description: "the key file \(path) must hold 32 bytes in base64 or hex")
        }
        return MasterKey(bytes: bytes)
    }

    /// Writes a new random key to `keyFile`, readable by its owner only; refuses to overwrite one.
    public static func create(keyFile: URL) throws(Problem) {
        let path = keyFile.path
        guard !FileManager.default.fileExists(atPath: path) else {
            throw Problem(description: "\(path) exists; a new key would make every sealed secret unreadable")
        }
        try? FileManager.default.createDirectory(at: keyFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        let text = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw Problem(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        guard written == text.utf8.count, fsync(fd) == 0 else { throw Problem(description: "cannot write \(path)") }
    }

    static func decode(_ text: String) -> [UInt8]? {
        if text.count == 64, text.allSatisfy(\.isHexDigit) {
            var bytes: [UInt8] = []
            var index = text.startIndex
            while index < text.endIndex {
                let next = text.index(index, offsetBy: 2)
                guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
                bytes.append(byte)
                index = next
            }
            return bytes
        }
        guard let data = Data(base64Encoded: text), data.count == 32 else { return nil }
        return Array(data)
    }
}
