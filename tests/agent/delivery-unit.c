/* delivery-unit.c — the pure decisions of `--report URL` delivery: which HTTP answers keep,
 * split or reject a batch, how the --report argument becomes the endpoint URL, how a token file
 * is read, and where a spool segment cut short by a crash ends. */
#include <string.h>

#include "report-url-impl.h"
#include "th-check.h"

START_TEST(classify_keeps_batches_on_outage_answers)
{
	ck_assert_int_eq(th_report_classify(0), TH_REPORT_RETRY); /* no answer at all */
	ck_assert_int_eq(th_report_classify(500), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(502), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(503), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(401), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(403), TH_REPORT_RETRY); /* client certificate */
	ck_assert_int_eq(th_report_classify(408), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(429), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(301), TH_REPORT_RETRY);
}
END_TEST

START_TEST(classify_acknowledges_2xx_splits_413_rejects_other_4xx)
{
	ck_assert_int_eq(th_report_classify(200), TH_REPORT_DONE);
	ck_assert_int_eq(th_report_classify(204), TH_REPORT_DONE);
	ck_assert_int_eq(th_report_classify(413), TH_REPORT_SPLIT);
	ck_assert_int_eq(th_report_classify(400), TH_REPORT_REJECT);
	ck_assert_int_eq(th_report_classify(404), TH_REPORT_REJECT);
	ck_assert_int_eq(th_report_classify(422), TH_REPORT_REJECT);
}
END_TEST

START_TEST(endpoint_appends_records_path_only_when_missing)
{
	char out[256], err[TH_ERRLEN];

	ck_assert_int_eq(th_report_url_endpoint("http://c:8090", out, sizeof out, err), TH_OK);
	ck_assert_str_eq(out, "http://c:8090/v1/records");
	ck_assert_int_eq(th_report_url_endpoint("https://c/", out, sizeof out, err), TH_OK);
	ck_assert_str_eq(out, "https://c/v1/records");
	ck_assert_int_eq(th_report_url_endpoint("http://c:1/x/v1/records", out, sizeof out, err),
	                 TH_OK);
	ck_assert_str_eq(out, "http://c:1/x/v1/records");
}
END_TEST

START_TEST(endpoint_refuses_bad_urls_naming_them)
{
	char out[32], err[TH_ERRLEN];

	ck_assert_int_eq(th_report_url_endpoint("ftp://c", out, sizeof out, err), TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "ftp://c"));
	ck_assert_int_eq(th_report_url_endpoint("http://a b", out, sizeof out, err),
	                 TH_ERR_INVALID);
	ck_assert_int_eq(th_report_url_endpoint("http://", out, sizeof out, err), TH_ERR_INVALID);
	ck_assert_int_eq(th_report_url_endpoint("", out, sizeof out, err), TH_ERR_INVALID);
	ck_assert_int_eq(th_report_url_endpoint("http://a-very-long-host-name-indeed:8090", out,
	                                        sizeof out, err),
	                 TH_ERR_TOOBIG);
}
END_TEST

START_TEST(token_is_first_line_without_trailing_blanks)
{
	char tok[16], err[TH_ERRLEN];
	const char *t1 = "abc123 \r\nsecond line\n";

	ck_assert_int_eq(th_report_parse_token(t1, strlen(t1), tok, sizeof tok, err), TH_OK);
	ck_assert_str_eq(tok, "abc123");
	ck_assert_int_eq(th_report_parse_token("\n", 1, tok, sizeof tok, err), TH_ERR_INVALID);
	ck_assert_int_eq(th_report_parse_token("a b", 3, tok, sizeof tok, err), TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "byte 2"));
	ck_assert_int_eq(th_report_parse_token("0123456789abcdefXYZ", 19, tok, sizeof tok, err),
	                 TH_ERR_TOOBIG);
}
END_TEST

START_TEST(complete_len_drops_a_torn_last_record)
{
	const char *seg = "{\"a\":1}\n{\"b\":2}\n{\"c\":";

	ck_assert_uint_eq(th_report_complete_len(seg, strlen(seg)), 16);
	ck_assert_uint_eq(th_report_complete_len(seg, 16), 16);
	ck_assert_uint_eq(th_report_complete_len("{\"c\":", 5), 0);
	ck_assert_uint_eq(th_report_complete_len("", 0), 0);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("delivery");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, classify_keeps_batches_on_outage_answers);
	tcase_add_test(tc, classify_acknowledges_2xx_splits_413_rejects_other_4xx);
	tcase_add_test(tc, endpoint_appends_records_path_only_when_missing);
	tcase_add_test(tc, endpoint_refuses_bad_urls_naming_them);
	tcase_add_test(tc, token_is_first_line_without_trailing_blanks);
	tcase_add_test(tc, complete_len_drops_a_torn_last_record);
	suite_add_tcase(s, tc);
	return s;
}
