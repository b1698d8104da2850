/*
 * negotiate.h: content negotiation for the consumer's routes, pure: the
 * page's language from Accept-Language (English, Simplified or Traditional
 * Chinese) and HTML or JSON from Accept (a browser gets the page, an API
 * client that asks for JSON gets JSON).
 */
#ifndef PACKCODE_SERVER_NEGOTIATE_H
#define PACKCODE_SERVER_NEGOTIATE_H

enum lang { LANG_EN, LANG_ZH, LANG_ZH_HANT };

/*
 * The best of Accept-Language among en, zh (zh-CN, zh-SG, zh-Hans, zh_CN)
 * and zh-Hant (zh-TW, zh-HK, zh-MO, zh-Hant-*): highest q first, the first
 * listed on a tie; q=0 means "not this one". English when none fits.
 */
enum lang negotiate_lang(const char *accept_language);

/* The language's tag for Content-Language and <html lang>: "en", "zh-CN", "zh-Hant". */
const char *negotiate_lang_tag(enum lang l);

/*
 * 1 if Accept prefers application/json to text/html (each judged by its most
 * specific range, q-values honoured; on equal q the one named more
 * specifically); 0 for a browser, no Accept, any type alone, or a true tie.
 */
int negotiate_json(const char *accept);

/*
 * 1 if Accept names application/linkset+json itself (a wildcard does not
 * count) with a q above 0 and no lower than that of application/json or
 * text/html: the GS1 resolver's linkset (RFC 9264).
 */
int negotiate_linkset(const char *accept);

#endif
