extension HTTPClient {
    /// Header fields that carry credentials: dropped when a redirect leaves the origin.
    static let credentialHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie"]
    /// Header fields that describe a body: dropped when a redirect drops the body.
    static let bodyHeaders: Set<String> = ["content-type", "content-length", "content-encoding", "transfer-encoding"]

    /// The next hop for a 3xx `response` to `request`, or nil when it is not a redirect or redirects are off.
    ///
    /// 301, 302 and 303 turn into a GET without a body (HEAD stays HEAD), as browsers and Go's net/http do;
    /// 307 and 308 repeat the method and body. The target must be an http(s) URL the redirect policy accepts; the
    /// address policy is checked again when the hop connects, because each hop is a transfer of its own.
    func redirect(from response: Response, of request: Request, policy: RedirectPolicy,
                  redirects: Int) throws(HTTPTransportError) -> (Request, HTTPURL)? {
        guard policy.maxRedirects > 0, [301, 302, 303, 307, 308].contains(response.status),
              let location = response.redirectLocation
        else { return nil }
        guard redirects < policy.maxRedirects else {
            throw HTTPTransportError(.tooManyRedirects, host: response.url.host, limit: policy.maxRedirects)
        }
        let target: HTTPURL
        do {
            target = try HTTPURL(location)
        } catch {
            throw HTTPTransportError(.redirectRefused, host: response.url.host,
                                     detail: "the redirect target is not an http(s) URL")
        }
        guard policy.allowTarget(target) else {
            throw HTTPTransportError(.redirectRefused, host: target.host)
        }

        var next = request
        next.url = target.absoluteString
        if [301, 302, 303].contains(response.status), request.method != "GET", request.method != "HEAD" {
            next.method = "GET"
            next.body = nil
            next.headers = next.headers.removing(Self.bodyHeaders)
        }
        if !target.isSameOrigin(as: response.url) {
            next.headers = next.headers.removing(Self.credentialHeaders)
        }
        return (next, target)
    }
}
