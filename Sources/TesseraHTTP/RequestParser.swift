/// Limits the parser enforces, each mapped to its own status.
struct HTTPParserLimits: Sendable {
    var maxRequestLineBytes = 8192
    var maxHeaderBytes = 32768
    var maxHeaderCount = 100
    var maxBodyBytes = 1 << 20
    /// A chunk-size line, extensions included.
    var maxChunkLineBytes = 4096
}

/// A protocol error: the status to answer and a fixed, short reason (never echoing input).
struct HTTPParseError: Error, Equatable, Sendable {
    var status: Int
    var reason: String

    static func bad(_ reason: String) -> HTTPParseError { HTTPParseError(status: 400, reason: reason) }
}

enum BodyFraming: Equatable, Sendable {
    case none
    case length(Int)
    case chunked
}

/// The request line and headers, validated.
struct RequestHead: Sendable {
    var method: String
    var target: String
    var version: HTTPVersion
    var headers: HTTPHeaders
    var framing: BodyFraming
    /// `Expect: 100-continue` on an HTTP/1.1 request that has a body.
    var expectsContinue: Bool
    /// Whether the client asked to keep the connection open (HTTP/1.1 default, HTTP/1.0 opt-in).
    var keepAlive: Bool
    /// Bytes of the request line and header section.
    var headBytes: Int
}

enum ParserEvent: Sendable {
    /// Nothing more can be parsed from the buffer.
    case needMoreData
    /// The head is complete and acceptable; the body (if any) follows.
    case head(RequestHead)
    /// A whole request. `wireBytes` counts head and body as received (chunk framing included).
    case request(RequestHead, body: [UInt8], wireBytes: Int)
    /// The request is malformed or over a limit: answer `status` and close.
    case failure(HTTPParseError)
}

/// An incremental HTTP/1.1 request parser: a plain state machine with no I/O.
///
/// The caller appends received bytes to its buffer and calls `next(_:)` until it returns
/// `.needMoreData`; the parser consumes bytes from the front of the buffer. After `.request` it is ready
/// for the next (pipelined) request. After `.failure` the connection must be closed.
///
/// Decisions (RFC 9112 where it leaves a choice):
/// - any bare LF in the head or chunk framing is rejected (400), as is obs-fold;
/// - Content-Length with Transfer-Encoding, or more than one Content-Length field (even equal), is 400;
/// - Transfer-Encoding must end in exactly one `chunked`: `gzip, chunked` is 501 (coding not
///   implemented), anything where `chunked` is not the single final coding (`chunked, gzip`,
///   `chunked, chunked`, `gzip`) is 400; Transfer-Encoding on HTTP/1.0 is 400;
/// - leading empty lines before the request line are skipped.
struct HTTPRequestParser: Sendable {
    enum State: Sendable, Equatable {
        case head(scanned: Int, requestLineEnd: Int?)
        case fixedBody(remaining: Int)
        case chunkSize(scanned: Int)
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(scanned: Int, lineStart: Int, bytes: Int)
        case failed
    }

    let limits: HTTPParserLimits
    private(set) var state: State = .head(scanned: 0, requestLineEnd: nil)
    private var head: RequestHead?
    private var body: [UInt8] = []
    private var wireBytes = 0

    init(limits: HTTPParserLimits) {
        self.limits = limits
    }

    /// True while the parser waits for the start of a request (no head bytes consumed).
    var isBetweenRequests: Bool {
        if case .head = state { return true }
        return false
    }

    /// True while a body is being read.
    var isReadingBody: Bool {
        switch state {
        case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers: return true
        default: return false
        }
    }

