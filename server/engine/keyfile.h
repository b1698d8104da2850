/*
 * keyfile.h: a worker's copy of the keyring and the file it came from.
 *
 * Servers learn of a new or revoked key from the file alone, without a
 * signal: the control loop polls the file's identity (keyfile_stamp: device,
 * inode, size, times; a rename in place gives a new inode) and tells the
 * workers, and a worker that meets a key id it does not hold looks again at
 * once (at most once a second). The file is only read again when its
 * identity changed; a file that does not load leaves the copy as it was.
 */
#ifndef PACKCODE_SERVER_KEYFILE_H
#define PACKCODE_SERVER_KEYFILE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "keyring.h"

/* What a file looked like: equal stamps, (very likely) the same contents. */
struct keyfile_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	int missing; /* stat failed */
};

struct keyfile {
	struct keyring *kr;         /* the keys; never NULL after keyfile_load succeeded */
	struct keyfile_stamp stamp; /* of the file kr was read from */
	long long looked_ms;        /* the last look on demand (keyfile_refresh) */
};

/* The stamp of path now (missing set if it cannot be stat'ed). */
void keyfile_stamp(const char *path, struct keyfile_stamp *out);
int keyfile_stamp_equal(const struct keyfile_stamp *a, const struct keyfile_stamp *b);

/* Read path into k, replacing its keys: 0, or -1 with err (k unchanged). */
int keyfile_load(struct keyfile *k, const char *path, char *err, size_t errlen);

enum keyfile_refresh {
	KEYFILE_SAME,     /* the file is as it was read: nothing to do */
	KEYFILE_RELOADED, /* it changed and its new keys are in k */
	KEYFILE_FAILED,   /* it changed and does not load: err says why; k unchanged */
	KEYFILE_TOO_SOON, /* looked less than min_interval_ms ago */
};

/*
 * Read path again if its stamp differs from k's; at most once per
 * min_interval_ms (0: always look). now_ms: the monotonic clock.
 */
enum keyfile_refresh keyfile_refresh(struct keyfile *k, const char *path, long long now_ms,
                                     long long min_interval_ms, char *err, size_t errlen);

void keyfile_release(struct keyfile *k);

#endif
