/* test-session.c — session ids, marker/summary JSON, the fsync'd journal, and the summary
 * figures of a migration window, all exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec-marker.h"
#include "th-check.h"
#include "th-journal.h"
#include "th-marker-json.h"
#include "th-session.h"
#include "th-summary.h"

START_TEST(session_ids_are_safe_and_deterministic)
{
	char id[TH_SESSION_MAX], err[TH_ERRLEN];

	/* 2024-06-10T07:13:20Z */
	ck_assert_int_eq(
	    th_session_id_make(id, "lab demo/1", 1718003600LL * 1000000000LL, 0xdeadbeef, 3, err),
	    TH_OK);
	ck_assert_str_eq(id, "lab_demo_1.20240610T071320Z.deadbeef.c3");
	ck_assert(th_session_id_valid(id));
	ck_assert_int_eq(th_session_id_make(id, "", 0, 1, 0, err), TH_OK);
	ck_assert_str_eq(id, "session.19700101T000000Z.00000001.c0");
	ck_assert(!th_session_id_valid(""));
	ck_assert(!th_session_id_valid("a-b"));
	ck_assert(!th_session_id_valid("a/b"));
	ck_assert(!th_session_id_valid("a b"));
	ck_assert(th_session_id_valid("A_z.09"));
	char longid[TH_SESSION_MAX + 1];
	memset(longid, 'a', TH_SESSION_MAX);
	longid[TH_SESSION_MAX] = '\0';
	ck_assert(!th_session_id_valid(longid));
	longid[TH_SESSION_MAX - 1] = '\0';
	ck_assert(th_session_id_valid(longid));
}
END_TEST

static th_marker base_marker(th_event ev)
{
	th_marker m;

	memset(&m, 0, sizeof m);
	m.event = ev;
	snprintf(m.session, sizeof m.session, "demo.20240610T071320Z.deadbeef.c1");
	snprintf(m.definition, sizeof m.definition, "demo");
	m.cycle = 1;
	snprintf(m.vm, sizeof m.vm, "migtest-1");
	m.vm_id = 42;
	snprintf(m.src_host, sizeof m.src_host, "node2");
	snprintf(m.dst_host, sizeof m.dst_host, "node3");
	m.t = 1718003600.1234567;
	return m;
}

START_TEST(marker_json_has_exact_keys)
{
	th_marker m = base_marker(TH_EV_MIGRATION_REQUEST);
	char *j;
	size_t n;

	ck_assert_int_eq(th_marker_to_json(&m, &j, &n, NULL), TH_OK);
	ck_assert_str_eq(j,
	                 "{\"kind\":\"marker\",\"session\":\"demo.20240610T071320Z.deadbeef.c1\","
	                 "\"definition\":\"demo\",\"cycle\":1,\"vm\":\"migtest-1\",\"vm_id\":42,"
	                 "\"src_host\":\"node2\",\"dst_host\":\"node3\",\"event\":"
	                 "\"migration-request\",\"t\":1718003600.123457}");
	ck_assert_uint_eq(n, strlen(j));
	free(j);

	m = base_marker(TH_EV_MIGRATION_END);
	m.outcome = TH_OUT_FAILED;
	snprintf(m.message, sizeof m.message, "MIGRATE: \"quoted\"\nnext");
	ck_assert_int_eq(th_marker_to_json(&m, &j, &n, NULL), TH_OK);
	ck_assert_msg(strstr(j,
	                     ",\"event\":\"migration-end\",\"t\":1718003600.123457,\"outcome\":"
	                     "\"failed\",\"message\":\"MIGRATE: \\\"quoted\\\"\\nnext\"}") != NULL,
	              "%s", j);
	ck_assert_ptr_null(strchr(j, '\n'));
	free(j);
}
END_TEST

