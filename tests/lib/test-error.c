/* test-error.c — th_seterr formats into the caller's buffer and returns the code it was given. */
#include <string.h>

#include "th-check.h"
#include "th-error.h"

START_TEST(seterr_formats_message_and_returns_code)
{
	char buf[TH_ERRLEN];

	ck_assert_int_eq(th_seterr(buf, TH_ERR_INVALID, "field \"%s\" must be %d", "sent", 3),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(buf, "field \"sent\" must be 3");
}
END_TEST

START_TEST(seterr_truncates_long_messages)
{
	char buf[TH_ERRLEN];
	char longarg[1000];

	memset(longarg, 'x', sizeof longarg - 1);
	longarg[sizeof longarg - 1] = '\0';
	th_seterr(buf, TH_ERR_IO, "%s", longarg);
	ck_assert_uint_eq(strlen(buf), TH_ERRLEN - 1);
}
END_TEST

START_TEST(seterr_accepts_null_buffer)
{
	ck_assert_int_eq(th_seterr(NULL, TH_ERR_NET, "ignored"), TH_ERR_NET);
}
END_TEST

START_TEST(strerror_names_every_code)
{
	for (int e = 0; e < TH_ERR__COUNT; e++)
		ck_assert_str_ne(th_strerror((th_err)e), "unknown error");
	ck_assert_str_eq(th_strerror((th_err)999), "unknown error");
	ck_assert_str_eq(th_strerror(TH_ERR_TIMEOUT), "timed out");
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, seterr_formats_message_and_returns_code);
	tcase_add_test(tc, seterr_truncates_long_messages);
	tcase_add_test(tc, seterr_accepts_null_buffer);
	tcase_add_test(tc, strerror_names_every_code);
	suite_add_tcase(s, tc);
	return s;
}
