/*
 * product.c: the product rules of product.h. Messages name the field and the
 * rule, never a constraint, and quote at most 80 bytes of what was given, cut
 * on a character boundary so that they stay valid UTF-8 in a JSON reply.
 */
#include "product.h"

#include <stdint.h>
#include <string.h>

#include "errbuf.h"

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

int product_sku_check(const char *sku)
{
	size_t n = strlen(sku);
	return n >= 1 && n <= PRODUCT_SKU_MAX && strspn(sku, ALNUM) >= 1 &&
	               strspn(sku + 1, ALNUM "._-") == n - 1
	           ? 0
	           : -1;
}

long product_text_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long chars = 0;
	while (*p) {
		uint32_t cp;
		int more;
		if (*p < 0x80) {
			cp = *p;
			more = 0;
		} else if (*p >= 0xc2 && *p <= 0xdf) {
			cp = *p & 0x1f;
			more = 1;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			cp = *p & 0x0f;
			more = 2;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			cp = *p & 0x07;
			more = 3;
		} else {
			return -1;
		}
		p++;
		for (int i = 0; i < more; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (*p & 0x3f);
		}
		if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return -1;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return -1;
		chars++;
	}
	return chars;
}

/* At most max bytes of s, not ending inside a UTF-8 sequence. */
static int quoted_len(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n <= max)
		return (int)n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

static int text_check(const char *what, const char *s, long min, long max, char *err, size_t errlen)
{
	long n = product_text_chars(s);
	if (n < 0) {
		errbuf_set(err, errlen, "%s must be UTF-8 text without control characters", what);
		return -1;
	}
	if (n < min || n > max) {
		errbuf_set(err, errlen, "%s must be %ld to %ld characters, not %ld", what, min, max,
		           n);
		return -1;
	}
	return 0;
}

int product_check(const char *sku, const char *name, const char *brand, long long points,
                  const char *gtin, char gtin14[GTIN_LEN + 1], char *err, size_t errlen)
{
	gtin14[0] = '\0';
	if (product_sku_check(sku) < 0) {
		/* the SKU is quoted only if it is text: a JSON reply must stay UTF-8 */
		int printable = product_text_chars(sku) >= 0;
		errbuf_set(err, errlen,
		           "SKU \"%.*s\" is not 1 to %d letters, digits, '.', '_' or '-' starting "
		           "with a letter or digit",
		           printable ? quoted_len(sku, 80) : 1, printable ? sku : "?",
		           PRODUCT_SKU_MAX);
		return -1;
	}
	if (text_check("the name", name, 1, PRODUCT_NAME_MAX, err, errlen) < 0 ||
	    text_check("the brand", brand ? brand : "", 0, PRODUCT_BRAND_MAX, err, errlen) < 0)
		return -1;
	if (points < 0 || points > PRODUCT_POINTS_MAX) {
		errbuf_set(err, errlen, "points must be a whole number from 0 to %d, not %lld",
		           PRODUCT_POINTS_MAX, points);
		return -1;
	}
	if (gtin && gtin_normalize(gtin, gtin14, err, errlen) < 0)
		return -1;
	return 0;
}
