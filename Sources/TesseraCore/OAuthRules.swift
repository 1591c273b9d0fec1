/// The syntactic rules of OAuth values, shared by client registration and the endpoints.
public enum OAuthRules {
    /// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, space-separated.
    public static func scopes(_ text: String) throws -> Set<String> {
        var result: Set<String> = []
        for token in text.split(separator: " ", omittingEmptySubsequences: true) {
            try result.insert(scopeToken(String(token)))
        }
        return result
    }

    public static func scopeToken(_ token: String) throws -> String {
        guard !token.isEmpty, token.utf8.count <= 128,
            token.utf8.allSatisfy({ $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) })
        else {
            throw CoreError(
                .invalidInput, "oauth.scope_invalid",
                "scope '\(ManagedAccountID.printable(token))' has characters RFC 6749 does not allow (no spaces, quotes or backslashes)"
            )
        }
        return token
    }

    /// Redirect URIs are compared exactly, so they must be absolute and fragment-free; plain `http`
    /// is only for loopback (RFC 8252 §7.3). Private-use schemes (RFC 8252 §7.1), such as Apple's
    /// `apple-remotemanagement-user-login:/oauth2/redirection`, are allowed.
    public static func redirectURI(_ text: String) throws -> String {
        func invalid(_ why: String) -> CoreError {
            CoreError(
                .invalidInput, "client.redirect_uri_invalid",
                "redirect URI '\(ManagedAccountID.printable(text))' \(why)")
        }
        guard text.utf8.count <= 2048,
            !text.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "<" || $0 == ">" })
        else {
            throw invalid("has spaces or characters not allowed in a URI")
        }
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw invalid("must be an absolute URI with a scheme")
        }
        let scheme = text[..<colon].lowercased()
        guard let first = scheme.unicodeScalars.first, ("a"..."z").contains(first),
            scheme.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0)
            })
        else {
            throw invalid("has an invalid scheme")
        }
        guard !text.contains("#") else { throw invalid("must not have a fragment") }
        let rest = text[text.index(after: colon)...]
        switch scheme {
        case "https":
            guard rest.hasPrefix("//"), rest.count > 2 else { throw invalid("must name a host") }
        case "http":
            let host = rest.dropFirst(2).prefix { $0 != "/" && $0 != "?" }
            let hostname =
                host.hasPrefix("[") ? String(host.prefix { $0 != "]" }) + "]" : String(host.prefix { $0 != ":" })
            guard rest.hasPrefix("//"), ["127.0.0.1", "[::1]", "localhost"].contains(hostname) else {
                throw invalid(
                    "uses plain http: only loopback (127.0.0.1, [::1], localhost) may, anything else needs https")
            }
        case "javascript", "data", "file", "vbscript":
            throw invalid("uses a scheme that is never a redirect target")
        default:
            guard !rest.isEmpty else { throw invalid("is empty after its scheme") }
        }
        return text
    }

    /// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`.
    public static func isValidCodeVerifier(_ verifier: String) -> Bool {
        (43...128).contains(verifier.utf8.count)
            && verifier.utf8.allSatisfy { byte in
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                    || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            }
    }
}
