/* test-core.c — the plugin logic without collectd: session tagging, idempotent re-sends,
 * archive rows (final only after the lag, gaps as U), session close by end + grace and by
 * timeout, summaries and notification severity, and the RRD argument layout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-marker.h"
#include "codec-record.h"
#include "th-check.h"
#include "th-time.h"
#include "tp-archive.h"
#include "tp-core.h"

#define S TH_NS_PER_SEC

static tp_config cfg(void)
{
	tp_config c = {.archive_lag_s = 2,
	               .session_grace_ns = 3 * S,
	               .session_timeout_ns = 60 * S,
	               .downtime_warning_ms = 500,
	               .downtime_failure_ms = 2000,
	               .archive = true};
	return c;
}

static th_record second(const char *vm, const char *stream, int64_t t, uint32_t sent, uint32_t recv,
                        double rtt)
{
	th_record r;

	memset(&r, 0, sizeof r);
	r.kind = TH_REC_SECOND;
	snprintf(r.vm, sizeof r.vm, "%s", vm);
	snprintf(r.stream, sizeof r.stream, "%s", stream);
	r.u.second.t = t;
	r.u.second.interval_ms = 10;
	r.u.second.sent = sent;
	r.u.second.received = recv;
	r.u.second.lost_up = sent - recv;
	r.u.second.rtt_min_ms = r.u.second.rtt_avg_ms = r.u.second.rtt_max_ms = rtt;
	r.u.second.jitter_ms = 0.5;
	r.u.second.max_gap_ms = 10;
	return r;
}

static th_marker marker(const char *session, const char *vm, th_event ev, double t)
{
	th_marker m;

	memset(&m, 0, sizeof m);
	snprintf(m.session, sizeof m.session, "%s", session);
	snprintf(m.vm, sizeof m.vm, "%s", vm);
	m.event = ev;
	m.t = t;
	m.cycle = 1;
	m.vm_id = 7;
	if (ev == TH_EV_SESSION_END) {
		m.outcome = m.summary.outcome = TH_OUT_SUCCESS;
		m.summary.downtime_ms = 750;
		m.summary.downtime_bound_ms = 10;
		m.summary.outage_total_ms = 800;
		m.summary.hv_downtime_ms = 30;
		m.summary.delta_ms = 720;
		m.summary.lost_up = 40;
		m.summary.lost_down = 35;
		m.summary.lost_unknown = 0;
		m.summary.one_duration_s = NAN;
	}
	return m;
}

START_TEST(records_outside_sessions_are_background)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_record r = second("vm1", "s", 1000, 100, 99, 0.3);
	size_t dups;

	ck_assert_int_eq(tp_core_records(core, &r, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(out.nvalues, 2);
	ck_assert_str_eq(out.values[0].type, "themis_probe");
	ck_assert_str_eq(out.values[0].type_instance, "");
	ck_assert_str_eq(out.values[0].vm, "vm1");
	ck_assert_double_eq(out.values[0].time, 1000);
	ck_assert_double_eq(out.values[0].interval, 1);
	ck_assert_uint_eq(out.values[0].n, 7);
	ck_assert_double_eq(out.values[0].v[0], 100);
	ck_assert_double_eq(out.values[0].v[1], 99);
	ck_assert_double_eq(out.values[0].v[2], 1);
	ck_assert_str_eq(out.values[1].type, "themis_rtt");
	ck_assert_double_eq(out.values[1].v[1], 0.3);
	tp_core_tick(core, 100 * S, true, &out);
	ck_assert_uint_eq(out.njobs, 0);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(resent_batches_change_nothing)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_record r[3] = {second("vm1", "s", 1000, 100, 99, 0.3),
	                  second("vm1", "s", 1001, 100, 98, 0.3),
	                  second("vm1", "s", 1002, 100, 97, 0.3)};
	size_t dups;

	ck_assert_int_eq(tp_core_records(core, r, 2, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(dups, 0);
	ck_assert_uint_eq(out.nvalues, 4);
	tp_out_reset(&out);
	/* the same two again plus one new one: only the new one counts */
	ck_assert_int_eq(tp_core_records(core, r, 3, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(dups, 2);
	ck_assert_uint_eq(out.nvalues, 2);
	ck_assert_double_eq(out.values[0].time, 1002);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(session_window_tags_records_and_archives_rows)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m[2] = {marker("sess.1", "vm1", TH_EV_SESSION_START, 1000.25),
	                  marker("sess.1", "vm1", TH_EV_SESSION_END, 1005.5)};
	th_record before = second("vm1", "s", 999, 100, 100, 0.2);
	th_record r[4] = {
	    second("vm1", "s", 1000, 100, 100, 0.2), second("vm1", "s", 1001, 100, 40, 0.4),
	    /* 1002 missing: stored as U */
	    second("vm1", "s", 1003, 100, 100, 0.3), second("vm1", "s", 1005, 100, 100, 0.3)};
	th_record other = second("vm2", "s", 1001, 50, 50, 1);
	th_record after = second("vm1", "s", 1006, 100, 100, 0.2);
	size_t dups;

	ck_assert_int_eq(tp_core_markers(core, m, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(tp_core_sessions_open(core), 1);
	ck_assert_int_eq(tp_core_records(core, &before, 1, S, &out, &dups, NULL), TH_OK);
	ck_assert_str_eq(out.values[0].type_instance, "");
	tp_out_reset(&out);
	ck_assert_int_eq(tp_core_records(core, r, 3, S, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(out.nvalues, 6);
	for (size_t i = 0; i < out.nvalues; i++)
		ck_assert_str_eq(out.values[i].type_instance, "sess.1");
	ck_assert_int_eq(tp_core_records(core, &other, 1, S, &out, &dups, NULL), TH_OK);
	ck_assert_str_eq(out.values[6].type_instance, "");
	tp_out_reset(&out);

	/* newest data 1003, lag 2: rows 1000..1001 are final; the JSON is written too */
	tp_core_tick(core, S, false, &out);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert(out.jobs[0].create);
	ck_assert_int_eq(out.jobs[0].first, 1000);
	ck_assert_int_eq(out.jobs[0].row0, 1000);
	ck_assert_uint_eq(out.jobs[0].nrows, 2);
	ck_assert_double_eq(out.jobs[0].rows[0], 100);                  /* sent @1000 */
	ck_assert_double_eq(out.jobs[0].rows[TH_ARCHIVE_NDS + 1], 40);  /* received @1001 */
	ck_assert_double_eq(out.jobs[0].rows[TH_ARCHIVE_NDS + 8], 0.4); /* rtt_avg @1001 */
	ck_assert(isnan(out.jobs[0].rows[12]));                         /* no iperf */
	ck_assert_ptr_nonnull(out.jobs[0].json);
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"closed_by\":\"open\""));
	tp_out_reset(&out);

	/* a record for an already final second is ignored by the archive */
	th_record late = second("vm1", "s2", 1001, 100, 100, 9);
	ck_assert_int_eq(tp_core_records(core, &late, 1, S, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);

	/* the summary and the notification wait for the close */
	ck_assert_int_eq(tp_core_markers(core, &m[1], 1, 2 * S, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(out.nvalues + out.nnotices, 0);
	tp_out_reset(&out);

	/* within the grace period the last second still joins; after it, 1006 is background */
	ck_assert_int_eq(tp_core_records(core, &r[3], 1, 3 * S, &out, &dups, NULL), TH_OK);
	ck_assert_str_eq(out.values[0].type_instance, "sess.1");
	ck_assert_int_eq(tp_core_records(core, &after, 1, 3 * S, &out, &dups, NULL), TH_OK);
	ck_assert_str_eq(out.values[2].type_instance, "");
	tp_out_reset(&out);
	/* grace not over; newest second 1005, lag 2: 1002..1003 become final */
	tp_core_tick(core, 4 * S, false, &out);
	ck_assert_uint_eq(tp_core_sessions_open(core), 1);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert(!out.jobs[0].create);
	ck_assert_int_eq(out.jobs[0].row0, 1002);
	ck_assert_uint_eq(out.jobs[0].nrows, 2);
	ck_assert(isnan(out.jobs[0].rows[0])); /* 1002: no record */
	ck_assert_double_eq(out.jobs[0].rows[TH_ARCHIVE_NDS], 100);
	tp_out_reset(&out);
	tp_core_tick(core, 5 * S + 1, false, &out);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_int_eq(out.jobs[0].row0, 1004);
	ck_assert_uint_eq(out.jobs[0].nrows, 2); /* 1004..1005, the last second of the window */
	ck_assert(isnan(out.jobs[0].rows[0]));
	ck_assert_double_eq(out.jobs[0].rows[TH_ARCHIVE_NDS], 100);
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"closed_by\":\"session-end\""));
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"first\":1000,\"last\":1005,"));
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"downtime_ms\":750.000"));
	/* the plugin saw no outage and 60 probes lost up: the two summaries differ */
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json,
	                             "\"summary_source\":\"both\","
	                             "\"summary_plugin\":{\"outcome\":\"success\","
	                             "\"one_stime\":0,\"one_rstime\":0,\"one_etime\":0,"
	                             "\"one_duration_s\":null,\"downtime_ms\":0.000,"));
	ck_assert_ptr_nonnull(out.jobs[0].summary_line);
	ck_assert_uint_eq(out.nvalues, 1);
	ck_assert_str_eq(out.values[0].type, "themis_session");
	ck_assert_str_eq(out.values[0].type_instance, "sess.1");
	ck_assert_double_eq(out.values[0].time, 1005.5);
	ck_assert_double_eq(out.values[0].v[0], 750);
	ck_assert(isnan(out.values[0].v[8]));
	ck_assert_uint_eq(out.nnotices, 1);
	ck_assert_int_eq(out.notices[0].severity, TP_SEV_WARNING); /* 750 ms > 500 ms warning */
	ck_assert_str_eq(out.notices[0].session, "sess.1");
	ck_assert_ptr_nonnull(strstr(out.notices[0].message,
	                             "; trigger and plugin differ, plugin: downtime 0.000 ms"));
	tp_out_reset(&out);

	/* re-sent markers of a finished session are duplicates, not a new session */
	ck_assert_int_eq(tp_core_markers(core, m, 2, 6 * S, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(dups, 2);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(sessions_without_end_close_by_timeout)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m = marker("sess.2", "vm1", TH_EV_SESSION_START, 2000);
	th_record r = second("vm1", "s", 2000, 10, 10, 1);
	size_t dups;

	ck_assert_int_eq(tp_core_markers(core, &m, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_records(core, &r, 1, S, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	tp_core_tick(core, 59 * S, false, &out);
	ck_assert_uint_eq(tp_core_sessions_open(core), 1);
	tp_out_reset(&out);
	tp_core_tick(core, 60 * S, false, &out);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"closed_by\":\"timeout\""));
	/* the plugin's own summary: window [start, last second], one second, no loss; the
	 * outcome is not known (its key left out) */
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"summary\":{\"one_stime\":0,"
	                                               "\"one_rstime\":0,\"one_etime\":0,"
	                                               "\"one_duration_s\":null,"
	                                               "\"downtime_ms\":0.000,"));
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"lost_up\":0,"));
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"summary_source\":\"plugin\"}"));
	ck_assert_uint_eq(out.nnotices, 1);
	ck_assert_int_eq(out.notices[0].severity, TP_SEV_WARNING);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

