import CTesseraShims
import Foundation
import Synchronization
import Testing

@testable import TesseraPlatform

/// Collects lines written to a closure sink.
final class LineCollector: Sendable {
    private let lines = Mutex<[[UInt8]]>([])
    var sink: LogSink { LogSink { line in self.lines.withLock { $0.append(line) } } }
    var all: [[UInt8]] { lines.withLock { $0 } }
}

func parse(_ line: [UInt8]) throws -> [String: Any] {
    #expect(line.last == UInt8(ascii: "\n"))
    #expect(line.dropLast().contains(UInt8(ascii: "\n")) == false)
    let object = try JSONSerialization.jsonObject(with: Data(line))
    return try #require(object as? [String: Any])
}

@Suite struct LoggerTests {
    @Test func recordShapeAndFieldTypes() throws {
        let collector = LineCollector()
        let logger = Logger(minimumLevel: .debug, metadata: ["component": "oauth"], sink: collector.sink)
        logger.info("token issued", ["client": .string("mdm"), "count": 3, "ratio": 0.5, "ok": true, "msg": "shadow"])
        let lines = collector.all
        #expect(lines.count == 1)
        let text = String(decoding: lines[0], as: UTF8.self)
        #expect(text.hasPrefix("{\"ts\":\""))
        let ts = try #require(text.split(separator: "\"").dropFirst(3).first)
        #expect(ts.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
        let record = try parse(lines[0])
        #expect(record["level"] as? String == "info")
        #expect(record["msg"] as? String == "token issued")
        #expect(record["_msg"] as? String == "shadow")
        #expect(record["component"] as? String == "oauth")
        #expect(record["client"] as? String == "mdm")
        #expect(record["count"] as? Int == 3)
        #expect(record["ratio"] as? Double == 0.5)
        #expect(record["ok"] as? Bool == true)
    }

    @Test func minimumLevelFilters() {
        let collector = LineCollector()
        let logger = Logger(minimumLevel: .notice, sink: collector.sink)
        logger.debug("no")
        logger.info("no")
        logger.notice("yes")
        logger.warning("yes")
        logger.error("yes")
        #expect(collector.all.count == 3)
        #expect(LogLevel(name: "warning") == .warning)
        #expect(LogLevel.debug < LogLevel.error)
    }

    @Test func escapingRoundTripsThroughJSONSerialization() throws {
        let controls = String(decoding: (0..<0x20).map { UInt8($0) } + [0x7F], as: UTF8.self)
        let tricky = "quote \" backslash \\ slash / \(controls) é 日本 🦊 \u{2028}\u{2029} \u{FFFF} end"
        let collector = LineCollector()
        let logger = Logger(sink: collector.sink)
        logger.error(tricky, [tricky: .string(tricky), "nan": .double(.nan), "big": .double(1e300), "neg": -42])
        let line = try #require(collector.all.first)
        let text = try #require(String(validating: line, as: UTF8.self))
        #expect(text.contains("\\u0000") && text.contains("\\u001f") && text.contains("\\u007f"))
        #expect(text.contains("\\u2028") && text.contains("\\u2029"))
        #expect(!line.dropLast().contains { $0 < 0x20 })
        let record = try parse(line)
        #expect(record["msg"] as? String == tricky)
        #expect(record[tricky] as? String == tricky)
        #expect(record["nan"] is NSNull)
        #expect(record["big"] as? Double == 1e300)
        #expect(record["neg"] as? Int == -42)
    }

    @Test func oneLinePerRecordUnderConcurrency() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-log-\(UUID().uuidString)")
            .path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        let logger = Logger(sink: .fileDescriptor(descriptor))
        // Records bigger than PIPE_BUF, from many threads at once.
        let payload = String(repeating: "x", count: 10_000)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<50 {
                        logger.info(payload, ["task": .int(task), "index": .int(index)])
                    }
                }
            }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let lines = data.split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 400)
        var seen = Set<String>()
        for line in lines {
            let record = try parse(Array(line) + [UInt8(ascii: "\n")])
            #expect(record["msg"] as? String == payload)
            seen.insert("\(record["task"] ?? "")/\(record["index"] ?? "")")
        }
        #expect(seen.count == 400)
    }
}

