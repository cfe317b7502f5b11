/* test-codec-roundtrip.c — the producers' encoders (record-json.h of the agent, th-marker-json.h
 * of the trigger) and the plugin's strict decoders agree: what one side writes, the other
 * accepts with the same values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-marker.h"
#include "codec-record.h"
#include "record-json.h"
#include "th-check.h"
#include "th-marker-json.h"

static th_record roundtrip(const th_record *in)
{
	char *json, buf[2048];
	size_t len, n;
	th_record *out, r;
	char err[TH_ERRLEN];

	ck_assert_int_eq(th_record_to_json(in, &json, &len, err), TH_OK);
	snprintf(buf, sizeof buf, "[%s]", json);
	free(json);
	ck_assert_msg(th_records_decode(buf, strlen(buf), &out, &n, err) == TH_OK, "%s: %s", buf,
	              err);
	ck_assert_uint_eq(n, 1);
	r = out[0];
	free(out);
	return r;
}

START_TEST(encoded_records_decode_to_the_same_values)
{
	th_record in, out;

	memset(&in, 0, sizeof in);
	in.kind = TH_REC_SECOND;
	strcpy(in.vm, "vm-1");
	strcpy(in.stream, "sup/vm-1/7931");
	in.u.second = (th_second){.t = 1700000005,
	                          .interval_ms = 10,
	                          .sent = 100,
	                          .received = 97,
	                          .lost_up = 2,
	                          .lost_down = 1,
	                          .late = 1,
	                          .dup = 3,
	                          .rtt_min_ms = 0.125,
	                          .rtt_avg_ms = NAN,
	                          .rtt_max_ms = 2.5,
	                          .jitter_ms = 0.25,
	                          .max_gap_ms = 40,
	                          .stalled = 4,
	                          .slips = 5};
	out = roundtrip(&in);
	ck_assert_int_eq(out.kind, TH_REC_SECOND);
	ck_assert_str_eq(out.stream, "sup/vm-1/7931");
	ck_assert_int_eq(out.u.second.t, 1700000005);
	ck_assert_uint_eq(out.u.second.received, 97);
	ck_assert_uint_eq(out.u.second.dup, 3);
	ck_assert_double_eq(out.u.second.rtt_min_ms, 0.125);
	ck_assert(isnan(out.u.second.rtt_avg_ms));
	ck_assert_uint_eq(out.u.second.stalled, 4);
	ck_assert_uint_eq(out.u.second.slips, 5);

	memset(&in, 0, sizeof in);
	in.kind = TH_REC_OUTAGE;
	strcpy(in.vm, "vm-1");
	strcpy(in.stream, "s");
	in.u.outage = (th_outage){.direction = TH_DIR_UNKNOWN,
	                          .start = 1700000005.123456,
	                          .end = 1700000006.5,
	                          .duration_ms = 1376.544,
	                          .bound_ms = 10,
	                          .lost = 137};
	out = roundtrip(&in);
	ck_assert_int_eq(out.u.outage.direction, TH_DIR_UNKNOWN);
	ck_assert_double_eq_tol(out.u.outage.start, 1700000005.123456, 1e-6);
	ck_assert_uint_eq(out.u.outage.lost, 137);

	memset(&in, 0, sizeof in);
	in.kind = TH_REC_IPERF;
	strcpy(in.vm, "vm-1");
	strcpy(in.stream, "ip");
	in.u.iperf = (th_iperf){.t = 1700000007,
	                        .seconds = 1.000041,
	                        .bytes = 0,
	                        .bits_per_second = 0,
	                        .jitter_ms = NAN,
	                        .lost_packets = -1,
	                        .packets = -1,
	                        .blackout = true};
	out = roundtrip(&in);
	ck_assert(out.u.iperf.blackout);
	ck_assert_int_eq(out.u.iperf.packets, -1);
	ck_assert(isnan(out.u.iperf.jitter_ms));
}
END_TEST

START_TEST(encoded_markers_decode_to_the_same_values)
{
	th_marker in, *out;
	char *json;
	size_t len, n;
	char err[TH_ERRLEN];

	memset(&in, 0, sizeof in);
	in.event = TH_EV_SESSION_END;
	strcpy(in.session, "mig.20261125T120000Z.0a1b2c3d.c2");
	strcpy(in.definition, "mig");
	in.cycle = 2;
	strcpy(in.vm, "vm-1");
	in.vm_id = 7;
	strcpy(in.src_host, "h1");
	strcpy(in.dst_host, "h2");
	in.t = 1700000100.25;
	in.outcome = TH_OUT_SUCCESS;
	in.summary = (th_summary){.outcome = TH_OUT_SUCCESS,
	                          .downtime_ms = 812.5,
	                          .downtime_bound_ms = 10,
	                          .outage_total_ms = 900,
	                          .lost_up = 40,
	                          .lost_down = 41,
	                          .lost_unknown = 0,
	                          .one_stime = 1700000090,
	                          .one_rstime = 0,
	                          .one_etime = 1700000099,
	                          .one_duration_s = 9,
	                          .hv_downtime_ms = 30,
	                          .hv_total_ms = 1200,
	                          .delta_ms = 782.5};
	ck_assert_int_eq(th_marker_to_json(&in, &json, &len, err), TH_OK);
	ck_assert_msg(th_markers_decode(json, len, &out, &n, err) == TH_OK, "%s: %s", json, err);
	free(json);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(out[0].event, TH_EV_SESSION_END);
	ck_assert_str_eq(out[0].session, in.session);
	ck_assert_int_eq(out[0].cycle, 2);
	ck_assert_int_eq(out[0].vm_id, 7);
	ck_assert_double_eq_tol(out[0].t, in.t, 1e-6);
	ck_assert_int_eq(out[0].summary.outcome, TH_OUT_SUCCESS);
	ck_assert_double_eq(out[0].summary.downtime_ms, 812.5);
	ck_assert_int_eq(out[0].summary.one_etime, 1700000099);
	ck_assert_double_eq(out[0].summary.delta_ms, 782.5);
	free(out);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("codec-roundtrip");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, encoded_records_decode_to_the_same_values);
	tcase_add_test(tc, encoded_markers_decode_to_the_same_values);
	suite_add_tcase(s, tc);
	return s;
}