    mutating func next(_ buffer: inout [UInt8]) -> ParserEvent {
        switch state {
        case .failed:
            return .failure(.bad("connection failed"))
        case .head(let scanned, let requestLineEnd):
            return parseHead(&buffer, scanned: scanned, requestLineEnd: requestLineEnd)
        case .fixedBody(let remaining):
            let take = min(remaining, buffer.count)
            if take > 0 {
                body.append(contentsOf: buffer[0..<take])
                buffer.removeFirst(take)
                wireBytes += take
            }
            if remaining - take == 0 { return finish() }
            state = .fixedBody(remaining: remaining - take)
            return .needMoreData
        case .chunkSize(let scanned):
            return parseChunkSize(&buffer, scanned: scanned)
        case .chunkData(let remaining):
            let take = min(remaining, buffer.count)
            if take > 0 {
                body.append(contentsOf: buffer[0..<take])
                buffer.removeFirst(take)
                wireBytes += take
            }
            if remaining - take == 0 {
                state = .chunkDataEnd
                return next(&buffer)
            }
            state = .chunkData(remaining: remaining - take)
            return .needMoreData
        case .chunkDataEnd:
            guard buffer.count >= 2 else {
                if buffer.count == 1, buffer[0] != cr { return fail(.bad("invalid chunk terminator")) }
                return .needMoreData
            }
            guard buffer[0] == cr, buffer[1] == lf else { return fail(.bad("invalid chunk terminator")) }
            buffer.removeFirst(2)
            wireBytes += 2
            state = .chunkSize(scanned: 0)
            return next(&buffer)
        case .trailers(let scanned, let lineStart, let bytes):
            return parseTrailers(&buffer, scanned: scanned, lineStart: lineStart, bytes: bytes)
        }
    }

    // MARK: - Head

    private mutating func parseHead(_ buffer: inout [UInt8], scanned: Int, requestLineEnd: Int?) -> ParserEvent {
        var requestLineEnd = requestLineEnd
        var index = scanned
        var headEnd: Int?
        while index < buffer.count {
            let byte = buffer[index]
            if byte == lf {
                guard index > 0, buffer[index - 1] == cr else { return fail(.bad("bare LF in request head")) }
                if requestLineEnd == nil {
                    if index == 1 {
                        // An empty line before the request line (RFC 9112 §2.2): skip it.
                        buffer.removeFirst(2)
                        index = 0
                        continue
                    }
                    if index - 1 > limits.maxRequestLineBytes {
                        return fail(HTTPParseError(status: 414, reason: "request line too long"))
                    }
                    requestLineEnd = index - 1
                } else if buffer[index - 2] == lf {
                    // CRLF CRLF: the empty line ending the header section.
                    headEnd = index + 1
                    break
                }
            } else if byte == cr, index + 1 < buffer.count, buffer[index + 1] != lf {
                return fail(.bad("bare CR in request head"))
            }
            index += 1
        }
        guard let headEnd else {
            if requestLineEnd == nil {
                if buffer.count > limits.maxRequestLineBytes + 1 {
                    return fail(HTTPParseError(status: 414, reason: "request line too long"))
                }
            } else if buffer.count - (requestLineEnd! + 2) > limits.maxHeaderBytes + 2 {
                return fail(HTTPParseError(status: 431, reason: "request header section too large"))
            }
            state = .head(scanned: buffer.count, requestLineEnd: requestLineEnd)
            return .needMoreData
        }
        let lineEnd = requestLineEnd!
        if headEnd - 2 - (lineEnd + 2) > limits.maxHeaderBytes {
            return fail(HTTPParseError(status: 431, reason: "request header section too large"))
        }
        let result = buffer.withUnsafeBufferPointer { bytes in
            Self.parseHeadBytes(bytes, requestLineEnd: lineEnd, headEnd: headEnd, limits: limits)
        }
        switch result {
        case .failure(let error):
            return fail(error)
        case .success(let parsed):
            buffer.removeFirst(headEnd)
            head = parsed
            body = []
            wireBytes = headEnd
            switch parsed.framing {
            case .none: state = .fixedBody(remaining: 0)
            case .length(let length): state = .fixedBody(remaining: length)
            case .chunked: state = .chunkSize(scanned: 0)
            }
            return .head(parsed)
        }
    }

