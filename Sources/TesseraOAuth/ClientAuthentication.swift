import Foundation
import TesseraCore
import TesseraCrypto
import TesseraHTTP
import TesseraStore

/// RFC 6749 §2.3 and RFC 7523 §2.2: who the client at the token, introspection or revocation endpoint is.
struct ClientAuthentication: Sendable {
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    let store: any Store
    let registry: ClientRegistry
    /// The `aud` a client assertion must name: the token endpoint URL, or the issuer.
    let audiences: Set<String>
    let now: @Sendable () -> Date

    struct Authenticated: Sendable {
        var client: OAuthClient
        var method: ClientAuthenticationMethod
    }

    /// The credentials a request presents, checked for form (RFC 6749 §2.3: exactly one method).
    enum Presented {
        case secret(clientID: String, secret: String, method: ClientAuthenticationMethod, usedBasic: Bool)
        case assertion(String, clientID: String?)
        case none(clientID: String)
    }

    static func presented(_ parameters: OAuthParameters, authorization: String?) throws(OAuthError) -> Presented {
        let basic = try Self.basicCredentials(authorization)
        let formSecret = parameters["client_secret"]
        let assertion = parameters["client_assertion"]
        let methods = (basic != nil ? 1 : 0) + (formSecret != nil ? 1 : 0) + (assertion != nil ? 1 : 0)
        guard methods <= 1 else {
            throw .invalidRequest("use exactly one client authentication method")
        }
        if let basic {
            if let formID = parameters["client_id"], formID != basic.id {
                throw .invalidRequest("client_id does not match the Authorization header")
            }
            return .secret(clientID: basic.id, secret: basic.secret, method: .clientSecretBasic, usedBasic: true)
        }
        if let formSecret {
            let id = try parameters.required("client_id")
            return .secret(clientID: id, secret: formSecret, method: .clientSecretPost, usedBasic: false)
        }
        if let assertion {
            guard parameters["client_assertion_type"] == Self.assertionType else {
                throw .invalidRequest("client_assertion_type must be \(Self.assertionType)")
            }
            return .assertion(assertion, clientID: parameters["client_id"])
        }
        return .none(clientID: try parameters.required("client_id"))
    }

    /// Authenticates the client of a request; every failure is `invalid_client` (401), except requests
    /// that are malformed (`invalid_request`).
    func authenticate(_ parameters: OAuthParameters, authorization: String?) async throws(OAuthError) -> Authenticated {
        switch try Self.presented(parameters, authorization: authorization) {
        case .secret(let id, let secret, let method, let usedBasic):
            let client = try await lookup(id, usedBasic: usedBasic)
            return try Self.verify(secret, of: client, method: method, usedBasic: usedBasic)
        case .assertion(let assertion, let clientID):
            return try await privateKeyJWT(assertion, clientID: clientID)
        case .none(let id):
            // No credentials: only a public client may do that.
            let client = try await lookup(id, usedBasic: false)
            guard client.type == .public else {
                throw .invalidClient("client authentication is required", usedBasic: false)
            }
            return Authenticated(client: client, method: .none)
        }
    }

    /// `authenticate` from memory alone, for a client secret of a client held in memory; nil when that
    /// is not enough (another method, or the client must be read from the database).
    func authenticateWithoutWaiting(_ parameters: OAuthParameters, authorization: String?) throws(OAuthError)
        -> Authenticated?
    {
        guard
            case .secret(let id, let secret, let method, let usedBasic) = try Self.presented(
                parameters, authorization: authorization)
        else { return nil }
        guard let client = registry.clientWithoutWaiting(id: id).flatMap({ Self.exactly($0, id) }) else { return nil }
        return try Self.verify(secret, of: client, method: method, usedBasic: usedBasic)
    }

    private static func verify(
        _ secret: String, of client: OAuthClient, method: ClientAuthenticationMethod, usedBasic: Bool
    ) throws(OAuthError) -> Authenticated {
        guard let hash = client.secretHash, ClientSecret.matches(secret, hash: hash) else {
            throw .invalidClient("client authentication failed", usedBasic: usedBasic)
        }
        return Authenticated(client: client, method: method)
    }

