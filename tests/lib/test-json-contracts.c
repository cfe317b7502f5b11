/* test-json-contracts.c — every shared JSON shape goes through its one encoder and its one
 * decoder and comes back equal: the enum name tables (th-record-names.h), records
 * (record-json / codec-record), markers and summaries (th-marker-json / codec-marker), and the
 * archive's use of them (markers, outages and summaries inside one document, decoded as the
 * plugin's restart does); the summary's keys are exactly th_summary_fields, in order; the
 * hypervisor events, session-start params and outage per-direction windows round trip and their
 * malformed forms are refused by name. */
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
	    NULL,          "session-start", "migration-request", "migration-start", "migration-end",
	    "session-end", "hv-status",     "hv-pause",          "hv-resume"};
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
	for (int i = 1; i <= 8; i++) {
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
	ck_assert_ptr_null(th_event_name((th_event)9));
	ck_assert_int_eq(TH_EV_HV_STATUS, TH_EV_SESSION_END + 1);
	ck_assert(TH_EV_IS_HV(TH_EV_HV_RESUME) && !TH_EV_IS_HV(TH_EV_SESSION_END));
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
	                             .lost = 137,
	                             .up_start = 1764590401.123456,
	                             .up_end = 1764590401.873456,
	                             .down_start = NAN,
	                             .down_end = NAN};
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
			dbl_eq(b->up_start, a->up_start, "up_start");
			dbl_eq(b->up_end, a->up_end, "up_end");
			dbl_eq(b->down_start, a->down_start, "down_start");
			dbl_eq(b->down_end, a->down_end, "down_end");
			ck_assert_ptr_nonnull(strstr(j,
			                             ",\"lost\":137,\"up_start\":1764590401.123456,"
			                             "\"up_end\":1764590401.873456}"));
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
	s.hv_pause = 1764590405.000125;
	s.hv_resume = 1764590405.045250;
	s.hv_paused_ms = 45.125;
	s.pre_pause_ms = -12.25;
	s.post_resume_ms = 1177.125;
	s.decomp_bound_ms = 10.75;
	s.up_pre_pause_ms = -12.25;
	s.up_post_resume_ms = 900.5;
	s.down_pre_pause_ms = 20.5;
	s.down_post_resume_ms = 1177.125;
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
		case TH_SF_TIME:
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
	th_params_init(&m.params);
	m.clock_bound_ms = NAN;
	if (TH_EV_IS_HV(ev)) { /* the fields an hv-* event needs */
		snprintf(m.hv_host, sizeof m.hv_host, "node3");
		snprintf(m.hv_source, sizeof m.hv_source, "qmp");
		if (ev == TH_EV_HV_STATUS)
			snprintf(m.hv_status, sizeof m.hv_status, "device");
	}
	return m;
}

/* Every params field known, the migration map full. */
static th_params full_params(void)
{
	th_params p;

	th_params_init(&p);
	p.present = true;
	p.interval_ms = 2.5;
	snprintf(p.bandwidth, sizeof p.bandwidth, "100M");
	p.live = 0;
	p.cycles = 20;
	snprintf(p.load, sizeof p.load, "dirty 64 MB/s wss 96 MiB \"quoted\"");
	for (int i = 0; i < TH_PARAMS_MIGRATION_MAX; i++) {
		snprintf(p.migration[i].key, sizeof p.migration[i].key, "k%d-x", i);
		snprintf(p.migration[i].value, sizeof p.migration[i].value, "%d", i * 100);
	}
	snprintf(p.migration[0].key, sizeof p.migration[0].key, "max-bandwidth");
	snprintf(p.migration[0].value, sizeof p.migration[0].value, "32M");
	p.nmigration = TH_PARAMS_MIGRATION_MAX;
	snprintf(p.description, sizeof p.description, "cold, loaded");
	return p;
}

