/*
 * keyring.c: load, verify against, and atomically rewrite the keyring file.
 *
 * Secrets live only in this file and in memory; nothing here prints them.
 * A keyring readable by group or others is refused, as ssh refuses a key.
 */
#include "keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home.h"
#include "errbuf.h"
#include "hex.h"

#define KEYRING_MAX_BYTES (64 * 1024)

const char *key_status_name(enum key_status s)
{
	switch (s) {
	case KEY_ACTIVE:
		return "active";
	case KEY_VERIFY_ONLY:
		return "verify-only";
	case KEY_REVOKED:
		return "revoked";
	}
	return "?";
}

int key_status_parse(const char *name, enum key_status *out)
{
	static const enum key_status all[] = {KEY_ACTIVE, KEY_VERIFY_ONLY, KEY_REVOKED};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (strcmp(name, key_status_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -1;
}

const char *keyring_default_path(void)
{
	static char path[4096];
	const char *env = getenv("PACKCODE_KEYRING");
	if (env && *env)
		return env;
	snprintf(path, sizeof path, "%s/keyring", packcode_home());
	return path;
}

struct keyring *keyring_new(void)
{
	return calloc(1, sizeof(struct keyring));
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	for (size_t i = 0; i < kr->n; i++)
		code_signer_free(kr->keys[i].signer);
	OPENSSL_cleanse(kr, sizeof *kr);
	free(kr);
}

struct keyring_key *keyring_find(struct keyring *kr, unsigned id)
{
	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].id == id)
			return &kr->keys[i];
	return NULL;
}

struct keyring_key *keyring_active(struct keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].status == KEY_ACTIVE)
			return &kr->keys[i];
	return NULL;
}

struct code_signer *keyring_signer(struct keyring_key *k)
{
	if (!k->signer)
		k->signer = code_signer_new(k->id, k->secret);
	return k->signer;
}

/* ---- text form ------------------------------------------------------------ */

static int parse_time(const char *s, time_t *out)
{
	struct tm tm = {0};
	char tail = 0;
	if (strlen(s) != 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail) != 6 ||
	    s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[19] != 'Z')
		return -1;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* One "id status created secret" line into k; 0 or -1 with err. */
static int parse_line(char *line, struct keyring_key *k, char *err, size_t errlen)
{
	char *fields[5];
	int n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 4) {
			errbuf_set(err, errlen, "too many fields");
			return -1;
		}
		fields[n++] = t;
	}
	if (n != 4) {
		errbuf_set(err, errlen, "expected 4 fields (id status created secret), found %d",
		           n);
		return -1;
	}
	char *end = NULL;
	errno = 0;
	long id = strtol(fields[0], &end, 10);
	if (errno || *end || end == fields[0] || id < CODE_KEY_ID_MIN || id > CODE_KEY_ID_MAX) {
		errbuf_set(err, errlen, "key id must be %d..%d", CODE_KEY_ID_MIN, CODE_KEY_ID_MAX);
		return -1;
	}
	k->id = (unsigned)id;
	if (key_status_parse(fields[1], &k->status) < 0) {
		errbuf_set(err, errlen, "status must be active, verify-only or revoked");
		return -1;
	}
	if (parse_time(fields[2], &k->created) < 0) {
		errbuf_set(err, errlen, "created must be YYYY-MM-DDTHH:MM:SSZ");
		return -1;
	}
	if (strlen(fields[3]) != 2 * CODE_SECRET_LEN) {
		errbuf_set(err, errlen, "secret must be %d hex digits", 2 * CODE_SECRET_LEN);
		return -1;
	}
	for (int i = 0; i < CODE_SECRET_LEN; i++) {
		int hi = hex_digit(fields[3][2 * i]), lo = hex_digit(fields[3][2 * i + 1]);
		if (hi < 0 || lo < 0) {
			errbuf_set(err, errlen, "secret must be %d hex digits",
			           2 * CODE_SECRET_LEN);
			return -1;
		}
		k->secret[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

struct keyring *keyring_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct keyring *kr = keyring_new();
	char line[512], why[128];
	size_t lineno = 0, actives = 0;

	if (!kr) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (l >= sizeof line) {
			errbuf_set(err, errlen, "line %zu: too long", lineno);
			goto fail;
		}
		memcpy(line, text + pos, l);
		line[l] = '\0';
		pos += l + (nl ? 1 : 0);
		if (l && line[l - 1] == '\r')
			line[--l] = '\0';
		if (memchr(line, '\0', l)) {
			errbuf_set(err, errlen, "line %zu: NUL byte", lineno);
			goto fail;
		}
		const char *p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		if (kr->n == CODE_KEY_ID_MAX) {
			errbuf_set(err, errlen, "line %zu: more than %d keys", lineno,
			           CODE_KEY_ID_MAX);
			goto fail;
		}
		struct keyring_key *k = &kr->keys[kr->n];
		memset(k, 0, sizeof *k);
		if (parse_line(line, k, why, sizeof why) < 0) {
			errbuf_set(err, errlen, "line %zu: %s", lineno, why);
			goto fail;
		}
		if (keyring_find(kr, k->id)) {
			errbuf_set(err, errlen, "line %zu: key %u appears twice", lineno, k->id);
			goto fail;
		}
		actives += k->status == KEY_ACTIVE;
		kr->n++;
	}
	if (actives > 1) {
		errbuf_set(err, errlen, "more than one active key");
		goto fail;
	}
	OPENSSL_cleanse(line, sizeof line);
	return kr;
fail:
	OPENSSL_cleanse(line, sizeof line);
	keyring_free(kr);
	return NULL;
}

