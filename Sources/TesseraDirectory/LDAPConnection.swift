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
///
/// The values are kept in one buffer an entry, not an array each: a directory sync reads every entry
/// of a directory, and allocations were most of its cost.
public struct LDAPEntry: Sendable, Equatable {
    public var dn: String
    /// Attribute names (lower-cased) and values, back to back.
    private var bytes: [UInt8] = []
    /// One row a value: where its attribute's name and the value itself are in `bytes`.
    private var rows: [(name: Range<Int>, value: Range<Int>)] = []

    public init(dn: String, attributes: [String: [[UInt8]]] = [:]) {
        self.dn = dn
        self.attributes = attributes
    }

    /// Every attribute and its values. Reading builds a dictionary: a caller after one attribute asks
    /// `values`, `strings` or `string`.
    public var attributes: [String: [[UInt8]]] {
        get {
            var attributes: [String: [[UInt8]]] = [:]
            for row in rows {
                attributes[String(decoding: bytes[row.name], as: UTF8.self), default: []].append(
                    Array(bytes[row.value]))
            }
            return attributes
        }
        set {
            bytes = []
            rows = []
            for (name, values) in newValue.sorted(by: { $0.key < $1.key }) {
                var text = name
                let name = text.withUTF8 { appendName(UnsafeRawBufferPointer($0)) }
                for value in values { value.withUnsafeBytes { appendValue($0, of: name) } }
            }
        }
    }

    /// Appends an attribute name (lower-cased); returns where it is, for its values.
    mutating func appendName(_ name: UnsafeRawBufferPointer) -> Range<Int> {
        let start = bytes.count
        for byte in name { bytes.append(byte &- 0x41 < 26 ? byte | 0x20 : byte) }
        return start..<bytes.count
    }

    mutating func appendValue(_ value: UnsafeRawBufferPointer, of name: Range<Int>) {
        let start = bytes.count
        bytes.append(contentsOf: value)
        rows.append((name, start..<bytes.count))
    }

    /// Where the values of attribute `name` (any case) are.
    private func valueRanges(_ name: String) -> [Range<Int>] {
        var found: [Range<Int>] = []
        for row in rows where isName(row.name, name) { found.append(row.value) }
        return found
    }

    private func isName(_ range: Range<Int>, _ name: String) -> Bool {
        guard range.count == name.utf8.count else { return false }
        var offset = range.lowerBound
        for byte in name.utf8 {
            guard bytes[offset] == (byte &- 0x41 < 26 ? byte | 0x20 : byte) else { return false }
            offset += 1
        }
        return true
    }

    public func values(_ name: String) -> [[UInt8]] {
        valueRanges(name).map { Array(bytes[$0]) }
    }

    /// The values that are valid UTF-8 (LDAP strings are).
    public func strings(_ name: String) -> [String] {
        valueRanges(name).compactMap { string(at: $0) }
    }

    /// The first value that is valid UTF-8.
    public func string(_ name: String) -> String? {
        for row in rows where isName(row.name, name) {
            if let text = string(at: row.value) { return text }
        }
        return nil
    }

    /// The values of `name` when the server sent them as a range (`member;range=0-1499`: Active
    /// Directory sends at most MaxValRange values of an attribute at once), with the index of the first
    /// value not sent; `next` is nil when the range was the last (`member;range=1500-*`). Nil when the
    /// entry has no ranged values of `name`.
    public func rangedStrings(_ name: String) -> (values: [String], next: Int?)? {
        let prefix = Array(name.lowercased().utf8) + Array(";range=".utf8)
        guard let row = rows.first(where: { bytes[$0.name].starts(with: prefix) }) else { return nil }
        let bounds = bytes[row.name].dropFirst(prefix.count).split(separator: UInt8(ascii: "-"))
        guard bounds.count == 2, let low = Int(String(decoding: bounds[0], as: UTF8.self)) else { return nil }
        let high = String(decoding: bounds[1], as: UTF8.self)
        let next: Int?
        if high == "*" {
            next = nil
        } else {
            guard let last = Int(high), last >= low else { return nil }
            next = last + 1
        }
        let values = rows.filter { bytes[$0.name] == bytes[row.name] }.compactMap { string(at: $0.value) }
        return (values, next)
    }

    private func string(at range: Range<Int>) -> String? {
        bytes.withUnsafeBufferPointer { String(validating: $0[range], as: UTF8.self) }
    }

