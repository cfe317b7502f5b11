/* test-time.c — the monotonic→epoch anchor converts exactly and sleeping honours deadlines. */
#include <math.h>

#include "th-check.h"
#include "th-time.h"

START_TEST(anchor_converts_offsets_exactly)
{
	th_clock c = {.mono0_ns = 5 * TH_NS_PER_SEC, .wall0_ns = 1700000000LL * TH_NS_PER_SEC};

	ck_assert_int_eq(th_clock_to_wall_ns(&c, 5 * TH_NS_PER_SEC + 1234567),
	                 1700000000LL * TH_NS_PER_SEC + 1234567);
	ck_assert_double_eq_tol(th_clock_to_epoch(&c, 6 * TH_NS_PER_SEC + 250 * TH_NS_PER_MS),
	                        1700000001.25, 1e-6);
	/* before the anchor too */
	ck_assert_double_eq_tol(th_clock_to_epoch(&c, 4 * TH_NS_PER_SEC), 1699999999.0, 1e-6);
}
END_TEST

START_TEST(anchor_matches_wall_clock_now)
{
	th_clock c;

	th_clock_init(&c);
	double now = (double)th_wall_ns() / 1e9;
	ck_assert(fabs(th_clock_to_epoch(&c, th_mono_ns()) - now) < 0.05);
}
END_TEST

START_TEST(sleep_until_waits_for_the_deadline)
{
	int64_t t0 = th_mono_ns();

	th_sleep_until_ns(t0 + 20 * TH_NS_PER_MS);
	ck_assert_int_ge(th_mono_ns() - t0, 20 * TH_NS_PER_MS);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("time");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, anchor_converts_offsets_exactly);
	tcase_add_test(tc, anchor_matches_wall_clock_now);
	tcase_add_test(tc, sleep_until_waits_for_the_deadline);
	suite_add_tcase(s, tc);
	return s;
}
