public import Foundation
import TesseraAccounts
public import TesseraCore
import TesseraCrypto
public import TesseraStore

/// OAuth client registration: create, change, rotate secrets, delete; administrators only, audited.
public struct ClientService: Sendable {
    public struct Defaults: Sendable {
        public var accessTokenLifetime: Duration
        public var refreshTokenLifetime: Duration

        public init(accessTokenLifetime: Duration, refreshTokenLifetime: Duration) {
            self.accessTokenLifetime = accessTokenLifetime
            self.refreshTokenLifetime = refreshTokenLifetime
        }
    }

    let store: any Store
    let defaults: Defaults
    let audit: AuditLog
    let registry: ClientRegistry?
    let now: @Sendable () -> Date

    /// - Parameter registry: the in-memory registry to refresh after each change made here.
    public init(
        store: any Store, defaults: Defaults, sha256Hex: @escaping @Sendable ([UInt8]) -> String,
        registry: ClientRegistry? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.registry = registry
        self.defaults = defaults
        self.audit = AuditLog(sha256Hex: sha256Hex)
        self.now = now
    }

    /// A client with its secret, shown once.
    public struct IssuedClient: Sendable {
        public var client: OAuthClient
        public var secret: String?
    }

    /// Registers a client. Confidential clients get a generated 256-bit secret, stored only as SHA-256.
    public func create(_ registration: ClientRegistration, by actor: Actor) async throws -> IssuedClient {
        try requireAdministrator(actor)
        let at = now()
        let secret = registration.isPublic ? nil : ClientSecret.generate()
        let client = try build(
            registration, id: ClientSecret.clientID(), secretHash: secret.map(ClientSecret.hash), createdAt: at)
        try await store.change { transaction in
            do {
                try transaction.insert(client)
            } catch let error as StoreError where error.kind == .duplicate {
                throw CoreError(.conflict, "client.exists", "a client named \(client.name) already exists")
            }
            try audit.record(record(client, "client.create", actor, before: nil), in: transaction, at: at)
        }
        registry?.invalidate()
        return IssuedClient(client: client, secret: secret)
    }

    public func clients(by actor: Actor) async throws -> [OAuthClient] {
        try requireAdministrator(actor)
        return try await store.read { try $0.clients() }
    }

    /// A client by `client_id` or by name.
    public func client(_ reference: String, by actor: Actor) async throws -> OAuthClient {
        try requireAdministrator(actor)
        return try await store.read { try Self.find(reference, in: $0) }
    }

    /// Changes a client's settings; nil fields stay as they are.
    public struct Changes: Sendable, Equatable {
        public var name: String?
        public var grants: [String]?
        public var redirectURIs: [String]?
        public var scopes: [String]?
        public var publicKeys: [String]?
        public var pkce: String?
        public var role: String??
        public var accessTokenLifetimeSeconds: Int?
        public var refreshTokenLifetimeSeconds: Int?

        public init(
            name: String? = nil, grants: [String]? = nil, redirectURIs: [String]? = nil, scopes: [String]? = nil,
            publicKeys: [String]? = nil, pkce: String? = nil, role: String?? = nil,
            accessTokenLifetimeSeconds: Int? = nil,
            refreshTokenLifetimeSeconds: Int? = nil
        ) {
            self.name = name
            self.grants = grants
            self.redirectURIs = redirectURIs
            self.scopes = scopes
            self.publicKeys = publicKeys
            self.pkce = pkce
            self.role = role
            self.accessTokenLifetimeSeconds = accessTokenLifetimeSeconds
            self.refreshTokenLifetimeSeconds = refreshTokenLifetimeSeconds
        }

        public var isEmpty: Bool { self == Changes() }
    }

    public func update(_ reference: String, _ changes: Changes, by actor: Actor) async throws -> OAuthClient {
        try requireAdministrator(actor)
        guard !changes.isEmpty else {
            throw CoreError(.invalidInput, "client.no_changes", "nothing to change: name at least one setting")
        }
        return try await modify(reference, action: "client.update", by: actor) { current, at in
            var registration = ClientRegistration(
                name: changes.name ?? current.name, isPublic: current.type == .public,
                grants: changes.grants ?? current.grants.sorted().map(\.rawValue),
                redirectURIs: changes.redirectURIs ?? current.redirectURIs,
                scopes: changes.scopes ?? current.scopes.sorted(), publicKeys: changes.publicKeys ?? current.publicKeys,
                pkce: changes.pkce ?? current.pkce.rawValue, role: current.role?.rawValue,
                accessTokenLifetimeSeconds: changes.accessTokenLifetimeSeconds
                    ?? Int(current.accessTokenLifetime.components.seconds),
                refreshTokenLifetimeSeconds: changes.refreshTokenLifetimeSeconds
                    ?? Int(current.refreshTokenLifetime.components.seconds))
            if let role = changes.role { registration.role = role }
            var next = try build(
                registration, id: current.id, secretHash: current.secretHash, createdAt: current.createdAt)
            guard next != current else {
                throw CoreError(
                    .invalidInput, "client.no_changes", "nothing changed: the client already has these settings")
            }
            next.version = current.version + 1
            next.updatedAt = at
            return next
        }
    }

