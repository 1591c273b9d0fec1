#include "tessera_cms.h"
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

STACK_OF(X509) *tessera_x509_stack_from_pem(const char *pem, int length) {
    BIO *bio = BIO_new_mem_buf(pem, length);
    if (bio == NULL) return NULL;
    STACK_OF(X509) *stack = sk_X509_new_null();
    X509 *certificate;
    while (stack != NULL && (certificate = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_push(stack, certificate) == 0) {
            X509_free(certificate);
            sk_X509_pop_free(stack, X509_free);
            stack = NULL;
        }
    }
    // The loop ends at the end of the text (PEM_R_NO_START_LINE) or at a block that does not parse.
    unsigned long error = ERR_peek_last_error();
    int clean_end = ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    BIO_free(bio);
    if (stack != NULL && (!clean_end || sk_X509_num(stack) == 0)) {
        sk_X509_pop_free(stack, X509_free);
        return NULL;
    }
    return stack;
}

int tessera_x509_stack_count(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }

X509 *tessera_x509_stack_shift(STACK_OF(X509) *stack) { return sk_X509_shift(stack); }

void tessera_x509_stack_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }
