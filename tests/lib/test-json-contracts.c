/* test-json-contracts.c — every shared JSON shape goes through its one encoder and its one
 * decoder and comes back equal: the enum name tables (th-record-names.h), records
 * (record-json / codec-record), markers and summaries (th-marker-json / codec-marker), and the
 * archive's use of them (markers, outages and summaries inside one document, decoded as the
 * plugin's restart does); the summary's keys are exactly th_summary_fields, in order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "codec-json.h"
#include "codec-marker.h"
#include "codec-record.h"
#include "record-json.h"
#include "th-check.h"
#include "th-marker-json.h"
#include "th-record-names.h"
#include "th-summary.h"

/* Equal, NaN equal to NaN. */
static void dbl_eq(double a, double b, const char *what)
{
	ck_assert_msg((isnan(a) && isnan(b)) || a == b, "%s: %.9g != %.9g", what, a, b);
}

START_TEST(every_enum_value_has_one_name_both_ways)
{
	static const char *const kinds[] = {NULL, "second", "outage", "iperf"};
	static const char *const dirs[] = {NULL, "up", "down", "both", "unknown"};
	static const char *const evs[] = {
	    NULL,         "session-start", "migration-request", "migration-start", "migration-end",
	    "session-end"};
	static const char *const ocs[] = {"none",    "success", "failed",
	                                  "timeout", "lost",    "aborted"};

	for (int i = 1; i <= 3; i++) {
		ck_assert_str_eq(th_record_kind_name((th_record_kind)i), kinds[i]);
		ck_assert_int_eq(th_record_kind_parse(kinds[i]), i);
	}
	for (int i = 1; i <= 4; i++) {
		ck_assert_str_eq(th_direction_name((th_direction)i), dirs[i]);
		ck_assert_int_eq(th_direction_parse(dirs[i]), i);
	}
	for (int i = 1; i <= 5; i++) {
		ck_assert_str_eq(th_event_name((th_event)i), evs[i]);
		ck_assert_int_eq(th_event_parse(evs[i]), i);
	}
	/* TH_OUT_NONE has one meaning: "none", the outcome is not known */
	for (int i = 0; i <= 5; i++) {
		ck_assert_str_eq(th_outcome_name((th_outcome)i), ocs[i]);
		ck_assert_int_eq(th_outcome_parse(ocs[i]), i);
	}
	ck_assert_str_eq(th_origin_name(TH_ORIGIN_RUN), "run");
	ck_assert_str_eq(th_origin_name(TH_ORIGIN_OBSERVED), "observed");
	ck_assert_int_eq(th_origin_parse("observed"), TH_ORIGIN_OBSERVED);
	ck_assert_ptr_null(th_origin_name(TH_ORIGIN_NONE));

	/* out of range and unknown names */
	ck_assert_ptr_null(th_record_kind_name((th_record_kind)0));
	ck_assert_ptr_null(th_record_kind_name((th_record_kind)4));
	ck_assert_ptr_null(th_direction_name((th_direction)5));
	ck_assert_ptr_null(th_event_name((th_event)0));
	ck_assert_ptr_null(th_event_name((th_event)6));
	ck_assert_ptr_null(th_outcome_name((th_outcome)6));
	ck_assert_ptr_null(th_outcome_name((th_outcome)-1));
	ck_assert_int_eq(th_record_kind_parse("Second"), 0);
	ck_assert_int_eq(th_direction_parse(""), 0);
	ck_assert_int_eq(th_event_parse("session_end"), 0);
	ck_assert_int_eq(th_outcome_parse("unknown"), -1);
	ck_assert_int_eq(th_origin_parse("none"), TH_ORIGIN_NONE);
}
END_TEST

static th_record rec_one(const char *json)
{
	th_record *out = NULL, r;
	size_t n = 0;
	char err[TH_ERRLEN];

	ck_assert_msg(th_records_decode(json, strlen(json), &out, &n, err) == TH_OK, "%s: %s", json,
	              err);
	ck_assert_uint_eq(n, 1);
	r = out[0];
	free(out);
	return r;
}

