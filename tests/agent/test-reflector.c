/* test-reflector.c — reflector stream state: prev/run/count answers, duplicates not counted,
 * many streams apart, never expired for silence, the longest-silent evicted only when full. */
#include <string.h>

#include "reflector.h"
#include "th-time.h"
#include "th-check.h"

static th_refl_src src(uint8_t last, uint16_t port)
{
	th_refl_src s = {.family = 2, .port = port, .addr = {10, 0, 0, last}};
	return s;
}

START_TEST(answers_describe_what_came_before)
{
	th_reflector *r;
	th_refl_answer a;
	th_refl_src s = src(1, 1000);

	ck_assert_int_eq(th_reflector_new(&r, 16, NULL), TH_OK);
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 1, 0, &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.prev_seq, 0);
	ck_assert_uint_eq(a.run_start, 0);
	ck_assert_uint_eq(a.rx_count, 1);
	th_reflector_receive(r, &s, 7, 2, 0, &a);
	th_reflector_receive(r, &s, 7, 3, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 2);
	ck_assert_uint_eq(a.run_start, 1);
	ck_assert_uint_eq(a.rx_count, 3);
	/* 4..9 never arrive */
	th_reflector_receive(r, &s, 7, 10, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 3);
	ck_assert_uint_eq(a.run_start, 1);
	ck_assert_uint_eq(a.rx_count, 4);
	th_reflector_receive(r, &s, 7, 11, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 10);
	ck_assert_uint_eq(a.run_start, 10);
	ck_assert_uint_eq(a.rx_count, 5);
	/* a late 5 starts its own run */
	th_reflector_receive(r, &s, 7, 5, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 11);
	th_reflector_receive(r, &s, 7, 12, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 5);
	ck_assert_uint_eq(a.run_start, 5);
	ck_assert_uint_eq(a.rx_count, 7);
	th_reflector_free(r);
}
END_TEST

START_TEST(duplicates_and_old_numbers_are_not_counted)
{
	th_reflector *r;
	th_refl_answer a;
	th_refl_src s = src(1, 1000);

	ck_assert_int_eq(th_reflector_new(&r, 16, NULL), TH_OK);
	for (uint64_t q = 1; q <= 2000; q++)
		ck_assert_int_eq(th_reflector_receive(r, &s, 7, q, 0, &a), TH_REFL_ECHO);
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 2000, 0, &a), TH_REFL_DUP);
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 1500, 0, &a), TH_REFL_DUP);
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 900, 0, &a), TH_REFL_TOO_OLD);
	ck_assert_uint_eq(a.rx_count, 2000);
	/* a jump past the window forgets everything behind it */
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 100000, 0, &a), TH_REFL_ECHO);
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 99990, 0, &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 2002);
	th_reflector_free(r);
}
END_TEST

START_TEST(streams_are_apart_and_never_expire)
{
	th_reflector *r;
	th_refl_answer a;
	th_refl_src s1 = src(1, 1000), s2 = src(2, 1000), s3 = src(1, 1001);

	ck_assert_int_eq(th_reflector_new(&r, 3, NULL), TH_OK);
	th_reflector_receive(r, &s1, 7, 1, 0, &a);
	th_reflector_receive(r, &s2, 7, 1, 0, &a);
	ck_assert_uint_eq(a.rx_count, 1);
	th_reflector_receive(r, &s3, 7, 1, 0, &a);
	ck_assert_uint_eq(a.rx_count, 1);
	ck_assert_uint_eq(th_reflector_streams(r), 3);
	/* a day of silence later the stream is still there */
	ck_assert_int_eq(th_reflector_receive(r, &s1, 7, 2, 86400LL * TH_NS_PER_SEC, &a),
	                 TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 2);
	ck_assert_uint_eq(th_reflector_evicted(r), 0);
	/* full: a fourth stream replaces the longest silent (s2, last seen at 0) */
	th_reflector_receive(r, &s3, 7, 2, 86401LL * TH_NS_PER_SEC, &a);
	th_refl_src s4 = src(4, 1000);
	th_reflector_receive(r, &s4, 9, 1, 86402LL * TH_NS_PER_SEC, &a);
	ck_assert_uint_eq(th_reflector_evicted(r), 1);
	th_reflector_receive(r, &s1, 7, 3, 86403LL * TH_NS_PER_SEC, &a);
	ck_assert_uint_eq(a.rx_count, 3);
	th_reflector_receive(r, &s3, 7, 3, 86403LL * TH_NS_PER_SEC, &a);
	ck_assert_uint_eq(a.rx_count, 3);
	th_reflector_free(r);
}
END_TEST

START_TEST(many_streams_stay_consistent)
{
	th_reflector *r;
	th_refl_answer a;

	ck_assert_int_eq(th_reflector_new(&r, 100, NULL), TH_OK);
	/* 300 streams through a table of 100, in rounds: evictions must keep lookups right */
	for (int round = 1; round <= 3; round++) {
		for (uint32_t id = 0; id < 300; id++) {
			th_refl_src s = src((uint8_t)(id % 250), (uint16_t)id);
			th_reflector_receive(r, &s, id, (uint64_t)round, round * 1000 + id, &a);
		}
	}
	ck_assert_uint_eq(th_reflector_streams(r), 100);
	/* the last 100 streams are present with their own counts */
	for (uint32_t id = 200; id < 300; id++) {
		th_refl_src s = src((uint8_t)(id % 250), (uint16_t)id);
		ck_assert_int_eq(th_reflector_receive(r, &s, id, 3, 5000, &a), TH_REFL_DUP);
	}
	ck_assert_uint_eq(th_reflector_evicted(r), 800);
	th_reflector_free(r);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("reflector");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, answers_describe_what_came_before);
	tcase_add_test(tc, duplicates_and_old_numbers_are_not_counted);
	tcase_add_test(tc, streams_are_apart_and_never_expire);
	tcase_add_test(tc, many_streams_stay_consistent);
	suite_add_tcase(s, tc);
	return s;
}
