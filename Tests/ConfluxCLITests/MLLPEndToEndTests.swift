import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// HL7 v2 over MLLP into the real binary: a sender connects, sends framed messages and reads each acknowledgement,
/// as an interface engine does.
@Suite struct MLLPEndToEndTests {
    /// A blocking MLLP client: one TCP connection, one frame out, one frame back.
    final class Sender {
        let socket: Int32

        init(port: Int) throws {
            socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw ServerProcess.Failure(description: "connect to MLLP port \(port) failed: errno \(errno)") }
        }

        deinit { close(socket) }

        func sendRaw(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) } }

        /// Sends one message framed, returns the acknowledgement's text ("" when the server closed instead).
        func exchange(_ message: String) -> String {
            sendRaw([0x0B] + Array(message.utf8) + [0x1C, 0x0D])
            return readFrame()
        }

        func readFrame() -> String {
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while !(received.count >= 2 && received.suffix(2) == [0x1C, 0x0D]) {
                let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                received += chunk[0..<n]
            }
            guard received.first == 0x0B, received.count >= 3 else { return "" }
            // Without the frame and the last segment's CR: "MSH|…\rMSA|AA|…".
            var text = String(decoding: received.dropFirst().dropLast(2), as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            return text
        }

        /// True when the server closed the connection.
        func closedByServer() -> Bool {
            var byte: UInt8 = 0
            return recv(socket, &byte, 1, 0) == 0
        }
    }

    static func sample(_ name: String) throws -> String {
        let url = ConfluxBinary.repositoryRoot.appendingPathComponent("plugins/scheduling-hl7/fixtures/\(name)")
        return try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "\n", with: "\r")
    }

    static func startServer(maxBodyBytes: Int? = nil) throws -> (ServerProcess, Int) {
        let server = try ServerProcess(extraArguments: ["--mllp", "scheduling-hl7:0"]) { server in
            let source = ConfluxBinary.repositoryRoot.appendingPathComponent("plugins/scheduling-hl7")
            try FileManager.default.createDirectory(at: server.plugins, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source, to: server.plugins.appendingPathComponent("scheduling-hl7"))
            try server.write("plugins/passthrough/plugin.lua", #"return { kind = "mapping", map = function(event) return event end }"#)
            try server.write("plugins/appointments/plugin.lua", """
                local log = require("log")
                return { kind = "connector", deliver = function(event, ctx)
                  log.info("appointment " .. event.type .. " " .. event.appointment.id .. " for " .. event.patient.mrn)
                  return { ok = true }
                end }
                """)
            try server.write("flows/scheduling.yaml", """
                name: scheduling
                source:
                  plugin: scheduling-hl7
                  content_types: [application/hl7-v2]
                  ordering_key: SCH-2\(maxBodyBytes.map { "\n  max_body_bytes: \($0)" } ?? "")
                routes:
                  - event: appointment.booked
                    mappings: [passthrough]
                    connector: appointments
                  - event: appointment.cancelled
                    mappings: [passthrough]
                    connector: appointments
                retry: { max_attempts: 3, base_delay_ms: 10, max_delay_ms: 50 }
                """)
        }
        try server.start()
        let match = try server.waitForOutput(/mllp scheduling-hl7 listening on tcp:\/\/127\.0\.0\.1:(\d+)/)
        return (server, Int(match.1)!)
    }

    @Test func messagesAreAcknowledgedAfterTheCommitOnceEachAndProcessedInOrder() async throws {
        let (server, port) = try Self.startServer()
        let sender = try Sender(port: port)
        let booked = try Self.sample("SIU-S12-01.hl7")

        let ack = sender.exchange(booked)
        let lines = ack.split(separator: "\r")
        #expect(lines.count == 2, "\(ack)")
        #expect(lines.first?.hasPrefix(#"MSH|^~\&|EHRApp^1.Aux^ISO|GHHRFacility^2.16.840.1.1122848.1.32^ISO|SCHApp|GHHSFacility^2.16.840.1.122848.1.30^ISO|"#) == true, "\(ack)")
        #expect(lines.first?.contains("|ACK^S12^ACK|") == true && lines.first?.hasSuffix("|P|2.8") == true, "\(ack)")
        #expect(lines.last == "MSA|AA|MSG00012", "\(ack)")

        // The interface engine resends (it never saw our ACK, say): acknowledged again, stored once.
        #expect(sender.exchange(booked).hasSuffix("MSA|AA|MSG00012"))
        #expect(sender.exchange(try Self.sample("SIU-S15-01.hl7")).hasSuffix("MSA|AA|MSG00015"))
        // A type the flow has no route for is still accepted (the source decodes it; the flow ignores it).
        #expect(sender.exchange(try Self.sample("SIU-S26-01.hl7")).hasSuffix("MSA|AA|MSG00026"))

        let listed = try await server.waitUntil { $0.count == 3 && $0.allSatisfy { $0["status"] as? String == "done" } }
        #expect(listed.count == 3, "\(listed)")
        #expect(listed.allSatisfy { $0["status"] as? String == "done" }, "\(listed)")
        let log = try String(contentsOf: server.log, encoding: .utf8)
        let delivered = log.split(separator: "\n").compactMap { $0.firstMatch(of: /appointment (appointment\.\w+) 36996/).map { String($0.1) } }
        #expect(delivered == ["appointment.booked", "appointment.cancelled"], "\(delivered)")
        #expect(server.stop() == 0)
    }

    @Test func aMalformedMessageIsRejectedWithItsSegmentAndFieldAndTheConnectionGoesOn() async throws {
        let (server, port) = try Self.startServer()
        let sender = try Sender(port: port)
        let broken = "MSH|^~\\&|SCHApp|GHHS|EHRApp|GHHR|202601010900||SIU^S12|BAD-1|P|2.5\rSCH|1|2\rPID|1||7^^^^MR||DOE^\\Q\\\r"
        let nak = sender.exchange(broken)
        #expect(nak.contains("\rMSA|AR|BAD-1|segment 3 (PID) field PID-5: unsupported escape sequence"), "\(nak)")
        #expect(nak.contains("\rERR|||102^Data type error^HL70357|E|"), "\(nak)")
        #expect(nak.hasPrefix("MSH|^~\\&|EHRApp|GHHR|SCHApp|GHHS|"), "\(nak)")
        // The same connection still takes the next message.
        #expect(sender.exchange(try Self.sample("SIU-S12-01.hl7")).hasSuffix("MSA|AA|MSG00012"))
        // Bytes outside a frame put the stream out of step: one rejection, then the server closes the connection.
        sender.sendRaw(Array("MSH|no frame\r".utf8))
        let reject = sender.readFrame()
        #expect(reject.contains("MSA|AR||byte 0x4d outside an MLLP frame"), "\(reject)")
        #expect(sender.closedByServer())
        let listed = try await server.waitUntil { $0.count == 1 && $0.first?["status"] as? String == "done" }
        #expect(listed.count == 1, "only the valid message is stored: \(listed)")
        #expect(server.stop() == 0)
    }

    @Test func anOversizedMessageIsRejectedToItsSenderWithItsControlIdAndNothingIsStored() async throws {
        let (server, port) = try Self.startServer(maxBodyBytes: 2048)
        let sender = try Sender(port: port)
        let notes = (1...30).map { "NTE|\($0)||a note long enough to push this message past the source's limit" }
        let big = (["MSH|^~\\&|SCHApp|GHHS|EHRApp|GHHR|202601010900||SIU^S12|BIG-7|P|2.5", "SCH|1|2"] + notes).joined(separator: "\r")
        // Past the limit before its end block: the framing gives up on the stream (a whole frame over the limit that
        // arrives at once is refused by ingest instead, and the connection goes on).
        sender.sendRaw([0x0B] + Array(big.utf8))
        let nak = sender.readFrame()
        // Sender and receiver swapped, MSA-2 names the message: the interface engine can match the rejection.
        #expect(nak.hasPrefix("MSH|^~\\&|EHRApp|GHHR|SCHApp|GHHS|"), "\(nak)")
        #expect(nak.contains("|ACK^S12^ACK|") && nak.contains("|P|2.5\r"), "\(nak)")
        #expect(nak.contains("\rMSA|AR|BIG-7|message larger than this source's limit of 2048 bytes"), "\(nak)")
        #expect(sender.closedByServer())

        // A frame that does not start with a readable MSH still gets its rejection, unaddressed.
        let other = try Sender(port: port)
        other.sendRaw([0x0B] + Array(String(repeating: "x", count: 2200).utf8))
        let unaddressed = other.readFrame()
        #expect(unaddressed.contains("\rMSA|AR||message larger than this source's limit of 2048 bytes"), "\(unaddressed)")
        #expect(other.closedByServer())

        #expect(try server.listedMessages().isEmpty)
        #expect(server.stop() == 0)
    }
}