START_TEST(session_end_carries_summary_with_nulls_for_unknowns)
{
	th_marker m = base_marker(TH_EV_SESSION_END);
	char *j;

	m.outcome = TH_OUT_SUCCESS;
	th_summary_init(&m.summary);
	m.summary.outcome = TH_OUT_SUCCESS;
	m.summary.downtime_ms = 300;
	m.summary.downtime_bound_ms = 10;
	m.summary.outage_total_ms = 350;
	m.summary.lost_up = 21;
	m.summary.lost_down = 5;
	m.summary.lost_unknown = 1;
	th_summary_set_one(&m.summary, 1718003600, 1718003612, 0);
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_msg(strstr(j,
	                     "\"event\":\"session-end\",\"t\":1718003600.123457,\"outcome\":"
	                     "\"success\",\"summary\":{\"outcome\":\"success\",\"one_stime\":"
	                     "1718003600,\"one_rstime\":1718003612,\"one_etime\":0,"
	                     "\"one_duration_s\":12.000,\"downtime_ms\":300.000,"
	                     "\"downtime_bound_ms\":10.000,\"outage_total_ms\":350.000,"
	                     "\"lost_up\":21,\"lost_down\":5,\"lost_unknown\":1,"
	                     "\"hv_downtime_ms\":null,\"hv_total_ms\":null,"
	                     "\"delta_ms\":null,\"hv_pause\":null,\"hv_resume\":null,"
	                     "\"hv_paused_ms\":null,\"pre_pause_ms\":null,"
	                     "\"post_resume_ms\":null,\"decomp_bound_ms\":null,"
	                     "\"up_pre_pause_ms\":null,\"up_post_resume_ms\":null,"
	                     "\"down_pre_pause_ms\":null,\"down_post_resume_ms\":null}}") != NULL,
	              "%s", j);
	free(j);
}
END_TEST

START_TEST(marker_with_bad_session_or_event_is_refused)
{
	th_marker m = base_marker(TH_EV_SESSION_START);
	char *j, err[TH_ERRLEN];

	snprintf(m.session, sizeof m.session, "bad id");
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "marker: session \"bad id\" is not made of [A-Za-z0-9_.]");
	m = base_marker((th_event)99);
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "marker: unknown event 99");
}
END_TEST

START_TEST(journal_appends_whole_lines)
{
	char path[] = "/tmp/themis-journal-XXXXXX";
	int fd = mkstemp(path);
	th_journal j;
	th_marker m1 = base_marker(TH_EV_SESSION_START), m2 = base_marker(TH_EV_MIGRATION_START);
	char buf[4096];
	FILE *f;
	int lines = 0;

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(th_journal_open(&j, path, NULL), TH_OK);
	ck_assert_int_eq(th_journal_append(&j, &m1, NULL), TH_OK);
	ck_assert_int_eq(th_journal_append(&j, &m2, NULL), TH_OK);
	ck_assert_int_eq(th_journal_append_line(&j, "a\nb", 3, NULL), TH_ERR_INVALID);
	th_journal_close(&j);
	f = fopen(path, "r");
	while (fgets(buf, sizeof buf, f) != NULL) {
		lines++;
		ck_assert(buf[strlen(buf) - 1] == '\n');
		ck_assert(strstr(buf, lines == 1 ? "\"event\":\"session-start\""
		                                 : "\"event\":\"migration-start\"") != NULL);
	}
	fclose(f);
	ck_assert_int_eq(lines, 2);
	unlink(path);
	char err[TH_ERRLEN];
	ck_assert_int_eq(th_journal_open(&j, "/nonexistent-dir/j.jsonl", err), TH_ERR_IO);
	ck_assert_str_eq(err,
	                 "cannot open markers journal /nonexistent-dir/j.jsonl: No such file or "
	                 "directory");
}
END_TEST

static th_record sec(const char *vm, int64_t t, uint32_t up, uint32_t down, uint32_t unk)
{
	th_record r;

	memset(&r, 0, sizeof r);
	r.kind = TH_REC_SECOND;
	snprintf(r.vm, sizeof r.vm, "%s", vm);
	r.u.second.t = t;
	r.u.second.interval_ms = 10;
	r.u.second.sent = 100;
	r.u.second.lost_up = up;
	r.u.second.lost_down = down;
	r.u.second.lost_unknown = unk;
	return r;
}

