internal import CLDAP
internal import CTesseraShims

#if canImport(Glibc)
    import Glibc
#endif

/// How to reach a directory server.
public struct LDAPSettings: Sendable, Equatable {
    /// How the connection is protected.
    public enum Transport: String, Sendable {
        /// `ldaps://`: TLS from the first byte.
        case ldaps
        /// `ldap://` upgraded with StartTLS (RFC 4513 §3) before anything else is sent.
        case startTLS
        /// `ldap://` without TLS: passwords travel in clear, so only to a loopback address.
        case plaintext
    }

    /// `ldap://host[:port]` or `ldaps://host[:port]`, one server.
    public var uri: String
    public var transport: Transport
    /// PEM file of the certificate authorities to trust; nil: the system's.
    public var caFile: String?
    /// Time to establish the TCP connection (and TLS).
    public var connectTimeout: Duration
    /// Time the server has to answer one operation.
    public var operationTimeout: Duration

    public init(
        uri: String, transport: Transport, caFile: String? = nil, connectTimeout: Duration = .seconds(5),
        operationTimeout: Duration = .seconds(10)
    ) {
        self.uri = uri
        self.transport = transport
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
    }

    /// The scheme, host and whether the host is a loopback address; nil for anything but one
    /// `ldap://` or `ldaps://` URI with a host.
    var parsedURI: (scheme: String, host: String, isLoopback: Bool)? {
        let lower = uri.lowercased()
        let scheme: String
        if lower.hasPrefix("ldaps://") {
            scheme = "ldaps"
        } else if lower.hasPrefix("ldap://") {
            scheme = "ldap"
        } else {
            return nil
        }
        var rest = uri.dropFirst(scheme.count + 3)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard !rest.isEmpty, !rest.contains(" "), !rest.contains(",") else { return nil }
        let host: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
        } else {
            host = rest.split(separator: ":", maxSplits: 1).first ?? rest
        }
        guard !host.isEmpty else { return nil }
        let name = String(host).lowercased()
        let isLoopback = name == "localhost" || name == "::1" || name.hasPrefix("127.")
        return (scheme, name, isLoopback)
    }

    /// Checks that the URI and transport agree and that passwords never cross a network in clear.
    public func validate() throws(LDAPError) {
        guard let parsed = parsedURI else {
            throw LDAPError(.configuration, "\(uri) is not an ldap:// or ldaps:// URI with a host")
        }
        switch (transport, parsed.scheme) {
        case (.ldaps, "ldaps"), (.startTLS, "ldap"): break
        case (.plaintext, "ldap"):
            guard parsed.isLoopback else {
                throw LDAPError(
                    .configuration, "plain LDAP to \(parsed.host) would send passwords in clear: use StartTLS or ldaps")
            }
        default:
            throw LDAPError(.configuration, "transport \(transport.rawValue) does not fit \(uri)")
        }
        guard connectTimeout > .zero, operationTimeout > .zero else {
            throw LDAPError(.configuration, "LDAP timeouts must be positive")
        }
    }
}

/// One entry of a search result. Attribute names are lower-cased (LDAP compares them without case).
public struct LDAPEntry: Sendable, Equatable {
    public var dn: String
    public var attributes: [String: [[UInt8]]]

    public init(dn: String, attributes: [String: [[UInt8]]]) {
        self.dn = dn
        self.attributes = attributes
    }

    public func values(_ name: String) -> [[UInt8]] {
        // Names are usually asked for as written in the mapping (`givenName`): avoid lower-casing when
        // the entry's lower-cased key is the name itself.
        attributes[name] ?? attributes[name.lowercased()] ?? []
    }

    /// The values that are valid UTF-8 (LDAP strings are).
    public func strings(_ name: String) -> [String] {
        values(name).compactMap { String(validating: $0, as: UTF8.self) }
    }

    /// The first value that is valid UTF-8.
    public func string(_ name: String) -> String? {
        for value in values(name) {
            if let text = String(validating: value, as: UTF8.self) { return text }
        }
        return nil
    }
}

/// One libldap handle: connected, protected as its settings say, bound as whoever bound last.
///
/// Every call blocks (libldap's synchronous API): run them on a blocking pool, never on an event loop
/// or the cooperative pool. A handle is used by one thread at a time; it is not `Sendable`.
public final class LDAPConnection {
    public enum Scope: Int32, Sendable {
        // LDAP_SCOPE_* are cast macros Swift does not import.
        case base = 0
        case oneLevel = 1
        case subtree = 2
    }

    public let settings: LDAPSettings
    private let handle: OpaquePointer
    private static let ignoringSIGPIPE: Void = tessera_ignore_sigpipe()