    public static func == (lhs: LDAPEntry, rhs: LDAPEntry) -> Bool {
        lhs.dn == rhs.dn && lhs.attributes == rhs.attributes
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
    ///
    /// The request for the next page is sent before `body` sees the current one, so the server works
    /// on the next page while the caller works on this one. If `body` throws, the outstanding request
    /// is abandoned.
    public func pagedSearch(
        base: String, scope: Scope = .subtree, filter: String, attributes: [String], pageSize: Int = 500,
        _ body: ([LDAPEntry]) throws -> Void
    ) throws {
        let names = attributes.map { strdup($0) } + [nil]
        defer { for name in names { free(name) } }
        var cookie = berval(bv_len: 0, bv_val: nil)
        defer { if cookie.bv_val != nil { ber_memfree(cookie.bv_val) } }
        /// Sends the request for the page after `cookie`; returns its message id.
        func requestPage() throws(LDAPError) -> Int32 {
            var request: UnsafeMutablePointer<LDAPControl>?
            let created = withUnsafeMutablePointer(to: &cookie) { cookie in
                ldap_create_page_control(
                    handle, ber_int_t(clamping: pageSize), cookie.pointee.bv_len > 0 ? cookie : nil, 1, &request)
            }
            try check(created, "paged search control")
            defer { ldap_control_free(request) }
            var timeout = Self.timeval(settings.operationTimeout)
            var controls: [UnsafeMutablePointer<LDAPControl>?] = [request, nil]
            var id: Int32 = 0
            let status = names.withUnsafeBufferPointer { names in
                controls.withUnsafeMutableBufferPointer { controls in
                    ldap_search_ext(
                        handle, base, scope.rawValue, filter, UnsafeMutablePointer(mutating: names.baseAddress), 0,
                        controls.baseAddress, nil, &timeout, 0, &id)
                }
            }
            try check(status, "paged search")
            return id
        }
        var pending = try requestPage()
        while true {
            let result = try receiveAll(pending, "paged search")
            defer { ldap_msgfree(result) }
            var code: Int32 = 0
            var returned: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
            try check(ldap_parse_result(handle, result, &code, nil, nil, nil, &returned, 0), "paged search result")
            defer { if let returned { ldap_controls_free(returned) } }
            try check(code, "paged search")
            if cookie.bv_val != nil {
                ber_memfree(cookie.bv_val)
                cookie = berval(bv_len: 0, bv_val: nil)
            }
            // No paged-results response (or an empty cookie) means this was the last page.
            if let response = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, returned, nil) {
                var count: ber_int_t = 0
                try check(ldap_parse_pageresponse_control(handle, response, &count, &cookie), "paged search cookie")
            }
            let more = cookie.bv_len > 0
            if more { pending = try requestPage() }
            do {
                try body(try entries(of: result))
            } catch {
                if more { ldap_abandon_ext(handle, pending, nil, nil) }
                throw error
            }
            guard more else { return }
        }
    }

    /// Waits for every message of request `id` (within the operation timeout; a request that times
    /// out is abandoned).
    private func receiveAll(_ id: Int32, _ operation: String) throws(LDAPError) -> OpaquePointer {
        var timeout = Self.timeval(settings.operationTimeout)
        var result: OpaquePointer?
        let kind = ldap_result(handle, id, LDAP_MSG_ALL, &timeout, &result)
        if kind > 0, let result { return result }
        if let result { ldap_msgfree(result) }
        var code: Int32 = LDAP_TIMEOUT  // 0: nothing came in time
        if kind < 0 {
            _ = ldap_get_option(handle, LDAP_OPT_RESULT_CODE, &code)
            if code == LDAP_SUCCESS { code = LDAP_OTHER }
        }
        if code == LDAP_TIMEOUT { ldap_abandon_ext(handle, id, nil, nil) }
        throw LDAPError(code: code, operation: operation, diagnostic: diagnosticMessage())
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

    /// Decodes an entry in place (`ldap_get_dn_ber`, `ldap_get_attribute_ber`: values are not copied
    /// by libldap, only once into the entry).
    private func read(_ entry: OpaquePointer) throws(LDAPError) -> LDAPEntry {
        var ber: OpaquePointer?
        var dn = berval(bv_len: 0, bv_val: nil)
        try check(ldap_get_dn_ber(handle, entry, &ber, &dn), "search entry")
        defer { if let ber { ber_free(ber, 0) } }
        var result = LDAPEntry(dn: String(decoding: Self.bytes(dn), as: UTF8.self))
        while true {
            var name = berval(bv_len: 0, bv_val: nil)
            var values: UnsafeMutablePointer<berval>?
            try check(ldap_get_attribute_ber(handle, entry, ber, &name, &values), "search entry")
            guard name.bv_val != nil else { break }  // no more attributes
            defer { if let values { ber_memfree(values) } }
            let nameRange = result.appendName(Self.bytes(name))
            guard let values else { continue }
            var index = 0
            while values[index].bv_val != nil {
                result.appendValue(Self.bytes(values[index]), of: nameRange)
                index += 1
            }
        }
        return result
    }

    private static func bytes(_ value: berval) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: value.bv_val, count: Int(value.bv_len))
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
