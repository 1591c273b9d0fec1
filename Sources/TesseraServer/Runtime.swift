import Foundation
public import TesseraAccounts
public import TesseraCore
import TesseraCrypto
public import TesseraDirectory
public import TesseraEnrolment
public import TesseraOAuth
public import TesseraPlatform
public import TesseraStore

/// The composition root: configuration → store → services. `tessera serve` and every CLI subcommand
/// build one, so both go through the same rules and the same store.
public struct TesseraRuntime: Sendable {
    public let configuration: TesseraConfiguration
    public let store: any Store
    public let accounts: AccountService
    public let audit: AuditService
    public let clients: ClientService
    public let keys: SigningKeyRing
    public let tokens: TokenService
    public let inspection: TokenInspection
    public let authorization: AuthorizationService
    /// The LDAP directory, when `directory.ldap.enabled`.
    public let directory: LDAPDirectory?
    public let directorySync: DirectorySyncService
    /// Account-driven enrolment (discovery and the enrolment endpoint), when `enrolment.base_url` is set.
    public let discovery: DiscoveryService?
    public let enrolment: EnrolmentService?
    /// The device registry.
    public let devices: DeviceService
    /// The `apple-as-web` sign-in, when `enrolment.challenge` is `apple-as-web`.
    public let webLogin: WebLogin?
    /// Automated Device Enrolment's token-less URL, when `enrolment.ade_trust_anchors` is set.
    public let automatedEnrolment: AutomatedEnrolmentService?
    /// The `com.apple.maid` token, when `enrolment.maid_server_uuid` is set.
    public let managedAccountToken: ManagedAccountTokenService?
    public let logger: Logger