    /// Replaces a confidential client's secret; the old one stops working at once.
    public func rotateSecret(_ reference: String, by actor: Actor) async throws -> IssuedClient {
        try requireAdministrator(actor)
        let secret = ClientSecret.generate()
        let client = try await modify(reference, action: "client.rotate_secret", by: actor) { current, at in
            guard current.type == .confidential else {
                throw CoreError(.conflict, "client.public_secret", "client \(current.name) is public and has no secret")
            }
            var next = current
            next.secretHash = ClientSecret.hash(secret)
            next.version += 1
            next.updatedAt = at
            return next
        }
        return IssuedClient(client: client, secret: secret)
    }

    /// Deletes a client and, through the store's cascade, every code and refresh token issued to it.
    public func delete(_ reference: String, by actor: Actor) async throws -> OAuthClient {
        try requireAdministrator(actor)
        let at = now()
        let deleted = try await store.change { transaction in
            let client = try Self.find(reference, in: transaction)
            try transaction.deleteClient(id: client.id)
            try audit.record(
                record(client, "client.delete", actor, before: client, after: false), in: transaction, at: at)
            return client
        }
        registry?.invalidate()
        return deleted
    }

    // MARK: - Rules

    private func build(_ registration: ClientRegistration, id: String, secretHash: String?, createdAt: Date) throws
        -> OAuthClient
    {
        let keys = try registration.publicKeys.map { pem in
            do {
                _ = try VerificationKey(pem: pem)
                return pem
            } catch {
                throw CoreError(
                    .invalidInput, "client.public_key_invalid", "public key is not a usable PEM public key: \(error)")
            }
        }
        func lifetime(_ seconds: Int?, _ fallback: Duration) -> Duration { seconds.map { .seconds($0) } ?? fallback }
        let client = OAuthClient(
            id: id, name: try ClientRules.name(registration.name),
            type: registration.isPublic ? .public : .confidential,
            secretHash: secretHash, publicKeys: keys,
            grants: Set(try registration.grants.map(GrantType.init(parsing:))),
            redirectURIs: try Self.unique(registration.redirectURIs.map(OAuthRules.redirectURI)),
            scopes: Set(try registration.scopes.flatMap { try OAuthRules.scopes($0) }),
            accessTokenLifetime: lifetime(registration.accessTokenLifetimeSeconds, defaults.accessTokenLifetime),
            refreshTokenLifetime: lifetime(registration.refreshTokenLifetimeSeconds, defaults.refreshTokenLifetime),
            pkce: try registration.pkce.map(PKCEPolicy.init(parsing:)) ?? .required,
            role: try registration.role.flatMap { $0.isEmpty ? nil : try Role(parsing: $0) }, createdAt: createdAt,
            updatedAt: createdAt)
        try ClientRules.check(client)
        return client
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }

    private func requireAdministrator(_ actor: Actor) throws {
        guard actor.roles.contains(.administrator) else {
            throw CoreError(.notPermitted, "client.denied", "only administrators may manage OAuth clients (\(actor))")
        }
    }

    static func find(_ reference: String, in reader: any StoreReader) throws -> OAuthClient {
        if let client = try reader.client(id: reference) ?? reader.client(name: reference) { return client }
        throw CoreError(.notFound, "client.not_found", "no client '\(ManagedAccountID.printable(reference))'")
    }

    private func modify(
        _ reference: String, action: String, by actor: Actor,
        _ transform: @escaping @Sendable (OAuthClient, Date) throws -> OAuthClient
    ) async throws -> OAuthClient {
        let at = now()
        defer { registry?.invalidate() }
        return try await store.change { transaction in
            let current = try Self.find(reference, in: transaction)
            let next = try transform(current, at)
            do {
                try transaction.update(next, expectedVersion: current.version)
            } catch let error as StoreError where error.kind == .duplicate {
                throw CoreError(.conflict, "client.exists", "a client named \(next.name) already exists")
            }
            try audit.record(record(next, action, actor, before: current), in: transaction, at: at)
            return next
        }
    }

    private func record(
        _ client: OAuthClient, _ action: String, _ actor: Actor, before: OAuthClient?, after: Bool = true
    ) -> AuditRecord {
        AuditRecord(
            actor: actor, action: action, targetType: "client", targetID: client.id, targetName: client.name,
            before: before?.auditSnapshot, after: after ? client.auditSnapshot : nil)
    }
}

/// Client identifiers and secrets.
enum ClientSecret {
    /// 256 random bits, base64url.
    static func generate() -> String { SecureRandom.token(bytes: 32) }

    /// A random, URL-safe client_id that starts with a letter or digit (so it never reads as an option
    /// on the command line).
    static func clientID() -> String {
        while true {
            let id = SecureRandom.token(bytes: 16)
            if let first = id.unicodeScalars.first, first != "-", first != "_" { return id }
        }
    }

    /// Secrets are high-entropy, so SHA-256 is the right hash (no stretching needed).
    static func hash(_ secret: String) -> String { SHA256.hexDigest(Array(secret.utf8)) }

    /// Constant-time check of a presented secret against the stored hash.
    static func matches(_ presented: String, hash: String) -> Bool {
        var presented = presented
        return presented.withUTF8 { SHA256.matchesHexDigest(UnsafeRawBufferPointer($0), hash) }
    }
}
