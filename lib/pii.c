/*
 * pii.c: the PII key file, keyed hashes, AES-256-GCM sealing and masking
 * (pii.h). The file holds one 256-bit secret in hex; the hash and seal keys
 * are HMAC-SHA256 of it with their labels, so one file serves both and
 * neither key can be computed from the other.
 */
#include "pii.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "hex.h"
#include "home.h"

#define SECRET_LEN   32
#define FILE_MAX     4096
#define SEAL_VERSION 1
#define NONCE_LEN    12
#define TAG_LEN      16

static const char *const kind_names[PII_KIND_COUNT] = {
    [PII_PHONE] = "phone",
    [PII_WECHAT] = "wechat",
    [PII_OIDC] = "oidc",
    [PII_EXTERNAL] = "external",
};

const char *pii_kind_name(enum pii_kind kind)
{
	return kind < PII_KIND_COUNT ? kind_names[kind] : "external";
}

const char *pii_key_default_path(void)
{
	static char path[4096];
	const char *env = getenv("PACKCODE_PII_KEY");
	if (env && *env)
		return env;
	snprintf(path, sizeof path, "%s/pii.key", packcode_home());
	return path;
}

int pii_key_create(const char *path, char *err, size_t errlen)
{
	unsigned char secret[SECRET_LEN];
	char line[2 * SECRET_LEN + 2];
	int rc = -1;
	if (RAND_priv_bytes(secret, sizeof secret) != 1) {
		errbuf_set(err, errlen, "no randomness for a PII key");
		return -1;
	}
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < SECRET_LEN; i++) {
		line[2 * i] = digits[secret[i] >> 4];
		line[2 * i + 1] = digits[secret[i] & 15];
	}
	line[2 * SECRET_LEN] = '\n';
	line[2 * SECRET_LEN + 1] = '\0';
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		errbuf_set(err, errlen, "cannot create PII key %s: %s", path,
		           errno == EEXIST ? "exists" : strerror(errno));
		goto out;
	}
	const char *head = "# packcode PII key: SECRET. Mode 0600; the same file on every "
	                   "server and packcode-gen; losing it loses every member's phone.\n";
	size_t hl = strlen(head), ll = strlen(line);
	if (write(fd, head, hl) != (ssize_t)hl || write(fd, line, ll) != (ssize_t)ll ||
	    fsync(fd) < 0) {
		errbuf_set(err, errlen, "cannot write PII key %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	OPENSSL_cleanse(secret, sizeof secret);
	OPENSSL_cleanse(line, sizeof line);
	return rc;
}

static void derive(const unsigned char secret[SECRET_LEN], const char *label, unsigned char out[32])
{
	unsigned int n = 32;
	HMAC(EVP_sha256(), secret, SECRET_LEN, (const unsigned char *)label, strlen(label), out,
	     &n);
}

/* The secret of a key file's text: the one line that is not a comment. */
static int parse(const char *buf, size_t len, unsigned char secret[SECRET_LEN])
{
	size_t i = 0;
	int found = 0;
	while (i < len) {
		size_t e = i;
		while (e < len && buf[e] != '\n')
			e++;
		size_t l = e - i;
		while (l && (buf[i + l - 1] == '\r' || buf[i + l - 1] == ' '))
			l--;
		if (l && buf[i] != '#') {
			if (found || l != 2 * SECRET_LEN)
				return -1;
			for (size_t j = 0; j < SECRET_LEN; j++) {
				int hi = hex_digit(buf[i + 2 * j]),
				    lo = hex_digit(buf[i + 2 * j + 1]);
				if (hi < 0 || lo < 0)
					return -1;
				secret[j] = (unsigned char)(hi << 4 | lo);
			}
			found = 1;
		}
		i = e + 1;
	}
	return found ? 0 : -1;
}

int pii_key_load(struct pii_key *k, const char *path, int create, int *created, char *err,
                 size_t errlen)
{
	char buf[FILE_MAX];
	unsigned char secret[SECRET_LEN];
	struct stat st;
	ssize_t got = 0;
	size_t len = 0;
	int rc = -1;
	if (created)
		*created = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		char why[PII_ERR_LEN];
		if (pii_key_create(path, why, sizeof why) == 0) {
			if (created)
				*created = 1;
		} else if (!strstr(why, "exists")) {
			errbuf_set(err, errlen, "%s", why);
			return -1;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			errbuf_set(err, errlen,
			           "no PII key at %s (create one with: packcode-gen pii-key)",
			           path);
		else
			errbuf_set(err, errlen, "cannot open PII key %s: %s", path,
			           strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		errbuf_set(err, errlen, "PII key %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		errbuf_set(
		    err, errlen,
		    "PII key %s is accessible by group or others (mode %04o); run: chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size >= FILE_MAX) {
		errbuf_set(err, errlen, "PII key %s is larger than %d bytes", path, FILE_MAX);
		goto out;
	}
	while (len < (size_t)st.st_size &&
	       (got = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)got;
	if (got < 0) {
		errbuf_set(err, errlen, "cannot read PII key %s: %s", path, strerror(errno));
		goto out;
	}
	if (parse(buf, len, secret) < 0) {
		errbuf_set(err, errlen, "PII key %s: expected one line of 64 hex digits", path);
		goto out;
	}
	derive(secret, "packcode-pii-hash", k->hash_key);
	derive(secret, "packcode-pii-seal", k->seal_key);
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof buf);
	OPENSSL_cleanse(secret, sizeof secret);
	close(fd);
	return rc;
}

void pii_key_clear(struct pii_key *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof *k);
}

/* HMAC-SHA256(hash key, a[0..alen) b[0..blen) c[0..clen)); the parts are short. */
static void mac3(const struct pii_key *k, const void *a, size_t alen, const void *b, size_t blen,
                 const void *c, size_t clen, unsigned char out[PII_HASH_LEN])
{
	unsigned char buf[64 + PII_VALUE_MAX];
	unsigned int n = PII_HASH_LEN;
	if (alen + blen + clen > sizeof buf)
		clen = sizeof buf - alen - blen; /* callers keep within PII_VALUE_MAX */
	memcpy(buf, a, alen);
	memcpy(buf + alen, b, blen);
	memcpy(buf + alen + blen, c, clen);
	HMAC(EVP_sha256(), k->hash_key, sizeof k->hash_key, buf, alen + blen + clen, out, &n);
	OPENSSL_cleanse(buf, alen + blen + clen);
}

void pii_hash(const struct pii_key *k, enum pii_kind kind, const char *value, size_t len,
              unsigned char out[PII_HASH_LEN])
{
	const char *name = pii_kind_name(kind);
	mac3(k, name, strlen(name), ":", 1, value, len, out);
}

void pii_code_hash(const struct pii_key *k, const unsigned char phone_hash[PII_HASH_LEN],
                   const char *code, unsigned char out[PII_HASH_LEN])
{
	mac3(k, "otp:", 4, phone_hash, PII_HASH_LEN, code, strnlen(code, 16), out);
}

/* AES-256-GCM of value[0..len) (at most max) with aad, as pii_seal says. */
static long seal(const struct pii_key *k, const char *aad, const char *value, size_t len,
                 size_t max, unsigned char *out, size_t outlen)
{
	int n = 0, fin = 0;
	long rc = -1;
	if (len > max || outlen < len + PII_SEAL_OVERHEAD)
		return -1;
	out[0] = SEAL_VERSION;
	unsigned char *nonce = out + 1, *ct = out + 1 + NONCE_LEN;
	if (RAND_bytes(nonce, NONCE_LEN) != 1)
		return -1;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c || !EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) ||
	    !EVP_EncryptInit_ex(c, NULL, NULL, k->seal_key, nonce) ||
	    !EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) ||
	    !EVP_EncryptUpdate(c, ct, &n, (const unsigned char *)value, (int)len) ||
	    !EVP_EncryptFinal_ex(c, ct + n, &fin) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, ct + len))
		goto out;
	rc = (long)(len + PII_SEAL_OVERHEAD);
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

