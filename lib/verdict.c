/*
 * verdict.c: the names verdicts carry in JSON, CSV and logs (a contract: docs/api.md).
 */
#include "verdict.h"

const char *verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_GENUINE:
		return "genuine";
	case VERDICT_TYPO:
		return "typo";
	case VERDICT_FORGED:
		return "not_genuine";
	case VERDICT_REVOKED:
		return "revoked_key";
	case VERDICT_VOID:
		return "void_batch";
	case VERDICT_RECALLED:
		return "recalled";
	case VERDICT_UNKNOWN_KEY:
		return "unknown_key";
	case VERDICT_INACTIVE:
		return "inactive";
	case VERDICT_CODE_VOID:
		return "void";
	case VERDICT_STOLEN:
		return "stolen";
	case VERDICT_DESTROYED:
		return "destroyed";
	case VERDICT_SAMPLE:
		return "sample";
	case VERDICT_EXPIRED:
		return "expired";
	}
	return "unknown";
}
