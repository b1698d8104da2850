/*
 * landing.c: the consumer's pages: the home page's code field, the landing
 * page of a code, the claim form's result, the report of a copied code.
 *
 * Pages are small (a few KB), self-contained (one inline <style>, no
 * scripts but /me's copy button's, no external assets; the CSP header
 * allows that one stylesheet by its hash and nothing else, /me's that
 * script by its hash too) and every value that comes from outside or
 * from the database goes through html() first. An API client that asks
 * for JSON (Accept) gets JSON on every one of these routes.
 */
#include "handlers/landing.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/campaigns.h"
#include "engine/catalog.h"
#include "handlers/auth.h"
#include "handlers/claim.h"
#include "handlers/member.h"
#include "edge/http.h"
#include "handlers/landing_text.h"
#include "handlers/lookup.h"
#include "handlers/oauth.h"
#include "handlers/referrals.h"
#include "engine/scanlog.h"
#include "log.h"
#include "server.h"
#include "text.h"
#include "url.h"

/*
 * Scanners (scanlog_scanner: address and User-Agent) beyond this many make a
 * genuine unclaimed code's page warn that it may have been copied: a buyer
 * scans in the shop and at home, on a phone whose address changes between
 * networks, and shows a friend.
 */
#define LANDING_WARN_SCANNERS 3

static const char css[] =
    "body{margin:0;background:#f4f4f5;color:#18181b;font:16px/1.5 system-ui,-apple-system,"
    "'PingFang SC','PingFang TC','Noto Sans CJK SC','Microsoft YaHei',sans-serif}"
    "main{max-width:30rem;margin:0 auto;padding:1rem}"
    ".card{background:#fff;border-radius:12px;padding:1rem 1.25rem;margin:0 0 1rem;"
    "box-shadow:0 1px 3px rgba(0,0,0,.08)}"
    ".v{border-left:6px solid #a1a1aa}.ok{border-color:#16a34a}.warn{border-color:#d97706}"
    ".bad{border-color:#dc2626}"
    "h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.05rem;margin:0 0 .5rem}"
    "p{margin:.25rem 0}dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}"
    "dt{color:#71717a}dd{margin:0}"
    "label{display:block;margin:.5rem 0 .25rem;font-weight:600}"
    "input{box-sizing:border-box;width:100%;font-size:1.1rem;padding:.6rem;border:1px solid "
    "#d4d4d8;border-radius:8px}"
    "small{display:block;color:#71717a;margin-top:.25rem}"
    "button{margin-top:1rem;width:100%;font-size:1.1rem;padding:.75rem;border:0;"
    "border-radius:8px;background:#16a34a;color:#fff}"
    ".report button{background:#fff;color:#b91c1c;border:2px solid #dc2626}"
    ".code{font-family:ui-monospace,monospace;letter-spacing:.05em;color:#52525b;"
    "text-align:center}"
    ".err{color:#b91c1c;font-weight:600}a{color:#15803d}"
    ".consent{display:flex;gap:.5rem;font-weight:400;font-size:.9rem}"
    ".consent input{width:auto;margin:.2rem 0 0}"
    ".links{display:flex;justify-content:space-between}"
    ".links button{width:auto;margin:0;padding:0;background:none;color:#15803d;font-size:1rem}"
    "ol{list-style:none;margin:0;padding:0}li{display:flex;justify-content:space-between;"
    "gap:1rem;padding:.4rem 0;border-top:1px solid #f4f4f5}"
    ".share{display:flex;gap:.5rem;margin:.75rem 0}"
    ".share input{flex:1;min-width:0;font:.9rem ui-monospace,monospace}"
    ".share button{width:auto;margin:0;padding:.6rem 1rem;font-size:1rem;white-space:nowrap}"
    ".share button[hidden]{display:none}";

/*
 * /me's one script: the share link's copy button (shown only where the
 * script runs; without it the link is a read-only field to select). The
 * CSP allows it by its SHA-256, like the stylesheet.
 */
static const char share_js[] =
    "(function(){var b=document.getElementById('share-copy'),"
    "i=document.getElementById('share-link');if(!b||!i)return;b.hidden=false;"
    "b.addEventListener('click',function(){i.focus();i.select();"
    "var done=function(){b.textContent=b.getAttribute('data-done')},"
    "old=function(){try{document.execCommand('copy')}catch(e){}done()};"
    "if(navigator.clipboard&&window.isSecureContext)"
    "navigator.clipboard.writeText(i.value).then(done,old);else old()})})()";

/*
 * The Content-Security-Policy of every page: nothing may load or run but the
 * one <style> element, allowed by the SHA-256 of css (computed once); /me's
 * (csp_me) also runs its one script, by its SHA-256.
 */
static char csp[256], csp_me[320];
static pthread_once_t csp_once = PTHREAD_ONCE_INIT;

