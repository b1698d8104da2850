/*
 * landing.c: the consumer landing page and the claim form's result page.
 *
 * Pages are small (a few KB), self-contained (one inline <style>, no
 * scripts, no external assets; the CSP header allows that one stylesheet by
 * its hash and nothing else) and every value that comes from outside or
 * from the database goes through html() first.
 */
#include "handlers/landing.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/catalog.h"
#include "handlers/claim.h"
#include "edge/http.h"
#include "handlers/lookup.h"
#include "engine/scanlog.h"
#include "server.h"
#include "url.h"

enum text {
	T_TITLE,
	T_GENUINE,
	T_GENUINE_SUB,
	T_CLAIMED,
	T_CLAIMED_SUB,
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
	T_PRODUCT,
	T_BRAND,
	T_SKU,
	T_SCANS,
	T_SCANS_N,
	T_FIRST,
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
	T_THROTTLED,
	T_THROTTLED_SUB,
	T_LIMITED,
	T_LIMITED_SUB,
	T_BAD_MEMBER,
	T_UNAVAILABLE,
	T_UNAVAILABLE_SUB,
	T_BACK,
	T_POINTS,
	T_COUNT
};

/* [T_...][lang]; %s and %d are filled in order, each value escaped. */
static const char *const texts[T_COUNT][2] = {
    [T_TITLE] = {"Product check", "产品验证"},
    [T_GENUINE] = {"Genuine", "正品"},
    [T_GENUINE_SUB] = {"This code was issued by the brand.", "此码由品牌方签发。"},
    [T_CLAIMED] = {"Genuine, already claimed", "正品，积分已被领取"},
    [T_CLAIMED_SUB] = {"The points of this code were claimed on %s.", "此码的积分已于 %s 领取。"},
    [T_FORGED] = {"Not a genuine code", "非正品码"},
    [T_FORGED_SUB] = {"The brand did not issue this code. The product may be counterfeit.",
                      "品牌方未签发此码，该产品可能是假冒品。"},
    [T_TYPO] = {"Check the characters", "请核对字符"},
    [T_TYPO_SUB] = {"A character is mistyped or two are swapped. Compare the code with the pack.",
                    "有字符输入错误或相邻字符顺序颠倒，请与包装上的码核对。"},
    [T_RECALLED] = {"Batch recalled", "该批次已召回"},
    [T_RECALLED_SUB] = {"This product's batch has been recalled. Please do not use it.",
                        "该产品所属批次已被召回，请勿使用。"},
    [T_VOID] = {"Not a valid code", "无效码"},
    [T_VOID_SUB] = {"This code belongs to a print run that was never released.",
                    "此码所属的印刷批次未曾投放。"},
    [T_REVOKED] = {"Code no longer valid", "此码已失效"},
    [T_REVOKED_SUB] = {"The key that signed this code has been revoked.",
                       "签发此码的密钥已被吊销。"},
    [T_PRODUCT] = {"Product", "产品"},
    [T_BRAND] = {"Brand", "品牌"},
    [T_SKU] = {"Item", "货号"},
    [T_SCANS] = {"Scans", "扫码记录"},
    [T_SCANS_N] = {"Scanned %d times", "已被扫描 %d 次"},
    [T_FIRST] = {"first on %s", "首次扫描于 %s"},
    [T_CLAIM_H] = {"Claim %d points", "领取 %d 积分"},
    [T_MEMBER] = {"Phone number or member id", "手机号或会员号"},
    [T_MEMBER_HINT] = {"Phone numbers with country code, e.g. +86 138 0013 8000",
                       "手机号请带国家代码，例如 +86 138 0013 8000"},
    [T_PIN] = {"PIN inside the pack", "包装内的验证码"},
    [T_PIN_HINT] = {"Printed inside the cap or under the scratch-off layer",
                    "印在瓶盖内侧或刮开涂层下"},
    [T_SUBMIT] = {"Claim points", "领取积分"},
    [T_CODE] = {"Code", "防伪码"},
    [T_AWARDED] = {"%d points added", "已获得 %d 积分"},
    [T_AWARDED_SUB] = {"Your balance is now %d points.", "您当前的积分余额为 %d。"},
    [T_REPEAT] = {"Already yours", "您已领取过"},
    [T_REPEAT_SUB] = {"You claimed this code on %s. Your balance is %d points.",
                      "您已于 %s 领取此码。当前积分余额为 %d。"},
    [T_TAKEN] = {"Already claimed", "积分已被领取"},
    [T_TAKEN_SUB] = {"Another member claimed this code on %s.", "此码已于 %s 被其他会员领取。"},
    [T_PIN_REQUIRED] = {"Enter the PIN printed inside the pack.", "请输入包装内的验证码。"},
    [T_PIN_WRONG] = {"That PIN is not right. Check it and try again.",
                     "验证码不正确，请核对后重试。"},
    [T_THROTTLED] = {"Too many wrong PINs", "验证码错误次数过多"},
    [T_THROTTLED_SUB] = {"Claims for this code are paused. Try again in %d minutes.",
                         "此码的领取已暂停，请 %d 分钟后再试。"},
    [T_LIMITED] = {"Too many attempts", "操作过于频繁"},
    [T_LIMITED_SUB] = {"Please wait %d seconds, then try again.", "请等待 %d 秒后再试。"},
    [T_BAD_MEMBER] = {"Enter a phone number starting with + and the country code, or your "
                      "member id.",
                      "请输入以 + 和国家代码开头的手机号，或您的会员号。"},
    [T_UNAVAILABLE] = {"Please try again", "请稍后再试"},
    [T_UNAVAILABLE_SUB] = {"The service is busy right now. Nothing was claimed.",
                           "服务暂时繁忙，积分未领取。"},
    [T_BACK] = {"Back to the product", "返回产品页"},
    [T_POINTS] = {"points", "积分"},
};

