import TesseraCore
public import TesseraHTTP
import TesseraPlatform

/// The enrolment HTTP endpoints. Handlers only translate HTTP to the services and back.
public struct EnrolmentEndpoints: Sendable {
    let discovery: DiscoveryService
    let enrolment: EnrolmentService
    /// The path of `enrolment.base_url` (empty for the root).
    let basePath: String

    public init(discovery: DiscoveryService, enrolment: EnrolmentService, basePath: String) {
        self.discovery = discovery
        self.enrolment = enrolment
        self.basePath = basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath
    }

    public func register(in router: inout Router) {
        for kind in AccountDrivenEnrolment.allCases {
            router.add("POST", basePath + "/" + kind.urlPathComponent, name: "enrolment") { [enrolment] request in
                let outcome: EnrolmentService.Outcome
                do {
                    outcome = try await enrolment.enrol(
                        kind, body: request.body, authorization: request.headers["Authorization"])
                } catch {
                    return Self.noStore(.json(500, Self.error("server_error", "the enrolment profile cannot be made")))
                }
                switch outcome {
                case .profile(let profile):
                    var response = HTTPResponse(status: 200, body: profile)
                    response.headers.set("Content-Type", "application/x-apple-aspen-config")
                    return Self.noStore(response)
                case .signIn(let challenge):
                    var response = HTTPResponse.json(
                        401, Self.error("invalid_token", "sign in to enrol this device"))
                    response.headers.set("WWW-Authenticate", challenge)
                    return Self.noStore(response)
                case .badRequest(let message):
                    return Self.noStore(.json(400, Self.error("invalid_request", message)))
                }
            }
        }
        router.add("GET", "/.well-known/com.apple.remotemanagement", name: "enrolment_discovery") {
            [discovery] request in
            let identifiers = request.queryItems.filter { $0.name == "user-identifier" }
            let families = request.queryItems.filter { $0.name == "model-family" }
            guard identifiers.count == 1, families.count <= 1 else {
                return Self.wellKnownFailed(
                    400, "the request needs one user-identifier parameter and at most one model-family")
            }
            let answer: DiscoveryService.Answer
            do {
                answer = try await discovery.discover(
                    identifier: identifiers[0].value, modelFamily: families.first?.value)
            } catch {
                var response = Self.wellKnownFailed(503, "enrolment discovery is unavailable; try again later")
                response.headers.set("Retry-After", "5")
                return response
            }
            switch answer {
            case .enrol(let enrolment, let baseURL):
                var json = JSONWriter()
                json.beginObject()
                json.key("Servers")
                json.beginArray()
                json.beginObject()
                json.key("Version"); json.string(enrolment.rawValue)
                json.key("BaseURL"); json.string(baseURL)
                json.endObject()
                json.endArray()
                json.endObject()
                return Self.noStore(.json(200, json.bytes))
            case .refused(let reason):
                return Self.wellKnownFailed(403, reason)
            }
        }
    }

    /// The refusal devices understand (iOS 17.5+, macOS 14.5+): `com.apple.well-known.failed`, with a
    /// description for logs and a message for the person.
    static func wellKnownFailed(_ status: Int, _ description: String) -> HTTPResponse {
        var json = JSONWriter()
        json.beginObject()
        json.key("code"); json.string("com.apple.well-known.failed")
        json.key("description"); json.string(description)
        json.key("message"); json.string("This account cannot be enrolled with this organisation's device management.")
        json.endObject()
        return noStore(.json(status, json.bytes))
    }

    static func error(_ code: String, _ description: String) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("error"); json.string(code)
        json.key("error_description"); json.string(description)
        json.endObject()
        return json.bytes
    }

    /// The answers depend on who asks: never cached by a proxy.
    static func noStore(_ response: consuming HTTPResponse) -> HTTPResponse {
        var response = response
        response.headers.set("Cache-Control", "no-store")
        return response
    }
}
