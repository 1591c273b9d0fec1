#ifndef TESSERA_SSL_H
#define TESSERA_SSL_H
#include <openssl/ssl.h>

/// SSL_CTX_set_min_proto_version is a macro; Swift cannot call it.
int tessera_ssl_ctx_set_min_tls12(SSL_CTX *ctx);

/// Server context defaults: partial writes, moving write buffers, released idle buffers (memory per idle
/// connection), no renegotiation, no compression, server cipher preference, no session tickets' state
/// kept per connection beyond OpenSSL's defaults.
void tessera_ssl_ctx_configure_server(SSL_CTX *ctx);

/// 1 when `error` (from ERR_peek_error/ERR_get_error) is OpenSSL 3's SSL_R_UNEXPECTED_EOF_WHILE_READING.
int tessera_ssl_error_is_unexpected_eof(unsigned long error);
#endif
