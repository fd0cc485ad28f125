import Foundation
import Formats
import Logging
import Pipeline
import Store

/// One MLLP message in, one acknowledgement out. The acknowledgement is AA only once the message is committed (or
/// was already, under the same MSH-3/MSH-4/MSH-10), AR for a message that will never be accepted as sent (the ERR
/// segment says where it is wrong), and AE when the queue is unavailable — the sender keeps it and resends.
public struct MLLPIngest: Sendable {
    public let flow: FlowDefinition
    public let batcher: IngestBatcher
    public let logger: Logger

    public init(flow: FlowDefinition, batcher: IngestBatcher, logger: Logger) {
        self.flow = flow
        self.batcher = batcher
        self.logger = logger
    }

    static let mediaType = "application/hl7-v2"

    public func handle(_ payload: [UInt8], now: Date = Date()) async -> [UInt8] {
        let message: HL7Message
        do {
            message = try HL7Message.parse(payload)
        } catch {
            logger.info("mllp message refused", metadata: ["source": "\(flow.source.plugin)", "reason": "\(error.description)"])
            return HL7Acknowledgement.build(for: Self.headerOnly(payload), code: .reject, text: error.description,
                                            condition: error.segmentPosition == 1 && error.field == nil ? .segmentSequence : .dataType, now: now)
        }
        // Sending application, facility and control id: unique per sender by the standard's own rule (MSH-10).
        let key = [message.sendingApplication, message.sendingFacility, message.controlID].joined(separator: "|")
        var headers: [String: String] = [:]
        if let safe = Self.visibleASCII(key) { headers["idempotency-key"] = safe }
        let request = IngestRequest(contentType: Self.mediaType, headers: headers, body: payload)
        let id = "msg_" + UUID().uuidString.lowercased()
        switch IngestPreparation.prepare(request, flow: flow, id: id, now: now, parsedHL7: message) {
        case .failure(let rejection):
            logger.info("mllp message refused", metadata: ["source": "\(flow.source.plugin)", "code": "\(rejection.code)"])
            return HL7Acknowledgement.build(for: message, code: .reject, text: rejection.message, condition: .internalError, now: now)
        case .success(let prepared):
            do {
                switch try await batcher.submit(prepared) {
                case .accepted(let stored), .duplicate(let stored):
                    logger.debug("mllp message accepted", metadata: ["source": "\(flow.source.plugin)", "id": "\(stored)"])
                    return HL7Acknowledgement.build(for: message, code: .accept, now: now)
                }
            } catch {
                logger.error("store unavailable at mllp ingest", metadata: ["source": "\(flow.source.plugin)", "error": "\(error)"])
                return HL7Acknowledgement.build(for: message, code: .error, text: "queue unavailable; resend later",
                                                condition: .internalError, now: now)
            }
        }
    }

    /// The MSH segment alone, so a rejection of a broken message can still be addressed back to its sender.
    static func headerOnly(_ payload: [UInt8]) -> HL7Message? {
        let line = payload.prefix { $0 != 0x0D && $0 != 0x0A }
        return try? HL7Message.parse(Array(line))
    }

    static func visibleASCII(_ text: String) -> String? {
        let cleaned = String(text.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F }.map(Character.init))
        return cleaned.isEmpty || cleaned.utf8.count > 255 ? nil : cleaned
    }
}
