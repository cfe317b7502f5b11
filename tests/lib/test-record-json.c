/* test-record-json.c — records encode with the DESIGN §5.1 keys, NaN as null, epoch times with
 * microsecond digits, and parse back as JSON; the optional prober_stall_ms key is written only
 * when the prober stalled, and decodes both ways. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "codec-record.h"
#include "record-json.h"
#include "th-check.h"

START_TEST(second_record_has_every_key_in_order)
{
	th_record r = {.kind = TH_REC_SECOND, .vm = "web-1", .stream = "sup/web-1/9911"};
	char *js;
	size_t len;

	r.u.second = (th_second){.t = 1700000001,
	                         .interval_ms = 10,
	                         .sent = 100,
	                         .received = 80,
	                         .lost_up = 15,
	                         .lost_down = 4,
	                         .lost_unknown = 1,
	                         .late = 2,
	                         .dup = 3,
	                         .rtt_min_ms = 0.25,
	                         .rtt_avg_ms = 0.5,
	                         .rtt_max_ms = 1.125,
	                         .jitter_ms = 0.0625,
	                         .max_gap_ms = 510,
	                         .stalled = 5,
	                         .slips = 6};
	ck_assert_int_eq(th_record_to_json(&r, &js, &len, NULL), TH_OK);
	ck_assert_str_eq(js, "{\"kind\":\"second\",\"vm\":\"web-1\",\"stream\":\"sup/web-1/9911\","
	                     "\"t\":1700000001,\"interval_ms\":10.000,\"sent\":100,\"received\":80,"
	                     "\"lost_up\":15,\"lost_down\":4,\"lost_unknown\":1,\"late\":2,"
	                     "\"dup\":3,\"rtt_min_ms\":0.250,\"rtt_avg_ms\":0.500,"
	                     "\"rtt_max_ms\":1.125,\"jitter_ms\":0.062,\"max_gap_ms\":510.000,"
	                     "\"stalled\":5,\"slips\":6}");
	ck_assert_uint_eq(len, strlen(js));
	free(js);
}
END_TEST

START_TEST(nan_becomes_null)
{
	th_record r = {.kind = TH_REC_SECOND, .vm = "v", .stream = "s"};
	char *js;

	r.u.second.t = 5;
	r.u.second.rtt_min_ms = r.u.second.rtt_avg_ms = r.u.second.rtt_max_ms = NAN;
	r.u.second.jitter_ms = r.u.second.max_gap_ms = NAN;
	ck_assert_int_eq(th_record_to_json(&r, &js, NULL, NULL), TH_OK);
	ck_assert_ptr_nonnull(strstr(js, "\"rtt_min_ms\":null,\"rtt_avg_ms\":null,"
	                                 "\"rtt_max_ms\":null,\"jitter_ms\":null,"
	                                 "\"max_gap_ms\":null"));
	char eb[128];
	yajl_val v = yajl_tree_parse(js, eb, sizeof eb);
	ck_assert_ptr_nonnull(v);
	const char *path[] = {"rtt_avg_ms", NULL};
	ck_assert(YAJL_IS_NULL(yajl_tree_get(v, path, yajl_t_any)));
	yajl_tree_free(v);
	free(js);
}
END_TEST

START_TEST(outage_times_have_microseconds)
{
	th_record r = {.kind = TH_REC_OUTAGE, .vm = "v", .stream = "s"};
	char *js;

	r.u.outage = (th_outage){.direction = TH_DIR_BOTH,
	                         .start = 1700000001.5000004,
	                         .end = 1700000003.0123456,
	                         .duration_ms = 1512.3452,
	                         .bound_ms = 10,
	                         .lost = 151};
	ck_assert_int_eq(th_record_to_json(&r, &js, NULL, NULL), TH_OK);
	ck_assert_str_eq(js, "{\"kind\":\"outage\",\"vm\":\"v\",\"stream\":\"s\","
	                     "\"direction\":\"both\",\"start\":1700000001.500000,"
	                     "\"end\":1700000003.012346,\"duration_ms\":1512.345,"
	                     "\"bound_ms\":10.000,\"lost\":151}");
	free(js);
	r.u.outage.direction = TH_DIR_UNKNOWN;
	ck_assert_int_eq(th_record_to_json(&r, &js, NULL, NULL), TH_OK);
	ck_assert_ptr_nonnull(strstr(js, "\"direction\":\"unknown\""));
	free(js);
}
END_TEST

START_TEST(iperf_record_and_unknowns)
{
	th_record r = {.kind = TH_REC_IPERF, .vm = "v", .stream = "s"};
	char *js;

	r.u.iperf = (th_iperf){.t = 10,
	                       .seconds = 1,
	                       .bytes = 0,
	                       .bits_per_second = 0,
	                       .jitter_ms = NAN,
	                       .lost_packets = -1,
	                       .packets = 0,
	                       .blackout = true};
	ck_assert_int_eq(th_record_to_json(&r, &js, NULL, NULL), TH_OK);
	ck_assert_str_eq(js, "{\"kind\":\"iperf\",\"vm\":\"v\",\"stream\":\"s\",\"t\":10,"
	                     "\"seconds\":1.000000,\"bytes\":0,\"bits_per_second\":0.000,"
	                     "\"jitter_ms\":null,\"lost_packets\":null,\"packets\":0,"
	                     "\"blackout\":true}");
	free(js);
}
END_TEST

START_TEST(bad_records_are_refused)
{
	th_record r = {.kind = 99, .vm = "v", .stream = "s"};
	char *js, err[TH_ERRLEN];

	ck_assert_int_eq(th_record_to_json(&r, &js, NULL, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "record kind 99 is not known");
	ck_assert_ptr_null(js);
	r.kind = TH_REC_OUTAGE;
	r.u.outage.direction = 0;
	ck_assert_int_eq(th_record_to_json(&r, &js, NULL, err), TH_ERR_INVALID);
	/* names are JSON-escaped, invalid UTF-8 refused */
	r.kind = TH_REC_SECOND;
	strcpy(r.vm, "a\"b");
	ck_assert_int_eq(th_record_to_json(&r, &js, NULL, err), TH_OK);
	ck_assert_ptr_nonnull(strstr(js, "\"vm\":\"a\\\"b\""));
	free(js);
	strcpy(r.vm, "\xff\xfe");
	ck_assert_int_eq(th_record_to_json(&r, &js, NULL, err), TH_ERR_INVALID);
}
END_TEST

