import TesseraCore
public import TesseraHTTP
import TesseraPlatform
import TesseraStore

/// The data scopes of enrolled devices over HTTP, for the organisation (an MDM's client_credentials token
/// with the scope `devices`, or an administrator's token with that scope) and for each device's own user
/// (their token with the scope `own-devices`; never the enrolment token, which the MDM holds too):
///
/// - `GET /devices/{id}/scopes/{scope}/items`: the scope's items;
/// - `PUT /devices/{id}/scopes/{scope}/items/{kind}/{name}`: writes one item, the body its value;
/// - `DELETE` on the same path: removes it.
///
/// Who may do what is `DeviceAccess`'s (the organisation never reaches a person's personal scope).
///
/// And the registry itself, for administrators and device enrolment managers (their token with the
/// scope `devices`) and MDM clients (client_credentials, scope `devices`), as `tessera devices` offers it:
/// `GET /devices[?account=<managed id>]`, `GET /devices/{id}`, `GET /devices/{id}/capabilities`,
/// `GET /devices/{id}/capabilities/{action}` (`403` when the capability matrix forbids it) and
/// `POST /devices/{id}/unenrol`.
public struct DeviceEndpoints: Sendable {
    /// Whom a bearer token speaks for: a person's account id (nil for a client acting for itself), the
    /// client it was issued to, and its scopes. Nil for no valid token; throws `CoreError.unavailable`
    /// when the store cannot tell.
    public typealias Bearer = @Sendable (_ authorization: String?) async throws -> (
        accountID: String?, clientID: String, scopes: Set<String>
    )?

    let devices: DeviceService
    let bearer: Bearer

    public init(devices: DeviceService, bearer: @escaping Bearer) {
        self.devices = devices
        self.bearer = bearer
    }

    public func register(in router: inout Router) {
        // The registry, for administrators, device enrolment managers and MDM clients (scope devices).
        router.add("GET", "/devices", name: "devices") { [self] request in
            await administer(request) { actor in
                let account = try request.queryItems.first { $0.name == "account" }.map {
                    try ManagedAccountID($0.value, managedDomains: devices.managedDomains)
                }
                let found = try await devices.devices(of: account, by: actor)
                return Self.json { json in
                    json.beginArray()
                    for device in found { DeviceRepresentation.write(device, to: &json) }
                    json.endArray()
                }
            }
        }
        router.add("GET", "/devices/{id}", name: "device") { [self] request in
            await administer(request) { actor in
                let device = try await devices.device(request.pathParameters["id"] ?? "", by: actor)
                return Self.json { DeviceRepresentation.write(device, to: &$0) }
            }
        }
        router.add("GET", "/devices/{id}/capabilities", name: "device_capabilities") { [self] request in
            await administer(request) { actor in
                let device = try await devices.device(request.pathParameters["id"] ?? "", by: actor)
                return Self.json { DeviceRepresentation.writeCapabilities(of: device, to: &$0) }
            }
        }
        router.add("GET", "/devices/{id}/capabilities/{action}", name: "device_capability") { [self] request in
            await administer(request) { actor in
                let device = try await devices.device(request.pathParameters["id"] ?? "", by: actor)
                let action = try ManagementAction(parsing: request.pathParameters["action"] ?? "")
                if let refusal = CapabilityMatrix.refusal(action, on: device) {
                    throw CoreError(.notPermitted, "capability_matrix", refusal)
                }
                return Self.json { json in
                    json.beginObject()
                    json.key("device"); json.string(device.id)
                    json.key("action"); json.string(action.rawValue)
                    json.key("allowed"); json.bool(true)
                    json.endObject()
                }
            }
        }
        router.add("POST", "/devices/{id}/unenrol", name: "device_unenrol") { [self] request in
            await administer(request) { actor in
                let device = try await devices.unenrol(request.pathParameters["id"] ?? "", by: actor)
                return Self.json { DeviceRepresentation.write(device, to: &$0) }
            }
        }
        router.add("GET", "/devices/{id}/scopes/{scope}/items", name: "device_items") { [self] request in
            await respond(request) { caller, id, scope in
                let items = try await devices.items(of: id, scope: scope, caller: caller)
                var json = JSONWriter()
                json.beginArray()
                for item in items {
                    json.beginObject()
                    json.key("kind"); json.string(item.kind)
                    json.key("name"); json.string(item.name)
                    json.key("value"); json.string(item.value)
                    json.key("updated_at"); json.int(Int(item.updatedAt.timeIntervalSince1970))
                    json.endObject()
                }
                json.endArray()
                return .json(200, json.bytes)
            }
        }
        router.add("PUT", "/devices/{id}/scopes/{scope}/items/{kind}/{name}", name: "device_item") { [self] request in
            await respond(request) { caller, id, scope in
                guard let value = String(validating: request.body, as: UTF8.self) else {
                    throw CoreError(.invalidInput, "device.item_value", "an item's value must be UTF-8 text")
                }
                _ = try await devices.save(
                    value, kind: request.pathParameters["kind"] ?? "", name: request.pathParameters["name"] ?? "",
                    scope: scope, of: id, caller: caller)
                return HTTPResponse(status: 204)
            }
        }
        router.add("PUT", "/devices/{id}/enrollment-id", name: "device_enrollment_id") { [self] request in
            await administer(request) { actor in
                guard let value = String(validating: request.body, as: UTF8.self) else {
                    throw CoreError(.invalidInput, "device.enrolment_id", "the enrolment id must be UTF-8 text")
                }
                _ = try await devices.setEnrollmentID(value, of: request.pathParameters["id"] ?? "", by: actor)
                return HTTPResponse(status: 204)
            }
        }
        router.add("DELETE", "/devices/{id}/scopes/{scope}/items/{kind}/{name}", name: "device_item") {
            [self] request in
            await respond(request) { caller, id, scope in
                let removed = try await devices.delete(
                    kind: request.pathParameters["kind"] ?? "", name: request.pathParameters["name"] ?? "",
                    scope: scope, of: id, caller: caller)
                return removed
                    ? HTTPResponse(status: 204)
                    : .json(404, EnrolmentEndpoints.error("not_found", "no such item"))
            }
        }
    }

