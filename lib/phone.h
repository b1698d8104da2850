/*
 * phone.h: phone numbers as people type them, made E.164 ("+8613900000000")
 * by Google's libphonenumber (lib/phone.cc wraps its C++ in this C API).
 *
 * A number without a country code is read as a number of the default region
 * (a two-letter region, "CN"); international prefixes ("00" in China) and
 * separators are understood. A number no phone of its country can have is
 * refused, with the reason.
 */
#ifndef PACKCODE_PHONE_H
#define PACKCODE_PHONE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PHONE_E164_MAX 16 /* "+" and at most 15 digits */

enum phone_result {
	PHONE_OK,
	PHONE_NOT_A_NUMBER,  /* no digits, or letters among them */
	PHONE_BAD_COUNTRY,   /* no country has this calling code */
	PHONE_TOO_SHORT,     /* too few digits for any number of that country */
	PHONE_TOO_LONG,      /* too many */
	PHONE_BAD_LENGTH,    /* a length between its numbers' lengths that none has */
	PHONE_NO_SUCH_RANGE, /* a possible length, but no number of that country starts so */
	PHONE_RESULT_COUNT
};

/*
 * 1 if in[0..len) is meant as a phone number: it starts with "+", or holds
 * digits and only the separators " -.()". Anything else (letters, "@",
 * ":") is no phone number.
 */
int phone_looks_like(const char *in, size_t len);

/*
 * in[0..len) as E.164 into out; region (two letters, any case) for a number
 * without a country code. PHONE_OK, or why not (out is then "").
 */
enum phone_result phone_normalize(const char *in, size_t len, const char *region,
                                  char out[PHONE_E164_MAX + 1]);

/* 1 if region is a two-letter region libphonenumber knows ("CN", "tw"). */
int phone_region_known(const char *region);

/* The reason, in English, for people: "too few digits for a phone number of its country". */
const char *phone_result_message(enum phone_result r);

#ifdef __cplusplus
}
#endif

#endif
