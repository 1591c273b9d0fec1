/// Text for HTML and XML documents Tessera writes (the sign-in page, property lists).
public enum MarkupText {
    /// `text` as character data or an attribute value: `&`, `<`, `>`, `"` and `'` escaped. Characters
    /// XML 1.0 cannot carry at all (controls other than tab, newline and carriage return, U+FFFE and
    /// U+FFFF) are left out rather than escaped, since no escape makes them legal.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
