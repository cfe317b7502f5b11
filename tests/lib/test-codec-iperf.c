/* test-codec-iperf.c — iperf3 --json documents and --json-stream lines become iperf records
 * with the interval's epoch second, and zero-byte intervals are flagged as blackouts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec-iperf.h"
#include "json-stream.h"
#include "codec-test.h"
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

START_TEST(a_million_brackets_are_refused_at_depth_17)
{
	size_t len;
	char *doc = th_nested("", 1000000, "", &len), err[TH_ERRLEN];
	th_record *r = (th_record *)1;
	size_t n = 1;
	double t0 = th_now_s();

	ck_assert_int_eq(th_iperf_decode(doc, len, "v", "s", &r, &n, err), TH_ERR_PARSE);
	ck_assert_double_lt(th_now_s() - t0, 0.5);
	ck_assert_str_eq(err, "iperf: nesting deeper than 16 levels");
	ck_assert_ptr_null(r);
	ck_assert_uint_eq(n, 0);
	free(doc);
}
END_TEST

#define START_1 "{\"start\":{\"timestamp\":{\"timesecs\":1700000000}},"
#define IV(s)   "{\"sum\":{\"start\":" s ",\"seconds\":1,\"bytes\":100,\"bits_per_second\":800}}"

/* Parts of a document nobody reads are skipped, not built, but their nesting still counts. */
static const struct {
	const char *prefix, *suffix;
	size_t n;
	const char *msg; /* NULL: accepted with one record */
} deep[] = {
    /* document 1, "end" 2, "x" 3..16 */
    {START_1 "\"intervals\":[" IV("0") "],\"end\":{\"x\":", "}}", 14, NULL},
    {START_1 "\"intervals\":[" IV("0") "],\"end\":{\"x\":", "}}", 15,
     "iperf.end: nesting deeper than 16 levels"},
    {START_1 "\"intervals\":[" IV("0") "],\"server_output_json\":", "}", 16,
     "iperf.server_output_json: nesting deeper than 16 levels"},
    {START_1 "\"intervals\":[" IV("0") "],\"server_output_json\":", "}", 1000000,
     "iperf.server_output_json: nesting deeper than 16 levels"},
    /* document 1, "intervals" 2, interval 3, "streams" 4..16 */
    {START_1 "\"intervals\":[{\"streams\":",
     ",\"sum\":{\"start\":0,\"seconds\":1,\"bytes\":1,"
     "\"bits_per_second\":8}}]}",
     13, NULL},
    {START_1 "\"intervals\":[{\"streams\":",
     ",\"sum\":{\"start\":0,\"seconds\":1,\"bytes\":1,"
     "\"bits_per_second\":8}}]}",
     14, "iperf.intervals[0]: nesting deeper than 16 levels"},
    /* --json-stream: line 2 is an "end" event, skipped */
    {"{\"event\":\"start\",\"data\":{\"timestamp\":{\"timesecs\":1700000000}}}\n"
     "{\"event\":\"interval\",\"data\":" IV("0") "}\n{\"event\":\"end\",\"data\":",
     "}\n", 15, NULL},
    {"{\"event\":\"start\",\"data\":{\"timestamp\":{\"timesecs\":1700000000}}}\n"
     "{\"event\":\"interval\",\"data\":" IV("0") "}\n{\"event\":\"end\",\"data\":",
     "}\n", 16, "line 3.data: nesting deeper than 16 levels"},
};

START_TEST(deep_nesting_in_skipped_parts_is_refused)
{
	size_t len, n = 9;
	char *doc = th_nested(deep[_i].prefix, deep[_i].n, deep[_i].suffix, &len), err[TH_ERRLEN];
	th_record *r = (th_record *)1;
	th_err e = th_iperf_decode(doc, len, "v", "s", &r, &n, err);

	if (deep[_i].msg == NULL) {
		ck_assert_msg(e == TH_OK, "%s", err);
		ck_assert_uint_eq(n, 1);
		ck_assert_int_eq(r[0].u.iperf.t, 1700000000);
		free(r);
	} else {
		ck_assert_int_eq(e, TH_ERR_PARSE);
		ck_assert_str_eq(err, deep[_i].msg);
		ck_assert_ptr_null(r);
	}
	free(doc);
}
END_TEST