START_TEST(records_round_trip_through_the_one_encoder_and_decoder)
{
	th_record in[3], back;
	char *j, *j2;

	memset(in, 0, sizeof in);
	in[0].kind = TH_REC_SECOND;
	snprintf(in[0].vm, sizeof in[0].vm, "web-1");
	snprintf(in[0].stream, sizeof in[0].stream, "sup/web-1/7300");
	in[0].u.second = (th_second){.t = 1764590400,
	                             .interval_ms = 10,
	                             .sent = 100,
	                             .received = 93,
	                             .lost_up = 4,
	                             .lost_down = 2,
	                             .lost_unknown = 1,
	                             .late = 3,
	                             .dup = 1,
	                             .rtt_min_ms = 0.25,
	                             .rtt_avg_ms = 0.5,
	                             .rtt_max_ms = 1.75,
	                             .jitter_ms = NAN,
	                             .max_gap_ms = 40,
	                             .stalled = 2,
	                             .slips = 1,
	                             .prober_stall_ms = 150};
	in[1] = in[0];
	in[1].kind = TH_REC_OUTAGE;
	in[1].u.outage = (th_outage){.direction = TH_DIR_UNKNOWN,
	                             .start = 1764590401.123456,
	                             .end = 1764590402.5,
	                             .duration_ms = 1376.544,
	                             .bound_ms = 10,
	                             .lost = 137};
	in[2] = in[0];
	in[2].kind = TH_REC_IPERF;
	in[2].u.iperf = (th_iperf){.t = 1764590403,
	                           .seconds = 1.000123,
	                           .bytes = 117964800,
	                           .bits_per_second = 943718400.5,
	                           .jitter_ms = NAN,
	                           .lost_packets = -1,
	                           .packets = 81234,
	                           .blackout = true};
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(th_record_to_json(&in[i], &j, NULL, NULL), TH_OK);
		back = rec_one(j);
		ck_assert_int_eq(back.kind, in[i].kind);
		ck_assert_str_eq(back.vm, in[i].vm);
		ck_assert_str_eq(back.stream, in[i].stream);
		if (i == 0) {
			const th_second *a = &in[0].u.second, *b = &back.u.second;

			ck_assert_int_eq(b->t, a->t);
			ck_assert_uint_eq(b->sent, a->sent);
			ck_assert_uint_eq(b->received, a->received);
			ck_assert_uint_eq(b->lost_up, a->lost_up);
			ck_assert_uint_eq(b->lost_down, a->lost_down);
			ck_assert_uint_eq(b->lost_unknown, a->lost_unknown);
			ck_assert_uint_eq(b->late, a->late);
			ck_assert_uint_eq(b->dup, a->dup);
			ck_assert_uint_eq(b->stalled, a->stalled);
			ck_assert_uint_eq(b->slips, a->slips);
			ck_assert_uint_eq(b->prober_stall_ms, a->prober_stall_ms);
			dbl_eq(b->interval_ms, a->interval_ms, "interval_ms");
			dbl_eq(b->rtt_min_ms, a->rtt_min_ms, "rtt_min_ms");
			dbl_eq(b->rtt_avg_ms, a->rtt_avg_ms, "rtt_avg_ms");
			dbl_eq(b->rtt_max_ms, a->rtt_max_ms, "rtt_max_ms");
			dbl_eq(b->jitter_ms, a->jitter_ms, "jitter_ms");
			dbl_eq(b->max_gap_ms, a->max_gap_ms, "max_gap_ms");
		} else if (i == 1) {
			const th_outage *a = &in[1].u.outage, *b = &back.u.outage;

			ck_assert_int_eq(b->direction, a->direction);
			dbl_eq(b->start, a->start, "start");
			dbl_eq(b->end, a->end, "end");
			dbl_eq(b->duration_ms, a->duration_ms, "duration_ms");
			dbl_eq(b->bound_ms, a->bound_ms, "bound_ms");
			ck_assert_uint_eq(b->lost, a->lost);
		} else {
			const th_iperf *a = &in[2].u.iperf, *b = &back.u.iperf;

			ck_assert_int_eq(b->t, a->t);
			dbl_eq(b->seconds, a->seconds, "seconds");
			ck_assert_uint_eq(b->bytes, a->bytes);
			dbl_eq(b->bits_per_second, a->bits_per_second, "bits_per_second");
			dbl_eq(b->jitter_ms, a->jitter_ms, "jitter_ms");
			ck_assert_int_eq(b->lost_packets, a->lost_packets);
			ck_assert_int_eq(b->packets, a->packets);
			ck_assert(b->blackout);
		}
		/* and the decoded record encodes to the same text */
		ck_assert_int_eq(th_record_to_json(&back, &j2, NULL, NULL), TH_OK);
		ck_assert_str_eq(j2, j);
		free(j);
		free(j2);
	}
}
END_TEST

