/* test-delivery.c — the pure decisions of `--report URL` delivery: which HTTP answers keep,
 * split or reject a batch, how a batch is delivered through splits and rejections (every record
 * settled exactly once, a rejected batch that cannot be kept stays), how the --report argument
 * becomes the endpoint URL, how a token file is read, and where a spool segment cut short by a
 * crash ends. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "report-url-impl.h"
#include "th-check.h"

START_TEST(classify_keeps_batches_on_outage_answers)
{
	ck_assert_int_eq(th_report_classify(0, false), TH_REPORT_RETRY); /* no answer at all */
	ck_assert_int_eq(th_report_classify(500, false), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(502, false), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(503, false), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(401, false), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(403, false), TH_REPORT_RETRY); /* client certificate */
	ck_assert_int_eq(th_report_classify(408, false), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(429, false), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(301, false), TH_REPORT_RETRY);
}
END_TEST

START_TEST(classify_acknowledges_2xx_splits_413_rejects_other_4xx)
{
	ck_assert_int_eq(th_report_classify(200, false), TH_REPORT_DONE);
	ck_assert_int_eq(th_report_classify(204, false), TH_REPORT_DONE);
	ck_assert_int_eq(th_report_classify(413, false), TH_REPORT_SPLIT);
	ck_assert_int_eq(th_report_classify(400, false), TH_REPORT_REJECT);
	ck_assert_int_eq(th_report_classify(404, false), TH_REPORT_REJECT);
	ck_assert_int_eq(th_report_classify(422, false), TH_REPORT_REJECT);
}
END_TEST

/* Once 401/403 have lasted the operator's grace, they reject like any other 4xx; nothing else
 * changes. */