    /// The client if its id is `id` byte for byte: Swift string equality would match a canonically
    /// equivalent id.
    private static func exactly(_ client: OAuthClient, _ id: String) -> OAuthClient? {
        var stored = client.id
        var presented = id
        let same = stored.withUTF8 { stored in presented.withUTF8 { stored.elementsEqual($0) } }
        return same ? client : nil
    }

    /// RFC 7523 §3: iss = sub = client_id, aud names us, exp in the future, jti never seen before.
    private func privateKeyJWT(_ assertion: String, clientID: String?) async throws(OAuthError) -> Authenticated {
        let failed = OAuthError.invalidClient("client assertion rejected", usedBasic: false)
        guard let unverifiedIssuer = try? JWTClaims.unverifiedIssuer(of: assertion) else { throw failed }
        if let clientID, clientID != unverifiedIssuer {
            throw .invalidRequest("client_id does not match the assertion's issuer")
        }
        let client = try await lookup(unverifiedIssuer, usedBasic: false)
        let keys = client.publicKeys.compactMap { try? VerificationKey(pem: $0) }
        guard client.type == .confidential, !keys.isEmpty else { throw failed }
        let claims: JWTClaims
        do {
            claims = try ClientAssertionVerifier.verify(
                assertion, keys: keys, issuer: client.id, audiences: audiences, now: Int(now().timeIntervalSince1970))
        } catch {
            throw failed
        }
        guard claims.subject == client.id, let jti = claims.jwtID, !jti.isEmpty, let exp = claims.expiresAt else {
            throw failed
        }
        let fresh: Bool
        do {
            fresh = try await store.write {
                try $0.recordClientAssertion(
                    clientID: client.id, jti: jti, expiresAt: ClientAssertionVerifier.replayWindowEnd(expiresAt: exp))
            }
        } catch {
            throw .serverError("cannot record the client assertion")
        }
        guard fresh else { throw OAuthError.invalidClient("client assertion was already used", usedBasic: false) }
        return Authenticated(client: client, method: .privateKeyJWT)
    }

    private func lookup(_ id: String, usedBasic: Bool) async throws(OAuthError) -> OAuthClient {
        let client: OAuthClient?
        do {
            client = try await registry.client(id: id).flatMap { Self.exactly($0, id) }
        } catch {
            throw .serverError("the client registry is unavailable")
        }
        guard let client else { throw .invalidClient("unknown client", usedBasic: usedBasic) }
        return client
    }

    /// Whether an `Authorization` header uses the Basic scheme (case-insensitively, RFC 9110 §11.1).
    static func isBasic(_ header: String?) -> Bool {
        guard var header else { return false }
        return header.withUTF8 { header in
            let scheme: StaticString = "basic "
            guard header.count > scheme.utf8CodeUnitCount else { return false }
            return scheme.withUTF8Buffer { expected in
                expected.indices.allSatisfy { (header[$0] | 0x20) == expected[$0] }  // ASCII case-insensitive
            }
        }
    }

    /// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
    static func basicCredentials(_ header: String?) throws(OAuthError) -> (id: String, secret: String)? {
        guard var header, isBasic(header) else { return nil }
        let decoded = header.withUTF8 { header in
            let spaces = header.dropFirst(6).prefix { $0 == 0x20 }.count
            return try? Base64.decode(UnsafeBufferPointer(rebasing: header[(6 + spaces)...]))
        }
        guard let decoded,
            let colon = decoded.firstIndex(of: UInt8(ascii: ":")),
            let id = String(validating: decoded[..<colon], as: UTF8.self),
            let secret = String(validating: decoded[(colon + 1)...], as: UTF8.self), !id.isEmpty
        else {
            throw .invalidClient("malformed Basic credentials", usedBasic: true)
        }
        return (FormDecoding.decode(id, plusAsSpace: true), FormDecoding.decode(secret, plusAsSpace: true))
    }
}
