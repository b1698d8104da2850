/*
 * member_id.c: member ids, normalised once for every program (member_id.h).
 * What looks like a phone number (a "+", or digits and separators only) is
 * one, and must be a possible number; so an id of digits alone needs a
 * prefix ("crm:778812"): it would otherwise be read as a phone number.
 */
#include "member_id.h"

#include <string.h>

static int id_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
}

static int alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int member_id_normalize(const char *in, size_t len, const char *region, char out[MEMBER_ID_MAX + 1],
                        enum phone_result *why)
{
	enum phone_result dummy;
	if (!why)
		why = &dummy;
	*why = PHONE_OK;
	out[0] = '\0';
	while (len && (in[0] == ' ' || in[0] == '\t')) {
		in++;
		len--;
	}
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len == 0 || len > 3 * MEMBER_ID_MAX || memchr(in, '\0', len))
		return -1;
	if (phone_looks_like(in, len)) {
		char e164[PHONE_E164_MAX + 1];
		*why = phone_normalize(in, len, region, e164);
		if (*why != PHONE_OK)
			return -1;
		memcpy(out, e164, strlen(e164) + 1);
		return 0;
	}
	if (len > MEMBER_ID_MAX || !alnum((unsigned char)in[0]))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!id_char((unsigned char)in[i]))
			return -1;
	memcpy(out, in, len);
	out[len] = '\0';
	return 0;
}

const char *member_id_message(enum phone_result why)
{
	switch (why) {
	case PHONE_OK:
	case PHONE_RESULT_COUNT:
		break;
	case PHONE_NOT_A_NUMBER:
		return "not a phone number: digits, spaces, hyphens and a leading + only";
	case PHONE_BAD_COUNTRY:
		return "not a phone number: no country has that calling code";
	case PHONE_TOO_SHORT:
		return "not a phone number: too few digits for a number of its country (an id "
		       "of digits alone needs a prefix, such as crm:)";
	case PHONE_TOO_LONG:
		return "not a phone number: too many digits";
	case PHONE_BAD_LENGTH:
		return "not a phone number: no number of its country has that many digits";
	case PHONE_NO_SUCH_RANGE:
		return "not a phone number: no number of its country starts with those digits";
	}
	return "a member is a phone number or an id of at most 64 letters, digits and . _ : @ - "
	       "starting with a letter or digit";
}