static void csp_init(void)
{
	unsigned char md[32], js[32];
	unsigned int mdlen = 0, jslen = 0;
	char b64[48], js64[48];
	if (EVP_Digest(css, sizeof css - 1, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32 ||
	    EVP_Digest(share_js, sizeof share_js - 1, js, &jslen, EVP_sha256(), NULL) != 1 ||
	    jslen != 32) {
		/* cannot happen; the pages then show unstyled, never unprotected */
		snprintf(csp, sizeof csp,
		         "default-src 'none'; form-action 'self'; base-uri "
		         "'none'; frame-ancestors 'none'");
		snprintf(csp_me, sizeof csp_me, "%s", csp);
		return;
	}
	EVP_EncodeBlock((unsigned char *)b64, md, 32);
	EVP_EncodeBlock((unsigned char *)js64, js, 32);
	snprintf(csp, sizeof csp,
	         "default-src 'none'; style-src 'sha256-%s'; form-action 'self'; "
	         "base-uri 'none'; frame-ancestors 'none'",
	         b64);
	snprintf(csp_me, sizeof csp_me,
	         "default-src 'none'; style-src 'sha256-%s'; script-src 'sha256-%s'; "
	         "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	         b64, js64);
}

const char *landing_csp(void)
{
	pthread_once(&csp_once, csp_init);
	return csp;
}

/* /me's: the page's and its share script. */
static const char *landing_csp_me(void)
{
	pthread_once(&csp_once, csp_init);
	return csp_me;
}

/* Append s with & < > " ' escaped. */
static void html(struct evbuffer *b, const char *s)
{
	const char *p = s;
	while (*p) {
		size_t run = strcspn(p, "&<>\"'");
		evbuffer_add(b, p, run);
		p += run;
		switch (*p) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(b, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(b, "&#39;", 5);
			break;
		default:
			return;
		}
		p++;
	}
}

/*
 * Append text t in r's language with its %s (escaped s1) and %d (n1) filled
 * in: texts are ours, the values are not. n1 picks the English singular.
 */
static void fill(struct evbuffer *b, const struct request *r, enum text t, const char *s1,
                 long long n1)
{
	for (const char *p = landing_text(t, r->lang, n1); *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			html(b, s1 ? s1 : "");
			p++;
		} else if (p[0] == '%' && p[1] == 'd') {
			evbuffer_add_printf(b, "%lld", n1);
			p++;
		} else {
			evbuffer_add(b, p, 1);
		}
	}
}

static void text(struct evbuffer *b, const struct request *r, enum text t)
{
	fill(b, r, t, NULL, 0);
}

/* An ISO 8601 UTC time for people: UTC in English, UTC+8 (Beijing, Taipei, Hong Kong) in Chinese.
 */
static void when(const struct request *r, const char *iso, char *out, size_t outlen)
{
	time_t t;
	struct tm tm;
	if (!iso || timefmt_parse_pg(iso, &t) < 0) {
		snprintf(out, outlen, "%s", iso ? iso : "");
		return;
	}
	if (r->lang != LANG_EN) {
		t += 8 * 3600;
		gmtime_r(&t, &tm);
		snprintf(out, outlen, "%d年%d月%d日 %02d:%02d（%s）", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		         landing_text(T_TIMEZONE, r->lang, 0));
	} else {
		static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
		gmtime_r(&t, &tm);
		snprintf(out, outlen, "%d %s %d, %02d:%02d UTC", tm.tm_mday, mon[tm.tm_mon],
		         tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
	}
}

/* A date "YYYY-MM-DD" for people: "3 Dec 2026", "2026年12月3日". */
static void day(const struct request *r, const char *ymd, char *out, size_t outlen)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int y, m, d;
	if (sscanf(ymd, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12) {
		snprintf(out, outlen, "%s", ymd);
		return;
	}
	if (r->lang != LANG_EN)
		snprintf(out, outlen, "%d年%d月%d日", y, m, d);
	else
		snprintf(out, outlen, "%d %s %d", d, mon[m - 1], y);
}

static void page_start(struct evbuffer *b, const struct request *r)
{
	evbuffer_add_printf(
	    b,
	    "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	    "<meta name=\"robots\" content=\"noindex\"><title>",
	    negotiate_lang_tag(r->lang));
	text(b, r, T_TITLE);
	evbuffer_add_printf(b, "</title><style>%s</style></head><body><main>", css);
}

static void page_end(struct evbuffer *b)
{
	evbuffer_add_printf(b, "</main></body></html>\n");
}

static void verdict_card(struct evbuffer *b, const struct request *r, const char *cls,
                         enum text head, enum text sub, const char *s1, long long n1)
{
	evbuffer_add_printf(b, "<section class=\"card v %s\"><h1>", cls);
	fill(b, r, head, s1, n1);
	evbuffer_add_printf(b, "</h1><p>");
	fill(b, r, sub, s1, n1);
	evbuffer_add_printf(b, "</p></section>");
}

static void product_card(struct evbuffer *b, const struct request *r,
                         const struct catalog_batch *bt)
{
	evbuffer_add_printf(b, "<section class=\"card\"><h2>");
	text(b, r, T_PRODUCT);
	evbuffer_add_printf(b, "</h2><dl><dt>");
	text(b, r, T_PRODUCT);
	evbuffer_add_printf(b, "</dt><dd>");
	html(b, bt->name);
	evbuffer_add_printf(b, "</dd>");
	if (bt->brand[0]) {
		evbuffer_add_printf(b, "<dt>");
		text(b, r, T_BRAND);
		evbuffer_add_printf(b, "</dt><dd>");
		html(b, bt->brand);
		evbuffer_add_printf(b, "</dd>");
	}
	evbuffer_add_printf(b, "<dt>");
	text(b, r, T_SKU);
	evbuffer_add_printf(b, "</dt><dd>");
	html(b, bt->sku);
	evbuffer_add_printf(b, "</dd></dl></section>");
}

/* Links to the rules of the campaigns that apply to a pack of bt now (engine/campaigns.c). */
static void campaign_links(struct evbuffer *b, const struct request *r,
                           const struct catalog_batch *bt)
{
	long long ids[8];
	const char *names[8];
	struct campaigns_snapshot *s = campaigns_current(r->w->srv->campaigns);
	size_t n = campaigns_snapshot_match(s, bt->brand, bt->sku, (long long)bt->id,
	                                    (long long)time(NULL), ids, names, 8);
	if (n) {
		evbuffer_add_printf(b, "<p class=\"links\">");
		for (size_t i = 0; i < n; i++) {
			evbuffer_add_printf(b, "<a href=\"/campaigns/%lld\">", ids[i]);
			fill(b, r, T_CAMPAIGN_LINK, names[i], 0);
			evbuffer_add_printf(b, "</a>");
		}
		evbuffer_add_printf(b, "</p>");
	}
	campaigns_snapshot_unref(s);
}

/* What campaigns gave a claim (claim_result.campaign): the points' sum (when they changed
 * the points) and the prizes won. */
static void campaign_result(struct evbuffer *b, const struct request *r, json_t *c)
{
	json_t *mult = json_object_get(c, "multiplier"), *bonus = json_object_get(c, "bonus");
	json_t *prizes = json_object_get(c, "prizes"), *p;
	char m[32];
	size_t i;
	int changed = (json_is_number(mult) && json_number_value(mult) != 1.0) ||
	              (json_is_integer(bonus) && json_integer_value(bonus) > 0);
	if (changed && json_is_integer(json_object_get(c, "base_points"))) {
		evbuffer_add_printf(b, "<p class=\"sum\">");
		fill(b, r, T_CAMPAIGN_BASE, NULL,
		     json_integer_value(json_object_get(c, "base_points")));
		if (json_is_number(mult) && json_number_value(mult) != 1.0) {
			snprintf(m, sizeof m, "%g", json_number_value(mult));
			fill(b, r, T_CAMPAIGN_TIMES, m, 0);
		}
		if (json_is_integer(bonus) && json_integer_value(bonus) > 0)
			fill(b, r, T_CAMPAIGN_PLUS, NULL, json_integer_value(bonus));
		evbuffer_add_printf(b, "</p>");
	}
	json_array_foreach(prizes, i, p)
	{
		evbuffer_add_printf(b, "<p class=\"prize\"><strong>");
		fill(b, r, T_PRIZE_WON, json_string_value(json_object_get(p, "name")), 0);
		evbuffer_add_printf(b, "</strong></p>");
	}
	/* red packets: integer minor units, shown as yuan (¥1.88) or UNITS.CC CUR */
	json_array_foreach(json_object_get(c, "red_packets"), i, p)
	{
		json_t *amount = json_object_get(p, "amount"),
		       *cur = json_object_get(p, "currency");
		if (!json_is_integer(amount) || !json_is_string(cur) ||
		    json_integer_value(amount) < 0)
			continue;
		long long a = (long long)json_integer_value(amount);
		if (strcmp(json_string_value(cur), "CNY") == 0)
			snprintf(m, sizeof m, "\xc2\xa5%lld.%02lld", a / 100, a % 100);
		else
			snprintf(m, sizeof m, "%lld.%02lld %.3s", a / 100, a % 100,
			         json_string_value(cur));
		evbuffer_add_printf(b, "<p class=\"prize\"><strong>");
		fill(b, r, T_RED_PACKET_WON, m, 0);
		evbuffer_add_printf(b, "</strong></p>");
	}
}

static void code_line(struct evbuffer *b, const struct request *r, const char *code)
{
	char grouped[CODE_GROUPED_LEN + 1];
	if (strlen(code) != CODE_LEN)
		return;
	code_group(code, grouped);
	evbuffer_add_printf(b, "<p class=\"code\">");
	text(b, r, T_CODE);
	evbuffer_add_printf(b, " ");
	html(b, grouped);
	evbuffer_add_printf(b, "</p>");
}

/*
 * The field to type a code into, filled with typed (what the person typed,
 * printable) so that a typo can be corrected where it is: a GET of
 * /c/?code=..., which needs no script.
 */
static void code_form(struct evbuffer *b, const struct request *r, const char *typed)
{
	evbuffer_add_printf(b, "<form class=\"card\" method=\"get\" action=\"/c/\"><label "
	                       "for=\"c\">");
	text(b, r, T_HOME_FIELD);
	evbuffer_add_printf(b, "</label><input id=\"c\" name=\"code\" required maxlength=\"64\" "
	                       "autocomplete=\"off\" autocapitalize=\"characters\" "
	                       "spellcheck=\"false\" value=\"");
	html(b, typed ? typed : "");
	evbuffer_add_printf(b, "\"><small>");
	text(b, r, T_HOME_HINT);
	evbuffer_add_printf(b, "</small><button type=\"submit\">");
	text(b, r, T_CHECK);
	evbuffer_add_printf(b, "</button></form>");
}

/* The anonymous CSRF cookie (double submit): a form's csrf field must equal it. */
#define ANON_CSRF_COOKIE "pc_csrf"
#define ANON_CSRF_LEN    43

/*
 * The CSRF token for a form on r's page: the member session's, else the
 * anonymous cookie's (made now, with its Set-Cookie, if r has none).
 */
static void form_csrf(struct request *r, char out[SECRET_CSRF_LEN + 1])
{
	const char *v;
	size_t len;
	if (http_member_csrf(r, out) == 0)
		return;
	if (http_request_cookie(r, ANON_CSRF_COOKIE, &v, &len) == 1 && len == ANON_CSRF_LEN &&
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") >= len) {
		memcpy(out, v, len);
		out[len] = '\0';
		return;
	}
	char secret[SECRET_LEN_MAX], c[160];
	unsigned char h[SECRET_HASH_LEN];
	if (secret_new("", secret, sizeof secret, h) < 0 || strlen(secret) != ANON_CSRF_LEN) {
		out[0] = '\0';
		return;
	}
	memcpy(out, secret, ANON_CSRF_LEN + 1);
	snprintf(c, sizeof c, "%s=%s; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax%s",
	         ANON_CSRF_COOKIE, secret, r->w->srv->tls ? "; Secure" : "");
	http_header(r, "Set-Cookie", c);
}

/* 1 if token is the CSRF token of r's form: the member session's, or the anonymous cookie's. */
static int form_csrf_ok(struct request *r, const char *token)
{
	const char *v;
	size_t len;
	if (r->member[0])
		return http_member_csrf_ok(r, token);
	return http_request_cookie(r, ANON_CSRF_COOKIE, &v, &len) == 1 && len == ANON_CSRF_LEN &&
	       strlen(token) == len && CRYPTO_memcmp(v, token, len) == 0;
}

static void hidden(struct evbuffer *b, const char *name, const char *value)
{
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	html(b, value);
	evbuffer_add_printf(b, "\">");
}

/* What a claim form asks for next. */
enum form_step {
	STEP_CLAIM, /* signed in: the PIN if any, and claim */
	STEP_PHONE, /* not signed in: the phone (and PIN): a code is texted */
	STEP_OTP,   /* the code texted to phone: sign in and claim */
};

/* The fields a claim form carries from one step to the next. */
struct form_state {
	char phone[3 * PII_VALUE_MAX + 1];
	char pin[3 * PIN_INPUT_MAX + 1];
	char masked[PII_MASK_MAX + 1];
};

/*
 * The claim form of code (or, code NULL, the sign-in form of /me): its
 * step; error (a T_ text, filled with n) above the fields, or T_COUNT. No
 * script: each step is a POST that answers with the next one.
 */
static void claim_form(struct evbuffer *b, struct request *r, const char *code,
                       const struct catalog_batch *bt, enum text error, long long n,
                       enum form_step step, const struct form_state *fs)
{
	char csrf[SECRET_CSRF_LEN + 1];
	form_csrf(r, csrf);
	if (code) {
		evbuffer_add_printf(b, "<form class=\"card\" method=\"post\" action=\"/c/");
		html(b, code);
		evbuffer_add_printf(b, "/claim\"><h2>");
		fill(b, r, step == STEP_CLAIM ? T_CLAIM_H : T_SIGNIN_H, NULL, bt->points);
	} else {
		evbuffer_add_printf(
		    b, "<form class=\"card\" method=\"post\" action=\"/me/sign-in\"><h2>");
		text(b, r, T_ME_SIGNIN);
	}
	evbuffer_add_printf(b, "</h2>");
	hidden(b, "csrf", csrf);
	if (error != T_COUNT) {
		evbuffer_add_printf(b, "<p class=\"err\">");
		fill(b, r, error, NULL, n);
		evbuffer_add_printf(b, "</p>");
	}
	if (step == STEP_PHONE) {
		hidden(b, "step", "sms");
		if (code) {
			evbuffer_add_printf(b, "<p>");
			text(b, r, T_SIGNIN_SUB);
			evbuffer_add_printf(b, "</p>");
		}
		evbuffer_add_printf(b, "<label for=\"m\">");
		text(b, r, T_PHONE);
		evbuffer_add_printf(b, "</label><input id=\"m\" name=\"phone\" type=\"tel\" "
		                       "inputmode=\"tel\" required maxlength=\"64\" "
		                       "autocomplete=\"tel\" value=\"");
		html(b, fs ? fs->phone : "");
		evbuffer_add_printf(b, "\"><small>");
		text(b, r, T_PHONE_HINT);
		evbuffer_add_printf(b, "</small>");
	} else if (step == STEP_OTP) {
		hidden(b, "step", "verify");
		hidden(b, "phone", fs->phone);
		if (bt && bt->pin_required)
			hidden(b, "pin", fs->pin);
		evbuffer_add_printf(b, "<label for=\"o\">");
		text(b, r, T_OTP);
		evbuffer_add_printf(b,
		                    "</label><input id=\"o\" name=\"otp\" required "
		                    "maxlength=\"6\" minlength=\"6\" pattern=\"[0-9]{6}\" "
		                    "inputmode=\"numeric\" autocomplete=\"one-time-code\"><small>");
		fill(b, r, T_OTP_HINT, fs->masked, 0);
		evbuffer_add_printf(b, "</small><label class=\"consent\"><input type=\"checkbox\" "
		                       "name=\"consent\" value=\"1\" required><span>");
		fill(b, r, T_CONSENT, r->w->srv->cfg.privacy_version, 0);
		evbuffer_add_printf(b,
		                    "</span></label><small><a href=\"/privacy\" target=\"_blank\" "
		                    "rel=\"noopener\">");
		text(b, r, T_PRIVACY_READ);
		evbuffer_add_printf(b, "</a></small>");
	}
	if (bt && bt->pin_required && step != STEP_OTP) {
		evbuffer_add_printf(b, "<label for=\"p\">");
		text(b, r, T_PIN);
		evbuffer_add_printf(b, "</label><input id=\"p\" name=\"pin\" required "
		                       "maxlength=\"16\" inputmode=\"numeric\" "
		                       "autocomplete=\"off\" value=\"");
		html(b, fs ? fs->pin : "");
		evbuffer_add_printf(b, "\"><small>");
		text(b, r, T_PIN_HINT);
		evbuffer_add_printf(b, "</small>");
	}
	evbuffer_add_printf(b, "<button type=\"submit\">");
	text(b, r, step == STEP_CLAIM ? T_SUBMIT : step == STEP_PHONE ? T_SEND_CODE : T_VERIFY);
	evbuffer_add_printf(b, "</button>");
	if (step == STEP_CLAIM) {
		evbuffer_add_printf(b, "<small>");
		text(b, r, T_SIGNED_IN);
		evbuffer_add_printf(b, " <a href=\"/me\">");
		text(b, r, T_MY_POINTS);
		evbuffer_add_printf(b, "</a></small>");
	}
	evbuffer_add_printf(b, "</form>");
}

/* The report button: a POST form (no script), reason "claimed" or "copied". */
static void report_form(struct evbuffer *b, const struct request *r, const char *code,
                        const char *reason)
{
	evbuffer_add_printf(b, "<form class=\"card report\" method=\"post\" action=\"/c/");
	html(b, code);
	evbuffer_add_printf(b,
	                    "/report\"><input type=\"hidden\" name=\"reason\" value=\"%s\">"
	                    "<small>",
	                    reason);
	text(b, r, T_REPORT_HINT);
	evbuffer_add_printf(b, "</small><button type=\"submit\">");
	text(b, r, T_REPORT);
	evbuffer_add_printf(b, "</button></form>");
}

/* Reply with page b under csp_of (landing_csp, or /me's). */
static void send_page_csp(struct request *r, int status, struct evbuffer *b, const char *csp_of)
{
	http_header(r, "Content-Security-Policy", csp_of);
	http_reply_html(r, status, b);
	evbuffer_free(b);
}

static void send_page(struct request *r, int status, struct evbuffer *b)
{
	send_page_csp(r, status, b, landing_csp());
}

/* A page of one card (and the code field when typed is not NULL). */
static void simple_page(struct request *r, int status, const char *cls, enum text head,
                        enum text sub, long long n, const char *typed)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	page_start(b, r);
	if (head != T_COUNT)
		verdict_card(b, r, cls, head, sub, NULL, n);
	if (typed)
		code_form(b, r, typed);
	page_end(b);
	send_page(r, status, b);
}

/*
 * The verdict card for a code that is not genuine (any verdict but GENUINE);
 * bt, when known, dates an expiry.
 */
static void bad_verdict(struct evbuffer *b, const struct request *r, enum verdict v,
                        const struct catalog_batch *bt)
{
	char t[64];
	switch (v) {
	case VERDICT_INACTIVE:
		verdict_card(b, r, "bad", T_INACTIVE, T_INACTIVE_SUB, NULL, 0);
		break;
	case VERDICT_CODE_VOID:
		verdict_card(b, r, "bad", T_CODE_VOID, T_CODE_VOID_SUB, NULL, 0);
		break;
	case VERDICT_STOLEN:
		verdict_card(b, r, "bad", T_STOLEN, T_STOLEN_SUB, NULL, 0);
		break;
	case VERDICT_DESTROYED:
		verdict_card(b, r, "bad", T_DESTROYED, T_DESTROYED_SUB, NULL, 0);
		break;
	case VERDICT_SAMPLE:
		verdict_card(b, r, "warn", T_SAMPLE, T_SAMPLE_SUB, NULL, 0);
		break;
	case VERDICT_EXPIRED:
		if (bt && bt->expiry[0]) {
			day(r, bt->expiry, t, sizeof t);
			verdict_card(b, r, "bad", T_EXPIRED, T_EXPIRED_SUB, t, 0);
		} else {
			verdict_card(b, r, "bad", T_EXPIRED, T_EXPIRED_SUB_UNDATED, NULL, 0);
		}
		break;
	case VERDICT_TYPO:
		verdict_card(b, r, "warn", T_TYPO, T_TYPO_SUB, NULL, 0);
		break;
	case VERDICT_RECALLED:
		verdict_card(b, r, "bad", T_RECALLED, T_RECALLED_SUB, NULL, 0);
		break;
	case VERDICT_VOID:
		verdict_card(b, r, "bad", T_VOID, T_VOID_SUB, NULL, 0);
		break;
	case VERDICT_REVOKED:
		verdict_card(b, r, "bad", T_REVOKED, T_REVOKED_SUB, NULL, 0);
		break;
	default:
		verdict_card(b, r, "bad", T_FORGED, T_FORGED_SUB, NULL, 0);
		break;
	}
}

/* ---- GET / and /c/: the code field ---------------------------------------------------- */

static void home(struct request *r)
{
	if (r->want_json) {
		json_t *o = json_pack("{s:s}", "message",
		                      "type the code printed on the pack: GET /c/{code} or "
		                      "/api/v1/codes/{code}");
		http_reply_json(r, 200, o);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	page_start(b, r);
	evbuffer_add_printf(b, "<section class=\"card\"><h1>");
	text(b, r, T_HOME);
	evbuffer_add_printf(b, "</h1><p>");
	text(b, r, T_HOME_SUB);
	evbuffer_add_printf(b, "</p></section>");
	code_form(b, r, "");
	page_end(b);
	send_page(r, 200, b);
}

void landing_route_home(struct request *r)
{
	home(r);
}

/* ---- GET /c/{code} ------------------------------------------------------------------ */

struct landing {
	struct request *r;
	struct lookup_check c;
	int is_scan;
};

static void landing_facts(void *arg, enum pool_status st, const struct lookup_facts_row *f)
{
	struct landing *l = arg;
	struct request *r = (struct request *)l->r;
	const struct catalog_batch *bt = l->c.batch;
	const char *code = l->c.v.fields.text;
	struct evbuffer *b = evbuffer_new();
	char t[96], first[96];

	if (!b)
		goto out;
	page_start(b, r);
	if (st != POOL_OK) {
		verdict_card(b, r, "warn", T_UNAVAILABLE, T_UNAVAILABLE_SUB, NULL, 0);
		page_end(b);
		http_header(r, "Retry-After", "1");
		send_page(r, 503, b);
		goto out;
	}
	/* this scan counts (unless a HEAD or a bot): it is being recorded */
	long long people = lookup_scanners_now(f, l->is_scan);
	char now[TIMEFMT_ISO_LEN];
	timefmt_now_iso(now);
	when(r, f->first_scan[0] ? f->first_scan : now, first, sizeof first);
	lookup_apply_state(&l->c, f->state);
	int genuine = l->c.verdict == VERDICT_GENUINE;
	const char *report = NULL;
	if (!genuine) {
		bad_verdict(b, r, l->c.verdict, bt);
	} else if (f->claimed && f->claimed_here) {
		when(r, f->claimed_at, t, sizeof t);
		verdict_card(b, r, "ok", T_MINE, T_MINE_SUB, t, 0);
	} else if (f->claimed) {
		when(r, f->claimed_at, t, sizeof t);
		verdict_card(b, r, "bad", T_TAKEN_PAGE, T_TAKEN_PAGE_SUB, t, 0);
		report = "claimed";
	} else if (people > LANDING_WARN_SCANNERS) {
		verdict_card(b, r, "warn", T_COPIED, T_COPIED_SUB, first, people);
		report = "copied";
	} else {
		verdict_card(b, r, "ok", T_GENUINE, T_GENUINE_SUB, NULL, 0);
	}
	if (report)
		report_form(b, r, code, report);
	product_card(b, r, bt);
	if (genuine)
		campaign_links(b, r, bt);
	evbuffer_add_printf(b, "<section class=\"card\"><h2>");
	text(b, r, T_SCANS);
	evbuffer_add_printf(b, "</h2><p>");
	fill(b, r, T_SCANS_N, first, people > 0 ? people : 1);
	evbuffer_add_printf(b, "</p></section>");
	if (genuine && !f->claimed)
		claim_form(b, r, code, bt, T_COUNT, 0, r->member[0] ? STEP_CLAIM : STEP_PHONE,
		           NULL);
	code_line(b, r, code);
	page_end(b);
	send_page(r, lookup_http_status(l->c.verdict), b);
out:
	if (!b)
		http_reply_error(r, 503, "unavailable", "out of memory");
	lookup_check_release(&l->c);
	free(l);
}

void landing_handle(struct request *r, const char *code, size_t len, const char *gtin,
                    const char *lot)
{
	if (r->want_json) {
		lookup_answer(r, code, len, SCANLOG_LANDING, gtin, lot);
		return;
	}
	struct landing *l = calloc(1, sizeof *l);
	if (!l) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	struct scanlog_client who = {r->client, r->user_agent};
	l->r = r;
	l->is_scan = lookup_is_scan(r);
	lookup_check(r->w, code, len, &l->c);
	if (lookup_dl_mismatch(l->c.batch, gtin, lot)) {
		/* a code of ours on a Digital Link of another product or lot: not what we printed
		 */
		lookup_check_release(&l->c);
		l->c.verdict = VERDICT_FORGED;
	}
	const char *shown = l->c.verdict == VERDICT_TYPO ? code : l->c.v.fields.text;
	if (l->is_scan) {
		scanlog_add(r->w->scanlog, &who, SCANLOG_LANDING, shown, lookup_check_serial(&l->c),
		            verdict_name(l->c.verdict), NULL);
		lookup_alert_inactive(r->w, &l->c, r->client);
	}
	if (l->c.verdict == VERDICT_UNKNOWN_KEY) {
		/* this server cannot verify the code yet: "try again" (503), never "not genuine" */
		landing_facts(l, POOL_UNAVAILABLE, NULL);
		return;
	}
	if (l->c.batch &&
	    lookup_facts(r->w, l->c.v.serial, scanlog_scanner(&who), landing_facts, l) == 0)
		return;
	if (l->c.batch) {
		landing_facts(l, POOL_UNAVAILABLE, NULL);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
	} else {
		char typed[CODE_INPUT_MAX + 1];
		page_start(b, r);
		bad_verdict(b, r, l->c.verdict, l->c.batch);
		if (l->c.verdict == VERDICT_TYPO) {
			/* what was typed stays in the field, to be corrected there */
			text_printable(code, len, typed, sizeof typed);
			code_form(b, r, typed);
		} else {
			code_line(b, r, l->c.v.fields.text);
		}
		page_end(b);
		send_page(r, lookup_http_status(l->c.verdict), b);
	}
	lookup_check_release(&l->c);
	free(l);
}

/* ---- POST /c/{code}/claim: sign in inline, then claim ---------------------------------- */

struct form_claim {
	struct request *r;
	char code[LANDING_SEGMENT_MAX + 1]; /* as in the path; NULL-like "" for /me's sign-in */
	size_t codelen;
	int for_me; /* POST /me/sign-in: no code, back to /me once signed in */
	char csrf[SECRET_CSRF_LEN * 3 + 1];
	char step[16];
	char otp[32];
	int consent;
	struct form_state fs;
};

/* The form's message for a phone number that was refused. */
static enum text phone_text(enum phone_result why)
{
	switch (why) {
	case PHONE_NOT_A_NUMBER:
		return T_PHONE_NOT_A_NUMBER;
	case PHONE_BAD_COUNTRY:
		return T_PHONE_BAD_COUNTRY;
	case PHONE_TOO_SHORT:
		return T_PHONE_TOO_SHORT;
	case PHONE_TOO_LONG:
		return T_PHONE_TOO_LONG;
	case PHONE_BAD_LENGTH:
		return T_PHONE_BAD_LENGTH;
	case PHONE_NO_SUCH_RANGE:
		return T_PHONE_NO_SUCH_RANGE;
	case PHONE_OK:
	case PHONE_RESULT_COUNT:
		break;
	}
	return T_PHONE_NOT_A_NUMBER;
}

/* The form's message for a member id that was refused. */
static enum text bad_member_text(const struct claim_result *res)
{
	return res->member_why == PHONE_OK ? T_BAD_MEMBER : phone_text(res->member_why);
}

/* A page with the form of fc's next step (and error above it), status. Frees fc. */
static void step_page(struct form_claim *fc, int status, enum form_step step, enum text error,
                      long long n)
{
	struct request *r = fc->r;
	struct lookup_check c;
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		free(fc);
		return;
	}
	page_start(b, r);
	if (fc->for_me) {
		claim_form(b, r, NULL, NULL, error, n, step, &fc->fs);
	} else {
		lookup_check(r->w, fc->code, fc->codelen, &c);
		if (c.verdict == VERDICT_GENUINE) {
			product_card(b, r, c.batch);
			claim_form(b, r, c.v.fields.text, c.batch, error, n, step, &fc->fs);
			code_line(b, r, c.v.fields.text);
		} else {
			bad_verdict(b, r, c.verdict, c.batch);
		}
		lookup_check_release(&c);
	}
	page_end(b);
	send_page(r, status, b);
	free(fc);
}

static void form_done(void *arg, const struct claim_result *res);

/* After the code was checked: signed in (the cookie is set), so claim, or /me. */
static void form_verified(void *arg, struct request *r, const struct auth_result *res)
{
	struct form_claim *fc = arg;
	switch (res->outcome) {
	case AUTH_OK:
		break;
	case AUTH_BAD_INPUT:
		step_page(fc, 400, STEP_OTP, T_OTP_WRONG, 0);
		return;
	case AUTH_WRONG:
		step_page(fc, 401, STEP_OTP, T_OTP_WRONG, 0);
		return;
	case AUTH_EXHAUSTED:
		step_page(fc, 401, STEP_PHONE, T_OTP_EXHAUSTED, 0);
		return;
	default:
		http_header(r, "Retry-After", "1");
		step_page(fc, 503, STEP_OTP, T_UNAVAILABLE_SUB, 0);
		return;
	}
	if (fc->for_me) {
		http_header(r, "Location", "/me");
		simple_page(r, 303, "ok", T_SIGNED_IN, T_MY_POINTS, 0, NULL);
		free(fc);
		return;
	}
	claim_start(r, fc->code, fc->codelen, r->member, strlen(r->member),
	            fc->fs.pin[0] ? fc->fs.pin : NULL, form_done, fc);
}

/* After the code was asked for: the code's form, or the phone's again with why not. */
static void form_sent(void *arg, struct request *r, const struct auth_result *res)
{
	struct form_claim *fc = arg;
	(void)r;
	switch (res->outcome) {
	case AUTH_OK:
		snprintf(fc->fs.masked, sizeof fc->fs.masked, "%s", res->masked);
		step_page(fc, 200, STEP_OTP, T_COUNT, 0);
		return;
	case AUTH_BAD_INPUT:
		step_page(fc, 400, STEP_PHONE, phone_text(res->phone_why), 0);
		return;
	case AUTH_THROTTLED: {
		char num[16];
		snprintf(num, sizeof num, "%d", res->retry_after > 0 ? res->retry_after : 1);
		http_header(r, "Retry-After", num);
		step_page(fc, 429, STEP_PHONE, T_SMS_WAIT,
		          res->retry_after > 0 ? res->retry_after : 1);
		return;
	}
	case AUTH_INTERNAL:
		step_page(fc, 503, STEP_PHONE, T_SMS_OFF, 0);
		return;
	default:
		http_header(r, "Retry-After", "1");
		step_page(fc, 503, STEP_PHONE, T_UNAVAILABLE_SUB, 0);
		return;
	}
}

/* The member (if any) is known: claim, or the next step of signing in. */
static void form_signed(struct request *r)
{
	struct form_claim *fc = r->handler_arg;
	if (!form_csrf_ok(r, fc->csrf)) {
		if (r->want_json) {
			http_reply_error(r, 403, "csrf",
			                 "the form's csrf field is missing or wrong");
			free(fc);
			return;
		}
		step_page(fc, 403, r->member[0] ? STEP_CLAIM : STEP_PHONE, T_FORM_EXPIRED, 0);
		return;
	}
	if (r->member[0] && !fc->for_me) {
		claim_start(r, fc->code, fc->codelen, r->member, strlen(r->member),
		            fc->fs.pin[0] ? fc->fs.pin : NULL, form_done, fc);
		return;
	}
	if (r->member[0]) { /* /me/sign-in, signed in already */
		http_header(r, "Location", "/me");
		simple_page(r, 303, "ok", T_SIGNED_IN, T_MY_POINTS, 0, NULL);
		free(fc);
		return;
	}
	if (strcmp(fc->step, "verify") == 0)
		auth_sms_verify(r, fc->fs.phone, strlen(fc->fs.phone), fc->otp, fc->consent,
		                form_verified, fc);
	else
		auth_sms_send(r, fc->fs.phone, strlen(fc->fs.phone), r->lang, form_sent, fc);
}

/* Decode the form of POST /c/{code}/claim or /me/sign-in, then find who is signed in. */
static void form_start(struct request *r, const char *code, size_t len, int for_me)
{
	size_t blen;
	char consent[8];
	const char *body = http_body(r, "application/x-www-form-urlencoded", &blen);
	if (!body)
		return;
	struct form_claim *fc = calloc(1, sizeof *fc);
	if (!fc) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	fc->r = r;
	fc->for_me = for_me;
	if (code) {
		snprintf(fc->code, sizeof fc->code, "%.*s", (int)len, code);
		fc->codelen = len;
	}
	struct {
		const char *name;
		char *out;
		size_t size;
	} fields[] = {
	    {"csrf", fc->csrf, sizeof fc->csrf},          {"step", fc->step, sizeof fc->step},
	    {"phone", fc->fs.phone, sizeof fc->fs.phone}, {"otp", fc->otp, sizeof fc->otp},
	    {"pin", fc->fs.pin, sizeof fc->fs.pin},       {"consent", consent, sizeof consent},
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		int got =
		    http_form_field(body, blen, fields[i].name, fields[i].out, fields[i].size);
		if (got < 0 || !http_utf8_valid(fields[i].out, got ? strlen(fields[i].out) : 0)) {
			http_reply_error(r, 400, "bad_request", "malformed form");
			free(fc);
			return;
		}
		if (got == 0)
			fields[i].out[0] = '\0';
	}
	fc->consent = consent[0] == '1';
	r->handler_arg = fc;
	http_member(r, form_signed);
}

void landing_claim(struct request *r, const char *code, size_t len)
{
	form_start(r, code, len, 0);
}

static void form_done(void *arg, const struct claim_result *res)
{
	struct form_claim *fc = arg;
	struct request *r = fc->r;
	struct evbuffer *b = NULL;
	char t[96], num[16];
	int status = claim_http_status(res->outcome);
	enum text form_error = T_COUNT;
	long long form_n = 0;
	const char *report = NULL;

	if (r->want_json) {
		claim_reply_json(r, res);
		free(fc);
		return;
	}
	if (res->outcome == CLAIM_RATE_LIMITED) {
		http_reply_too_many(r, res->retry_after, NULL);
		free(fc);
		return;
	}
	if (!(b = evbuffer_new())) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		free(fc);
		return;
	}
	page_start(b, r);
	switch (res->outcome) {
	case CLAIM_AWARDED:
		evbuffer_add_printf(b, "<section class=\"card v ok\"><h1>");
		fill(b, r, T_AWARDED, NULL, res->points);
		evbuffer_add_printf(b, "</h1><p>");
		fill(b, r, T_AWARDED_SUB, NULL, res->balance);
		evbuffer_add_printf(b, "</p>");
		if (res->campaign)
			campaign_result(b, r, res->campaign);
		evbuffer_add_printf(b, "<p><a href=\"/me\">");
		text(b, r, T_MY_POINTS);
		evbuffer_add_printf(b, "</a></p></section>");
		if (res->batch)
			campaign_links(b, r, res->batch);
		break;
	case CLAIM_REPEAT:
		when(r, res->claimed_at, t, sizeof t);
		verdict_card(b, r, "ok", T_REPEAT, T_REPEAT_SUB, t, res->balance);
		if (res->campaign)
			campaign_result(b, r, res->campaign);
		break;
	case CLAIM_ALREADY_CLAIMED:
		when(r, res->claimed_at, t, sizeof t);
		verdict_card(b, r, "bad", T_TAKEN, T_TAKEN_SUB, t, 0);
		report = "claimed";
		break;
	case CLAIM_TYPO:
		bad_verdict(b, r, VERDICT_TYPO, NULL);
		break;
	case CLAIM_NOT_GENUINE:
		bad_verdict(b, r, VERDICT_FORGED, NULL);
		break;
	case CLAIM_RECALLED:
		bad_verdict(b, r, VERDICT_RECALLED, NULL);
		break;
	case CLAIM_VOID:
		bad_verdict(b, r, VERDICT_VOID, NULL);
		break;
	case CLAIM_REVOKED:
		bad_verdict(b, r, VERDICT_REVOKED, NULL);
		break;
	case CLAIM_INACTIVE:
	case CLAIM_CODE_VOID:
	case CLAIM_STOLEN:
	case CLAIM_DESTROYED:
	case CLAIM_SAMPLE:
	case CLAIM_EXPIRED:
		bad_verdict(b, r, claim_outcome_verdict(res->outcome), res->batch);
		break;
	case CLAIM_PIN_REQUIRED:
		form_error = T_PIN_REQUIRED;
		break;
	case CLAIM_PIN_WRONG:
		form_error = res->retry_after > 0 ? T_PIN_WRONG_WAIT : T_PIN_WRONG;
		form_n = res->retry_after;
		if (res->retry_after > 0) {
			snprintf(num, sizeof num, "%d", res->retry_after);
			http_header(r, "Retry-After", num);
		}
		break;
	case CLAIM_BAD_REQUEST:
		form_error = res->bad_member ? bad_member_text(res) : T_PIN_WRONG;
		break;
	case CLAIM_THROTTLED: {
		int secs = res->retry_after > 0 ? res->retry_after : 1;
		if (secs < 120)
			verdict_card(b, r, "warn", T_THROTTLED, T_THROTTLED_SUB, NULL, secs);
		else
			verdict_card(b, r, "warn", T_THROTTLED, T_THROTTLED_SUB_MIN, NULL,
			             (secs + 59) / 60);
		snprintf(num, sizeof num, "%d", secs);
		http_header(r, "Retry-After", num);
		break;
	}
	default:
		verdict_card(b, r, "warn", T_UNAVAILABLE, T_UNAVAILABLE_SUB, NULL, 0);
		if (status == 503)
			http_header(r, "Retry-After", "1");
		break;
	}
	if (report && res->code[0])
		report_form(b, r, res->code, report);
	if (res->batch)
		product_card(b, r, res->batch);
	if (form_error != T_COUNT && res->batch && res->code[0])
		claim_form(b, r, res->code, res->batch, form_error, form_n,
		           r->member[0] ? STEP_CLAIM : STEP_PHONE, &fc->fs);
	else if (form_error != T_COUNT)
		verdict_card(b, r, "warn", T_TYPO, T_TYPO_SUB, NULL, 0);
	if (res->code[0]) {
		evbuffer_add_printf(b, "<p class=\"code\"><a href=\"/c/");
		html(b, res->code);
		evbuffer_add_printf(b, "\">");
		text(b, r, T_BACK);
		evbuffer_add_printf(b, "</a></p>");
		code_line(b, r, res->code);
	}
	page_end(b);
	send_page(r, status, b);
	free(fc);
}

