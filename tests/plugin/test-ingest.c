/* test-ingest.c — the HTTP API as a pure function: routing, bearer token, body bound, strict
 * decoding with the field named in the reply, queue-full refusal, and query parsing. */
#include <stdio.h>
#include <string.h>

#include "th-check.h"
#include "tp-ingest.h"

static size_t got_records, got_markers;
static th_err next_err;

static th_err take_records(void *ctx, const th_record *r, size_t n, size_t *dups, char *errbuf)
{
	if (next_err != TH_OK)
		return th_seterr(errbuf, next_err, "queue full (7 values): send again later");
	got_records += n;
	*dups = n > 1 ? 1 : 0;
	return TH_OK;
}

static th_err take_markers(void *ctx, const th_marker *m, size_t n, size_t *dups, char *errbuf)
{
	got_markers += n;
	*dups = 0;
	return TH_OK;
}

static void health(void *ctx, char *buf, size_t size)
{
	snprintf(buf, size, "\"sessions\":3");
}

static const tp_ingest api = {.token = "tok",
                              .max_body = 1000,
                              .records = take_records,
                              .markers = take_markers,
                              .health = health};

#define SEC(t)                                                                                     \
	"{\"kind\":\"second\",\"vm\":\"v\",\"stream\":\"s\",\"t\":" #t ",\"interval_ms\":10,"      \
	"\"sent\":1,\"received\":1,\"lost_up\":0,\"lost_down\":0,\"lost_unknown\":0,\"late\":0,"   \
	"\"dup\":0,\"rtt_min_ms\":1,\"rtt_avg_ms\":1,\"rtt_max_ms\":1,\"jitter_ms\":0,"            \
	"\"max_gap_ms\":0}"

static tp_reply call(const char *method, const char *path, const char *query, const char *auth,
                     const char *body, bool too_big)
{
	tp_reply rep;

	memset(&rep, 0, sizeof rep);
	tp_ingest_handle(&api, method, path, query, auth, body, strlen(body), too_big, &rep);
	return rep;
}

START_TEST(accepted_records_are_counted_in_the_reply)
{
	tp_reply r =
	    call("POST", "/v1/records", NULL, "Bearer tok", "[" SEC(1) "," SEC(2) "]", false);

	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"accepted\":1,\"duplicates\":1}\n");
	ck_assert_uint_eq(got_records, 2);
}
END_TEST

static const struct {
	const char *method, *path, *query, *auth, *body;
	bool too_big;
	int status;
	const char *reply;
} cases[] = {
    {"POST", "/v1/records", NULL, NULL, "[]", false, 401,
     "{\"error\":\"Authorization: missing or wrong bearer token\"}\n"},
    {"POST", "/v1/records", NULL, "Bearer tok2", "[]", false, 401, NULL},
    {"POST", "/v1/records", NULL, "Bearer to", "[]", false, 401, NULL},
    {"POST", "/v1/records", NULL, "Basic tok", "[]", false, 401, NULL},
    {"POST", "/v1/records", NULL, "Bearer tok", "[", true, 413,
     "{\"error\":\"body: larger than the limit of 1000 bytes\"}\n"},
    {"POST", "/v1/records", NULL, "Bearer tok", "[{\"kind\":\"second\",\"vm\":\"v\"}]", false, 400,
     "{\"error\":\"records[0].stream: missing\"}\n"},
    {"POST", "/v1/markers", NULL, "Bearer tok", "{\"kind\":\"marker\",\"session\":\"a b\"}", false,
     400,
     "{\"error\":\"markers[0].session: \\\"a b\\\" may hold only letters, digits, '_' and "
     "'.'\"}\n"},
    {"POST", "/v1/iperf", "stream=x", "Bearer tok", "{}", false, 400,
     "{\"error\":\"vm: missing or too long (query ?vm=NAME)\"}\n"},
    {"GET", "/v1/records", NULL, "Bearer tok", "", false, 405,
     "{\"error\":\"/v1/records: use POST\"}\n"},
    {"POST", "/v1/health", NULL, NULL, "", false, 405, "{\"error\":\"/v1/health: use GET\"}\n"},
    {"GET", "/v2/records", NULL, NULL, "", false, 404,
     "{\"error\":\"/v2/records: no such endpoint\"}\n"},
    {"GET", "/v1/health", NULL, NULL, "", false, 200,
     "{\"status\":\"ok\",\"version\":\"" THEMIS_VERSION "\",\"sessions\":3}\n"},
};

START_TEST(requests_get_the_exact_status_and_reply)
{
	size_t before = got_records + got_markers;
	tp_reply r = call(cases[_i].method, cases[_i].path, cases[_i].query, cases[_i].auth,
	                  cases[_i].body, cases[_i].too_big);

	ck_assert_msg(r.status == cases[_i].status, "case %d: status %d, expected %d (%s)", _i,
	              r.status, cases[_i].status, r.body);
	if (cases[_i].reply)
		ck_assert_str_eq(r.body, cases[_i].reply);
	ck_assert_uint_eq(got_records + got_markers, before); /* refused: nothing taken */
}
END_TEST

START_TEST(a_full_queue_answers_503)
{
	tp_reply r;

	next_err = TH_ERR_TOOBIG;
	r = call("POST", "/v1/records", NULL, "Bearer tok", "[" SEC(3) "]", false);
	next_err = TH_OK;
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.body, "{\"error\":\"queue full (7 values): send again later\"}\n");
}
END_TEST

START_TEST(iperf_documents_become_records)
{
	size_t before = got_records;
	tp_reply r = call("POST", "/v1/iperf", "vm=vm%2D1&stream=ip", "Bearer tok",
	                  "{\"start\":{\"timestamp\":{\"timesecs\":100}},\"intervals\":[{\"sum\":{"
	                  "\"start\":0,\"seconds\":1,\"bytes\":8,\"bits_per_second\":64}}]}",
	                  false);

	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(got_records, before + 1);
}
END_TEST

START_TEST(query_values_are_found_and_decoded)
{
	char v[16];

	ck_assert(tp_query_get("vm=a%2Fb&stream=s1", "vm", v, sizeof v));
	ck_assert_str_eq(v, "a/b");
	ck_assert(tp_query_get("vm=a&stream=s1", "stream", v, sizeof v));
	ck_assert_str_eq(v, "s1");
	ck_assert(!tp_query_get("vmx=a", "vm", v, sizeof v));
	ck_assert(!tp_query_get(NULL, "vm", v, sizeof v));
	ck_assert(tp_query_get("vm=0123456789abcdefXYZ", "vm", v, sizeof v));
	ck_assert_str_eq(v, "0123456789abcde"); /* cut to the buffer */
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, accepted_records_are_counted_in_the_reply);
	tcase_add_loop_test(tc, requests_get_the_exact_status_and_reply, 0,
	                    (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, a_full_queue_answers_503);
	tcase_add_test(tc, iperf_documents_become_records);
	tcase_add_test(tc, query_values_are_found_and_decoded);
	suite_add_tcase(s, tc);
	return s;
}
