import Foundation  // NFC normalisation (`precomposedStringWithCanonicalMapping`)
import TesseraPlatform

/// scrypt cost parameters and output sizes.
///
/// Every value is bounded (see the `…Range` and `maximum…` constants) so neither configuration nor a
/// hostile stored hash can ask for more than `maximumMemoryBytes` of memory or `maximumWork` block
/// mixes per hash.
public struct ScryptParameters: Sendable, Hashable, CustomStringConvertible {
    /// log2 of the CPU/memory cost N.
    public let logN: Int
    /// Block size.
    public let r: Int
    /// Parallelism.
    public let p: Int
    /// Derived key (stored hash) length in bytes.
    public let keyLength: Int
    /// Random salt length in bytes.
    public let saltLength: Int

    public static let logNRange = 10...22
    public static let rRange = 1...32
    public static let pRange = 1...16
    public static let keyLengthRange = 16...64
    public static let saltLengthRange = 8...64
    /// Memory ceiling for one hash: 512 MiB (OWASP parameters need 128 MiB).
    public static let maximumMemoryBytes = 512 << 20
    /// Ceiling for N·r·p: 16 times the OWASP parameters' work.
    public static let maximumWork = 1 << 24

    /// OWASP's recommendation: N = 2^17, r = 8, p = 1, 32-byte hash, 16-byte salt (128 MiB per hash).
    public static let owasp = try! ScryptParameters(logN: 17, r: 8, p: 1)

    /// - Throws: `CryptoError` `.invalidParameters` when a value is outside its range or the combination
    ///   exceeds `maximumMemoryBytes` / `maximumWork`.
    public init(logN: Int, r: Int, p: Int, keyLength: Int = 32, saltLength: Int = 16) throws(CryptoError) {
        guard Self.logNRange.contains(logN), Self.rRange.contains(r), Self.pRange.contains(p),
            Self.keyLengthRange.contains(keyLength), Self.saltLengthRange.contains(saltLength)
        else {
            throw CryptoError(
                code: .invalidParameters,
                message: "scrypt parameters out of range (ln \(Self.logNRange), r \(Self.rRange), p \(Self.pRange), "
                    + "key \(Self.keyLengthRange) bytes, salt \(Self.saltLengthRange) bytes)")
        }
        let n = 1 << logN
        guard 128 * r * n <= Self.maximumMemoryBytes, n * r * p <= Self.maximumWork else {
            throw CryptoError(code: .invalidParameters, message: "scrypt parameters exceed the memory or work ceiling")
        }
        self.logN = logN
        self.r = r
        self.p = p
        self.keyLength = keyLength
        self.saltLength = saltLength
    }

    public var description: String { "ln=\(logN),r=\(r),p=\(p)" }
}

/// The outcome of checking a password against a stored hash.
public enum PasswordVerification: Sendable, Hashable {
    /// The password matches. `needsRehash` is true when the stored hash used other parameters (or sizes)
    /// than the hasher's current ones: hash the password again and store the new string.
    case valid(needsRehash: Bool)
    case invalid
}

/// Hashes and verifies user passwords with scrypt, stored as PHC strings:
/// `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (standard base64 alphabet, no `=` padding).
///
/// Passwords are hashed as the UTF-8 bytes of their NFC-normalised form, so "é" typed as one code point
/// or as "e" + combining accent verifies the same. Empty passwords and passwords longer than
/// `maximumPasswordBytes` (after normalisation) are rejected with a specific error.
///
/// Hashing runs on a dedicated `BlockingPool` whose thread count bounds how many hashes (and how much
/// scrypt memory) are in flight; further callers wait their turn without blocking the cooperative pool.
/// Each hasher owns its pool: create one per process and share it (copies share the same pool).
public struct PasswordHasher: Sendable {
    public static let maximumPasswordBytes = 1024
    /// PHC strings longer than this are rejected before parsing.
    static let maximumEncodedLength = 256

    public let parameters: ScryptParameters
    private let pool: BlockingPool

    /// - Parameters:
    ///   - parameters: used for new hashes; stored hashes with other parameters verify with `needsRehash`.
    ///   - maxConcurrentHashes: threads in the hashing pool, hence the bound on concurrent hashes.
    public init(parameters: ScryptParameters = .owasp, maxConcurrentHashes: Int = 2) {
        precondition(maxConcurrentHashes > 0, "PasswordHasher needs at least one hashing thread")
        self.parameters = parameters
        self.pool = BlockingPool(name: "scrypt", threads: maxConcurrentHashes)
    }

    /// Hashes `password` with a fresh random salt and returns the PHC string to store.
    public func hash(_ password: String) async throws -> String {
        let passwordBytes = try Self.normalisedBytes(password)
        let parameters = self.parameters
        let salt = SecureRandom.bytes(parameters.saltLength)
        let key = try await pool.run { () throws(CryptoError) -> [UInt8] in
            try Self.derive(passwordBytes, salt: salt, parameters: parameters)
        }
        return PHCString(parameters: parameters, salt: salt, hash: key).encoded
    }

