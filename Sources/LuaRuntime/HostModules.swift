import Crypto
import Foundation
import Logging

/// The Swift side of the host modules plugins reach with `require`: `log`, `time`, `crypto`, and the loader of a
/// plugin's own modules. (`json` is C, in clua_json.c.) The Lua-facing tables are assembled in `LuaPrelude`.
enum HostModules {
    static let functions: [HostFunction] = [
        HostFunction("log.write", logWrite),
        HostFunction("time.sleep", timeSleep),
        HostFunction("time.now") { _ in .values([.number(Date().timeIntervalSince1970)]) },
        HostFunction("time.now_ms") { _ in .values([.integer(Int64(Date().timeIntervalSince1970 * 1000))]) },
        HostFunction("time.monotonic_ms") { _ in
            .values([.integer(Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000))])
        },
        HostFunction("time.iso8601", timeISO8601),
        HostFunction("time.parse_iso8601", timeParseISO8601),
        HostFunction("crypto.sha256") { call in
            bytes(call, 1) { .values([.text(hex(SHA256.hash(data: $0)))]) }
        },
        HostFunction("crypto.hmac_sha256", cryptoHMAC),
        HostFunction("crypto.base64_encode") { call in
            bytes(call, 1) { .values([.text(Data($0).base64EncodedString())]) }
        },
        HostFunction("crypto.base64_decode") { call in
            bytes(call, 1) { input in
                guard let data = Data(base64Encoded: Data(input)) else { return .values([.nil, .text("invalid base64")]) }
                return .values([.string(Array(data))])
            }
        },
        HostFunction("crypto.hex_encode") { call in bytes(call, 1) { .values([.text(hex($0))]) } },
        HostFunction("crypto.hex_decode") { call in
            bytes(call, 1) { input in
                guard let decoded = unhex(input) else { return .values([.nil, .text("invalid hex")]) }
                return .values([.string(decoded)])
            }
        },
        HostFunction("crypto.uuid") { _ in .values([.text(UUID().uuidString.lowercased())]) },
        HostFunction("crypto.constant_time_equal", constantTimeEqual),
        HostFunction("module.source", moduleSource),
        HostFunction("fixtures.read", fixturesRead),
        HostFunction("http.send", httpSend),
        HostFunction("x12.parse", x12Parse),
        HostFunction("hl7.parse", hl7Parse),
        HostFunction("ledger.put", ledgerPut),
        HostFunction("ledger.get", ledgerGet),
        HostFunction("ledger.scan", ledgerScan),
    ]

    /// The longest sleep a plugin may ask for: waiting longer belongs to the scheduler, not to one invocation.
    static let maxSleepMilliseconds: Int64 = 60_000
    /// The longest log message and fields a plugin may write in one call; longer ones are cut and marked, so a plugin
    /// cannot flood the host log with one call.
    static let maxLogMessageBytes = 8 * 1024
    static let maxLogFieldsBytes = 16 * 1024
    /// The largest plugin module file `require` reads.
    static let maxModuleBytes = 1 << 20

    private static func bytes(_ call: borrowing HostCall, _ index: Int32, _ body: ([UInt8]) -> HostOutcome) -> HostOutcome {
        switch call.string(index) {
        case .success(let value): return body(value)
        case .failure(let error): return .error(error.message)
        }
    }

    private static func logWrite(_ call: borrowing HostCall) -> HostOutcome {
        guard case .success(let levelBytes) = call.string(1), case .success(let messageBytes) = call.string(2) else {
            return .error("log: bad arguments")
        }
        let level = Logger.Level(rawValue: String(decoding: levelBytes, as: UTF8.self)) ?? .info
        var metadata: Logger.Metadata = ["plugin": .string(call.context.pluginName)]
        let redaction = call.context.redaction
        if case .success(let fields?) = call.optionalString(3) {
            let text = truncated(fields, to: maxLogFieldsBytes)
            metadata["fields"] = .string(redaction.map { $0.applyToFields(Array(text.utf8)) } ?? text)
        }
        if let invocation = call.context.current { metadata["invocation"] = .string(invocation.id) }
        let message = truncated(messageBytes, to: maxLogMessageBytes)
        call.context.logger.log(level: level, "\(redaction.map { $0.apply(message) } ?? message)", metadata: metadata)
        return .values([])
    }

    private static func timeSleep(_ call: borrowing HostCall) -> HostOutcome {
        let milliseconds: Int64
        switch call.integer(1) {
        case .success(let value): milliseconds = value
        case .failure(let error): return .error(error.message)
        }
        guard (0...maxSleepMilliseconds).contains(milliseconds) else {
            return .error("time.sleep: milliseconds must be between 0 and \(maxSleepMilliseconds), got \(milliseconds)")
        }
        return .wait(HostOperation(name: "time.sleep", finishingWithin: { limit in
            // Past the invocation's deadline the sleep would be cut short anyway: sleep only until then.
            try? await Task.sleep(for: min(.milliseconds(milliseconds), limit ?? .milliseconds(milliseconds)))
            return .values([.bool(true)])
        }))
    }

    private static func timeISO8601(_ call: borrowing HostCall) -> HostOutcome {
        let seconds: Double
        if call.isNil(1) {
            seconds = Date().timeIntervalSince1970
        } else {
            switch call.number(1) {
            case .success(let value): seconds = value
            case .failure(let error): return .error(error.message)
            }
        }
        guard seconds.isFinite, abs(seconds) < 253_402_300_800 else {
            return .error("time.iso8601: seconds out of range (\(seconds))")
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = seconds.rounded() == seconds
            ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        return .values([.text(formatter.string(from: Date(timeIntervalSince1970: seconds)))])
    }

    private static func timeParseISO8601(_ call: borrowing HostCall) -> HostOutcome {
        bytes(call, 1) { input in
            let text = String(decoding: input, as: UTF8.self)
            let formatter = ISO8601DateFormatter()
            for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate]] {
                formatter.formatOptions = options
                if let date = formatter.date(from: text) { return .values([.number(date.timeIntervalSince1970)]) }
            }
            return .values([.nil, .text("not an ISO 8601 date-time: \(text.prefix(64))")])
        }
    }

    private static func cryptoHMAC(_ call: borrowing HostCall) -> HostOutcome {
        guard case .success(let key) = call.string(1) else { return .error("crypto.hmac_sha256: key must be a string") }
        guard case .success(let message) = call.string(2) else {
            return .error("crypto.hmac_sha256: message must be a string")
        }
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
        return .values([.text(hex(mac))])
    }

    private static func constantTimeEqual(_ call: borrowing HostCall) -> HostOutcome {
        guard case .success(let a) = call.string(1), case .success(let b) = call.string(2) else {
            return .error("crypto.constant_time_equal: two strings expected")
        }
        // Compare every byte whatever the first difference, so timing does not reveal where it is.
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return .values([.bool(difference == 0)])
    }

    /// Reads a file of the plugin's own folder (test fixtures, value maps shipped with the plugin). The path must be
    /// relative and stay inside the folder, symbolic links included.
    private static func fixturesRead(_ call: borrowing HostCall) -> HostOutcome {
        guard case .success(let pathBytes) = call.string(1) else { return .error("fixtures.read: path must be a string") }
        let path = String(decoding: pathBytes, as: UTF8.self)
        guard let root = call.context.pluginRoot else { return .error("fixtures.read: this chunk has no plugin folder") }
        guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains(".."), !path.contains("\0") else {
            return .error("fixtures.read: '\(path)' must be a relative path inside the plugin folder")
        }
        let base = root.resolvingSymlinksInPath().standardizedFileURL.path
        let url = root.appendingPathComponent(path).resolvingSymlinksInPath().standardizedFileURL
        guard url.path.hasPrefix(base + "/") else {
            return .error("fixtures.read: '\(path)' leaves the plugin folder")
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              (attributes[.type] as? FileAttributeType) == .typeRegular,
              let data = FileManager.default.contents(atPath: url.path) else {
            return .error("fixtures.read: no file \(PluginPaths.display(root.appendingPathComponent(path)))")
        }
        guard data.count <= maxModuleBytes * 8 else { return .error("fixtures.read: \(path) is larger than 8 MiB") }
        return .values([.string(Array(data))])
    }

    private static func moduleSource(_ call: borrowing HostCall) -> HostOutcome {
        guard case .success(let nameBytes) = call.string(1) else { return .error("require: bad module name") }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard let root = call.context.pluginRoot else {
            return .values([.nil, .text("this chunk has no plugin folder to load '\(name)' from")])
        }
        // The prelude validated the name; check again here, where the file system is touched.
        guard !name.isEmpty, !name.contains(".."),
              name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "." }) else {
            return .error("require: invalid module name '\(name)'")
        }
        let relative = name.replacingOccurrences(of: ".", with: "/") + ".lua"
        let url = root.appendingPathComponent(relative)
        let shown = PluginPaths.display(url)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              (attributes[.type] as? FileAttributeType) == .typeRegular else {
            return .values([.nil, .text("no file \(shown)")])
        }
        if let size = attributes[.size] as? Int, size > maxModuleBytes {
            return .error("require: \(shown) is larger than \(maxModuleBytes) bytes")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            return .values([.nil, .text("cannot read \(shown)")])
        }
        return .values([.string(Array(data)), .text(shown)])
    }
}

/// The bytes as text, cut at `limit` bytes with a marker saying how much was dropped.
func truncated(_ bytes: [UInt8], to limit: Int) -> String {
    guard bytes.count > limit else { return String(decoding: bytes, as: UTF8.self) }
    return String(decoding: bytes.prefix(limit), as: UTF8.self) + "… [\(bytes.count - limit) more bytes cut]"
}

func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

func unhex(_ text: [UInt8]) -> [UInt8]? {
    guard text.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    var out: [UInt8] = []
    out.reserveCapacity(text.count / 2)
    var index = 0
    while index < text.count {
        guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}
