public import Foundation
import Synchronization
import TesseraAccounts
public import TesseraCore
public import TesseraCrypto
import TesseraPlatform
public import TesseraStore

/// The token-signing keys: stored sealed under the key-encryption key, rotated by the rules of
/// `KeyRotation`, and held decrypted in memory for signing.
///
/// Every node (and the CLI) applies due rotation steps in a write transaction, so they agree; a node
/// reloads the keys every second, so a rotation or retirement made by the CLI reaches a running server
/// within a second.
public final class SigningKeyRing: Sendable {
    /// The current key, with the access-token header it signs under, encoded once.
    public struct Signer: Sendable {
        public var kid: String
        public var key: SigningKey
        /// The JWS protected header of RFC 9068 access tokens (`typ: at+jwt`), base64url.
        public var accessTokenHeader: String
    }

    struct Snapshot: Sendable {
        var records: [SigningKeyRecord]
        var signer: Signer?
        var verification: [String: VerificationKey]
        var jwks: [UInt8]
        var loadedAt: ContinuousClock.Instant
        /// The earliest moment a rotation step falls due (a next key activates, a retired key leaves).
        var nextChange: Date?
    }

    let store: any Store
    let kek: KeyEncryption
    let algorithm: SigningAlgorithm
    let prepublish: Duration
    /// The longest access-token lifetime a retiring key must outlive when no client says more.
    let defaultTokenLifetime: Duration
    let audit: AuditLog
    let now: @Sendable () -> Date
    /// How old the in-memory keys may get before they are read again.
    let refreshInterval: Duration
    private let snapshot = ReadMostly<Snapshot?>(nil)
    private let refreshing = Atomic(false)

    public init(
        store: any Store, kek: KeyEncryption, algorithm: SigningAlgorithm, prepublish: Duration,
        defaultTokenLifetime: Duration,
        sha256Hex: @escaping @Sendable ([UInt8]) -> String, refreshInterval: Duration = .seconds(1),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.kek = kek
        self.algorithm = algorithm
        self.prepublish = prepublish
        self.defaultTokenLifetime = defaultTokenLifetime
        self.audit = AuditLog(sha256Hex: sha256Hex)
        self.refreshInterval = refreshInterval
        self.now = now
    }

    /// Reads the key-encryption key, creating a random one (mode 0600) when the file does not exist,
    /// so a first start needs no manual step. An existing file is never overwritten.
    public static func loadKeyEncryptionKey(path: String) throws -> (key: KeyEncryption, created: Bool) {
        var created = false
        if !FileManager.default.fileExists(atPath: path) {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor >= 0 {
                let text = Array((Hex.encode(SecureRandom.bytes(KeyEncryption.keyLength)) + "\n").utf8)
                let written = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                close(descriptor)
                guard written == text.count else {
                    unlink(path)
                    throw CoreError(.internal, "keys.kek_write", "cannot write the key-encryption key file \(path)")
                }
                created = true
            } else if errno != EEXIST {
                throw CoreError(
                    .internal, "keys.kek_create",
                    "cannot create the key-encryption key file \(path): \(String(cString: strerror(errno)))")
            }
        }
        do {
            return (try KeyEncryption(kekFile: path), created)
        } catch {
            throw CoreError(.invalidInput, "keys.kek_invalid", error.message)
        }
    }

    // MARK: - Signing and verifying

    /// The key to sign with now, creating the first key when there is none.
    public func signer() async throws -> Signer {
        if let signer = try await current().signer { return signer }
        try await ensureSigningKey()
        guard let signer = try await reload().signer else {
            throw CoreError(.internal, "keys.no_signer", "no signing key is current")
        }
        return signer
    }

    /// The published key with this `kid`, if any.
    public func verificationKey(kid: String) async throws -> VerificationKey? {
        if let key = try await current().verification[kid] { return key }
        // A key rotated in by another node may be newer than this node's copy.
        return try await reload().verification[kid]
    }

    /// The JWKS document (RFC 7517): next, current and retired public keys.
    public func jwks() async throws -> [UInt8] {
        let snapshot = try await current()
        if snapshot.signer != nil { return snapshot.jwks }
        // Never publish an empty set: the first key is made on first use.
        try await ensureSigningKey()
        return try await reload().jwks
    }

