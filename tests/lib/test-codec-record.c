/* test-codec-record.c — strict decoding of agent records: a table of good documents with the
 * exact values they must give, and a table of bad ones with the field the error must name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec-record.h"
#include "json-stream.h"
#include "codec-test.h"
#include "th-check.h"
#include "th-name.h"

#define SECOND_OK                                                                                  \
	"{\"kind\":\"second\",\"vm\":\"vm-42\",\"stream\":\"sup/vm-42/7931\",\"t\":1700000001,"    \
	"\"interval_ms\":10,\"sent\":100,\"received\":97,\"lost_up\":2,\"lost_down\":1,"           \
	"\"lost_unknown\":0,\"late\":1,\"dup\":0,\"rtt_min_ms\":0.21,\"rtt_avg_ms\":0.35,"         \
	"\"rtt_max_ms\":1.5,\"jitter_ms\":0.04,\"max_gap_ms\":30.5}"
#define OUTAGE_OK                                                                                  \
	"{\"kind\":\"outage\",\"vm\":\"vm-42\",\"stream\":\"s\",\"direction\":\"both\","           \
	"\"start\":1700000001.250000,\"end\":1700000002.750000,\"duration_ms\":1500,"              \
	"\"bound_ms\":10,\"lost\":150}"
#define IPERF_OK                                                                                   \
	"{\"kind\":\"iperf\",\"vm\":\"vm-42\",\"stream\":\"ip\",\"t\":1700000003,"                 \
	"\"seconds\":1.0001,\"bytes\":131072,\"bits_per_second\":1048500.5,\"jitter_ms\":null,"    \
	"\"lost_packets\":3,\"packets\":90}"

START_TEST(second_record_decodes_every_field)
{
	th_record *r;
	size_t n;
	char err[TH_ERRLEN];

	ck_assert_int_eq(
	    th_records_decode("[" SECOND_OK "]", strlen("[" SECOND_OK "]"), &r, &n, err), TH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(r[0].kind, TH_REC_SECOND);
	ck_assert_str_eq(r[0].vm, "vm-42");
	ck_assert_str_eq(r[0].stream, "sup/vm-42/7931");
	ck_assert_int_eq(r[0].u.second.t, 1700000001);
	ck_assert_double_eq(r[0].u.second.interval_ms, 10);
	ck_assert_uint_eq(r[0].u.second.sent, 100);
	ck_assert_uint_eq(r[0].u.second.received, 97);
	ck_assert_uint_eq(r[0].u.second.lost_up, 2);
	ck_assert_uint_eq(r[0].u.second.lost_down, 1);
	ck_assert_uint_eq(r[0].u.second.late, 1);
	ck_assert_double_eq(r[0].u.second.rtt_min_ms, 0.21);
	ck_assert_double_eq(r[0].u.second.rtt_max_ms, 1.5);
	ck_assert_double_eq(r[0].u.second.max_gap_ms, 30.5);
	ck_assert_uint_eq(r[0].u.second.stalled, 0);
	free(r);
}
END_TEST

START_TEST(null_rtt_means_no_echo)
{
	const char *doc = "{\"kind\":\"second\",\"vm\":\"v\",\"stream\":\"s\",\"t\":5,"
	                  "\"interval_ms\":10,\"sent\":100,\"received\":0,\"lost_up\":100,"
	                  "\"lost_down\":0,\"lost_unknown\":0,\"late\":0,\"dup\":0,"
	                  "\"rtt_min_ms\":null,\"rtt_avg_ms\":null,\"rtt_max_ms\":null,"
	                  "\"jitter_ms\":null,\"max_gap_ms\":null,\"stalled\":3,\"slips\":1}";
	th_record *r;
	size_t n;

	ck_assert_int_eq(th_records_decode(doc, strlen(doc), &r, &n, NULL), TH_OK);
	ck_assert(isnan(r[0].u.second.rtt_avg_ms));
	ck_assert(isnan(r[0].u.second.max_gap_ms));
	ck_assert_uint_eq(r[0].u.second.stalled, 3);
	ck_assert_uint_eq(r[0].u.second.slips, 1);
	free(r);
}
END_TEST

START_TEST(outage_and_iperf_records_decode)
{
	const char *doc = "[" OUTAGE_OK "," IPERF_OK "]";
	th_record *r;
	size_t n;

	ck_assert_int_eq(th_records_decode(doc, strlen(doc), &r, &n, NULL), TH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(r[0].u.outage.direction, TH_DIR_BOTH);
	ck_assert_double_eq(r[0].u.outage.start, 1700000001.25);
	ck_assert_double_eq(r[0].u.outage.duration_ms, 1500);
	ck_assert_uint_eq(r[0].u.outage.lost, 150);
	ck_assert_int_eq(r[1].kind, TH_REC_IPERF);
	ck_assert_int_eq(r[1].u.iperf.t, 1700000003);
	ck_assert_uint_eq(r[1].u.iperf.bytes, 131072);
	ck_assert(isnan(r[1].u.iperf.jitter_ms));
	ck_assert_int_eq(r[1].u.iperf.lost_packets, 3);
	ck_assert(!r[1].u.iperf.blackout);
	free(r);
}
END_TEST

START_TEST(zero_byte_iperf_interval_is_a_blackout)
{
	const char *doc = "{\"kind\":\"iperf\",\"vm\":\"v\",\"stream\":\"s\",\"t\":9,\"seconds\":1,"
	                  "\"bytes\":0,\"bits_per_second\":0}";
	th_record *r;
	size_t n;

	ck_assert_int_eq(th_records_decode(doc, strlen(doc), &r, &n, NULL), TH_OK);
	ck_assert(r[0].u.iperf.blackout);
	ck_assert_int_eq(r[0].u.iperf.packets, -1);
	free(r);
}
END_TEST

START_TEST(empty_array_is_zero_records)
{
	th_record *r;
	size_t n = 99;

	ck_assert_int_eq(th_records_decode("[]", 2, &r, &n, NULL), TH_OK);
	ck_assert_uint_eq(n, 0);
	free(r);
}
END_TEST

/* Bad documents: the message must start with the exact prefix naming the field. */
static const struct {
	const char *doc, *msg;
} bad[] = {
    {"", "body: malformed JSON"},
    {"[{\"kind\":\"second\"", "body: malformed JSON"},
    {"42", "body: expected a JSON array of records"},
    {"[42]", "records[0]: expected an object"},
    {"[{\"vm\":\"v\",\"stream\":\"s\"}]", "records[0].kind: expected"},
    {"[{\"kind\":\"minute\",\"vm\":\"v\",\"stream\":\"s\"}]", "records[0].kind: \"minute\" is not"},
    {"[{\"kind\":\"second\",\"stream\":\"s\"}]", "records[0].vm: missing"},
    {"[{\"kind\":\"second\",\"vm\":\"\",\"stream\":\"s\"}]", "records[0].vm: must not be empty"},
    {"[{\"kind\":\"second\",\"vm\":7,\"stream\":\"s\"}]", "records[0].vm: expected a string"},
    {"[" SECOND_OK ",{\"kind\":\"second\",\"vm\":\"v\",\"stream\":\"s\",\"t\":1.5}]",
     "records[1].t: expected an integer"},
    {"[{\"kind\":\"second\",\"vm\":\"v\",\"stream\":\"s\",\"t\":1700000000000}]",
     "records[0].t: 1700000000000 out of range"},
    {"[{\"kind\":\"second\",\"vm\":\"v\",\"stream\":\"s\",\"t\":1,\"interval_ms\":\"10\"}]",
     "records[0].interval_ms: expected a number"},
    {"[{\"kind\":\"second\",\"vm\":\"v\",\"stream\":\"s\",\"t\":1,\"interval_ms\":10,\"sent\":-1}]",
     "records[0].sent: -1 out of range"},
    {"[{\"kind\":\"second\",\"vm\":\"v\",\"stream\":\"s\",\"t\":1,\"interval_ms\":10,\"sent\":1,"
     "\"received\":2,\"lost_up\":0,\"lost_down\":0,\"lost_unknown\":0,\"late\":0,\"dup\":0,"
     "\"rtt_min_ms\":null,\"rtt_avg_ms\":null,\"rtt_max_ms\":null,\"jitter_ms\":null,"
     "\"max_gap_ms\":null}]",
     "records[0].received: 2 exceeds sent 1"},
    {"[{\"kind\":\"second\",\"vm\":\"v\",\"stream\":\"s\",\"t\":1,\"interval_ms\":10,\"sent\":1,"
     "\"received\":1,\"lost_up\":0,\"lost_down\":0,\"lost_unknown\":0,\"late\":0,\"dup\":0,"
     "\"rtt_min_ms\":null,\"rtt_avg_ms\":null,\"rtt_max_ms\":null,\"jitter_ms\":null}]",
     "records[0].max_gap_ms: missing"},
    {"[{\"kind\":\"outage\",\"vm\":\"v\",\"stream\":\"s\",\"direction\":\"left\"}]",
     "records[0].direction: \"left\" is not"},
    {"[{\"kind\":\"outage\",\"vm\":\"v\",\"stream\":\"s\",\"direction\":\"up\",\"start\":10,"
     "\"end\":9,\"duration_ms\":0,\"bound_ms\":0,\"lost\":2}]",
     "records[0].end: 9.000000 is before start"},
    {"[{\"kind\":\"iperf\",\"vm\":\"v\",\"stream\":\"s\",\"t\":1,\"seconds\":1,\"bytes\":5,"
     "\"bits_per_second\":40,\"packets\":\"x\"}]",
     "records[0].packets: expected an integer"},
    {"[{\"kind\":\"iperf\",\"vm\":\"v\",\"stream\":\"s\",\"t\":1,\"seconds\":1,\"bytes\":5,"
     "\"bits_per_second\":40,\"blackout\":1}]",
     "records[0].blackout: expected true or false"},
};

