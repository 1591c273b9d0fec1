import TesseraCore
public import TesseraHTTP
import TesseraPlatform

/// The enrolment HTTP endpoints. Handlers only translate HTTP to the services and back.
public struct EnrolmentEndpoints: Sendable {
    let discovery: DiscoveryService

    public init(discovery: DiscoveryService) {
        self.discovery = discovery
    }

    public func register(in router: inout Router) {
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

    /// The answer depends on the identifier: never cached by a proxy.
    static func noStore(_ response: consuming HTTPResponse) -> HTTPResponse {
        var response = response
        response.headers.set("Cache-Control", "no-store")
        return response
    }
}
