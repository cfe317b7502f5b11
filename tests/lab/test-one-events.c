/* test-one-events.c — the hook-manager events of the lab endpoint, without a socket: which
 * STATE/LCM_STATE changes the model reports (and with which history already written), the two
 * keys of oned's driver, the HOOK_MESSAGE document and its base64. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "one-events.h"
#include "one-model.h"
#include "one-xml.h"
#include "th-check.h"

static one_model m;

/* What the state callback saw: "STATE/LCM nhist stime-of-last rstime-of-last;" per change. */
static char seen[1024];

static void record(void *ctx, const lab_vm *vm)
{
	const lab_history *last = &vm->hist[vm->nhist - 1];
	size_t n = strlen(seen);

	ck_assert_ptr_eq(ctx, &m);
	snprintf(seen + n, sizeof seen - n, "%d/%d %zu %ld %ld;", vm->state, vm->lcm_state,
	         vm->nhist, last->stime, last->rstime);
}

static void setup(void)
{
	setenv("TZ", "UTC", 1);
	one_model_init(&m);
	ck_assert_int_eq(one_model_add_host(&m, "host0", 1048576, 100), 0);
	ck_assert_int_eq(one_model_add_host(&m, "host1", 1048576, 100), 1);
	ck_assert_int_eq(one_model_add_vm(&m, "vm0", 0, 1, 128, NULL, NULL, 1000), 0);
	ck_assert_int_eq(one_model_add_vm(&m, "vm1", 1, 1, 128, NULL, NULL, 1000), 1);
	seen[0] = '\0';
	one_model_on_state(&m, record, &m);
}

static void teardown(void)
{
	one_model_free(&m);
}

START_TEST(live_migration_reports_migrate_then_running)
{
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	/* the transient window is no state change */
	ck_assert_str_eq(seen, "");
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(one_migrate_success(&m, 0, 2003), 0);
	/* each change is reported once its history record is written */
	ck_assert_str_eq(seen, "3/4 2 2000 0;3/3 2 2000 2003;");
}
END_TEST

START_TEST(failed_migration_reports_running_with_the_rollback_record)
{
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(one_migrate_failure(&m, 0, "broken", 2012), 0);
	ck_assert_str_eq(seen, "3/4 2 2000 0;3/3 3 2012 2012;");
}
END_TEST

START_TEST(lost_vm_reports_rollback_then_poweroff_then_resume)
{
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(one_migrate_lost(&m, 0, "gone", 2005), 0);
	ck_assert_int_eq(one_vm_action(&m, "resume", 0, 2100, &f), 0);
	ck_assert_int_eq(one_vm_booted(&m, 0, 2101), 0);
	ck_assert_str_eq(
	    seen, "3/4 2 2000 0;3/3 3 2005 2005;8/0 3 2005 2005;3/20 3 2005 2005;3/3 3 2005 2005;");
}
END_TEST

START_TEST(cold_migration_reports_every_phase)
{
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 1, 0, 0, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 1, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(one_migrate_success(&m, 1, 2009), 0);
	ck_assert_str_eq(seen, "3/7 2 2000 0;3/8 2 2000 0;3/35 2 2000 2009;3/3 2 2000 2009;");
}
END_TEST

START_TEST(recover_and_set_state_report_changes_only)
{
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(one_vm_recover(&m, 0, ONE_RECOVER_FAILURE, 2050, &f), 0);
	/* the same state again is no change */
	ck_assert_int_eq(one_vm_set_state(&m, 0, ONE_VM_ACTIVE, ONE_LCM_RUNNING), 0);
	ck_assert_int_eq(one_vm_set_state(&m, 0, ONE_VM_POWEROFF, ONE_LCM_INIT), 0);
	ck_assert_int_eq(one_vm_set_state(&m, 9, ONE_VM_POWEROFF, ONE_LCM_INIT), -1);
	ck_assert_str_eq(seen, "3/4 2 2000 0;3/3 3 2050 2050;8/0 3 2050 2050;");
}
END_TEST

START_TEST(keys_are_the_drivers_two_keys_with_a_trailing_space)
{
	char kv[ONE_EVENT_KEYLEN], ks[ONE_EVENT_KEYLEN];
	lab_vm *vm = one_model_vm(&m, 1);
	one_fail f;

	one_event_keys(vm, kv, ks);
	ck_assert_str_eq(kv, "EVENT VM 1/ACTIVE/RUNNING ");
	ck_assert_str_eq(ks, "EVENT STATE VM/ACTIVE/RUNNING/1 ");
	ck_assert_int_eq(one_migrate_request(&m, 1, 0, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 1, 0, 0, 7, 2000), 0);
	one_event_keys(vm, kv, ks);
	ck_assert_str_eq(kv, "EVENT VM 1/ACTIVE/MIGRATE ");
	ck_assert_str_eq(ks, "EVENT STATE VM/ACTIVE/MIGRATE/1 ");
	ck_assert_int_eq(one_migrate_lost(&m, 1, "gone", 2005), 0);
	one_event_keys(vm, kv, ks);
	ck_assert_str_eq(kv, "EVENT VM 1/POWEROFF/LCM_INIT ");
	ck_assert_str_eq(ks, "EVENT STATE VM/POWEROFF/LCM_INIT/1 ");
	vm->state = ONE_VM_ACTIVE;
	vm->lcm_state = ONE_LCM_BOOT_MIGRATE;
	one_event_keys(vm, kv, ks);
	ck_assert_str_eq(ks, "EVENT STATE VM/ACTIVE/BOOT_MIGRATE/1 ");
}
END_TEST

