#ifndef TESSERA_CMS_H
#define TESSERA_CMS_H
#include <openssl/x509.h>

/// The certificates of a PEM text (in order), or NULL when it holds none or one does not parse.
/// sk_X509_* are macros and inline functions Swift cannot call; free with tessera_x509_stack_free.
STACK_OF(X509) *tessera_x509_stack_from_pem(const char *pem, int length);

/// How many certificates the stack holds.
int tessera_x509_stack_count(const STACK_OF(X509) *stack);

/// Removes the first certificate from the stack and returns it (the caller frees it with X509_free).
X509 *tessera_x509_stack_shift(STACK_OF(X509) *stack);

void tessera_x509_stack_free(STACK_OF(X509) *stack);
#endif