/* A session whose prober never reported (markers only): its JSON is archived, no rows (and no
 * RRD). */
START_TEST(sessions_of_markers_only_archive_no_rows)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m[2] = {marker("sess.m", "vm1", TH_EV_SESSION_START, 2000.25),
	                  marker("sess.m", "vm1", TH_EV_SESSION_END, 2001.5)};
	size_t dups;

	ck_assert_int_eq(tp_core_markers(core, m, 2, 0, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	tp_core_tick(core, 10 * S, false, &out);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_uint_eq(out.jobs[0].nrows, 0);
	ck_assert_ptr_null(out.jobs[0].rows);
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"closed_by\":\"session-end\""));
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(markers_naming_another_vm_are_refused)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m[2] = {marker("sess.3", "vm1", TH_EV_SESSION_START, 1),
	                  marker("sess.3", "vm2", TH_EV_MIGRATION_REQUEST, 2)};
	char err[TH_ERRLEN];
	size_t dups;

	ck_assert_int_eq(tp_core_markers(core, m, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_markers(core, &m[1], 1, 0, &out, &dups, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "markers[0].vm: session sess.3 belongs to VM \"vm1\", not \"vm2\"");
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(severity_follows_outcome_and_thresholds)
{
	tp_config c = cfg();

	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_SUCCESS, 100, false), TP_SEV_OKAY);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_SUCCESS, 500, false), TP_SEV_OKAY);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_SUCCESS, 500.1, false), TP_SEV_WARNING);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_SUCCESS, 2000.1, false), TP_SEV_FAILURE);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_SUCCESS, NAN, false), TP_SEV_OKAY);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_FAILED, 1, false), TP_SEV_FAILURE);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_LOST, 1, false), TP_SEV_FAILURE);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_TIMEOUT, 1, false), TP_SEV_FAILURE);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_ABORTED, 1, false), TP_SEV_WARNING);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_NONE, NAN, true), TP_SEV_WARNING);
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_NONE, NAN, false), TP_SEV_WARNING);
	c.downtime_warning_ms = c.downtime_failure_ms = NAN;
	ck_assert_int_eq(tp_core_severity(&c, TH_OUT_SUCCESS, 1e9, false), TP_SEV_OKAY);
}
END_TEST