/* A summary with every field known, each value distinct. */
static th_summary full_summary(void)
{
	th_summary s;

	th_summary_init(&s);
	s.outcome = TH_OUT_FAILED;
	s.downtime_ms = 1234.5;
	s.downtime_bound_ms = 10.25;
	s.outage_total_ms = 1300.75;
	s.lost_up = 120;
	s.lost_down = 30;
	s.lost_unknown = 2;
	s.one_stime = 1764590400;
	s.one_rstime = 1764590412;
	s.one_etime = 1764590413;
	s.one_duration_s = 12.5;
	s.hv_downtime_ms = 45.125;
	s.hv_total_ms = 9000.5;
	s.delta_ms = -1.5;
	return s;
}

/* Every field of th_summary_fields equal in a and b. */
static void summary_eq(const th_summary *a, const th_summary *b)
{
	for (size_t i = 0; i < TH_SUMMARY_NFIELDS; i++) {
		const th_summary_field *f = &th_summary_fields[i];
		const void *pa = th_summary_cmember(a, f), *pb = th_summary_cmember(b, f);

		switch (f->type) {
		case TH_SF_OUTCOME:
			ck_assert_int_eq(*(const th_outcome *)pb, *(const th_outcome *)pa);
			break;
		case TH_SF_MS:
		case TH_SF_SECONDS:
			dbl_eq(*(const double *)pb, *(const double *)pa, f->name);
			break;
		case TH_SF_COUNT:
		case TH_SF_EPOCH:
			ck_assert_msg(*(const int64_t *)pb == *(const int64_t *)pa, "%s", f->name);
			break;
		}
	}
}

static th_marker marker(th_event ev)
{
	th_marker m;

	memset(&m, 0, sizeof m);
	m.event = ev;
	snprintf(m.session, sizeof m.session, "demo.20251201T120000Z.0a1b2c3d.c2");
	snprintf(m.definition, sizeof m.definition, "demo");
	m.cycle = 2;
	snprintf(m.vm, sizeof m.vm, "web-1");
	m.vm_id = 42;
	snprintf(m.src_host, sizeof m.src_host, "node2");
	snprintf(m.dst_host, sizeof m.dst_host, "node3");
	m.t = 1764590400.123456;
	th_summary_init(&m.summary);
	return m;
}

static th_marker marker_back(const char *json)
{
	th_marker *out = NULL, m;
	size_t n = 0;
	char err[TH_ERRLEN];

	ck_assert_msg(th_markers_decode(json, strlen(json), &out, &n, err) == TH_OK, "%s: %s", json,
	              err);
	ck_assert_uint_eq(n, 1);
	m = out[0];
	free(out);
	return m;
}

static void marker_eq(const th_marker *a, const th_marker *b)
{
	ck_assert_int_eq(b->event, a->event);
	ck_assert_str_eq(b->session, a->session);
	ck_assert_str_eq(b->definition, a->definition);
	ck_assert_int_eq(b->cycle, a->cycle);
	ck_assert_str_eq(b->vm, a->vm);
	ck_assert_int_eq(b->vm_id, a->vm_id);
	ck_assert_str_eq(b->src_host, a->src_host);
	ck_assert_str_eq(b->dst_host, a->dst_host);
	dbl_eq(b->t, a->t, "t");
	ck_assert_int_eq(b->outcome, a->outcome);
	ck_assert_int_eq(b->origin, a->origin);
	ck_assert_str_eq(b->message, a->message);
	if (a->event == TH_EV_SESSION_END)
		summary_eq(&a->summary, &b->summary);
}

/* decode(encode(m)) == m and encode(decode(encode(m))) == encode(m). */
static void marker_round_trip(const th_marker *m)
{
	char *j, *j2;
	th_marker back;

	ck_assert_int_eq(th_marker_to_json(m, &j, NULL, NULL), TH_OK);
	back = marker_back(j);
	marker_eq(m, &back);
	ck_assert_int_eq(th_marker_to_json(&back, &j2, NULL, NULL), TH_OK);
	ck_assert_str_eq(j2, j);
	free(j);
	free(j2);
}

