/* test-ingest.c — the HTTP API as a pure function: routing, bearer token, body bound, strict
 * decoding with the field named in the reply, the status of each refusal, the checks made before
 * any body is read, and health counters only for the token holder. */
#include <stdio.h>
#include <string.h>

#include "th-check.h"
#include "tp-ingest.h"

static size_t got_records, got_markers;
static th_err next_err;

static th_err take_records(void *ctx, const th_record *r, size_t n, size_t *dups, uint64_t *ticket,
                           char *errbuf)
{
	if (next_err != TH_OK)
		return th_seterr(errbuf, next_err, "queue full (7 values): send again later");
	got_records += n;
	*dups = n > 1 ? 1 : 0;
	*ticket = 42;
	return TH_OK;
}

static th_err take_markers(void *ctx, const th_marker *m, size_t n, size_t *dups, uint64_t *ticket,
                           char *errbuf)
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

/* query: "vm" or "vm,stream" values as the transport decoded them (NULL: none). */
static tp_reply call(const char *method, const char *path, const char *query, const char *auth,
                     const char *body, bool too_big)
{
	char vm[64] = "", *stream = NULL;
	tp_reply rep;

	if (query != NULL) {
		snprintf(vm, sizeof vm, "%s", query);
		if ((stream = strchr(vm, ',')) != NULL)
			*stream++ = '\0';
	}
	memset(&rep, 0, sizeof rep);
	tp_ingest_handle(&api, method, path, query && vm[0] ? vm : NULL, stream, auth, body,
	                 strlen(body), too_big, &rep);
	return rep;
}

START_TEST(accepted_records_are_counted_in_the_reply)
{
	tp_reply r =
	    call("POST", "/v1/records", NULL, "Bearer tok", "[" SEC(1) "," SEC(2) "]", false);

	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"accepted\":1,\"duplicates\":1}\n");
	ck_assert_uint_eq(r.ticket, 42); /* the transport holds the reply until it is done */
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
     "{\"error\":\"body: larger than the limit of 1000 bytes (MaxBodySize)\"}\n"},
    {"POST", "/v1/records", NULL, "Bearer tok", "[{\"kind\":\"second\",\"vm\":\"v\"}]", false, 400,
     "{\"error\":\"records[0].stream: missing\"}\n"},
    {"POST", "/v1/markers", NULL, "Bearer tok", "{\"kind\":\"marker\",\"session\":\"a b\"}", false,
     400,
     "{\"error\":\"markers[0].session: \\\"a b\\\" may hold only letters, digits, '_' and "
     "'.'\"}\n"},
    {"POST", "/v1/iperf", ",x", "Bearer tok", "{}", false, 400,
     "{\"error\":\"vm: missing or too long (query ?vm=NAME)\"}\n"},
    {"GET", "/v1/records", NULL, "Bearer tok", "", false, 405,
     "{\"error\":\"/v1/records: use POST\"}\n"},
    {"POST", "/v1/health", NULL, NULL, "", false, 405, "{\"error\":\"/v1/health: use GET\"}\n"},
    {"GET", "/v2/records", NULL, NULL, "", false, 404,
     "{\"error\":\"/v2/records: no such endpoint\"}\n"},
    {"GET", "/v1/health", NULL, "Bearer tok", "", false, 200,
     "{\"status\":\"ok\",\"version\":\"" THEMIS_VERSION "\",\"sessions\":3}\n"},
    {"GET", "/v1/health", NULL, NULL, "", false, 200,
     "{\"status\":\"ok\",\"version\":\"" THEMIS_VERSION "\"}\n"},
    {"GET", "/v1/health", NULL, "Bearer nope", "", false, 200,
     "{\"status\":\"ok\",\"version\":\"" THEMIS_VERSION "\"}\n"},
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

static const struct {
	th_err e;
	int status;
} refusals[] = {{TH_ERR_TOOBIG, 503},
                {TH_ERR_NOMEM, 503},
                {TH_ERR_LIMIT, 429},
                {TH_ERR_STATE, 409},
                {TH_ERR_INVALID, 400}};

START_TEST(refusals_get_their_status)
{
	tp_reply r;

	next_err = refusals[_i].e;
	r = call("POST", "/v1/records", NULL, "Bearer tok", "[" SEC(3) "]", false);
	next_err = TH_OK;
	ck_assert_int_eq(r.status, refusals[_i].status);
	ck_assert_str_eq(r.body, "{\"error\":\"queue full (7 values): send again later\"}\n");
}
END_TEST

START_TEST(headers_alone_refuse_before_the_body)
{
	tp_reply r;

	memset(&r, 0, sizeof r);
	ck_assert(tp_ingest_precheck(&api, "POST", "/v1/records", "Bearer tok", 1000, &r));
	ck_assert(tp_ingest_precheck(&api, "POST", "/v1/markers", "Bearer tok", -1, &r));
	ck_assert(tp_ingest_precheck(&api, "GET", "/v1/health", NULL, -1, &r));
	ck_assert(!tp_ingest_precheck(&api, "POST", "/v1/records", "Bearer tok", 1001, &r));
	ck_assert_int_eq(r.status, 413);
	ck_assert_str_eq(r.body, "{\"error\":\"body: Content-Length 1001 is larger than the limit "
	                         "of 1000 bytes (MaxBodySize)\"}\n");
	/* the token is checked first: no hint about sizes to a stranger */
	ck_assert(!tp_ingest_precheck(&api, "POST", "/v1/records", NULL, 4 << 20, &r));
	ck_assert_int_eq(r.status, 401);
	ck_assert(!tp_ingest_precheck(&api, "PUT", "/v1/iperf", "Bearer tok", 1, &r));
	ck_assert_int_eq(r.status, 405);
	ck_assert(!tp_ingest_precheck(&api, "POST", "/x", "Bearer tok", 1, &r));
	ck_assert_int_eq(r.status, 404);
}
END_TEST

START_TEST(iperf_documents_become_records)
{
	size_t before = got_records;
	tp_reply r = call("POST", "/v1/iperf", "vm-1,ip", "Bearer tok",
	                  "{\"start\":{\"timestamp\":{\"timesecs\":100}},\"intervals\":[{\"sum\":{"
	                  "\"start\":0,\"seconds\":1,\"bytes\":8,\"bits_per_second\":64}}]}",
	                  false);

	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(got_records, before + 1);
}
END_TEST

START_TEST(query_values_are_not_decoded_twice)
{
	/* ?vm=qv%2526stream%253Dinjected reaches here decoded once: "qv%26stream%3Dinjected" */
	tp_reply r = call("POST", "/v1/iperf", "qv%26stream%3Dinjected,real", "Bearer tok",
	                  "{\"start\":{\"timestamp\":{\"timesecs\":100}},\"intervals\":[]}", false);

	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(strstr(r.body, "vm"));
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, accepted_records_are_counted_in_the_reply);
	tcase_add_loop_test(tc, requests_get_the_exact_status_and_reply, 0,
	                    (int)(sizeof cases / sizeof cases[0]));
	tcase_add_loop_test(tc, refusals_get_their_status, 0,
	                    (int)(sizeof refusals / sizeof refusals[0]));
	tcase_add_test(tc, headers_alone_refuse_before_the_body);
	tcase_add_test(tc, iperf_documents_become_records);
	tcase_add_test(tc, query_values_are_not_decoded_twice);
	suite_add_tcase(s, tc);
	return s;
}