START_TEST(bad_documents_are_refused_naming_the_field)
{
	th_record *r = (th_record *)1;
	size_t n = 7;
	char err[TH_ERRLEN];

	err[0] = '\0';
	ck_assert_int_ne(th_records_decode(bad[_i].doc, strlen(bad[_i].doc), &r, &n, err), TH_OK);
	ck_assert_msg(strncmp(err, bad[_i].msg, strlen(bad[_i].msg)) == 0,
	              "case %d: message \"%s\" does not start with \"%s\"", _i, err, bad[_i].msg);
	ck_assert_ptr_null(r);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(long_names_are_refused)
{
	char doc[600];
	char err[TH_ERRLEN];
	th_record *r;
	size_t n;

	snprintf(doc, sizeof doc, "{\"kind\":\"second\",\"vm\":\"%0200d\",\"stream\":\"s\"}", 1);
	ck_assert_int_eq(th_records_decode(doc, strlen(doc), &r, &n, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "records[0].vm: longer than 127 bytes");
}
END_TEST

START_TEST(a_million_brackets_are_refused_at_depth_17)
{
	size_t len;
	char *doc = th_nested("", 1000000, "", &len), err[TH_ERRLEN];
	th_record *r = (th_record *)1;
	size_t n = 1;
	double t0 = th_now_s();

	ck_assert_int_eq(th_records_decode(doc, len, &r, &n, err), TH_ERR_PARSE);
	ck_assert_double_lt(th_now_s() - t0, 0.5);
	ck_assert_str_eq(err, "records[0]: nesting deeper than 16 levels");
	ck_assert_ptr_null(r);
	ck_assert_uint_eq(n, 0);
	free(doc);
}
END_TEST

START_TEST(a_record_beyond_the_element_bounds_is_refused)
{
	size_t big = TH_JS_ELEM_BYTES, len;
	char *doc = malloc(big + 1024), err[TH_ERRLEN];
	th_record *r;
	size_t n;

	/* one unknown member holding a 64 KiB string, after a valid record */
	len = (size_t)sprintf(doc, "[" SECOND_OK ",{\"kind\":\"second\",\"note\":\"");
	memset(doc + len, 'x', big);
	len += big;
	len += (size_t)sprintf(doc + len, "\"}]");
	ck_assert_int_eq(th_records_decode(doc, len, &r, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "records[1]: element larger than 65536 bytes");
	/* 4096 values in one record */
	len = (size_t)sprintf(doc, "[{\"kind\":\"second\",\"x\":[");
	for (int i = 0; i < TH_JS_ELEM_NODES; i++)
		len += (size_t)sprintf(doc + len, "%s0", i ? "," : "");
	len += (size_t)sprintf(doc + len, "]}]");
	ck_assert_int_eq(th_records_decode(doc, len, &r, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "records[0]: more than 4096 values in one element");
	free(doc);
}
END_TEST

#define IPERF_MIN                                                                                  \
	"{\"kind\":\"iperf\",\"vm\":\"v\",\"stream\":\"s\",\"t\":1,\"seconds\":1,\"bytes\":1,"     \
	"\"bits_per_second\":8}"

START_TEST(more_than_100000_records_in_a_body_are_refused)
{
	size_t one = strlen(IPERF_MIN) + 1, len = 0;
	char *doc = malloc(one * (TH_RECORDS_MAX + 1) + 2), err[TH_ERRLEN];
	th_record *r = (th_record *)1;
	size_t n = 1;

	ck_assert_int_eq(TH_RECORDS_MAX, 100000);
	doc[len++] = '[';
	for (int i = 0; i <= TH_RECORDS_MAX; i++) {
		memcpy(doc + len, i ? "," IPERF_MIN : IPERF_MIN, i ? one : one - 1);
		len += i ? one : one - 1;
	}
	doc[len++] = ']';
	ck_assert_int_eq(th_records_decode(doc, len, &r, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "body: more than 100000 records");
	ck_assert_ptr_null(r);
	/* the same body one record shorter is accepted */
	len -= one + 1;
	doc[len++] = ']';
	ck_assert_msg(th_records_decode(doc, len, &r, &n, err) == TH_OK, "%s", err);
	ck_assert_uint_eq(n, TH_RECORDS_MAX);
	free(r);
	free(doc);
}
END_TEST

#define NAME_RULE "(1-63 of A-Z a-z 0-9 . _ : -, starting with a letter, digit or _)"
#define X63       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

/* The one name rule: what passes, and what is refused. */
static const struct {
	const char *name;
	bool ok;
} names[] = {
    {"vm-42", true},
    {"a", true},
    {"_x", true},
    {"9", true},
    {"one-42.prod:web_1", true},
    {X63, true},
    {X63 "x", false}, /* 64 bytes */
    {"", false},
    {".", false},
    {"..", false},
    {".hidden", false},
    {"-rf", false},
    {":x", false},
    {"a/b", false},
    {"a b", false},
    {"a\nb", false},
    {"a\tb", false},
    {"caf\xc3\xa9", false},
    {"a\"b", false},
    {"a\\b", false},
};

START_TEST(the_name_rule_accepts_and_refuses)
{
	ck_assert_msg(th_name_ok(names[_i].name) == names[_i].ok, "case %d", _i);
	/* a stream id is names joined by '/': any single name is one too */
	if (strchr(names[_i].name, '/') == NULL)
		ck_assert_msg(th_stream_id_ok(names[_i].name) == names[_i].ok, "case %d", _i);
}
END_TEST

static const struct {
	const char *id;
	bool ok;
} streams[] = {
    {"sup/vm-42/7931", true},
    {"sup/vm-42/iperf", true},
    {"sup/vm-42/7931/oneway", true},
    {X63 "/" X63, true}, /* 127 bytes */
    {X63 "/" X63 "x", false},
    {"a//b", false},
    {"/a", false},
    {"a/", false},
    {"a/../b", false},
    {"a/./b", false},
    {"a/-b", false},
    {"a/b c", false},
};

START_TEST(stream_ids_are_names_joined_by_slashes)
{
	ck_assert_msg(th_stream_id_ok(streams[_i].id) == streams[_i].ok, "case %d", _i);
}
END_TEST

/* Through the decoder: the error names the record and the field. */
static const struct {
	const char *vm, *stream, *msg;
} bad_names[] = {
    {"a/b", "s", "records[2].vm: \"a/b\" is not a valid name " NAME_RULE},
    {"..", "s", "records[2].vm: \"..\" is not a valid name " NAME_RULE},
    {"a\\nb", "s", "records[2].vm: \"a\\nb\" is not a valid name " NAME_RULE},
    {"-x", "s", "records[2].vm: \"-x\" is not a valid name " NAME_RULE},
    {X63 "x", "s",
     "records[2].vm: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is not a valid "
     "name " NAME_RULE},
    {"a\\u0000b", "s", "records[2].vm: string contains \\u0000"},
    {"v", "a\\u0000", "records[2].stream: string contains \\u0000"},
    {"v", "sup//7931",
     "records[2].stream: \"sup//7931\" is not a valid stream id (names of 1-63 of A-Z a-z 0-9 . "
     "_ : -, starting with a letter, digit or _, joined by /, at most 127 bytes)"},
};

START_TEST(bad_names_are_refused_naming_the_record_and_field)
{
	char doc[1024], err[TH_ERRLEN];
	th_record *r = (th_record *)1;
	size_t n = 1;

	snprintf(doc, sizeof doc,
	         "[" SECOND_OK "," OUTAGE_OK ",{\"kind\":\"iperf\",\"vm\":\"%s\",\"stream\":\"%s\","
	         "\"t\":1,\"seconds\":1,\"bytes\":1,\"bits_per_second\":8}]",
	         bad_names[_i].vm, bad_names[_i].stream);
	ck_assert_int_ne(th_records_decode(doc, strlen(doc), &r, &n, err), TH_OK);
	ck_assert_str_eq(err, bad_names[_i].msg);
	ck_assert_ptr_null(r);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("codec-record");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, second_record_decodes_every_field);
	tcase_add_test(tc, null_rtt_means_no_echo);
	tcase_add_test(tc, outage_and_iperf_records_decode);
	tcase_add_test(tc, zero_byte_iperf_interval_is_a_blackout);
	tcase_add_test(tc, empty_array_is_zero_records);
	tcase_add_loop_test(tc, bad_documents_are_refused_naming_the_field, 0,
	                    (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, long_names_are_refused);
	tcase_add_test(tc, a_million_brackets_are_refused_at_depth_17);
	tcase_add_test(tc, a_record_beyond_the_element_bounds_is_refused);
	tcase_add_test(tc, more_than_100000_records_in_a_body_are_refused);
	tcase_add_loop_test(tc, the_name_rule_accepts_and_refuses, 0,
	                    (int)(sizeof names / sizeof names[0]));
	tcase_add_loop_test(tc, stream_ids_are_names_joined_by_slashes, 0,
	                    (int)(sizeof streams / sizeof streams[0]));
	tcase_add_loop_test(tc, bad_names_are_refused_naming_the_record_and_field, 0,
	                    (int)(sizeof bad_names / sizeof bad_names[0]));
	tcase_set_timeout(tc, 60); /* the 100 000-record bodies, under the sanitizers too */
	suite_add_tcase(s, tc);
	return s;
}
