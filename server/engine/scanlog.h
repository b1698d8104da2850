/*
 * scanlog.h: every scan (landing page, lookup, claim) as a row of scans.
 *
 * Rows are buffered per worker and written off the request path on the
 * worker's own scan connection (one transaction per flush: the rows, the
 * code_stats summary and its scanners, the roll-ups), every 100 ms or sooner
 * when many are waiting; the buffer is flushed on graceful shutdown. A flush
 * that fails is kept and sent again (the database counts it once); while the
 * database is away rows accumulate up to --scan-buffer, then new ones are
 * dropped, counted by reason and logged. Each row gets its region from
 * --geoip when it is buffered.
 */
#ifndef PACKCODE_SERVER_SCANLOG_H
#define PACKCODE_SERVER_SCANLOG_H

#include <stddef.h>
#include <stdint.h>

enum scanlog_kind { SCANLOG_LANDING, SCANLOG_LOOKUP, SCANLOG_CLAIM };

struct worker;
struct scanlog;

/* Who scanned: the client's address and User-Agent, printable, "" if unknown. */
struct scanlog_client {
	const char *address;
	const char *user_agent;
};

/*
 * The scanner of a request: a hash of its address and User-Agent, the same
 * person on the same phone as far as anyone can tell without sessions. The
 * scans of a code are counted by scanner (code_stats.scanners).
 */
int64_t scanlog_scanner(const struct scanlog_client *who);

struct scanlog *scanlog_new(struct worker *w);
void scanlog_free(struct scanlog *s);

/* code: canonical, or as typed (made printable, cut to 64); member may be NULL. */
void scanlog_add(struct scanlog *s, const struct scanlog_client *who, enum scanlog_kind kind,
                 const char *code, uint64_t serial, const char *outcome, const char *member);

/* Send what is buffered if nothing is being written (the worker's tick calls this). */
void scanlog_flush(struct scanlog *s);
/* Open the --geoip file again if it changed (force: SIGHUP); a bad file keeps the old one. */
void scanlog_geoip_reload(struct scanlog *s, int force);
/*
 * The region of address (--geoip) as campaigns name them: the ISO 3166-2
 * subdivision ("CN-GD"), else the country ("CN"), else "" (unknown, or no
 * --geoip).
 */
void scanlog_region(const struct scanlog *s, const char *address, char *out, size_t outlen);
/* Rows buffered or being written. */
size_t scanlog_pending(const struct scanlog *s);
/* 1 when the scan connection is down: buffered rows cannot be written now. */
int scanlog_stuck(const struct scanlog *s);

#endif
