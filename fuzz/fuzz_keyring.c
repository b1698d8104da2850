/*
 * fuzz_keyring.c: libFuzzer target for keyring_parse, the reader of the one
 * file that holds our secrets (a corrupted or hostile file must give an
 * error, never a crash or a half-read keyring).
 *
 * Beyond "does not crash": a keyring that parses is saved and read back to
 * the same keys, and has at most one active key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_keyring: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[KEYRING_ERR_LEN], path[64];
	struct keyring *kr = keyring_parse((const char *)data, size, err, sizeof err);
	if (!kr) {
		check(err[0] != '\0', "refused without a reason");
		return 0;
	}
	size_t active = 0;
	for (size_t i = 0; i < kr->n; i++)
		active += kr->keys[i].status == KEY_ACTIVE;
	check(active <= 1, "more than one active key");

	snprintf(path, sizeof path, "/tmp/fuzz-keyring-%ld", (long)getpid());
	check(keyring_save(kr, path, err, sizeof err) == 0, "cannot save a parsed keyring");
	struct keyring *back = keyring_load(path, err, sizeof err);
	unlink(path);
	check(back != NULL, "cannot load a saved keyring");
	check(back->n == kr->n, "saved keyring has another number of keys");
	for (size_t i = 0; i < kr->n; i++) {
		check(back->keys[i].id == kr->keys[i].id, "id changed");
		check(back->keys[i].status == kr->keys[i].status, "status changed");
		check(back->keys[i].created == kr->keys[i].created, "created changed");
		check(memcmp(back->keys[i].secret, kr->keys[i].secret, CODE_SECRET_LEN) == 0,
		      "secret changed");
	}
	keyring_free(back);
	keyring_free(kr);
	return 0;
}