START_TEST(prober_stall_ms_only_when_the_prober_stalled)
{
	th_record r = {.kind = TH_REC_SECOND, .vm = "v", .stream = "s"}, *back;
	char *js, err[TH_ERRLEN];
	size_t len, n;

	r.u.second = (th_second){.t = 7, .interval_ms = 10, .sent = 40, .received = 40};
	r.u.second.rtt_min_ms = r.u.second.rtt_avg_ms = r.u.second.rtt_max_ms = 1;
	r.u.second.jitter_ms = r.u.second.max_gap_ms = 1;
	ck_assert_int_eq(th_record_to_json(&r, &js, &len, NULL), TH_OK);
	ck_assert_ptr_null(strstr(js, "prober_stall_ms"));
	ck_assert_int_eq(th_records_decode(js, len, &back, &n, err), TH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(back[0].u.second.prober_stall_ms, 0);
	free(back);
	free(js);
	r.u.second.prober_stall_ms = 600;
	ck_assert_int_eq(th_record_to_json(&r, &js, &len, NULL), TH_OK);
	ck_assert_ptr_nonnull(strstr(js, "\"slips\":0,\"prober_stall_ms\":600}"));
	ck_assert_int_eq(th_records_decode(js, len, &back, &n, err), TH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(back[0].u.second.prober_stall_ms, 600);
	ck_assert_uint_eq(back[0].u.second.sent, 40);
	free(back);
	free(js);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("record-json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, second_record_has_every_key_in_order);
	tcase_add_test(tc, nan_becomes_null);
	tcase_add_test(tc, outage_times_have_microseconds);
	tcase_add_test(tc, iperf_record_and_unknowns);
	tcase_add_test(tc, bad_records_are_refused);
	tcase_add_test(tc, prober_stall_ms_only_when_the_prober_stalled);
	suite_add_tcase(s, tc);
	return s;
}
