#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Ordered HTTP header fields with case-insensitive lookup.
public struct HTTPHeaders: Sendable, Sequence {
    private var pairs: [(name: String, value: String)] = []

    public init() {}

    /// Room for `capacity` fields before the storage grows.
    public init(reservingCapacity capacity: Int) {
        pairs.reserveCapacity(capacity)
    }

    public init(_ pairs: [(String, String)]) {
        // Responses usually gain a few more fields (caching, security headers) before they are sent.
        self.pairs.reserveCapacity(pairs.count + 4)
        for (name, value) in pairs { self.pairs.append((name: name, value: value)) }
    }

    /// The first value of `name`, or nil.
    public subscript(_ name: String) -> String? {
        pairs.first { $0.name.asciiCaseInsensitiveEquals(name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        var values: [String] = []
        for pair in pairs where pair.name.asciiCaseInsensitiveEquals(name) { values.append(pair.value) }
        return values
    }

    /// How many fields are named `name`.
    public func count(of name: String) -> Int {
        var count = 0
        for pair in pairs where pair.name.asciiCaseInsensitiveEquals(name) { count += 1 }
        return count
    }

    public mutating func add(_ name: String, _ value: String) {
        pairs.append((name: name, value: value))
    }

    /// Replaces every value of `name` with one value.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        pairs.append((name: name, value: value))
    }

    public mutating func remove(_ name: String) {
        guard contains(name) else { return }
        pairs.removeAll { $0.name.asciiCaseInsensitiveEquals(name) }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public var count: Int { pairs.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        pairs.makeIterator()
    }

    /// True when any comma-separated element of any `name` field equals `token` (case-insensitive).
    public func containsToken(_ token: String, in name: String) -> Bool {
        for (field, value) in pairs where field.asciiCaseInsensitiveEquals(name) {
            for element in value.split(separator: ",") {
                if element.trimmingHTTPWhitespace().asciiCaseInsensitiveEquals(token) { return true }
            }
        }
        return false
    }
}

public enum HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    case http1_0
    case http1_1

    public var description: String { self == .http1_0 ? "HTTP/1.0" : "HTTP/1.1" }
}

/// A complete request as handed to a handler.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request-target exactly as received (origin-form or `*`).
    public var target: String
    /// The path part of the target (still percent-encoded).
    public var path: String
    public var query: String?
    /// Form-decoded query parameters (`+` and `%XX`); invalid escapes are kept as-is.
    public var queryItems: [(name: String, value: String)]
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var remoteAddress: String
    public var requestID: String
    public var isTLS: Bool
    /// Values of `{param}` segments of the matched route, percent-decoded.
    public var pathParameters: [String: String]

    public init(
        method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [], remoteAddress: String = "", requestID: String = "", isTLS: Bool = false
    ) {
        self.method = method
        self.target = target
        if let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            self.path = String(target[..<mark])
            let query = String(target[target.utf8.index(after: mark)...])
            self.query = query
            self.queryItems = FormDecoding.decodeItems(query)
        } else {
            self.path = target
            self.query = nil
            self.queryItems = []
        }
        self.version = version
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.requestID = requestID
        self.isTLS = isTLS
        self.pathParameters = [:]
    }

    /// The first query value named `name`.
    /// Whether the body's `Content-Type` is `type` (compared without case, parameters ignored).
    public func hasMediaType(_ type: String) -> Bool {
        guard var value = headers["Content-Type"] else { return false }
        var type = type
        return value.withUTF8 { declared in
            type.withUTF8 { expected in
                let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
                var end = declared.firstIndex(of: UInt8(ascii: ";")) ?? declared.count
                var start = 0
                while start < end, isSpace(declared[start]) { start += 1 }
                while end > start, isSpace(declared[end - 1]) { end -= 1 }
                guard end - start == expected.count else { return false }
                for index in 0..<expected.count
                where lowercasedASCII(declared[start + index]) != lowercasedASCII(expected[index]) {
                    return false
                }
                return true
            }
        }
    }

    /// The body decoded as an `application/x-www-form-urlencoded` form, if it is one (and is UTF-8).
    public var formItems: [(name: String, value: String)]? {
        guard hasMediaType("application/x-www-form-urlencoded"), let text = String(validating: body, as: UTF8.self)
        else { return nil }
        return FormDecoding.decodeItems(text)
    }

    public func queryValue(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }
}

/// A response. The server adds `Content-Length`, `Date`, `X-Request-ID` and `Connection` itself.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]),
            body: Array(text.utf8))
    }

    /// An `application/json` response with an already serialised body.
    public static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: body)
    }
}

public typealias HTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse

/// A route's synchronous answer for the requests it can serve without waiting (from memory), or nil.
/// It runs on the event loop's thread, so it must never block.
public typealias HTTPFastPath = @Sendable (HTTPRequest) -> HTTPResponse?

/// The module's one error type: a stable code and a human message.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The configuration is invalid or unsafe (e.g. plain HTTP on a non-loopback address).
        case configuration
        /// socket/bind/listen/epoll failed.
        case system
        /// Loading certificates or keys, or building an SSL_CTX, failed.
        case tls
        /// start() was called twice or after shutdown.
        case state
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "HTTPError.\(code.rawValue): \(message)" }
}

