/* test-summary.c — the plugin's recent history per VM and its own session summaries: a session
 * opened with a start in the past takes over the kept rows and outages, its summary equals
 * th_summary_network() (the trigger's function) over the same records and says where it comes
 * from (plugin / trigger / both); HistoryMaxBytes is counted; the availability tally rolls over
 * by UTC hour; the summaries.jsonl line is exact; a <session>.json read back at a restart
 * writes the same <session>.json (markers, outages and summaries through lib's one encoder and
 * decoder). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-json.h"
#include "th-check.h"
#include "th-summary.h"
#include "th-time.h"
#include "tp-core.h"
#include "tp-resume.h"
#include "tp-vm.h"

#define S  TH_NS_PER_SEC
#define T0 1764590400 /* an hour boundary (2025-12-01 12:00 UTC) */

static int64_t fake_wall = (int64_t)(T0 + 200) * S;

static int64_t wall(void)
{
	return fake_wall;
}

static tp_config cfg(void)
{
	tp_config c = {.archive_lag_s = 2,
	               .session_grace_ns = 3 * S,
	               .session_timeout_ns = 3600 * S,
	               .downtime_warning_ms = NAN,
	               .downtime_failure_ms = NAN,
	               .archive = true,
	               .history_s = 600,
	               .summary_grace_s = 1,
	               .wall_ns = wall};
	return c;
}

static th_record second(const char *vm, const char *stream, int64_t t, uint32_t lost_up,
                        uint32_t lost_down)
{
	th_record r;

	memset(&r, 0, sizeof r);
	r.kind = TH_REC_SECOND;
	snprintf(r.vm, sizeof r.vm, "%s", vm);
	snprintf(r.stream, sizeof r.stream, "%s", stream);
	r.u.second.t = t;
	r.u.second.interval_ms = 10;
	r.u.second.sent = 100;
	r.u.second.received = 100 - lost_up - lost_down;
	r.u.second.lost_up = lost_up;
	r.u.second.lost_down = lost_down;
	r.u.second.rtt_min_ms = r.u.second.rtt_avg_ms = r.u.second.rtt_max_ms = 1;
	r.u.second.jitter_ms = r.u.second.max_gap_ms = NAN;
	return r;
}

static th_record outage(const char *vm, const char *stream, th_direction d, double a, double b)
{
	th_record r;

	memset(&r, 0, sizeof r);
	r.kind = TH_REC_OUTAGE;
	snprintf(r.vm, sizeof r.vm, "%s", vm);
	snprintf(r.stream, sizeof r.stream, "%s", stream);
	r.u.outage.direction = d;
	r.u.outage.start = a;
	r.u.outage.end = b;
	r.u.outage.duration_ms = (b - a) * 1000;
	r.u.outage.bound_ms = 10;
	r.u.outage.lost = (uint32_t)((b - a) * 100);
	return r;
}

static th_marker marker(const char *session, th_event ev, double t)
{
	th_marker m;

	memset(&m, 0, sizeof m);
	snprintf(m.session, sizeof m.session, "%s", session);
	snprintf(m.vm, sizeof m.vm, "v");
	snprintf(m.definition, sizeof m.definition, "watch");
	m.event = ev;
	m.t = t;
	m.cycle = -1;
	m.vm_id = 7;
	m.origin = TH_ORIGIN_OBSERVED;
	th_summary_init(&m.summary);
	if (ev == TH_EV_MIGRATION_END)
		m.outcome = TH_OUT_SUCCESS;
	if (ev == TH_EV_SESSION_END)
		m.outcome = m.summary.outcome = TH_OUT_SUCCESS;
	return m;
}

/* The figures of a summary object of the JSON. */
static void json_summary(yajl_val obj, th_summary *x)
{
	static const char *const keys[] = {"downtime_ms", "downtime_bound_ms", "outage_total_ms",
	                                   "lost_up",     "lost_down",         "lost_unknown"};
	double v[6];

	ck_assert(YAJL_IS_OBJECT(obj));
	for (int i = 0; i < 6; i++) {
		yajl_val k = th_json_member(obj, keys[i]);

		v[i] = YAJL_IS_NUMBER(k) ? YAJL_GET_DOUBLE(k) : NAN;
	}
	th_summary_init(x);
	x->downtime_ms = v[0];
	x->downtime_bound_ms = v[1];
	x->outage_total_ms = v[2];
	x->lost_up = isnan(v[3]) ? -1 : (int64_t)v[3];
	x->lost_down = isnan(v[4]) ? -1 : (int64_t)v[4];
	x->lost_unknown = isnan(v[5]) ? -1 : (int64_t)v[5];
}

