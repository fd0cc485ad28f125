import Crypto
import Foundation
import Hummingbird
import NIOCore

/// `conflux simulate messaging`: an SMS provider stand-in with Twilio's Programmable Messaging shapes.
/// `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (HTTP Basic AccountSid:AuthToken, form-encoded To, From or
/// MessagingServiceSid, Body, StatusCallback) answers 201 with the message (status queued) and then calls the
/// StatusCallback URL, form-encoded and signed (X-Twilio-Signature), with `sent` and `delivered` — or `undelivered`
/// (30003) for a number listed as unreachable. Errors use Twilio's codes: 21211 invalid To, 21602 no Body, 21603 no
/// sender, 21617 Body too long, 21610 recipient unsubscribed (replied STOP), 20003 bad credentials, 20429 too many
/// requests. `POST /_sim/inbound {"from":"+1…","body":"STOP"}` plays a patient's reply (opt-out keywords as Twilio
/// handles them) and sends it to the inbound URL; `POST /_sim/faults {"fail_next":2,"fail_status":503}`;
/// `GET /_sim/state` lists messages, callbacks and opted-out numbers.
public actor MessagingSimulator {
    let accountSid: String
    let authToken: String
    let inboundURL: URL?
    let unreachable: Set<String>
    let number: String
    var messages: [JSONValue] = []
    var callbacks: [JSONValue] = []
    var optedOut: Set<String> = []
    var failNext = 0
    var failStatus = 503
    var counter = 0
    /// The e-mail side (SendGrid's v3 API): its API key, where its signed Event Webhook goes, the signing key.
    public struct Email: Sendable {
        public var apiKey: String
        public var eventsURL: URL?
        /// The raw 32 bytes (the key type itself is not Sendable).
        public var signingKeyRaw: Data
        var signingKey: P256.Signing.PrivateKey? { try? P256.Signing.PrivateKey(rawRepresentation: signingKeyRaw) }
        public init(apiKey: String, eventsURL: URL?, signingKeyRaw: Data) {
            self.apiKey = apiKey
            self.eventsURL = eventsURL
            self.signingKeyRaw = signingKeyRaw
        }
    }
    let email: Email?
    var emails: [JSONValue] = []
    var unsubscribed: Set<String> = []

    static let optOutKeywords: Set<String> = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"]
    static let optInKeywords: Set<String> = ["START", "YES", "UNSTOP"]

    public init(accountSid: String, authToken: String, inboundURL: URL?, unreachable: [String], number: String, email: Email? = nil) {
        self.email = email
        self.accountSid = accountSid
        self.authToken = authToken
        self.inboundURL = inboundURL
        self.unreachable = Set(unreachable)
        self.number = number
    }

    public nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("2010-04-01/Accounts/:account/Messages.json") { request, context in
            let account = context.parameters.get("account") ?? ""
            let authorization = request.headers[.authorization]
            let body = try await Self.text(request)
            return await self.send(account: account, authorization: authorization, form: WebhookSender.formDecoded(body))
        }
        router.post("v3/mail/send") { request, _ in
            await self.sendEmail(authorization: request.headers[.authorization], body: try await Self.text(request))
        }
        router.post("_sim/email-unsubscribe") { request, _ in
            let object = try JSONValue.parse(Array(try await Self.text(request).utf8))
            return await self.unsubscribe(object["email"]?.string ?? "")
        }
        router.post("_sim/inbound") { request, _ in
            let object = try JSONValue.parse(Array(try await Self.text(request).utf8))
            return await self.inbound(from: object["from"]?.string ?? "", body: object["body"]?.string ?? "")
        }
        router.post("_sim/faults") { request, _ in
            let object = try JSONValue.parse(Array(try await Self.text(request).utf8))
            return await self.setFaults(failNext: object["fail_next"]?.int ?? 0, status: object["fail_status"]?.int ?? 503)
        }
        router.get("_sim/state") { _, _ in await self.state() }
        return router
    }

    static func text(_ request: Request) async throws -> String {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 16)
        return String(decoding: body.readableBytesView, as: UTF8.self)
    }

    func setFaults(failNext: Int, status: Int) -> Response {
        self.failNext = failNext
        failStatus = status
        return OdooSimulator.json(.ok, .object(["fail_next": .int(failNext), "fail_status": .int(status)]))
    }

    func nextSid(_ prefix: String) -> String {
        counter += 1
        let random = (0..<24).map { _ in "0123456789abcdef".randomElement()! }
        return prefix + String(random) + String(format: "%08x", counter)
    }

    func send(account: String, authorization: String?, form: [String: String]) async -> Response {
        let expected = "Basic " + Data("\(accountSid):\(authToken)".utf8).base64EncodedString()
        guard account == accountSid, authorization == expected else {
            return Self.error(401, 20003, "Authenticate")
        }
        if failNext > 0 {
            failNext -= 1
            return failStatus == 429 ? Self.error(429, 20429, "Too Many Requests") : Self.error(failStatus, 20500, "Internal Server Error")
        }
        guard let to = form["To"], to.wholeMatch(of: /\+[1-9][0-9]{6,14}/) != nil else {
            return Self.error(400, 21211, "The 'To' number \(form["To"] ?? "") is not a valid phone number.")
        }
        guard let from = form["From"] ?? form["MessagingServiceSid"].map({ _ in number }) else {
            return Self.error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        }
        guard let text = form["Body"], !text.isEmpty else { return Self.error(400, 21602, "Message body is required.") }
        guard text.count <= 1600 else { return Self.error(400, 21617, "The concatenated message body exceeds the 1600 character limit.") }
        guard !optedOut.contains(to) else { return Self.error(400, 21610, "Attempt to send to unsubscribed recipient") }
        let sid = nextSid("SM")
        let created = Self.rfc2822(Date())
        let message: JSONValue = .object([
            "sid": .string(sid), "account_sid": .string(accountSid), "to": .string(to), "from": .string(from), "body": .string(text),
            "status": .string("queued"), "num_segments": .string(String((text.count + 152) / 153)), "direction": .string("outbound-api"),
            "date_created": .string(created), "date_updated": .string(created), "error_code": .null, "error_message": .null,
            "messaging_service_sid": form["MessagingServiceSid"].map { .string($0) } ?? .null, "price": .null, "api_version": .string("2010-04-01"),
            "uri": .string("/2010-04-01/Accounts/\(accountSid)/Messages/\(sid).json"),
        ])
        messages.append(message)
        if let callback = form["StatusCallback"], let url = URL(string: callback) {
            let failed = unreachable.contains(to)
            Task { await self.report(sid: sid, to: to, from: from, callback: url, statuses: failed ? [("sent", nil), ("undelivered", "30003")] : [("sent", nil), ("delivered", nil)]) }
        }
        return OdooSimulator.json(.created, message)
    }

    /// The status callbacks Twilio makes as a message moves on, form-encoded and signed.
    func report(sid: String, to: String, from: String, callback url: URL, statuses: [(String, String?)]) async {
        for (status, error) in statuses {
            try? await Task.sleep(for: .milliseconds(50))
            var parameters = [("MessageSid", sid), ("SmsSid", sid), ("MessageStatus", status), ("SmsStatus", status), ("To", to), ("From", from),
                              ("AccountSid", accountSid), ("ApiVersion", "2010-04-01")]
            if let error { parameters.append(("ErrorCode", error)) }
            let result = await post(url, parameters)
            callbacks.append(.object(["sid": .string(sid), "status": .string(status), "http_status": .int(result.status), "tries": .int(result.tries)]))
        }
    }

    func post(_ url: URL, _ parameters: [(String, String)]) async -> (status: Int, tries: Int) {
        let signature = WebhookSender.twilioSignature(url: url.absoluteString, parameters: parameters, authToken: authToken)
        return await WebhookSender.post(url, body: Data(WebhookSender.formEncoded(parameters).utf8),
                                        headers: ["Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
                                                  "I-Twilio-Idempotency-Token": UUID().uuidString])
    }

    /// A patient's reply: STOP-like keywords opt the number out (Twilio then refuses to send to it, 21610), START opts
    /// it back in; the reply is forwarded to the inbound webhook.
    func inbound(from: String, body: String) async -> Response {
        let keyword = body.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        if Self.optOutKeywords.contains(keyword) { optedOut.insert(from) }
        if Self.optInKeywords.contains(keyword) { optedOut.remove(from) }
        let sid = nextSid("SM")
        var status = 0
        if let inboundURL {
            status = await post(inboundURL, [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", accountSid), ("From", from), ("To", number),
                                             ("Body", body), ("NumMedia", "0"), ("ApiVersion", "2010-04-01")]).status
            callbacks.append(.object(["sid": .string(sid), "status": .string("inbound"), "http_status": .int(status), "tries": .int(1)]))
        }
        return OdooSimulator.json(.ok, .object(["sid": .string(sid), "opted_out": .bool(optedOut.contains(from)), "webhook_status": .int(status)]))
    }

    // MARK: e-mail (SendGrid v3)

    /// `POST /v3/mail/send`: 202 with `X-Message-Id`, then the Event Webhook: processed, then delivered — or dropped
    /// ("Unsubscribed Address") for an address that unsubscribed, or bounce for one listed as unreachable.
    func sendEmail(authorization: String?, body: String) async -> Response {
        guard let email else { return Self.sendGridError(404, "the simulator was started without --sendgrid-api-key", nil) }
        guard authorization == "Bearer \(email.apiKey)" else {
            return Self.sendGridError(401, "The provided authorization grant is invalid, expired, or revoked", nil)
        }
        if failNext > 0 {
            failNext -= 1
            return Self.sendGridError(failStatus, failStatus == 429 ? "too many requests" : "internal error", nil)
        }
        guard let object = try? JSONValue.parse(Array(body.utf8)), object.object != nil else {
            return Self.sendGridError(400, "Bad Request: the body is not JSON", nil)
        }
        guard let personalization = object["personalizations"]?.array?.first, let to = personalization["to"]?.array?.first?["email"]?.string,
              to.wholeMatch(of: /[^@\s]+@[^@\s]+\.[^@\s]+/) != nil else {
            return Self.sendGridError(400, "Does not contain a valid address.", "personalizations.0.to.0.email")
        }
        guard object["from"]?["email"]?.string?.contains("@") == true else {
            return Self.sendGridError(400, "The from object must be provided for every email send.", "from")
        }
        guard let subject = object["subject"]?.string, !subject.isEmpty else {
            return Self.sendGridError(400, "The subject is required.", "subject")
        }
        guard let content = object["content"]?.array?.first?["value"]?.string, !content.isEmpty else {
            return Self.sendGridError(400, "Unless a valid template_id is provided, the content parameter is required.", "content")
        }
        let id = String(nextSid("").prefix(22))
        let ref = personalization["custom_args"]?["ref"]?.string
        emails.append(.object(["id": .string(id), "to": .string(to), "subject": .string(subject), "body": .string(content),
                               "ref": ref.map { .string($0) } ?? .null]))
        let outcome: [(String, String?)] = unsubscribed.contains(to) ? [("processed", nil), ("dropped", "Unsubscribed Address")]
            : unreachable.contains(to) ? [("processed", nil), ("bounce", "550 5.1.1 The email account that you tried to reach does not exist")]
            : [("processed", nil), ("delivered", nil)]
        Task { await self.emailEvents(id: id, to: to, ref: ref, outcome) }
        return Response(status: .accepted, headers: [.init("X-Message-Id")!: id])
    }

    func unsubscribe(_ address: String) async -> Response {
        unsubscribed.insert(address)
        await emailEvents(id: String(nextSid("").prefix(22)), to: address, ref: nil, [("unsubscribe", nil)])
        return OdooSimulator.json(.ok, .object(["unsubscribed": .string(address)]))
    }

    /// One signed Event Webhook post per event, as SendGrid batches them (1-n events a post).
    func emailEvents(id: String, to: String, ref: String?, _ events: [(String, String?)]) async {
        guard let email, let url = email.eventsURL else { return }
        for (event, reason) in events {
            try? await Task.sleep(for: .milliseconds(40))
            counter += 1
            var fields: [String: JSONValue] = [
                "email": .string(to), "timestamp": .int(Int(Date().timeIntervalSince1970)), "event": .string(event),
                "sg_event_id": .string("ev\(counter)\(id.prefix(8))"), "sg_message_id": .string("\(id).filter0001.\(counter)"),
            ]
            if let ref { fields["ref"] = .string(ref) }
            if let reason { fields["reason"] = .string(reason) }
            if event == "bounce" { fields["type"] = .string("bounce"); fields["status"] = .string("5.1.1") }
            let body = Data(JSONValue.array([.object(fields)]).text.utf8)
            let timestamp = String(Int(Date().timeIntervalSince1970))
            let signature = (try? email.signingKey?.signature(for: Data(timestamp.utf8) + body).derRepresentation.base64EncodedString()) ?? ""
            let result = await WebhookSender.post(url, body: body, headers: [
                "Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": signature,
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            ])
            callbacks.append(.object(["id": .string(id), "status": .string("email:\(event)"), "http_status": .int(result.status), "tries": .int(result.tries)]))
        }
    }

    static func sendGridError(_ status: Int, _ message: String, _ field: String?) -> Response {
        OdooSimulator.json(HTTPResponse.Status(code: status), .object(["errors": .array([.object([
            "message": .string(message), "field": field.map { .string($0) } ?? .null, "help": .null])])]))
    }

    func state() -> Response {
        OdooSimulator.json(.ok, .object(["messages": .array(messages), "emails": .array(emails), "callbacks": .array(callbacks),
                                         "opted_out": .array(optedOut.sorted().map { .string($0) })]))
    }

    static func error(_ status: Int, _ code: Int, _ message: String) -> Response {
        OdooSimulator.json(HTTPResponse.Status(code: status), .object([
            "code": .int(code), "message": .string(message), "more_info": .string("https://www.twilio.com/docs/errors/\(code)"), "status": .int(status),
        ]))
    }

    static func rfc2822(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}
