/*
 * negotiate.c: Accept-Language and Accept, read the way browsers and HTTP
 * clients write them (negotiate.h). Pure: no I/O, no allocation; a
 * malformed header is read as far as it makes sense, never refused.
 */
#include "edge/negotiate.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One element of a comma-separated header: [tag, tag + taglen), and its q (1 if none). */
static const char *next_item(const char *p, const char **tag, size_t *taglen, double *q)
{
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (!*p)
		return NULL;
	*tag = p;
	*taglen = strcspn(p, ";,");
	p += *taglen;
	while (*taglen && ((*tag)[*taglen - 1] == ' ' || (*tag)[*taglen - 1] == '\t'))
		(*taglen)--;
	*q = 1.0;
	while (*p == ';') {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			char *end;
			double v = strtod(p + 2, &end);
			*q = end == p + 2 || v < 0 ? 0 : v > 1 ? 1 : v;
		}
		p += strcspn(p, ";,");
	}
	return p;
}

/* Is subtag (a part of a language tag between - or _) one of the list? */
static int subtag_in(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncasecmp(s, *list, n) == 0)
			return 1;
	return 0;
}

/* The language of one tag: 0 no language of ours, else LANG_* + 1. */
static int tag_lang(const char *tag, size_t n)
{
	static const char *const hant[] = {"hant", "tw", "hk", "mo", NULL};
	static const char *const hans[] = {"hans", "cn", "sg", "my", NULL};
	if (n >= 2 && strncasecmp(tag, "en", 2) == 0 && (n == 2 || tag[2] == '-' || tag[2] == '_'))
		return LANG_EN + 1;
	if (n < 2 || strncasecmp(tag, "zh", 2) != 0 || (n > 2 && tag[2] != '-' && tag[2] != '_'))
		return 0;
	/* the script decides (zh-Hant-CN is Traditional), then the region */
	int region = 0;
	for (size_t i = 2; i < n;) {
		size_t start = ++i, len = 0;
		while (i < n && tag[i] != '-' && tag[i] != '_') {
			i++;
			len++;
		}
		if (len == 4 && subtag_in(tag + start, len, hant))
			return LANG_ZH_HANT + 1;
		if (len == 4 && subtag_in(tag + start, len, hans))
			return LANG_ZH + 1;
		if (!region && subtag_in(tag + start, len, hant))
			region = LANG_ZH_HANT + 1;
	}
	return region ? region : LANG_ZH + 1;
}

enum lang negotiate_lang(const char *accept_language)
{
	double best_q = 0;
	enum lang best = LANG_EN;
	const char *p = accept_language, *tag;
	size_t n;
	double q;
	while (p && (p = next_item(p, &tag, &n, &q))) {
		int l = tag_lang(tag, n);
		if (l && q > best_q) {
			best_q = q;
			best = (enum lang)(l - 1);
		}
	}
	return best;
}

const char *negotiate_lang_tag(enum lang l)
{
	switch (l) {
	case LANG_ZH:
		return "zh-CN";
	case LANG_ZH_HANT:
		return "zh-Hant";
	case LANG_EN:
		break;
	}
	return "en";
}

/*
 * The q that Accept gives type/sub: that of its most specific matching range,
 * -1 if none; *specific: 3 type/sub, 2 type/any, 1 any/any, 0 none.
 */
static double media_q(const char *accept, const char *type, const char *sub, int *specific)
{
	double q, best = -1;
	int spec = 0;
	const char *p = accept, *range;
	size_t n, tl = strlen(type), sl = strlen(sub);
	while ((p = next_item(p, &range, &n, &q))) {
		int s = 0;
		if (n == 3 && strncmp(range, "*/*", 3) == 0)
			s = 1;
		else if (n == tl + 2 && strncasecmp(range, type, tl) == 0 && range[tl] == '/' &&
		         range[tl + 1] == '*')
			s = 2;
		else if (n == tl + 1 + sl && strncasecmp(range, type, tl) == 0 &&
		         range[tl] == '/' && strncasecmp(range + tl + 1, sub, sl) == 0)
			s = 3;
		if (s > spec || (s == spec && s && q > best)) {
			spec = s;
			best = q;
		}
	}
	*specific = spec;
	return best;
}

int negotiate_json(const char *accept)
{
	if (!accept || !*accept)
		return 0;
	int js, hs;
	double json = media_q(accept, "application", "json", &js);
	double html = media_q(accept, "text", "html", &hs);
	/* on a tie, the type named more specifically wins (axios: json, text/plain, any) */
	return json > 0 && (json > html || (json == html && js > hs));
}

int negotiate_linkset(const char *accept)
{
	if (!accept || !*accept)
		return 0;
	int ls, js, hs;
	double linkset = media_q(accept, "application", "linkset+json", &ls);
	double json = media_q(accept, "application", "json", &js);
	double html = media_q(accept, "text", "html", &hs);
	/* named by itself (never through a wildcard), and not below JSON or HTML */
	return ls == 3 && linkset > 0 && linkset >= json && linkset >= html;
}