START_TEST(hook_message_wraps_the_vm_document)
{
	one_buf b = {0}, vmdoc = {0};
	const char *head = "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT>"
	                   "<STATE>ACTIVE</STATE><LCM_STATE>MIGRATE</LCM_STATE>"
	                   "<RESOURCE_ID>0</RESOURCE_ID><REMOTE_HOST>host1</REMOTE_HOST>";
	lab_vm *vm = one_model_vm(&m, 0);
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	one_hook_message(&b, vm, &one_lab_owner);
	one_xml_vm(&vmdoc, vm, &one_lab_owner);
	ck_assert(!b.failed);
	ck_assert_uint_eq(b.len, strlen(head) + vmdoc.len + strlen("</HOOK_MESSAGE>"));
	ck_assert_int_eq(strncmp(b.s, head, strlen(head)), 0);
	ck_assert_int_eq(strncmp(b.s + strlen(head), vmdoc.s, vmdoc.len), 0);
	ck_assert_str_eq(b.s + strlen(head) + vmdoc.len, "</HOOK_MESSAGE>");
	/* the VM document carries numbers, the hook message names */
	ck_assert_ptr_nonnull(strstr(vmdoc.s, "<STATE>3</STATE><LCM_STATE>4</LCM_STATE>"));
	one_buf_free(&b);
	one_buf_free(&vmdoc);
}
END_TEST

START_TEST(base64_is_standard_padded_and_unwrapped)
{
	static const struct {
		const char *in, *out;
	} v[] = {{"", ""},
	         {"f", "Zg=="},
	         {"fo", "Zm8="},
	         {"foo", "Zm9v"},
	         {"foob", "Zm9vYg=="},
	         {"fooba", "Zm9vYmE="},
	         {"foobar", "Zm9vYmFy"},
	         {"\xfb\xff", "+/8="}};
	char big[300], *out;
	size_t len;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ck_assert_int_eq(one_base64(v[i].in, strlen(v[i].in), &out, &len, NULL), TH_OK);
		ck_assert_str_eq(out, v[i].out);
		ck_assert_uint_eq(len, strlen(v[i].out));
		free(out);
	}
	memset(big, 'x', sizeof big);
	ck_assert_int_eq(one_base64(big, sizeof big, &out, &len, NULL), TH_OK);
	ck_assert_uint_eq(len, 400);
	ck_assert_ptr_null(strchr(out, '\n'));
	free(out);
}
END_TEST

START_TEST(event_payload_decodes_to_the_hook_message)
{
	one_buf b = {0};
	one_event ev;
	unsigned char *bin;
	size_t binlen;
	char err[TH_ERRLEN];

	ck_assert_int_eq(one_event_build(&ev, one_model_vm(&m, 1), &one_lab_owner, err), TH_OK);
	ck_assert_str_eq(ev.key_vm, "EVENT VM 1/ACTIVE/RUNNING ");
	ck_assert_str_eq(ev.key_state, "EVENT STATE VM/ACTIVE/RUNNING/1 ");
	one_hook_message(&b, one_model_vm(&m, 1), &one_lab_owner);
	ck_assert_uint_eq(ev.payload_len, strlen(ev.payload));
	bin = malloc(ev.payload_len);
	ck_assert_int_eq(sodium_base642bin(bin, ev.payload_len, ev.payload, ev.payload_len, NULL,
	                                   &binlen, NULL, sodium_base64_VARIANT_ORIGINAL),
	                 0);
	ck_assert_uint_eq(binlen, b.len);
	ck_assert_int_eq(memcmp(bin, b.s, b.len), 0);
	free(bin);
	one_buf_free(&b);
	one_event_free(&ev);
	ck_assert_ptr_null(ev.payload);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("one-events");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, live_migration_reports_migrate_then_running);
	tcase_add_test(tc, failed_migration_reports_running_with_the_rollback_record);
	tcase_add_test(tc, lost_vm_reports_rollback_then_poweroff_then_resume);
	tcase_add_test(tc, cold_migration_reports_every_phase);
	tcase_add_test(tc, recover_and_set_state_report_changes_only);
	tcase_add_test(tc, keys_are_the_drivers_two_keys_with_a_trailing_space);
	tcase_add_test(tc, hook_message_wraps_the_vm_document);
	tcase_add_test(tc, base64_is_standard_padded_and_unwrapped);
	tcase_add_test(tc, event_payload_decodes_to_the_hook_message);
	suite_add_tcase(s, tc);
	return s;
}