static void params_eq(const th_params *a, const th_params *b)
{
	ck_assert_int_eq(b->present, a->present);
	dbl_eq(b->interval_ms, a->interval_ms, "params.interval_ms");
	ck_assert_str_eq(b->bandwidth, a->bandwidth);
	ck_assert_int_eq(b->live, a->live);
	ck_assert_int_eq(b->cycles, a->cycles);
	ck_assert_str_eq(b->load, a->load);
	ck_assert_uint_eq(b->nmigration, a->nmigration);
	for (size_t i = 0; i < a->nmigration; i++) {
		ck_assert_str_eq(b->migration[i].key, a->migration[i].key);
		ck_assert_str_eq(b->migration[i].value, a->migration[i].value);
	}
	ck_assert_str_eq(b->description, a->description);
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
	if (a->event == TH_EV_SESSION_START)
		params_eq(&a->params, &b->params);
	ck_assert_str_eq(b->hv_status, a->hv_status);
	ck_assert_str_eq(b->hv_host, a->hv_host);
	ck_assert_str_eq(b->hv_source, a->hv_source);
	dbl_eq(b->clock_bound_ms, a->clock_bound_ms, "clock_bound_ms");
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
	for (int ev = TH_EV_SESSION_START; ev <= TH_EV_HV_RESUME; ev++) {
		th_marker m = marker((th_event)ev);

		marker_round_trip(&m); /* plain; outcome unknown */
		if (ev == TH_EV_SESSION_START)
			m.params = full_params();
		if (TH_EV_IS_HV(ev)) {
			m.clock_bound_ms = 0.5;
			snprintf(m.hv_source, sizeof m.hv_source, "libvirt");
			snprintf(m.hv_status, sizeof m.hv_status, "Suspended Migrated");
		}
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
		m.params.nmigration = 1; /* a partial params: the rest stays absent */
		m.params.interval_ms = NAN;
		m.params.live = 1;
		m.params.cycles = -1;
		m.params.load[0] = m.params.description[0] = m.params.bandwidth[0] = '\0';
		m.clock_bound_ms = NAN; /* unknown: the key is left out */
		marker_round_trip(&m);
		if (ev == TH_EV_SESSION_START) { /* an empty params object stays present */
			th_params_init(&m.params);
			m.params.present = true;
			marker_round_trip(&m);
		}
	}
}
END_TEST

START_TEST(hv_markers_and_params_have_their_exact_shape)
{
	th_marker m = marker(TH_EV_HV_PAUSE), back;
	char *j;

	m.clock_bound_ms = 0;
	m.t = 1764590405.000125;
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_str_eq(j,
	                 "{\"kind\":\"marker\",\"session\":\"demo.20251201T120000Z.0a1b2c3d.c2\","
	                 "\"definition\":\"demo\",\"cycle\":2,\"vm\":\"web-1\",\"vm_id\":42,"
	                 "\"src_host\":\"node2\",\"dst_host\":\"node3\",\"event\":\"hv-pause\","
	                 "\"t\":1764590405.000125,\"hv_host\":\"node3\",\"hv_source\":\"qmp\","
	                 "\"clock_bound_ms\":0.000}");
	free(j);
	m = marker(TH_EV_SESSION_START);
	m.params = full_params();
	m.params.nmigration = 2;
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_ptr_nonnull(
	    strstr(j, ",\"params\":{\"interval_ms\":2.500,\"bandwidth\":\"100M\",\"live\":false,"
	              "\"cycles\":20,\"load\":\"dirty 64 MB/s wss 96 MiB \\\"quoted\\\"\","
	              "\"migration\":{\"max-bandwidth\":\"32M\",\"k1-x\":\"100\"},"
	              "\"description\":\"cold, loaded\"}}"));
	free(j);
	/* no params: no key; other events never write one */
	m.params.present = false;
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_ptr_null(strstr(j, "params"));
	free(j);
	m = marker(TH_EV_MIGRATION_END);
	m.params = full_params();
	snprintf(m.hv_host, sizeof m.hv_host, "x");
	ck_assert_int_eq(th_marker_to_json(&m, &j, NULL, NULL), TH_OK);
	ck_assert_ptr_null(strstr(j, "params"));
	ck_assert_ptr_null(strstr(j, "hv_"));
	free(j);
	/* unknown keys inside params are ignored; null params is no params */
	back =
	    marker_back("{\"kind\":\"marker\",\"session\":\"s.1\",\"vm\":\"v\",\"t\":1,"
	                "\"event\":\"session-start\",\"params\":{\"later\":[1,{}],\"cycles\":3}}");
	ck_assert(back.params.present);
	ck_assert_int_eq(back.params.cycles, 3);
	ck_assert_int_eq(back.params.live, -1);
	ck_assert(isnan(back.params.interval_ms));
	back = marker_back("{\"kind\":\"marker\",\"session\":\"s.1\",\"vm\":\"v\",\"t\":1,"
	                   "\"event\":\"session-start\",\"params\":null}");
	ck_assert(!back.params.present);
	/* hv_status is optional on hv-pause / hv-resume, clock_bound_ms absent = unknown */
	back =
	    marker_back("{\"kind\":\"marker\",\"session\":\"s.1\",\"vm\":\"v\",\"t\":1.5,"
	                "\"event\":\"hv-resume\",\"hv_host\":\"h-2\",\"hv_source\":\"libvirt\"}");
	ck_assert_int_eq(back.event, TH_EV_HV_RESUME);
	ck_assert_str_eq(back.hv_host, "h-2");
	ck_assert_str_eq(back.hv_status, "");
	ck_assert(isnan(back.clock_bound_ms));
}
END_TEST

