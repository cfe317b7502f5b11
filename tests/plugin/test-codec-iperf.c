/* test-codec-iperf.c — iperf3 --json documents and --json-stream lines become iperf records
 * with the interval's epoch second, and zero-byte intervals are flagged as blackouts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec-iperf.h"
#include "th-check.h"

/* Shape of `iperf3 -c ... -u -R --json` (3.12), trimmed to what the decoder reads. */
static const char doc_udp[] =
    "{\"start\":{\"connected\":[],\"version\":\"iperf 3.12\",\"timestamp\":{\"time\":\"Tue, 14 "
    "Nov 2023 22:13:20 GMT\",\"timesecs\":1700000000},\"test_start\":{\"protocol\":\"UDP\"}},"
    "\"intervals\":[{\"streams\":[],\"sum\":{\"start\":0,\"end\":1.000041,\"seconds\":1.000041,"
    "\"bytes\":131072,\"bits_per_second\":1048533.1,\"jitter_ms\":0.012,\"lost_packets\":0,"
    "\"packets\":90,\"lost_percent\":0,\"omitted\":false,\"sender\":false}},"
    "{\"streams\":[],\"sum\":{\"start\":1.000041,\"end\":2.000113,\"seconds\":1.000072,"
    "\"bytes\":0,\"bits_per_second\":0,\"jitter_ms\":0.012,\"lost_packets\":0,\"packets\":0,"
    "\"lost_percent\":0,\"omitted\":false,\"sender\":false}},"
    "{\"streams\":[],\"sum\":{\"start\":2.000113,\"end\":3.000100,\"seconds\":0.999987,"
    "\"bytes\":65536,\"bits_per_second\":524294.8,\"jitter_ms\":0.02,\"lost_packets\":45,"
    "\"packets\":90,\"lost_percent\":50,\"omitted\":false,\"sender\":false}}],"
    "\"end\":{}}";

START_TEST(json_document_gives_one_record_per_interval)
{
	th_record *r;
	size_t n;
	char err[TH_ERRLEN];

	ck_assert_int_eq(th_iperf_decode(doc_udp, strlen(doc_udp), "vm-42", "ip1", &r, &n, err),
	                 TH_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(r[0].kind, TH_REC_IPERF);
	ck_assert_str_eq(r[0].vm, "vm-42");
	ck_assert_str_eq(r[0].stream, "ip1");
	ck_assert_int_eq(r[0].u.iperf.t, 1700000000);
	ck_assert_int_eq(r[1].u.iperf.t, 1700000001);
	ck_assert_int_eq(r[2].u.iperf.t, 1700000002);
	ck_assert_uint_eq(r[0].u.iperf.bytes, 131072);
	ck_assert_double_eq(r[0].u.iperf.bits_per_second, 1048533.1);
	ck_assert_double_eq(r[0].u.iperf.jitter_ms, 0.012);
	ck_assert(!r[0].u.iperf.blackout);
	ck_assert(r[1].u.iperf.blackout);
	ck_assert_int_eq(r[2].u.iperf.lost_packets, 45);
	ck_assert_int_eq(r[2].u.iperf.packets, 90);
	free(r);
}
END_TEST

START_TEST(tcp_intervals_leave_udp_fields_unknown)
{
	const char *doc = "{\"start\":{\"timestamp\":{\"timesecs\":1700000100}},\"intervals\":[{"
	                  "\"sum\":{\"start\":0,\"end\":1,\"seconds\":1,\"bytes\":1000,"
	                  "\"bits_per_second\":8000,\"omitted\":false}},{\"sum\":{\"start\":1,"
	                  "\"end\":2,\"seconds\":1,\"bytes\":1000,\"bits_per_second\":8000,"
	                  "\"omitted\":true}}]}";
	th_record *r;
	size_t n;

	ck_assert_int_eq(th_iperf_decode(doc, strlen(doc), "v", "s", &r, &n, NULL), TH_OK);
	ck_assert_uint_eq(n, 1); /* the omitted interval is skipped */
	ck_assert(isnan(r[0].u.iperf.jitter_ms));
	ck_assert_int_eq(r[0].u.iperf.lost_packets, -1);
	ck_assert_int_eq(r[0].u.iperf.packets, -1);
	free(r);
}
END_TEST

START_TEST(json_stream_lines_decode)
{
	const char *doc =
	    "{\"event\":\"start\",\"data\":{\"timestamp\":{\"timesecs\":1700000200}}}\n"
	    "{\"event\":\"interval\",\"data\":{\"streams\":[],\"sum\":{\"start\":0,\"end\":1,"
	    "\"seconds\":1,\"bytes\":2000,\"bits_per_second\":16000,\"omitted\":false}}}\n"
	    "\n"
	    "{\"event\":\"interval\",\"data\":{\"streams\":[],\"sum\":{\"start\":1,\"end\":2,"
	    "\"seconds\":1,\"bytes\":0,\"bits_per_second\":0,\"omitted\":false}}}\r\n"
	    "{\"event\":\"end\",\"data\":{}}\n";
	th_record *r;
	size_t n;
	char err[TH_ERRLEN];

	ck_assert_int_eq(th_iperf_decode(doc, strlen(doc), "v", "s", &r, &n, err), TH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(r[0].u.iperf.t, 1700000200);
	ck_assert_int_eq(r[1].u.iperf.t, 1700000201);
	ck_assert(r[1].u.iperf.blackout);
	free(r);
}
END_TEST

static const struct {
	const char *doc, *vm, *msg;
} bad[] = {
    {"{\"start\":{}}", "v", "iperf.start.timestamp: missing"},
    {"{\"start\":{\"timestamp\":{\"timesecs\":1}},\"intervals\":{}}", "v",
     "iperf.intervals: missing or not an array"},
    {"{\"start\":{\"timestamp\":{\"timesecs\":1}},\"intervals\":[{\"sum\":{\"start\":0}}]}", "v",
     "iperf.intervals[0].sum.seconds: missing"},
    {"{\"error\":\"unable to connect to server: Connection refused\"}", "v",
     "iperf.error: iperf3 reported \"unable to connect"},
    {"{\"event\":\"interval\",\"data\":{\"sum\":{}}}\n", "v",
     "line 1.data: interval before the start"},
    {"{\"event\":\"start\",\"data\":{\"timestamp\":{\"timesecs\":5}}}\nnot json\n", "v",
     "line 2: body: malformed JSON"},
    {"{}", "", "vm: missing"},
    {"[1,2]", "v", "body: expected an iperf3 JSON object"},
};

START_TEST(bad_iperf_input_is_refused_naming_the_field)
{
	th_record *r = (th_record *)1;
	size_t n = 1;
	char err[TH_ERRLEN];

	err[0] = '\0';
	ck_assert_int_ne(
	    th_iperf_decode(bad[_i].doc, strlen(bad[_i].doc), bad[_i].vm, "s", &r, &n, err), TH_OK);
	ck_assert_msg(strncmp(err, bad[_i].msg, strlen(bad[_i].msg)) == 0,
	              "case %d: message \"%s\" does not start with \"%s\"", _i, err, bad[_i].msg);
	ck_assert_ptr_null(r);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("codec-iperf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, json_document_gives_one_record_per_interval);
	tcase_add_test(tc, tcp_intervals_leave_udp_fields_unknown);
	tcase_add_test(tc, json_stream_lines_decode);
	tcase_add_loop_test(tc, bad_iperf_input_is_refused_naming_the_field, 0,
	                    (int)(sizeof bad / sizeof bad[0]));
	suite_add_tcase(s, tc);
	return s;
}
