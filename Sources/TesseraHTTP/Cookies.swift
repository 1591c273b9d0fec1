/// Cookies (RFC 6265): reading the `Cookie` request header and writing `Set-Cookie`.
public enum HTTPCookies {
    /// The value of the first cookie called `name` in the request's `Cookie` headers.
    public static func value(_ name: String, in headers: HTTPHeaders) -> String? {
        for header in headers.values("Cookie") {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                if trimmed[..<equals] == name {
                    var value = trimmed[trimmed.index(after: equals)...]
                    if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                        value = value.dropFirst().dropLast()
                    }
                    return String(value)
                }
            }
        }
        return nil
    }

    public enum SameSite: String, Sendable { case strict = "Strict", lax = "Lax" }

    /// A `Set-Cookie` value; `maxAge` 0 deletes the cookie. Names and values must be cookie-safe tokens
    /// (callers use base64url values).
    public static func setCookie(
        _ name: String, _ value: String, path: String, maxAge: Int?, secure: Bool = true, httpOnly: Bool = true,
        sameSite: SameSite = .lax
    ) -> String {
        var parts = ["\(name)=\(value)", "Path=\(path)"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if secure { parts.append("Secure") }
        if httpOnly { parts.append("HttpOnly") }
        parts.append("SameSite=\(sameSite.rawValue)")
        return parts.joined(separator: "; ")
    }
}
