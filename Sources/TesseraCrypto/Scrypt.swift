internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// scrypt (RFC 7914) through OpenSSL 3's `EVP_KDF` "SCRYPT". Blocking and memory-hungry: call it from a
/// `BlockingPool` thread, never from the cooperative pool.
enum Scrypt {
    /// Bytes scrypt needs for `n`, `r`, `p`, computed as OpenSSL does (V: 128·r·(N+2), B: 128·r·p).
    static func memoryRequired(n: UInt64, r: UInt32, p: UInt32) -> UInt64 {
        128 * UInt64(r) * (n + 2) + 128 * UInt64(r) * UInt64(p)
    }

    /// Derives `keyLength` bytes. `maxmem` is set to exactly what these parameters need (plus slack), so
    /// OpenSSL's 32 MiB default does not reject OWASP parameters; callers bound the parameters first.
    static func deriveKey(
        password: [UInt8], salt: [UInt8], n: UInt64, r: UInt32, p: UInt32, keyLength: Int
    ) throws(CryptoError) -> [UInt8] {
        precondition(keyLength > 0)
        ERR_clear_error()
        guard let kdf = EVP_KDF_fetch(nil, "SCRYPT", nil) else { throw CryptoError.openSSL("EVP_KDF_fetch(SCRYPT)") }
        defer { EVP_KDF_free(kdf) }
        guard let context = EVP_KDF_CTX_new(kdf) else { throw CryptoError.openSSL("EVP_KDF_CTX_new") }
        defer { EVP_KDF_CTX_free(context) }

        // OSSL_PARAM keeps raw pointers to its key names and values: keep them alive in one scope.
        let names = CStrings([
            OSSL_KDF_PARAM_PASSWORD, OSSL_KDF_PARAM_SALT, OSSL_KDF_PARAM_SCRYPT_N, OSSL_KDF_PARAM_SCRYPT_R,
            OSSL_KDF_PARAM_SCRYPT_P, OSSL_KDF_PARAM_SCRYPT_MAXMEM,
        ])
        var nValue = n
        var rValue = r
        var pValue = p
        var maxmem = memoryRequired(n: n, r: r, p: p) + (1 << 20)
        // OpenSSL rejects a NULL octet-string pointer even for length 0; give it a valid one.
        var passwordBytes = password.isEmpty ? [0] : password
        var saltBytes = salt.isEmpty ? [0] : salt
        defer { passwordBytes.withUnsafeMutableBytes { zeroize($0) } }
        var key = [UInt8](repeating: 0, count: keyLength)

        let status = passwordBytes.withUnsafeMutableBytes { passwordBuffer in
            saltBytes.withUnsafeMutableBytes { saltBuffer in
                withUnsafeMutablePointer(to: &nValue) { nPointer in
                    withUnsafeMutablePointer(to: &rValue) { rPointer in
                        withUnsafeMutablePointer(to: &pValue) { pPointer in
                            withUnsafeMutablePointer(to: &maxmem) { maxmemPointer in
                                var params = [
                                    OSSL_PARAM_construct_octet_string(
                                        names[0], passwordBuffer.baseAddress, password.count),
                                    OSSL_PARAM_construct_octet_string(names[1], saltBuffer.baseAddress, salt.count),
                                    OSSL_PARAM_construct_uint64(names[2], nPointer),
                                    OSSL_PARAM_construct_uint32(names[3], rPointer),
                                    OSSL_PARAM_construct_uint32(names[4], pPointer),
                                    OSSL_PARAM_construct_uint64(names[5], maxmemPointer),
                                    OSSL_PARAM_construct_end(),
                                ]
                                return withExtendedLifetime(names) {
                                    key.withUnsafeMutableBufferPointer { output in
                                        EVP_KDF_derive(context, output.baseAddress, keyLength, &params)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        guard status == 1 else { throw CryptoError.openSSL("EVP_KDF_derive(SCRYPT)") }
        return key
    }

    static func zeroize(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        OPENSSL_cleanse(base, buffer.count)
    }
}

/// NUL-terminated copies of strings whose addresses stay valid for the object's lifetime.
private final class CStrings {
    private let pointers: [UnsafeMutablePointer<CChar>]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0)! }
    }

    subscript(index: Int) -> UnsafePointer<CChar> { UnsafePointer(pointers[index]) }

    deinit {
        for pointer in pointers { free(pointer) }
    }
}
