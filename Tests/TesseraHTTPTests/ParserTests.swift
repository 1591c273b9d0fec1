import Testing

@testable import TesseraHTTP

/// Feeds `input` to a fresh parser in pieces of `chunkSize` (all at once when nil) and collects events.
private func parse(
    _ input: String, limits: HTTPParserLimits = HTTPParserLimits(), split: [Int]? = nil
) -> [ParserEvent] {
    parseBytes(Array(input.utf8), limits: limits, split: split)
}

private func parseBytes(_ bytes: [UInt8], limits: HTTPParserLimits = HTTPParserLimits(), split: [Int]? = nil)
    -> [ParserEvent]
{
    var parser = HTTPRequestParser(limits: limits)
    var buffer: [UInt8] = []
    var events: [ParserEvent] = []
    var cuts = (split ?? []) + [bytes.count]
    cuts.sort()
    var start = 0
    for cut in cuts where cut >= start {
        buffer.append(contentsOf: bytes[start..<cut])
        start = cut
        loop: while true {
            let event = parser.next(&buffer)
            switch event {
            case .needMoreData: break loop
            case .failure:
                events.append(event)
                return events
            default: events.append(event)
            }
        }
    }
    return events
}

private func requests(_ events: [ParserEvent]) -> [(RequestHead, [UInt8])] {
    events.compactMap {
        if case .request(let head, let body, _) = $0 { return (head, body) }
        return nil
    }
}

private func failureStatus(_ events: [ParserEvent]) -> Int? {
    if case .failure(let error) = events.last { return error.status }
    return nil
}

@Suite("Request parser")
struct ParserTests {
    @Test func simpleGet() {
        let events = parse("GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-A:  v \r\n\r\n")
        let all = requests(events)
        #expect(all.count == 1)
        #expect(all[0].0.method == "GET")
        #expect(all[0].0.target == "/a?b=c")
        #expect(all[0].0.headers["x-a"] == "v")
        #expect(all[0].0.keepAlive)
        #expect(all[0].0.framing == .none)
    }