struct keyring *keyring_load(const char *path, char *err, size_t errlen)
{
	struct keyring *kr = NULL;
	struct stat st;
	char *buf = NULL, why[KEYRING_ERR_LEN];
	ssize_t got = 0;
	size_t len = 0;

	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			errbuf_set(err, errlen,
			           "no keyring at %s (create one with: packcode-gen keygen)", path);
		else
			errbuf_set(err, errlen, "cannot open keyring %s: %s", path,
			           strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		errbuf_set(err, errlen, "keyring %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		errbuf_set(
		    err, errlen,
		    "keyring %s is accessible by group or others (mode %04o); run: chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > KEYRING_MAX_BYTES) {
		errbuf_set(err, errlen, "keyring %s is larger than %d bytes", path,
		           KEYRING_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		errbuf_set(err, errlen, "out of memory");
		goto out;
	}
	while (len < (size_t)st.st_size &&
	       (got = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)got;
	if (got < 0) {
		errbuf_set(err, errlen, "cannot read keyring %s: %s", path, strerror(errno));
		goto out;
	}
	kr = keyring_parse(buf, len, why, sizeof why);
	if (!kr)
		errbuf_set(err, errlen, "keyring %s: %s", path, why);
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	return kr;
}

int keyring_save(const struct keyring *kr, const char *path, char *err, size_t errlen)
{
	char tmp[4096], line[256];
	int fd = -1, rc = -1;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		errbuf_set(err, errlen, "keyring path too long");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		errbuf_set(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	const char *head = "# packcode keyring: SECRET. Mode 0600, never share, never commit.\n"
	                   "# id status created secret(hex)\n";
	if (write(fd, head, strlen(head)) != (ssize_t)strlen(head))
		goto fail;
	for (size_t i = 0; i < kr->n; i++) {
		const struct keyring_key *k = &kr->keys[i];
		struct tm tm;
		char when[32];
		gmtime_r(&k->created, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		int n = snprintf(line, sizeof line, "%u %s %s ", k->id, key_status_name(k->status),
		                 when);
		for (int j = 0; j < CODE_SECRET_LEN; j++)
			n += snprintf(line + n, sizeof line - (size_t)n, "%02x", k->secret[j]);
		line[n++] = '\n';
		if (write(fd, line, (size_t)n) != n)
			goto fail;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	errbuf_set(err, errlen, "cannot write keyring %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	OPENSSL_cleanse(line, sizeof line);
	return rc;
}

int keyring_generate(struct keyring *kr, unsigned *id, char *err, size_t errlen)
{
	unsigned next = CODE_KEY_ID_MIN;
	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].id >= next)
			next = kr->keys[i].id + 1;
	if (kr->n == CODE_KEY_ID_MAX || next > CODE_KEY_ID_MAX) {
		errbuf_set(err, errlen, "the keyring is full (key ids go up to %d)",
		           CODE_KEY_ID_MAX);
		return -1;
	}
	struct keyring_key *k = &kr->keys[kr->n];
	memset(k, 0, sizeof *k);
	if (RAND_priv_bytes(k->secret, sizeof k->secret) != 1) {
		errbuf_set(err, errlen, "the random number generator failed");
		return -1;
	}
	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].status == KEY_ACTIVE)
			kr->keys[i].status = KEY_VERIFY_ONLY;
	k->id = next;
	k->status = KEY_ACTIVE;
	k->created = time(NULL);
	kr->n++;
	*id = next;
	return 0;
}

enum verdict keyring_verify(struct keyring *kr, const char *in, size_t len,
                            struct verification *out)
{
	memset(out, 0, sizeof *out);
	if (code_parse(in, len, &out->fields) != CODE_SHAPE_OK)
		return out->verdict = VERDICT_TYPO;
	struct keyring_key *k = keyring_find(kr, out->fields.key_id);
	struct code_signer *s = k ? keyring_signer(k) : NULL;
	if (!s || code_authenticate(s, &out->fields, &out->serial, out->pin) < 0) {
		out->serial = 0;
		out->pin[0] = '\0';
		return out->verdict = VERDICT_FORGED;
	}
	return out->verdict = k->status == KEY_REVOKED ? VERDICT_REVOKED : VERDICT_GENUINE;
}
