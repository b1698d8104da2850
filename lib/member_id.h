/*
 * member_id.h: the one normalisation of member ids, shared by every way in
 * (the claims API, the landing form, the admin API, packcode-gen): a phone
 * number in any usual form becomes E.164 (lib/phone.h, with a default
 * region for national numbers), anything else is an external id kept as
 * typed. "13900000000", "139 0000 0000", "+86 139-0000-0000" and
 * "008613900000000" (region CN) are all "+8613900000000"; "crm:42" stays.
 */
#ifndef PACKCODE_MEMBER_ID_H
#define PACKCODE_MEMBER_ID_H

#include <stddef.h>

#include "phone.h"

#define MEMBER_ID_MAX 64 /* characters of a stored member id */

/*
 * in[0..len) as stored into out: 0, or -1 with *why saying what is wrong:
 * PHONE_OK for an external id that breaks the id rules
 * ([A-Za-z0-9][A-Za-z0-9._:@-]{0,63}, not digits alone), or the reason a
 * phone number was refused. Leading and trailing blanks are ignored.
 */
int member_id_normalize(const char *in, size_t len, const char *region, char out[MEMBER_ID_MAX + 1],
                        enum phone_result *why);

/* The refusal for people, in English: what a member id must be, or why the number is wrong. */
const char *member_id_message(enum phone_result why);

#endif