/* ---- POST /c/{code}/report --------------------------------------------------------------- */

struct report {
	struct request *r;
	struct lookup_check c;
	char serial[24], batch[24];
	char reason[16];
};

static void report_done(void *arg, const struct pool_result *res)
{
	struct report *rp = arg;
	struct request *r = rp->r;
	if (res->status != POOL_OK || PQntuples(res->res) != 1) {
		if (res->status == POOL_SQL_ERROR)
			log_error("event=report_failed sqlstate=%s", res->sqlstate);
		if (r->want_json)
			http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		else {
			http_header(r, "Retry-After", "1");
			simple_page(r, 503, "warn", T_UNAVAILABLE, T_UNAVAILABLE_SUB, 0, NULL);
		}
		goto out;
	}
	const char *outcome = PQgetvalue(res->res, 0, 0);
	long long id = strtoll(PQgetvalue(res->res, 0, 1), NULL, 10);
	char at[TIMEFMT_ISO_LEN];
	timefmt_pg_to_iso(PQgetvalue(res->res, 0, 2), at);
	log_info("event=report outcome=%s report=%lld serial=%s reason=%s", outcome, id, rp->serial,
	         rp->reason);
	if (r->want_json) {
		json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:s}", "outcome", outcome, "code",
		                      rp->c.v.fields.text, "report", (json_int_t)id, "reason",
		                      rp->reason, "at", at);
		http_reply_json(r, 200, o);
		goto out;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		goto out;
	}
	page_start(b, r);
	verdict_card(b, r, "ok", T_REPORTED, T_REPORTED_SUB, NULL, id);
	product_card(b, r, rp->c.batch);
	evbuffer_add_printf(b, "<p class=\"code\"><a href=\"/c/%s\">", rp->c.v.fields.text);
	text(b, r, T_BACK);
	evbuffer_add_printf(b, "</a></p>");
	code_line(b, r, rp->c.v.fields.text);
	page_end(b);
	send_page(r, 200, b);