/* Decoding body fails and the message holds want. */
static void marker_refused(const char *body, const char *want)
{
	th_marker *out = NULL;
	size_t n = 0;
	char err[TH_ERRLEN] = "";

	ck_assert_msg(th_markers_decode(body, strlen(body), &out, &n, err) != TH_OK, "accepted: %s",
	              body);
	ck_assert_msg(strstr(err, want) != NULL, "%s: message \"%s\" lacks \"%s\"", body, err,
	              want);
	ck_assert_ptr_null(out);
}

#define HV_HEAD "{\"kind\":\"marker\",\"session\":\"s.1\",\"vm\":\"v\",\"t\":1,"
#define SS_HEAD HV_HEAD "\"event\":\"session-start\",\"params\":"
/* a session-start whose params are x */
#define SS(x) SS_HEAD x "}"

START_TEST(malformed_hv_markers_and_params_are_refused_by_name)
{
	char body[1024], key[64];

	marker_refused(HV_HEAD "\"event\":\"hv-pause\",\"hv_host\":\"h\",\"hv_source\":\"ssh\"}",
	               "markers[0].hv_source: expected \"qmp\" or \"libvirt\"");
	marker_refused(HV_HEAD "\"event\":\"hv-pause\",\"hv_host\":\"h\"}",
	               "markers[0].hv_source: expected");
	marker_refused(HV_HEAD "\"event\":\"hv-pause\",\"hv_source\":\"qmp\"}",
	               "markers[0].hv_host: missing");
	marker_refused(HV_HEAD "\"event\":\"hv-pause\",\"hv_host\":\"a b\",\"hv_source\":\"qmp\"}",
	               "markers[0].hv_host");
	marker_refused(HV_HEAD "\"event\":\"hv-status\",\"hv_host\":\"h\",\"hv_source\":\"qmp\"}",
	               "markers[0].hv_status: missing");
	marker_refused(HV_HEAD
	               "\"event\":\"hv-status\",\"hv_status\":\"0123456789abcdef0123456789abcdef\","
	               "\"hv_host\":\"h\",\"hv_source\":\"qmp\"}",
	               "markers[0].hv_status");
	marker_refused(HV_HEAD "\"event\":\"hv-pause\",\"hv_host\":\"h\",\"hv_source\":\"qmp\","
	                       "\"clock_bound_ms\":-0.001}",
	               "markers[0].clock_bound_ms");
	marker_refused(HV_HEAD "\"event\":\"hv-pause\",\"hv_host\":\"h\",\"hv_source\":\"qmp\","
	                       "\"clock_bound_ms\":\"5\"}",
	               "markers[0].clock_bound_ms");
	marker_refused(HV_HEAD "\"event\":\"hv-pause\",\"hv_host\":\"h\",\"hv_source\":\"qmp\","
	                       "\"clock_bound_ms\":null}",
	               "markers[0].clock_bound_ms: expected a number >= 0");
	marker_refused(HV_HEAD "\"event\":\"hv-pause\",\"hv_host\":\"h\",\"hv_source\":\"qmp\","
	                       "\"clock_bound_ms\":1e999}",
	               "clock_bound_ms");
	marker_refused(HV_HEAD
	               "\"event\":\"migration-end\",\"outcome\":\"success\",\"hv_host\":\"h\"}",
	               "markers[0].hv_host: only hv-status, hv-pause and hv-resume carry one");
	marker_refused(HV_HEAD "\"event\":\"hv-paused\"}",
	               "\"hv-status\", \"hv-pause\" or \"hv-resume\"");
	marker_refused(HV_HEAD "\"event\":\"migration-start\",\"params\":{}}",
	               "markers[0].params: only session-start carries one");
	marker_refused(SS("[]"), "markers[0].params: expected an object");
	marker_refused(SS("{\"interval_ms\":\"10\"}"), "markers[0].params.interval_ms");
	marker_refused(SS("{\"interval_ms\":0}"), "markers[0].params.interval_ms");
	marker_refused(SS("{\"live\":1}"), "markers[0].params.live: expected true or false");
	marker_refused(SS("{\"cycles\":-1}"), "markers[0].params.cycles");
	marker_refused(SS("{\"cycles\":2.5}"), "markers[0].params.cycles: expected an integer");
	marker_refused(SS("{\"bandwidth\":100}"), "markers[0].params.bandwidth");
	marker_refused(SS("{\"migration\":[]}"),
	               "markers[0].params.migration: expected an object of strings");
	marker_refused(SS("{\"migration\":{\"Max-Bandwidth\":\"1\"}}"),
	               "markers[0].params.migration: key \"Max-Bandwidth\" is not [a-z0-9-]{1,31}");
	marker_refused(SS("{\"migration\":{\"a_b\":\"1\"}}"), "is not [a-z0-9-]{1,31}");
	marker_refused(SS("{\"migration\":{\"\":\"1\"}}"), "is not [a-z0-9-]{1,31}");
	marker_refused(SS("{\"migration\":{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":\"1\"}}"),
	               "is not [a-z0-9-]{1,31}");
	marker_refused(SS("{\"migration\":{\"a\":1}}"),
	               "markers[0].params.migration.a: expected a string");
	marker_refused(SS("{\"migration\":{\"a\":\"1\",\"a\":\"2\"}}"),
	               "markers[0].params.migration.a: given twice");
	marker_refused(SS("{\"migration\":{\"a\":\"0123456789012345678901234567890123456789"
	                  "012345678901234567890123\"}}"),
	               "markers[0].params.migration.a: 64 bytes, at most 63");
	/* nine entries */
	snprintf(body, sizeof body, "%s{\"migration\":{", SS_HEAD);
	for (int i = 0; i < 9; i++) {
		snprintf(key, sizeof key, "%s\"k%d\":\"v\"", i ? "," : "", i);
		strcat(body, key);
	}
	strcat(body, "}}}");
	marker_refused(body, "markers[0].params.migration: 9 entries, at most 8");
	/* 256 bytes of load */
	snprintf(body, sizeof body, "%s{\"load\":\"%0256d\"}}", SS_HEAD, 0);
	marker_refused(body, "markers[0].params.load");
}
END_TEST

