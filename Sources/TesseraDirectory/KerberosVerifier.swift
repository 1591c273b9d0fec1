internal import CKerberos
public import TesseraCore
import TesseraPlatform

#if canImport(Glibc)
    import Glibc
#endif

/// How Tessera checks passwords against a Kerberos realm.
public struct KerberosSettings: Sendable, Equatable {
    /// A krb5.conf naming the realm's KDCs; nil: the system's (`KRB5_CONFIG` or `/etc/krb5.conf`).
    public var configFile: String?
    /// The realm of names given without `@REALM`.
    public var defaultRealm: String
    /// Realms whose principals may sign in (the default realm is always one).
    public var allowedRealms: [String]
    /// The service's keytab, holding the key of `servicePrincipal`.
    public var keytab: String
    /// The principal whose key verifies a KDC's answer, e.g. `HTTP/id.example.com@EXAMPLE.COM`.
    public var servicePrincipal: String
    /// The LDAP attribute holding a person's whole principal (`userPrincipalName`, `krb5PrincipalName`);
    /// nil: the principal's name (before the `@`) is matched against the directory's sign-in attribute.
    public var principalAttribute: String?

    public init(
        configFile: String?, defaultRealm: String, allowedRealms: [String] = [], keytab: String,
        servicePrincipal: String, principalAttribute: String? = nil
    ) {
        self.principalAttribute = principalAttribute
        self.configFile = configFile
        self.defaultRealm = defaultRealm
        self.allowedRealms = allowedRealms
        self.keytab = keytab
        self.servicePrincipal = servicePrincipal
    }

    var realms: Set<String> { Set([defaultRealm] + allowedRealms) }
}

/// Password sign-in against a KDC (MIT krb5): initial credentials for the person
/// (`krb5_get_init_creds_password`), then `krb5_verify_init_creds` with the service keytab, which
/// asks the KDC for a ticket to the service and decrypts it with the keytab's key. A KDC that does
/// not know that key (a spoofed one, answering "yes" to any password) cannot produce such a ticket.
///
/// Every call blocks (it talks to the KDC): run it on a blocking pool. Each call has its own krb5
/// context, so calls may run on several threads at once.
public struct KerberosVerifier: Sendable {
    public let settings: KerberosSettings

    public init(_ settings: KerberosSettings) throws(DirectoryError) {
        guard !settings.defaultRealm.isEmpty, !settings.keytab.isEmpty, !settings.servicePrincipal.isEmpty else {
            throw DirectoryError(.configuration, "Kerberos needs a default realm, a keytab and a service principal")
        }
        self.settings = settings
    }

