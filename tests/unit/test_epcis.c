/*
 * test_epcis.c: the pure parts of EPCIS events: the document's head, the
 * codes put into the database's event lines (lib/epcis.c), and the events'
 * query (server/handlers/events_input.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "epcis.h"
#include "handlers/events.h"

static char err[256];

struct sink {
	char buf[1024];
	size_t n;
	int fail_after; /* put fails from this call on (0: never) */
	int calls;
};

static int put(void *ctx, const char *s, size_t n)
{
	struct sink *k = ctx;
	if (k->fail_after && ++k->calls >= k->fail_after)
		return -1;
	if (k->n + n >= sizeof k->buf)
		return -1;
	memcpy(k->buf + k->n, s, n);
	k->n += n;
	k->buf[k->n] = '\0';
	return 0;
}

static struct keyring *one_key(unsigned *id)
{
	struct keyring *kr = keyring_new();
	assert_non_null(kr);
	assert_int_equal(keyring_generate(kr, id, err, sizeof err), 0);
	return kr;
}

static void test_the_head_names_the_epcis_context_and_version(void **state)
{
	char head[EPCIS_HEAD_MAX];
	(void)state;
	size_t n = epcis_head(head, sizeof head, 0);
	assert_int_equal(n, strlen(head));
	assert_non_null(strstr(head, "\"" EPCIS_CONTEXT "\""));
	assert_non_null(strstr(head, "\"schemaVersion\":\"2.0\""));
	assert_non_null(strstr(head, "\"creationDate\":\"1970-01-01T00:00:00Z\""));
	assert_non_null(strstr(head, "\"eventList\":[\n"));
}

static void test_a_marker_becomes_the_code_of_its_serial(void **state)
{
	unsigned id;
	char line[128], code[CODE_LEN + 1], want[256];
	struct sink k = {.n = 0};
	(void)state;
	struct keyring *kr = one_key(&id);
	assert_int_equal(code_encode(keyring_signer(keyring_find(kr, id)), 42, code, NULL), 0);
	snprintf(line, sizeof line, "{\"epcList\":[\"https://id.gs1.org/01/1/21/#{%u.42}\"]}\n",
	         id);
	assert_int_equal(epcis_expand(kr, line, strlen(line), put, &k, err, sizeof err), 0);
	snprintf(want, sizeof want, "{\"epcList\":[\"https://id.gs1.org/01/1/21/%s\"]}", code);
	assert_string_equal(k.buf, want);
	keyring_free(kr);
}

static void test_a_line_without_markers_goes_as_it_is(void **state)
{
	unsigned id;
	struct sink k = {.n = 0};
	(void)state;
	struct keyring *kr = one_key(&id);
	const char *line = "{\"a\":\"#\",\"b\":\"{x}\"}\r\n";
	assert_int_equal(epcis_expand(kr, line, strlen(line), put, &k, err, sizeof err), 0);
	assert_string_equal(k.buf, "{\"a\":\"#\",\"b\":\"{x}\"}");
	keyring_free(kr);
}

static void test_two_markers_in_one_line(void **state)
{
	unsigned id;
	char line[128], a[CODE_LEN + 1], b[CODE_LEN + 1], want[256];
	struct sink k = {.n = 0};
	(void)state;
	struct keyring *kr = one_key(&id);
	struct code_signer *s = keyring_signer(keyring_find(kr, id));
	assert_int_equal(code_encode(s, 1, a, NULL), 0);
	assert_int_equal(code_encode(s, 2, b, NULL), 0);
	snprintf(line, sizeof line, "[#{%u.1},#{%u.2}]", id, id);
	assert_int_equal(epcis_expand(kr, line, strlen(line), put, &k, err, sizeof err), 0);
	snprintf(want, sizeof want, "[%s,%s]", a, b);
	assert_string_equal(k.buf, want);
	keyring_free(kr);
}

static void test_an_unknown_key_or_a_bad_marker_fails(void **state)
{
	unsigned id;
	(void)state;
	struct keyring *kr = one_key(&id);
	static const char *const bad[] = {
	    "x#{99.1}", "x#{.1}", "x#{1.}", "x#{1.2", "x#{0.1}", "x#{1x.1}", "x#{1.99999999999999}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sink k = {.n = 0};
		assert_int_equal(epcis_expand(kr, bad[i], strlen(bad[i]), put, &k, err, sizeof err),
		                 -1);
	}
	struct sink k = {.n = 0};
	assert_int_equal(epcis_expand(kr, "#{99.1}", 7, put, &k, err, sizeof err), -1);
	assert_non_null(strstr(err, "not in the keyring"));
	keyring_free(kr);
}

static void test_a_writer_that_stops_stops_the_line(void **state)
{
	unsigned id;
	char line[64];
	struct sink k = {.n = 0, .fail_after = 2};
	(void)state;
	struct keyring *kr = one_key(&id);
	snprintf(line, sizeof line, "a#{%u.5}b", id);
	assert_int_equal(epcis_expand(kr, line, strlen(line), put, &k, err, sizeof err), -1);
	keyring_free(kr);
}

static void test_every_parameter_is_optional(void **state)
{
	struct events_in in;
	(void)state;
	assert_int_equal(events_decode_query("", &in, err, sizeof err), 0);
	assert_string_equal(in.from, "");
	assert_string_equal(in.to, "");
	assert_string_equal(in.batch, "");
	assert_string_equal(in.kinds, "");
	assert_int_equal(events_decode_query(
	                     "from=2026-12-01T08:00:00+08:00&to=2026-12-02&batch=7&kind=scan,state",
	                     &in, err, sizeof err),
	                 0);
	assert_string_equal(in.from, "2026-12-01T08:00:00+08:00"); /* the + taken as meant */
	assert_string_equal(in.to, "2026-12-02");
	assert_string_equal(in.batch, "7");
	assert_string_equal(in.kinds, "scan,state");
}

static void test_bad_parameters_are_refused(void **state)
{
	struct events_in in;
	(void)state;
	static const char *const bad[] = {
	    "from=yesterday",
	    "to=2026-02-30",
	    "from=2026-12-01T08:00:00",
	    "batch=0",
	    "batch=x",
	    "batch=-1",
	    "batch=1234567890123456789",
	    "kind=",
	    "kind=Scan",
	    "kind=scan,,state",
	    "kind=a%00",
	    "from=%zz",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(events_decode_query(bad[i], &in, err, sizeof err), -1);
		assert_true(err[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_head_names_the_epcis_context_and_version),
	    cmocka_unit_test(test_a_marker_becomes_the_code_of_its_serial),
	    cmocka_unit_test(test_a_line_without_markers_goes_as_it_is),
	    cmocka_unit_test(test_two_markers_in_one_line),
	    cmocka_unit_test(test_an_unknown_key_or_a_bad_marker_fails),
	    cmocka_unit_test(test_a_writer_that_stops_stops_the_line),
	    cmocka_unit_test(test_every_parameter_is_optional),
	    cmocka_unit_test(test_bad_parameters_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
