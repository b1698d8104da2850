/*
 * tls.c: the server's SSL_CTX: certificate chain and key from PEM files,
 * checked against each other before the server starts, TLS 1.2 minimum,
 * no compression, no renegotiation, the server's cipher preference.
 */
#include "edge/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errbuf.h"
#include "log.h"
#include "server.h"

struct tls_retired {
	SSL_CTX *ctx;
	struct tls_retired *next;
};

/* TLS 1.2: ECDHE key exchange and AEAD ciphers only. TLS 1.3 keeps OpenSSL's defaults. */
#define TLS12_CIPHERS                                                                              \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* OpenSSL's reason for the first error queued (the root cause); the queue emptied. */
static const char *ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	snprintf(buf, len, "%s", r ? r : "unknown error");
	ERR_clear_error();
	return buf;
}

/* 0 if path can be opened for reading, else -1 with err. */
static int readable(const char *opt, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		errbuf_set(err, errlen, "%s %s: %s", opt, path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

SSL_CTX *tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
	char why[128];
	SSL_CTX *ctx = NULL;

	if (readable("--tls-cert", cert, err, errlen) < 0 ||
	    readable("--tls-key", key, err, errlen) < 0)
		return NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		errbuf_set(err, errlen, "cannot create a TLS context: %s",
		           ssl_reason(why, sizeof why));
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		errbuf_set(err, errlen, "cannot configure TLS: %s", ssl_reason(why, sizeof why));
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		errbuf_set(err, errlen, "--tls-cert %s: not a usable PEM certificate (%s)", cert,
		           ssl_reason(why, sizeof why));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_last_error();
		if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
			errbuf_set(err, errlen, "--tls-key %s does not match the certificate %s",
			           key, cert);
		else
			errbuf_set(err, errlen, "--tls-key %s: not a usable PEM private key (%s)",
			           key, ssl_reason(why, sizeof why));
		ERR_clear_error();
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		errbuf_set(err, errlen, "--tls-key %s does not match the certificate %s", key,
		           cert);
		ERR_clear_error();
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_start(struct server *s, char *err, size_t errlen)
{
	struct stat st;
	SSL_CTX *ctx = tls_ctx_new(s->cfg.tls_cert, s->cfg.tls_key, err, errlen);
	if (!ctx)
		return -1;
	if (stat(s->cfg.tls_key, &st) == 0 && (st.st_mode & 077))
		log_warn("event=tls_key_not_private path=%s mode=%04o hint=\"chmod 600 it\"",
		         LOG_Q(s->cfg.tls_key), (unsigned)(st.st_mode & 0777));
	atomic_store(&s->tls, ctx);
	return 0;
}

int tls_reload(struct server *s, char *err, size_t errlen)
{
	struct tls_retired *old = malloc(sizeof *old);
	SSL_CTX *ctx = old ? tls_ctx_new(s->cfg.tls_cert, s->cfg.tls_key, err, errlen) : NULL;
	if (!ctx) {
		if (!old)
			errbuf_set(err, errlen, "out of memory");
		free(old);
		return -1;
	}
	old->ctx = atomic_exchange(&s->tls, ctx);
	old->next = s->tls_retired;
	s->tls_retired = old;
	return 0;
}

void tls_stop(struct server *s)
{
	SSL_CTX_free(atomic_exchange(&s->tls, NULL));
	while (s->tls_retired) {
		struct tls_retired *next = s->tls_retired->next;
		SSL_CTX_free(s->tls_retired->ctx);
		free(s->tls_retired);
		s->tls_retired = next;
	}
}
