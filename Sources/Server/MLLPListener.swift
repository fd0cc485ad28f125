import Foundation
import Formats
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// An MLLP listener for one source: HL7 interface engines connect, send framed messages and wait for each
/// acknowledgement before sending the next. Messages on one connection are handled one at a time, in order.
public struct MLLPListener: Service {
    public let ingest: MLLPIngest
    public let host: String
    public let port: Int
    /// Called with the bound port once the listener accepts connections.
    public let onListening: @Sendable (Int) -> Void

    public init(ingest: MLLPIngest, host: String, port: Int, onListening: @escaping @Sendable (Int) -> Void) {
        self.ingest = ingest
        self.host = host
        self.port = port
        self.onListening = onListening
    }

    public func run() async throws {
        let maxBytes = ingest.flow.source.maxBodyBytes
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MLLPFrameDecoder(maxBytes: maxBytes)))
                    return try NIOAsyncChannel<MLLPFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        onListening(server.channel.localAddress?.port ?? port)
        // A graceful shutdown cancels the listener: it stops accepting, and each connection ends once the message in
        // hand is committed (a sender whose ACK is lost with the connection resends; the resend is a duplicate).
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask { await self.serve(connection) }
                        }
                    }
                }
            }
        } catch is CancellationError {
            // The shutdown asked for exactly this.
        }
    }

    func serve(_ connection: NIOAsyncChannel<MLLPFrame, ByteBuffer>) async {
        let allocator = connection.channel.allocator
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await frame in inbound {
                    switch frame {
                    case .message(let payload):
                        let ack = await ingest.handle(payload)
                        try await outbound.write(MLLP.frame(ack, allocator: allocator))
                        if Task.isCancelled { return }
                    case .oversized(let limit, let head):
                        let nak = HL7Reject.build("message larger than this source's limit of \(limit) bytes", head: head)
                        try await outbound.write(MLLP.frame(nak, allocator: allocator))
                        return
                    case .garbage(let byte):
                        let nak = HL7Reject.build("byte 0x\(String(byte, radix: 16)) outside an MLLP frame (expected 0x0b)")
                        try await outbound.write(MLLP.frame(nak, allocator: allocator))
                        return
                    }
                }
            }
        } catch {
            ingest.logger.debug("mllp connection ended", metadata: ["error": "\(error)"])
        }
    }
}



/// A rejection for a stream that is no longer in step. Addressed to the message's sender, with its control id in MSA-2,
/// when the frame began with a readable MSH (`head`): an interface engine matches acknowledgements to messages by that
/// id, and one it cannot match it may resend forever. Otherwise there is no message to address it to.
enum HL7Reject {
    static func build(_ text: String, head: [UInt8] = []) -> [UInt8] {
        let original = head.isEmpty ? nil : try? HL7Message.parse(head)
        return HL7Acknowledgement.build(for: original, code: .reject, text: text, condition: .segmentSequence)
    }
}
