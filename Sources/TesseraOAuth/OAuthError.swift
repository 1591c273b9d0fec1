/// An OAuth error response (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7662 §2.3): the endpoints answer it as
/// JSON `{"error","error_description"}` with `Cache-Control: no-store`.
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var status: Int
    /// A `WWW-Authenticate` value, for `invalid_client` after HTTP Basic (RFC 6749 §5.2).
    public var challenge: String?
    /// Seconds, for 429 answers.
    public var retryAfter: Int?

    public init(_ code: String, _ message: String, status: Int = 400, challenge: String? = nil, retryAfter: Int? = nil)
    {
        self.code = code
        self.message = message
        self.status = status
        self.challenge = challenge
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(message)" }

    static func invalidRequest(_ message: String) -> OAuthError { OAuthError("invalid_request", message) }
    static func invalidGrant(_ message: String) -> OAuthError { OAuthError("invalid_grant", message) }
    static func invalidScope(_ message: String) -> OAuthError { OAuthError("invalid_scope", message) }
    static func unauthorizedClient(_ message: String) -> OAuthError { OAuthError("unauthorized_client", message) }
    static func unsupportedGrantType(_ message: String) -> OAuthError { OAuthError("unsupported_grant_type", message) }
    static func serverError(_ message: String) -> OAuthError { OAuthError("server_error", message, status: 500) }

    /// 401 for every failed client authentication; with the Basic challenge when Basic was used.
    static func invalidClient(_ message: String, usedBasic: Bool) -> OAuthError {
        OAuthError(
            "invalid_client", message, status: 401,
            challenge: usedBasic ? #"Basic realm="tessera", charset="UTF-8""# : nil)
    }

    /// The directory that checks the password cannot be reached: 503, so clients try again rather
    /// than tell the person their password is wrong.
    static func temporarilyUnavailable(_ message: String) -> OAuthError {
        OAuthError("temporarily_unavailable", message, status: 503, retryAfter: 30)
    }

    static func tooManyRequests(retryAfter: Int) -> OAuthError {
        OAuthError("slow_down", "too many attempts; try again later", status: 429, retryAfter: retryAfter)
    }
}

/// The parameters of a form POST, with RFC 6749 §3.2's rules: each parameter at most once, and an
/// empty value counts as absent.
public struct OAuthParameters: Sendable {
    /// The parameters with a value, names unique. A request carries a handful, so lookups scan.
    private let items: [(name: String, value: String)]

    public init(_ items: [(name: String, value: String)]) throws(OAuthError) {
        // RFC 6749 §3.1: no parameter may be repeated (not even with an empty copy), and one without a
        // value counts as omitted.
        if items.count <= 16 {
            for index in items.indices {
                let name = items[index].name
                if items[..<index].contains(where: { $0.name == name }) {
                    throw .invalidRequest("parameter \(name) is repeated")
                }
            }
        } else {
            var seen = Set<String>(minimumCapacity: items.count)
            for item in items where !seen.insert(item.name).inserted {
                throw .invalidRequest("parameter \(item.name) is repeated")
            }
        }
        self.items = items.contains { $0.value.isEmpty } ? items.filter { !$0.value.isEmpty } : items
    }

    public subscript(_ name: String) -> String? {
        for item in items where item.name == name { return item.value }
        return nil
    }

    func required(_ name: String) throws(OAuthError) -> String {
        guard let value = self[name] else { throw .invalidRequest("missing parameter \(name)") }
        return value
    }
}
