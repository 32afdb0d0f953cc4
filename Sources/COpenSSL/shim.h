#ifndef STREAMR_COPENSSL_SHIM_H
#define STREAMR_COPENSSL_SHIM_H
/* Wrappers for OpenSSL function-like macros and variadic functions, which
 * Swift cannot call directly. Nothing here adds behaviour. */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>

static inline int streamr_ssl_ctx_set_min_proto(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_min_proto_version(ctx, v); }
static inline int streamr_ssl_ctx_set_max_proto(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_max_proto_version(ctx, v); }
static inline int streamr_ssl_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *x) { return (int)SSL_CTX_add1_chain_cert(ctx, x); }
static inline int streamr_ssl_set_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline void streamr_bio_set_mem_eof_return(BIO *b, int v) { (void)BIO_set_mem_eof_return(b, v); }
static inline long streamr_bio_get_mem_data(BIO *b, char **p) { return BIO_get_mem_data(b, p); }
static inline EVP_PKEY *streamr_ec_p256_keygen(void) { return EVP_EC_gen("P-256"); }
static inline void streamr_x509v3_set_ctx_nodb(X509V3_CTX *ctx) { X509V3_set_ctx_nodb(ctx); }
static inline void streamr_openssl_free(void *p) { OPENSSL_free(p); }
static inline int streamr_sk_x509_num(const STACK_OF(X509) *sk) { return sk_X509_num(sk); }
static inline X509 *streamr_sk_x509_value(const STACK_OF(X509) *sk, int i) { return sk_X509_value(sk, i); }
static inline STACK_OF(X509_EXTENSION) *streamr_sk_x509_ext_new(void) { return sk_X509_EXTENSION_new_null(); }
static inline int streamr_sk_x509_ext_push(STACK_OF(X509_EXTENSION) *sk, X509_EXTENSION *e) { return sk_X509_EXTENSION_push(sk, e); }
static inline void streamr_sk_x509_ext_free(STACK_OF(X509_EXTENSION) *sk) { sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free); }
#endif
