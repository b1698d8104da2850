/*
 * tidy.h: the scans' privacy job (docs/privacy.md, "Retention"), in the
 * control thread: every interval it calls scans_tidy() (sql/017_privacy.sql)
 * on a connection of its own, off every request's path, to truncate the
 * client addresses of scans past --scan-address-days and delete the scans
 * past --scan-retention-days. The function works under a lease (an
 * advisory lock taken without waiting), so that of several servers one
 * runs at a time; it is audited (scans.tidy) and logged here.
 */
#ifndef PACKCODE_SERVER_ENGINE_TIDY_H
#define PACKCODE_SERVER_ENGINE_TIDY_H

#include <event2/event.h>

struct tidy;

/* A job every interval_ms on base with these days (0: keep); NULL for out of memory. */
struct tidy *tidy_new(struct event_base *base, const char *conninfo, int interval_ms,
                      int address_days, int retention_days);
/* Its connection first (a run in flight fails: rolled back), then it. NULL is fine. */
void tidy_free(struct tidy *t);

#endif
