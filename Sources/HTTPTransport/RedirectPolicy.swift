/// Whether and how far a request follows redirects.
///
/// libcurl never follows a redirect itself: the client re-issues each hop as a new transfer, so every hop passes the
/// URL check (http/https only, plus `allowTarget`) and the address policy on the address actually connected to.
public struct RedirectPolicy: Sendable, CustomStringConvertible {
    /// At most this many hops; 0 returns a 3xx response as it is.
    public var maxRedirects: Int
    /// Asked before each hop with the target URL; refusing fails the request with `redirectRefused`.
    public var allowTarget: @Sendable (HTTPURL) -> Bool

    public init(maxRedirects: Int, allowTarget: @escaping @Sendable (HTTPURL) -> Bool = { _ in true }) {
        self.maxRedirects = max(0, maxRedirects)
        self.allowTarget = allowTarget
    }

    /// Redirects are returned to the caller, not followed (the default).
    public static let none = RedirectPolicy(maxRedirects: 0)

    /// Follows up to `maxRedirects` hops to any http(s) target the address policy accepts.
    public static func follow(max maxRedirects: Int) -> RedirectPolicy { RedirectPolicy(maxRedirects: maxRedirects) }

    public var description: String {
        maxRedirects == 0 ? "RedirectPolicy.none" : "RedirectPolicy(max: \(maxRedirects))"
    }
}
