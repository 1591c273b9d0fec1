import TesseraCrypto

/// The `apple-as-web` sign-in (PROTOCOLS.md §1.3): the device opens the login URL in a web session;
/// Tessera sends it through its own sign-in page (the authorization endpoint, as the enrolment client,
/// with `login_hint` from the `user-identifier`), takes the code back at the completion URL, redeems it,
/// and answers `308` to `apple-remotemanagement-user-login://authentication-results?access-token=…`.
///
/// Going through the authorization endpoint gives this flow everything the sign-in page does:
/// directory and Kerberos sign-in, first-login password changes, lockout, rate limits, sessions.
public struct WebLogin: Sendable {
    let authorizationURL: String
    let completionURL: String
    let clientID: String
    let scope: String
    /// Redeems a code issued to `clientID` for `completionURL` (for the caller at `remoteAddress`): the
    /// access token, or nil.
    let redeem: @Sendable (_ code: String, _ remoteAddress: String) async -> String?

    public init(
        authorizationURL: String, completionURL: String, clientID: String, scope: String,
        redeem: @escaping @Sendable (_ code: String, _ remoteAddress: String) async -> String?
    ) {
        self.authorizationURL = authorizationURL
        self.completionURL = completionURL
        self.clientID = clientID
        self.scope = scope
        self.redeem = redeem
    }

    /// Where the device's callback scheme takes the token.
    public static let resultsURL = "apple-remotemanagement-user-login://authentication-results"

    /// The start: a fresh `state` (to be kept in a cookie of the web session) and the authorization
    /// request to send the session to.
    public func start(userIdentifier: String?) -> (state: String, location: String) {
        let state = SecureRandom.token(bytes: 24)
        var query = [
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", completionURL), ("state", state),
            ("scope", scope),
        ]
        if let userIdentifier, !userIdentifier.isEmpty { query.append(("login_hint", userIdentifier)) }
        return (state, authorizationURL + "?" + query.map { "\($0)=\(Self.formEncoded($1))" }.joined(separator: "&"))
    }

    public enum Completion: Sendable, Equatable {
        /// `308` to this URL.
        case enrolled(location: String)
        /// An error page with this message; the person may start again.
        case failed(String)
    }

    /// The end: the authorization endpoint's answer (`code` and `state`, or `error`) and the state the
    /// session's cookie holds.
    public func complete(code: String?, state: String?, error: String?, expectedState: String?, remoteAddress: String)
        async -> Completion
    {
        switch await token(
            code: code, state: state, error: error, expectedState: expectedState, remoteAddress: remoteAddress)
        {
        case .success(let token): .enrolled(location: Self.resultsURL + "?access-token=" + Self.formEncoded(token))
        case .failure(let failure): .failed(failure.message)
        }
    }

    /// Why a sign-in came back without a token: a message for the person, who may start again.
    public struct Failure: Error, Sendable, Equatable {
        public var message: String
    }

    /// The access token of a sign-in that came back: the state must be the session's (its cookie), and
    /// the code redeemable.
    public func token(code: String?, state: String?, error: String?, expectedState: String?, remoteAddress: String)
        async -> Result<String, Failure>
    {
        if let error {
            return .failure(
                Failure(
                    message: error == "access_denied"
                        ? "Sign-in was cancelled." : "Sign-in did not complete (\(MarkupSafe.short(error)))."))
        }
        guard let code, let state, let expectedState, !expectedState.isEmpty,
            ConstantTime.equals(Array(state.utf8), Array(expectedState.utf8))
        else {
            return .failure(
                Failure(message: "This sign-in was not started here or has expired. Start the enrolment again."))
        }
        guard let token = await redeem(code, remoteAddress) else {
            return .failure(Failure(message: "The sign-in could not be completed. Start the enrolment again."))
        }
        return .success(token)
    }

    /// RFC 3986 unreserved characters kept, everything else percent-encoded (UTF-8).
    static func formEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return out
    }
}

/// Text from the network shown back to a person: printable ASCII only, and short.
enum MarkupSafe {
    static func short(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(64).map(Character.init))
    }
}