START_TEST(classify_rejects_401_and_403_once_given_up)
{
	ck_assert_int_eq(th_report_classify(401, true), TH_REPORT_REJECT);
	ck_assert_int_eq(th_report_classify(403, true), TH_REPORT_REJECT);
	ck_assert_int_eq(th_report_classify(408, true), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(429, true), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(503, true), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(0, true), TH_REPORT_RETRY);
	ck_assert_int_eq(th_report_classify(200, true), TH_REPORT_DONE);
	ck_assert_int_eq(th_report_classify(413, true), TH_REPORT_SPLIT);
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

START_TEST(complete_len_drops_a_torn_last_record)
{
	const char *seg = "{\"a\":1}\n{\"b\":2}\n{\"c\":";

	ck_assert_uint_eq(th_report_complete_len(seg, strlen(seg)), 16);
	ck_assert_uint_eq(th_report_complete_len(seg, 16), 16);
	ck_assert_uint_eq(th_report_complete_len("{\"c\":", 5), 0);
	ck_assert_uint_eq(th_report_complete_len("", 0), 0);
}
END_TEST

/* A scripted endpoint: 413 for ranges longer than max_len, else the next status of the script
 * (200 when it runs out); every POST is logged as "lo-hi:status". */
typedef struct fake {
	size_t max_len;
	const long *script;
	size_t nscript, next;
	bool keep_ok;
	char log[512];
	size_t kept;
} fake;

static long fake_post(void *ctx, size_t lo, size_t hi)
{
	fake *f = ctx;
	long st = hi - lo > f->max_len ? 413 : f->next < f->nscript ? f->script[f->next++] : 200;
	size_t n = strlen(f->log);

	snprintf(f->log + n, sizeof f->log - n, "%s%zu-%zu:%ld", n ? " " : "", lo, hi, st);
	return st;
}

static bool fake_keep(void *ctx, size_t lo, size_t hi, long status)
{
	fake *f = ctx;

	(void)status;
	if (f->keep_ok)
		f->kept += hi - lo;
	return f->keep_ok;
}

/* 8 records, 413 above 4: the first half is acknowledged, the second meets a 503. The retry
 * starts where the first attempt stopped, so each record is counted once (8 in all). */
START_TEST(split_then_failure_resumes_after_the_acknowledged_half)
{
	const long script[] = {200, 503};
	fake f = {.max_len = 4, .script = script, .nscript = 2, .keep_ok = true};
	th_report_progress pr;

	ck_assert_int_eq(th_report_deliver_range(fake_post, fake_keep, &f, 0, 8, false, &pr),
	                 TH_REPORT_RETRY);
	ck_assert_str_eq(f.log, "0-8:413 0-4:200 4-8:503");
	ck_assert_uint_eq(pr.done, 4);
	ck_assert_uint_eq(pr.delivered, 4);
	ck_assert_uint_eq(pr.rejected, 0);
	ck_assert_int_eq(pr.status, 503);
	f.log[0] = '\0';
	ck_assert_int_eq(th_report_deliver_range(fake_post, fake_keep, &f, pr.done, 8, false, &pr),
	                 TH_REPORT_DONE);
	ck_assert_str_eq(f.log, "4-8:200");
	ck_assert_uint_eq(pr.done, 8);
	ck_assert_uint_eq(pr.delivered, 4); /* 4 + 4 = 8: never twice */
}
END_TEST

/* A lone record still too large is rejected; its neighbours are delivered. */
START_TEST(split_down_to_one_record_rejects_only_that_one)
{
	fake f = {.max_len = 1, .keep_ok = true};
	const long script[] = {200, 413, 200};
	th_report_progress pr;

	f.script = script;
	f.nscript = 3;
	ck_assert_int_eq(th_report_deliver_range(fake_post, fake_keep, &f, 0, 3, false, &pr),
	                 TH_REPORT_DONE);
	ck_assert_str_eq(f.log, "0-3:413 0-1:200 1-3:413 1-2:413 2-3:200");
	ck_assert_uint_eq(pr.delivered, 2);
	ck_assert_uint_eq(pr.rejected, 1);
	ck_assert_uint_eq(f.kept, 1);
}
END_TEST

/* 400 with rejected/ unwritable: nothing is settled, the batch stays for a retry. */
START_TEST(rejected_batch_that_cannot_be_kept_stays)
{
	const long script[] = {400};
	fake f = {.max_len = 100, .script = script, .nscript = 1, .keep_ok = false};
	th_report_progress pr;

	ck_assert_int_eq(th_report_deliver_range(fake_post, fake_keep, &f, 0, 5, false, &pr),
	                 TH_REPORT_RETRY);
	ck_assert_uint_eq(pr.done, 0);
	ck_assert_uint_eq(pr.rejected, 0);
	ck_assert_uint_eq(pr.delivered, 0);
	/* kept: settled as rejected, once */
	f.keep_ok = true;
	f.next = 0;
	ck_assert_int_eq(th_report_deliver_range(fake_post, fake_keep, &f, 0, 5, false, &pr),
	                 TH_REPORT_DONE);
	ck_assert_uint_eq(pr.done, 5);
	ck_assert_uint_eq(pr.rejected, 5);
	ck_assert_uint_eq(f.kept, 5);
}
END_TEST

/* 401 given up: the whole range is kept as rejected, settled once. */
START_TEST(given_up_401_keeps_the_batch_as_rejected)
{
	const long script[] = {401};
	fake f = {.max_len = 100, .script = script, .nscript = 1, .keep_ok = true};
	th_report_progress pr;

	ck_assert_int_eq(th_report_deliver_range(fake_post, fake_keep, &f, 0, 5, false, &pr),
	                 TH_REPORT_RETRY);
	ck_assert_uint_eq(pr.done, 0);
	ck_assert_uint_eq(f.kept, 0);
	f.next = 0;
	f.log[0] = '\0';
	ck_assert_int_eq(th_report_deliver_range(fake_post, fake_keep, &f, 0, 5, true, &pr),
	                 TH_REPORT_DONE);
	ck_assert_str_eq(f.log, "0-5:401");
	ck_assert_uint_eq(pr.done, 5);
	ck_assert_uint_eq(pr.rejected, 5);
	ck_assert_uint_eq(f.kept, 5);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("delivery");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, classify_keeps_batches_on_outage_answers);
	tcase_add_test(tc, classify_acknowledges_2xx_splits_413_rejects_other_4xx);
	tcase_add_test(tc, classify_rejects_401_and_403_once_given_up);
	tcase_add_test(tc, endpoint_appends_records_path_only_when_missing);
	tcase_add_test(tc, endpoint_refuses_bad_urls_naming_them);
	tcase_add_test(tc, complete_len_drops_a_torn_last_record);
	tcase_add_test(tc, split_then_failure_resumes_after_the_acknowledged_half);
	tcase_add_test(tc, split_down_to_one_record_rejects_only_that_one);
	tcase_add_test(tc, rejected_batch_that_cannot_be_kept_stays);
	tcase_add_test(tc, given_up_401_keeps_the_batch_as_rejected);
	suite_add_tcase(s, tc);
	return s;
}