static void same_network(const th_summary *a, const th_summary *b)
{
	ck_assert_double_eq_tol(a->downtime_ms, b->downtime_ms, 1e-6);
	ck_assert_double_eq_tol(a->downtime_bound_ms, b->downtime_bound_ms, 1e-6);
	ck_assert_double_eq_tol(a->outage_total_ms, b->outage_total_ms, 1e-6);
	ck_assert_int_eq(a->lost_up, b->lost_up);
	ck_assert_int_eq(a->lost_down, b->lost_down);
	ck_assert_int_eq(a->lost_unknown, b->lost_unknown);
}

/* One case: the outages posted before the markers, and what the session-end marker says. */
typedef enum { END_UNKNOWN, END_SAME, END_DIFFERENT } end_kind;
static const struct summary_case {
	const char *name;
	size_t nout;
	bool loss; /* seconds T0+92..T0+93 lose probes */
	end_kind end;
	const char *source;
} cases[] = {
    {"no outage", 0, false, END_UNKNOWN, "plugin"},
    {"one outage inside the window", 1, true, END_UNKNOWN, "plugin"},
    {"an outage straddling the window start", 1, true, END_UNKNOWN, "plugin"},
    {"per-direction and combined records of one outage", 3, true, END_UNKNOWN, "plugin"},
    {"loss but no outage", 0, true, END_UNKNOWN, "plugin"},
    {"trigger summary equal", 1, true, END_SAME, "trigger"},
    {"trigger summary different", 1, true, END_DIFFERENT, "both"},
};

static void case_outages(int i, th_record *o)
{
	switch (i) {
	case 1:
	case 5:
	case 6:
		o[0] = outage("v", "s", TH_DIR_UP, T0 + 92.5, T0 + 94.0);
		break;
	case 2:
		o[0] = outage("v", "s", TH_DIR_DOWN, T0 + 89.25, T0 + 91.0);
		break;
	case 3: /* a producer sending each direction and the combined run */
		o[0] = outage("v", "up", TH_DIR_UP, T0 + 92.5, T0 + 93.5);
		o[1] = outage("v", "down", TH_DIR_DOWN, T0 + 93.0, T0 + 94.0);
		o[2] = outage("v", "both", TH_DIR_BOTH, T0 + 92.5, T0 + 94.0);
		break;
	}
}

/* 3 minutes of records of VM v from T0 (a second stream for 60 s), the case's outages, then the
 * four markers of an observed session starting 100 s back: session-start T0+60, migration-start
 * T0+90, migration-end T0+100 (window [T0+90, T0+101]), session-end T0+130. */
