import TesseraCore
public import TesseraHTTP
import TesseraPlatform
import TesseraStore

/// `POST /enrolment/managed-account-token`: an MDM server (a client_credentials access token with the
/// scope `maid`) obtains the `com.apple.maid` token for a device's `GetToken` check-in.
public struct ManagedAccountTokenEndpoint: Sendable {
    let service: ManagedAccountTokenService
    /// The client a bearer token with the scope `maid` was issued to, or nil; throws
    /// `CoreError.unavailable` when the store cannot tell.
    let caller: @Sendable (_ authorization: String?) async throws -> String?

    public static let path = "/enrolment/managed-account-token"
    public static let scope = "maid"

    public init(
        service: ManagedAccountTokenService,
        caller: @escaping @Sendable (_ authorization: String?) async throws -> String?
    ) {
        self.service = service
        self.caller = caller
    }

    public func register(in router: inout Router) {
        router.add("POST", Self.path, name: "managed_account_token") { [service, caller] request in
            let client: String?
            do {
                client = try await caller(request.headers["Authorization"])
            } catch {
                return EnrolmentEndpoints.unavailable()
            }
            guard client != nil else {
                var response = HTTPResponse.json(
                    401,
                    EnrolmentEndpoints.error("invalid_token", "a bearer access token with the scope maid is needed"))
                response.headers.set("WWW-Authenticate", #"Bearer error="invalid_token", scope="maid""#)
                return EnrolmentEndpoints.noStore(response)
            }
            do {
                var json = JSONWriter()
                json.beginObject()
                json.key("service_type"); json.string(ManagedAccountTokenService.serviceType)
                json.key("token"); json.string(try service.token())
                json.endObject()
                return EnrolmentEndpoints.noStore(.json(200, json.bytes))
            } catch {
                return EnrolmentEndpoints.noStore(
                    .json(500, EnrolmentEndpoints.error("server_error", "the token cannot be signed")))
            }
        }
    }
}

/// The enrolment HTTP endpoints. Handlers only translate HTTP to the services and back.
public struct EnrolmentEndpoints: Sendable {
    let discovery: DiscoveryService
    let enrolment: EnrolmentService
    /// The path of `enrolment.base_url` (empty for the root).
    let basePath: String
    /// The `apple-as-web` sign-in, when that is the challenge.
    let webLogin: WebLogin?
    /// Automated Device Enrolment's token-less URL, when trust anchors are configured.
    let automated: AutomatedEnrolmentService?

    /// Where `WebLogin` is served, under the issuer.
    public static let loginPath = "/enrolment/login"
    public static let completionPath = "/enrolment/login/complete"
    static let stateCookie = "tessera_enrolment_state"

    public init(
        discovery: DiscoveryService, enrolment: EnrolmentService, basePath: String, webLogin: WebLogin?,
        automated: AutomatedEnrolmentService?
    ) {
        self.discovery = discovery
        self.enrolment = enrolment
        self.basePath = basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath
        self.webLogin = webLogin
        self.automated = automated
    }

    /// The last path component of the ADE URL, under `enrolment.base_url`.
    public static let automatedPathComponent = "ade"
    /// ADE's `configuration_web_url` and where its sign-in comes back, under `enrolment.base_url`.
    public static let automatedWebPath = "ade/web"
    public static let automatedWebCompletionPath = "ade/complete"
    static let automatedStateCookie = "tessera_ade_state"

