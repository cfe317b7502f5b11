/* th-check.h — the main() every Check unit test binary shares: runs the suite built by
 * th_test_suite() and exits non-zero on any failure (automake reads the exit code, .ci/run reads
 * Check's "Checks: N, Failures: N, Errors: N" line from the log). */
#ifndef TH_CHECK_H
#define TH_CHECK_H

#include <check.h>
#include <stdlib.h>

Suite *th_test_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(th_test_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