static const char css[] =
    "body{margin:0;background:#f4f4f5;color:#18181b;font:16px/1.5 system-ui,-apple-system,"
    "'PingFang SC','Microsoft YaHei',sans-serif}"
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
    "small{color:#71717a}"
    "button{margin-top:1rem;width:100%;font-size:1.1rem;padding:.75rem;border:0;"
    "border-radius:8px;background:#16a34a;color:#fff}"
    ".code{font-family:ui-monospace,monospace;letter-spacing:.05em;color:#52525b;"
    "text-align:center}"
    ".err{color:#b91c1c;font-weight:600}a{color:#15803d}";

/*
 * The Content-Security-Policy of every page: nothing may load or run but the
 * one <style> element, allowed by the SHA-256 of css (computed once).
 */
static char csp[256];
static pthread_once_t csp_once = PTHREAD_ONCE_INIT;

static void csp_init(void)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char b64[48];
	if (EVP_Digest(css, sizeof css - 1, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		/* cannot happen; the pages then show unstyled, never unprotected */
		snprintf(csp, sizeof csp,
		         "default-src 'none'; form-action 'self'; base-uri "
		         "'none'; frame-ancestors 'none'");
		return;
	}
	EVP_EncodeBlock((unsigned char *)b64, md, 32);
	snprintf(csp, sizeof csp,
	         "default-src 'none'; style-src 'sha256-%s'; form-action 'self'; "
	         "base-uri 'none'; frame-ancestors 'none'",
	         b64);
}

