/*
 * cli.c: what packcode-gen's commands share beyond lib/cli.c: the keyring
 * they work on and the actor their audit rows name.
 */
#include "cli.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "product.h"

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

int cli_brands_check(const char *list, char *err, size_t errlen)
{
	int n = 0;
	for (const char *p = list;; n++) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len > PRODUCT_BRAND_MAX * 4 || n == 32) {
			snprintf(err, errlen,
			         "--brands is 1 to 32 brand names separated by commas, none empty");
			return -1;
		}
		if (!p[len])
			return 0;
		p += len + 1;
	}
}
