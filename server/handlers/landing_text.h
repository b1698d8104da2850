/*
 * landing_text.h: every text of the consumer's pages, in English,
 * Simplified Chinese (zh-CN) and Traditional Chinese (zh-Hant), and the
 * English singular where a count can be 1 ("Scanned 1 time").
 */
#ifndef PACKCODE_SERVER_LANDING_TEXT_H
#define PACKCODE_SERVER_LANDING_TEXT_H

#include "edge/negotiate.h"

enum text {
	T_TITLE,
	T_HOME,
	T_HOME_SUB,
	T_HOME_FIELD,
	T_HOME_HINT,
	T_CHECK,
	T_GENUINE,
	T_GENUINE_SUB,
	T_MINE,
	T_MINE_SUB,
	T_COPIED,
	T_COPIED_SUB,
	T_TAKEN_PAGE,
	T_TAKEN_PAGE_SUB,
	T_REPORT,
	T_REPORT_HINT,
	T_REPORTED,
	T_REPORTED_SUB,
	T_FORGED,
	T_FORGED_SUB,
	T_TYPO,
	T_TYPO_SUB,
	T_RECALLED,
	T_RECALLED_SUB,
	T_VOID,
	T_VOID_SUB,
	T_REVOKED,
	T_REVOKED_SUB,
	T_NOT_FOUND,
	T_NOT_FOUND_SUB,
	T_PRODUCT,
	T_BRAND,
	T_SKU,
	T_SCANS,
	T_SCANS_N,
	T_CLAIM_H,
	T_MEMBER,
	T_MEMBER_HINT,
	T_PIN,
	T_PIN_HINT,
	T_SUBMIT,
	T_CODE,
	T_AWARDED,
	T_AWARDED_SUB,
	T_REPEAT,
	T_REPEAT_SUB,
	T_TAKEN,
	T_TAKEN_SUB,
	T_PIN_REQUIRED,
	T_PIN_WRONG,
	T_PIN_WRONG_WAIT,
	T_THROTTLED,
	T_THROTTLED_SUB,
	T_THROTTLED_SUB_MIN,
	T_LIMITED,
	T_LIMITED_SUB,
	T_BAD_MEMBER,
	T_PHONE_NOT_A_NUMBER,
	T_PHONE_BAD_COUNTRY,
	T_PHONE_TOO_SHORT,
	T_PHONE_TOO_LONG,
	T_PHONE_BAD_LENGTH,
	T_PHONE_NO_SUCH_RANGE,
	T_UNAVAILABLE,
	T_UNAVAILABLE_SUB,
	T_BACK,
	T_TIMEZONE,
	T_COUNT
};

/* Text t in language l; with n == 1 its singular where the language has one. */
const char *landing_text(enum text t, enum lang l, long long n);

#endif
