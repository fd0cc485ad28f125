import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Formats
import Store

/// What ingress checks and extracts before a request becomes a message. Host code only: no plugin runs before the
/// message is durable.
public struct IngestRequest: Sendable {
    public var contentType: String?
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]
    /// The request target's query string, without '?' (a partner may carry a reference there, as Twilio's status
    /// callbacks do with the URL they were given). Kept with the message and given to the source's decode.
    public var query: String?

    public init(contentType: String?, headers: [String: String], body: [UInt8], query: String? = nil) {
        self.contentType = contentType
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.body = body
        self.query = query.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Why a request was refused. Each maps to an HTTP status and a message a partner's engineer can act on.
public enum IngestRejection: Error, Equatable, Sendable {
    case unknownSource(String, known: [String])
    case unsupportedMediaType(got: String?, accepted: [String])
    case tooLarge(bytes: Int, limit: Int)
    case emptyBody
    case malformed(String)
    case badHeader(name: String, reason: String)
    case queryTooLong(bytes: Int, limit: Int)

    public var status: Int {
        switch self {
        case .unknownSource: return 404
        case .unsupportedMediaType: return 415
        case .tooLarge: return 413
        case .emptyBody, .malformed, .badHeader: return 400
        case .queryTooLong: return 414
        }
    }

    public var code: String {
        switch self {
        case .unknownSource: return "unknown_source"
        case .unsupportedMediaType: return "unsupported_media_type"
        case .tooLarge: return "body_too_large"
        case .emptyBody: return "empty_body"
        case .malformed: return "malformed_body"
        case .badHeader: return "bad_header"
        case .queryTooLong: return "query_too_long"
        }
    }

    public var message: String {
        switch self {
        case .unknownSource(let source, let known):
            return "no source '\(source)' on this server; POST to /ingest/{source} with one of: \(known.joined(separator: ", "))"
        case .unsupportedMediaType(let got, let accepted):
            return "Content-Type \(got.map { "'\($0)'" } ?? "missing"); this source accepts \(accepted.joined(separator: ", "))"
        case .tooLarge(let bytes, let limit):
            return "body of \(bytes) bytes is larger than this source's limit of \(limit) bytes"
        case .emptyBody:
            return "the body is empty"
        case .malformed(let reason):
            return reason
        case .queryTooLong(let bytes, let limit):
            return "the query string has \(bytes) bytes; this server keeps at most \(limit) (put the data in the body)"
        case .badHeader(let name, let reason):
            return "header \(name): \(reason)"
        }
    }
}

public enum IngestPreparation {
    /// Headers kept with the message for the plugins and for tracing. Credentials (authorization, cookies, signature
    /// headers once verified) are never stored.
    /// The longest query string kept with a message.
    public static let maxQueryBytes = 4096
    /// Where the request's query string is kept among the message's headers.
    public static let queryKey = ":query"
    static let keptHeaders: Set<String> = ["content-type", "user-agent", "traceparent", "tracestate", "x-correlation-id",
                                           "idempotency-key", "webhook-id", "webhook-timestamp"]

    /// Checks the request against the flow's source and builds the message to store. `parsedHL7`: the body already
    /// parsed by the caller (MLLP parses it to address its acknowledgement), so it is not parsed twice.
    public static func prepare(_ request: IngestRequest, flow: FlowDefinition, id: String, now: Date,
                               parsedHL7: HL7Message? = nil) -> Result<NewMessage, IngestRejection> {
        let source = flow.source
        let mediaType = request.contentType.map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
        guard let mediaType, source.contentTypes.contains(mediaType) else {
            return .failure(.unsupportedMediaType(got: request.contentType, accepted: source.contentTypes))
        }
        guard request.body.count <= source.maxBodyBytes else {
            return .failure(.tooLarge(bytes: request.body.count, limit: source.maxBodyBytes))
        }
        guard !request.body.isEmpty else { return .failure(.emptyBody) }

        var parsedJSON: Any?
        var hl7: HL7Message?
        if mediaType == "application/json" || mediaType.hasSuffix("+json") {
            if let failure = JSONSyntax.validate(request.body) {
                return .failure(.malformed("the body is not valid JSON (\(failure.description))"))
            }
            // Values are built only when the flow orders by a key in the body.
            if source.orderingKey != nil {
                parsedJSON = try? JSONSerialization.jsonObject(with: Data(request.body), options: [.fragmentsAllowed])
            }
        } else if mediaType.contains("hl7") {
            // The host's own parser: a message that will never parse is refused now, with the segment and field.
            if let parsedHL7 {
                hl7 = parsedHL7
            } else {
                do {
                    hl7 = try HL7Message.parse(request.body)
                } catch {
                    return .failure(.malformed("the body is not a valid HL7 v2 message (\(error.description))"))
                }
            }
        } else if mediaType.hasSuffix("/xml") || mediaType.hasSuffix("+xml") {
            let parser = XMLParser(data: Data(request.body))
            parser.shouldResolveExternalEntities = false
            // parserError too: on Linux parse() can return true after a recoverable error (a mismatched tag).
            guard parser.parse(), parser.parserError == nil else {
                return .failure(.malformed("the body is not well-formed XML (line \(parser.lineNumber): \(parser.parserError.map(Self.describe) ?? "parse error"))"))
            }
        }

        // A query the message could not keep whole is refused rather than cut (a partner's reference lives there).
        if let query = request.query, query.utf8.count > maxQueryBytes {
            return .failure(.queryTooLong(bytes: query.utf8.count, limit: maxQueryBytes))
        }

        let idempotencyKey: String?
        // A signed source is keyed by what its signature covers only: an unsigned Idempotency-Key would let a replayed
        // delivery in as a new message. Standard Webhooks signs `webhook-id`; Twilio signs the URL and the parameters,
        // so the signature itself names the delivery (Twilio's own retries of a callback carry the same one).
        let keyHeaders: [String]
        switch source.auth?.scheme {
        case .standardWebhooks: keyHeaders = ["webhook-id"]
        case .twilio: keyHeaders = ["x-twilio-signature"]
        // SendGrid signs the timestamp and the body; a resent batch carries the same signature.
        case .sendgrid: keyHeaders = ["x-twilio-email-event-webhook-signature"]
        default: keyHeaders = ["idempotency-key"] + source.idempotencyHeaders.map { $0.lowercased() }
        }
        switch idempotency(request, names: keyHeaders) {
        case .success(let key): idempotencyKey = key
        case .failure(let rejection): return .failure(rejection)
        }

        var orderingKey: String?
        if let pointer = source.orderingKey, let json = parsedJSON {
            orderingKey = JSONPointer.resolve(pointer, in: json).flatMap(Self.scalarText)
        } else if let path = source.orderingKey, let hl7 {
            orderingKey = Self.hl7Value(path, in: hl7)
        }

        let correlationId: String
        switch correlation(request) {
        case .success(let value): correlationId = value
        case .failure(let rejection): return .failure(rejection)
        }

        // `x-conflux-*` is the host's own namespace (a scheduled run is marked with one): never taken from a sender.
        var kept = request.headers.filter {
            !$0.key.hasPrefix(ScheduledRun.headerPrefix)
                && (keptHeaders.contains($0.key) || source.idempotencyHeaders.map { $0.lowercased() }.contains($0.key))
        }
        // Stored under a name no HTTP field can have (':' is not a token character), so a sender cannot forge it.
        if let query = request.query { kept[IngestPreparation.queryKey] = query }
        return .success(NewMessage(id: id, source: source.plugin, idempotencyKey: idempotencyKey, orderingKey: orderingKey,
                                   correlationId: correlationId, contentType: mediaType, body: request.body,
                                   headers: kept, acceptedAt: now))
    }

    static func idempotency(_ request: IngestRequest, names: [String]) -> Result<String?, IngestRejection> {
        for name in names {
            guard let value = request.headers[name] else { continue }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.utf8.count <= 255, trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
                return .failure(.badHeader(name: name, reason: "an idempotency key must be 1-255 visible ASCII characters"))
            }
            return .success(trimmed)
        }
        return .success(nil)
    }

    static func correlation(_ request: IngestRequest) -> Result<String, IngestRejection> {
        if let given = request.headers["x-correlation-id"] {
            guard given.wholeMatch(of: /[A-Za-z0-9._:\-]{1,128}/) != nil else {
                return .failure(.badHeader(name: "X-Correlation-Id", reason: "use 1-128 characters from A-Z a-z 0-9 . _ : -"))
            }
            return .success(given)
        }
        // W3C trace context: version-traceid-parentid-flags; the trace id correlates across systems.
        if let traceparent = request.headers["traceparent"],
           let match = traceparent.wholeMatch(of: /[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/),
           match.1 != String(repeating: "0", count: 32) {
            return .success(String(match.1))
        }
        return .success(UUID().uuidString.lowercased())
    }

    /// "SCH-2" or "PID-3.1": the first occurrence's first repetition; nil when absent or empty.
    static func hl7Value(_ path: String, in message: HL7Message) -> String? {
        let parts = path.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, let segment = message.segments.first(where: { $0.id == parts[0] }) else { return nil }
        let numbers = parts[1].split(separator: ".").compactMap { Int($0) }
        guard let field = numbers.first else { return nil }
        let value = segment.value(field, component: numbers.count > 1 ? numbers[1] : 1, subcomponent: numbers.count > 2 ? numbers[2] : 1)
        return value.isEmpty ? nil : value
    }

    static func scalarText(_ value: Any) -> String? {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    static func describe(_ error: Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        return String(text.prefix(200))
    }
}
