/// Maps method and path to a handler. Patterns are exact segments or `{param}` segments;
/// each route has a stable name used as the metrics label.
public struct Router: Sendable {
    struct Route: Sendable {
        /// Registration order: the first route that matches wins.
        var order: Int
        var method: String
        var segments: [Segment]
        var name: String
        var handler: HTTPHandler
        var fastPath: HTTPFastPath?
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    enum Match: Sendable {
        case found(Route, parameters: [String: String])
        case methodNotAllowed(allow: [String], name: String)
        case notFound
    }

    /// The route name under which requests to unknown paths are counted.
    public static let unmatchedRouteName = "unmatched"

    private var routeCount = 0
    /// Routes without `{param}` segments, by their path: found without splitting the request path.
    private var literalRoutes: [String: [Route]] = [:]
    /// Routes with `{param}` segments, by their first segment, so a request to a path that no such route
    /// can match (`/oauth2/token`) is not split and bound against them.
    private var parameterRoutes: [String: [Route]] = [:]
    /// Routes with `{param}` segments whose first segment is a parameter: tried on every path.
    private var leadingParameterRoutes: [Route] = []

    public init() {}

    /// Adds a route. `pattern` is a path such as `/accounts/{id}/devices`; `name` labels metrics and logs.
    /// - Parameter fastPath: answers the requests it can without suspending, on the event loop's thread;
    ///   for the others it returns nil and `handler` runs.
    public mutating func add(
        _ method: String, _ pattern: String, name: String, fastPath: HTTPFastPath? = nil,
        _ handler: @escaping HTTPHandler
    ) {
        let segments = Self.split(pattern).map { part -> Segment in
            if part.hasPrefix("{"), part.hasSuffix("}"), part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
        let route = Route(
            order: routeCount, method: method.uppercased(), segments: segments, name: name, handler: handler,
            fastPath: fastPath)
        routeCount += 1
        if !segments.contains(where: { if case .parameter = $0 { true } else { false } }) {
            literalRoutes[
                "/" + segments.map { if case .literal(let text) = $0 { text } else { "" } }.joined(separator: "/"),
                default: []
            ]
            .append(route)
        } else if case .literal(let first) = segments.first {
            parameterRoutes[first, default: []].append(route)
        } else {
            leadingParameterRoutes.append(route)
        }
    }

    /// What the server does with a request: answer `immediate` (404, 405 with `Allow`), or try
    /// `fastPath` and, when it returns nil, run `handler` (with path parameters bound into `request`).
    /// `route` labels metrics and logs.
    public struct Resolution: Sendable {
        public var route: String
        public var request: HTTPRequest
        public var handler: HTTPHandler?
        public var fastPath: HTTPFastPath?
        public var immediate: HTTPResponse?
    }

    public func resolve(_ request: HTTPRequest) -> Resolution {
        var request = request
        switch match(method: request.method, path: request.path) {
        case .found(let route, let parameters):
            request.pathParameters = parameters
            return Resolution(
                route: route.name, request: request, handler: route.handler, fastPath: route.fastPath, immediate: nil)
        case .methodNotAllowed(let allow, let name):
            var response = HTTPResponse.text(405, "Method Not Allowed\n")
            response.headers.set("Allow", allow.joined(separator: ", "))
            return Resolution(route: name, request: request, handler: nil, fastPath: nil, immediate: response)
        case .notFound:
            return Resolution(
                route: Self.unmatchedRouteName, request: request, handler: nil, fastPath: nil,
                immediate: HTTPResponse.text(404, "Not Found\n"))
        }
    }

    /// Answers a request in-process, as the server would (without the connection-level headers).
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        let resolution = resolve(request)
        if let response = resolution.fastPath?(resolution.request) { return response }
        if let handler = resolution.handler { return await handler(resolution.request) }
        return resolution.immediate ?? HTTPResponse.text(404, "Not Found\n")
    }

    /// Resolves a percent-encoded path. HEAD falls back to GET; the server then drops the body.
    func match(method: String, path: String) -> Match {
        let literal = literalRoutes[path] ?? []
        let sameFirstSegment = parameterRoutes.isEmpty ? [] : parameterRoutes[String(Self.firstSegment(path))] ?? []
        if sameFirstSegment.isEmpty && leadingParameterRoutes.isEmpty {
            // No route with parameters can match: the stored list is used as it is.
            return choose(method: method, from: literal, parameters: { _ in [:] })
        }
        let parts = Self.split(path)
        var candidates = literal.map { ($0, [String: String]()) }
        for route in sameFirstSegment + leadingParameterRoutes {
            if let parameters = Self.bind(route.segments, parts) { candidates.append((route, parameters)) }
        }
        candidates.sort { $0.0.order < $1.0.order }
        return choose(method: method, from: candidates)
    }

    /// `devices` of `/devices/1/scopes`; the whole path after the slash when it has no second one.
    private static func firstSegment(_ path: String) -> Substring {
        let rest = path.utf8.dropFirst()
        return Substring(rest.prefix { $0 != UInt8(ascii: "/") })
    }

    private func choose(method: String, from candidates: [(Route, [String: String])]) -> Match {
        choose(method: method, from: candidates.map(\.0), parameters: { candidates[$0].1 })
    }

    /// The first route for the method wins; HEAD falls back to GET; otherwise 405 with what is allowed.
    private func choose(method: String, from candidates: [Route], parameters: (Int) -> [String: String]) -> Match {
        var allowed: [String] = []
        var getCandidate: Int?
        for (index, route) in candidates.enumerated() {
            if route.method == method { return .found(route, parameters: parameters(index)) }
            if method == "HEAD", route.method == "GET", getCandidate == nil { getCandidate = index }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        if let getCandidate { return .found(candidates[getCandidate], parameters: parameters(getCandidate)) }
        guard let first = candidates.first else { return .notFound }
        if allowed.contains("GET"), !allowed.contains("HEAD") { allowed.append("HEAD") }
        return .methodNotAllowed(allow: allowed, name: first.name)
    }

    private static func split(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { $0 }
    }

    private static func bind(_ segments: [Segment], _ parts: [Substring]) -> [String: String]? {
        guard segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal):
                guard literal == part else { return nil }
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                parameters[name] = FormDecoding.decode(part, plusAsSpace: false)
            }
        }
        return parameters
    }
}
