/* test-vm-state.c — migration state detection over recorded sequences of vm.info documents:
 * success, rollback, the transient window, stuck past the timeout, lost VMs, cold migrations
 * and *_FAILURE states. Documents follow notes §3.5–3.7 (VM 42, host A = 2 node2, B = 3 node3,
 * request at t0 = 1718003600). */
#include <string.h>

#include "th-check.h"
#include "vm-doc.h"
#include "vm-state.h"

#define T0    1718003600LL
#define T1    1718003612LL
#define DOCSZ 16384

static const doc_hist rec0_open = {0, 2, "node2", 1718000000, 0, 1718000004, 0, 0};
static const doc_hist rec0_closed = {0, 2, "node2", 1718000000, T1, 1718000004, T1, 2};
static const doc_hist rec0_migrating = {0, 2, "node2", 1718000000, 0, 1718000004, 0, 2};
static const doc_hist rec1_appended = {1, 3, "node3", 0, 0, 0, 0, 0};
static const doc_hist rec1_started = {1, 3, "node3", T0, 0, 0, 0, 0};
static const doc_hist rec1_running = {1, 3, "node3", T0, 0, T1, 0, 0};
static const doc_hist rec1_failed = {1, 3, "node3", T0, T1, 0, 0, 0};
static const doc_hist rec2_rollback = {2, 2, "node2", T1, 0, T1, 0, 0};

/* Parse a document built from (state, lcm, error, history) and classify it. */
static mig_verdict observe(const mig_baseline *b, int state, int lcm, const char *error,
                           const doc_hist *h, int nh, double elapsed, double timeout)
{
	static char buf[DOCSZ];
	size_t n = vm_doc(buf, sizeof buf, 42, "migtest-1", state, lcm, error, h, nh);
	one_vm vm;
	mig_verdict v;

	ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
	mig_observe(b, &vm, elapsed, timeout, &v);
	one_vm_free(&vm);
	return v;
}

static mig_baseline baseline(const char *error0)
{
	static char buf[DOCSZ];
	size_t n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, 3, error0, &rec0_open, 1);
	one_vm vm;
	mig_baseline b;

	ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
	ck_assert_int_eq(mig_baseline_take(&b, &vm, 3, NULL), TH_OK);
	one_vm_free(&vm);
	return b;
}

START_TEST(live_success_sequence)
{
	mig_baseline b = baseline(NULL);
	doc_hist h[2];
	mig_verdict v;

	ck_assert_int_eq(b.s0, 0);
	ck_assert_int_eq(b.src_hid, 2);
	/* 1: transient window — RUNNING, record 1 on node3 with STIME 0: not success */
	h[0] = rec0_open;
	h[1] = rec1_appended;
	v = observe(&b, 3, 3, NULL, h, 2, 0.05, 30);
	ck_assert_int_eq(v.phase, MIG_WAITING);
	ck_assert(!v.started);
	ck_assert(!mig_phase_final(v.phase));
	/* 2: MIGRATE */
	h[0] = rec0_migrating;
	h[1] = rec1_started;
	v = observe(&b, 3, 4, NULL, h, 2, 0.4, 30);
	ck_assert_int_eq(v.phase, MIG_ACTIVE);
	ck_assert(v.started);
	ck_assert_int_eq(v.stime, T0);
	/* 3: RUNNING on node3, RSTIME set, record 0 closed */
	h[0] = rec0_closed;
	h[1] = rec1_running;
	v = observe(&b, 3, 3, NULL, h, 2, 12.2, 30);
	ck_assert_int_eq(v.phase, MIG_SUCCESS);
	ck_assert_int_eq(mig_phase_outcome(v.phase), TH_OUT_SUCCESS);
	ck_assert_int_eq(v.stime, T0);
	ck_assert_int_eq(v.rstime, T1);
	ck_assert_int_eq(v.etime, 0);
	ck_assert_str_eq(v.message, "");
}
END_TEST

START_TEST(rollback_reports_user_template_error)
{
	mig_baseline b = baseline(NULL);
	const char *err = "Mon Jun 10 07:13:32 2024: MIGRATE: error: operation failed: migration "
	                  "out job: unexpectedly failed";
	doc_hist h[3] = {rec0_closed, rec1_failed, rec2_rollback};
	mig_verdict v = observe(&b, 3, 3, err, h, 3, 12.3, 30);

	ck_assert_int_eq(v.phase, MIG_FAILED);
	ck_assert_int_eq(mig_phase_outcome(v.phase), TH_OUT_FAILED);
	ck_assert_str_eq(v.message, err);
	ck_assert_int_eq(v.stime, T0);
	ck_assert_int_eq(v.rstime, 0);
	ck_assert_int_eq(v.etime, T1);
}
END_TEST