/// What the server reports after each response; never holds headers or bodies.
public struct AccessLogEntry: Sendable {
    public var requestID: String
    public var method: String
    /// The path without the query string.
    public var path: String
    /// The route name, "unmatched" for unknown paths, "invalid" for unparseable requests.
    public var route: String
    public var status: Int
    public var duration: Duration
    public var bytesIn: Int
    public var bytesOut: Int
    public var remoteAddress: String
}

/// Certificate chain and private key files (PEM).
public struct TLSConfiguration: Sendable {
    public var certificateChainPath: String
    public var privateKeyPath: String

    public init(certificateChainPath: String, privateKeyPath: String) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }
}

/// Server settings. Every limit answers a specific status; every timeout closes the connection.
public struct HTTPServerConfiguration: Sendable {
    /// Listen address: IPv4 or IPv6 literal. Plain HTTP is allowed only on loopback unless
    /// `tls` is set or `trustedTLSProxy` is true.
    public var host: String = "127.0.0.1"
    /// 0 picks an ephemeral port (see `HTTPServer.start()`'s result).
    public var port: Int = 8080
    /// Event-loop threads; one per core by default.
    public var eventLoopThreads: Int = HTTPServerConfiguration.defaultThreadCount
    /// Connections beyond this are accepted, answered 503 and closed.
    public var maxConnections = 16384
    /// Longer request lines are answered 414.
    public var maxRequestLineBytes = 8192
    /// Header section (after the request line) larger than this is answered 431.
    public var maxHeaderBytes = 32768
    /// More header fields than this are answered 431.
    public var maxHeaderCount = 100
    /// Bodies (Content-Length or chunked total) larger than this are answered 413.
    public var maxBodyBytes = 1 << 20
    /// Absolute deadline from a request's first byte to the end of its headers (slowloris): 408.
    public var headerReadTimeout: Duration = .seconds(10)
    /// Longest time without body progress: 408.
    public var bodyReadTimeout: Duration = .seconds(30)
    /// Idle keep-alive connections are closed silently after this.
    public var idleTimeout: Duration = .seconds(60)
    /// After `beginShutdown()`, in-flight requests get this long before connections are force-closed.
    public var shutdownGracePeriod: Duration = .seconds(30)
    public var tls: TLSConfiguration? = nil
    /// Set when a TLS-terminating proxy sits in front: allows plain HTTP on non-loopback addresses.
    public var trustedTLSProxy = false

    public init() {}

    public static var defaultThreadCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

extension StringProtocol {
    func asciiCaseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        let a = self.utf8
        let b = other.utf8
        guard a.count == b.count else { return false }
        let contiguous = a.withContiguousStorageIfAvailable { a in
            b.withContiguousStorageIfAvailable { b in
                for index in 0..<a.count where a[index] != b[index] {
                    if lowercasedASCII(a[index]) != lowercasedASCII(b[index]) { return false }
                }
                return true
            }
        }
        if let contiguous, let contiguous { return contiguous }
        for (x, y) in zip(a, b) where x != y {
            let lx = x >= 65 && x <= 90 ? x + 32 : x
            let ly = y >= 65 && y <= 90 ? y + 32 : y
            if lx != ly { return false }
        }
        return true
    }

    func trimmingHTTPWhitespace() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

private func lowercasedASCII(_ byte: UInt8) -> UInt8 {
    (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
}

/// application/x-www-form-urlencoded decoding (query strings and form bodies).
public enum FormDecoding {
    public static func decodeItems(_ query: String) -> [(name: String, value: String)] {
        var items: [(name: String, value: String)] = []
        var rest = query[...]
        while !rest.isEmpty {
            // Indices step through the UTF-8 bytes: a Character step after '&' or '=' would swallow a
            // combining mark that follows it.
            let end = rest.utf8.firstIndex(of: UInt8(ascii: "&")) ?? rest.endIndex
            let part = rest[..<end]
            rest = end == rest.endIndex ? rest[end...] : rest[rest.utf8.index(after: end)...]
            if part.isEmpty { continue }
            if let eq = part.utf8.firstIndex(of: UInt8(ascii: "=")) {
                items.append(
                    (
                        decode(part[..<eq], plusAsSpace: true),
                        decode(part[part.utf8.index(after: eq)...], plusAsSpace: true)
                    ))
            } else {
                items.append((decode(part, plusAsSpace: true), ""))
            }
        }
        return items
    }

    public static func decode(_ text: String, plusAsSpace: Bool) -> String {
        needsDecoding(text[...], plusAsSpace: plusAsSpace) ? decode(text[...], plusAsSpace: plusAsSpace) : text
    }

    private static func needsDecoding(_ text: Substring, plusAsSpace: Bool) -> Bool {
        let escaped = { (byte: UInt8) in byte == UInt8(ascii: "%") || (plusAsSpace && byte == UInt8(ascii: "+")) }
        return text.utf8.withContiguousStorageIfAvailable { $0.contains(where: escaped) }
            ?? text.utf8.contains(where: escaped)
    }

    // Concrete (not generic) so that callers in other modules get the specialised loop.
    public static func decode(_ text: Substring, plusAsSpace: Bool) -> String {
        // Most names and values need no decoding at all.
        if !needsDecoding(text, plusAsSpace: plusAsSpace) { return String(text) }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count {
                if let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                    out.append(h << 4 | l)
                    i += 3
                    continue
                }
            } else if b == UInt8(ascii: "+"), plusAsSpace {
                out.append(UInt8(ascii: " "))
                i += 1
                continue
            }
            out.append(b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