    /// The canonical principal (`name@REALM`) when `password` is the principal's and the KDC proved
    /// itself with the keytab.
    /// - Throws: `.rejected` for a wrong password, an unknown, locked or expired principal, a realm
    ///   that is not allowed, or a KDC that cannot prove itself; `.unavailable` when no KDC answers;
    ///   `.configuration` when the configuration file or keytab cannot be used (missing, unreadable,
    ///   or without the service principal's key).
    public func verify(name: String, password: String) throws(DirectoryError) -> String {
        let rejected = DirectoryError(.rejected, "wrong name or password")
        guard !name.isEmpty, !password.isEmpty else { throw rejected }
        let principalText = name.contains("@") ? name : name + "@" + settings.defaultRealm
        let realm = String(principalText[principalText.index(after: principalText.lastIndex(of: "@")!)...])
        guard settings.realms.contains(realm) else { throw rejected }

        let context = try makeContext()
        defer { krb5_free_context(context) }
        func failure(_ code: krb5_error_code, _ operation: String) -> DirectoryError {
            let text =
                krb5_get_error_message(context, code).map { message in
                    defer { krb5_free_error_message(context, message) }
                    return String(cString: message)
                } ?? "error \(code)"
            switch Int(code) {
            case KRB5_KDC_UNREACH, KRB5_REALM_UNKNOWN, KRB5_REALM_CANT_RESOLVE:
                return DirectoryError(.unavailable, "\(operation): \(text)")
            case KRB5KDC_ERR_PREAUTH_FAILED, KRB5KRB_AP_ERR_BAD_INTEGRITY, KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN,
                KRB5KDC_ERR_CLIENT_REVOKED, KRB5KDC_ERR_KEY_EXP:
                return rejected
            // The keytab: missing, unreadable, or without the service's key. Ours to fix, not a wrong password.
            case KRB5_KT_NOTFOUND, KRB5_KT_KVNONOTFOUND, KRB5_KT_BADNAME, KRB5_KT_END, Int(ENOENT), Int(EACCES):
                return DirectoryError(.configuration, "\(operation): \(text)")
            default: return DirectoryError(.rejected, "\(operation): \(text)")
            }
        }

        var client: krb5_principal?
        var code = krb5_parse_name(context, principalText, &client)
        guard code == 0, let client else { throw rejected }
        defer { krb5_free_principal(context, client) }
        var options: UnsafeMutablePointer<krb5_get_init_creds_opt>?
        code = krb5_get_init_creds_opt_alloc(context, &options)
        guard code == 0 else { throw failure(code, "krb5_get_init_creds_opt_alloc") }
        defer { krb5_get_init_creds_opt_free(context, options) }
        var credentials = krb5_creds()
        code = krb5_get_init_creds_password(context, &credentials, client, password, nil, nil, 0, nil, options)
        guard code == 0 else { throw failure(code, "initial credentials") }
        defer { krb5_free_cred_contents(context, &credentials) }

        var keytab: krb5_keytab?
        code = krb5_kt_resolve(context, "FILE:" + settings.keytab, &keytab)
        guard code == 0, let keytab else {
            throw DirectoryError(.configuration, "keytab \(settings.keytab) cannot be used")
        }
        defer { krb5_kt_close(context, keytab) }
        var server: krb5_principal?
        code = krb5_parse_name(context, settings.servicePrincipal, &server)
        guard code == 0, let server else {
            throw DirectoryError(.configuration, "service principal \(settings.servicePrincipal) cannot be parsed")
        }
        defer { krb5_free_principal(context, server) }
        var verifyOptions = krb5_verify_init_creds_opt()
        krb5_verify_init_creds_opt_init(&verifyOptions)
        krb5_verify_init_creds_opt_set_ap_req_nofail(&verifyOptions, 1)  // never skip the keytab check
        code = krb5_verify_init_creds(context, &credentials, server, keytab, nil, &verifyOptions)
        guard code == 0 else { throw failure(code, "verifying the KDC with the keytab") }
        var canonical: UnsafeMutablePointer<CChar>?
        guard krb5_unparse_name(context, credentials.client, &canonical) == 0, let canonical else { throw rejected }
        defer { krb5_free_unparsed_name(context, canonical) }
        return String(cString: canonical)
    }

    /// A krb5 context reading `settings.configFile` (or the system's configuration).
    private func makeContext() throws(DirectoryError) -> krb5_context {
        var context: krb5_context?
        if let file = settings.configFile {
            guard access(file, R_OK) == 0 else {
                throw DirectoryError(.configuration, "Kerberos configuration \(file) cannot be read")
            }
            var profile: profile_t?
            let status = profile_init_path(file, &profile)
            guard status == 0, let profile else {
                throw DirectoryError(.configuration, "Kerberos configuration \(file) cannot be read")
            }
            defer { profile_release(profile) }
            guard krb5_init_context_profile(profile, 0, &context) == 0, let context else {
                throw DirectoryError(.configuration, "Kerberos configuration \(file) cannot be used")
            }
            return context
        }
        guard krb5_init_context(&context) == 0, let context else {
            throw DirectoryError(.configuration, "the system's Kerberos configuration cannot be used")
        }
        return context
    }
}

/// Sign-in where the KDC checks the password (or a ticket proves the person) and the person is either
/// described by the LDAP directory (the usual Active Directory set-up: the account is the LDAP
/// directory's account of that person, so directory sync and Kerberos sign-in never make two accounts of
/// one person) or, without a directory, found by rule among the accounts an administrator created.
public final class KerberosDirectory: Sendable {
    /// Who the people behind principals are.
    public enum People: Sendable {
        /// The LDAP directory's entry of the principal (by `principalAttribute`, else its name in the
        /// sign-in attribute): accounts of source `ldap`, created just in time.
        case ldap(LDAPDirectory)
        /// No directory: `name@DEFAULT.REALM` is the managed ID `name@domain` (lower-cased), an account of
        /// source `kerberos` an administrator created (the KDC knows no names to create one from). Only
        /// the default realm: two realms' `jane` would be one managed ID.
        case byRule(domain: String, managedDomains: ManagedDomains)
    }

    public let verifier: KerberosVerifier
    public let people: People
    private let threads: BlockingPool

    public init(verifier: KerberosVerifier, people: People, threads: Int = 4) throws(DirectoryError) {
        if case .byRule(let domain, let managedDomains) = people {
            guard managedDomains.contains(domain) else {
                throw DirectoryError(.configuration, "'\(domain)' is not a managed domain")
            }
            guard verifier.settings.allowedRealms.allSatisfy({ $0 == verifier.settings.defaultRealm }) else {
                throw DirectoryError(
                    .configuration, "without an LDAP directory only the default realm's principals can sign in")
            }
        }
        self.verifier = verifier
        self.people = people
        self.threads = BlockingPool(name: "krb5", threads: threads)
    }

