import TesseraCore
public import TesseraHTTP
import TesseraPlatform

/// The data scopes of enrolled devices over HTTP, for the organisation (an MDM's client_credentials token
/// with the scope `devices`, or an administrator's token with that scope) and for each device's own user
/// (their token with the scope `own-devices`; never the enrolment token, which the MDM holds too):
///
/// - `GET /devices/{id}/scopes/{scope}/items`: the scope's items;
/// - `PUT /devices/{id}/scopes/{scope}/items/{kind}/{name}`: writes one item, the body its value;
/// - `DELETE` on the same path: removes it.
///
/// Who may do what is `DeviceAccess`'s (the organisation never reaches a person's personal scope).
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
            await respond(request, scopeFromPath: false) { caller, id, _ in
                guard let value = String(validating: request.body, as: UTF8.self) else {
                    throw CoreError(.invalidInput, "device.enrolment_id", "the enrolment id must be UTF-8 text")
                }
                _ = try await devices.setEnrollmentID(value, of: id, caller: caller)
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
        _ request: HTTPRequest, scopeFromPath: Bool = true,
        _ body: (DeviceCaller, String, DataScope) async throws -> HTTPResponse
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
        guard let scope = scopeFromPath ? DataScope(rawValue: request.pathParameters["scope"] ?? "") : .managed else {
            return EnrolmentEndpoints.noStore(
                .json(404, EnrolmentEndpoints.error("not_found", "the scopes are managed and personal")))
        }
        do {
            let caller = try await devices.caller(accountID: who.accountID, clientID: who.clientID, scopes: who.scopes)
            return EnrolmentEndpoints.noStore(try await body(caller, request.pathParameters["id"] ?? "", scope))
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
        } catch {
            return EnrolmentEndpoints.noStore(
                .json(500, EnrolmentEndpoints.error("server_error", "the device registry failed")))
        }
    }
}
