import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Severity of a log record, in increasing order.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case debug, info, notice, warning, error

    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        }
    }

    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = level
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A value attached to a log record.
public enum LogValue: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByStringInterpolation
{
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    func write(to json: inout JSONWriter) {
        switch self {
        case .string(let value): json.string(value)
        case .int(let value): json.int(value)
        case .double(let value): json.double(value)
        case .bool(let value): json.bool(value)
        }
    }
}

/// Where finished log lines go. Each call receives one complete line, newline included.
public struct LogSink: Sendable {
    let write: @Sendable ([UInt8]) -> Void

    /// A sink that hands each line to `write` (tests collect lines this way).
    public init(_ write: @escaping @Sendable (_ line: [UInt8]) -> Void) {
        self.write = write
    }

    /// Standard error, one `write(2)` per line.
    public static let standardError = LogSink.fileDescriptor(2)

    /// Writes each line to `descriptor` with one `write(2)` (looping only if the kernel accepts part of it).
    /// A process-wide lock per sink keeps lines from different threads whole even when a write is partial.
    public static func fileDescriptor(_ descriptor: Int32) -> LogSink {
        let writer = DescriptorWriter(descriptor: descriptor)
        return LogSink { writer.write($0) }
    }
}

private final class DescriptorWriter: Sendable {
    let descriptor: Int32
    let lock = Mutex(())

    init(descriptor: Int32) { self.descriptor = descriptor }

    func write(_ line: [UInt8]) {
        lock.withLock { _ in
            line.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    #if canImport(Glibc)
                        let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    #else
                        let written = Darwin.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    #endif
                    if written < 0 {
                        if errno == EINTR { continue }
                        return  // Nowhere left to report a failing log write; drop the line.
                    }
                    offset += written
                }
            }
        }
    }
}

/// Structured logger: one JSON object per line,
/// `{"ts":"2026-11-29T11:41:37.123Z","level":"info","msg":"…",…fields}`.
///
/// Field order is `ts`, `level`, `msg`, then the logger's metadata and the call's fields sorted by key (a
/// call's field overrides metadata with the same key). A field named `ts`, `level` or `msg` is written as
/// `_ts`, `_level` or `_msg` so it cannot shadow the record's own keys. Never pass secrets as fields.
public struct Logger: Sendable {
    public var minimumLevel: LogLevel
    /// Fields added to every record (for example `["component": "oauth"]`).
    public var metadata: [String: LogValue]
    let sink: LogSink

    public init(minimumLevel: LogLevel = .info, metadata: [String: LogValue] = [:], sink: LogSink = .standardError) {
        self.minimumLevel = minimumLevel
        self.metadata = metadata
        self.sink = sink
    }

    /// A copy of this logger whose records also carry `fields`.
    public func with(_ fields: [String: LogValue]) -> Logger {
        var copy = self
        copy.metadata.merge(fields) { _, new in new }
        return copy
    }

    public func isEnabled(_ level: LogLevel) -> Bool { level >= minimumLevel }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ fields: [String: LogValue] = [:]) {
        guard isEnabled(level) else { return }
        sink.write(Self.format(level: level, message: message(), fields: metadata.merging(fields) { _, new in new }))
    }

    public func debug(_ message: @autoclosure () -> String, _ fields: [String: LogValue] = [:]) {
        log(.debug, message(), fields)
    }

    public func info(_ message: @autoclosure () -> String, _ fields: [String: LogValue] = [:]) {
        log(.info, message(), fields)
    }

    public func notice(_ message: @autoclosure () -> String, _ fields: [String: LogValue] = [:]) {
        log(.notice, message(), fields)
    }

    public func warning(_ message: @autoclosure () -> String, _ fields: [String: LogValue] = [:]) {
        log(.warning, message(), fields)
    }

    public func error(_ message: @autoclosure () -> String, _ fields: [String: LogValue] = [:]) {
        log(.error, message(), fields)
    }

    static func format(
        level: LogLevel, message: String, fields: [String: LogValue], time: timespec = Logger.now()
    ) -> [UInt8] {
        var json = JSONWriter(reservingCapacity: 128 + message.utf8.count)
        json.beginObject()
        json.key("ts")
        json.raw(Self.timestamp(time))
        json.key("level")
        json.string(level.description)
        json.key("msg")
        json.string(message)
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            json.key(key == "ts" || key == "level" || key == "msg" ? "_" + key : key)
            value.write(to: &json)
        }
        json.endObject()
        var line = json.bytes
        line.append(UInt8(ascii: "\n"))
        return line
    }

    static func now() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }

    /// `"YYYY-MM-DDTHH:MM:SS.mmmZ"`, quotes included, formatted without Foundation.
    static func timestamp(_ time: timespec) -> [UInt8] {
        var seconds = time_t(time.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(26)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8((rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        out.append(UInt8(ascii: "."))
        digits(Int(time.tv_nsec) / 1_000_000, 3)
        out.append(UInt8(ascii: "Z"))
        out.append(UInt8(ascii: "\""))
        return out
    }
}
