/*
 * cmd_keys.c: keygen, keys, key retire|revoke. Every change rewrites the
 * keyring atomically under an exclusive lock on KEYRING.lock, so two
 * concurrent keygens cannot lose a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli.h"

static int lock_keyring(const char *cmd)
{
	char path[4096];
	snprintf(path, sizeof path, "%s.lock", cli_keyring_path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_error(cmd, "cannot create lock file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0) {
		cli_error(cmd, "cannot lock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Only --help: for commands that take no options. */
static int no_options(const char *cmd, int argc, char **argv, const char *help)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(help, stdout);
			return 0;
		}
		return cli_usage(cmd, "unknown option");
	}
	return -1;
}

int cmd_keygen(int argc, char **argv)
{
	static const char help[] =
	    "Usage: packcode-gen keygen\n"
	    "\n"
	    "Add a new random 256-bit signing key to the keyring and make it the active\n"
	    "key: codes minted from now on are signed with it. The previously active key\n"
	    "becomes verify-only, so codes already printed keep verifying. Creates the\n"
	    "keyring (mode 0600) if there is none. Prints the new key's id, never its\n"
	    "secret.\n";
	char err[KEYRING_ERR_LEN];
	struct keyring *kr = NULL;
	unsigned id, previous = 0;
	int rc = no_options("keygen", argc, argv, help);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return cli_usage("keygen", "unexpected argument \"%s\"", argv[optind]);

	int lock = lock_keyring("keygen");
	if (lock < 0)
		return 1;
	rc = 1;
	if (access(cli_keyring_path, F_OK) == 0) {
		if (!(kr = cli_load_keyring("keygen")))
			goto out;
	} else if (errno == ENOENT) {
		kr = keyring_new();
	} else {
		cli_error("keygen", "cannot access %s: %s", cli_keyring_path, strerror(errno));
		goto out;
	}
	struct keyring_key *active = keyring_active(kr);
	if (active)
		previous = active->id;
	if (keyring_generate(kr, &id, err, sizeof err) < 0 ||
	    keyring_save(kr, cli_keyring_path, err, sizeof err) < 0) {
		cli_error("keygen", "%s", err);
		goto out;
	}
	printf("key %u created in %s and now active", id, cli_keyring_path);
	if (previous)
		printf("; key %u is now verify-only", previous);
	printf("\n");
	rc = 0;
out:
	keyring_free(kr);
	close(lock);
	return rc;
}

int cmd_keys(int argc, char **argv)
{
	static const char help[] =
	    "Usage: packcode-gen keys\n"
	    "\n"
	    "List the keys of the keyring: id, status (active: mints; verify-only:\n"
	    "verifies; revoked: its codes are rejected) and creation time. Secrets are\n"
	    "never printed.\n";
	int rc = no_options("keys", argc, argv, help);
	if (rc >= 0)
		return rc;
	struct keyring *kr = cli_load_keyring("keys");
	if (!kr)
		return 1;
	printf("%-4s %-12s %s\n", "ID", "STATUS", "CREATED");
	for (size_t i = 0; i < kr->n; i++) {
		char when[32];
		struct tm tm;
		gmtime_r(&kr->keys[i].created, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%-4u %-12s %s\n", kr->keys[i].id, key_status_name(kr->keys[i].status),
		       when);
	}
	keyring_free(kr);
	return 0;
}

int cmd_key(int argc, char **argv)
{
	static const char help[] =
	    "Usage: packcode-gen key retire ID\n"
	    "       packcode-gen key revoke ID\n"
	    "\n"
	    "retire: key ID stops minting (it becomes verify-only); its codes still\n"
	    "verify. Use it when a key has minted enough and a fresh one should take over\n"
	    "without 'keygen'.\n"
	    "revoke: every code signed with key ID is answered as signed by a revoked\n"
	    "key, never as genuine. Use it when the key may have leaked. Servers pick the\n"
	    "change up on SIGHUP. Revoking cannot be undone.\n";
	char err[KEYRING_ERR_LEN];
	uint64_t id;
	int rc = no_options("key", argc, argv, help);
	if (rc >= 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage("key", "expected 'retire ID' or 'revoke ID'");
	const char *verb = argv[optind];
	enum key_status to;
	if (strcmp(verb, "retire") == 0)
		to = KEY_VERIFY_ONLY;
	else if (strcmp(verb, "revoke") == 0)
		to = KEY_REVOKED;
	else
		return cli_usage("key", "unknown action \"%s\"", verb);
	if (cli_parse_u64(argv[optind + 1], CODE_KEY_ID_MIN, CODE_KEY_ID_MAX, &id) < 0)
		return cli_usage("key", "key id must be a number from %d to %d", CODE_KEY_ID_MIN,
		                 CODE_KEY_ID_MAX);

	int lock = lock_keyring("key");
	if (lock < 0)
		return 1;
	rc = 1;
	struct keyring *kr = cli_load_keyring("key");
	if (!kr)
		goto out;
	struct keyring_key *k = keyring_find(kr, (unsigned)id);
	if (!k) {
		cli_error("key", "no key %u in %s", (unsigned)id, cli_keyring_path);
		goto out;
	}
	if (k->status == KEY_REVOKED && to != KEY_REVOKED) {
		cli_error("key", "key %u is revoked; revoking cannot be undone", k->id);
		goto out;
	}
	int was_active = k->status == KEY_ACTIVE;
	k->status = to;
	if (keyring_save(kr, cli_keyring_path, err, sizeof err) < 0) {
		cli_error("key", "%s", err);
		goto out;
	}
	printf("key %u is now %s\n", k->id, key_status_name(to));
	if (was_active)
		fprintf(stderr,
		        "%s: key: warning: no key is active now; run 'packcode-gen keygen' "
		        "before minting\n",
		        cli_prog());
	rc = 0;
out:
	keyring_free(kr);
	close(lock);
	return rc;
}
