/*
 * staff.h: staff sign-in and sessions under /api/v1/admin/ (docs/api.md,
 * "Staff sessions"): sign in with name, password and TOTP code for a session
 * cookie, sign out, and who am I. The password is checked with argon2id on
 * the offload thread, never on the loop; failures count towards the
 * account's lock (sql/008_staff.sql).
 */
#ifndef PACKCODE_SERVER_STAFF_H
#define PACKCODE_SERVER_STAFF_H

struct request;

void staff_route_sign_in(struct request *r);  /* POST session: no identity needed */
void staff_route_sign_out(struct request *r); /* DELETE session: a session's own */
void staff_route_me(struct request *r);       /* GET me: any identity */

#endif
