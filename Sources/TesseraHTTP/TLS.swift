internal import COpenSSL
internal import CTesseraShims

/// A configured server SSL_CTX. OpenSSL documents a configured context as safe to share between threads;
/// it is never mutated after `init`, so it is `@unchecked Sendable`.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    init(_ configuration: TLSConfiguration) throws(HTTPError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw HTTPError(.tls, "SSL_CTX_new failed: \(Self.drainErrors())")
        }
        self.context = context
        guard tessera_ssl_ctx_set_min_tls12(context) == 1 else {
            throw HTTPError(.tls, "cannot set TLS 1.2 minimum: \(Self.drainErrors())")
        }
        tessera_ssl_ctx_configure_server(context)
        guard SSL_CTX_use_certificate_chain_file(context, configuration.certificateChainPath) == 1 else {
            throw HTTPError(
                .tls, "cannot load certificate chain \(configuration.certificateChainPath): \(Self.drainErrors())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw HTTPError(.tls, "cannot load private key \(configuration.privateKeyPath): \(Self.drainErrors())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw HTTPError(.tls, "private key does not match the certificate: \(Self.drainErrors())")
        }
    }

    deinit { SSL_CTX_free(context) }

    /// Empties the thread's OpenSSL error queue into one line.
    static func drainErrors() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "unknown error" : messages.joined(separator: "; ")
    }
}

/// One connection's SSL object; confined to its event-loop thread.
final class TLSSession {
    enum IOResult {
        case bytes(Int)
        case wantRead
        case wantWrite
        /// Orderly close, or OpenSSL 3's unexpected EOF (treated as a normal close).
        case closed
        case failed
    }

    let ssl: OpaquePointer

    init?(context: TLSContext, fd: Int32) {
        guard let ssl = SSL_new(context.context) else { return nil }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(ssl) }

    var handshakeComplete: Bool { SSL_is_init_finished(ssl) == 1 }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        ERR_clear_error()
        let count = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if count > 0 { return .bytes(Int(count)) }
        return classify(count)
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> IOResult {
        ERR_clear_error()
        let count = SSL_write(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if count > 0 { return .bytes(Int(count)) }
        return classify(count)
    }

    /// Sends close_notify without waiting for the peer's.
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    private func classify(_ result: Int32) -> IOResult {
        let error = SSL_get_error(ssl, result)
        switch error {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            ERR_clear_error()
            return .closed
        case SSL_ERROR_SSL:
            let code = ERR_peek_error()
            ERR_clear_error()
            return tessera_ssl_error_is_unexpected_eof(code) == 1 ? .closed : .failed
        default:
            ERR_clear_error()
            return .failed
        }
    }
}