out:
	lookup_check_release(&rp->c);
	free(rp);
}

void landing_report(struct request *r, const char *code, size_t len)
{
	size_t blen;
	const char *body = http_body(r, "application/x-www-form-urlencoded", &blen);
	if (!body)
		return;
	struct report *rp = calloc(1, sizeof *rp);
	if (!rp) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	rp->r = r;
	int n = http_form_field(body, blen, "reason", rp->reason, sizeof rp->reason);
	if (n <= 0 || (strcmp(rp->reason, "claimed") != 0 && strcmp(rp->reason, "copied") != 0)) {
		http_reply_error(r, 400, "bad_request", "a report's reason is claimed or copied");
		free(rp);
		return;
	}
	lookup_check(r->w, code, len, &rp->c);
	if (rp->c.verdict != VERDICT_GENUINE) {
		/* only a genuine code can have been copied: the verdict says the rest */
		if (r->want_json) {
			json_t *o =
			    json_pack("{s:s,s:s}", "verdict", verdict_name(rp->c.verdict),
			              "message", "only a genuine code can be reported as copied");
			http_reply_json(r, lookup_http_status(rp->c.verdict), o);
		} else {
			struct evbuffer *b = evbuffer_new();
			if (!b) {
				http_reply_error(r, 503, "unavailable", "out of memory");
			} else {
				page_start(b, r);
				bad_verdict(b, r, rp->c.verdict, rp->c.batch);
				page_end(b);
				send_page(r, lookup_http_status(rp->c.verdict), b);
			}
		}
		lookup_check_release(&rp->c);
		free(rp);
		return;
	}
	snprintf(rp->serial, sizeof rp->serial, "%llu", (unsigned long long)rp->c.v.serial);
	snprintf(rp->batch, sizeof rp->batch, "%lld", (long long)rp->c.batch->id);
	struct pool_query q = {
	    .stmt = "report_file",
	    .nparams = 6,
	    .values = {rp->serial, rp->batch, rp->c.v.fields.text, rp->reason,
	               r->client[0] ? r->client : NULL, r->user_agent[0] ? r->user_agent : NULL},
	};
	if (pool_submit(r->w->pool, &q, report_done, rp) < 0) {
		struct pool_result unavailable = {.status = POOL_UNAVAILABLE, .message = ""};
		report_done(rp, &unavailable);
	}
}

