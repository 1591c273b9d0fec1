internal import CKerberos

/// SPNEGO (RFC 4559): a browser's `Authorization: Negotiate` token, accepted with the service keytab
/// through GSSAPI. The token carries a Kerberos ticket for our service principal, which only the KDC
/// that holds the keytab's key can have issued; accepting it needs no round trip to the KDC.
///
/// Blocking (it reads the keytab): run it on a blocking pool. Each call has its own GSSAPI context.
public struct NegotiateAcceptor: Sendable {
    public let keytab: String

    public init(keytab: String) {
        self.keytab = keytab
    }

    /// The principal (`name@REALM`) the token proves, and a token to send back (mutual authentication),
    /// if GSSAPI produced one.
    /// - Throws: `.rejected` for a token that does not complete a Kerberos exchange (malformed, for
    ///   another service, expired, replayed, or an exchange needing more rounds, as NTLM would);
    ///   `.configuration` when the keytab cannot be used.
    public func accept(_ token: [UInt8]) throws(DirectoryError) -> (principal: String, reply: [UInt8]?) {
        let rejected = DirectoryError(.rejected, "the Negotiate token was not accepted")
        guard !token.isEmpty, token.count <= 64 * 1024 else { throw rejected }
        var minor: OM_uint32 = 0
        var credentials: gss_cred_id_t?
        let acquired = "keytab".withCString { key in
            keytab.withCString { value in
                var element = gss_key_value_element_desc(key: key, value: value)
                return withUnsafeMutablePointer(to: &element) { element in
                    var store = gss_key_value_set_desc(count: 1, elements: element)
                    return gss_acquire_cred_from(
                        &minor, nil, 0xFFFF_FFFF, nil, 2 /* GSS_C_ACCEPT */, &store, &credentials, nil, nil)
                }
            }
        }
        guard acquired == 0, credentials != nil else {
            throw DirectoryError(.configuration, "keytab \(keytab) cannot be used to accept Kerberos tickets")
        }
        defer { gss_release_cred(&minor, &credentials) }

        var context: gss_ctx_id_t?
        defer { if context != nil { gss_delete_sec_context(&minor, &context, nil) } }
        var source: gss_name_t?
        defer { if source != nil { gss_release_name(&minor, &source) } }
        var output = gss_buffer_desc()
        defer { gss_release_buffer(&minor, &output) }
        var input = token
        let major = input.withUnsafeMutableBytes { bytes in
            var buffer = gss_buffer_desc(length: bytes.count, value: bytes.baseAddress)
            return gss_accept_sec_context(
                &minor, &context, credentials, &buffer, nil, &source, nil, &output, nil, nil, nil)
        }
        guard major == 0 /* GSS_S_COMPLETE */, let source else { throw rejected }
        var name = gss_buffer_desc()
        defer { gss_release_buffer(&minor, &name) }
        guard gss_display_name(&minor, source, &name, nil) == 0, let value = name.value, name.length > 0 else {
            throw rejected
        }
        let principal = String(decoding: UnsafeRawBufferPointer(start: value, count: name.length), as: UTF8.self)
        let reply =
            output.length > 0 && output.value != nil
            ? Array(UnsafeRawBufferPointer(start: output.value, count: output.length)) : nil
        return (principal, reply)
    }
}
