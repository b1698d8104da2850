/*
 * test_frame.c: the strict framing check on raw header blocks: what passes,
 * each refusal and its reason, and that feeding the bytes one at a time
 * decides exactly as feeding them at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "edge/frame.h"

/* The verdict on text fed at once; the problem into *why. */
static enum frame_status whole(const char *text, size_t len, enum frame_problem *why, size_t *used)
{
	struct frame f;
	frame_init(&f);
	enum frame_status s = frame_feed(&f, text, len, used);
	*why = f.problem;
	return s;
}

/* The same, one byte at a time: must agree with whole(). */
static enum frame_status bytewise(const char *text, size_t len, enum frame_problem *why,
                                  size_t *used)
{
	struct frame f;
	size_t u = 0;
	frame_init(&f);
	for (size_t i = 0; i < len; i++) {
		enum frame_status s = frame_feed(&f, text + i, 1, &u);
		if (s != FRAME_MORE) {
			*why = f.problem;
			*used = i + u;
			return s;
		}
	}
	*why = f.problem;
	*used = len;
	return FRAME_MORE;
}

static void expect(const char *text, enum frame_status want, enum frame_problem why)
{
	size_t len = strlen(text), u1, u2;
	enum frame_problem p1, p2;
	enum frame_status s1 = whole(text, len, &p1, &u1), s2 = bytewise(text, len, &p2, &u2);
	if (s1 != want || p1 != why)
		fail_msg("%s: status %d problem %s, expected %d %s", text, s1,
		         frame_problem_name(p1), want, frame_problem_name(why));
	if (s1 != s2 || p1 != p2 || u1 != u2)
		fail_msg("%s: fed byte by byte it ends otherwise", text);
}

#define GOOD(t)   expect(t, FRAME_DONE, FRAME_OK)
#define BAD(t, p) expect(t, FRAME_BAD, p)