void landing_not_found(struct request *r, int status, const char *error, const char *message)
{
	if (r->want_json)
		http_reply_error(r, status, error, message);
	else
		simple_page(r, status, "bad", T_NOT_FOUND, T_NOT_FOUND_SUB, 0, "");
}

/* ---- 429 ----------------------------------------------------------------------------- */

void landing_too_many(struct request *r, int retry_after)
{
	if (r->want_json) {
		char msg[96];
		snprintf(msg, sizeof msg, "too many requests from this address: try again in %d s",
		         retry_after);
		http_reply_json(r, 429,
		                json_pack("{s:s,s:s,s:i}", "error", "rate_limited", "message", msg,
		                          "retry_after", retry_after));
		return;
	}
	simple_page(r, 429, "warn", T_LIMITED, T_LIMITED_SUB, retry_after, NULL);
}

/* ---- routes ---------------------------------------------------------------------------- */

/*
 * The code of a /c/{code} path, percent-decoded into out: far too long or
 * undecodable comes out empty, and the page says "check the characters".
 */
static size_t path_code(const struct route_capture *c, char *out, size_t outlen)
{
	long n = http_decode(c->s, c->len, 0, out, outlen);
	if (n < 0) {
		out[0] = '\0';
		n = 0;
	}
	return (size_t)n; /* over CODE_INPUT_MAX is malformed: a typo */
}