START_TEST(rollback_with_stale_error_says_no_message)
{
	const char *old = "Sun Jun  9 10:00:00 2024: MIGRATE: an older failure";
	mig_baseline b = baseline(old);
	doc_hist h[3] = {rec0_closed, rec1_failed, rec2_rollback};
	mig_verdict v = observe(&b, 3, 3, old, h, 3, 12.3, 30);

	ck_assert_int_eq(v.phase, MIG_FAILED);
	ck_assert_str_eq(v.message, "OpenNebula rolled the VM back to the source host (no error "
	                            "message recorded)");
}
END_TEST

START_TEST(transient_window_is_never_success_and_times_out)
{
	mig_baseline b = baseline(NULL);
	doc_hist h[2] = {rec0_open, rec1_appended};
	mig_verdict v;

	for (double t = 0; t < 5; t += 0.2) {
		v = observe(&b, 3, 3, NULL, h, 2, t, 5);
		ck_assert_int_eq(v.phase, MIG_WAITING);
	}
	v = observe(&b, 3, 3, NULL, h, 2, 5.0, 5);
	ck_assert_int_eq(v.phase, MIG_TIMEOUT);
	/* only the baseline record (migrate reply not yet visible) is waiting too */
	v = observe(&b, 3, 3, NULL, &rec0_open, 1, 0.1, 5);
	ck_assert_int_eq(v.phase, MIG_WAITING);
}
END_TEST

START_TEST(stuck_in_migrate_past_timeout)
{
	mig_baseline b = baseline(NULL);
	doc_hist h[2] = {rec0_migrating, rec1_started};
	mig_verdict v = observe(&b, 3, 4, NULL, h, 2, 29.8, 30);

	ck_assert_int_eq(v.phase, MIG_ACTIVE);
	v = observe(&b, 3, 4, NULL, h, 2, 30.0, 30);
	ck_assert_int_eq(v.phase, MIG_TIMEOUT);
	ck_assert_int_eq(mig_phase_outcome(v.phase), TH_OUT_TIMEOUT);
	ck_assert_str_eq(v.message, "still MIGRATE after 30 s (timeout 30 s); OpenNebula has no "
	                            "cancel: resolve with 'onevm recover'");
	ck_assert_int_eq(v.stime, T0);
	/* no timeout configured: polls forever */
	v = observe(&b, 3, 4, NULL, h, 2, 3600, 0);
	ck_assert_int_eq(v.phase, MIG_ACTIVE);
}
END_TEST

START_TEST(lost_vm_states)
{
	mig_baseline b = baseline(NULL);
	doc_hist h[2] = {rec0_migrating, rec1_started};
	mig_verdict v;

	v = observe(&b, 8, 0, NULL, h, 2, 3, 30);
	ck_assert_int_eq(v.phase, MIG_LOST);
	ck_assert_str_eq(v.message, "VM went to POWEROFF during the migration");
	v = observe(&b, 3, 16, NULL, h, 2, 3, 30);
	ck_assert_int_eq(v.phase, MIG_LOST);
	ck_assert_str_eq(v.message, "VM went to UNKNOWN during the migration");
	v = observe(&b, 6, 0, NULL, h, 2, 3, 30);
	ck_assert_int_eq(v.phase, MIG_LOST);
	ck_assert_str_eq(v.message, "VM went to DONE during the migration");
	ck_assert_int_eq(mig_phase_outcome(v.phase), TH_OUT_LOST);
	mig_observe(&b, NULL, 3, 30, &v);
	ck_assert_int_eq(v.phase, MIG_LOST);
	ck_assert_str_eq(v.message, "VM no longer exists in OpenNebula (one.vm.info: NO_EXISTS)");
}
END_TEST