@Suite struct JSONWriterTests {
    @Test func nestedStructure() throws {
        var json = JSONWriter()
        json.beginObject()
        json.key("a")
        json.int(1)
        json.key("list")
        json.beginArray()
        json.string("x")
        json.null()
        json.bool(false)
        json.beginObject()
        json.endObject()
        json.beginArray()
        json.endArray()
        json.double(2.5)
        json.endArray()
        json.key("b")
        json.string("y")
        json.endObject()
        #expect(json.isComplete)
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"a":1,"list":["x",null,false,{},[],2.5],"b":"y"}"#)
        _ = try JSONSerialization.jsonObject(with: Data(json.bytes))
    }

    @Test func topLevelScalar() {
        var json = JSONWriter()
        json.string("a\"b")
        #expect(String(decoding: json.bytes, as: UTF8.self) == #""a\"b""#)
    }

    /// Containers past the 64 tracked in bits spill to the heap and come back in order: every level
    /// gets its commas right on the way down and on the way up.
    @Test func deepNestingKeepsEveryLevelsCommas() throws {
        var json = JSONWriter()
        var expected = ""
        for level in 0..<150 {
            if level % 2 == 0 {
                json.beginObject()
                json.key("a"); json.int(level)
                json.key("n")
                expected += "{\"a\":\(level),\"n\":"
            } else {
                json.beginArray()
                json.int(level)
                expected += "[\(level),"
            }
        }
        json.null()
        expected += "null"
        for level in (0..<150).reversed() {
            if level % 2 == 0 {
                json.key("z"); json.bool(true)
                json.endObject()
                expected += ",\"z\":true}"
            } else {
                json.string("e")
                json.endArray()
                expected += ",\"e\"]"
            }
        }
        #expect(json.isComplete)
        #expect(String(decoding: json.bytes, as: UTF8.self) == expected)
    }

    /// The eight-bytes-at-a-time scan agrees with the byte-by-byte rule for every byte at every position.
    @Test func plainScanMatchesTheByteRule() {
        for byte in UInt8(0)...UInt8(255) {
            for position in 0..<19 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 19)
                bytes[position] = byte
                let expected = byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
                #expect(bytes.withUnsafeBufferPointer { JSONWriter.isPlain($0) } == expected)
            }
        }
    }
}

@Suite struct BlockingPoolTests {
    struct Boom: Error, Equatable {}

    @Test func runsWorkOnPoolThreads() async throws {
        let pool = BlockingPool(name: "test-pool", threads: 2)
        let callerThread = pthread_self()
        let (name, sameThread) = await pool.run { () -> (String, Bool) in
            var buffer = [CChar](repeating: 0, count: 16)
            tessera_get_current_thread_name(&buffer, Int32(buffer.count))
            let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return (name, pthread_equal(pthread_self(), callerThread) != 0)
        }
        #expect(name.hasPrefix("test-pool-"))
        #expect(!sameThread)
        #expect(try await pool.run { () throws -> Int in 41 + 1 } == 42)
    }

    @Test func propagatesErrors() async {
        let pool = BlockingPool(name: "error-pool", threads: 1)
        await #expect(throws: Boom.self) {
            try await pool.run { () throws -> Int in throw Boom() }
        }
        // The pool keeps working after an error.
        #expect(await pool.run { 7 } == 7)
    }

    @Test func threadCountBoundsConcurrency() async throws {
        let pool = BlockingPool(name: "bound-pool", threads: 2)
        let counter = ConcurrencyCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await pool.run { () throws -> Void in
                        counter.enter()
                        usleep(5_000)
                        counter.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counter.peak <= 2)
        #expect(counter.peak >= 1)
    }
}

final class ConcurrencyCounter: Sendable {
    private let state = Mutex((running: 0, peak: 0))
    func enter() {
        state.withLock {
            $0.running += 1; $0.peak = max($0.peak, $0.running)
        }
    }
    func leave() { state.withLock { $0.running -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
}