START_TEST(markers_of_every_event_round_trip)
{
	for (int ev = TH_EV_SESSION_START; ev <= TH_EV_SESSION_END; ev++) {
		th_marker m = marker((th_event)ev);

		marker_round_trip(&m); /* plain; outcome unknown */
		m.origin = TH_ORIGIN_OBSERVED;
		snprintf(m.message, sizeof m.message, "MIGRATE: \"quoted\"\nnext");
		m.outcome = TH_OUT_ABORTED;
		if (ev == TH_EV_SESSION_END)
			m.summary = full_summary(); /* the summary's outcome differs: kept apart */
		marker_round_trip(&m);
		m.cycle = -1; /* unknown */
		m.vm_id = -1;
		m.definition[0] = m.src_host[0] = m.dst_host[0] = '\0';
		m.origin = TH_ORIGIN_RUN;
		marker_round_trip(&m);
	}
}
END_TEST

START_TEST(unknown_outcome_is_none_where_the_key_is_due_and_absent_elsewhere)
{
	th_marker m = marker(TH_EV_MIGRATION_END);
	char *j;

	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_ptr_nonnull(strstr(j, ",\"outcome\":\"none\"}"));
	free(j);
	m = marker(TH_EV_MIGRATION_START);
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_ptr_null(strstr(j, "outcome"));
	free(j);
	/* session-end: "none" on the marker, no key in a summary that does not know it */
	m = marker(TH_EV_SESSION_END);
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_ptr_nonnull(strstr(j, ",\"outcome\":\"none\",\"summary\":{\"one_stime\":0,"));
	free(j);
	/* the summary takes the marker's outcome when it has none */
	m.outcome = TH_OUT_SUCCESS;
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_ptr_nonnull(strstr(j, "\"summary\":{\"outcome\":\"success\",\"one_stime\":0,"));
	free(j);
	/* the decoder reads "none" and an absent key alike */
	m = marker_back("{\"kind\":\"marker\",\"session\":\"s.1\",\"vm\":\"v\",\"t\":1,"
	                "\"event\":\"migration-end\",\"outcome\":\"none\"}");
	ck_assert_int_eq(m.outcome, TH_OUT_NONE);
	m = marker_back("{\"kind\":\"marker\",\"session\":\"s.1\",\"vm\":\"v\",\"t\":1,"
	                "\"event\":\"session-end\",\"summary\":{}}");
	ck_assert_int_eq(m.outcome, TH_OUT_NONE);
	ck_assert_int_eq(m.summary.outcome, TH_OUT_NONE);
}
END_TEST

START_TEST(summary_keys_are_the_table_in_its_order)
{
	th_summary s = full_summary(), none;
	char *j;
	yajl_val v;
	char err[TH_ERRLEN];

	ck_assert_int_eq(th_summary_to_json(&s, &j, NULL, NULL), TH_OK);
	ck_assert_int_eq(th_json_parse(j, strlen(j), &v, err), TH_OK);
	ck_assert(YAJL_IS_OBJECT(v));
	ck_assert_uint_eq(v->u.object.len, TH_SUMMARY_NFIELDS);
	for (size_t i = 0; i < TH_SUMMARY_NFIELDS; i++)
		ck_assert_str_eq(v->u.object.keys[i], th_summary_fields[i].name);
	yajl_tree_free(v);
	ck_assert_str_eq(j,
	                 "{\"outcome\":\"failed\",\"one_stime\":1764590400,"
	                 "\"one_rstime\":1764590412,\"one_etime\":1764590413,"
	                 "\"one_duration_s\":12.500,\"downtime_ms\":1234.500,"
	                 "\"downtime_bound_ms\":10.250,\"outage_total_ms\":1300.750,"
	                 "\"lost_up\":120,\"lost_down\":30,\"lost_unknown\":2,"
	                 "\"hv_downtime_ms\":45.125,\"hv_total_ms\":9000.500,\"delta_ms\":-1.500}");
	free(j);

	/* nothing known: no outcome key, nulls, 0 for unset OpenNebula times */
	th_summary_init(&none);
	ck_assert_int_eq(th_summary_to_json(&none, &j, NULL, NULL), TH_OK);
	ck_assert_str_eq(j, "{\"one_stime\":0,\"one_rstime\":0,\"one_etime\":0,"
	                    "\"one_duration_s\":null,\"downtime_ms\":null,"
	                    "\"downtime_bound_ms\":null,\"outage_total_ms\":null,\"lost_up\":null,"
	                    "\"lost_down\":null,\"lost_unknown\":null,\"hv_downtime_ms\":null,"
	                    "\"hv_total_ms\":null,\"delta_ms\":null}");
	free(j);
}
END_TEST