    /// Makes sure a key is current: activates the oldest `next` key at once when none is, and creates one
    /// when there is no key at all.
    public func ensureSigningKey() async throws {
        let records = try await store.read { try $0.signingKeys() }
        guard !records.contains(where: { $0.state == .current }) else {
            _ = try await reload()
            return
        }
        let fresh = records.contains { $0.state == .next } ? nil : try makeRecord(state: .current, activatesAt: now())
        let at = now()
        try await store.change { [audit] transaction in
            // Another node may have done it meanwhile.
            let keys = try transaction.signingKeys()
            guard !keys.contains(where: { $0.state == .current }) else { return }
            let actor = Actor.system(job: "keys")
            if var waiting = keys.filter({ $0.state == .next }).min(by: { $0.activatesAt < $1.activatesAt }) {
                waiting.state = .current
                waiting.activatesAt = at
                try transaction.update(waiting)
                try audit.record(Self.record(waiting, "key.activate", actor), in: transaction, at: at)
            } else if let fresh {
                try transaction.insert(fresh)
                try audit.record(Self.record(fresh, "key.create", actor), in: transaction, at: fresh.createdAt)
            }
        }
        _ = try await reload()
    }

    // MARK: - Administration

    /// The stored keys, after making sure one is current (so a fresh database shows the key it signs with).
    public func keys(by actor: Actor) async throws -> [SigningKeyRecord] {
        try requireAdministrator(actor)
        try await ensureSigningKey()
        return try await current().records
    }

    /// Adds a `next` key, published now and signing after the pre-publish time.
    public func rotate(by actor: Actor) async throws -> SigningKeyRecord {
        try requireAdministrator(actor)
        // On a fresh database, a key must sign meanwhile: the new one only does after the pre-publish time.
        try await ensureSigningKey()
        let at = now()
        let record = try makeRecord(state: .next, activatesAt: at.adding(prepublish))
        try await store.change { [audit] transaction in
            try transaction.insert(record)
            try audit.record(Self.record(record, "key.rotate", actor), in: transaction, at: at)
        }
        _ = try await reload()
        return record
    }

    /// Stops a key from signing at once. A retired key stays published until its tokens expire; a
    /// current key can only be retired when a `next` key can take over (it is activated early).
    public func retire(_ kid: String, by actor: Actor) async throws -> SigningKeyRecord {
        try requireAdministrator(actor)
        let at = now()
        let lifetime = try await longestTokenLifetime()
        let retired = try await store.change { [audit] transaction in
            let keys = try transaction.signingKeys()
            guard let key = keys.first(where: { $0.id == kid }) else {
                throw CoreError(.notFound, "keys.not_found", "no signing key '\(ManagedAccountID.printable(kid))'")
            }
            guard key.state != .retired else {
                throw CoreError(.conflict, "keys.already_retired", "signing key \(kid) is already retired")
            }
            if key.state == .current {
                guard var successor = keys.filter({ $0.state == .next }).max(by: { $0.activatesAt < $1.activatesAt })
                else {
                    throw CoreError(
                        .conflict, "keys.no_successor",
                        "signing key \(kid) is the only one that can sign: run 'tessera keys rotate' first")
                }
                successor.state = .current
                successor.activatesAt = at
                try transaction.update(successor)
                try audit.record(Self.record(successor, "key.activate", actor), in: transaction, at: at)
            }
            let retired = KeyRotation.retire(key, at: at, longestTokenLifetime: lifetime)
            try transaction.update(retired)
            try audit.record(Self.record(retired, "key.retire", actor), in: transaction, at: at)
            return retired
        }
        _ = try await reload()
        return retired
    }

    // MARK: - Loading

    /// The current signer from memory when the in-memory keys are fresh and no rotation step is due;
    /// nil means: call `signer()`, which may read the store.
    public func signerWithoutWaiting() -> Signer? {
        guard let cached = snapshot.read(), isFresh(cached) else { return nil }
        return cached.signer
    }

    private func isFresh(_ cached: Snapshot) -> Bool {
        let due = cached.nextChange.map { $0 <= now() } ?? false
        return !due && ContinuousClock.now - cached.loadedAt < refreshInterval
    }

    private func current() async throws -> Snapshot {
        if let cached = snapshot.read() {
            if isFresh(cached) { return cached }
            // One caller refreshes; the others keep using the copy they have.
            guard refreshing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
            else {
                return cached
            }
            defer { refreshing.store(false, ordering: .releasing) }
            return try await reload()
        }
        return try await reload()
    }