static long open_sealed(const struct pii_key *k, const char *aad, const unsigned char *in,
                        size_t len, char *out, size_t outlen)
{
	int n = 0, fin = 0;
	long rc = -1;
	if (len < PII_SEAL_OVERHEAD || in[0] != SEAL_VERSION)
		return -1;
	size_t clen = len - PII_SEAL_OVERHEAD;
	if (clen + 1 > outlen)
		return -1;
	const unsigned char *nonce = in + 1, *ct = in + 1 + NONCE_LEN, *tag = ct + clen;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c || !EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) ||
	    !EVP_DecryptInit_ex(c, NULL, NULL, k->seal_key, nonce) ||
	    !EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) ||
	    !EVP_DecryptUpdate(c, (unsigned char *)out, &n, ct, (int)clen) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *)tag) ||
	    EVP_DecryptFinal_ex(c, (unsigned char *)out + n, &fin) != 1) {
		OPENSSL_cleanse(out, outlen);
		goto out;
	}
	out[clen] = '\0';
	rc = (long)clen;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

long pii_seal(const struct pii_key *k, enum pii_kind kind, const char *value, size_t len,
              unsigned char *out, size_t outlen)
{
	return seal(k, pii_kind_name(kind), value, len, PII_VALUE_MAX, out, outlen);
}