    private var managedDomains: ManagedDomains {
        switch people {
        case .ldap(let directory): directory.configuration.managedDomains
        case .byRule(_, let managedDomains): managedDomains
        }
    }

    /// The principal a sign-in name stands for: `jane`, `jane@<a managed domain>` and
    /// `jane@DEFAULT.REALM` all mean `jane@DEFAULT.REALM`; `jane@OTHER.REALM` stays itself (and must
    /// be an allowed realm).
    func principal(for name: String) -> String {
        guard let at = name.lastIndex(of: "@") else { return name + "@" + verifier.settings.defaultRealm }
        let suffix = String(name[name.index(after: at)...])
        if managedDomains.contains(suffix) {
            return name[..<at] + "@" + verifier.settings.defaultRealm
        }
        return name
    }
}

extension KerberosDirectory: PasswordDirectory {
    public var source: AccountSource {
        switch people {
        case .ldap: .ldap
        case .byRule: .kerberos
        }
    }

    public func authenticate(_ name: String, password: String) async throws -> DirectoryIdentity {
        let refused = CoreError(.unauthenticated, "sign_in.failed", "wrong name or password")
        let principal = principal(for: name)
        let verified: Result<String, DirectoryError> = await threads.run { [verifier] in
            Result { () throws(DirectoryError) in try verifier.verify(name: principal, password: password) }
        }
        let canonical: String
        do {
            canonical = try verified.get()
        } catch {
            guard error.kind == .rejected else {
                throw CoreError(.unavailable, "directory.unavailable", "Kerberos cannot be used: \(error.message)")
            }
            throw refused
        }
        return try await identity(ofPrincipal: canonical)
    }

    /// The person behind a principal the KDC vouched for (see `People`), as an identity.
    func identity(ofPrincipal canonical: String) async throws -> DirectoryIdentity {
        let refused = CoreError(.unauthenticated, "sign_in.failed", "wrong name or password")
        guard let at = canonical.lastIndex(of: "@") else { throw refused }
        let realm = String(canonical[canonical.index(after: at)...])
        guard verifier.settings.realms.contains(realm) else { throw refused }
        let profiles: LDAPDirectory
        switch people {
        case .ldap(let directory):
            profiles = directory
        case .byRule(let domain, let managedDomains):
            guard realm == verifier.settings.defaultRealm,
                let managedID = try? ManagedAccountID(
                    canonical[..<at].lowercased() + "@" + domain, managedDomains: managedDomains)
            else { throw refused }
            return .signInOnly(source: .kerberos, externalID: canonical, managedID: managedID)
        }
        // A bare name means the same person only in the default realm: jane@OTHER.REALM is not the
        // directory's jane. Other realms need an attribute holding the whole principal.
        guard realm == verifier.settings.defaultRealm || verifier.settings.principalAttribute != nil else {
            throw refused
        }
        let person: DirectoryPerson?
        do {
            if let attribute = verifier.settings.principalAttribute {
                person = try await profiles.person(attribute: attribute, equals: canonical)
            } else {
                person = try await profiles.person(username: String(canonical[..<at]))
            }
        } catch {
            guard error.kind == .invalidEntry else {
                throw CoreError(.unavailable, "directory.unavailable", "the directory cannot be used: \(error.message)")
            }
            throw refused
        }
        guard let person, !person.isDisabled else { throw refused }
        return DirectoryIdentity(
            source: .ldap, externalID: person.stableID, managedID: person.managedID, givenName: person.givenName,
            familyName: person.familyName, email: person.email, employeeNumber: person.employeeNumber,
            department: person.department, roles: person.roles)
    }
}

extension KerberosDirectory: TicketDirectory {
    /// SPNEGO: the ticket in the token, accepted with the service keytab, names the principal; the
    /// person behind it is found as for a password sign-in.
    public func authenticate(negotiateToken: [UInt8]) async throws -> (identity: DirectoryIdentity, reply: [UInt8]?) {
        let acceptor = NegotiateAcceptor(keytab: verifier.settings.keytab)
        let accepted: Result<(principal: String, reply: [UInt8]?), DirectoryError> = await threads.run {
            Result { () throws(DirectoryError) in try acceptor.accept(negotiateToken) }
        }
        switch accepted {
        case .success(let (principal, reply)):
            return (try await identity(ofPrincipal: principal), reply)
        case .failure(let error) where error.kind == .configuration:
            throw CoreError(.unavailable, "directory.unavailable", "Kerberos cannot be used: \(error.message)")
        case .failure:
            throw CoreError(.unauthenticated, "sign_in.failed", "the Negotiate token was not accepted")
        }
    }
}
