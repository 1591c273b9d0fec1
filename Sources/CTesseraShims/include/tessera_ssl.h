#ifndef TESSERA_SSL_H
#define TESSERA_SSL_H
#include <openssl/ssl.h>

/// SSL_CTX_set_min_proto_version is a macro; Swift cannot call it.
int tessera_ssl_ctx_set_min_tls12(SSL_CTX *ctx);
#endif