const char *landing_csp(void)
{
	pthread_once(&csp_once, csp_init);
	return csp;
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
 * Append a text with its %s (escaped strings) and %d (numbers) filled from
 * args, in order: texts are ours, the values are not.
 */
static void fill(struct evbuffer *b, const char *fmt, const char *s1, long long n1)
{
	for (const char *p = fmt; *p; p++) {
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

static const char *tx(const struct request *r, enum text t)
{
	return texts[t][r->lang == LANG_ZH ? 1 : 0];
}

/* An ISO 8601 UTC time for people: UTC in English, Beijing time in Chinese. */
static void when(const struct request *r, const char *iso, char *out, size_t outlen)
{
	time_t t;
	struct tm tm;
	if (!iso || timefmt_parse_pg(iso, &t) < 0) {
		snprintf(out, outlen, "%s", iso ? iso : "");
		return;
	}
	if (r->lang == LANG_ZH) {
		t += 8 * 3600;
		gmtime_r(&t, &tm);
		snprintf(out, outlen, "%d年%d月%d日 %02d:%02d（北京时间）", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
	} else {
		static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
		gmtime_r(&t, &tm);
		snprintf(out, outlen, "%d %s %d, %02d:%02d UTC", tm.tm_mday, mon[tm.tm_mon],
		         tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
	}
}

static void page_start(struct evbuffer *b, const struct request *r)
{
	evbuffer_add_printf(
	    b,
	    "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	    "<meta name=\"robots\" content=\"noindex\"><title>",
	    r->lang == LANG_ZH ? "zh-CN" : "en");
	html(b, tx(r, T_TITLE));
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
	fill(b, tx(r, head), s1, n1);
	evbuffer_add_printf(b, "</h1><p>");
	fill(b, tx(r, sub), s1, n1);
	evbuffer_add_printf(b, "</p></section>");
}

static void product_card(struct evbuffer *b, const struct request *r,
                         const struct catalog_batch *bt)
{
	evbuffer_add_printf(b, "<section class=\"card\"><h2>");
	html(b, tx(r, T_PRODUCT));
	evbuffer_add_printf(b, "</h2><dl><dt>");
	html(b, tx(r, T_PRODUCT));
	evbuffer_add_printf(b, "</dt><dd>");
	html(b, bt->name);
	evbuffer_add_printf(b, "</dd>");
	if (bt->brand[0]) {
		evbuffer_add_printf(b, "<dt>");
		html(b, tx(r, T_BRAND));
		evbuffer_add_printf(b, "</dt><dd>");
		html(b, bt->brand);
		evbuffer_add_printf(b, "</dd>");
	}
	evbuffer_add_printf(b, "<dt>");
	html(b, tx(r, T_SKU));
	evbuffer_add_printf(b, "</dt><dd>");
	html(b, bt->sku);
	evbuffer_add_printf(b, "</dd></dl></section>");
}

static void code_line(struct evbuffer *b, const struct request *r, const char *code)
{
	char grouped[CODE_GROUPED_LEN + 1];
	if (strlen(code) != CODE_LEN)
		return;
	code_group(code, grouped);
	evbuffer_add_printf(b, "<p class=\"code\">");
	html(b, tx(r, T_CODE));
	evbuffer_add_printf(b, " ");
	html(b, grouped);
	evbuffer_add_printf(b, "</p>");
}

/* The claim form; error (a T_ text) shown above the fields, or T_COUNT for none. */
static void claim_form(struct evbuffer *b, const struct request *r, const char *code,
                       const struct catalog_batch *bt, enum text error, const char *member)
{
	evbuffer_add_printf(b, "<form class=\"card\" method=\"post\" action=\"/c/");
	html(b, code);
	evbuffer_add_printf(b, "/claim\"><h2>");
	fill(b, tx(r, T_CLAIM_H), NULL, bt->points);
	evbuffer_add_printf(b, "</h2>");
	if (error != T_COUNT) {
		evbuffer_add_printf(b, "<p class=\"err\">");
		html(b, tx(r, error));
		evbuffer_add_printf(b, "</p>");
	}
	evbuffer_add_printf(b, "<label for=\"m\">");
	html(b, tx(r, T_MEMBER));
	evbuffer_add_printf(b, "</label><input id=\"m\" name=\"member\" required maxlength=\"64\" "
	                       "autocomplete=\"tel\" value=\"");
	html(b, member ? member : "");
	evbuffer_add_printf(b, "\"><small>");
	html(b, tx(r, T_MEMBER_HINT));
	evbuffer_add_printf(b, "</small>");
	if (bt->pin_required) {
		evbuffer_add_printf(b, "<label for=\"p\">");
		html(b, tx(r, T_PIN));
		evbuffer_add_printf(b, "</label><input id=\"p\" name=\"pin\" required "
		                       "maxlength=\"16\" inputmode=\"numeric\" "
		                       "autocomplete=\"off\"><small>");
		html(b, tx(r, T_PIN_HINT));
		evbuffer_add_printf(b, "</small>");
	}
	evbuffer_add_printf(b, "<button type=\"submit\">");
	html(b, tx(r, T_SUBMIT));
	evbuffer_add_printf(b, "</button></form>");
}

static void send_page(struct request *r, int status, struct evbuffer *b)
{
	http_header(r, "Content-Security-Policy", landing_csp());
	http_reply_html(r, status, b);
	evbuffer_free(b);
}

/* ---- GET /c/{code} ------------------------------------------------------------------ */

struct landing {
	struct request *r;
	struct lookup_check c;
};

/* The verdict card for a code that is not genuine (any verdict but GENUINE). */
static void bad_verdict(struct evbuffer *b, const struct request *r, enum verdict v)
{
	switch (v) {
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

static void landing_facts(void *arg, enum pool_status st, const struct lookup_facts_row *f)
{
	struct landing *l = arg;
	struct request *r = l->r;
	const struct catalog_batch *bt = l->c.batch;
	struct evbuffer *b = evbuffer_new();
	char t[80];

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
	if (l->c.verdict != VERDICT_GENUINE) {
		bad_verdict(b, r, l->c.verdict);
	} else if (f->claimed) {
		when(r, f->claimed_at, t, sizeof t);
		verdict_card(b, r, "warn", T_CLAIMED, T_CLAIMED_SUB, t, 0);
	} else {
		verdict_card(b, r, "ok", T_GENUINE, T_GENUINE_SUB, NULL, 0);
	}
	product_card(b, r, bt);

	/* this scan counts: it is being recorded */
	char now[TIMEFMT_ISO_LEN];
	timefmt_now_iso(now);
	when(r, f->first_scan[0] ? f->first_scan : now, t, sizeof t);
	evbuffer_add_printf(b, "<section class=\"card\"><h2>");
	html(b, tx(r, T_SCANS));
	evbuffer_add_printf(b, "</h2><p>");
	fill(b, tx(r, T_SCANS_N), NULL, f->scan_count + 1);
	evbuffer_add_printf(b, ", ");
	fill(b, tx(r, T_FIRST), t, 0);
	evbuffer_add_printf(b, "</p></section>");

	if (l->c.verdict == VERDICT_GENUINE && !f->claimed)
		claim_form(b, r, l->c.v.fields.text, bt, T_COUNT, NULL);
	code_line(b, r, l->c.v.fields.text);
	page_end(b);
	send_page(r, lookup_http_status(l->c.verdict), b);
out:
	if (!b)
		http_reply_error(r, 503, "unavailable", "out of memory");
	lookup_check_release(&l->c);
	free(l);
}

void landing_handle(struct request *r, const char *code, size_t len, const char *gtin)
{
	struct landing *l = calloc(1, sizeof *l);
	if (!l) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	l->r = r;
	lookup_check(r->w, code, len, &l->c);
	if (gtin && l->c.batch && l->c.batch->gtin[0] && strcmp(gtin, l->c.batch->gtin) != 0) {
		/* a code of ours on a Digital Link of another product: not what we printed */
		lookup_check_release(&l->c);
		l->c.verdict = VERDICT_FORGED;
	}
	const char *shown = l->c.verdict == VERDICT_TYPO ? code : l->c.v.fields.text;
	scanlog_add(r->w->scanlog, &(struct scanlog_client){r->client, r->user_agent},
	            SCANLOG_LANDING, shown, lookup_check_serial(&l->c), verdict_name(l->c.verdict),
	            NULL);
	if (l->c.verdict == VERDICT_UNKNOWN_KEY) {
		/* this server cannot verify the code yet: "try again" (503), never "not genuine" */
		landing_facts(l, POOL_UNAVAILABLE, NULL);
		return;
	}
	if (l->c.batch && lookup_facts(r->w, l->c.v.serial, landing_facts, l) == 0)
		return;
	if (l->c.batch) {
		landing_facts(l, POOL_UNAVAILABLE, NULL);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
	} else {
		page_start(b, r);
		bad_verdict(b, r, l->c.verdict);
		if (l->c.verdict != VERDICT_TYPO)
			code_line(b, r, l->c.v.fields.text);
		page_end(b);
		send_page(r, lookup_http_status(l->c.verdict), b);
	}
	lookup_check_release(&l->c);
	free(l);
}

/* ---- POST /c/{code}/claim -------------------------------------------------------------- */

struct form_claim {
	struct request *r;
	char member[3 * MEMBER_MAX + 1]; /* as typed, to fill the form again */
};

static void form_done(void *arg, const struct claim_result *res)
{
	struct form_claim *fc = arg;
	struct request *r = fc->r;
	struct evbuffer *b = NULL;
	char t[80], num[16];
	int status = claim_http_status(res->outcome);
	enum text form_error = T_COUNT;

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
		fill(b, tx(r, T_AWARDED), NULL, res->points);
		evbuffer_add_printf(b, "</h1><p>");
		fill(b, tx(r, T_AWARDED_SUB), NULL, res->balance);
		evbuffer_add_printf(b, "</p></section>");
		break;
	case CLAIM_REPEAT:
		when(r, res->claimed_at, t, sizeof t);
		verdict_card(b, r, "ok", T_REPEAT, T_REPEAT_SUB, t, res->balance);
		break;
	case CLAIM_ALREADY_CLAIMED:
		when(r, res->claimed_at, t, sizeof t);
		verdict_card(b, r, "warn", T_TAKEN, T_TAKEN_SUB, t, 0);
		break;
	case CLAIM_TYPO:
		bad_verdict(b, r, VERDICT_TYPO);
		break;
	case CLAIM_NOT_GENUINE:
		bad_verdict(b, r, VERDICT_FORGED);
		break;
	case CLAIM_RECALLED:
		bad_verdict(b, r, VERDICT_RECALLED);
		break;
	case CLAIM_VOID:
		bad_verdict(b, r, VERDICT_VOID);
		break;
	case CLAIM_REVOKED:
		bad_verdict(b, r, VERDICT_REVOKED);
		break;
	case CLAIM_PIN_REQUIRED:
		form_error = T_PIN_REQUIRED;
		break;
	case CLAIM_PIN_WRONG:
		form_error = T_PIN_WRONG;
		break;
	case CLAIM_BAD_REQUEST:
		form_error = T_BAD_MEMBER;
		break;
	case CLAIM_THROTTLED:
		verdict_card(b, r, "warn", T_THROTTLED, T_THROTTLED_SUB, NULL,
		             (res->retry_after + 59) / 60);
		snprintf(num, sizeof num, "%d", res->retry_after > 0 ? res->retry_after : 1);
		http_header(r, "Retry-After", num);
		break;
	default:
		verdict_card(b, r, "warn", T_UNAVAILABLE, T_UNAVAILABLE_SUB, NULL, 0);
		if (status == 503)
			http_header(r, "Retry-After", "1");
		break;
	}
	if (res->batch)
		product_card(b, r, res->batch);
	if (form_error != T_COUNT && res->batch && res->code[0])
		claim_form(b, r, res->code, res->batch, form_error, fc->member);
	else if (form_error != T_COUNT)
		verdict_card(b, r, "warn", T_TYPO, T_TYPO_SUB, NULL, 0);
	if (res->code[0]) {
		evbuffer_add_printf(b, "<p class=\"code\"><a href=\"/c/");
		html(b, res->code);
		evbuffer_add_printf(b, "\">");
		html(b, tx(r, T_BACK));
		evbuffer_add_printf(b, "</a></p>");
		code_line(b, r, res->code);
	}
	page_end(b);
	send_page(r, status, b);
	free(fc);
}

void landing_claim(struct request *r, const char *code, size_t len)
{
	size_t blen;
	char pin[PIN_INPUT_MAX * 3 + 1];
	const char *body = http_body(r, "application/x-www-form-urlencoded", &blen);
	if (!body)
		return;
	struct form_claim *fc = calloc(1, sizeof *fc);
	if (!fc) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	fc->r = r;
	int m = http_form_field(body, blen, "member", fc->member, sizeof fc->member);
	int p = http_form_field(body, blen, "pin", pin, sizeof pin);
	if (m < 0 || p < 0 || !http_utf8_valid(fc->member, strlen(fc->member))) {
		http_reply_error(r, 400, "bad_request", "malformed form");
		free(fc);
		return;
	}
	if (m == 0)
		fc->member[0] = '\0';
	claim_start(r, code, len, fc->member, strlen(fc->member), p == 1 && pin[0] ? pin : NULL,
	            form_done, fc);
}

/* ---- 429 ----------------------------------------------------------------------------- */

void landing_too_many(struct request *r, int retry_after)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	page_start(b, r);
	verdict_card(b, r, "warn", T_LIMITED, T_LIMITED_SUB, NULL, retry_after);
	page_end(b);
	send_page(r, 429, b);
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

void landing_route_page(struct request *r)
{
	char code[LANDING_SEGMENT_MAX + 1];
	size_t n = path_code(&r->cap[0], code, sizeof code);
	landing_handle(r, code, n, NULL);
}

void landing_route_claim(struct request *r)
{
	char code[LANDING_SEGMENT_MAX + 1];
	size_t n = path_code(&r->cap[0], code, sizeof code);
	landing_claim(r, code, n);
}

void landing_route_digital_link(struct request *r)
{
	struct dl_path dl;
	if (dl_parse_path(r->path, r->path_len, &dl) < 0) {
		http_reply_error(r, 404, "not_found", "not a GS1 Digital Link path of ours");
		return;
	}
	landing_handle(r, dl.code, strlen(dl.code), dl.gtin);
}
