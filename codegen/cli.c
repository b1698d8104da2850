/*
 * cli.c: what packcode-gen's commands share beyond lib/cli.c: the keyring
 * they work on and the actor their audit rows name.
 */
#include "cli.h"

#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

const char *cli_keyring_path;

struct keyring *cli_load_keyring(const char *cmd)
{
	char err[KEYRING_ERR_LEN];
	struct keyring *kr = keyring_load(cli_keyring_path, err, sizeof err);
	if (!kr)
		cli_error(cmd, "%s", err);
	return kr;
}

const char *cli_actor(char *out, size_t outlen)
{
	uid_t uid = geteuid();
	struct passwd *pw = getpwuid(uid);
	if (pw && pw->pw_name && *pw->pw_name)
		snprintf(out, outlen, "cli:%s", pw->pw_name);
	else
		snprintf(out, outlen, "cli:%lu", (unsigned long)uid);
	return out;
}
