import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

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

        mutating func record(_ seconds: Double) {
            for (index, bound) in HTTPMetrics.latencyBuckets.enumerated() where seconds <= bound {
                counts[index] += 1
            }
            sum += seconds
            count += 1
        }

        mutating func add(_ other: Histogram) {
            for index in counts.indices { counts[index] += other.counts[index] }
            sum += other.sum
            count += other.count
        }
    }

    /// One route's counters: recording a request hashes the route name once.
    private struct RouteStats {
        var requestsByStatus: [Int: UInt64] = [:]
        var latency = Histogram()

        mutating func record(status: Int, seconds: Double) {
            requestsByStatus[status, default: 0] += 1
            latency.record(seconds)
        }

        mutating func add(_ other: RouteStats) {
            for (status, count) in other.requestsByStatus { requestsByStatus[status, default: 0] += count }
            latency.add(other.latency)
        }
    }

    private struct State {
        var routes: [String: RouteStats] = [:]

        var requests: [RequestKey: UInt64] {
            var requests: [RequestKey: UInt64] = [:]
            for (route, stats) in routes {
                for (status, count) in stats.requestsByStatus {
                    requests[RequestKey(route: route, status: status)] = count
                }
            }
            return requests
        }
    }

    /// Counters are kept per shard, picked by thread, so event-loop threads recording requests never
    /// contend on one lock; `render` adds the shards up.
    private final class Shard: Sendable {
        let state = Mutex(State())
    }

    private let shards: [Shard] = (0..<16).map { _ in Shard() }
    private let open = Atomic<Int>(0)

    public init() {}

    private var currentShard: Shard {
        // Thread handles are aligned addresses: mix them (Fibonacci hashing) rather than use their low bits.
        shards[Int(truncatingIfNeeded: (UInt64(pthread_self()) &* 0x9E37_79B9_7F4A_7C15) >> 60) % shards.count]
    }

    /// Records one answered request.
    public func recordRequest(route: String, status: Int, duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        currentShard.state.withLock { state in
            state.routes[route, default: RouteStats()].record(status: status, seconds: seconds)
        }
    }

    public func connectionOpened() { open.wrappingAdd(1, ordering: .relaxed) }
    public func connectionClosed() { open.wrappingSubtract(1, ordering: .relaxed) }

    public var openConnections: Int { open.load(ordering: .relaxed) }

    /// The number of requests counted for `route` and `status`.
    public func requestCount(route: String, status: Int) -> UInt64 {
        shards.reduce(0) { total, shard in
            total + shard.state.withLock { $0.routes[route]?.requestsByStatus[status] ?? 0 }
        }
    }

    private func merged() -> State {
        var total = State()
        for shard in shards {
            let part = shard.state.withLock { $0 }
            for (route, stats) in part.routes { total.routes[route, default: RouteStats()].add(stats) }
        }
        return total
    }

    /// Prometheus text format 0.0.4 (`Content-Type: text/plain; version=0.0.4`).
    public func render() -> String {
        let snapshot = merged()
        let openConnections = self.openConnections
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
        for (route, histogram) in snapshot.routes.mapValues(\.latency).sorted(by: { $0.key < $1.key }) {
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
        out += "tessera_http_open_connections \(openConnections)\n"
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
