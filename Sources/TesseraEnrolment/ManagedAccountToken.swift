public import Foundation  // UUID, Date
public import TesseraCrypto
import TesseraPlatform

/// The managed-account token an MDM returns to a device's `GetToken` check-in for the service type
/// `com.apple.maid` (PROTOCOLS.md §1.6): a JWT the Apple Identity Service uses to check that the
/// Managed Apple Account signing in belongs to the organisation whose MDM server enrolled the device.
///
/// Claims: `iss` the server's UUID (as Apple Business Manager's AccountDetail gives it), `iat`, `jti` a
/// new random UUID each time (Apple accepts each token once), `service_type` `com.apple.maid`; signed
/// RS256 with the private key of the server's certificate registered with Apple.
public struct ManagedAccountTokenService: Sendable {
    public static let serviceType = "com.apple.maid"

    let serverUUID: String
    let key: SigningKey
    let now: @Sendable () -> Date

    /// - Throws: `.invalidKey` unless `key` is an RS256 key.
    public init(serverUUID: String, key: SigningKey, now: @escaping @Sendable () -> Date = { Date() })
        throws(CryptoError)
    {
        guard key.algorithm == .rs256 else {
            throw CryptoError(
                code: .invalidKey, message: "the managed-account token is signed RS256: an RSA key is needed")
        }
        self.serverUUID = serverUUID
        self.key = key
        self.now = now
    }

    /// A new token.
    public func token() throws(CryptoError) -> String {
        var header = JSONWriter()
        header.beginObject()
        header.key("alg"); header.string("RS256")
        header.key("typ"); header.string("JWT")
        header.endObject()
        var claims = JSONWriter()
        claims.beginObject()
        claims.key("iss"); claims.string(serverUUID)
        claims.key("iat"); claims.int(Int(now().timeIntervalSince1970))
        claims.key("jti"); claims.string(UUID().uuidString)
        claims.key("service_type"); claims.string(Self.serviceType)
        claims.endObject()
        return try JWS.sign(encodedHeader: Base64URL.encode(header.bytes), payload: claims.bytes, key: key)
    }
}
