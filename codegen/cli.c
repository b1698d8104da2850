/*
 * cli.c: what packcode-gen's commands share beyond lib/cli.c: the keyring
 * they work on.
 */
#include "cli.h"

const char *cli_keyring_path;

struct keyring *cli_load_keyring(const char *cmd)
{
	char err[KEYRING_ERR_LEN];
	struct keyring *kr = keyring_load(cli_keyring_path, err, sizeof err);
	if (!kr)
		cli_error(cmd, "%s", err);
	return kr;
}