    /// Opens the store (creating and migrating it when needed) and builds the services.
    public static func open(_ configuration: TesseraConfiguration, logSink: LogSink = .standardError) throws
        -> TesseraRuntime
    {
        let level = LogLevel(name: configuration.logLevel) ?? .info
        let logger = Logger(minimumLevel: level, sink: logSink)
        let store = try SQLiteStore(
            path: configuration.sqlite.path, busyTimeout: configuration.sqlite.busyTimeout,
            connections: configuration.sqlite.connections)
        let parameters: ScryptParameters
        do {
            parameters = try ScryptParameters(
                logN: configuration.passwords.scryptLogN, r: configuration.passwords.scryptR,
                p: configuration.passwords.scryptP)
        } catch {
            throw ConfigurationError(key: "passwords", error.message)
        }
        let hasher = ScryptPasswordHashing(
            hasher: PasswordHasher(
                parameters: parameters, maxConcurrentHashes: configuration.passwords.maxConcurrentHashes))
        let sha256Hex: @Sendable ([UInt8]) -> String = { SHA256.hexDigest($0) }
        let directory = try configuration.ldap.map {
            try Self.directory($0, domains: configuration.accountPolicy.managedDomains)
        }
        // Passwords: the KDC when Kerberos is configured (the LDAP directory, if any, describing the
        // person), else LDAP.
        var passwords: (any PasswordDirectory)? = directory
        var tickets: KerberosDirectory?
        if let kerberos = configuration.kerberos {
            // GSSAPI (SPNEGO tickets) reads the process's krb5 configuration: the same file as password
            // checks, set before any thread uses Kerberos.
            if let file = kerberos.configFile { setenv("KRB5_CONFIG", file, 1) }
            let people: KerberosDirectory.People =
                directory.map { .ldap($0) }
                ?? .byRule(
                    domain: configuration.kerberosAccountsDomain ?? configuration.accountPolicy.managedDomains.names[0],
                    managedDomains: configuration.accountPolicy.managedDomains)
            do {
                tickets = try KerberosDirectory(verifier: try KerberosVerifier(kerberos), people: people)
                passwords = tickets
            } catch {
                throw ConfigurationError(key: "directory.kerberos", error.message)
            }
        }
        let accounts = AccountService(
            store: store, policy: configuration.accountPolicy, hasher: hasher,
            generateTemporaryPassword: { TemporaryPassword.generate() }, sha256Hex: sha256Hex, directory: passwords)
        let oauth = configuration.oauth
        let (kek, createdKEK) = try SigningKeyRing.loadKeyEncryptionKey(path: oauth.keyEncryptionKeyFile)
        if createdKEK {
            logger.notice(
                "created the key-encryption key file: back it up with the database",
                ["path": .string(oauth.keyEncryptionKeyFile)])
        }
        let keys = SigningKeyRing(
            store: store, kek: kek, algorithm: SigningAlgorithm(rawValue: oauth.signingAlgorithm) ?? .es256,
            prepublish: oauth.keyPrepublish,
            defaultTokenLifetime: oauth.accessTokenLifetime, sha256Hex: sha256Hex)
        let settings = TokenService.Settings(issuer: oauth.issuer, audience: oauth.accessTokenAudience)
        let limiter = AttemptLimiter(perMinute: oauth.passwordAttemptsPerMinute)
        let registry = ClientRegistry(store: store)
        let tokens = TokenService(
            store: store, keys: keys, accounts: accounts, clients: registry, settings: settings, limiter: limiter)
        let inspection = TokenInspection(store: store, keys: keys, clients: registry, settings: settings)
        let devices = DeviceService(
            store: store, sha256Hex: sha256Hex, managedDomains: configuration.accountPolicy.managedDomains,
            enrolmentClientID: configuration.discovery?.clientID)
        // Account-driven enrolment: discovery, and the enrolment endpoint that checks its rules again.
        let accountDriven = try configuration.discovery.map { settings in
            let discovery = DiscoveryService(
                policy: settings.policy, baseURL: settings.baseURL,
                managedDomains: configuration.accountPolicy.managedDomains, store: store)
            let enrolment = try Self.enrolment(
                settings, oauth: oauth, domains: configuration.accountPolicy.managedDomains, devices: devices,
                discovery: discovery, bearer: Self.enrolmentBearer(inspection, clientID: settings.clientID))
            return (discovery: discovery, enrolment: enrolment)
        }
        return TesseraRuntime(
            configuration: configuration, store: store, accounts: accounts,
            audit: AuditService(store: store, sha256Hex: sha256Hex),
            clients: ClientService(
                store: store,
                defaults: ClientService.Defaults(
                    accessTokenLifetime: oauth.accessTokenLifetime, refreshTokenLifetime: oauth.refreshTokenLifetime),
                sha256Hex: sha256Hex, registry: registry),
            keys: keys,
            tokens: tokens,
            inspection: inspection,
            authorization: AuthorizationService(
                store: store, accounts: accounts, tokens: tokens, limiter: limiter,
                sessionLifetime: oauth.sessionLifetime, negotiate: tickets),
            directory: directory,
            directorySync: DirectorySyncService(store: store, sha256Hex: sha256Hex),
            discovery: accountDriven?.discovery,
            enrolment: accountDriven?.enrolment,
            devices: devices,
            webLogin: configuration.discovery.flatMap { settings in
                guard settings.challenge == "apple-as-web" else { return nil }
                return Self.webLogin(
                    settings, oauth: oauth, completionURL: oauth.issuer + EnrolmentEndpoints.completionPath,
                    tokens: tokens)
            },
            automatedEnrolment: try configuration.discovery.flatMap { settings -> AutomatedEnrolmentService? in
                guard let anchors = settings.adeTrustAnchors else { return nil }
                let web = AutomatedEnrolmentService.WebSignIn(
                    login: Self.webLogin(
                        settings, oauth: oauth,
                        completionURL: settings.baseURL + "/" + EnrolmentEndpoints.automatedWebCompletionPath,
                        tokens: tokens),
                    bearer: Self.enrolmentBearer(inspection, clientID: settings.clientID), store: store,
                    sha256Hex: sha256Hex)
                return try Self.automatedEnrolment(settings, anchors: anchors, devices: devices, web: web)
            },
            managedAccountToken: try configuration.managedAccountToken.map { settings in
                guard let data = FileManager.default.contents(atPath: settings.keyFile),
                    let pem = String(data: data, encoding: .utf8)
                else {
                    throw ConfigurationError(
                        key: "enrolment.maid_signing_key", "cannot read \(settings.keyFile) as UTF-8 text")
                }
                do {
                    return try ManagedAccountTokenService(
                        serverUUID: settings.serverUUID, key: try SigningKey(pem: pem, algorithm: .rs256))
                } catch {
                    throw ConfigurationError(
                        key: "enrolment.maid_signing_key", (error as? CryptoError)?.message ?? "\(error)")
                }
            },
            logger: logger)
    }
}