long pii_open(const struct pii_key *k, enum pii_kind kind, const unsigned char *in, size_t len,
              char *out, size_t outlen)
{
	return open_sealed(k, pii_kind_name(kind), in, len, out, outlen);
}

long pii_seal_text(const struct pii_key *k, const char *what, const char *text, size_t len,
                   unsigned char *out, size_t outlen)
{
	return seal(k, what, text, len, PII_TEXT_MAX, out, outlen);
}

long pii_open_text(const struct pii_key *k, const char *what, const unsigned char *in, size_t len,
                   char *out, size_t outlen)
{
	return open_sealed(k, what, in, len, out, outlen);
}

int pii_mac(const struct pii_key *k, const char *what, const char *text, size_t len,
            unsigned char out[PII_HASH_LEN])
{
	size_t wl = strlen(what);
	unsigned int n = PII_HASH_LEN;
	unsigned char *buf = malloc(wl + 1 + len + 1);
	if (!buf)
		return -1;
	memcpy(buf, what, wl);
	buf[wl] = ':';
	memcpy(buf + wl + 1, text, len);
	int ok =
	    HMAC(EVP_sha256(), k->hash_key, sizeof k->hash_key, buf, wl + 1 + len, out, &n) != NULL;
	OPENSSL_cleanse(buf, wl + 1 + len);
	free(buf);
	return ok ? 0 : -1;
}

/* Digits of an E.164 number's country calling code (ITU-T E.164 assignments). */
static size_t country_code_len(const char *digits)
{
	static const char two[] = "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 "
	                          "53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 "
	                          "93 94 95 98 ";
	if (digits[0] == '1' || digits[0] == '7')
		return 1;
	for (const char *p = two; *p; p += 3)
		if (p[0] == digits[0] && p[1] == digits[1])
			return 2;
	return 3;
}

int pii_mask(enum pii_kind kind, const char *value, char *out, size_t outlen)
{
	size_t len = strlen(value), o = 0;
	char buf[PII_MASK_MAX + 1];
	if (kind == PII_PHONE && value[0] == '+' && len >= 8 && len <= 16 &&
	    strspn(value + 1, "0123456789") == len - 1) {
		size_t cc = country_code_len(value + 1);
		const char *nat = value + 1 + cc;
		size_t nl = len - 1 - cc, head = nl >= 9 ? 3 : 1, tail = nl >= 9 ? 4 : 2;
		o = (size_t)snprintf(buf, sizeof buf, "+%.*s %.*s", (int)cc, value + 1, (int)head,
		                     nat);
		for (size_t i = head; i < nl - tail && o < PII_MASK_MAX; i++)
			buf[o++] = '*';
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", nat + nl - tail);
	} else {
		size_t keep = len > 4 ? 2 : 0;
		o = (size_t)snprintf(buf, sizeof buf, "%.*s***", (int)keep, value);
	}
	if (o >= outlen || o > PII_MASK_MAX)
		return -1;
	memcpy(out, buf, o + 1);
	return 0;
}