/* An interval is bounded; a skipped "end" as large as the body is not built at all. */
START_TEST(an_interval_beyond_the_element_bounds_is_refused)
{
	size_t len, cap = 200000;
	char *doc = malloc(cap), err[TH_ERRLEN];
	th_record *r;
	size_t n;

	len = (size_t)snprintf(doc, cap, START_1 "\"intervals\":[" IV("0") ",{\"streams\":[");
	for (int i = 0; i < TH_JS_ELEM_NODES; i++)
		len += (size_t)snprintf(doc + len, cap - len, "%s0", i ? "," : "");
	len += (size_t)snprintf(doc + len, cap - len, "],\"sum\":{}}]}");
	ck_assert_int_eq(th_iperf_decode(doc, len, "v", "s", &r, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "iperf.intervals[1]: more than 4096 values in one element");

	len = (size_t)snprintf(doc, cap, START_1 "\"intervals\":[" IV("0") "],\"end\":{\"x\":\"");
	memset(doc + len, 'x', 150000);
	len += 150000;
	len += (size_t)snprintf(doc + len, cap - len, "\",\"y\":[");
	for (int i = 0; i < 5000; i++)
		len += (size_t)snprintf(doc + len, cap - len, "%s0", i ? "," : "");
	len += (size_t)snprintf(doc + len, cap - len, "]}}");
	ck_assert_msg(th_iperf_decode(doc, len, "v", "s", &r, &n, err) == TH_OK, "%s", err);
	ck_assert_uint_eq(n, 1);
	free(r);
	free(doc);
}
END_TEST

START_TEST(more_than_100000_intervals_in_a_body_are_refused)
{
	size_t one = strlen(IV("0")) + 1, len;
	char *doc = malloc(one * (TH_IPERF_INTERVALS_MAX + 1) + 128), err[TH_ERRLEN];
	th_record *r = (th_record *)1;
	size_t n = 1;

	ck_assert_int_eq(TH_IPERF_INTERVALS_MAX, 100000);
	len = (size_t)sprintf(doc, START_1 "\"intervals\":[");
	for (int i = 0; i <= TH_IPERF_INTERVALS_MAX; i++) {
		memcpy(doc + len, i ? "," IV("0") : IV("0"), i ? one : one - 1);
		len += i ? one : one - 1;
	}
	len += (size_t)sprintf(doc + len, "]}");
	ck_assert_int_eq(th_iperf_decode(doc, len, "v", "s", &r, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "body: more than 100000 iperf intervals");
	ck_assert_ptr_null(r);
	free(doc);
}
END_TEST

#define NAME_RULE "(1-63 of A-Z a-z 0-9 . _ : -, starting with a letter, digit or _)"

static const struct {
	const char *vm, *stream, *msg; /* msg NULL: accepted */
} args[] = {
    {"vm-42", "sup/vm-42/iperf", NULL},
    {"vm-42", "iperf", NULL},
    {"a/b", "s", "vm: \"a/b\" is not a valid name " NAME_RULE},
    {"..", "s", "vm: \"..\" is not a valid name " NAME_RULE},
    {"a\nb", "s", "vm: \"a\\nb\" is not a valid name " NAME_RULE},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "s",
     "vm: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is not a valid name " NAME_RULE},
    {"v", "s p",
     "stream: \"s p\" is not a valid stream id (names of 1-63 of A-Z a-z 0-9 . _ : -, starting "
     "with a letter, digit or _, joined by /, at most 127 bytes)"},
    {"v", "a/../b",
     "stream: \"a/../b\" is not a valid stream id (names of 1-63 of A-Z a-z 0-9 . _ : -, "
     "starting with a letter, digit or _, joined by /, at most 127 bytes)"},
};

START_TEST(vm_and_stream_arguments_follow_the_name_rule)
{
	th_record *r = (th_record *)1;
	size_t n = 1;
	char err[TH_ERRLEN];
	th_err e =
	    th_iperf_decode(doc_udp, strlen(doc_udp), args[_i].vm, args[_i].stream, &r, &n, err);

	if (args[_i].msg == NULL) {
		ck_assert_msg(e == TH_OK, "%s", err);
		ck_assert_uint_eq(n, 3);
		ck_assert_str_eq(r[0].stream, args[_i].stream);
		free(r);
	} else {
		ck_assert_int_eq(e, TH_ERR_INVALID);
		ck_assert_str_eq(err, args[_i].msg);
		ck_assert_ptr_null(r);
	}
}
END_TEST

/* JSON does not order members: "data" before "event" decodes the same (the line is walked
 * twice, the second time with the event known). */
START_TEST(data_before_event_decodes_the_same)
{
	const char *lines =
	    "{\"data\":{\"timestamp\":{\"timesecs\":1700000200}},\"event\":\"start\"}\n"
	    "{\"data\":" IV("0") ",\"event\":\"interval\"}\n"
	                         "{\"event\":\"interval\",\"data\":" IV("1") "}\n";
	const char *one =
	    "{\"data\":{\"timestamp\":{\"timesecs\":1700000300}},\"event\":\"start\"}";
	th_record *r;
	size_t n;
	char err[TH_ERRLEN];

	ck_assert_msg(th_iperf_decode(lines, strlen(lines), "v", "s", &r, &n, err) == TH_OK, "%s",
	              err);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(r[0].u.iperf.t, 1700000200);
	ck_assert_int_eq(r[1].u.iperf.t, 1700000201);
	free(r);
	ck_assert_msg(th_iperf_decode(one, strlen(one), "v", "s", &r, &n, err) == TH_OK, "%s", err);
	ck_assert_uint_eq(n, 0);
	free(r);
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
	tcase_add_test(tc, a_million_brackets_are_refused_at_depth_17);
	tcase_add_loop_test(tc, deep_nesting_in_skipped_parts_is_refused, 0,
	                    (int)(sizeof deep / sizeof deep[0]));
	tcase_add_test(tc, an_interval_beyond_the_element_bounds_is_refused);
	tcase_add_test(tc, more_than_100000_intervals_in_a_body_are_refused);
	tcase_add_loop_test(tc, vm_and_stream_arguments_follow_the_name_rule, 0,
	                    (int)(sizeof args / sizeof args[0]));
	tcase_add_test(tc, data_before_event_decodes_the_same);
	tcase_set_timeout(tc, 60); /* the 100 000-interval body, under the sanitizers too */
	suite_add_tcase(s, tc);
	return s;
}