    /// Opens the handle and, for StartTLS, upgrades the connection at once (so a server that cannot
    /// do TLS fails here, before any password is sent).
    public init(_ settings: LDAPSettings) throws(LDAPError) {
        try settings.validate()
        // libldap writes to its socket with plain send(): a server that went away must not end the process.
        _ = Self.ignoringSIGPIPE
        self.settings = settings
        var handle: OpaquePointer?
        let status = ldap_initialize(&handle, settings.uri)
        guard status == LDAP_SUCCESS, let handle else {
            throw LDAPError(code: status, operation: "ldap_initialize", diagnostic: nil)
        }
        self.handle = handle
        // From here on a throw runs `deinit`, which releases the handle.
        try configure()
        if settings.transport == .startTLS {
            try check(ldap_start_tls_s(handle, nil, nil), "StartTLS")
        }
    }

    deinit {
        ldap_unbind_ext_s(handle, nil, nil)
    }

    private func configure() throws(LDAPError) {
        var version = LDAP_VERSION3
        try setOption(LDAP_OPT_PROTOCOL_VERSION, &version, "protocol version")
        // Referrals are never chased: they would send the bind to a server nobody configured.
        try check(ldap_set_option(handle, LDAP_OPT_REFERRALS, nil), "ldap_set_option(referrals)")
        var connect = Self.timeval(settings.connectTimeout)
        try setOption(LDAP_OPT_NETWORK_TIMEOUT, &connect, "network timeout")
        var operation = Self.timeval(settings.operationTimeout)
        try setOption(LDAP_OPT_TIMEOUT, &operation, "operation timeout")
        guard settings.transport != .plaintext else { return }
        // TLS options set on this handle take effect with a new TLS context for it.
        var demand = LDAP_OPT_X_TLS_DEMAND
        try setOption(LDAP_OPT_X_TLS_REQUIRE_CERT, &demand, "require certificate")
        var minimum: Int32 = 0x303  // LDAP_OPT_X_TLS_PROTOCOL_TLS1_2
        try setOption(LDAP_OPT_X_TLS_PROTOCOL_MIN, &minimum, "minimum TLS version")
        if let caFile = settings.caFile {
            guard access(caFile, R_OK) == 0 else {
                throw LDAPError(.configuration, "CA file \(caFile) cannot be read")
            }
            try check(ldap_set_option(handle, LDAP_OPT_X_TLS_CACERTFILE, caFile), "ldap_set_option(CA file)")
        }
        var isServer: Int32 = 0
        try setOption(LDAP_OPT_X_TLS_NEWCTX, &isServer, "TLS context")
    }

    private func setOption<T>(_ option: Int32, _ value: inout T, _ what: String) throws(LDAPError) {
        try check(
            withUnsafeMutablePointer(to: &value) { ldap_set_option(handle, option, $0) }, "ldap_set_option(\(what))")
    }