static void test_ordinary_requests_pass(void **state)
{
	(void)state;
	GOOD("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	GOOD("GET /c/ABC?x=1 HTTP/1.1\r\nHost: pack.example\r\nUser-Agent: x\r\nAccept: "
	     "*/*\r\n\r\n");
	GOOD("GET /healthz HTTP/1.0\r\n\r\n"); /* HTTP/1.0 needs no Host */
	GOOD("POST /api/v1/claims HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
	     "Content-Length: 42\r\n\r\n");
	GOOD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	GOOD("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n\r\n");
	GOOD("POST / HTTP/1.1\r\nhost: a\r\nContent-Length:\t 0 \t\r\n\r\n"); /* OWS is no value */
	GOOD("GET / HTTP/1.1\nHost: a\n\n");                                  /* bare LF lines */
	GOOD("GET / HTTP/1.1\r\nHost:\r\nX-Empty:\r\n\r\n");
	GOOD("GET / HTTP/1.1\r\nHost: a\r\nX-Bin: \x01\x80\xff\r\n\r\n");
	GOOD("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
	GOOD("GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`|~09azAZ: tchars\r\n\r\n");
}

static void test_header_names_must_be_tokens(void **state)
{
	(void)state;
	BAD("GET / HTTP/1.1\r\nHost : a\r\n\r\n", FRAME_HEADER_NAME);
	BAD("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n", FRAME_HEADER_NAME);
	BAD("GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", FRAME_HEADER_NAME);
	BAD("GET / HTTP/1.1\r\nHost: a\r\nX y: 1\r\n\r\n", FRAME_HEADER_NAME);
	BAD("GET / HTTP/1.1\r\nHost: a\r\n: empty name\r\n\r\n", FRAME_HEADER_NAME);
	BAD("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", FRAME_HEADER_NAME);
	BAD("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: 1\r\n\r\n", FRAME_HEADER_NAME);
}

static void test_folded_lines_are_refused(void **state)
{
	(void)state;
	BAD("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  more\r\n\r\n", FRAME_FOLDED);
	BAD("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tmore\r\n\r\n", FRAME_FOLDED);
	BAD("GET / HTTP/1.1\r\n Host: a\r\n\r\n", FRAME_FOLDED);
}

static void test_transfer_encoding_is_chunked_or_nothing(void **state)
{
	(void)state;
	const char *bad[] = {
	    "gzip, chunked", "chunked, chunked", "identity", "chunked;x=1", "",
	    "chunkedx",      "chunk ed",         "gzip",     "xchunked",    "chunked,"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[200];
		snprintf(text, sizeof text,
		         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: %s\r\n\r\n", bad[i]);
		BAD(text, FRAME_TRANSFER_ENCODING);
	}
}

static void test_content_length_is_plain_digits(void **state)
{
	(void)state;
	const char *bad[] = {"+5", "-5", "5,5", "5 5", "\v5", "0x5", "", "5.0", "five", "5\f"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[200];
		snprintf(text, sizeof text,
		         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n", bad[i]);
		BAD(text, FRAME_CONTENT_LENGTH);
	}
	/* as many digits as it likes: libevent answers an overflow with 413 */
	GOOD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n");
}

static void test_both_framings_are_refused(void **state)
{
	(void)state;
	BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    FRAME_BOTH_LENGTHS);
	BAD("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: a\r\nContent-length: 5\r\n\r\n",
	    FRAME_BOTH_LENGTHS);
}

static void test_http_1_1_needs_a_host(void **state)
{
	(void)state;
	BAD("GET / HTTP/1.1\r\n\r\n", FRAME_NO_HOST);
	BAD("GET / HTTP/1.1\r\nX-Host: a\r\nHosts: b\r\n\r\n", FRAME_NO_HOST);
	GOOD("GET / HTTP/1.0\r\nX-A: 1\r\n\r\n");
}

static void test_versions_are_digit_dot_digit(void **state)
{
	(void)state;
	const char *bad[] = {"HTTP/01.1", "HTTP/+1.1",
	                     "HTTP/-1.1", "HTTP/1.4294967297",
	                     "HTTP/1.10", "HTTP/1.1x",
	                     "HTTP/1. 1", "http/1.1",
	                     "HTTP/1",    "HTTP/1.",
	                     "HTTP/.1",   "HTTP/1.1 ",
	                     "HTTP/a.b",  "HTTP/1.99999999999",
	                     "HTTPS/1.1", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[200];
		snprintf(text, sizeof text, "GET / %s\r\nHost: a\r\n\r\n", bad[i]);
		BAD(text, FRAME_VERSION);
	}
}

static void test_request_lines_have_one_space_each(void **state)
{
	(void)state;
	BAD("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", FRAME_REQUEST_LINE);
	BAD("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", FRAME_VERSION); /* "b HTTP/1.1" is no version */
	BAD(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", FRAME_REQUEST_LINE);
	BAD("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", FRAME_REQUEST_LINE);
	BAD("GET\r\n\r\n", FRAME_REQUEST_LINE);
	BAD("GET /\r\n\r\n", FRAME_REQUEST_LINE);
	BAD("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", FRAME_REQUEST_LINE);
	BAD("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", FRAME_REQUEST_LINE);
	BAD("\x16\x03\x01\x02\x00", FRAME_REQUEST_LINE); /* a TLS hello on a plain port */
}

static void test_a_cr_is_followed_by_lf(void **state)
{
	(void)state;
	BAD("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n", FRAME_BARE_CR);
	BAD("GET / HTTP/1.1\rHost: a\r\n\r\n", FRAME_BARE_CR);
	BAD("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", FRAME_BARE_CR);
}

static void test_done_says_where_the_body_starts(void **state)
{
	struct frame f;
	size_t used;
	const char req[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}GET /";
	(void)state;
	frame_init(&f);
	assert_int_equal(frame_feed(&f, req, sizeof req - 1, &used), FRAME_DONE);
	assert_int_equal(used, strlen(req) - strlen("{}GET /"));
	/* incomplete: more */
	frame_init(&f);
	assert_int_equal(frame_feed(&f, req, 20, &used), FRAME_MORE);
	assert_int_equal(used, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ordinary_requests_pass),
	    cmocka_unit_test(test_header_names_must_be_tokens),
	    cmocka_unit_test(test_folded_lines_are_refused),
	    cmocka_unit_test(test_transfer_encoding_is_chunked_or_nothing),
	    cmocka_unit_test(test_content_length_is_plain_digits),
	    cmocka_unit_test(test_both_framings_are_refused),
	    cmocka_unit_test(test_http_1_1_needs_a_host),
	    cmocka_unit_test(test_versions_are_digit_dot_digit),
	    cmocka_unit_test(test_request_lines_have_one_space_each),
	    cmocka_unit_test(test_a_cr_is_followed_by_lf),
	    cmocka_unit_test(test_done_says_where_the_body_starts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
