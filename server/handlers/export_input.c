/*
 * export_input.c: an export's query decoded and checked (export.h), pure:
 * no I/O, fuzzed (fuzz/fuzz_export_input.c). Times are checked to the day
 * of the month, so that the database never refuses one.
 */
#include "handlers/export.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const kinds[] = {"scans", "claims", "members", "ledger"};

const char *export_kind_name(enum export_kind k)
{
	return (unsigned)k < sizeof kinds / sizeof kinds[0] ? kinds[k] : "scans";
}

const char *export_format_name(enum export_format f)
{
	return f == EXPORT_JSONL ? "jsonl" : "csv";
}

int export_kind_parse(const char *kind, size_t len, enum export_kind *out)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strlen(kinds[i]) == len && memcmp(kinds[i], kind, len) == 0) {
			*out = (enum export_kind)i;
			return 0;
		}
	return -1;
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

int export_time_check(const char *s)
{
	size_t n = strlen(s);
	if (n < 10 || n > EXPORT_TIME_MAX || s[4] != '-' || s[7] != '-')
		return -1;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo))
		return -1;
	if (n == 10)
		return 0;
	const char *p = s + 10;
	if ((*p != 'T' && *p != 't') || strlen(p) < 7 || p[3] != ':')
		return -1;
	int h = digits(p + 1, 2), mi = digits(p + 4, 2);
	if (h < 0 || h > 23 || mi < 0 || mi > 59)
		return -1;
	p += 6;
	if (*p == ':') {
		int sec = digits(p + 1, 2);
		if (sec < 0 || sec > 59)
			return -1;
		p += 3;
		if (*p == '.') {
			size_t f = strspn(p + 1, "0123456789");
			if (f < 1 || f > 6)
				return -1;
			p += 1 + f;
		}
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return 0;
	if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh = digits(p + 1, 2), om = digits(p + 4, 2);
		return oh >= 0 && oh <= 14 && om >= 0 && om <= 59 ? 0 : -1;
	}
	return -1;
}

int export_decode_query(const char *query, struct export_in *out, char *err, size_t errlen)
{
	char format[8];
	size_t len = strlen(query);
	int has_from = http_form_field(query, len, "from", out->from, sizeof out->from);
	int has_to = http_form_field(query, len, "to", out->to, sizeof out->to);
	int has_format = http_form_field(query, len, "format", format, sizeof format);
	/* "+08:00" unescaped in a query reads as " 08:00": take it as meant */
	for (char *t = out->from; t; t = t == out->from ? out->to : NULL) {
		size_t n = has_from > 0 && has_to > 0 ? strlen(t) : 0;
		if (n > 16 && t[n - 6] == ' ')
			t[n - 6] = '+';
	}
	if (has_from <= 0 || has_to <= 0 || export_time_check(out->from) < 0 ||
	    export_time_check(out->to) < 0) {
		snprintf(
		    err, errlen,
		    "from and to are required: a date (2026-12-01, midnight UTC) or an RFC 3339 "
		    "time with its offset (2026-12-01T08:00:00+08:00)");
		return -1;
	}
	out->format = EXPORT_CSV;
	if (has_format < 0 ||
	    (has_format && strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0)) {
		snprintf(err, errlen, "format is csv or jsonl");
		return -1;
	}
	if (has_format && strcmp(format, "jsonl") == 0)
		out->format = EXPORT_JSONL;
	return 0;
}

int export_job_decode(const char *body, size_t len, struct export_in *out, char *err, size_t errlen)
{
	json_error_t je;
	const char *key;
	json_t *v;
	int rc = -1;
	memset(out, 0, sizeof *out);
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j || !json_is_object(j)) {
		snprintf(err, errlen, "the body is a JSON object: kind, from, to, format");
		goto out;
	}
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, "kind") && strcmp(key, "from") && strcmp(key, "to") &&
		    strcmp(key, "format")) {
			snprintf(err, errlen, "unknown field (kind, from, to, format)");
			goto out;
		}
	}
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *from = json_string_value(json_object_get(j, "from"));
	const char *to = json_string_value(json_object_get(j, "to"));
	json_t *fj = json_object_get(j, "format");
	const char *format = fj ? json_string_value(fj) : "csv";
	if (!kind || export_kind_parse(kind, strlen(kind), &out->kind) < 0) {
		snprintf(err, errlen, "kind is scans, claims, members or ledger");
		goto out;
	}
	if (!from || !to || export_time_check(from) < 0 || export_time_check(to) < 0) {
		snprintf(err, errlen,
		         "from and to are required: a date (2026-12-01, midnight UTC) or an RFC "
		         "3339 time with its offset (2026-12-01T08:00:00+08:00)");
		goto out;
	}
	if (!format || (strcmp(format, "csv") && strcmp(format, "jsonl"))) {
		snprintf(err, errlen, "format is csv or jsonl");
		goto out;
	}
	snprintf(out->from, sizeof out->from, "%s", from);
	snprintf(out->to, sizeof out->to, "%s", to);
	out->format = strcmp(format, "jsonl") == 0 ? EXPORT_JSONL : EXPORT_CSV;
	rc = 0;
out:
	json_decref(j);
	return rc;
}
