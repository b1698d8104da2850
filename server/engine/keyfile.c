/*
 * keyfile.c: the keyring file and a worker's copy of it (keyfile.h). The
 * stamp is taken before the file is read, so a change racing the read is
 * seen as a change at the next look rather than missed.
 */
#include "engine/keyfile.h"

#include <string.h>
#include <sys/stat.h>

void keyfile_stamp(const char *path, struct keyfile_stamp *out)
{
	struct stat st;
	memset(out, 0, sizeof *out);
	if (stat(path, &st) < 0) {
		out->missing = 1;
		return;
	}
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	out->size = st.st_size;
	out->mtime = st.st_mtim;
	out->ctime = st.st_ctim;
}

int keyfile_stamp_equal(const struct keyfile_stamp *a, const struct keyfile_stamp *b)
{
	return a->missing == b->missing && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

int keyfile_load(struct keyfile *k, const char *path, char *err, size_t errlen)
{
	struct keyfile_stamp stamp;
	keyfile_stamp(path, &stamp);
	struct keyring *kr = keyring_load(path, err, errlen);
	if (!kr)
		return -1;
	keyring_free(k->kr);
	k->kr = kr;
	k->stamp = stamp;
	return 0;
}

enum keyfile_refresh keyfile_refresh(struct keyfile *k, const char *path, long long now_ms,
                                     long long min_interval_ms, char *err, size_t errlen)
{
	struct keyfile_stamp now;
	if (min_interval_ms > 0 && k->looked_ms && now_ms - k->looked_ms < min_interval_ms)
		return KEYFILE_TOO_SOON;
	k->looked_ms = now_ms;
	keyfile_stamp(path, &now);
	if (keyfile_stamp_equal(&now, &k->stamp))
		return KEYFILE_SAME;
	if (keyfile_load(k, path, err, errlen) < 0) {
		/* not again until the file changes once more */
		k->stamp = now;
		return KEYFILE_FAILED;
	}
	return KEYFILE_RELOADED;
}

void keyfile_release(struct keyfile *k)
{
	keyring_free(k->kr);
	k->kr = NULL;
}