START_TEST(malformed_outage_windows_are_refused_by_name)
{
	th_record *out = NULL;
	size_t n = 0;
	char err[TH_ERRLEN];
	static const struct {
		const char *keys, *want;
	} bad[] = {
	    {",\"up_start\":10.5", "records[0].up_end: up_start and up_end go together"},
	    {",\"down_end\":10.5", "records[0].down_start: down_start and down_end go together"},
	    {",\"up_start\":10.5,\"up_end\":10.25",
	     "records[0].up_end: 10.250000 is before up_start"},
	    {",\"down_start\":9.5,\"down_end\":10.25",
	     "records[0].down_start: [9.500000, 10.250000] "
	     "is not inside the outage [10.000000, 11.000000]"},
	    {",\"up_start\":10.5,\"up_end\":11.5", "is not inside the outage"},
	    {",\"up_start\":\"10.5\",\"up_end\":11", "records[0].up_start"},
	    {",\"up_start\":null,\"up_end\":11", "records[0].up_start"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char body[512];

		snprintf(
		    body, sizeof body,
		    "[{\"kind\":\"outage\",\"vm\":\"v\",\"stream\":\"s\",\"direction\":\"both\","
		    "\"start\":10,\"end\":11,\"duration_ms\":1000,\"bound_ms\":10,\"lost\":100%s}]",
		    bad[i].keys);
		err[0] = '\0';
		ck_assert_msg(th_records_decode(body, strlen(body), &out, &n, err) != TH_OK, "%s",
		              body);
		ck_assert_msg(strstr(err, bad[i].want) != NULL, "%s: \"%s\" lacks \"%s\"", body,
		              err, bad[i].want);
	}
	/* absent windows are NaN; one direction alone is fine */
	{
		const char *ok =
		    "{\"kind\":\"outage\",\"vm\":\"v\",\"stream\":\"s\",\"direction\":"
		    "\"down\",\"start\":10,\"end\":11,\"duration_ms\":1000,\"bound_ms\":10,"
		    "\"lost\":100,\"down_start\":10,\"down_end\":11}";
		th_record r = rec_one(ok);

		ck_assert(isnan(r.u.outage.up_start) && isnan(r.u.outage.up_end));
		dbl_eq(r.u.outage.down_start, 10, "down_start");
		dbl_eq(r.u.outage.down_end, 11, "down_end");
	}
}
END_TEST

/* The decomposition of an outage against the hypervisor's pause and resume. */
START_TEST(decomposition_adds_up_to_the_downtime)
{
	th_outage o = {.direction = TH_DIR_BOTH,
	               .start = 1764590404.990000,
	               .end = 1764590405.310000,
	               .duration_ms = 320,
	               .bound_ms = 10,
	               .lost = 32,
	               .up_start = 1764590404.990000,
	               .up_end = 1764590405.100000,
	               .down_start = 1764590405.100000,
	               .down_end = 1764590405.310000};
	th_summary s;

	th_summary_init(&s);
	s.downtime_ms = o.duration_ms;
	th_summary_decompose(&s, &o, 1764590405.000250, 1764590405.045500, 0.5);
	dbl_eq(s.hv_pause, 1764590405.000250, "hv_pause");
	dbl_eq(s.hv_resume, 1764590405.045500, "hv_resume");
	ck_assert_msg(fabs(s.hv_paused_ms - 45.25) < 1e-3, "%.9f", s.hv_paused_ms);
	ck_assert_msg(fabs(s.pre_pause_ms - -10.25) < 1e-3, "%.9f", s.pre_pause_ms);
	ck_assert_msg(fabs(s.post_resume_ms - 264.5) < 1e-3, "%.9f", s.post_resume_ms);
	/* the identity, from the same timestamps */
	ck_assert_msg(fabs(-s.pre_pause_ms + s.hv_paused_ms + s.post_resume_ms - s.downtime_ms) <
	                  1e-9,
	              "%.12f", -s.pre_pause_ms + s.hv_paused_ms + s.post_resume_ms);
	dbl_eq(s.decomp_bound_ms, 10.5, "decomp_bound_ms");
	ck_assert_msg(fabs(s.up_pre_pause_ms - -10.25) < 1e-3, "%.9f", s.up_pre_pause_ms);
	ck_assert_msg(fabs(s.up_post_resume_ms - 54.5) < 1e-3, "%.9f", s.up_post_resume_ms);
	ck_assert_msg(fabs(s.down_pre_pause_ms - 99.75) < 1e-3, "%.9f", s.down_pre_pause_ms);
	ck_assert_msg(fabs(s.down_post_resume_ms - 264.5) < 1e-3, "%.9f", s.down_post_resume_ms);

	/* clock bound unknown: no decomp bound; the rest stands */
	th_summary_decompose(&s, &o, 1764590405.000250, 1764590405.045500, NAN);
	ck_assert(isnan(s.decomp_bound_ms));
	ck_assert(isfinite(s.pre_pause_ms));
	/* one direction lost nothing: its fields unknown */
	o.down_start = o.down_end = NAN;
	th_summary_decompose(&s, &o, 1764590405.000250, 1764590405.045500, 0);
	ck_assert(isnan(s.down_pre_pause_ms) && isnan(s.down_post_resume_ms));
	dbl_eq(s.decomp_bound_ms, 10, "decomp_bound_ms");
	/* no resume: paused and post-resume unknown, pre-pause known */
	th_summary_decompose(&s, &o, 1764590405.000250, NAN, 0);
	ck_assert(isnan(s.hv_resume) && isnan(s.hv_paused_ms) && isnan(s.post_resume_ms));
	ck_assert(isnan(s.up_post_resume_ms));
	ck_assert_msg(fabs(s.pre_pause_ms - -10.25) < 1e-3, "%.9f", s.pre_pause_ms);
	/* no pause: post-resume from the outage's end */
	th_summary_decompose(&s, &o, NAN, 1764590405.045500, 0);
	ck_assert(isnan(s.pre_pause_ms) && isnan(s.hv_paused_ms));
	ck_assert_msg(fabs(s.post_resume_ms - 264.5) < 1e-3, "%.9f", s.post_resume_ms);
	/* no outage: only the hypervisor's own figures */
	th_summary_decompose(&s, NULL, 1764590405.000250, 1764590405.045500, 0);
	ck_assert_msg(fabs(s.hv_paused_ms - 45.25) < 1e-3, "%.9f", s.hv_paused_ms);
	ck_assert(isnan(s.pre_pause_ms) && isnan(s.post_resume_ms) && isnan(s.decomp_bound_ms));
	ck_assert(isnan(s.up_pre_pause_ms) && isnan(s.down_post_resume_ms));
}
END_TEST

/* The outage downtime_ms names is the one th_summary_downtime_outage returns. */
START_TEST(downtime_outage_is_the_longest_overlapping_the_window)
{
	th_record r[4];
	th_summary s;

	memset(r, 0, sizeof r);
	for (int i = 0; i < 4; i++) {
		r[i].kind = TH_REC_OUTAGE;
		snprintf(r[i].vm, sizeof r[i].vm, "%s", i == 3 ? "other" : "web-1");
	}
	r[0].u.outage = (th_outage){.start = 100, .end = 100.2, .duration_ms = 200, .bound_ms = 10};
	r[1].u.outage = (th_outage){.start = 105, .end = 105.3, .duration_ms = 300, .bound_ms = 10};
	r[2].u.outage = (th_outage){.start = 120, .end = 121, .duration_ms = 1000, .bound_ms = 10};
	r[3].u.outage = (th_outage){.start = 104, .end = 106, .duration_ms = 2000, .bound_ms = 10};
	ck_assert_ptr_eq(th_summary_downtime_outage(r, 4, "web-1", 99, 110), &r[1].u.outage);
	ck_assert_ptr_eq(th_summary_downtime_outage(r, 4, NULL, 99, 110), &r[3].u.outage);
	ck_assert_ptr_null(th_summary_downtime_outage(r, 4, "web-1", 110, 115));
	th_summary_init(&s);
	ck_assert_int_eq(th_summary_network(&s, r, 4, "web-1", 99, 110, NULL), TH_OK);
	dbl_eq(s.downtime_ms, th_summary_downtime_outage(r, 4, "web-1", 99, 110)->duration_ms,
	       "downtime_ms");
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
	                 "\"hv_downtime_ms\":45.125,\"hv_total_ms\":9000.500,\"delta_ms\":-1.500,"
	                 "\"hv_pause\":1764590405.000125,\"hv_resume\":1764590405.045250,"
	                 "\"hv_paused_ms\":45.125,\"pre_pause_ms\":-12.250,"
	                 "\"post_resume_ms\":1177.125,\"decomp_bound_ms\":10.750,"
	                 "\"up_pre_pause_ms\":-12.250,\"up_post_resume_ms\":900.500,"
	                 "\"down_pre_pause_ms\":20.500,\"down_post_resume_ms\":1177.125}");
	free(j);

	/* nothing known: no outcome key, nulls, 0 for unset OpenNebula times */
	th_summary_init(&none);
	ck_assert_int_eq(th_summary_to_json(&none, &j, NULL, NULL), TH_OK);
	ck_assert_str_eq(j, "{\"one_stime\":0,\"one_rstime\":0,\"one_etime\":0,"
	                    "\"one_duration_s\":null,\"downtime_ms\":null,"
	                    "\"downtime_bound_ms\":null,\"outage_total_ms\":null,\"lost_up\":null,"
	                    "\"lost_down\":null,\"lost_unknown\":null,\"hv_downtime_ms\":null,"
	                    "\"hv_total_ms\":null,\"delta_ms\":null,\"hv_pause\":null,"
	                    "\"hv_resume\":null,\"hv_paused_ms\":null,\"pre_pause_ms\":null,"
	                    "\"post_resume_ms\":null,\"decomp_bound_ms\":null,"
	                    "\"up_pre_pause_ms\":null,\"up_post_resume_ms\":null,"
	                    "\"down_pre_pause_ms\":null,\"down_post_resume_ms\":null}");
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
	th_marker ms[6] = {marker(TH_EV_SESSION_START), marker(TH_EV_MIGRATION_END),
	                   marker(TH_EV_HV_STATUS),     marker(TH_EV_HV_PAUSE),
	                   marker(TH_EV_HV_RESUME),     marker(TH_EV_SESSION_END)};
	th_record o = {.kind = TH_REC_OUTAGE};
	th_summary sum = full_summary();
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;
	yajl_val root, arr;
	char err[TH_ERRLEN];

	ms[0].params = full_params();
	ms[1].outcome = TH_OUT_SUCCESS;
	ms[3].clock_bound_ms = 1.25;
	ms[5].outcome = TH_OUT_SUCCESS;
	ms[5].summary = full_summary();
	ms[5].summary.outcome = TH_OUT_SUCCESS;
	snprintf(o.vm, sizeof o.vm, "web-1");
	snprintf(o.stream, sizeof o.stream, "sup/web-1/7300");
	o.u.outage = (th_outage){TH_DIR_BOTH,   1764590401.25, 1764590402.75, 1500,         10, 150,
	                         1764590401.25, 1764590401.5,  1764590401.5,  1764590402.75};

	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"markers", 7);
	yajl_gen_array_open(g);
	for (int i = 0; i < 6; i++)
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
	ck_assert_uint_eq(arr->u.array.len, 6);
	for (size_t i = 0; i < 6; i++) {
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
		dbl_eq(back.u.outage.up_start, 1764590401.25, "up_start");
		dbl_eq(back.u.outage.up_end, 1764590401.5, "up_end");
		dbl_eq(back.u.outage.down_start, 1764590401.5, "down_start");
		dbl_eq(back.u.outage.down_end, 1764590402.75, "down_end");
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
	tcase_add_test(tc, hv_markers_and_params_have_their_exact_shape);
	tcase_add_test(tc, malformed_hv_markers_and_params_are_refused_by_name);
	tcase_add_test(tc, malformed_outage_windows_are_refused_by_name);
	tcase_add_test(tc, decomposition_adds_up_to_the_downtime);
	tcase_add_test(tc, downtime_outage_is_the_longest_overlapping_the_window);
	suite_add_tcase(s, tc);
	return s;
}