START_TEST(summaries_round_trip_alone_and_in_a_marker)
{
	th_summary cases[2];
	char *sj, body[2048];

	cases[0] = full_summary();
	th_summary_init(&cases[1]);
	for (int i = 0; i < 2; i++) {
		th_marker back;

		ck_assert_int_eq(th_summary_to_json(&cases[i], &sj, NULL, NULL), TH_OK);
		snprintf(body, sizeof body,
		         "{\"kind\":\"marker\",\"session\":\"s.1\",\"vm\":\"v\",\"t\":1,"
		         "\"event\":\"session-end\",\"summary\":%s}",
		         sj);
		free(sj);
		back = marker_back(body);
		summary_eq(&cases[i], &back.summary);
	}
}
END_TEST

/* The archive's <session>.json holds markers, outages and summaries written by these encoders
 * (collectd-plugin/tp-session-json.c); a restart reads markers and outages back with these
 * decoders (tp-resume.c). One document with all three, decoded the same way, is equal. */
START_TEST(archive_document_round_trips_markers_outages_and_summary)
{
	th_marker ms[3] = {marker(TH_EV_SESSION_START), marker(TH_EV_MIGRATION_END),
	                   marker(TH_EV_SESSION_END)};
	th_record o = {.kind = TH_REC_OUTAGE};
	th_summary sum = full_summary();
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;
	yajl_val root, arr;
	char err[TH_ERRLEN];

	ms[1].outcome = TH_OUT_SUCCESS;
	ms[2].outcome = TH_OUT_SUCCESS;
	ms[2].summary = full_summary();
	ms[2].summary.outcome = TH_OUT_SUCCESS;
	snprintf(o.vm, sizeof o.vm, "web-1");
	snprintf(o.stream, sizeof o.stream, "sup/web-1/7300");
	o.u.outage = (th_outage){TH_DIR_BOTH, 1764590401.25, 1764590402.75, 1500, 10, 150};

	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"markers", 7);
	yajl_gen_array_open(g);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(th_marker_json_gen(g, &ms[i], NULL), TH_OK);
	yajl_gen_array_close(g);
	yajl_gen_string(g, (const unsigned char *)"outages", 7);
	yajl_gen_array_open(g);
	ck_assert_int_eq(th_record_json_gen(g, &o, NULL), TH_OK);
	yajl_gen_array_close(g);
	yajl_gen_string(g, (const unsigned char *)"summary", 7);
	th_summary_json_gen(g, &sum, TH_OUT_NONE);
	yajl_gen_map_close(g);
	ck_assert_int_eq(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);

	ck_assert_int_eq(th_json_parse((const char *)buf, len, &root, err), TH_OK);
	arr = th_json_member(root, "markers");
	ck_assert_uint_eq(arr->u.array.len, 3);
	for (size_t i = 0; i < 3; i++) {
		th_marker back;

		ck_assert_int_eq(th_marker_decode_value(arr->u.array.values[i], "m", &back, err),
		                 TH_OK);
		marker_eq(&ms[i], &back);
	}
	arr = th_json_member(root, "outages");
	{
		th_record back;

		ck_assert_int_eq(th_record_decode_value(arr->u.array.values[0], "o", &back, err),
		                 TH_OK);
		ck_assert_int_eq(back.u.outage.direction, TH_DIR_BOTH);
		dbl_eq(back.u.outage.start, 1764590401.25, "start");
		dbl_eq(back.u.outage.end, 1764590402.75, "end");
		ck_assert_uint_eq(back.u.outage.lost, 150);
	}
	/* the archive's summary has the same keys as the marker's */
	arr = th_json_member(root, "summary");
	ck_assert_uint_eq(arr->u.object.len, TH_SUMMARY_NFIELDS);
	for (size_t i = 0; i < TH_SUMMARY_NFIELDS; i++)
		ck_assert_str_eq(arr->u.object.keys[i], th_summary_fields[i].name);
	yajl_tree_free(root);
	yajl_gen_free(g);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("json-contracts");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_enum_value_has_one_name_both_ways);
	tcase_add_test(tc, records_round_trip_through_the_one_encoder_and_decoder);
	tcase_add_test(tc, markers_of_every_event_round_trip);
	tcase_add_test(tc, unknown_outcome_is_none_where_the_key_is_due_and_absent_elsewhere);
	tcase_add_test(tc, summary_keys_are_the_table_in_its_order);
	tcase_add_test(tc, summaries_round_trip_alone_and_in_a_marker);
	tcase_add_test(tc, archive_document_round_trips_markers_outages_and_summary);
	suite_add_tcase(s, tc);
	return s;
}
