/// The JWS algorithms Tessera signs and verifies with. There is deliberately no HMAC and no `none`:
/// every key is asymmetric, and every key is bound to exactly one of these.
public enum SigningAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// ECDSA on P-256 with SHA-256; signatures are raw R‖S (64 bytes) as RFC 7518 §3.4 requires.
    case es256 = "ES256"
    /// Ed25519 (RFC 8037), JOSE name "EdDSA".
    case edDSA = "EdDSA"
    /// RSASSA-PKCS1-v1_5 with SHA-256, moduli of 2048 bits and more.
    case rs256 = "RS256"

    public var description: String { rawValue }
}