START_TEST(cold_migration_states_are_progress_then_success)
{
	mig_baseline b = baseline(NULL);
	doc_hist save0 = {0, 2, "node2", 1718000000, 0, 1718000004, 0, 1};
	doc_hist save1 = {1, 3, "node3", T0, 0, 0, 0, 1};
	doc_hist pro0 = {0, 2, "node2", 1718000000, T0 + 3, 1718000004, T0 + 3, 1};
	doc_hist pro1 = {1, 3, "node3", T0, 0, 0, 0, 1};
	doc_hist boot1 = {1, 3, "node3", T0, 0, T0 + 9, 0, 1};
	doc_hist done1 = {1, 3, "node3", T0, 0, T0 + 9, 0, 0};
	doc_hist h[2];
	mig_verdict v;

	/* save: SAVE_MIGRATE (7) → PROLOG_MIGRATE (8) → BOOT_MIGRATE (35) → RUNNING */
	h[0] = save0, h[1] = save1;
	v = observe(&b, 3, 7, NULL, h, 2, 1, 60);
	ck_assert_int_eq(v.phase, MIG_ACTIVE);
	h[0] = pro0, h[1] = pro1;
	v = observe(&b, 3, 8, NULL, h, 2, 4, 60);
	ck_assert_int_eq(v.phase, MIG_ACTIVE);
	/* RSTIME is already set during BOOT_MIGRATE: still not success until RUNNING */
	h[1] = boot1;
	v = observe(&b, 3, 35, NULL, h, 2, 9, 60);
	ck_assert_int_eq(v.phase, MIG_ACTIVE);
	/* poweroff types boot fresh: BOOT (2) */
	v = observe(&b, 3, 2, NULL, h, 2, 9, 60);
	ck_assert_int_eq(v.phase, MIG_ACTIVE);
	h[1] = done1;
	v = observe(&b, 3, 3, NULL, h, 2, 11, 60);
	ck_assert_int_eq(v.phase, MIG_SUCCESS);
	ck_assert_int_eq(v.rstime, T0 + 9);
}
END_TEST

START_TEST(failure_lcm_states_are_failed_and_named)
{
	static const int states[] = {36, 37, 38, 44, 46, 61};
	static const char *names[] = {"BOOT_FAILURE",
	                              "BOOT_MIGRATE_FAILURE",
	                              "PROLOG_MIGRATE_FAILURE",
	                              "PROLOG_MIGRATE_POWEROFF_FAILURE",
	                              "PROLOG_MIGRATE_SUSPEND_FAILURE",
	                              "PROLOG_MIGRATE_UNKNOWN_FAILURE"};
	mig_baseline b = baseline(NULL);
	doc_hist h[2] = {rec0_closed, rec1_started};
	char want[256];

	for (int i = 0; i < 6; i++) {
		mig_verdict v = observe(&b, 3, states[i], NULL, h, 2, 5, 60);

		ck_assert_int_eq(v.phase, MIG_FAILED);
		snprintf(want, sizeof want,
		         "VM entered %s; OpenNebula waits for 'onevm recover' on it", names[i]);
		ck_assert_str_eq(v.message, want);
	}
	/* with a new driver error, the error is the message */
	mig_verdict v = observe(&b, 3, 38, "Tue: MIGRATE: rsync failed", h, 2, 5, 60);
	ck_assert_str_eq(v.message, "Tue: MIGRATE: rsync failed");
}
END_TEST

START_TEST(baseline_refuses_vm_not_running)
{
	char buf[DOCSZ], err[TH_ERRLEN];
	size_t n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, 4, NULL, &rec0_open, 1);
	one_vm vm;
	mig_baseline b;

	ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
	ck_assert_int_eq(mig_baseline_take(&b, &vm, 3, err), TH_ERR_STATE);
	ck_assert_str_eq(err, "VM 42 (migtest-1) is MIGRATE, not RUNNING");
	one_vm_free(&vm);
	n = vm_doc(buf, sizeof buf, 42, "migtest-1", 1, 0, NULL, NULL, 0);
	ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
	ck_assert_int_eq(mig_baseline_take(&b, &vm, 3, err), TH_ERR_STATE);
	ck_assert_str_eq(err, "VM 42 (migtest-1) has no history record: not deployed");
	one_vm_free(&vm);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("vm-state");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, live_success_sequence);
	tcase_add_test(tc, rollback_reports_user_template_error);
	tcase_add_test(tc, rollback_with_stale_error_says_no_message);
	tcase_add_test(tc, transient_window_is_never_success_and_times_out);
	tcase_add_test(tc, stuck_in_migrate_past_timeout);
	tcase_add_test(tc, lost_vm_states);
	tcase_add_test(tc, cold_migration_states_are_progress_then_success);
	tcase_add_test(tc, failure_lcm_states_are_failed_and_named);
	tcase_add_test(tc, baseline_refuses_vm_not_running);
	suite_add_tcase(s, tc);
	return s;
}