/* GET /c/{code}: who is signed in first (the claim form depends on it), then the page. */
static void page_signed(struct request *r)
{
	char code[LANDING_SEGMENT_MAX + 1];
	if (oauth_wechat_silent(r)) /* inside WeChat: signed in first, then back here */
		return;
	size_t n = path_code(&r->cap[0], code, sizeof code);
	if (n == 0 && r->cap[0].len == 0) {
		/* /c/ alone is the code field; /c/?code=... is what was typed into it */
		int got = http_form_field(r->query, strlen(r->query), "code", code, sizeof code);
		if (got == 0 || (got == 1 && !code[0])) {
			home(r);
			return;
		}
		n = got == 1 ? strlen(code) : 0;
		if (got < 0)
			code[0] = '\0';
	}
	landing_handle(r, code, n, NULL, NULL);
}

void landing_route_page(struct request *r)
{
	http_member(r, page_signed);
}

void landing_route_claim(struct request *r)
{
	char code[LANDING_SEGMENT_MAX + 1];
	size_t n = path_code(&r->cap[0], code, sizeof code);
	landing_claim(r, code, n);
}

void landing_route_report(struct request *r)
{
	char code[LANDING_SEGMENT_MAX + 1];
	size_t n = path_code(&r->cap[0], code, sizeof code);
	landing_report(r, code, n);
}