extension TesseraRuntime {
    /// The profile template and the signing identity of the configuration, read and checked.
    static func profileParts(_ settings: TesseraConfiguration.Discovery) throws -> (ProfileTemplate, CMSSigner) {
        let template: ProfileTemplate
        do {
            template = try ProfileTemplate(
                json5: Array(try readText(settings.profileTemplate, "enrolment.profile_template").utf8))
        } catch let error as ProfileError {
            throw ConfigurationError(key: "enrolment.profile_template", "\(settings.profileTemplate): \(error.message)")
        }
        do {
            let signer = try CMSSigner(
                certificatePEM: try readText(settings.signingCertificate, "enrolment.profile_signing_certificate"),
                keyPEM: try readText(settings.signingKey, "enrolment.profile_signing_key"))
            return (template, signer)
        } catch let error as CryptoError {
            throw ConfigurationError(key: "enrolment.profile_signing_key", error.message)
        }
    }

    /// A file the configuration names, as UTF-8 text.
    static func readText(_ path: String, _ key: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigurationError(key: key, "cannot read \(path) as UTF-8 text")
        }
        return text
    }

    /// ADE's service: the trust anchors, template and signing identity read and checked.
    /// Whom a bearer token of the enrolment client speaks for.
    static func enrolmentBearer(_ inspection: TokenInspection, clientID: String)
        -> @Sendable (String?) async throws -> EnrolmentService.SignedIn?
    {
        { authorization in
            try await inspection.bearerAccount(authorization, clientID: clientID).map {
                EnrolmentService.SignedIn(accountID: $0.accountID, managedID: $0.managedID, tokenID: $0.tokenID)
            }
        }
    }

    /// A sign-in through the sign-in page as the enrolment client, coming back at `completionURL`.
    static func webLogin(
        _ settings: TesseraConfiguration.Discovery, oauth: TesseraConfiguration.OAuth, completionURL: String,
        tokens: TokenService
    ) -> WebLogin {
        WebLogin(
            authorizationURL: oauth.issuer + "/oauth2/authorize", completionURL: completionURL,
            clientID: settings.clientID, scope: settings.scope
        ) { code, remoteAddress in
            let items = [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", completionURL),
                ("client_id", settings.clientID),
            ]
            return try? await tokens.token(items, authorization: nil, remoteAddress: remoteAddress).accessToken
        }
    }

    static func automatedEnrolment(
        _ settings: TesseraConfiguration.Discovery, anchors: String, devices: DeviceService,
        web: AutomatedEnrolmentService.WebSignIn
    ) throws -> AutomatedEnrolmentService {
        let (template, signer) = try profileParts(settings)
        let verifier: CMSVerifier
        do {
            verifier = try CMSVerifier(trustAnchorsPEM: try readText(anchors, "enrolment.ade_trust_anchors"))
        } catch let error as CryptoError {
            throw ConfigurationError(key: "enrolment.ade_trust_anchors", "\(anchors): \(error.message)")
        }
        return AutomatedEnrolmentService(
            reader: DeviceInformationReader(verifier: verifier), template: template, signer: signer, devices: devices,
            minimums: settings.adeMinimumOSVersions, web: web)
    }

    /// The enrolment endpoint's service: the profile template and signing identity read and checked.
    static func enrolment(
        _ settings: TesseraConfiguration.Discovery, oauth: TesseraConfiguration.OAuth, domains: ManagedDomains,
        devices: DeviceService, discovery: DiscoveryService,
        bearer: @escaping @Sendable (String?) async throws -> EnrolmentService.SignedIn?
    ) throws -> EnrolmentService {
        let (template, signer) = try profileParts(settings)
        let challenge: EnrolmentService.Challenge =
            settings.challenge == "apple-as-web"
            ? .web(loginURL: oauth.issuer + EnrolmentEndpoints.loginPath)
            : .oauth2(
                EnrolmentService.OAuthChallenge(
                    authorizationURL: oauth.issuer + "/oauth2/authorize", tokenURL: oauth.issuer + "/oauth2/token",
                    clientID: settings.clientID, scope: settings.scope))
        return EnrolmentService(
            challenge: challenge,
            template: template, signer: signer, reader: DeviceInformationReader(verifier: try CMSVerifier()),
            devices: devices, discovery: discovery, managedDomains: domains, bearer: bearer)
    }

    /// One sync of the LDAP directory (see `DirectorySyncService`); only administrators (and the local
    /// operator) may run it.
    /// - Parameters:
    ///   - reading: called with the number of entries read so far.
    ///   - applying: called with (applied, total) changes.
    public func syncLDAP(
        _ options: DirectorySyncService.Options, by actor: Actor,
        reading: @escaping @Sendable (Int) -> Void = { _ in },
        applying: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> DirectorySyncService.Report {
        guard let directory else {
            throw CoreError(
                .invalidInput, "sync.no_directory", "no LDAP directory is configured (directory.ldap.enabled)")
        }
        guard actor.roles.contains(.administrator) else {
            throw CoreError(.notPermitted, "sync.denied", "only administrators may sync the directory")
        }
        return try await directorySync.run(
            source: .ldap, options: options, by: actor,
            read: { changedSince in
                let listing: DirectoryListing
                do {
                    listing = try await directory.listPeople(changedSince: changedSince, progress: reading)
                } catch {
                    let reason = (error as? DirectoryError)?.message ?? "\(error)"
                    throw CoreError(.unavailable, "directory.unavailable", "the directory cannot be read: \(reason)")
                }
                return DirectorySyncService.Reading(
                    entries: listing.people.map { person in
                        DirectoryEntry(
                            identity: DirectoryIdentity(
                                source: .ldap, externalID: person.stableID, managedID: person.managedID,
                                givenName: person.givenName, familyName: person.familyName, email: person.email,
                                employeeNumber: person.employeeNumber, department: person.department,
                                roles: person.roles),
                            isDisabled: person.isDisabled)
                    },
                    unusable: listing.unusable, unusableIDs: listing.unusableIDs, newestChange: listing.newestChange,
                    isComplete: listing.isComplete)
            }, progress: applying)
    }

    /// The LDAP directory of the configuration, with the service account's password read from its file
    /// (one line; a trailing newline is not part of it).
    static func directory(_ ldap: TesseraConfiguration.LDAP, domains: ManagedDomains) throws -> LDAPDirectory {
        guard let data = FileManager.default.contents(atPath: ldap.bindPasswordFile),
            let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigurationError(
                key: "directory.ldap.bind_password_file", "cannot read \(ldap.bindPasswordFile) as UTF-8 text")
        }
        var password = Substring(text)
        while let last = password.last, last == "\n" || last == "\r" { password = password.dropLast() }
        do {
            return try LDAPDirectory(
                LDAPDirectory.Configuration(
                    connection: ldap.connection, serviceDN: ldap.bindDN, servicePassword: String(password),
                    poolSize: ldap.poolSize, mapping: ldap.mapping, managedDomains: domains))
        } catch {
            throw ConfigurationError(key: "directory.ldap", error.message)
        }
    }
}

/// TesseraCrypto's scrypt hasher as the account rules see it.
struct ScryptPasswordHashing: PasswordHashing {
    let hasher: PasswordHasher

    func hashPassword(_ password: String) async throws -> String {
        try await hasher.hash(password)
    }

    func verifyPassword(_ password: String, against hash: String) async throws -> PasswordCheck {
        switch try await hasher.verify(password, against: hash) {
        case .valid(let needsRehash): .valid(needsRehash: needsRehash)
        case .invalid: .invalid
        }
    }
}