START_TEST(rrd_layout_follows_th_archive)
{
	char argv[TP_ARCHIVE_ARGC][TP_ARCHIVE_ARGLEN], up[512], path[256];
	double v[TH_ARCHIVE_NDS];
	tp_archive a = {.dir = "/var/lib/themis", .rows = 7200};

	tp_archive_create_args(a.rows, argv);
	ck_assert_str_eq(argv[0], "DS:sent:GAUGE:2:0:U");
	ck_assert_str_eq(argv[7], "DS:rtt_min:GAUGE:2:0:U");
	ck_assert_str_eq(argv[15], "DS:iperf_jitter:GAUGE:2:0:U");
	ck_assert_str_eq(argv[16], "RRA:AVERAGE:0.5:1:7200");
	ck_assert_str_eq(argv[17], "RRA:MAX:0.5:1:7200");
	for (int i = 0; i < TH_ARCHIVE_NDS; i++)
		v[i] = NAN;
	v[0] = 100;
	v[8] = 0.25;
	tp_archive_update_arg(1700000000, v, up, sizeof up);
	ck_assert_str_eq(up, "1700000000:100:U:U:U:U:U:U:U:0.25:U:U:U:U:U:U:U");
	ck_assert_int_eq(tp_archive_path(&a, "vm/42", "s.1", "rrd", path, sizeof path, NULL),
	                 TH_OK);
	ck_assert_str_eq(path, "/var/lib/themis/vm_42/s.1.rrd");
	ck_assert_int_eq(tp_archive_path(&a, ".hidden", "s.1", "json", path, sizeof path, NULL),
	                 TH_OK);
	ck_assert_str_eq(path, "/var/lib/themis/_hidden/s.1.json");
}
END_TEST

