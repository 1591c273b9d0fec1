import Synchronization

/// Request counters, latency histograms and the open-connection gauge, rendered in the Prometheus
/// text exposition format 0.0.4. Labels are bounded: route names come from the router
/// ("unmatched" for unknown paths, "invalid" for unparseable requests).
public final class HTTPMetrics: Sendable {
    /// Prometheus' default histogram buckets, in seconds.
    public static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct RequestKey: Hashable {
        var route: String
        var status: Int
    }

    private struct Histogram {
        var counts = [UInt64](repeating: 0, count: HTTPMetrics.latencyBuckets.count)
        var sum = 0.0
        var count: UInt64 = 0
    }

    private struct State {
        var requests: [RequestKey: UInt64] = [:]
        var latency: [String: Histogram] = [:]
        var openConnections = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Records one answered request.
    public func recordRequest(route: String, status: Int, duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        state.withLock { state in
            state.requests[RequestKey(route: route, status: status), default: 0] += 1
            var histogram = state.latency[route] ?? Histogram()
            for (index, bound) in Self.latencyBuckets.enumerated() where seconds <= bound {
                histogram.counts[index] += 1
            }
            histogram.sum += seconds
            histogram.count += 1
            state.latency[route] = histogram
        }
    }

    public func connectionOpened() { state.withLock { $0.openConnections += 1 } }
    public func connectionClosed() { state.withLock { $0.openConnections -= 1 } }

    public var openConnections: Int { state.withLock { $0.openConnections } }

    /// The number of requests counted for `route` and `status`.
    public func requestCount(route: String, status: Int) -> UInt64 {
        state.withLock { $0.requests[RequestKey(route: route, status: status)] ?? 0 }
    }

    /// Prometheus text format 0.0.4 (`Content-Type: text/plain; version=0.0.4`).
    public func render() -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        out += "# HELP tessera_http_requests_total HTTP requests answered, by route and status.\n"
        out += "# TYPE tessera_http_requests_total counter\n"
        for (key, value) in snapshot.requests.sorted(by: {
            ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status)
        }) {
            out +=
                "tessera_http_requests_total{route=\"\(Self.escape(key.route))\",status=\"\(key.status)\"} \(value)\n"
        }
        out += "# HELP tessera_http_request_duration_seconds HTTP request latency, by route.\n"
        out += "# TYPE tessera_http_request_duration_seconds histogram\n"
        for (route, histogram) in snapshot.latency.sorted(by: { $0.key < $1.key }) {
            let label = Self.escape(route)
            for (index, bound) in Self.latencyBuckets.enumerated() {
                out +=
                    "tessera_http_request_duration_seconds_bucket{route=\"\(label)\",le=\"\(Self.format(bound))\"} \(histogram.counts[index])\n"
            }
            out += "tessera_http_request_duration_seconds_bucket{route=\"\(label)\",le=\"+Inf\"} \(histogram.count)\n"
            out += "tessera_http_request_duration_seconds_sum{route=\"\(label)\"} \(histogram.sum)\n"
            out += "tessera_http_request_duration_seconds_count{route=\"\(label)\"} \(histogram.count)\n"
        }
        out += "# HELP tessera_http_open_connections Currently open HTTP connections.\n"
        out += "# TYPE tessera_http_open_connections gauge\n"
        out += "tessera_http_open_connections \(snapshot.openConnections)\n"
        return out
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(format1: value) : "\(value)"
    }

    private static func escape(_ label: String) -> String {
        var out = ""
        for character in label {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}

extension String {
    fileprivate init(format1 value: Double) {
        self = "\(Int(value))"
    }
}
