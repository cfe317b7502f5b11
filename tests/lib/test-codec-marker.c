/* test-codec-marker.c — strict decoding of session markers and their summaries. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec-marker.h"
#include "codec-test.h"
#include "th-check.h"

#define M(ev, extra)                                                                               \
	"{\"kind\":\"marker\",\"session\":\"mig.20261125T120000Z.0a1b2c3d.c1\",\"definition\":"    \
	"\"mig\",\"cycle\":1,\"vm\":\"vm-42\",\"vm_id\":42,\"src_host\":\"h1\",\"dst_host\":"      \
	"\"h2\",\"event\":\"" ev "\",\"t\":1700000000.123456" extra "}"

START_TEST(session_start_decodes_every_field)
{
	const char *doc = M("session-start", "");
	th_marker *m;
	size_t n;

	ck_assert_int_eq(th_markers_decode(doc, strlen(doc), &m, &n, NULL), TH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(m[0].event, TH_EV_SESSION_START);
	ck_assert_str_eq(m[0].session, "mig.20261125T120000Z.0a1b2c3d.c1");
	ck_assert_str_eq(m[0].definition, "mig");
	ck_assert_int_eq(m[0].cycle, 1);
	ck_assert_str_eq(m[0].vm, "vm-42");
	ck_assert_int_eq(m[0].vm_id, 42);
	ck_assert_str_eq(m[0].src_host, "h1");
	ck_assert_str_eq(m[0].dst_host, "h2");
	ck_assert_double_eq_tol(m[0].t, 1700000000.123456, 1e-7);
	ck_assert_int_eq(m[0].outcome, TH_OUT_NONE);
	free(m);
}
END_TEST

START_TEST(origin_is_run_observed_or_absent)
{
	const char *run = M("session-start", ",\"origin\":\"run\"");
	const char *obs = M("migration-start", ",\"origin\":\"observed\"");
	const char *bad = M("session-start", ",\"origin\":\"scheduler\"");
	const char *num = M("session-start", ",\"origin\":1");
	th_marker *m;
	size_t n;
	char err[TH_ERRLEN];

	ck_assert_int_eq(th_markers_decode(run, strlen(run), &m, &n, err), TH_OK);
	ck_assert_int_eq(m[0].origin, TH_ORIGIN_RUN);
	free(m);
	ck_assert_int_eq(th_markers_decode(obs, strlen(obs), &m, &n, err), TH_OK);
	ck_assert_int_eq(m[0].origin, TH_ORIGIN_OBSERVED);
	ck_assert_str_eq(th_origin_name(m[0].origin), "observed");
	free(m);
	ck_assert_int_eq(th_markers_decode(bad, strlen(bad), &m, &n, err), TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "markers[0].origin"));
	ck_assert_int_eq(th_markers_decode(num, strlen(num), &m, &n, err), TH_ERR_INVALID);
	ck_assert_ptr_null(th_origin_name(TH_ORIGIN_NONE));
}
END_TEST

START_TEST(session_end_carries_summary)
{
	const char *doc = "[" M("migration-end", ",\"outcome\":\"success\"") "," M(
	    "session-end", ",\"summary\":{\"outcome\":\"success\",\"downtime_ms\":512.5,"
	                   "\"downtime_bound_ms\":10,\"outage_total_ms\":600,\"lost_up\":30,"
	                   "\"lost_down\":21,\"lost_unknown\":0,\"one_stime\":1700000000,"
	                   "\"one_rstime\":null,\"one_etime\":1700000009,\"one_duration_s\":9,"
	                   "\"hv_downtime_ms\":null,\"hv_total_ms\":null,\"delta_ms\":null}") "]";
	th_marker *m;
	size_t n;
	char err[TH_ERRLEN];

	ck_assert_int_eq(th_markers_decode(doc, strlen(doc), &m, &n, err), TH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(m[0].outcome, TH_OUT_SUCCESS);
	ck_assert_int_eq(m[1].event, TH_EV_SESSION_END);
	ck_assert_int_eq(m[1].outcome, TH_OUT_SUCCESS);
	ck_assert_int_eq(m[1].summary.outcome, TH_OUT_SUCCESS);
	ck_assert_double_eq(m[1].summary.downtime_ms, 512.5);
	ck_assert_int_eq(m[1].summary.lost_down, 21);
	ck_assert_int_eq(m[1].summary.one_rstime, 0);
	ck_assert_int_eq(m[1].summary.one_etime, 1700000009);
	ck_assert(isnan(m[1].summary.hv_downtime_ms));
	free(m);
}
END_TEST

static const struct {
	const char *doc, *msg;
} bad[] = {
    {"{", "body: malformed JSON"},
    {"true", "body: expected a JSON array of markers"},
    {"[{\"kind\":\"second\"}]", "markers[0].kind: expected \"marker\""},
    {"[{\"kind\":\"marker\",\"vm\":\"v\",\"event\":\"session-start\",\"t\":1}]",
     "markers[0].session: missing"},
    {"[{\"kind\":\"marker\",\"session\":\"a/b\",\"vm\":\"v\",\"event\":\"session-start\",\"t\":1}]",
     "markers[0].session: \"a/b\" may hold only"},
    {"[{\"kind\":\"marker\",\"session\":\"..\",\"vm\":\"v\",\"event\":\"session-start\",\"t\":1}]",
     "markers[0].session: \"..\" may hold only"},
    {"[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"session-start\"}]",
     "markers[0].t: missing"},
    {"[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"reboot\",\"t\":1}]",
     "markers[0].event: expected"},
    {"[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"migration-end\",\"t\":1}]",
     "markers[0].outcome: missing (migration-end)"},
    {"[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"migration-end\",\"t\":1,"
     "\"outcome\":\"great\"}]",
     "markers[0].outcome: expected"},
    {"[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"session-end\",\"t\":1}]",
     "markers[0].summary: missing (session-end)"},
    {"[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"session-end\",\"t\":1,"
     "\"summary\":{\"outcome\":\"great\"}}]",
     "markers[0].summary.outcome: expected"},
    {"[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"session-end\",\"t\":1,"
     "\"summary\":{\"outcome\":\"success\",\"downtime_ms\":\"fast\"}}]",
     "markers[0].summary.downtime_ms: expected a number"},
    {"[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"session-start\",\"t\":1,"
     "\"cycle\":-2}]",
     "markers[0].cycle: -2 out of range"},
    {"[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"migration-end\","
     "\"t\":1,\"outcome\":null}]",
     "markers[0].outcome: expected"},
};

START_TEST(bad_markers_are_refused_naming_the_field)
{
	th_marker *m = (th_marker *)1;
	size_t n = 3;
	char err[TH_ERRLEN];

	err[0] = '\0';
	ck_assert_int_ne(th_markers_decode(bad[_i].doc, strlen(bad[_i].doc), &m, &n, err), TH_OK);
	ck_assert_msg(strncmp(err, bad[_i].msg, strlen(bad[_i].msg)) == 0,
	              "case %d: message \"%s\" does not start with \"%s\"", _i, err, bad[_i].msg);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(unknown_outcome_and_ids_are_accepted)
{
	const char *doc = "[{\"kind\":\"marker\",\"session\":\"s2\",\"vm\":\"v\",\"event\":"
	                  "\"migration-end\",\"t\":1,\"outcome\":\"none\",\"vm_id\":-1,"
	                  "\"cycle\":-1},{\"kind\":\"marker\",\"session\":\"s2\",\"vm\":\"v\","
	                  "\"event\":\"session-end\",\"t\":2,\"outcome\":\"none\",\"summary\":{"
	                  "\"downtime_ms\":null}}]";
	th_marker *m;
	size_t n;
	char err[TH_ERRLEN];

	ck_assert_msg(th_markers_decode(doc, strlen(doc), &m, &n, err) == TH_OK, "%s", err);
	ck_assert_int_eq(m[0].outcome, TH_OUT_NONE);
	ck_assert_int_eq(m[0].vm_id, -1);
	ck_assert_int_eq(m[1].summary.outcome, TH_OUT_NONE);
	free(m);
}
END_TEST

START_TEST(session_ids_allow_only_the_safe_alphabet)
{
	ck_assert(th_codec_session_ok("mig.2026_x"));
	ck_assert(!th_codec_session_ok(""));
	ck_assert(!th_codec_session_ok("a-b"));
	ck_assert(!th_codec_session_ok("a b"));
	ck_assert(!th_codec_session_ok("."));
}
END_TEST

START_TEST(a_million_brackets_are_refused_at_depth_17)
{
	size_t len;
	char *doc = th_nested("", 1000000, "", &len), err[TH_ERRLEN];
	th_marker *m = (th_marker *)1;
	size_t n = 1;
	double t0 = th_now_s();

	ck_assert_int_eq(th_markers_decode(doc, len, &m, &n, err), TH_ERR_PARSE);
	ck_assert_double_lt(th_now_s() - t0, 0.5);
	ck_assert_str_eq(err, "markers[0]: nesting deeper than 16 levels");
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(n, 0);
	free(doc);
}
END_TEST

/* Nesting inside one marker (an unknown member) counts from the top of the body. */
START_TEST(deep_unknown_member_of_a_marker_is_refused)
{
	char doc[512], err[TH_ERRLEN];
	th_marker *m;
	size_t n;

	/* body array 1, marker 2, "extra" 3..16: accepted */
	snprintf(
	    doc, sizeof doc,
	    "[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"session-start\","
	    "\"t\":1,\"extra\":%s}]",
	    "[[[[[[[[[[[[[[]]]]]]]]]]]]]]");
	ck_assert_msg(th_markers_decode(doc, strlen(doc), &m, &n, err) == TH_OK, "%s", err);
	ck_assert_uint_eq(n, 1);
	free(m);
	snprintf(
	    doc, sizeof doc,
	    "[{\"kind\":\"marker\",\"session\":\"s1\",\"vm\":\"v\",\"event\":\"session-start\","
	    "\"t\":1,\"extra\":%s}]",
	    "[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]");
	ck_assert_int_eq(th_markers_decode(doc, strlen(doc), &m, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "markers[0]: nesting deeper than 16 levels");
}
END_TEST

#define MARKER_MIN                                                                                 \
	"{\"kind\":\"marker\",\"session\":\"s\",\"vm\":\"v\",\"event\":\"session-start\",\"t\":1}"

/* 10 000 markers pass, 10 001 are refused before the last is built. */
START_TEST(more_than_10000_markers_in_a_body_are_refused)
{
	size_t one = strlen(MARKER_MIN) + 1, len = 0;
	char *doc = malloc(one * (TH_MARKERS_MAX + 1) + 2), err[TH_ERRLEN];
	th_marker *m = (th_marker *)1;
	size_t n = 1;

	ck_assert_int_eq(TH_MARKERS_MAX, 10000);
	doc[len++] = '[';
	for (int i = 0; i < TH_MARKERS_MAX; i++) {
		memcpy(doc + len, i ? "," MARKER_MIN : MARKER_MIN, i ? one : one - 1);
		len += i ? one : one - 1;
	}
	doc[len] = ']';
	ck_assert_msg(th_markers_decode(doc, len + 1, &m, &n, err) == TH_OK, "%s", err);
	ck_assert_uint_eq(n, TH_MARKERS_MAX);
	free(m);
	memcpy(doc + len, "," MARKER_MIN "]", one + 1);
	len += one + 1;
	ck_assert_int_eq(th_markers_decode(doc, len, &m, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "body: more than 10000 markers");
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(n, 0);
	free(doc);
}
END_TEST

#define NAME_RULE "(1-63 of A-Z a-z 0-9 . _ : -, starting with a letter, digit or _)"

static const struct {
	const char *vm, *msg; /* msg NULL: accepted */
} vms[] = {
    {"vm-42", NULL},
    {"one-42.prod:web_1", NULL},
    {"a/b", "markers[1].vm: \"a/b\" is not a valid name " NAME_RULE},
    {"..", "markers[1].vm: \"..\" is not a valid name " NAME_RULE},
    {"my vm", "markers[1].vm: \"my vm\" is not a valid name " NAME_RULE},
    {"a\\nb", "markers[1].vm: \"a\\nb\" is not a valid name " NAME_RULE},
    {"vm\\u0000x", "markers[1].vm: string contains \\u0000"},
};

START_TEST(marker_vm_names_follow_the_name_rule)
{
	char doc[1024], err[TH_ERRLEN];
	th_marker *m = NULL;
	size_t n = 0;
	th_err e;

	snprintf(doc, sizeof doc,
	         "[" M("session-start", "") ",{\"kind\":\"marker\",\"session\":\"s\",\"vm\":"
	                                    "\"%s\",\"event\":\"session-start\",\"t\":1}]",
	         vms[_i].vm);
	e = th_markers_decode(doc, strlen(doc), &m, &n, err);
	if (vms[_i].msg == NULL) {
		ck_assert_msg(e == TH_OK, "%s", err);
		ck_assert_uint_eq(n, 2);
		ck_assert_str_eq(m[1].vm, vms[_i].vm);
		free(m);
	} else {
		ck_assert_int_ne(e, TH_OK);
		ck_assert_str_eq(err, vms[_i].msg);
		ck_assert_ptr_null(m);
	}
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("codec-marker");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, session_start_decodes_every_field);
	tcase_add_test(tc, session_end_carries_summary);
	tcase_add_test(tc, origin_is_run_observed_or_absent);
	tcase_add_loop_test(tc, bad_markers_are_refused_naming_the_field, 0,
	                    (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, unknown_outcome_and_ids_are_accepted);
	tcase_add_test(tc, session_ids_allow_only_the_safe_alphabet);
	tcase_add_test(tc, a_million_brackets_are_refused_at_depth_17);
	tcase_add_test(tc, deep_unknown_member_of_a_marker_is_refused);
	tcase_add_test(tc, more_than_10000_markers_in_a_body_are_refused);
	tcase_add_loop_test(tc, marker_vm_names_follow_the_name_rule, 0,
	                    (int)(sizeof vms / sizeof vms[0]));
	tcase_set_timeout(tc, 60); /* the 10 000-marker bodies, under the sanitizers too */
	suite_add_tcase(s, tc);
	return s;
}