    /// Checks `password` against a stored PHC string, comparing in constant time.
    /// - Throws: `.malformedPasswordHash` when `phc` is not an in-bounds scrypt PHC string;
    ///   `.emptyPassword` / `.passwordTooLong` for unacceptable passwords.
    public func verify(_ password: String, against phc: String) async throws -> PasswordVerification {
        let stored = try PHCString(parsing: phc)
        let passwordBytes = try Self.normalisedBytes(password)
        let key = try await pool.run { () throws(CryptoError) -> [UInt8] in
            try Self.derive(passwordBytes, salt: stored.salt, parameters: stored.parameters)
        }
        guard ConstantTime.equals(key, stored.hash) else { return .invalid }
        return .valid(needsRehash: stored.parameters != parameters)
    }

    static func normalisedBytes(_ password: String) throws(CryptoError) -> [UInt8] {
        guard !password.isEmpty else {
            throw CryptoError(code: .emptyPassword, message: "the password is empty")
        }
        // NFC never shrinks text below a quarter of its UTF-8 length; skip normalising absurd inputs.
        guard password.utf8.count <= 4 * maximumPasswordBytes else { throw tooLong() }
        let bytes = Array(password.precomposedStringWithCanonicalMapping.utf8)
        guard bytes.count <= maximumPasswordBytes else { throw tooLong() }
        return bytes
    }

    private static func tooLong() -> CryptoError {
        CryptoError(code: .passwordTooLong, message: "the password is longer than \(maximumPasswordBytes) bytes")
    }

    private static func derive(_ password: [UInt8], salt: [UInt8], parameters: ScryptParameters) throws(CryptoError)
        -> [UInt8]
    {
        try Scrypt.deriveKey(
            password: password, salt: salt, n: UInt64(1) << UInt64(parameters.logN), r: UInt32(parameters.r),
            p: UInt32(parameters.p), keyLength: parameters.keyLength)
    }
}

/// A parsed `$scrypt$ln=…,r=…,p=…$salt$hash` string. Parsing treats the input as hostile: bounded length,
/// exact field layout, canonical decimals, and every value inside `ScryptParameters`' bounds.
struct PHCString: Sendable, Equatable {
    let parameters: ScryptParameters
    let salt: [UInt8]
    let hash: [UInt8]

    init(parameters: ScryptParameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    var encoded: String {
        "$scrypt$\(parameters)$\(Base64Alphabet.standard.encode(salt))$\(Base64Alphabet.standard.encode(hash))"
    }

    init(parsing string: String) throws(CryptoError) {
        func malformed(_ reason: String) -> CryptoError {
            CryptoError(code: .malformedPasswordHash, message: "malformed scrypt hash: \(reason)")
        }
        let bytes = Array(string.utf8)
        guard bytes.count <= PasswordHasher.maximumEncodedLength else { throw malformed("too long") }
        let fields = bytes.split(separator: UInt8(ascii: "$"), omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty else { throw malformed("expected $scrypt$params$salt$hash") }
        guard fields[1].elementsEqual("scrypt".utf8) else { throw malformed("not an scrypt hash") }

        let assignments = fields[2].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard assignments.count == 3 else { throw malformed("expected ln, r and p") }
        func value(_ assignment: ArraySlice<UInt8>, named name: String) throws(CryptoError) -> Int {
            let prefix = Array((name + "=").utf8)
            guard assignment.starts(with: prefix) else { throw malformed("expected \(name)= in that order") }
            let digits = assignment.dropFirst(prefix.count)
            // At most two canonical decimal digits: every accepted value is below 100.
            guard (1...2).contains(digits.count),
                digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                digits.count == 1 || digits.first != UInt8(ascii: "0")
            else { throw malformed("\(name) is not a small decimal number") }
            return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        }
        let logN = try value(assignments[0], named: "ln")
        let r = try value(assignments[1], named: "r")
        let p = try value(assignments[2], named: "p")

        let salt: [UInt8]
        let hash: [UInt8]
        do {
            salt = try Base64Alphabet.standard.decode(String(decoding: fields[3], as: UTF8.self))
            hash = try Base64Alphabet.standard.decode(String(decoding: fields[4], as: UTF8.self))
        } catch {
            throw malformed("salt or hash is not unpadded base64")
        }
        do {
            parameters = try ScryptParameters(logN: logN, r: r, p: p, keyLength: hash.count, saltLength: salt.count)
        } catch {
            throw malformed("parameters or lengths out of bounds: \(error.message)")
        }
        self.salt = salt
        self.hash = hash
    }
}
