import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Serialises responses. The server owns framing headers: handler-supplied `Content-Length`,
/// `Transfer-Encoding`, `Connection`, `Date` and `X-Request-ID` are replaced, and header names or values
/// that could split the response (CR, LF, NUL, non-token names) are dropped.
enum ResponseEncoding {
    static func encode(
        _ response: HTTPResponse, requestID: String?, keepAlive: Bool, version: HTTPVersion, omitBody: Bool,
        date: String
    ) -> [UInt8] {
        var status = response.status
        if status < 200 || status > 599 { status = 500 }
        let bodyless = status == 204 || status == 304
        var out: [UInt8] = []
        out.reserveCapacity(256 + (omitBody || bodyless ? 0 : response.body.count))
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(&out, status)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: reasonPhrase(status).utf8)
        out.append(contentsOf: "\r\n".utf8)
        for (name, value) in response.headers {
            if name.asciiCaseInsensitiveEquals("Content-Length") || name.asciiCaseInsensitiveEquals("Transfer-Encoding")
                || name.asciiCaseInsensitiveEquals("Connection") || name.asciiCaseInsensitiveEquals("Date")
                || name.asciiCaseInsensitiveEquals("X-Request-ID")
            {
                continue
            }
            guard isFieldName(name), isFieldValue(value) else { continue }
            appendHeader(&out, name, value)
        }
        appendHeader(&out, "Date", date)
        if let requestID { appendHeader(&out, "X-Request-ID", requestID) }
        if !bodyless {
            out.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(&out, response.body.count)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive {
            appendHeader(&out, "Connection", "close")
        } else if version == .http1_0 {
            appendHeader(&out, "Connection", "keep-alive")
        }
        out.append(contentsOf: "\r\n".utf8)
        if !omitBody && !bodyless { out.append(contentsOf: response.body) }
        return out
    }

    private static func isFieldName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { !$0.isEmpty && $0.allSatisfy(isTokenByte) }
    }

    /// No CR, LF, NUL or other control characters but tab.
    private static func isFieldValue(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in bytes.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) } }
    }

    /// A protocol error: short plain text, fixed wording, always closing.
    static func protocolError(_ status: Int, reason: String) -> HTTPResponse {
        HTTPResponse.text(status, "\(reasonPhrase(status)): \(reason)\n")
    }

    /// Appends a non-negative integer in decimal.
    private static func appendDecimal(_ out: inout [UInt8], _ value: Int) {
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    private static func appendHeader(_ out: inout [UInt8], _ name: String, _ value: String) {
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: ": ".utf8)
        out.append(contentsOf: value.utf8)
        out.append(contentsOf: "\r\n".utf8)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }

    /// IMF-fixdate (RFC 9110 §5.6.7) for a Unix time.
    static func httpDate(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

/// Request ids: an incoming `X-Request-ID` of 1–128 `[A-Za-z0-9._-]` is kept; otherwise 16 random bytes, hex.
enum RequestID {
    static func accept(_ candidate: String?) -> String? {
        guard let candidate, (1...128).contains(candidate.utf8.count) else { return nil }
        let valid = candidate.utf8.allSatisfy { byte in
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
        return valid ? candidate : nil
    }

    /// A random per-process prefix and a counter: unique, cheap (no system call per request), and not
    /// meant to be unguessable (request ids are for correlating logs, never for authorisation).
    private static let prefix: UInt64 = .random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(0)

    static func generate() -> String {
        let digits: StaticString = "0123456789abcdef"
        let sequence = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 32) { buffer in
            digits.withUTF8Buffer { hex in
                var word = prefix
                for index in 0..<16 {
                    buffer[15 - index] = hex[Int(word & 0xF)]
                    word >>= 4
                }
                word = sequence
                for index in 0..<16 {
                    buffer[31 - index] = hex[Int(word & 0xF)]
                    word >>= 4
                }
            }
            return 32
        }
    }
}
