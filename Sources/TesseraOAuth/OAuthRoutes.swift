import Foundation
import TesseraCore
import TesseraCrypto
public import TesseraHTTP
import TesseraPlatform

/// The authorization server's HTTP endpoints. Handlers only translate HTTP to the services and back.
public struct OAuthEndpoints: Sendable {
    let tokens: TokenService
    let inspection: TokenInspection
    let keys: SigningKeyRing
    let metadata: [UInt8]

    public init(tokens: TokenService, inspection: TokenInspection, keys: SigningKeyRing, issuer: String) {
        self.tokens = tokens
        self.inspection = inspection
        self.keys = keys
        self.metadata = Self.metadata(issuer: issuer)
    }

    public func register(in router: inout Router) {
        router.add("GET", "/.well-known/oauth-authorization-server", name: "oauth_metadata") { [metadata] _ in
            Self.cacheable(.json(200, metadata))
        }
        router.add("GET", "/.well-known/openid-configuration", name: "openid_configuration") { [metadata] _ in
            Self.cacheable(.json(200, metadata))
        }
        router.add("GET", "/oauth2/jwks", name: "jwks") { [keys] _ in
            do {
                var response = HTTPResponse(status: 200, body: try await keys.jwks())
                response.headers.set("Content-Type", "application/jwk-set+json")
                return Self.cacheable(response)
            } catch {
                return Self.error(.serverError("signing keys are unavailable"))
            }
        }
        // client_credentials with a client and key in memory is answered on the event loop's thread.
        let tokenFastPath: HTTPFastPath = { [tokens] request in
            do throws(OAuthError) {
                let issued = try tokens.tokenWithoutWaiting(
                    try Self.form(request), authorization: request.headers["Authorization"],
                    remoteAddress: request.remoteAddress)
                return issued.map(Self.tokenResponse)
            } catch {
                return Self.error(error)
            }
        }
        router.add("POST", "/oauth2/token", name: "token", fastPath: tokenFastPath) { [tokens] request in
            do throws(OAuthError) {
                return Self.tokenResponse(
                    try await tokens.token(
                        try Self.form(request), authorization: request.headers["Authorization"],
                        remoteAddress: request.remoteAddress))
            } catch {
                return Self.error(error)
            }
        }
        router.add("POST", "/oauth2/introspect", name: "introspect") { [inspection] request in
            do throws(OAuthError) {
                let result = try await inspection.introspect(
                    try Self.form(request), authorization: request.headers["Authorization"])
                var json = JSONWriter()
                json.beginObject()
                json.key("active"); json.bool(result.active)
                for (name, value) in result.members {
                    json.key(name)
                    switch value {
                    case .string(let text): json.string(text)
                    case .int(let number): json.int(number)
                    case .strings(let list):
                        json.beginArray()
                        for item in list { json.string(item) }
                        json.endArray()
                    }
                }
                json.endObject()
                return Self.noStore(.json(200, json.bytes))
            } catch {
                return Self.error(error)
            }
        }
        router.add("POST", "/oauth2/revoke", name: "revoke") { [inspection] request in
            do throws(OAuthError) {
                try await inspection.revoke(try Self.form(request), authorization: request.headers["Authorization"])
                return Self.noStore(HTTPResponse(status: 200))
            } catch {
                return Self.error(error)
            }
        }
    }

    /// RFC 6749 §5.1.
    static func tokenResponse(_ issued: TokenService.Issued) -> HTTPResponse {
        var json = JSONWriter(reservingCapacity: issued.accessToken.utf8.count + 160)
        json.beginObject()
        json.key("access_token"); json.string(issued.accessToken)
        json.key("token_type"); json.string("Bearer")
        json.key("expires_in"); json.int(issued.expiresIn)
        if let refresh = issued.refreshToken {
            json.key("refresh_token"); json.string(refresh)
        }
        if !issued.scope.isEmpty {
            json.key("scope"); json.string(issued.scope.sorted().joined(separator: " "))
        }
        json.endObject()
        return HTTPResponse(status: 200, headers: noStoreJSONHeaders, body: json.bytes)
    }

    /// What `noStore(.json(…))` sets, built once for the token response.
    static let noStoreJSONHeaders = noStore(.json(200, [])).headers

    /// The form body of a POST; OAuth endpoints take `application/x-www-form-urlencoded` only.
    static func form(_ request: HTTPRequest) throws(OAuthError) -> [(name: String, value: String)] {
        if let query = request.query, !query.isEmpty {
            // Credentials in the URL end up in logs (RFC 6749 §3.2).
            throw .invalidRequest("parameters belong in the body, not the query string")
        }
        guard request.hasMediaType("application/x-www-form-urlencoded") else {
            throw .invalidRequest("the body must be application/x-www-form-urlencoded")
        }
        guard let text = String(validating: request.body, as: UTF8.self) else {
            throw .invalidRequest("the body is not UTF-8")
        }
        return FormDecoding.decodeItems(text)
    }

    static func error(_ error: OAuthError) -> HTTPResponse {
        var json = JSONWriter()
        json.beginObject()
        json.key("error"); json.string(error.code)
        json.key("error_description"); json.string(error.message)
        json.endObject()
        var response = noStore(.json(error.status, json.bytes))
        if let challenge = error.challenge { response.headers.set("WWW-Authenticate", challenge) }
        if let retryAfter = error.retryAfter { response.headers.set("Retry-After", String(retryAfter)) }
        return response
    }

    /// Token responses must not be cached (RFC 6749 §5.1).
    static func noStore(_ response: consuming HTTPResponse) -> HTTPResponse {
        var response = response
        response.headers.set("Cache-Control", "no-store")
        response.headers.set("Pragma", "no-cache")
        return response
    }

    static func cacheable(_ response: consuming HTTPResponse) -> HTTPResponse {
        var response = response
        response.headers.set("Cache-Control", "public, max-age=300")
        return response
    }

    /// RFC 8414 §2; the same document answers OpenID Connect discovery.
    static func metadata(issuer: String) -> [UInt8] {
        var json = JSONWriter()
        func strings(_ key: String, _ values: [String]) {
            json.key(key)
            json.beginArray()
            for value in values { json.string(value) }
            json.endArray()
        }
        let authMethods = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
        let algorithms = SigningAlgorithm.allCases.map(\.rawValue)
        json.beginObject()
        json.key("issuer"); json.string(issuer)
        json.key("authorization_endpoint"); json.string(issuer + "/oauth2/authorize")
        json.key("token_endpoint"); json.string(issuer + "/oauth2/token")
        json.key("jwks_uri"); json.string(issuer + "/oauth2/jwks")
        json.key("introspection_endpoint"); json.string(issuer + "/oauth2/introspect")
        json.key("revocation_endpoint"); json.string(issuer + "/oauth2/revoke")
        strings("grant_types_supported", GrantType.allCases.map(\.rawValue))
        strings("response_types_supported", ["code"])
        strings("response_modes_supported", ["query"])
        strings("token_endpoint_auth_methods_supported", authMethods + ["none"])
        strings("token_endpoint_auth_signing_alg_values_supported", algorithms)
        strings("introspection_endpoint_auth_methods_supported", authMethods)
        strings("introspection_endpoint_auth_signing_alg_values_supported", algorithms)
        strings("revocation_endpoint_auth_methods_supported", authMethods + ["none"])
        strings("revocation_endpoint_auth_signing_alg_values_supported", algorithms)
        strings("code_challenge_methods_supported", ["S256"])
        json.key("authorization_response_iss_parameter_supported"); json.bool(false)
        json.endObject()
        return json.bytes
    }
}