    /// Applies due rotation steps, then reads and decrypts the keys. Only takes the write lock when a
    /// step is due, so the periodic reload is a plain read.
    @discardableResult
    func reload() async throws -> Snapshot {
        let at = now()
        var records = try await store.read { try $0.signingKeys() }
        // Whether a step is due does not depend on the lifetime, so the clients are read only then.
        if !KeyRotation.plan(records, at: at, longestTokenLifetime: .zero).isEmpty {
            let lifetime = try await longestTokenLifetime()
            records = try await store.change { [audit] transaction in
                // Planned again under the write lock: another node may have applied it already.
                let keys = try transaction.signingKeys()
                let plan = KeyRotation.plan(keys, at: at, longestTokenLifetime: lifetime)
                guard !plan.isEmpty else { return keys }
                let actor = Actor.system(job: "keys")
                for update in plan.updates {
                    try transaction.update(update)
                    try audit.record(
                        Self.record(update, update.state == .current ? "key.activate" : "key.retire", actor),
                        in: transaction, at: at)
                }
                for kid in plan.removals {
                    if let removed = keys.first(where: { $0.id == kid }) {
                        try transaction.deleteSigningKey(id: kid)
                        try audit.record(
                            Self.record(removed, "key.remove", actor, after: false), in: transaction, at: at)
                    }
                }
                return try transaction.signingKeys()
            }
        }
        let fresh = try makeSnapshot(records)
        snapshot.replace(fresh)
        return fresh
    }

    private func makeSnapshot(_ records: [SigningKeyRecord]) throws -> Snapshot {
        var verification: [String: VerificationKey] = [:]
        var jwks: [JWK] = []
        for record in KeyRotation.published(records) {
            do {
                let jwk = try JWK(json: Array(record.publicJWK.utf8))
                verification[record.id] = try VerificationKey(jwk: jwk)
                jwks.append(jwk)
            } catch {
                throw CoreError(
                    .internal, "keys.public_invalid", "stored public key \(record.id) is unreadable: \(error)")
            }
        }
        var signer: Signer?
        if let current = KeyRotation.signingKey(records), let algorithm = SigningAlgorithm(rawValue: current.algorithm)
        {
            do {
                var der = try kek.open(current.sealedPrivateKey, associatedData: Array(current.id.utf8))
                defer { for index in der.indices { der[index] = 0 } }
                let key = try SigningKey(pkcs8DER: der, algorithm: algorithm)
                signer = Signer(
                    kid: current.id, key: key,
                    accessTokenHeader: try JWS.encodedHeader(["typ": "at+jwt"], key: key, kid: current.id))
            } catch {
                throw CoreError(
                    .internal, "keys.unseal",
                    "signing key \(current.id) cannot be decrypted: is oauth.key_encryption_key_file the key it was sealed with? (\(error))"
                )
            }
        }
        let nextChange = records.compactMap { key -> Date? in
            switch key.state {
            case .next: key.activatesAt
            case .retired: key.removeAfter
            case .current: nil
            }
        }.min()
        return Snapshot(
            records: records, signer: signer, verification: verification, jwks: JWK.setJSON(jwks), loadedAt: .now,
            nextChange: nextChange)
    }

    private func makeRecord(state: SigningKeyState, activatesAt: Date) throws -> SigningKeyRecord {
        let key = try SigningKey.generate(algorithm)
        // Hex, so a kid never starts with '-' and reads as an option on the command line.
        let kid = Hex.encode(SecureRandom.bytes(12))
        var der = try key.pkcs8DER()
        defer { for index in der.indices { der[index] = 0 } }
        let jwk = try key.publicKey().jwk(kid: kid)
        return SigningKeyRecord(
            id: kid, algorithm: algorithm.rawValue, state: state,
            sealedPrivateKey: try kek.seal(der, associatedData: Array(kid.utf8)),
            publicJWK: String(decoding: jwk.jsonBytes(), as: UTF8.self), createdAt: now(), activatesAt: activatesAt)
    }

    /// How long a token signed now may stay valid: the longest access-token lifetime of any client.
    private func longestTokenLifetime() async throws -> Duration {
        let clients = try await store.read { try $0.clients() }
        return clients.map(\.accessTokenLifetime).max().map { max($0, defaultTokenLifetime) } ?? defaultTokenLifetime
    }

    private func requireAdministrator(_ actor: Actor) throws {
        guard actor.roles.contains(.administrator) else {
            throw CoreError(.notPermitted, "keys.denied", "only administrators may manage signing keys (\(actor))")
        }
    }

    static func record(_ key: SigningKeyRecord, _ action: String, _ actor: Actor, after: Bool = true) -> AuditRecord {
        let snapshot = canonicalKeySnapshot(key)
        return AuditRecord(
            actor: actor, action: action, targetType: "signing_key", targetID: key.id, targetName: key.id, before: nil,
            after: after ? snapshot : nil)
    }

    /// The audit view of a key: never the sealed private key.
    static func canonicalKeySnapshot(_ key: SigningKeyRecord) -> String {
        func time(_ date: Date?) -> String {
            date.map { String(Int64(($0.timeIntervalSince1970 * 1000).rounded())) } ?? "null"
        }
        return
            #"{"activates_at":\#(time(key.activatesAt)),"algorithm":"\#(key.algorithm)","kid":"\#(key.id)","remove_after":\#(time(key.removeAfter)),"state":"\#(key.state.rawValue)"}"#
    }
}