    @Test func contentLengthBody() {
        let all = requests(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"))
        #expect(all.count == 1)
        #expect(all[0].1 == Array("hello".utf8))
    }

    @Test func leadingEmptyLineIgnored() {
        #expect(requests(parse("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")).count == 1)
    }

    @Test func http10KeepAliveSemantics() {
        let close = requests(parse("GET / HTTP/1.0\r\n\r\n"))
        #expect(close.count == 1 && !close[0].0.keepAlive && close[0].0.version == .http1_0)
        let keep = requests(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
        #expect(keep[0].0.keepAlive)
        let closing = requests(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n"))
        #expect(!closing[0].0.keepAlive)
    }

    static let pipelined =
        "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
        + "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        + "POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\nhi\r\n3\r\n!!!\r\n0\r\nT: v\r\n\r\n"
        + "GET /4 HTTP/1.1\r\nHost: x\r\n\r\n"

    @Test func pipelinedRequestsSplitAtEveryOffset() {
        let bytes = Array(Self.pipelined.utf8)
        for offset in 0...bytes.count {
            let all = requests(parseBytes(bytes, split: [offset]))
            #expect(all.map(\.0.target) == ["/1", "/2", "/3", "/4"], "split at \(offset)")
            #expect(all.count == 4 && all[1].1 == Array("abc".utf8) && all[2].1 == Array("hi!!!".utf8))
        }
    }

    @Test func pipelinedRequestsByteByByte() {
        let bytes = Array(Self.pipelined.utf8)
        let all = requests(parseBytes(bytes, split: Array(0..<bytes.count)))
        #expect(all.map(\.0.target) == ["/1", "/2", "/3", "/4"])
    }

    @Test func wireBytesCountHeadAndBody() {
        let text = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
        let events = parse(text)
        guard case .request(_, _, let wire) = events.last else {
            Issue.record("no request")
            return
        }
        #expect(wire == text.utf8.count)
    }

    // MARK: Smuggling defences

    @Test(arguments: [
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0000000000000000003\r\n\r\nabc",
        "GET / HTTP/1.1\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\n",
        "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\tX-A: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX A: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX(A): a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n",
        "GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
        "GET / http/1.1\r\nHost: x\r\n\r\n",
        "G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    ])
    func rejectedWith400(_ input: String) {
        #expect(failureStatus(parse(input)) == 400)
    }

    @Test func transferCodingBeforeChunkedIs501() {
        #expect(failureStatus(parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")) == 501)
    }

    @Test func optionsAsteriskAccepted() {
        #expect(requests(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")).first?.0.target == "*")
    }

    @Test func http10WithoutHostAccepted() {
        #expect(requests(parse("GET / HTTP/1.0\r\n\r\n")).count == 1)
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/3.0"])
    func otherVersionsAre505(_ version: String) {
        #expect(failureStatus(parse("GET / \(version)\r\nHost: x\r\n\r\n")) == 505)
    }

    @Test func unknownExpectationIs417() {
        #expect(failureStatus(parse("POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\n")) == 417)
    }

    @Test func expectContinueFlagged() {
        let events = parse("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
        guard case .head(let head) = events.first else {
            Issue.record("no head")
            return
        }
        #expect(head.expectsContinue)
    }

    // MARK: Limits

    @Test func requestLineLimit() {
        var limits = HTTPParserLimits()
        limits.maxRequestLineBytes = 32
        let ok = "GET /" + String(repeating: "a", count: 18) + " HTTP/1.1"  // exactly 32
        #expect(ok.utf8.count == 32)
        #expect(requests(parse(ok + "\r\nHost: x\r\n\r\n", limits: limits)).count == 1)
        let long = "GET /" + String(repeating: "a", count: 19) + " HTTP/1.1"
        #expect(failureStatus(parse(long + "\r\nHost: x\r\n\r\n", limits: limits)) == 414)
        // Detected before the line ends.
        #expect(failureStatus(parse("GET /" + String(repeating: "a", count: 100), limits: limits)) == 414)
    }

    @Test func headerBytesLimit() {
        var limits = HTTPParserLimits()
        limits.maxHeaderBytes = 64
        let big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 100) + "\r\n\r\n"
        #expect(failureStatus(parse(big, limits: limits)) == 431)
        // Detected without the end of headers.
        let open = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 100)
        #expect(failureStatus(parse(open, limits: limits)) == 431)
        #expect(requests(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits)).count == 1)
    }

    @Test func headerCountLimit() {
        var limits = HTTPParserLimits()
        limits.maxHeaderCount = 3
        let three = "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n"
        #expect(requests(parse(three, limits: limits)).count == 1)
        let four = "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        #expect(failureStatus(parse(four, limits: limits)) == 431)
    }

    @Test func bodyLimitContentLength() {
        var limits = HTTPParserLimits()
        limits.maxBodyBytes = 10
        #expect(
            requests(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits)).count
                == 1)
        #expect(failureStatus(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits: limits)) == 413)
        #expect(
            failureStatus(
                parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999999999\r\n\r\n", limits: limits))
                == 413)
    }

    @Test func bodyLimitChunkedTotal() {
        var limits = HTTPParserLimits()
        limits.maxBodyBytes = 10
        let ok = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"
        #expect(requests(parse(ok, limits: limits)).first?.1.count == 10)
        let over = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n6\r\n"
        #expect(failureStatus(parse(over, limits: limits)) == 413)
        let huge = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"
        #expect(failureStatus(parse(huge, limits: limits)) != nil)
    }

    // MARK: Chunked edge cases

    static let chunkedHead = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

    @Test func chunkExtensionsAndTrailers() {
        let text =
            Self.chunkedHead
            + "A;name=value;flag\r\n0123456789\r\n1 ; x=\"q\"\r\n!\r\n0;last\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\n"
        let all = requests(parse(text))
        #expect(all.first?.1 == Array("0123456789!".utf8))
        #expect(all.first?.0.headers["Trailer-A"] == nil)
    }

    @Test func uppercaseHexAndZeroLengthBody() {
        #expect(requests(parse(Self.chunkedHead + "B\r\n0123456789A\r\n0\r\n\r\n")).first?.1.count == 11)
        #expect(requests(parse(Self.chunkedHead + "0\r\n\r\n")).first?.1 == [])
    }

    @Test(arguments: [
        "zz\r\nab\r\n0\r\n\r\n",  // not hex
        "\r\nab\r\n0\r\n\r\n",  // empty size
        "-2\r\nab\r\n0\r\n\r\n",  // signed
        "2\nab\r\n0\r\n\r\n",  // bare LF after size
        "2\r\nabX\r\n0\r\n\r\n",  // data longer than size
        "2\r\nab\n0\r\n\r\n",  // bare LF after data
        "2 x\r\nab\r\n0\r\n\r\n",  // junk after size
        "2;a\u{1}b\r\nab\r\n0\r\n\r\n",  // control char in extension
        "0\r\nBad Trailer\r\n\r\n",  // malformed trailer
        "0\r\nT: v\n\r\n",  // bare LF in trailers
        "0\r\n folded: v\r\n\r\n",  // obs-fold in trailers
    ])
    func invalidChunkFraming(_ body: String) {
        #expect(failureStatus(parse(Self.chunkedHead + body)) == 400)
    }

    @Test func chunkSizeLineBounded() {
        let long = Self.chunkedHead + "1;" + String(repeating: "e", count: 5000)
        #expect(failureStatus(parse(long)) == 400)
    }

    @Test func trailersBounded() {
        var limits = HTTPParserLimits()
        limits.maxHeaderBytes = 64
        let long = Self.chunkedHead + "0\r\nT: " + String(repeating: "v", count: 200)
        #expect(failureStatus(parse(long, limits: limits)) == 431)
    }

    @Test func chunkedSplitAtEveryOffset() {
        let text = Self.chunkedHead + "3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n"
        let bytes = Array(text.utf8)
        for offset in 0...bytes.count {
            for second in stride(from: offset, through: bytes.count, by: 7) {
                let all = requests(parseBytes(bytes, split: [offset, second]))
                #expect(all.first?.1 == Array("abc0123456789abcdef".utf8), "split at \(offset), \(second)")
            }
        }
    }

    @Test func parserRefusesAfterFailure() {
        var parser = HTTPRequestParser(limits: HTTPParserLimits())
        var buffer = Array("GET / HTTP/1.1\nHost: x\r\n\r\n".utf8)
        guard case .failure = parser.next(&buffer) else {
            Issue.record("expected failure")
            return
        }
        buffer = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        guard case .failure = parser.next(&buffer) else {
            Issue.record("parser accepted input after a failure")
            return
        }
    }
}