START_TEST(dispatch_marks_survive_a_restart)
{
	tp_config c = cfg();
	tp_core *a = tp_core_new(&c), *b = tp_core_new(&c);
	tp_out out = {0};
	th_record r[3] = {second("vm\"1", "s\n1", 10, 100, 99, 1),
	                  second("vm\"1", "s\n1", 11, 100, 98, 1),
	                  second("vm\"1", "s\n1", 12, 100, 97, 1)};
	th_marker m = marker("sess.4", "vm\"1", TH_EV_SESSION_START, 10);
	char *marks;
	size_t dups;

	ck_assert_ptr_null(tp_core_marks(a, false)); /* nothing dispatched yet */
	ck_assert_int_eq(tp_core_records(a, r, 2, 0, &out, &dups, NULL), TH_OK);
	marks = tp_core_marks(a, false);
	ck_assert_ptr_nonnull(marks);
	ck_assert_str_eq(
	    marks, "{\"vm\":\"vm\\\"1\",\"stream\":\"s\\n1\",\"kind\":\"second\",\"t\":11}\n");
	ck_assert_ptr_null(tp_core_marks(a, false)); /* unchanged since */

	/* b is the restarted plugin: 10 and 11 were dispatched, 12 was not */
	ck_assert_int_eq(tp_core_load_marks(b, marks, strlen(marks), NULL), TH_OK);
	ck_assert_int_eq(tp_core_markers(b, &m, 1, 0, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	ck_assert_int_eq(tp_core_records(b, r, 3, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(dups, 2);
	ck_assert_uint_eq(out.nvalues, 2);
	ck_assert_double_eq(out.values[0].time, 12);
	/* ... while the session archive still receives all three seconds */
	tp_core_tick(b, 0, true, &out);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_int_eq(out.jobs[0].row0, 10);
	ck_assert_uint_eq(out.jobs[0].nrows, 3);
	ck_assert_double_eq(out.jobs[0].rows[1], 99);
	ck_assert_double_eq(out.jobs[0].rows[2 * TH_ARCHIVE_NDS + 1], 97);
	ck_assert_int_eq(tp_core_load_marks(b, "{\"vm\":1}", 8, NULL), TH_ERR_INVALID);
	free(marks);
	tp_out_free(&out);
	tp_core_free(a);
	tp_core_free(b);
}
END_TEST

START_TEST(late_session_start_still_opens_the_window)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker req = marker("sess.5", "vm1", TH_EV_MIGRATION_REQUEST, 105.5);
	th_marker start = marker("sess.5", "vm1", TH_EV_SESSION_START, 100.25);
	th_record r = second("vm1", "s", 101, 100, 100, 1);
	size_t dups;
	char *a, *b;

	ck_assert_int_eq(tp_core_markers(core, &req, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_markers(core, &start, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_records(core, &r, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_str_eq(out.values[0].type_instance, "sess.5");
	tp_out_reset(&out);
	tp_core_tick(core, 0, true, &out);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_int_eq(out.jobs[0].first, 100);
	ck_assert_int_eq(out.jobs[0].row0, 100);
	a = strstr(out.jobs[0].json, "\"session-start\"");
	b = strstr(out.jobs[0].json, "\"migration-request\"");
	ck_assert(a != NULL && b != NULL && a < b); /* markers in time order */
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(pending_rows_survive_a_restart_once)
{
	tp_config c = cfg();
	tp_core *a = tp_core_new(&c), *b = tp_core_new(&c);
	tp_out out = {0};
	th_marker m = marker("sess.6", "vm1", TH_EV_SESSION_START, 10);
	th_record r[3] = {second("vm1", "s 1", 10, 100, 99, 1.5),
	                  second("vm1", "s 1", 11, 100, 98, 2),
	                  second("vm1", "s 1", 12, 100, 97, 1)};
	char *pending;
	size_t dups, plen;

	c.archive_lag_s = 100; /* nothing final: everything stays pending */
	tp_core_free(a);
	a = tp_core_new(&c);
	ck_assert_int_eq(tp_core_markers(a, &m, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_records(a, r, 2, 0, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	tp_core_tick(a, 1, false, &out);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_uint_eq(out.jobs[0].nrows, 0);
	ck_assert_ptr_nonnull(out.jobs[0].pending);
	ck_assert_uint_gt(out.jobs[0].pending_len, 8);
	plen = out.jobs[0].pending_len;
	pending = malloc(plen);
	memcpy(pending, out.jobs[0].pending, plen);
	tp_out_reset(&out);

	/* restart: the session comes back with its pending rows; a re-sent batch adds nothing */
	ck_assert_int_eq(tp_core_resume(b, &m, 1, NULL, 0, 10, 9, 0, NULL), TH_OK);
	ck_assert_int_eq(tp_core_resume_rows(b, "sess.6", pending, plen - 1, NULL), TH_ERR_PARSE);
	ck_assert_int_eq(tp_core_resume_rows(b, "sess.6", pending, plen, NULL), TH_OK);
	ck_assert_int_eq(tp_core_records(b, r, 3, 0, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	tp_core_tick(b, 0, true, &out);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_int_eq(out.jobs[0].row0, 10);
	ck_assert_uint_eq(out.jobs[0].nrows, 3);
	ck_assert_double_eq(out.jobs[0].rows[0], 100); /* not 200 */
	ck_assert_double_eq(out.jobs[0].rows[TH_ARCHIVE_NDS + 1], 98);
	ck_assert_double_eq(out.jobs[0].rows[2 * TH_ARCHIVE_NDS + 1], 97);
	ck_assert_int_eq(tp_core_resume_rows(b, "sess.6", "x y\n", 4, NULL), TH_ERR_PARSE);
	ck_assert_int_eq(tp_core_resume_rows(b, "nope", "", 0, NULL), TH_ERR_NOTFOUND);
	free(pending);
	tp_out_free(&out);
	tp_core_free(a);
	tp_core_free(b);
}
END_TEST

/* ------------------------------------------------------------------ limits */

static int64_t fake_wall = 1000000 * S; /* epoch ns the limit tests' clock reads */

static int64_t wall(void)
{
	return fake_wall;
}

static tp_config limited(void)
{
	tp_config c = cfg();

	c.limits = (tp_limits){.sessions = 3,
	                       .sessions_per_vm = 2,
	                       .streams = 4,
	                       .markers = 8,
	                       .outages = 2,
	                       .accept_past_s = 3600,
	                       .accept_future_s = 300};
	c.wall_ns = wall;
	return c;
}

static th_record outage(const char *vm, const char *stream, double start, double end)
{
	th_record r;

	memset(&r, 0, sizeof r);
	r.kind = TH_REC_OUTAGE;
	snprintf(r.vm, sizeof r.vm, "%s", vm);
	snprintf(r.stream, sizeof r.stream, "%s", stream);
	r.u.outage.direction = TH_DIR_UP;
	r.u.outage.start = start;
	r.u.outage.end = end;
	r.u.outage.duration_ms = (end - start) * 1000;
	r.u.outage.bound_ms = 10;
	r.u.outage.lost = 3;
	return r;
}

START_TEST(times_outside_the_window_refuse_the_whole_batch)
{
	tp_config c = limited();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_record r[2] = {second("v", "s", 1000000, 100, 100, 1),
	                  second("v", "s", 1000000 + 301, 100, 100, 1)};
	th_marker m = marker("s.1", "v", TH_EV_SESSION_START, 1000000 - 3601);
	char err[TH_ERRLEN];
	size_t dups;

	ck_assert_int_eq(tp_core_records(core, r, 2, 0, &out, &dups, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "records[1].t: 1000301.000 is 301 s ahead of this host's clock "
	                      "(AcceptFuture 300 s)");
	ck_assert_uint_eq(out.nvalues, 0); /* nothing of the batch taken */
	ck_assert_uint_eq(tp_core_streams(core), 0);
	ck_assert_int_eq(tp_core_markers(core, &m, 1, 0, &out, &dups, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "markers[0].t: 996399.000 is 3601 s in the past (AcceptPast 3600 s)");
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	r[1] = outage("v", "s", 1000000 - 4000, 1000000 - 10);
	ck_assert_int_eq(tp_core_records(core, r, 2, 0, &out, &dups, err), TH_ERR_INVALID);
	ck_assert_str_eq(err,
	                 "records[1].start: 996000.000 is 4000 s in the past (AcceptPast 3600 s)");
	ck_assert_uint_eq(tp_core_hits(core, TP_HIT_WINDOW), 3);
	/* inside the window: taken */
	r[1] = second("v", "s", 1000000 + 300, 100, 100, 1);
	ck_assert_int_eq(tp_core_records(core, r, 2, 0, &out, &dups, err), TH_OK);
	ck_assert_uint_eq(out.nvalues, 4);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(session_and_stream_counts_are_bounded)
{
	tp_config c = limited();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m[4] = {marker("a.1", "v1", TH_EV_SESSION_START, 1000000),
	                  marker("a.2", "v1", TH_EV_SESSION_START, 1000000),
	                  marker("a.3", "v1", TH_EV_SESSION_START, 1000000),
	                  marker("b.1", "v2", TH_EV_SESSION_START, 1000000)};
	th_marker c4 = marker("c.1", "v3", TH_EV_SESSION_START, 1000000);
	th_record r[5];
	char err[TH_ERRLEN];
	size_t dups;

	ck_assert_int_eq(tp_core_markers(core, m, 4, 0, &out, &dups, err), TH_ERR_LIMIT);
	ck_assert_str_eq(err, "session a.3 refused: VM v1 has 2 open sessions (MaxSessionsPerVM); "
	                      "send again once some have ended");
	ck_assert_uint_eq(tp_core_sessions_open(core), 2); /* the markers before it stay */
	ck_assert_int_eq(tp_core_markers(core, &m[3], 1, 0, &out, &dups, err), TH_OK);
	ck_assert_int_eq(tp_core_markers(core, &c4, 1, 0, &out, &dups, err), TH_ERR_LIMIT);
	ck_assert_str_eq(err, "session c.1 refused: 3 sessions are open (MaxSessions); send again "
	                      "once some have ended");
	ck_assert_uint_eq(tp_core_hits(core, TP_HIT_SESSIONS), 1);
	ck_assert_uint_eq(tp_core_hits(core, TP_HIT_SESSIONS_PER_VM), 1);

	for (int i = 0; i < 5; i++) {
		char st[8];

		snprintf(st, sizeof st, "s%d", i);
		r[i] = second("v9", st, 1000000, 100, 100, 1);
	}
	ck_assert_int_eq(tp_core_records(core, r, 5, 0, &out, &dups, err), TH_ERR_LIMIT);
	ck_assert_str_eq(err, "records[4]: stream s4 of VM v9 refused: 4 streams are tracked "
	                      "(MaxStreams); records before it were accepted");
	ck_assert_uint_eq(tp_core_streams(core), 4);
	/* a tracked stream's other kinds still fit */
	r[4] = outage("v9", "s0", 1000000, 1000000.5);
	ck_assert_int_eq(tp_core_records(core, &r[4], 1, 0, &out, &dups, err), TH_OK);
	ck_assert_uint_eq(tp_core_streams(core), 5);
	tp_out_reset(&out);
	ck_assert_int_eq(tp_core_records(core, r, 4, 0, &out, &dups, err), TH_OK);
	ck_assert_uint_eq(dups, 4); /* accepted the first time */
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(markers_and_outages_per_session_are_bounded)
{
	tp_config c = limited();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m[9];
	th_record o[3] = {outage("v", "s", 1000001, 1000001.5),
	                  outage("v", "s", 1000002, 1000002.5),
	                  outage("v", "s", 1000003, 1000003.5)};
	char err[TH_ERRLEN], *json;
	size_t dups;

	for (int i = 0; i < 9; i++)
		m[i] = marker("a.1", "v", i ? TH_EV_MIGRATION_REQUEST : TH_EV_SESSION_START,
		              1000000 + i * 0.001);
	ck_assert_int_eq(tp_core_markers(core, m, 9, 0, &out, &dups, err), TH_ERR_STATE);
	ck_assert_str_eq(err, "markers[8]: session a.1 already holds 8 markers "
	                      "(MaxMarkersPerSession)");
	ck_assert_int_eq(tp_core_records(core, o, 3, 0, &out, &dups, err), TH_OK);
	ck_assert_uint_eq(out.nvalues, 3); /* every outage is dispatched ... */
	ck_assert_uint_eq(tp_core_hits(core, TP_HIT_OUTAGES), 1);
	tp_out_reset(&out);
	tp_core_tick(core, 0, true, &out);
	ck_assert_uint_eq(out.njobs, 1);
	json = out.jobs[0].json;
	ck_assert_ptr_nonnull(json); /* ... the session keeps two and counts the rest */
	ck_assert_ptr_nonnull(strstr(json, "\"start\":1000002"));
	ck_assert_ptr_null(strstr(json, "\"start\":1000003"));
	ck_assert_ptr_nonnull(strstr(json, "\"outages_dropped\":1"));
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(finished_sessions_never_reopen)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m[2] = {marker("old.1", "v", TH_EV_SESSION_START, 10),
	                  marker("old.1", "v", TH_EV_SESSION_END, 20)};
	size_t dups;

	ck_assert_int_eq(tp_core_markers(core, m, 2, 0, &out, &dups, NULL), TH_OK);
	tp_core_tick(core, 10 * S, false, &out); /* past the grace: closed */
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	/* 5,000 later sessions finish too: the first is still known */
	for (int i = 0; i < 5000; i++) {
		char id[32];
		th_marker x[2];

		snprintf(id, sizeof id, "later.%d", i);
		x[0] = marker(id, "w", TH_EV_SESSION_START, 100 + i);
		x[1] = marker(id, "w", TH_EV_SESSION_END, 100.5 + i);
		ck_assert_int_eq(tp_core_markers(core, x, 2, 20 * S, &out, &dups, NULL), TH_OK);
		tp_core_tick(core, 30 * S, false, &out);
		tp_out_reset(&out);
	}
	ck_assert_uint_eq(tp_core_finished(core), 5001);
	ck_assert_int_eq(tp_core_markers(core, m, 2, 40 * S, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(dups, 2);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	ck_assert_uint_eq(out.nvalues + out.njobs + out.nnotices, 0);
	ck_assert_uint_eq(tp_core_hits(core, TP_HIT_CLOSED), 2);
	/* a session found closed in the archive at start is refused the same way */
	ck_assert_int_eq(tp_core_mark_finished(core, "arch.7"), TH_OK);
	m[0] = marker("arch.7", "v", TH_EV_SESSION_START, 50);
	ck_assert_int_eq(tp_core_markers(core, m, 1, 40 * S, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(dups, 1);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(a_clean_shutdown_closes_ended_sessions_only)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m[3] = {marker("e.1", "v", TH_EV_SESSION_START, 10),
	                  marker("e.1", "v", TH_EV_SESSION_END, 12),
	                  marker("o.1", "w", TH_EV_SESSION_START, 10)};
	size_t dups, closed = 0, open = 0;

	ck_assert_int_eq(tp_core_markers(core, m, 3, 0, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	tp_core_tick(core, 1, true, &out); /* well within SessionGrace */
	for (size_t i = 0; i < out.njobs; i++) {
		ck_assert_ptr_nonnull(out.jobs[i].json);
		if (strcmp(out.jobs[i].session, "e.1") == 0)
			closed += strstr(out.jobs[i].json, "\"closed_by\":\"session-end\"") != NULL;
		else
			open += strstr(out.jobs[i].json, "\"closed_by\":\"open\"") != NULL;
	}
	ck_assert_uint_eq(closed, 1);
	ck_assert_uint_eq(open, 1);
	ck_assert_uint_eq(tp_core_sessions_open(core), 1);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(marks_are_written_by_change_and_silent_streams_expire)
{
	tp_config c = limited();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_record r[2] = {second("v", "a", 1000000, 100, 100, 1),
	                  second("v", "b", 1000000, 100, 100, 1)};
	th_record later = second("v", "b", 1000001, 100, 100, 1);
	char *marks;
	size_t dups;

	ck_assert_int_eq(tp_core_records(core, r, 2, 0, &out, &dups, NULL), TH_OK);
	free(tp_core_marks(core, false));
	ck_assert_int_eq(tp_core_records(core, &later, 1, 0, &out, &dups, NULL), TH_OK);
	marks = tp_core_marks(core, false); /* only b changed */
	ck_assert_str_eq(marks,
	                 "{\"vm\":\"v\",\"stream\":\"b\",\"kind\":\"second\",\"t\":1000001}\n");
	free(marks);
	marks = tp_core_marks(core, true); /* the whole state */
	ck_assert_ptr_nonnull(strstr(marks, "\"stream\":\"a\""));
	ck_assert_ptr_nonnull(strstr(marks, "\"stream\":\"b\""));
	free(marks);
	/* silent for longer than AcceptPast: forgotten; its re-sends are refused by the window */
	fake_wall += 3600 * S + 2 * S;
	tp_core_tick(core, 100 * S, false, &out);
	ck_assert_uint_eq(tp_core_streams(core), 0);
	ck_assert_int_eq(tp_core_records(core, r, 1, 0, &out, &dups, NULL), TH_ERR_INVALID);
	fake_wall -= 3600 * S + 2 * S;
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(ten_thousand_streams_are_found_again)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	size_t dups, total = 0;

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 10000; i++) {
			char vm[16];
			th_record r;

			snprintf(vm, sizeof vm, "vm%d", i);
			r = second(vm, "s", 100, 10, 10, 1);
			ck_assert_int_eq(tp_core_records(core, &r, 1, 0, &out, &dups, NULL), TH_OK);
			total += dups;
			tp_out_reset(&out);
		}
	ck_assert_uint_eq(tp_core_streams(core), 10000);
	ck_assert_uint_eq(total, 10000); /* the second pass was all duplicates */
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(outages_dispatched_before_a_restart_are_not_dispatched_again)
{
	tp_config c = cfg();
	tp_core *a = tp_core_new(&c), *b = tp_core_new(&c);
	tp_out out = {0};
	th_record o[2] = {outage("v", "s", 100.25, 100.5), outage("v", "s", 200.125, 201)};
	char *marks;
	size_t dups;

	ck_assert_int_eq(tp_core_records(a, o, 1, 0, &out, &dups, NULL), TH_OK);
	marks = tp_core_marks(a, false);
	ck_assert_str_eq(marks,
	                 "{\"vm\":\"v\",\"stream\":\"s\",\"kind\":\"outage\",\"t\":100.250000}\n");
	ck_assert_int_eq(tp_core_load_marks(b, marks, strlen(marks), NULL), TH_OK);
	tp_out_reset(&out);
	/* the restarted plugin gets both again: only the new one is dispatched */
	ck_assert_int_eq(tp_core_records(b, o, 2, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(dups, 1);
	ck_assert_uint_eq(out.nvalues, 1);
	ck_assert_double_eq(out.values[0].time, 200.125);
	free(marks);
	tp_out_free(&out);
	tp_core_free(a);
	tp_core_free(b);
}
END_TEST

START_TEST(a_span_between_records_costs_no_rows)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m = marker("sp.1", "v", TH_EV_SESSION_START, 1000);
	th_record r[3] = {second("v", "s", 1000, 100, 100, 1), second("v", "s", 1001, 100, 99, 1),
	                  second("v", "s", 1000 + 600000, 100, 98, 1)};
	size_t dups, rows = 0;

	ck_assert_int_eq(tp_core_markers(core, &m, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_records(core, r, 3, 0, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	tp_core_tick(core, 0, true, &out);
	/* 600,000 seconds apart: two runs of rows, not 600,002 */
	for (size_t i = 0; i < out.njobs; i++)
		rows += out.jobs[i].nrows;
	ck_assert_uint_eq(rows, 4);
	ck_assert_int_eq(out.jobs[0].row0, 1000);
	ck_assert_uint_eq(out.jobs[0].nrows, 2);
	ck_assert_int_eq(out.jobs[1].row0, 1000 + 600000 - 1);
	ck_assert(isnan(out.jobs[1].rows[1]));
	ck_assert_double_eq(out.jobs[1].rows[TH_ARCHIVE_NDS + 1], 98);
	ck_assert_int_eq(out.jobs[1].need_rows, 600001);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, records_outside_sessions_are_background);
	tcase_add_test(tc, resent_batches_change_nothing);
	tcase_add_test(tc, session_window_tags_records_and_archives_rows);
	tcase_add_test(tc, sessions_without_end_close_by_timeout);
	tcase_add_test(tc, sessions_of_markers_only_archive_no_rows);
	tcase_add_test(tc, markers_naming_another_vm_are_refused);
	tcase_add_test(tc, severity_follows_outcome_and_thresholds);
	tcase_add_test(tc, rrd_layout_follows_th_archive);
	tcase_add_test(tc, dispatch_marks_survive_a_restart);
	tcase_add_test(tc, late_session_start_still_opens_the_window);
	tcase_add_test(tc, pending_rows_survive_a_restart_once);
	tcase_add_test(tc, times_outside_the_window_refuse_the_whole_batch);
	tcase_add_test(tc, session_and_stream_counts_are_bounded);
	tcase_add_test(tc, markers_and_outages_per_session_are_bounded);
	tcase_add_test(tc, finished_sessions_never_reopen);
	tcase_add_test(tc, a_clean_shutdown_closes_ended_sessions_only);
	tcase_add_test(tc, marks_are_written_by_change_and_silent_streams_expire);
	tcase_add_test(tc, ten_thousand_streams_are_found_again);
	tcase_add_test(tc, a_span_between_records_costs_no_rows);
	tcase_add_test(tc, outages_dispatched_before_a_restart_are_not_dispatched_again);
	suite_add_tcase(s, tc);
	return s;
}