    public func register(in router: inout Router) {
        if let automated {
            router.add("POST", basePath + "/" + Self.automatedPathComponent, name: "enrolment_ade") { request in
                let outcome: AutomatedEnrolmentService.Outcome
                do {
                    outcome = try await automated.enrol(machineInfo: request.body)
                } catch {
                    return Self.noStore(.json(500, Self.error("server_error", "the enrolment profile cannot be made")))
                }
                switch outcome {
                case .profile(let profile):
                    return Self.profile(profile)
                case .softwareUpdateRequired(let minimum):
                    return Self.noStore(Self.softwareUpdateRequired(minimum))
                case .refused(let status, let message):
                    return Self.noStore(.json(status, Self.error("invalid_request", message)))
                }
            }
            let cookiePath = basePath + "/" + Self.automatedPathComponent
            router.add("GET", basePath + "/" + Self.automatedWebPath, name: "enrolment_ade_web") { request in
                let start: AutomatedEnrolmentService.WebStart
                do {
                    start = try await automated.startWeb(deviceInformation: request.headers["x-apple-aspen-deviceinfo"])
                } catch {
                    return Self.noStore(Self.page(500, "The enrolment cannot start now. Try again later."))
                }
                switch start {
                case .signIn(let state, let location):
                    var response = HTTPResponse(status: 302)
                    response.headers.set("Location", location)
                    response.headers.add(
                        "Set-Cookie",
                        HTTPCookies.setCookie(Self.automatedStateCookie, state, path: cookiePath, maxAge: 900))
                    return Self.noStore(response)
                case .softwareUpdateRequired(let minimum):
                    return Self.noStore(Self.softwareUpdateRequired(minimum))
                case .refused(let status, let message):
                    return Self.noStore(Self.page(status, message))
                }
            }
            router.add("GET", basePath + "/" + Self.automatedWebCompletionPath, name: "enrolment_ade_web") { request in
                func item(_ name: String) -> String? { request.queryItems.first { $0.name == name }?.value }
                var response: HTTPResponse
                do {
                    switch try await automated.completeWeb(
                        code: item("code"), state: item("state"), error: item("error"),
                        expectedState: HTTPCookies.value(Self.automatedStateCookie, in: request.headers),
                        remoteAddress: request.remoteAddress)
                    {
                    case .profile(let profile):
                        response = Self.profile(profile)
                    case .failed(let message):
                        response = Self.page(400, message)
                    }
                } catch let error as CoreError where error.kind == .unavailable {
                    response = Self.page(503, "The enrolment cannot be completed now. Try again later.")
                } catch {
                    response = Self.page(500, "The enrolment profile cannot be made now. Try again later.")
                }
                response.headers.add(
                    "Set-Cookie", HTTPCookies.setCookie(Self.automatedStateCookie, "", path: cookiePath, maxAge: 0))
                return Self.noStore(response)
            }
        }
        if let webLogin {
            router.add("GET", Self.loginPath, name: "enrolment_login") { request in
                let identifier = request.queryItems.first { $0.name == "user-identifier" }?.value
                let (state, location) = webLogin.start(userIdentifier: identifier)
                var response = HTTPResponse(status: 302)
                response.headers.set("Location", location)
                response.headers.add(
                    "Set-Cookie", HTTPCookies.setCookie(Self.stateCookie, state, path: Self.loginPath, maxAge: 900))
                return Self.noStore(response)
            }
            router.add("GET", Self.completionPath, name: "enrolment_login") { request in
                func item(_ name: String) -> String? { request.queryItems.first { $0.name == name }?.value }
                let completion = await webLogin.complete(
                    code: item("code"), state: item("state"), error: item("error"),
                    expectedState: HTTPCookies.value(Self.stateCookie, in: request.headers),
                    remoteAddress: request.remoteAddress)
                var response: HTTPResponse
                switch completion {
                case .enrolled(let location):
                    response = HTTPResponse(status: 308)
                    response.headers.set("Location", location)
                case .failed(let message):
                    response = Self.page(400, message)
                }
                // The state is spent either way.
                response.headers.add(
                    "Set-Cookie", HTTPCookies.setCookie(Self.stateCookie, "", path: Self.loginPath, maxAge: 0))
                return Self.noStore(response)
            }
        }
        for kind in AccountDrivenEnrolment.allCases {
            router.add("POST", basePath + "/" + kind.urlPathComponent, name: "enrolment") { [enrolment] request in
                let outcome: EnrolmentService.Outcome
                do {
                    outcome = try await enrolment.enrol(
                        kind, body: request.body, authorization: request.headers["Authorization"])
                } catch let error as CoreError where error.kind == .unavailable {
                    return Self.unavailable()
                } catch let error as StoreError where error.kind == .unavailable {
                    return Self.unavailable()
                } catch {
                    return Self.noStore(.json(500, Self.error("server_error", "the enrolment profile cannot be made")))
                }
                switch outcome {
                case .profile(let profile):
                    return Self.profile(profile)
                case .signIn(let challenge):
                    var response = HTTPResponse.json(
                        401, Self.error("invalid_token", "sign in to enrol this device"))
                    response.headers.set("WWW-Authenticate", challenge)
                    return Self.noStore(response)
                case .badRequest(let message):
                    return Self.noStore(.json(400, Self.error("invalid_request", message)))
                case .notOffered(let message):
                    return Self.noStore(.json(403, Self.error("access_denied", message)))
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

    /// `200 application/x-apple-aspen-config`: a signed enrolment profile, never cached.
    static func profile(_ profile: [UInt8]) -> HTTPResponse {
        var response = HTTPResponse(status: 200, body: profile)
        response.headers.set("Content-Type", "application/x-apple-aspen-config")
        return noStore(response)
    }

    /// `403 com.apple.softwareupdate.required` (PROTOCOLS.md §2.2), `details.OSVersion` the minimum.
    static func softwareUpdateRequired(_ minimum: AutomatedEnrolmentService.MinimumOS) -> HTTPResponse {
        var json = JSONWriter()
        json.beginObject()
        json.key("code"); json.string("com.apple.softwareupdate.required")
        json.key("description");
        json.string("\(minimum.family.rawValue) enrolment needs OS \(minimum.version) or later")
        json.key("message"); json.string("This device needs a software update before it can enrol.")
        json.key("details")
        json.beginObject()
        json.key("OSVersion"); json.string(minimum.version)
        json.endObject()
        json.endObject()
        return .json(403, json.bytes)
    }

    /// A plain page for the person in the device's web session.
    static func page(_ status: Int, _ message: String) -> HTTPResponse {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>Enrolment · Tessera</title></head>
            <body><main><h1>Enrolment</h1><p>\(MarkupText.escaped(message))</p></main></body></html>

            """
        var response = HTTPResponse(status: status, body: Array(html.utf8))
        response.headers.set("Content-Type", "text/html; charset=utf-8")
        response.headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
        response.headers.set("X-Content-Type-Options", "nosniff")
        return response
    }

    static func error(_ code: String, _ description: String) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("error"); json.string(code)
        json.key("error_description"); json.string(description)
        json.endObject()
        return json.bytes
    }

    /// `503` with `Retry-After`: the store cannot answer now. Never a `401`, which would send a device to
    /// sign in again for a passing fault.
    static func unavailable() -> HTTPResponse {
        var response = HTTPResponse.json(
            503, error("temporarily_unavailable", "the enrolment service cannot answer now: try again"))
        response.headers.set("Retry-After", "5")
        return noStore(response)
    }

    /// The answers depend on who asks: never cached by a proxy.
    static func noStore(_ response: consuming HTTPResponse) -> HTTPResponse {
        var response = response
        response.headers.set("Cache-Control", "no-store")
        return response
    }
}
