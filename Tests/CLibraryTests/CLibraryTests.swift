import CKerberos
import CLDAP
import COpenSSL
import CPostgres
import CSQLite
import Testing

/// Smoke tests: each system-library module imports, links, and answers a basic call.
@Suite struct CLibraryTests {
    @Test func openSSLIsVersion3() {
        let version = OpenSSL_version_num()
        #expect(version >= 0x3000_0000)
        let text = String(cString: OpenSSL_version(Int32(OPENSSL_VERSION)))
        #expect(text.hasPrefix("OpenSSL 3"))
    }

    @Test func sqliteInMemory() throws {
        var database: OpaquePointer?
        #expect(sqlite3_open(":memory:", &database) == SQLITE_OK)
        defer { sqlite3_close(database) }
        var statement: OpaquePointer?
        #expect(sqlite3_prepare_v2(database, "select sqlite_version()", -1, &statement, nil) == SQLITE_OK)
        defer { sqlite3_finalize(statement) }
        #expect(sqlite3_step(statement) == SQLITE_ROW)
        let version = String(cString: try #require(sqlite3_column_text(statement, 0)))
        #expect(version.hasPrefix("3."))
        #expect(version == String(cString: sqlite3_libversion()))
    }

    @Test func libpqVersionAndRefusedConnection() throws {
        #expect(PQlibVersion() >= 150000)
        // Port 1 on loopback is closed: the connection must fail cleanly, not hang or crash.
        let connection = try #require(
            PQconnectdb(
                "host=127.0.0.1 port=1 dbname=none user=none connect_timeout=5 sslmode=disable gssencmode=disable"))
        defer { PQfinish(connection) }
        #expect(PQstatus(connection) == CONNECTION_BAD)
        let message = String(cString: PQerrorMessage(connection))
        #expect(!message.isEmpty)
    }

    @Test func openLDAPInitialiseAndOptions() throws {
        var protocolVersion: Int32 = 0
        #expect(ldap_get_option(nil, LDAP_OPT_PROTOCOL_VERSION, &protocolVersion) == LDAP_OPT_SUCCESS)
        #expect(protocolVersion == 2 || protocolVersion == 3)

        var apiInfo = LDAPAPIInfo()
        apiInfo.ldapai_info_version = LDAP_API_INFO_VERSION
        #expect(ldap_get_option(nil, LDAP_OPT_API_INFO, &apiInfo) == LDAP_OPT_SUCCESS)
        #expect(apiInfo.ldapai_vendor_version >= 20500)
        if let vendor = apiInfo.ldapai_vendor_name {
            #expect(String(cString: vendor) == "OpenLDAP")
            ldap_memfree(vendor)
        }
        if let extensions = apiInfo.ldapai_extensions {
            ldap_memvfree(UnsafeMutableRawPointer(extensions).assumingMemoryBound(to: UnsafeMutableRawPointer?.self))
        }

        // ldap_initialize only parses the URI; nothing connects until the first operation.
        var handle: OpaquePointer?
        #expect(ldap_initialize(&handle, "ldap://127.0.0.1:1") == LDAP_SUCCESS)
        #expect(handle != nil)
        var version3 = Int32(LDAP_VERSION3)
        #expect(ldap_set_option(handle, LDAP_OPT_PROTOCOL_VERSION, &version3) == LDAP_OPT_SUCCESS)
        #expect(ldap_unbind_ext(handle, nil, nil) == LDAP_SUCCESS)
    }

    @Test func kerberosContext() throws {
        var context: krb5_context?
        #expect(krb5_init_context(&context) == 0)
        let ctx = try #require(context)
        var principal: krb5_principal?
        #expect(krb5_parse_name(ctx, "tessera/host.example.test@EXAMPLE.TEST", &principal) == 0)
        var unparsed: UnsafeMutablePointer<CChar>?
        #expect(krb5_unparse_name(ctx, principal, &unparsed) == 0)
        #expect(unparsed.map { String(cString: $0) } == "tessera/host.example.test@EXAMPLE.TEST")
        krb5_free_unparsed_name(ctx, unparsed)
        krb5_free_principal(ctx, principal)
        krb5_free_context(ctx)
    }

    @Test func gssapiDisplayStatusAndImportName() {
        var minor: OM_uint32 = 0
        var messageContext: OM_uint32 = 0
        var buffer = gss_buffer_desc()
        // GSS_S_BAD_NAME is (2 << 16); the macro does not import.
        let badName: OM_uint32 = 2 << 16
        let major = gss_display_status(&minor, badName, Int32(GSS_C_GSS_CODE), nil, &messageContext, &buffer)
        #expect(major == 0)
        let text = String(
            decoding: UnsafeRawBufferPointer(start: buffer.value, count: buffer.length), as: UTF8.self)
        #expect(text.lowercased().contains("name"))
        _ = gss_release_buffer(&minor, &buffer)

        var input = gss_buffer_desc()
        var nameBytes = Array("host@example.test".utf8)
        var name: gss_name_t?
        let importStatus = nameBytes.withUnsafeMutableBytes { bytes in
            input.length = bytes.count
            input.value = bytes.baseAddress
            return gss_import_name(&minor, &input, nil, &name)
        }
        #expect(importStatus == 0)
        #expect(name != nil)
        _ = gss_release_name(&minor, &name)
    }
}