START_TEST(a_session_started_in_the_past_takes_the_history_and_summarises_it)
{
	const struct summary_case *k = &cases[_i];
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_record recs[300], o[3];
	th_marker m[4] = {marker("w.1", TH_EV_SESSION_START, T0 + 60),
	                  marker("w.1", TH_EV_MIGRATION_START, T0 + 90),
	                  marker("w.1", TH_EV_MIGRATION_END, T0 + 100),
	                  marker("w.1", TH_EV_SESSION_END, T0 + 130)};
	th_summary want, got, plugin_got;
	size_t n = 0, dups, rows = 0;
	yajl_val root;
	char *json = NULL;

	case_outages(_i, o);
	for (int64_t t = T0; t < T0 + 180; t++)
		recs[n++] = second("v", "s", t, k->loss && (t == T0 + 92 || t == T0 + 93) ? 30 : 0,
		                   k->loss && t == T0 + 93 ? 5 : 0);
	for (int64_t t = T0 + 80; t < T0 + 140; t++)
		recs[n++] = second("v", "s2", t, k->loss && t == T0 + 101 ? 7 : 0, 0);
	for (size_t i = 0; i < k->nout; i++)
		recs[n++] = o[i];
	ck_assert_int_eq(tp_core_records(core, recs, n, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(dups, 0);
	/* nothing of it is in a session: background values */
	ck_assert_str_eq(out.values[0].type_instance, "");
	tp_out_reset(&out);

	ck_assert_int_eq(th_summary_network(&want, recs, n, "v", T0 + 90, T0 + 100 + 1.0, NULL),
	                 TH_OK);
	if (k->end == END_SAME) {
		m[3].summary.downtime_ms = want.downtime_ms;
		m[3].summary.downtime_bound_ms = want.downtime_bound_ms;
		m[3].summary.outage_total_ms = want.outage_total_ms;
		m[3].summary.lost_up = want.lost_up;
		m[3].summary.lost_down = want.lost_down;
		m[3].summary.lost_unknown = want.lost_unknown;
	} else if (k->end == END_DIFFERENT) {
		m[3].summary.downtime_ms = want.downtime_ms + 50; /* beyond the 10 ms bound */
		m[3].summary.downtime_bound_ms = 10;
		m[3].summary.outage_total_ms = want.outage_total_ms + 50;
		m[3].summary.lost_up = want.lost_up;
		m[3].summary.lost_down = want.lost_down;
		m[3].summary.lost_unknown = want.lost_unknown;
	}
	ck_assert_int_eq(tp_core_markers(core, m, 4, S, &out, &dups, NULL), TH_OK);
	tp_core_tick(core, 10 * S, false, &out);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	/* the RRD gets every second from the session's first one, T0+60 .. T0+130 */
	for (size_t j = 0; j < out.njobs; j++) {
		if (out.jobs[j].nrows > 0) {
			ck_assert_int_eq(out.jobs[j].first, T0 + 60);
			if (rows == 0) {
				ck_assert(out.jobs[j].create);
				ck_assert_int_eq(out.jobs[j].row0, T0 + 60);
				ck_assert_double_eq(out.jobs[j].rows[0], 100); /* sent */
			}
			rows += out.jobs[j].nrows;
		}
		if (out.jobs[j].json != NULL)
			json = out.jobs[j].json;
	}
	ck_assert_uint_eq(rows, 71);
	ck_assert_ptr_nonnull(json);
	ck_assert_int_eq(th_json_parse(json, strlen(json), &root, NULL), TH_OK);
	ck_assert_str_eq(YAJL_GET_STRING(th_json_member(root, "summary_source")), k->source);
	ck_assert_uint_eq(YAJL_GET_ARRAY(th_json_member(root, "outages"))->len, k->nout);
	json_summary(th_json_member(root, "summary"), &got);
	if (k->end == END_DIFFERENT) {
		ck_assert_double_eq_tol(got.downtime_ms, want.downtime_ms + 50, 1e-6);
		json_summary(th_json_member(root, "summary_plugin"), &plugin_got);
		same_network(&plugin_got, &want);
	} else {
		same_network(&got, &want);
		ck_assert_ptr_null(th_json_member(root, "summary_plugin"));
	}
	/* the dispatched summary and the summaries.jsonl line carry the final figures */
	for (size_t j = 0; j < out.nvalues; j++)
		if (strcmp(out.values[j].type, "themis_session") == 0)
			ck_assert_double_eq_tol(out.values[j].v[0], got.downtime_ms, 1e-9);
	ck_assert_uint_eq(out.nnotices, 1);
	ck_assert_ptr_nonnull(out.jobs[out.njobs - 1].summary_line);
	yajl_tree_free(root);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

/* A measured run and the watcher's observed session of the same migration overlap: each keeps
 * the VM's data of its own window, so both see the outage (only the run's, started last, tags
 * the dispatched values). */
START_TEST(overlapping_run_and_observed_sessions_both_keep_the_data)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_record recs[200];
	th_marker open[2] = {marker("w.1", TH_EV_SESSION_START, T0 + 60),
	                     marker("r.1", TH_EV_SESSION_START, T0 + 85)};
	th_marker rest[7] = {marker("r.1", TH_EV_MIGRATION_REQUEST, T0 + 88),
	                     marker("r.1", TH_EV_MIGRATION_START, T0 + 90),
	                     marker("r.1", TH_EV_MIGRATION_END, T0 + 100),
	                     marker("r.1", TH_EV_SESSION_END, T0 + 105),
	                     marker("w.1", TH_EV_MIGRATION_START, T0 + 90),
	                     marker("w.1", TH_EV_MIGRATION_END, T0 + 100),
	                     marker("w.1", TH_EV_SESSION_END, T0 + 130)};
	size_t n = 0, dups, seen = 0;

	open[1].origin = TH_ORIGIN_RUN;
	for (int i = 0; i < 4; i++)
		rest[i].origin = TH_ORIGIN_RUN;
	ck_assert_int_eq(tp_core_markers(core, open, 2, 0, &out, &dups, NULL), TH_OK);
	for (int64_t t = T0 + 60; t < T0 + 140; t++)
		recs[n++] = second("v", "s", t,
		                   t == T0 + 93                   ? 100
		                   : t == T0 + 92 || t == T0 + 94 ? 50
		                                                  : 0,
		                   0);
	recs[n++] = outage("v", "s", TH_DIR_UP, T0 + 92.5, T0 + 94.5);
	ck_assert_int_eq(tp_core_records(core, recs, n, 0, &out, &dups, NULL), TH_OK);
	for (size_t j = 0; j < out.nvalues; j++)
		if (strcmp(out.values[j].type, "themis_outage") == 0)
			ck_assert_str_eq(out.values[j].type_instance, "r.1-up");
	ck_assert_int_eq(tp_core_markers(core, rest, 7, S, &out, &dups, NULL), TH_OK);
	tp_core_tick(core, 10 * S, false, &out);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	for (size_t j = 0; j < out.njobs; j++) {
		yajl_val root;
		th_summary got;
		const char *json = out.jobs[j].json;

		if (json == NULL || strstr(json, "\"closed_by\":\"session-end\"") == NULL)
			continue;
		ck_assert_int_eq(th_json_parse(json, strlen(json), &root, NULL), TH_OK);
		json_summary(th_json_member(root, "summary"), &got);
		ck_assert_double_eq_tol(got.downtime_ms, 2000, 1e-6);
		ck_assert_int_eq(got.lost_up, 200);
		ck_assert_uint_eq(YAJL_GET_ARRAY(th_json_member(root, "outages"))->len, 1);
		seen++;
		yajl_tree_free(root);
	}
	ck_assert_uint_eq(seen, 2);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(history_beyond_history_max_bytes_is_refused_and_counted)
{
	tp_config c = cfg();
	tp_core *core;
	tp_out out = {0};
	th_record r[2] = {second("a", "s", T0, 0, 0), second("b", "s", T0, 3, 0)};
	th_marker m = marker("b.1", TH_EV_SESSION_START, T0);
	size_t dups, rows = 0;

	c.history_max_bytes = tp_vm_history_bytes(600) + 1000; /* one VM fits */
	core = tp_core_new(&c);
	snprintf(m.vm, sizeof m.vm, "b");
	ck_assert_int_eq(tp_core_records(core, r, 2, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(tp_core_history_bytes(core), tp_vm_history_bytes(600));
	ck_assert_uint_eq(tp_core_history_bytes(core), 600 * 144 + 32 * sizeof(tp_hist_outage));
	ck_assert_uint_eq(tp_core_hits(core, TP_HIT_HISTORY), 1);
	ck_assert_str_eq(tp_limit_name(TP_HIT_HISTORY), "HistoryMaxBytes");
	r[1].u.second.t++;
	ck_assert_int_eq(tp_core_records(core, &r[1], 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(tp_core_hits(core, TP_HIT_HISTORY), 1); /* counted once per VM */
	/* b's session, opened at T0 afterwards, has nothing to take over */
	ck_assert_int_eq(tp_core_markers(core, &m, 1, 0, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	tp_core_tick(core, 0, true, &out);
	for (size_t j = 0; j < out.njobs; j++)
		rows += out.jobs[j].nrows;
	ck_assert_uint_eq(rows, 0);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(availability_rolls_over_by_hour_and_counts_each_second_once)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_record r[4] = {second("v", "s", T0 - 2, 0, 0), second("v", "s2", T0 - 2, 0, 0),
	                  second("v", "s", T0 - 1, 0, 0), second("v", "s", T0, 0, 0)};
	th_record late = outage("v", "s", TH_DIR_UP, T0 - 1.5, T0 - 1.25);
	th_record in_sess[2] = {outage("v", "s", TH_DIR_UP, T0 + 2.5, T0 + 3.0),
	                        outage("v", "s2", TH_DIR_BOTH, T0 + 2.75, T0 + 3.5)};
	th_marker m = marker("h.1", TH_EV_SESSION_START, T0 + 1);
	th_record again =
	    second("v", "s2", T0 - 1, 0, 0); /* behind the newest counted: not again */
	size_t dups;

	ck_assert_int_eq(tp_core_records(core, r, 3, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(out.availability.len, 0);
	ck_assert_int_eq(tp_core_records(core, &r[3], 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_str_eq(out.availability.buf,
	                 "{\"vm\":\"v\",\"hour\":1764586800,\"covered_s\":2,\"outage_ms\":0.000,"
	                 "\"outage_ms_sessions\":0.000,\"outages\":0,\"outages_sessions\":0}\n");
	tp_out_reset(&out);
	/* an outage of the hour before, reported late: a line of its own (readers add up) */
	ck_assert_int_eq(tp_core_records(core, &late, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_records(core, &again, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_str_eq(out.availability.buf,
	                 "{\"vm\":\"v\",\"hour\":1764586800,\"covered_s\":0,\"outage_ms\":250.000,"
	                 "\"outage_ms_sessions\":0.000,\"outages\":1,\"outages_sessions\":0}\n");
	tp_out_reset(&out);
	/* in a session; the second record overlaps the first: one outage, 1000 ms in all */
	ck_assert_int_eq(tp_core_markers(core, &m, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_records(core, in_sess, 2, 0, &out, &dups, NULL), TH_OK);
	ck_assert_uint_eq(out.availability.len, 0);
	/* the hour is not over (wall clock T0+200): nothing yet; at shutdown the partial line */
	tp_core_tick(core, 100 * S, false, &out);
	ck_assert_uint_eq(out.availability.len, 0);
	tp_out_reset(&out);
	tp_core_tick(core, 101 * S, true, &out);
	ck_assert_str_eq(out.availability.buf,
	                 "{\"vm\":\"v\",\"hour\":1764590400,\"covered_s\":1,\"outage_ms\":1000.000,"
	                 "\"outage_ms_sessions\":1000.000,\"outages\":1,\"outages_sessions\":1}\n");
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

/* An outage recorded before its session was opened (observed sessions arrive afterwards)
 * moves to the "_sessions" figures when the session takes it over; an hour over is written out
 * by the tick once the wall clock passed it (+60 s). */
START_TEST(outages_taken_over_by_a_session_count_as_in_sessions)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_record r[3] = {second("v", "s", T0 + 10, 0, 0),
	                  outage("v", "s", TH_DIR_UP, T0 + 10.5, T0 + 11.5),
	                  second("v", "s", T0 + 12, 0, 0)};
	th_marker m = marker("o.1", TH_EV_SESSION_START, T0 + 5);
	size_t dups;

	ck_assert_int_eq(tp_core_records(core, r, 3, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_markers(core, &m, 1, 0, &out, &dups, NULL), TH_OK);
	fake_wall = (int64_t)(T0 + 3600 + 60) * S;
	tp_core_tick(core, 100 * S, false, &out);
	ck_assert_str_eq(out.availability.buf,
	                 "{\"vm\":\"v\",\"hour\":1764590400,\"covered_s\":2,\"outage_ms\":1000.000,"
	                 "\"outage_ms_sessions\":1000.000,\"outages\":1,\"outages_sessions\":1}\n");
	fake_wall = (int64_t)(T0 + 200) * S;
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(the_summaries_line_says_everything_of_the_session)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_record r[3] = {second("v", "s", T0 + 1, 0, 0), second("v", "s", T0 + 2, 40, 2),
	                  outage("v", "s", TH_DIR_BOTH, T0 + 2.25, T0 + 2.75)};
	th_marker m[4] = {marker("x.1", TH_EV_SESSION_START, T0 + 0.5),
	                  marker("x.1", TH_EV_MIGRATION_REQUEST, T0 + 1.5),
	                  marker("x.1", TH_EV_MIGRATION_END, T0 + 2.5),
	                  marker("x.1", TH_EV_SESSION_END, T0 + 3)};
	char *line = NULL;
	size_t dups;

	m[2].outcome = TH_OUT_FAILED;
	snprintf(m[2].message, sizeof m[2].message, "Cannot migrate \"x\"");
	m[3].outcome = m[3].summary.outcome = TH_OUT_FAILED;
	th_summary_set_one(&m[3].summary, T0 + 1, 0, T0 + 3);
	ck_assert_int_eq(tp_core_markers(core, m, 1, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_records(core, r, 3, 0, &out, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_markers(core, m + 1, 3, 0, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	tp_core_tick(core, 10 * S, false, &out);
	for (size_t j = 0; j < out.njobs; j++)
		if (out.jobs[j].summary_line != NULL)
			line = out.jobs[j].summary_line;
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(
	    line, "{\"session\":\"x.1\",\"vm\":\"v\",\"vm_id\":7,\"origin\":\"observed\","
	          "\"definition\":\"watch\",\"cycle\":null,\"src_host\":\"\",\"dst_host\":\"\","
	          "\"first\":1764590400,\"last\":1764590403,\"closed_by\":\"session-end\","
	          "\"t_request\":1764590401.500000,\"t_migration_start\":null,"
	          "\"t_migration_end\":1764590402.500000,\"outcome\":\"failed\","
	          "\"message\":\"Cannot migrate \\\"x\\\"\",\"summary\":{\"outcome\":\"failed\","
	          "\"one_stime\":1764590401,\"one_rstime\":0,\"one_etime\":1764590403,"
	          "\"one_duration_s\":2.000,\"downtime_ms\":500.000,\"downtime_bound_ms\":10.000,"
	          "\"outage_total_ms\":500.000,\"lost_up\":40,\"lost_down\":2,\"lost_unknown\":0,"
	          "\"hv_downtime_ms\":null,\"hv_total_ms\":null,"
	          "\"delta_ms\":null,\"hv_pause\":null,\"hv_resume\":null,\"hv_paused_ms\":null,"
	          "\"pre_pause_ms\":null,\"post_resume_ms\":null,\"decomp_bound_ms\":null,"
	          "\"up_pre_pause_ms\":null,\"up_post_resume_ms\":null,"
	          "\"down_pre_pause_ms\":null,\"down_post_resume_ms\":null},"
	          "\"summary_source\":\"plugin\"}\n");
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

/* A session resumed after a restart whose line was written just before the crash: not again. */
START_TEST(a_resumed_session_known_in_summaries_writes_no_second_line)
{
	tp_config c = cfg();
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m[2] = {marker("r.1", TH_EV_SESSION_START, T0),
	                  marker("r.1", TH_EV_SESSION_END, T0 + 5)};

	ck_assert_int_eq(tp_core_resume(core, m, 2, NULL, 0, T0, T0 - 1, 0, NULL), TH_OK);
	ck_assert_int_eq(tp_core_summary_logged(core, "nope"), TH_ERR_NOTFOUND);
	ck_assert_int_eq(tp_core_summary_logged(core, "r.1"), TH_OK);
	tp_core_tick(core, 10 * S, false, &out);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_ptr_nonnull(out.jobs[0].json);
	ck_assert_ptr_null(out.jobs[0].summary_line);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

/* The JSON of session k of out, or NULL. */
static const char *job_json(const tp_out *out, size_t k)
{
	return k < out->njobs ? out->jobs[k].json : NULL;
}

/* Encoder and decoder of the archive are one pair: a session's <session>.json, written within
 * the grace after a session-end whose outcome is not known, read back as a restart does
 * (tp_resume_session), makes the resumed session write byte for byte the same <session>.json
 * and summaries.jsonl line once it closes. */
START_TEST(an_open_session_json_read_back_writes_the_same_json)
{
	tp_config c = cfg();
	tp_core *a = tp_core_new(&c), *b = tp_core_new(&c);
	tp_out oa = {0}, ob = {0};
	th_record o[2] = {outage("v", "s1", TH_DIR_BOTH, T0 + 2.25, T0 + 2.75),
	                  outage("v", "s2", TH_DIR_UNKNOWN, T0 + 3.125, T0 + 3.5)};
	th_marker m[4] = {marker("j.1", TH_EV_SESSION_START, T0 + 0.5),
	                  marker("j.1", TH_EV_MIGRATION_REQUEST, T0 + 1.5),
	                  marker("j.1", TH_EV_MIGRATION_END, T0 + 4.25),
	                  marker("j.1", TH_EV_SESSION_END, T0 + 5)};
	char *first = NULL, err[TH_ERRLEN];
	size_t dups;

	m[0].cycle = 3;
	snprintf(m[0].src_host, sizeof m[0].src_host, "node2");
	m[1].origin = TH_ORIGIN_NONE;
	m[2].outcome = TH_OUT_FAILED;
	snprintf(m[2].message, sizeof m[2].message, "Cannot migrate: \"x\"");
	m[3].outcome = m[3].summary.outcome = TH_OUT_NONE; /* not known */
	th_summary_set_one(&m[3].summary, T0 + 1, T0 + 4, 0);
	th_summary_set_hv(&m[3].summary, 45.125, 900.5);
	m[3].summary.downtime_ms = 500;
	m[3].summary.downtime_bound_ms = 10;
	ck_assert_int_eq(tp_core_markers(a, m, 2, 0, &oa, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_records(a, o, 2, 0, &oa, &dups, NULL), TH_OK);
	ck_assert_int_eq(tp_core_markers(a, m + 2, 2, 0, &oa, &dups, NULL), TH_OK);
	tp_out_reset(&oa);
	tp_core_tick(a, 1 * S, false, &oa); /* within the grace: still open */
	ck_assert_ptr_nonnull(job_json(&oa, 0));
	ck_assert_ptr_nonnull(strstr(job_json(&oa, 0), "\"closed_by\":\"open\""));
	ck_assert_ptr_nonnull(strstr(job_json(&oa, 0), "\"event\":\"session-end\""));
	first = strdup(job_json(&oa, 0));
	ck_assert_msg(tp_resume_session(b, NULL, first, strlen(first), "/nonexistent/j.1.rrd", 0,
	                                err) == TH_OK,
	              "%s", err);
	tp_out_reset(&oa);

	tp_core_tick(a, 10 * S, false, &oa);
	tp_core_tick(b, 10 * S, false, &ob);
	ck_assert_uint_eq(oa.njobs, 1);
	ck_assert_uint_eq(ob.njobs, 1);
	ck_assert_ptr_nonnull(strstr(job_json(&oa, 0), "\"closed_by\":\"session-end\""));
	ck_assert_str_eq(job_json(&ob, 0), job_json(&oa, 0));
	ck_assert_ptr_nonnull(oa.jobs[0].summary_line);
	ck_assert_ptr_nonnull(ob.jobs[0].summary_line);
	ck_assert_str_eq(ob.jobs[0].summary_line, oa.jobs[0].summary_line);
	/* the markers as received: the message with its quotes, no origin on the request, "none"
	 * on the session-end and no outcome key in its summary */
	ck_assert_ptr_nonnull(strstr(job_json(&ob, 0), "\"outcome\":\"failed\",\"origin\":"
	                                               "\"observed\",\"message\":\"Cannot "
	                                               "migrate: \\\"x\\\"\"}"));
	ck_assert_ptr_nonnull(strstr(job_json(&ob, 0), "\"event\":\"migration-request\","
	                                               "\"t\":1764590401.500000},"));
	ck_assert_ptr_nonnull(strstr(job_json(&ob, 0), "\"outcome\":\"none\",\"origin\":"
	                                               "\"observed\",\"summary\":{"
	                                               "\"one_stime\":1764590401,"));
	free(first);
	tp_out_free(&oa);
	tp_out_free(&ob);
	tp_core_free(a);
	tp_core_free(b);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("summary");
	TCase *tc = tcase_create("summary");

	tcase_add_loop_test(tc, a_session_started_in_the_past_takes_the_history_and_summarises_it,
	                    0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, history_beyond_history_max_bytes_is_refused_and_counted);
	tcase_add_test(tc, overlapping_run_and_observed_sessions_both_keep_the_data);
	tcase_add_test(tc, availability_rolls_over_by_hour_and_counts_each_second_once);
	tcase_add_test(tc, outages_taken_over_by_a_session_count_as_in_sessions);
	tcase_add_test(tc, the_summaries_line_says_everything_of_the_session);
	tcase_add_test(tc, a_resumed_session_known_in_summaries_writes_no_second_line);
	tcase_add_test(tc, an_open_session_json_read_back_writes_the_same_json);
	suite_add_tcase(s, tc);
	return s;
}