    private static func parseHeadBytes(
        _ bytes: UnsafeBufferPointer<UInt8>, requestLineEnd: Int, headEnd: Int, limits: HTTPParserLimits
    ) -> Result<RequestHead, HTTPParseError> {
        // Request line: method SP request-target SP HTTP-version, single spaces.
        let line = UnsafeBufferPointer(rebasing: bytes[0..<requestLineEnd])
        guard let firstSpace = line.firstIndex(of: sp) else { return .failure(.bad("malformed request line")) }
        guard let secondSpace = line[(firstSpace + 1)...].firstIndex(of: sp) else {
            return .failure(.bad("malformed request line"))
        }
        let methodBytes = line[0..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<secondSpace]
        let versionBytes = line[(secondSpace + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(isTokenByte) else {
            return .failure(.bad("invalid method"))
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.bad("invalid request target"))
        }
        let version: HTTPVersion
        if versionBytes.elementsEqual("HTTP/1.1".utf8) {
            version = .http1_1
        } else if versionBytes.elementsEqual("HTTP/1.0".utf8) {
            version = .http1_0
        } else if versionBytes.count == 8, versionBytes.starts(with: "HTTP/".utf8),
            isDigit(versionBytes[versionBytes.startIndex + 5]), versionBytes[versionBytes.startIndex + 6] == dot,
            isDigit(versionBytes[versionBytes.startIndex + 7])
        {
            return .failure(HTTPParseError(status: 505, reason: "HTTP version not supported"))
        } else {
            return .failure(.bad("invalid HTTP version"))
        }
        let method = String(decoding: methodBytes, as: UTF8.self)
        let target = String(decoding: targetBytes, as: UTF8.self)
        if target == "*" {
            guard method == "OPTIONS" else { return .failure(.bad("asterisk-form only with OPTIONS")) }
        } else if targetBytes.first != slash {
            return .failure(.bad("request target must be origin-form"))
        }

        // Header fields.
        var headers = HTTPHeaders(reservingCapacity: min(limits.maxHeaderCount, 12))
        var start = requestLineEnd + 2
        let end = headEnd - 2
        while start < end {
            var lineEnd = start
            while bytes[lineEnd] != cr { lineEnd += 1 }
            let field = UnsafeBufferPointer(rebasing: bytes[start..<lineEnd])
            start = lineEnd + 2
            if field.first == sp || field.first == htab { return .failure(.bad("obsolete line folding")) }
            guard let colon = field.firstIndex(of: colon) else { return .failure(.bad("malformed header field")) }
            let name = field[0..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else { return .failure(.bad("invalid header name")) }
            var valueStart = colon + 1
            var valueEnd = field.count
            while valueStart < valueEnd, field[valueStart] == sp || field[valueStart] == htab { valueStart += 1 }
            while valueEnd > valueStart, field[valueEnd - 1] == sp || field[valueEnd - 1] == htab { valueEnd -= 1 }
            let value = field[valueStart..<valueEnd]
            guard value.allSatisfy({ $0 == htab || ($0 >= 0x20 && $0 != 0x7F) }) else {
                return .failure(.bad("invalid header value"))
            }
            if headers.count >= limits.maxHeaderCount {
                return .failure(HTTPParseError(status: 431, reason: "too many header fields"))
            }
            headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        }

        // Host.
        let hosts = headers.count(of: "Host")
        if version == .http1_1, hosts != 1 { return .failure(.bad("exactly one Host header required")) }
        if hosts > 1 { return .failure(.bad("exactly one Host header required")) }

        // Framing.
        let transferEncodings = headers.values("Transfer-Encoding")
        let contentLengths = headers.values("Content-Length")
        var framing = BodyFraming.none
        if !transferEncodings.isEmpty {
            guard contentLengths.isEmpty else { return .failure(.bad("Content-Length with Transfer-Encoding")) }
            guard version == .http1_1 else { return .failure(.bad("Transfer-Encoding in HTTP/1.0")) }
            let codings = transferEncodings.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
                .map { $0.trimmingHTTPWhitespace() }
            let chunkedPositions = codings.indices.filter { codings[$0].asciiCaseInsensitiveEquals("chunked") }
            guard chunkedPositions == [codings.count - 1] else {
                return .failure(.bad("unsupported Transfer-Encoding"))
            }
            guard codings.count == 1 else {
                return .failure(HTTPParseError(status: 501, reason: "transfer coding not implemented"))
            }
            framing = .chunked
        } else if !contentLengths.isEmpty {
            guard contentLengths.count == 1 else { return .failure(.bad("duplicate Content-Length")) }
            let digits = contentLengths[0].utf8
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy(isDigit), let length = Int(contentLengths[0])
            else { return .failure(.bad("invalid Content-Length")) }
            if length > limits.maxBodyBytes {
                return .failure(HTTPParseError(status: 413, reason: "request body too large"))
            }
            framing = length > 0 ? .length(length) : .none
        }

        // Expectations.
        var expectsContinue = false
        let expectations = headers.values("Expect")
        if !expectations.isEmpty {
            guard expectations.count == 1, expectations[0].asciiCaseInsensitiveEquals("100-continue") else {
                return .failure(HTTPParseError(status: 417, reason: "unsupported expectation"))
            }
            expectsContinue = version == .http1_1 && framing != .none
        }

        let keepAlive =
            version == .http1_1
            ? !headers.containsToken("close", in: "Connection")
            : headers.containsToken("keep-alive", in: "Connection")
        return .success(
            RequestHead(
                method: method, target: target, version: version, headers: headers, framing: framing,
                expectsContinue: expectsContinue, keepAlive: keepAlive, headBytes: headEnd))
    }

    // MARK: - Chunked body

    private mutating func parseChunkSize(_ buffer: inout [UInt8], scanned: Int) -> ParserEvent {
        var index = scanned
        while index < buffer.count, buffer[index] != lf { index += 1 }
        guard index < buffer.count else {
            if buffer.count > limits.maxChunkLineBytes { return fail(.bad("chunk size line too long")) }
            state = .chunkSize(scanned: buffer.count)
            return .needMoreData
        }
        guard index > 0, buffer[index - 1] == cr else { return fail(.bad("bare LF in chunk framing")) }
        if index + 1 > limits.maxChunkLineBytes { return fail(.bad("chunk size line too long")) }
        let lineEnd = index - 1
        var size = 0
        var position = 0
        while position < lineEnd, let digit = hexValue(buffer[position]) {
            guard position < 15 else { return fail(.bad("invalid chunk size")) }
            size = size << 4 | Int(digit)
            position += 1
        }
        guard position > 0 else { return fail(.bad("invalid chunk size")) }
        // Chunk extensions: BWS ";" ... — tolerated and ignored, but must be visible text.
        var rest = position
        while rest < lineEnd, buffer[rest] == sp || buffer[rest] == htab { rest += 1 }
        if rest < lineEnd {
            guard buffer[rest] == semicolon else { return fail(.bad("invalid chunk size")) }
            for byte in buffer[rest..<lineEnd] where byte != htab && (byte < 0x20 || byte == 0x7F) {
                return fail(.bad("invalid chunk extension"))
            }
        }
        if size > limits.maxBodyBytes - body.count {
            return fail(HTTPParseError(status: 413, reason: "request body too large"))
        }
        buffer.removeFirst(index + 1)
        wireBytes += index + 1
        if size == 0 {
            state = .trailers(scanned: 0, lineStart: 0, bytes: 0)
        } else {
            state = .chunkData(remaining: size)
        }
        return next(&buffer)
    }

    /// Trailer fields are checked for shape, bounded, and discarded.
    private mutating func parseTrailers(_ buffer: inout [UInt8], scanned: Int, lineStart: Int, bytes: Int)
        -> ParserEvent
    {
        var index = scanned
        var lineStart = lineStart
        while index < buffer.count {
            if buffer[index] == lf {
                guard index > lineStart, buffer[index - 1] == cr else { return fail(.bad("bare LF in trailers")) }
                if index - 1 == lineStart {
                    buffer.removeFirst(index + 1)
                    wireBytes += index + 1
                    return finish()
                }
                let line = buffer[lineStart..<(index - 1)]
                if line.first == sp || line.first == htab { return fail(.bad("obsolete line folding")) }
                guard let colon = line.firstIndex(of: colon), colon > lineStart,
                    line[lineStart..<colon].allSatisfy(isTokenByte)
                else { return fail(.bad("malformed trailer field")) }
                lineStart = index + 1
            }
            index += 1
            if index > limits.maxHeaderBytes + 2 {
                return fail(HTTPParseError(status: 431, reason: "trailer section too large"))
            }
        }
        state = .trailers(scanned: index, lineStart: lineStart, bytes: bytes)
        return .needMoreData
    }

    private mutating func finish() -> ParserEvent {
        guard let head else { return fail(.bad("internal parser state")) }
        let result = ParserEvent.request(head, body: body, wireBytes: wireBytes)
        self.head = nil
        body = []
        wireBytes = 0
        state = .head(scanned: 0, requestLineEnd: nil)
        return result
    }

    private mutating func fail(_ error: HTTPParseError) -> ParserEvent {
        state = .failed
        return .failure(error)
    }
}

private let cr = UInt8(ascii: "\r")
private let lf = UInt8(ascii: "\n")
private let sp = UInt8(ascii: " ")
private let htab = UInt8(ascii: "\t")
private let colon = UInt8(ascii: ":")
private let semicolon = UInt8(ascii: ";")
private let slash = UInt8(ascii: "/")
private let dot = UInt8(ascii: ".")

func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: return byte - 0x30
    case 0x41...0x46: return byte - 0x41 + 10
    case 0x61...0x66: return byte - 0x61 + 10
    default: return nil
    }
}

/// tchar from RFC 9110 §5.6.2.
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
        UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
        UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default: return false
    }
}