    /// The caller and the path's device and scope, then `body`; service errors become statuses.
    private func respond(
        _ request: HTTPRequest, _ body: (DeviceCaller, String, DataScope) async throws -> HTTPResponse
    ) async -> HTTPResponse {
        await authenticated(request) { who in
            guard let scope = DataScope(rawValue: request.pathParameters["scope"] ?? "") else {
                return .json(404, EnrolmentEndpoints.error("not_found", "the scopes are managed and personal"))
            }
            let caller = try await devices.caller(accountID: who.accountID, clientID: who.clientID, scopes: who.scopes)
            return try await body(caller, request.pathParameters["id"] ?? "", scope)
        }
    }

    /// The registry's actor for the bearer token (an administrator, a device enrolment manager or an MDM
    /// client, each with the scope `devices`), then `body`.
    private func administer(_ request: HTTPRequest, _ body: (Actor) async throws -> HTTPResponse) async
        -> HTTPResponse
    {
        await authenticated(request) { who in
            try await body(try await devices.actor(accountID: who.accountID, clientID: who.clientID, scopes: who.scopes))
        }
    }

    /// Whom the bearer token speaks for (`401` without one, `503` when the store cannot tell), then
    /// `body`, never cached; service errors become statuses.
    private func authenticated(
        _ request: HTTPRequest,
        _ body: ((accountID: String?, clientID: String, scopes: Set<String>)) async throws -> HTTPResponse
    ) async -> HTTPResponse {
        let found: (accountID: String?, clientID: String, scopes: Set<String>)?
        do {
            found = try await bearer(request.headers["Authorization"])
        } catch {
            return EnrolmentEndpoints.unavailable()
        }
        guard let who = found else {
            var response = HTTPResponse.json(
                401, EnrolmentEndpoints.error("invalid_token", "a bearer access token is needed"))
            response.headers.set("WWW-Authenticate", #"Bearer error="invalid_token""#)
            return EnrolmentEndpoints.noStore(response)
        }
        do {
            return EnrolmentEndpoints.noStore(try await body(who))
        } catch let error as CoreError where error.kind == .unavailable {
            return EnrolmentEndpoints.unavailable()
        } catch let error as CoreError {
            let status =
                switch error.kind {
                case .invalidInput: 400
                case .notFound: 404
                case .conflict: 409
                case .notPermitted, .unauthenticated: 403
                case .unavailable: 503
                case .internal: 500
                }
            return EnrolmentEndpoints.noStore(.json(status, EnrolmentEndpoints.error(error.code, error.message)))
        } catch let error as StoreError where error.kind == .unavailable {
            return EnrolmentEndpoints.unavailable()
        } catch {
            return EnrolmentEndpoints.noStore(
                .json(500, EnrolmentEndpoints.error("server_error", "the device registry failed")))
        }
    }

    /// One JSON document.
    private static func json(_ write: (inout JSONWriter) -> Void) -> HTTPResponse {
        var json = JSONWriter()
        write(&json)
        return .json(200, json.bytes)
    }
}
