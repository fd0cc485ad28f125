import NIOCore

/// Minimal Lower Layer Protocol framing (HL7 v2 Implementation Guide, appendix C): each message is sent as
/// `0x0B <message> 0x1C 0x0D`, and so is each acknowledgement.
enum MLLP {
    static let startBlock: UInt8 = 0x0B
    static let endBlock: UInt8 = 0x1C
    static let carriageReturn: UInt8 = 0x0D
    /// How much of an oversized frame is kept to address its rejection: an MSH segment is far shorter.
    static let maxHeadBytes = 4096

    static func frame(_ payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.count + 3)
        buffer.writeInteger(startBlock)
        buffer.writeBytes(payload)
        buffer.writeInteger(endBlock)
        buffer.writeInteger(carriageReturn)
        return buffer
    }
}

/// What the decoder hands on: one message, or a framing fault after which the connection cannot be trusted to be in
/// step (the listener answers it with a rejection and closes).
enum MLLPFrame: Sendable {
    case message([UInt8])
    /// `head`: the frame's first segment (its MSH, when the sender sent one), so the rejection can be addressed to the
    /// sender and name the message's control id; empty when no segment ended within `MLLP.maxHeadBytes`.
    case oversized(limit: Int, head: [UInt8])
    case garbage(UInt8)
}

/// Splits the byte stream into MLLP frames. Line breaks between frames are tolerated (some senders add them); any
/// other byte outside a frame, or a frame larger than the source's body limit, is a fault.
struct MLLPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = MLLPFrame
    let maxBytes: Int
    private var failed = false

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if failed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), first == 0x0A || first == 0x0D || first == 0x20 {
            buffer.moveReaderIndex(forwardBy: 1)
        }
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return .needMoreData }
        guard first == MLLP.startBlock else {
            failed = true
            context.fireChannelRead(wrapInboundOut(.garbage(first)))
            return .needMoreData
        }
        let view = buffer.readableBytesView.dropFirst()
        var search = view.startIndex
        while let end = view[search...].firstIndex(of: MLLP.endBlock) {
            let next = view.index(after: end)
            guard next < view.endIndex else { break } // the CR after the end block has not arrived yet
            if view[next] == MLLP.carriageReturn {
                let payload = Array(view[view.startIndex..<end])
                buffer.moveReaderIndex(forwardBy: 1 + payload.count + 2)
                context.fireChannelRead(wrapInboundOut(.message(payload)))
                return .continue
            }
            search = next
        }
        if buffer.readableBytes > maxBytes + 3 {
            failed = true
            let start = view.prefix(MLLP.maxHeadBytes)
            let head = start.firstIndex { $0 == MLLP.carriageReturn || $0 == 0x0A }.map { Array(start[..<$0]) } ?? []
            context.fireChannelRead(wrapInboundOut(.oversized(limit: maxBytes, head: head)))
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A connection closed mid-frame: the sender got no ACK for it and will resend; nothing is kept.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