static th_record out(const char *vm, th_direction d, double a, double b, double bound)
{
	th_record r;

	memset(&r, 0, sizeof r);
	r.kind = TH_REC_OUTAGE;
	snprintf(r.vm, sizeof r.vm, "%s", vm);
	r.u.outage.direction = d;
	r.u.outage.start = a;
	r.u.outage.end = b;
	r.u.outage.duration_ms = (b - a) * 1000.0;
	r.u.outage.bound_ms = bound;
	return r;
}

START_TEST(summary_figures_over_the_window_are_exact)
{
	th_record recs[] = {
	    sec("vm1", 999, 5, 0, 0),
	    sec("vm1", 1000, 1, 0, 0),
	    sec("vm1", 1001, 20, 3, 1),
	    sec("vm1", 1003, 0, 2, 0),
	    sec("vm1", 1004, 9, 9, 9),
	    sec("other", 1001, 50, 50, 50),
	    out("vm1", TH_DIR_BOTH, 1001.100, 1001.350, 10),
	    out("vm1", TH_DIR_UP, 1001.100, 1001.300, 10),
	    out("vm1", TH_DIR_DOWN, 1003.100, 1003.400, 10),
	    out("vm1", TH_DIR_UP, 999.0, 999.5, 10),
	    out("other", TH_DIR_UP, 1001.0, 1003.0, 10),
	};
	th_summary s;

	th_summary_init(&s);
	ck_assert_int_eq(
	    th_summary_network(&s, recs, sizeof recs / sizeof recs[0], "vm1", 1000.5, 1003.2, NULL),
	    TH_OK);
	ck_assert_double_eq_tol(s.downtime_ms, 300.0, 1e-6);
	ck_assert_double_eq_tol(s.downtime_bound_ms, 10.0, 1e-9);
	/* union: 250 ms (both+up merged) + 100 ms (down clipped at the window end) */
	ck_assert_double_eq_tol(s.outage_total_ms, 350.0, 1e-6);
	ck_assert_int_eq(s.lost_up, 21);
	ck_assert_int_eq(s.lost_down, 5);
	ck_assert_int_eq(s.lost_unknown, 1);
	ck_assert(isnan(s.delta_ms));
	th_summary_set_hv(&s, 15.0, 518.0);
	ck_assert_double_eq_tol(s.delta_ms, 285.0, 1e-6);
	ck_assert_double_eq_tol(s.hv_total_ms, 518.0, 1e-9);
	th_summary_set_one(&s, 1718003600, 1718003612, 0);
	ck_assert_double_eq_tol(s.one_duration_s, 12.0, 1e-9);
	th_summary_set_one(&s, 1718003600, 0, 1718003605); /* failed: ETIME ends it */
	ck_assert_double_eq_tol(s.one_duration_s, 5.0, 1e-9);
	th_summary_set_one(&s, 0, 0, 0);
	ck_assert(isnan(s.one_duration_s));
}
END_TEST

