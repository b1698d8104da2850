/*
 * tls.h: HTTPS on packcode-server's own listener (--tls-cert, --tls-key).
 *
 * One SSL_CTX, built at start-up and then only read: every worker thread
 * makes its connections' SSL objects from it (OpenSSL makes that safe).
 * TLS 1.2 is the minimum; TLS 1.2 offers only forward-secret AEAD suites.
 */
#ifndef PACKCODE_SERVER_TLS_H
#define PACKCODE_SERVER_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

/* The HSTS header value on every HTTPS reply. */
#define TLS_HSTS "max-age=31536000"

/*
 * A server context for certificate chain cert (PEM) and private key key
 * (PEM). NULL with a one-line reason in err (unreadable file, not PEM, key
 * not matching the certificate).
 */
SSL_CTX *tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen);

struct server;

/* Start-up: s->tls from s->cfg.tls_cert and tls_key. 0, or -1 with err. */
int tls_start(struct server *s, char *err, size_t errlen);
/*
 * SIGHUP: read the files again into a new context for new connections. The
 * old one stays allocated until tls_stop (a worker may be making a connection
 * from it right now). 0, or -1 with err and the old context still in use.
 */
int tls_reload(struct server *s, char *err, size_t errlen);
/* Free every context. */
void tls_stop(struct server *s);

#endif