static void digital_link_signed(struct request *r)
{
	struct dl_path dl;
	if (oauth_wechat_silent(r))
		return;
	if (dl_parse_path(r->path, r->path_len, &dl) < 0) {
		if (r->want_json)
			http_reply_error(r, 404, "not_found",
			                 "not a GS1 Digital Link path of ours");
		else
			simple_page(r, 404, "bad", T_NOT_FOUND, T_NOT_FOUND_SUB, 0, "");
		return;
	}
	landing_handle(r, dl.code, strlen(dl.code), dl.gtin, dl.lot);
}

void landing_route_digital_link(struct request *r)
{
	http_member(r, digital_link_signed);
}

/* ---- GET /me: my points ------------------------------------------------------------------ */

/*
 * The share card of /me: the member's link with a copy button, and what
 * their referrals earned (share: referral_share's object).
 */
static void me_share_card(struct evbuffer *b, const struct request *r, json_t *share)
{
	json_t *referred = json_object_get(share, "referred");
	evbuffer_add_printf(b, "<section class=\"card\" id=\"share\"><h2>");
	text(b, r, T_ME_SHARE);
	evbuffer_add_printf(b, "</h2><p>");
	text(b, r, T_ME_SHARE_SUB);
	evbuffer_add_printf(b, "</p><div class=\"share\"><input id=\"share-link\" readonly "
	                       "aria-label=\"");
	text(b, r, T_ME_SHARE);
	evbuffer_add_printf(b, "\" value=\"");
	html(b, json_string_value(json_object_get(share, "url")));
	evbuffer_add_printf(b, "\"><button type=\"button\" id=\"share-copy\" hidden data-done=\"");
	text(b, r, T_ME_COPIED);
	evbuffer_add_printf(b, "\">");
	text(b, r, T_ME_COPY);
	evbuffer_add_printf(b, "</button></div><dl><dt>");
	text(b, r, T_ME_FRIENDS);
	evbuffer_add_printf(b, "</dt><dd id=\"share-friends\">%lld</dd><dt>",
	                    (long long)json_integer_value(json_object_get(referred, "rewarded")));
	text(b, r, T_ME_EARNED);
	evbuffer_add_printf(b, "</dt><dd id=\"share-earned\">%lld</dd></dl></section>",
	                    (long long)json_integer_value(json_object_get(share, "earned")));
}

static void me_page(struct request *r, json_t *o, json_t *share);

/* referral_share's answer: the page, with the share card when it came. */
static void me_shared(void *arg, struct request *r, json_t *share)
{
	json_t *o = arg;
	me_page(r, o, share);
	json_decref(share);
	json_decref(o);
}

/* The page of o (GET /api/v1/members/me's object), after the member's share link. */
static void me_render(void *arg, struct request *r, json_t *o)
{
	(void)arg;
	if (r->want_json) {
		http_reply_json(r, 200, json_incref(o));
		return;
	}
	referral_share(r, me_shared, json_incref(o));
}

static void me_page(struct request *r, json_t *o, json_t *share)
{
	char csrf[SECRET_CSRF_LEN + 1], t[96];
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	page_start(b, r);
	evbuffer_add_printf(b, "<section class=\"card v ok\"><h2>");
	text(b, r, T_MY_POINTS);
	evbuffer_add_printf(b, "</h2><h1>");
	long long bal = json_integer_value(json_object_get(o, "balance"));
	fill(b, r, T_ME_BALANCE, NULL, bal);
	evbuffer_add_printf(b, "</h1>");
	json_t *ids = json_object_get(o, "identities");
	if (json_array_size(ids)) {
		evbuffer_add_printf(b, "<p>");
		html(b, json_string_value(json_object_get(json_array_get(ids, 0), "masked")));
		evbuffer_add_printf(b, "</p>");
	}
	evbuffer_add_printf(b, "</section><section class=\"card\"><ol>");
	json_t *entries = json_object_get(o, "entries"), *e;
	size_t i;
	json_array_foreach(entries, i, e)
	{
		const char *name =
		    json_string_value(json_object_get(json_object_get(e, "product"), "name"));
		char at[TIMEFMT_ISO_LEN + 8];
		/* "2026-12-03T06:00:00Z" as PostgreSQL writes it, for when() */
		snprintf(at, sizeof at, "%s", json_string_value(json_object_get(e, "at")));
		for (char *p = at; *p; p++)
			if (*p == 'T')
				*p = ' ';
		when(r, at, t, sizeof t);
		evbuffer_add_printf(b, "<li><span>");
		html(b, name ? name : json_string_value(json_object_get(e, "kind")));
		evbuffer_add_printf(b, "<small>");
		html(b, t);
		evbuffer_add_printf(b, "</small></span><strong>%+lld</strong></li>",
		                    (long long)json_integer_value(json_object_get(e, "delta")));
	}
	if (!json_array_size(entries)) {
		evbuffer_add_printf(b, "<li>");
		text(b, r, T_ME_EMPTY);
		evbuffer_add_printf(b, "</li>");
	}
	evbuffer_add_printf(b, "</ol></section>");
	if (share)
		me_share_card(b, r, share);
	http_member_csrf(r, csrf);
	evbuffer_add_printf(b, "<form class=\"links\" method=\"post\" action=\"/me/sign-out\">");
	hidden(b, "csrf", csrf);
	evbuffer_add_printf(b, "<a href=\"/\">");
	text(b, r, T_HOME);
	evbuffer_add_printf(b, "</a><a href=\"/api/v1/members/me/export\" download>");
	text(b, r, T_ME_DOWNLOAD);
	evbuffer_add_printf(b, "</a><a href=\"/privacy\">");
	text(b, r, T_PRIVACY);
	evbuffer_add_printf(b, "</a><button type=\"submit\">");
	text(b, r, T_SIGN_OUT);
	evbuffer_add_printf(b, "</button></form>");
	if (share)
		evbuffer_add_printf(b, "<script>%s</script>", share_js);
	page_end(b);
	http_header(r, "Cache-Control", "no-store");
	send_page_csp(r, 200, b, share ? landing_csp_me() : landing_csp());
}

