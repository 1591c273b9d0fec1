internal import COpenSSL
internal import CTesseraShims

/// Reads CMS SignedData (RFC 5652) with attached content, as devices send their device information
/// (PROTOCOLS.md §1.2, §2.1), and checks the signature.
///
/// Certificate validity dates are not checked: Apple's device identities and the "Apple iPhone Device
/// CA" that issued the older ones expired years ago, and open-source MDM servers skip the dates of that
/// chain too. What a good signature proves is that an Apple device identity signed the data, not that
/// it is fresh (a signed device information can be replayed).
///
/// `@unchecked Sendable`: the trust store is filled in `init` and only read afterwards (`CMS_verify`
/// builds its own verification context per call).
public final class CMSVerifier: @unchecked Sendable {
    private let store: OpaquePointer

    /// The longest CMS message accepted (device information is a few KiB).
    public static let maximumLength = 64 * 1024

    /// - Parameter trustAnchorsPEM: the certificates chains must end at (the Apple Root CA in production).
    /// - Throws: `.invalidKey` when the text holds no certificate or one that does not parse.
    public init(trustAnchorsPEM: String) throws(CryptoError) {
        var text = trustAnchorsPEM
        guard
            let anchors = text.withUTF8({ bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    tessera_x509_stack_from_pem($0.baseAddress, Int32(min($0.count, Int(Int32.max))))
                }
            })
        else {
            throw CryptoError(code: .invalidKey, message: "no PEM trust anchor, or one that does not parse")
        }
        defer { tessera_x509_stack_free(anchors) }
        guard let store = X509_STORE_new() else { throw .openSSL("X509_STORE_new") }
        while let anchor = tessera_x509_stack_shift(anchors) {
            defer { X509_free(anchor) }
            guard X509_STORE_add_cert(store, anchor) == 1 else {
                X509_STORE_free(store)
                throw .openSSL("X509_STORE_add_cert")
            }
        }
        // Device identities carry no S/MIME key usage, and their chains have expired (see above).
        X509_STORE_set_purpose(store, X509_PURPOSE_ANY)
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_NO_CHECK_TIME))
        self.store = store
    }

    /// A verifier without trust anchors: only `.signatureOnly` checks can succeed (account-driven
    /// enrolment requests, signed by identities no configured CA vouches for).
    public init() throws(CryptoError) {
        guard let store = X509_STORE_new() else { throw .openSSL("X509_STORE_new") }
        self.store = store
    }

    deinit { X509_STORE_free(store) }

    public enum Check: Sendable {
        /// The signature, and the signer's chain up to a trust anchor.
        case signatureAndChain
        /// The signature only: the signer may be any certificate the message carries.
        case signatureOnly
    }

    /// The signed content.
    /// - Throws: `.malformedToken` for bytes that are not CMS SignedData with attached content;
    ///   `.badSignature` when the signature does not verify or (for `.signatureAndChain`) the signer's
    ///   certificate does not chain to a trust anchor.
    public func content(of message: [UInt8], check: Check) throws(CryptoError) -> [UInt8] {
        guard !message.isEmpty, message.count <= Self.maximumLength else {
            throw CryptoError(code: .malformedToken, message: "the CMS message is empty or longer than 64 KiB")
        }
        ERR_clear_error()
        let parsed: OpaquePointer? = message.withUnsafeBufferPointer { buffer in
            guard let input = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(input) }
            return d2i_CMS_bio(input, nil)
        }
        guard let parsed else {
            ERR_clear_error()
            throw CryptoError(code: .malformedToken, message: "not a DER CMS message")
        }
        defer { CMS_ContentInfo_free(parsed) }
        guard let output = BIO_new(BIO_s_mem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(output) }
        var flags = UInt32(CMS_BINARY)
        if check == .signatureOnly { flags |= UInt32(CMS_NO_SIGNER_CERT_VERIFY) }
        guard CMS_verify(parsed, nil, store, nil, output, flags) == 1 else {
            let reason = CryptoError.openSSL("CMS_verify").message
            throw CryptoError(
                code: .badSignature, message: "the device information's signature does not verify: \(reason)")
        }
        var start: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(output, BIO_CTRL_INFO, 0, &start)
        guard length > 0, let start else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: length))
    }
}