    /// A simple bind (RFC 4513 §5.1.3). An empty password is refused before anything is sent: servers
    /// treat it as an unauthenticated bind and answer "success".
    public func bind(dn: String, password: String) throws(LDAPError) {
        guard !password.isEmpty else { throw LDAPError(.invalidCredentials, "empty password refused") }
        guard !dn.isEmpty else { throw LDAPError(.invalidCredentials, "empty bind DN refused") }
        var bytes = Array(password.utf8)
        defer { for index in bytes.indices { bytes[index] = 0 } }
        let status = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var credential = berval(
                bv_len: ber_len_t(buffer.count),
                bv_val: UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self))
            return ldap_sasl_bind_s(handle, dn, nil, &credential, nil, nil, nil)
        }
        try check(status, "bind")
    }

    /// A search; every entry with the attributes asked for (and no others). More than `sizeLimit`
    /// entries is `.sizeLimitExceeded`.
    public func search(
        base: String, scope: Scope = .subtree, filter: String, attributes: [String], sizeLimit: Int = 0
    ) throws(LDAPError) -> [LDAPEntry] {
        // libldap wants a NULL-terminated char** it does not modify.
        let names = attributes.map { strdup($0) } + [nil]
        defer { for name in names { free(name) } }
        var timeout = Self.timeval(settings.operationTimeout)
        var result: OpaquePointer?
        let status = names.withUnsafeBufferPointer { names in
            ldap_search_ext_s(
                handle, base, scope.rawValue, filter, UnsafeMutablePointer(mutating: names.baseAddress), 0, nil, nil,
                &timeout, Int32(clamping: sizeLimit), &result)
        }
        defer { if let result { ldap_msgfree(result) } }
        try check(status, "search")
        return try entries(of: result)
    }

    /// A search in pages of `pageSize` entries (the simple paged results control, RFC 2696), each
    /// page handed to `body` as it arrives, so a directory of any size is read in bounded memory.
    public func pagedSearch(
        base: String, scope: Scope = .subtree, filter: String, attributes: [String], pageSize: Int = 500,
        _ body: ([LDAPEntry]) throws -> Void
    ) throws {
        let names = attributes.map { strdup($0) } + [nil]
        defer { for name in names { free(name) } }
        var cookie = berval(bv_len: 0, bv_val: nil)
        defer { if cookie.bv_val != nil { ber_memfree(cookie.bv_val) } }
        repeat {
            var request: UnsafeMutablePointer<LDAPControl>?
            let created = withUnsafeMutablePointer(to: &cookie) { cookie in
                ldap_create_page_control(
                    handle, ber_int_t(clamping: pageSize), cookie.pointee.bv_len > 0 ? cookie : nil, 1, &request)
            }
            try check(created, "paged search control")
            defer { ldap_control_free(request) }
            var timeout = Self.timeval(settings.operationTimeout)
            var result: OpaquePointer?
            var controls: [UnsafeMutablePointer<LDAPControl>?] = [request, nil]
            let status = names.withUnsafeBufferPointer { names in
                controls.withUnsafeMutableBufferPointer { controls in
                    ldap_search_ext_s(
                        handle, base, scope.rawValue, filter, UnsafeMutablePointer(mutating: names.baseAddress), 0,
                        controls.baseAddress, nil, &timeout, 0, &result)
                }
            }
            defer { if let result { ldap_msgfree(result) } }
            try check(status, "paged search")
            var code: Int32 = 0
            var returned: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
            try check(ldap_parse_result(handle, result, &code, nil, nil, nil, &returned, 0), "paged search result")
            defer { if let returned { ldap_controls_free(returned) } }
            try check(code, "paged search")
            try body(try entries(of: result))
            if cookie.bv_val != nil {
                ber_memfree(cookie.bv_val)
                cookie = berval(bv_len: 0, bv_val: nil)
            }
            // No paged-results response (or an empty cookie) means this was the last page.
            if let response = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, returned, nil) {
                var count: ber_int_t = 0
                try check(ldap_parse_pageresponse_control(handle, response, &count, &cookie), "paged search cookie")
            }
        } while cookie.bv_len > 0
    }

    private func entries(of result: OpaquePointer?) throws(LDAPError) -> [LDAPEntry] {
        var entries: [LDAPEntry] = []
        var entry = ldap_first_entry(handle, result)
        while let current = entry {
            entries.append(try read(current))
            entry = ldap_next_entry(handle, current)
        }
        return entries
    }

    private func read(_ entry: OpaquePointer) throws(LDAPError) -> LDAPEntry {
        guard let dnPointer = ldap_get_dn(handle, entry) else {
            throw LDAPError(.failed, "search: an entry without a DN")
        }
        let dn = String(cString: dnPointer)
        ldap_memfree(dnPointer)
        var attributes: [String: [[UInt8]]] = [:]
        var ber: OpaquePointer?
        var name = ldap_first_attribute(handle, entry, &ber)
        while let current = name {
            var values: [[UInt8]] = []
            if let list = ldap_get_values_len(handle, entry, current) {
                var index = 0
                while let value = list[index] {
                    let length = Int(value.pointee.bv_len)
                    values.append(
                        length == 0
                            ? []
                            : Array(UnsafeRawBufferPointer(start: value.pointee.bv_val, count: length)))
                    index += 1
                }
                ldap_value_free_len(list)
            }
            attributes[String(cString: current).lowercased(), default: []].append(contentsOf: values)
            ldap_memfree(current)
            name = ldap_next_attribute(handle, entry, ber)
        }
        if let ber { ber_free(ber, 0) }
        return LDAPEntry(dn: dn, attributes: attributes)
    }

    private func check(_ status: Int32, _ operation: String) throws(LDAPError) {
        guard status != LDAP_SUCCESS else { return }
        throw LDAPError(code: status, operation: operation, diagnostic: diagnosticMessage())
    }

    private func diagnosticMessage() -> String? {
        var message: UnsafeMutablePointer<CChar>?
        guard ldap_get_option(handle, LDAP_OPT_DIAGNOSTIC_MESSAGE, &message) == LDAP_OPT_SUCCESS, let message else {
            return nil
        }
        defer { ldap_memfree(message) }
        return String(cString: message)
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