static void me_signed(struct request *r)
{
	if (r->member[0]) {
		member_page(r, me_render, NULL);
		return;
	}
	if (r->want_json) {
		http_reply_error(r, 401, "unauthorized", "sign in first");
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	page_start(b, r);
	claim_form(b, r, NULL, NULL, T_COUNT, 0, STEP_PHONE, NULL);
	page_end(b);
	send_page(r, 200, b);
}

void landing_route_me(struct request *r)
{
	http_member(r, me_signed);
}

void landing_route_me_sign_in(struct request *r)
{
	form_start(r, NULL, 0, 1);
}

/* POST /me/sign-out (the form's csrf field): the session revoked, back to /me. */
static void me_signed_out(void *arg, struct request *r, const struct auth_result *res)
{
	(void)arg;
	if (res->outcome != AUTH_OK) {
		http_header(r, "Retry-After", "1");
		simple_page(r, 503, "warn", T_UNAVAILABLE, T_UNAVAILABLE_SUB, 0, NULL);
		return;
	}
	http_header(r, "Location", "/me");
	simple_page(r, 303, "ok", T_SIGN_OUT, T_ME_SIGNIN, 0, NULL);
}

static void sign_out_signed(struct request *r)
{
	size_t blen;
	char csrf[SECRET_CSRF_LEN * 3 + 1];
	const char *body = http_body(r, "application/x-www-form-urlencoded", &blen);
	if (!body)
		return;
	if (http_form_field(body, blen, "csrf", csrf, sizeof csrf) != 1 || !r->member[0] ||
	    !http_member_csrf_ok(r, csrf)) {
		http_header(r, "Location", "/me");
		simple_page(r, 303, "warn", T_FORM_EXPIRED, T_ME_SIGNIN, 0, NULL);
		return;
	}
	auth_sign_out(r, me_signed_out, NULL);
}

void landing_route_me_sign_out(struct request *r)
{
	http_member(r, sign_out_signed);
}

/* ---- GET /privacy: the privacy notice -------------------------------------------------- */

/* Its version (--privacy-version), what sign-in agrees to; the retention as configured. */
void landing_route_privacy(struct request *r)
{
	const struct server_config *cfg = &r->w->srv->cfg;
	if (r->want_json) {
		http_reply_json(r, 200,
		                json_pack("{s:s,s:s,s:[s,s,s],s:i,s:i}", "version",
		                          cfg->privacy_version, "url", "/privacy", "languages",
		                          "zh-CN", "zh-Hant", "en", "scan_address_days",
		                          cfg->scan_address_days, "scan_retention_days",
		                          cfg->scan_retention_days));
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	page_start(b, r);
	evbuffer_add_printf(b, "<section class=\"card\"><h1>");
	text(b, r, T_PRIVACY);
	evbuffer_add_printf(b, "</h1><small>");
	fill(b, r, T_PRIVACY_VERSION, cfg->privacy_version, 0);
	evbuffer_add_printf(b, "</small>");
	static const enum text paras[] = {T_PRIVACY_WHO, T_PRIVACY_PHONE, T_PRIVACY_SESSION};
	for (size_t i = 0; i < sizeof paras / sizeof paras[0]; i++) {
		evbuffer_add_printf(b, "<p>");
		text(b, r, paras[i]);
		evbuffer_add_printf(b, "</p>");
	}
	evbuffer_add_printf(b, "<p>");
	text(b, r, T_PRIVACY_SCANS);
	if (cfg->scan_address_days > 0) {
		evbuffer_add_printf(b, " ");
		fill(b, r, T_PRIVACY_SCANS_CUT, NULL, cfg->scan_address_days);
	}
	evbuffer_add_printf(b, " ");
	if (cfg->scan_retention_days > 0)
		fill(b, r, T_PRIVACY_SCANS_DAYS, NULL, cfg->scan_retention_days);
	else
		text(b, r, T_PRIVACY_SCANS_KEPT);
	evbuffer_add_printf(b, "</p><p>");
	text(b, r, T_PRIVACY_RIGHTS);
	evbuffer_add_printf(b, "</p></section><p class=\"links\"><a href=\"/\">");
	text(b, r, T_HOME);
	evbuffer_add_printf(b, "</a><a href=\"/me\">");
	text(b, r, T_MY_POINTS);
	evbuffer_add_printf(b, "</a></p>");
	page_end(b);
	send_page(r, 200, b);
}

/* ---- GET /campaigns/{id}: a campaign's rules, public ---------------------------------------- */

static void campaign_line(struct evbuffer *b, const struct request *r, enum text t, const char *s1,
                          long long n1)
{
	evbuffer_add_printf(b, "<li>");
	fill(b, r, t, s1, n1);
	evbuffer_add_printf(b, "</li>");
}

static void campaign_page(void *arg, const struct pool_result *res)
{
	struct request *r = arg;
	json_t *c = NULL, *v, *p;
	struct evbuffer *b = NULL;
	char t1[96], t2[96], m[32];
	size_t i;
	if (res->status != POOL_OK) {
		if (r->want_json)
			http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		else
			simple_page(r, 503, "warn", T_UNAVAILABLE, T_UNAVAILABLE_SUB, 0, NULL);
		return;
	}
	if (PQntuples(res->res) > 0 && !PQgetisnull(res->res, 0, 0))
		c = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
	if (r->want_json) {
		if (c)
			http_reply_json(r, 200, c);
		else
			http_reply_error(r, 404, "unknown_campaign", "no such campaign");
		return;
	}
	if (!c) {
		simple_page(r, 404, "bad", T_CAMPAIGN_UNKNOWN, T_NOT_FOUND_SUB, 0, NULL);
		return;
	}
	if (!(b = evbuffer_new())) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		json_decref(c);
		return;
	}
	page_start(b, r);
	evbuffer_add_printf(b, "<section class=\"card\"><h1>");
	html(b, json_string_value(json_object_get(c, "name")));
	evbuffer_add_printf(b, "</h1><p>");
	html(b, json_string_value(json_object_get(c, "brand")));
	evbuffer_add_printf(b, "</p><h2>");
	text(b, r, T_CAMPAIGN_PERIOD);
	evbuffer_add_printf(b, "</h2><p>");
	when(r, json_string_value(json_object_get(c, "starts_at")), t1, sizeof t1);
	when(r,
	     json_string_value(json_object_get(c, "ended_at"))
	         ? json_string_value(json_object_get(c, "ended_at"))
	         : json_string_value(json_object_get(c, "ends_at")),
	     t2, sizeof t2);
	html(b, t1);
	evbuffer_add_printf(b, " – ");
	html(b, t2);
	evbuffer_add_printf(b, "</p>");
	v = json_object_get(c, "status");
	if (json_is_string(v) && strcmp(json_string_value(v), "ended") == 0) {
		evbuffer_add_printf(b, "<p>");
		text(b, r, T_CAMPAIGN_ENDED);
		evbuffer_add_printf(b, "</p>");
	}
	evbuffer_add_printf(b, "<h2>");
	text(b, r, T_CAMPAIGN_RULES);
	evbuffer_add_printf(b, "</h2><ul>");
	v = json_object_get(c, "multiplier");
	if (json_is_number(v) && json_number_value(v) != 1.0) {
		snprintf(m, sizeof m, "%g", json_number_value(v));
		campaign_line(b, r, T_CAMPAIGN_MULTIPLIER, m, 0);
	}
	if ((v = json_object_get(c, "bonus")) && json_integer_value(v) > 0)
		campaign_line(b, r, T_CAMPAIGN_BONUS, NULL, json_integer_value(v));
	if ((v = json_object_get(c, "first_claim_bonus")) && json_integer_value(v) > 0)
		campaign_line(b, r, T_CAMPAIGN_FIRST, NULL, json_integer_value(v));
	if ((v = json_object_get(c, "ladder")))
		campaign_line(b, r, T_CAMPAIGN_LADDER, NULL,
		              json_integer_value(json_object_get(v, "every")));
	if ((v = json_object_get(c, "daily_limit")))
		campaign_line(b, r, T_CAMPAIGN_LIMIT, NULL, json_integer_value(v));
	if ((v = json_object_get(c, "regions"))) {
		char list[256] = "";
		size_t o = 0;
		json_array_foreach(v, i, p)
		{
			const char *code = json_string_value(p);
			int n = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "",
			                 code ? code : "");
			if (n < 0 || (size_t)n >= sizeof list - o)
				break;
			o += (size_t)n;
		}
		campaign_line(b, r, T_CAMPAIGN_REGIONS, list, 0);
	}
	evbuffer_add_printf(b, "</ul>");
	if ((v = json_object_get(c, "prizes"))) {
		evbuffer_add_printf(b, "<h2>");
		text(b, r, T_CAMPAIGN_PRIZES);
		evbuffer_add_printf(b, "</h2><ul>");
		json_array_foreach(v, i, p)
		{
			evbuffer_add_printf(b, "<li>");
			html(b, json_string_value(json_object_get(p, "name")));
			evbuffer_add_printf(
			    b, " (%.4f%%, ",
			    (double)json_integer_value(json_object_get(p, "probability_ppm")) /
			        10000.0);
			fill(b, r, T_CAMPAIGN_PRIZE_LEFT, NULL,
			     json_integer_value(json_object_get(p, "remaining")));
			evbuffer_add_printf(b, ")</li>");
		}
		evbuffer_add_printf(b, "</ul><p>");
		text(b, r, T_CAMPAIGN_FAIR);
		evbuffer_add_printf(b, "</p><dl><dt>");
		text(b, r, T_CAMPAIGN_HASH);
		evbuffer_add_printf(b, "</dt><dd><code>");
		html(b, json_string_value(json_object_get(c, "secret_sha256")));
		evbuffer_add_printf(b, "</code></dd>");
		if ((v = json_object_get(c, "secret"))) {
			evbuffer_add_printf(b, "<dt>");
			text(b, r, T_CAMPAIGN_SECRET);
			evbuffer_add_printf(b, "</dt><dd><code>");
			html(b, json_string_value(v));
			evbuffer_add_printf(b, "</code></dd>");
		}
		evbuffer_add_printf(b, "</dl>");
	}
	evbuffer_add_printf(b, "</section><p class=\"links\"><a href=\"/\">");
	text(b, r, T_HOME);
	evbuffer_add_printf(b, "</a></p>");
	page_end(b);
	send_page(r, 200, b);
	json_decref(c);
}

void landing_route_campaign(struct request *r)
{
	const struct route_capture *cap = &r->cap[0];
	char id[24];
	if (cap->len < 1 || cap->len >= 19 || strspn(cap->s, "0123456789") < cap->len ||
	    cap->s[0] == '0') {
		if (r->want_json)
			http_reply_error(r, 404, "unknown_campaign", "no such campaign");
		else
			simple_page(r, 404, "bad", T_CAMPAIGN_UNKNOWN, T_NOT_FOUND_SUB, 0, NULL);
		return;
	}
	memcpy(id, cap->s, cap->len);
	id[cap->len] = '\0';
	struct pool_query q = {.stmt = "campaign_public", .nparams = 1, .values = {id}};
	if (pool_submit(r->w->pool, &q, campaign_page, r) < 0)
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
}
