internal import CLDAP

/// A failed LDAP operation. `kind` is what callers decide on; `code` and `message` are libldap's, for
/// logs (they never contain a password).
public struct LDAPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The bind's DN or password was refused (result 49), or the password was empty.
        case invalidCredentials
        /// The directory cannot be reached or did not answer in time (server down, connect error,
        /// timeout, TLS handshake or certificate failure, busy/unavailable): never "wrong password".
        case unavailable
        /// The search base does not exist (result 32).
        case noSuchObject
        /// More entries matched than the size limit allows (result 4).
        case sizeLimitExceeded
        /// The settings cannot work (bad URI, plain LDAP to a non-loopback host, unreadable CA file).
        case configuration
        /// Any other refusal by the server or libldap.
        case failed
    }

    public var kind: Kind
    /// The LDAP result code (RFC 4511 §4.1.9) or libldap's negative API code; 0 for local checks.
    public var code: Int32
    public var message: String

    public init(_ kind: Kind, code: Int32 = 0, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// Classifies a libldap return code, with the server's diagnostic message when there is one.
    init(code: Int32, operation: String, diagnostic: String?) {
        let kind: Kind
        switch code {
        case LDAP_INVALID_CREDENTIALS: kind = .invalidCredentials
        case LDAP_NO_SUCH_OBJECT: kind = .noSuchObject
        case LDAP_SIZELIMIT_EXCEEDED: kind = .sizeLimitExceeded
        case LDAP_SERVER_DOWN, LDAP_TIMEOUT, LDAP_CONNECT_ERROR, LDAP_TIMELIMIT_EXCEEDED, LDAP_BUSY, LDAP_UNAVAILABLE:
            kind = .unavailable
        default: kind = .failed
        }
        let text = String(cString: ldap_err2string(code))
        let detail = diagnostic.map { $0.isEmpty ? "" : " (\($0))" } ?? ""
        self.init(kind, code: code, "\(operation): \(text)\(detail)")
    }

    public var description: String { "LDAPError.\(kind.rawValue) [\(code)]: \(message)" }
}
