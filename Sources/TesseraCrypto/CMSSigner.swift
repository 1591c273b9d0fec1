internal import COpenSSL
internal import CTesseraShims

/// Signs content as CMS SignedData (RFC 5652) with the content attached, as Apple devices expect of a
/// signed configuration profile: OpenSSL's `CMS_sign` with `CMS_BINARY` (the bytes exactly as given),
/// SHA-256, the signer's certificate and its chain included so a device can build the path.
///
/// `@unchecked Sendable`: the certificate, key and chain are never modified after `init`, and
/// `CMS_sign` only reads them (OpenSSL 3 allows concurrent use of such objects).
public final class CMSSigner: @unchecked Sendable {
    private let certificate: OpaquePointer
    /// The certificates after the signer's (intermediates), possibly none.
    private let chain: OpaquePointer
    private let key: EVPKey

    /// The longest PEM text accepted for a certificate chain or a key.
    static let maximumPEMLength = 256 * 1024

    /// - Parameters:
    ///   - certificatePEM: the signer's certificate, then any intermediates (PEM, in order).
    ///   - keyPEM: the signer's private key (PEM, unencrypted PKCS#8 or traditional).
    /// - Throws: `.invalidKey` when either does not parse or the key is not the certificate's.
    public init(certificatePEM: String, keyPEM: String) throws(CryptoError) {
        guard certificatePEM.utf8.count <= Self.maximumPEMLength, keyPEM.utf8.count <= Self.maximumPEMLength else {
            throw CryptoError(code: .invalidKey, message: "PEM text longer than 256 KiB")
        }
        ERR_clear_error()
        var certificateText = certificatePEM
        guard
            let stack = certificateText.withUTF8({ bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    tessera_x509_stack_from_pem($0.baseAddress, Int32($0.count))
                }
            })
        else {
            throw CryptoError(code: .invalidKey, message: "no PEM certificate, or one that does not parse")
        }
        let key: EVPKey
        do {
            key = try EVPKey.fromPrivateKeyPEM(keyPEM)
        } catch {
            tessera_x509_stack_free(stack)
            throw CryptoError(code: .invalidKey, message: "the signing key is not an unencrypted PEM private key")
        }
        let certificate = tessera_x509_stack_shift(stack)!  // the stack holds at least one
        guard X509_check_private_key(certificate, key.pointer) == 1 else {
            ERR_clear_error()
            X509_free(certificate)
            tessera_x509_stack_free(stack)
            throw CryptoError(code: .invalidKey, message: "the signing key does not belong to the first certificate")
        }
        self.certificate = certificate
        self.chain = stack
        self.key = key
    }

    deinit {
        X509_free(certificate)
        tessera_x509_stack_free(chain)
    }

    /// The DER encoding of a CMS SignedData holding `content`.
    public func sign(_ content: [UInt8]) throws(CryptoError) -> [UInt8] {
        ERR_clear_error()
        let signed: OpaquePointer? = content.withUnsafeBufferPointer { buffer in
            guard let input = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(input) }
            // CMS_sign adds the signer's certificate itself; the chain follows it.
            return CMS_sign(
                certificate, key.pointer, tessera_x509_stack_count(chain) > 0 ? chain : nil, input, UInt32(CMS_BINARY))
        }
        guard let signed else { throw .openSSL("CMS_sign") }
        defer { CMS_ContentInfo_free(signed) }
        guard let output = BIO_new(BIO_s_mem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(output) }
        guard i2d_CMS_bio(output, signed) == 1 else { throw .openSSL("i2d_CMS_bio") }
        var start: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(output, BIO_CTRL_INFO, 0, &start)
        guard length > 0, let start else { throw .openSSL("BIO_get_mem_data") }
        return Array(UnsafeRawBufferPointer(start: start, count: length))
    }
}