START_TEST(summary_without_outage_is_zero_and_without_data_unknown)
{
	th_record recs[] = {sec("vm1", 1000, 0, 0, 0), sec("vm1", 1001, 0, 0, 0)};
	th_summary s;
	char err[TH_ERRLEN];

	th_summary_init(&s);
	ck_assert_int_eq(th_summary_network(&s, recs, 2, NULL, 1000.0, 1001.9, NULL), TH_OK);
	ck_assert_double_eq(s.downtime_ms, 0);
	ck_assert_double_eq(s.outage_total_ms, 0);
	ck_assert_int_eq(s.lost_up, 0);
	th_summary_init(&s);
	ck_assert_int_eq(th_summary_network(&s, recs, 2, NULL, 2000.0, 2001.0, NULL), TH_OK);
	ck_assert(isnan(s.downtime_ms));
	ck_assert_int_eq(s.lost_up, -1);
	th_summary_set_hv(&s, 15, 500);
	ck_assert(isnan(s.delta_ms));
	ck_assert_int_eq(th_summary_network(&s, recs, 2, NULL, 5.0, 4.0, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "summary: bad window [5.000000, 4.000000]");
}
END_TEST

/* The plugin decodes what the trigger encodes: every field survives, unknowns stay unknown. */
START_TEST(markers_round_trip_through_the_plugin_decoder)
{
	th_marker m = base_marker(TH_EV_SESSION_END), *back;
	size_t n;
	char *j, err[TH_ERRLEN];

	m.outcome = TH_OUT_FAILED;
	snprintf(m.message, sizeof m.message, "MIGRATE: \"x\" failed");
	th_summary_init(&m.summary);
	m.summary.outcome = TH_OUT_FAILED;
	m.summary.downtime_ms = 612.5;
	m.summary.downtime_bound_ms = 10;
	m.summary.outage_total_ms = 700.25;
	m.summary.lost_up = 61;
	m.summary.lost_down = 0;
	th_summary_set_one(&m.summary, 1718003600, 0, 1718003612);
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_msg(th_markers_decode(j, strlen(j), &back, &n, err) == TH_OK, "%s: %s", err, j);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(back->event, TH_EV_SESSION_END);
	ck_assert_str_eq(back->session, m.session);
	ck_assert_str_eq(back->definition, "demo");
	ck_assert_int_eq(back->cycle, 1);
	ck_assert_str_eq(back->vm, "migtest-1");
	ck_assert_int_eq(back->vm_id, 42);
	ck_assert_str_eq(back->src_host, "node2");
	ck_assert_str_eq(back->dst_host, "node3");
	ck_assert_double_eq_tol(back->t, 1718003600.123457, 1e-6);
	ck_assert_int_eq(back->outcome, TH_OUT_FAILED);
	ck_assert_str_eq(back->message, "MIGRATE: \"x\" failed");
	ck_assert_int_eq(back->summary.outcome, TH_OUT_FAILED);
	ck_assert_double_eq_tol(back->summary.downtime_ms, 612.5, 1e-9);
	ck_assert_double_eq_tol(back->summary.outage_total_ms, 700.25, 1e-9);
	ck_assert_int_eq(back->summary.lost_up, 61);
	ck_assert_int_eq(back->summary.lost_down, 0);
	ck_assert_int_eq(back->summary.lost_unknown, -1);
	ck_assert_int_eq(back->summary.one_stime, 1718003600);
	ck_assert_int_eq(back->summary.one_etime, 1718003612);
	ck_assert_double_eq_tol(back->summary.one_duration_s, 12, 1e-9);
	ck_assert(isnan(back->summary.hv_downtime_ms));
	ck_assert(isnan(back->summary.delta_ms));
	free(back);
	free(j);
	/* every event of a cycle decodes */
	for (th_event ev = TH_EV_SESSION_START; ev <= TH_EV_SESSION_END; ev++) {
		th_marker k = base_marker(ev);
		k.outcome = TH_OUT_SUCCESS;
		th_summary_init(&k.summary);
		ck_assert_int_eq(th_marker_to_json(&k, &j, NULL, NULL), TH_OK);
		ck_assert_msg(th_markers_decode(j, strlen(j), &back, &n, err) == TH_OK, "%s: %s",
		              err, j);
		ck_assert_int_eq(back->event, ev);
		free(back);
		free(j);
	}
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, session_ids_are_safe_and_deterministic);
	tcase_add_test(tc, marker_json_has_exact_keys);
	tcase_add_test(tc, session_end_carries_summary_with_nulls_for_unknowns);
	tcase_add_test(tc, marker_with_bad_session_or_event_is_refused);
	tcase_add_test(tc, journal_appends_whole_lines);
	tcase_add_test(tc, markers_round_trip_through_the_plugin_decoder);
	tcase_add_test(tc, summary_figures_over_the_window_are_exact);
	tcase_add_test(tc, summary_without_outage_is_zero_and_without_data_unknown);
	suite_add_tcase(s, tc);
	return s;
}
