/// What the account rules need from a password hasher; TesseraCrypto's scrypt hasher provides it.
public protocol PasswordHashing: Sendable {
    /// A PHC string for `password`.
    func hashPassword(_ password: String) async throws -> String
    func verifyPassword(_ password: String, against hash: String) async throws -> PasswordCheck
}

public enum PasswordCheck: Sendable, Equatable {
    /// The password matches; `needsRehash` when the stored hash uses outdated parameters.
    case valid(needsRehash: Bool)
    case invalid
}
