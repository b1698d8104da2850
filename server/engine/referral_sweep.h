/*
 * referral_sweep.h: the referrals' sweep (docs/campaigns.md, "Referrals"),
 * in the control thread: every interval it calls referral_settle_due()
 * (sql/029_referrals.sql) on a connection of its own, which settles the
 * pending referrals whose referee has had an awarded claim since (the
 * claims that carried the referral cookie were settled at once) and lets
 * those older than 30 days lapse. Settling is idempotent: several servers
 * may sweep at once.
 */
#ifndef PACKCODE_SERVER_ENGINE_REFERRAL_SWEEP_H
#define PACKCODE_SERVER_ENGINE_REFERRAL_SWEEP_H

#include <event2/event.h>

struct referral_sweep;

/* A sweep every interval_ms on base, of at most batch referrals; NULL for out of memory. */
struct referral_sweep *referral_sweep_new(struct event_base *base, const char *conninfo,
                                          int interval_ms, int batch);
/* Its connection first (a sweep in flight fails: rolled back), then it. NULL is fine. */
void referral_sweep_free(struct referral_sweep *s);

#endif
