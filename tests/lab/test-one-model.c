/* test-one-model.c — the lab endpoint's OpenNebula state machine and XML documents, driven
 * with exact times: migrate validation order and texts, the transient window, success, the
 * 3-record rollback with USER_TEMPLATE/ERROR, loss, resume, recover, pool filters, faults, and
 * context.sh parsing into TEMPLATE/CONTEXT. */
#include <stdlib.h>
#include <string.h>

#include "one-fault.h"
#include "one-model.h"
#include "one-xml.h"
#include "th-check.h"

static one_model m;
static const one_owner owner = {"oneadmin", "oneadmin"};

static void setup(void)
{
	setenv("TZ", "UTC", 1);
	one_model_init(&m);
	ck_assert_int_eq(one_model_add_host(&m, "host0", 1048576, 100), 0);
	ck_assert_int_eq(one_model_add_host(&m, "host1", 1048576, 100), 1);
	ck_assert_int_eq(one_model_add_host(&m, "host2", 1048576, 100), 2);
	ck_assert_int_eq(
	    one_model_add_vm(&m, "vm0", 0, 1, 128, "10.77.0.100", "52:54:00:77:00:00", 1000), 0);
}

static void teardown(void)
{
	one_model_free(&m);
}

#define H(i) (one_model_vm(&m, 0)->hist[i])

START_TEST(new_vm_runs_with_one_open_record)
{
	lab_vm *vm = one_model_vm(&m, 0);

	ck_assert_int_eq(vm->state, 3);
	ck_assert_int_eq(vm->lcm_state, 3);
	ck_assert_uint_eq(vm->nhist, 1);
	ck_assert_int_eq(H(0).stime, 1000);
	ck_assert_int_eq(H(0).rstime, 1000);
	ck_assert_int_eq(H(0).etime, 0);
	ck_assert_int_eq(lab_vm_hid(vm), 0);
}
END_TEST

START_TEST(migrate_validation_order_and_messages)
{
	one_fail f;

	/* unknown host wins over unknown VM */
	ck_assert_int_eq(one_migrate_request(&m, 99, 9, 1, -1, &f), -1);
	ck_assert_int_eq(f.code, 1024);
	ck_assert_int_eq(f.resp_id, 9);
	ck_assert_str_eq(f.msg, "Error getting host [9].");
	m.hosts[2].state = ONE_HOST_OFFLINE;
	ck_assert_int_eq(one_migrate_request(&m, 0, 2, 1, -1, &f), -1);
	ck_assert_int_eq(f.code, 2048);
	ck_assert_str_eq(f.msg, "Host is offline, cannot use it to deploy VM");
	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, 5, &f), -1);
	ck_assert_int_eq(f.code, 1024);
	ck_assert_int_eq(f.resp_id, 5);
	ck_assert_str_eq(f.msg, "Error getting datastore [5].");
	ck_assert_int_eq(one_migrate_request(&m, 42, 1, 1, -1, &f), -1);
	ck_assert_int_eq(f.code, 1024);
	ck_assert_int_eq(f.resp_id, 42);
	ck_assert_str_eq(f.msg, "Error getting virtual machine [42].");
	ck_assert_int_eq(one_migrate_request(&m, 0, 0, 1, -1, &f), -1);
	ck_assert_int_eq(f.code, 2048);
	ck_assert_int_eq(f.resp_id, -1);
	ck_assert_str_eq(f.msg, "VM is already running on host [0]");
	ck_assert_uint_eq(one_model_vm(&m, 0)->nhist, 1);
}
END_TEST

START_TEST(live_migration_success_sequence)
{
	lab_vm *vm = one_model_vm(&m, 0);
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	/* transient window: RUNNING, record n+1 on the target with STIME 0 */
	ck_assert_int_eq(vm->lcm_state, 3);
	ck_assert_uint_eq(vm->nhist, 2);
	ck_assert_int_eq(H(1).hid, 1);
	ck_assert_str_eq(H(1).hostname, "host1");
	ck_assert_int_eq(H(1).stime, 0);
	ck_assert_int_eq(H(1).uid, -1);
	/* a second request in the window: previous record still open */
	ck_assert_int_eq(one_migrate_request(&m, 0, 2, 1, -1, &f), -1);
	ck_assert_str_eq(f.msg, "Migrate action is not available for state RUNNING");
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(vm->lcm_state, 4);
	ck_assert_int_eq(H(1).stime, 2000);
	ck_assert_int_eq(H(0).action, 2);
	ck_assert_int_eq(H(0).uid, 0);
	ck_assert_int_eq(H(0).request_id, 7);
	ck_assert_int_eq(H(1).request_id, -1);
	ck_assert_int_eq(H(1).action, 0);
	ck_assert_int_eq(one_migrate_request(&m, 0, 2, 1, -1, &f), -1);
	ck_assert_int_eq(f.code, 2048);
	ck_assert_str_eq(f.msg, "Migrate action is not available for state MIGRATE");
	ck_assert_int_eq(one_migrate_success(&m, 0, 2003), 0);
	ck_assert_int_eq(vm->lcm_state, 3);
	ck_assert_int_eq(H(1).rstime, 2003);
	ck_assert_int_eq(H(1).etime, 0);
	ck_assert_int_eq(H(0).etime, 2003);
	ck_assert_int_eq(H(0).retime, 2003);
	ck_assert_int_eq(lab_vm_hid(vm), 1);
	ck_assert_str_eq(vm->error, "");
	/* and back again */
	ck_assert_int_eq(one_migrate_request(&m, 0, 0, 1, -1, &f), 0);
	ck_assert_int_eq(H(2).seq, 2);
}
END_TEST

START_TEST(failure_rolls_back_with_three_records_and_error)
{
	lab_vm *vm = one_model_vm(&m, 0);
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(one_migrate_failure(&m, 0, "migration out job: unexpectedly failed", 2012),
	                 0);
	ck_assert_int_eq(vm->state, 3);
	ck_assert_int_eq(vm->lcm_state, 3);
	ck_assert_uint_eq(vm->nhist, 3);
	ck_assert_int_eq(H(0).etime, 2012);
	ck_assert_int_eq(H(0).retime, 2012);
	ck_assert_int_eq(H(1).etime, 2012);
	ck_assert_int_eq(H(1).rstime, 0);
	ck_assert_int_eq(H(2).seq, 2);
	ck_assert_int_eq(H(2).hid, 0);
	ck_assert_str_eq(H(2).hostname, "host0");
	ck_assert_int_eq(H(2).stime, 2012);
	ck_assert_int_eq(H(2).rstime, 2012);
	ck_assert_int_eq(H(2).etime, 0);
	ck_assert_int_eq(H(2).pstime, 0);
	ck_assert_int_eq(H(2).action, 0);
	ck_assert_int_eq(H(2).uid, -1);
	ck_assert_str_eq(vm->error, "Thu Jan  1 00:33:32 1970: MIGRATE: migration out job: "
	                            "unexpectedly failed");
	ck_assert_int_eq(lab_vm_hid(vm), 0);
	/* the VM may migrate again at once */
	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
}
END_TEST

START_TEST(error_is_cut_at_100_characters)
{
	char out[ONE_ERRORLEN], msg[300];

	memset(msg, 'x', 200);
	msg[200] = '\0';
	one_format_error(out, sizeof out, "MIGRATE", msg, 0);
	/* "MIGRATE: " is 9 characters: 91 x follow */
	ck_assert_int_eq(strncmp(out, "Thu Jan  1 00:00:00 1970: MIGRATE: xxx", 38), 0);
	ck_assert_uint_eq(strlen(out), 26 + 100 + strlen("... see more details in VM log"));
	ck_assert_str_eq(out + 126, "... see more details in VM log");
}
END_TEST

START_TEST(lost_vm_ends_in_poweroff_and_resume_boots_it)
{
	lab_vm *vm = one_model_vm(&m, 0);
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(one_migrate_lost(&m, 0, "domain vanished", 2005), 0);
	ck_assert_int_eq(vm->state, 8);
	ck_assert_int_eq(vm->lcm_state, 0);
	ck_assert_uint_eq(vm->nhist, 3);
	ck_assert_str_eq(lab_vm_state_str(vm), "POWEROFF");
	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), -1);
	ck_assert_str_eq(f.msg, "Migrate action is not available for state POWEROFF");
	ck_assert_int_eq(one_vm_action(&m, "dance", 0, 2006, &f), -1);
	ck_assert_int_eq(f.code, 2048);
	ck_assert_str_eq(f.msg, "Action \"dance\" is not supported");
	ck_assert_int_eq(one_vm_action(&m, "resume", 7, 2006, &f), -1);
	ck_assert_int_eq(f.code, 1024);
	ck_assert_int_eq(one_vm_action(&m, "resume", 0, 2006, &f), 0);
	ck_assert_int_eq(vm->state, 3);
	ck_assert_int_eq(vm->lcm_state, 20);
	ck_assert_int_eq(one_vm_booted(&m, 0, 2007), 0);
	ck_assert_int_eq(vm->lcm_state, 3);
	ck_assert_int_eq(one_vm_action(&m, "resume", 0, 2008, &f), -1);
	ck_assert_str_eq(f.msg, "Error performing action \"resume\": This action is not available "
	                        "for state RUNNING");
}
END_TEST

START_TEST(recover_resolves_a_stuck_migration)
{
	lab_vm *vm = one_model_vm(&m, 0);
	one_fail f;

	ck_assert_int_eq(one_vm_recover(&m, 0, 1, 1500, &f), -1);
	ck_assert_str_eq(f.msg, "Recover action is not available for state RUNNING");
	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(one_vm_recover(&m, 0, 0, 2100, &f), 0);
	ck_assert_int_eq(vm->lcm_state, 3);
	ck_assert_uint_eq(vm->nhist, 3);
	ck_assert_int_eq(H(1).etime, 2100);
	ck_assert_str_eq(vm->error, ""); /* no driver message */
	ck_assert_int_eq(one_migrate_request(&m, 0, 2, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2200), 0);
	ck_assert_int_eq(one_vm_recover(&m, 0, 1, 2300, &f), 0);
	ck_assert_int_eq(H(3).rstime, 2300);
	ck_assert_int_eq(lab_vm_hid(vm), 2);
	/* a late driver answer no longer applies */
	ck_assert_int_eq(one_migrate_failure(&m, 0, "late", 2301), -1);
}
END_TEST

START_TEST(cold_migration_walks_save_prolog_boot)
{
	lab_vm *vm = one_model_vm(&m, 0);
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 0, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	ck_assert_int_eq(vm->lcm_state, 7);
	ck_assert_int_eq(H(0).action, 1);
	ck_assert_int_eq(H(1).action, 1);
	ck_assert_int_eq(one_migrate_saved(&m, 0, 2001), 0);
	ck_assert_int_eq(vm->lcm_state, 8);
	ck_assert_int_eq(H(0).etime, 2001);
	ck_assert_int_eq(H(1).pstime, 2001);
	ck_assert_int_eq(one_migrate_prologued(&m, 0, 2002), 0);
	ck_assert_int_eq(vm->lcm_state, 35);
	ck_assert_int_eq(H(1).petime, 2002);
	ck_assert_int_eq(H(1).rstime, 2002);
	ck_assert_int_eq(one_migrate_success(&m, 0, 2003), 0);
	ck_assert_int_eq(vm->lcm_state, 3);
	ck_assert_int_eq(H(1).action, 0);
}
END_TEST

START_TEST(vm_xml_has_every_history_record_in_order)
{
	one_buf b = {0};
	one_fail f;

	ck_assert_int_eq(one_migrate_request(&m, 0, 1, 1, -1, &f), 0);
	ck_assert_int_eq(one_migrate_begin(&m, 0, 0, 0, 7, 2000), 0);
	one_xml_vm(&b, one_model_vm(&m, 0), &owner);
	ck_assert_ptr_nonnull(
	    strstr(b.s, "<STATE>3</STATE><LCM_STATE>4</LCM_STATE><PREV_STATE>3</PREV_STATE>"
	                "<PREV_LCM_STATE>4</PREV_LCM_STATE><RESCHED>0</RESCHED><STIME>1000</STIME>"
	                "<ETIME>0</ETIME><DEPLOY_ID>one-0</DEPLOY_ID>"));
	ck_assert_ptr_nonnull(strstr(
	    b.s,
	    "<HISTORY><OID>0</OID><SEQ>1</SEQ><HOSTNAME>host1</HOSTNAME><HID>1</HID><CID>0</CID>"
	    "<STIME>2000</STIME><ETIME>0</ETIME><VM_MAD><![CDATA[kvm]]></VM_MAD>"
	    "<TM_MAD><![CDATA[shared]]></TM_MAD><DS_ID>0</DS_ID><PSTIME>0</PSTIME>"
	    "<PETIME>0</PETIME><RSTIME>0</RSTIME><RETIME>0</RETIME><ESTIME>0</ESTIME>"
	    "<EETIME>0</EETIME><ACTION>0</ACTION><UID>-1</UID><GID>-1</GID>"
	    "<REQUEST_ID>-1</REQUEST_ID></HISTORY></HISTORY_RECORDS>"));
	ck_assert_ptr_nonnull(strstr(b.s, "<SEQ>0</SEQ><HOSTNAME>host0</HOSTNAME>"));
	ck_assert_ptr_nonnull(strstr(b.s, "<ACTION>2</ACTION><UID>0</UID><GID>0</GID>"));
	ck_assert_ptr_nonnull(strstr(b.s, "<NIC><IP><![CDATA[10.77.0.100]]></IP>"));
	ck_assert_ptr_nonnull(strstr(
	    b.s, "<USER_TEMPLATE><THEMIS_TYPE><![CDATA[VM]]></THEMIS_TYPE></USER_TEMPLATE>"));
	ck_assert_int_eq(strncmp(b.s, "<VM><ID>0</ID>", 14), 0);
	one_buf_free(&b);
	/* an unprepared VM has an empty USER_TEMPLATE */
	one_model_vm(&m, 0)->unprepared = 1;
	memset(&b, 0, sizeof b);
	one_xml_vm(&b, one_model_vm(&m, 0), &owner);
	ck_assert_ptr_nonnull(strstr(b.s, "<USER_TEMPLATE/>"));
	one_buf_free(&b);
}
END_TEST

START_TEST(pool_xml_filters_and_short_history)
{
	one_buf b = {0};
	one_fail f;

	ck_assert_int_eq(one_model_add_vm(&m, "vm1", 1, 1, 128, NULL, NULL, 1000), 1);
	ck_assert_int_eq(one_xml_vmpool(&b, &m, &owner, -2, -1, -1, -1, &f), 0);
	ck_assert_ptr_nonnull(strstr(b.s, "<NAME>vm0</NAME>"));
	ck_assert_ptr_nonnull(strstr(b.s, "<NAME>vm1</NAME>"));
	ck_assert_ptr_nonnull(strstr(
	    b.s, "<HISTORY_RECORDS><HISTORY><OID>1</OID><SEQ>0</SEQ>"
	         "<HOSTNAME><![CDATA[host1]]></HOSTNAME><HID>1</HID><CID>0</CID><DS_ID>0</DS_ID>"
	         "<VM_MAD><![CDATA[kvm]]></VM_MAD><TM_MAD><![CDATA[shared]]></TM_MAD>"
	         "<ACTION><![CDATA[0]]></ACTION></HISTORY></HISTORY_RECORDS></VM></VM_POOL>"));
	ck_assert_ptr_null(strstr(b.s, "STIME>1000</RSTIME"));
	one_buf_free(&b);
	ck_assert_int_eq(one_xml_vmpool(&b, &m, &owner, -2, 1, -1, -1, &f), 0);
	ck_assert_ptr_null(strstr(b.s, "<NAME>vm0</NAME>"));
	one_buf_free(&b);
	ck_assert_int_eq(one_xml_vmpool(&b, &m, &owner, -2, 0, -1, 8, &f), 0);
	ck_assert_str_eq(b.s, "<VM_POOL></VM_POOL>");
	one_buf_free(&b);
	ck_assert_int_eq(one_xml_vmpool(&b, &m, &owner, -2, 0, -1, -1, &f), 0);
	ck_assert_ptr_nonnull(strstr(b.s, "<NAME>vm1</NAME>"));
	one_buf_free(&b);
	ck_assert_int_eq(one_xml_vmpool(&b, &m, &owner, -5, -1, -1, -1, &f), -1);
	ck_assert_int_eq(f.code, 4096);
	ck_assert_str_eq(f.msg, "Incorrect filter_flag");
	one_buf_free(&b);
	ck_assert_int_eq(one_xml_vmpool(&b, &m, &owner, -2, -1, -1, 12, &f), -1);
	ck_assert_str_eq(f.msg, "Incorrect filter_flag, state");
	one_buf_free(&b);
}
END_TEST

START_TEST(host_xml_lists_its_vms)
{
	one_buf b = {0};

	one_xml_hostpool(&b, &m);
	ck_assert_ptr_nonnull(strstr(b.s, "<HOST_POOL><HOST><ID>0</ID><NAME>host0</NAME>"
	                                  "<STATE>2</STATE><PREV_STATE>2</PREV_STATE>"));
	ck_assert_ptr_nonnull(
	    strstr(b.s, "<MEM_USAGE>131072</MEM_USAGE><CPU_USAGE>100</CPU_USAGE>"));
	ck_assert_ptr_nonnull(strstr(b.s, "<RUNNING_VMS>1</RUNNING_VMS>"));
	ck_assert_ptr_nonnull(strstr(b.s, "<VMS><ID>0</ID></VMS>"));
	ck_assert_ptr_nonnull(strstr(b.s, "<HOST><ID>1</ID><NAME>host1</NAME>"));
	ck_assert_ptr_nonnull(strstr(b.s, "<VMS></VMS>"));
	one_buf_free(&b);
}
END_TEST

START_TEST(cdata_splits_terminator)
{
	one_buf b = {0};

	one_buf_cdata(&b, "a]]>b");
	ck_assert_str_eq(b.s, "<![CDATA[a]]]]><![CDATA[>b]]>");
	one_buf_free(&b);
	one_buf_text(&b, "<a&b>");
	ck_assert_str_eq(b.s, "&lt;a&amp;b&gt;");
	one_buf_free(&b);
}
END_TEST

START_TEST(fault_lines_parse_exactly)
{
	char err[TH_ERRLEN];
	lab_fault f;

	ck_assert_int_eq(lab_fault_parse("fail\n", &f, err), TH_OK);
	ck_assert_int_eq(f.kind, LAB_FAULT_FAIL);
	ck_assert_int_eq(lab_fault_parse("  hang ", &f, err), TH_OK);
	ck_assert_int_eq(f.kind, LAB_FAULT_HANG);
	ck_assert_int_eq(lab_fault_parse("lose", &f, err), TH_OK);
	ck_assert_int_eq(f.kind, LAB_FAULT_LOSE);
	ck_assert_int_eq(lab_fault_parse("slow 2500\n", &f, err), TH_OK);
	ck_assert_int_eq(f.kind, LAB_FAULT_SLOW);
	ck_assert_int_eq(f.slow_ms, 2500);
	ck_assert_int_eq(lab_fault_parse("", &f, err), TH_OK);
	ck_assert_int_eq(f.kind, LAB_FAULT_NONE);
	ck_assert_int_eq(lab_fault_parse("slow", &f, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "fault \"slow\" needs a positive number of milliseconds, got \"\"");
	ck_assert_int_eq(lab_fault_parse("explode", &f, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "unknown fault \"explode\" (fail, hang, lose, slow MS)");
	ck_assert_int_eq(lab_fault_parse("fail now", &f, err), TH_ERR_INVALID);
}
END_TEST

START_TEST(context_sh_becomes_template_context)
{
	static const char text[] = "# Context variables generated by OpenNebula\n"
	                           "ETH0_IP='10.77.0.100'\n"
	                           "\n"
	                           "SET_HOSTNAME='vm0'\r\n"
	                           "QUOTE='it'\\''s <ok> & ]]> done'\n"
	                           "EMPTY=''\n"
	                           "THEMIS_TYPE='VM'";
	char err[TH_ERRLEN];
	one_ctxvar *v = NULL;
	one_buf b = {0};
	lab_vm *vm = one_model_vm(&m, 0);
	size_t n = 0;

	ck_assert_int_eq(one_context_parse(text, "vm0/context.sh", &v, &n, err), TH_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(v[0].name, "ETH0_IP");
	ck_assert_str_eq(v[0].value, "10.77.0.100");
	ck_assert_str_eq(v[1].value, "vm0");
	ck_assert_str_eq(one_context_get(v, n, "QUOTE"), "it's <ok> & ]]> done");
	ck_assert_str_eq(one_context_get(v, n, "EMPTY"), "");
	ck_assert_str_eq(one_context_get(v, n, "THEMIS_TYPE"), "VM");
	ck_assert_ptr_null(one_context_get(v, n, "NETWORK"));
	/* TEMPLATE/CONTEXT is exactly the file's variables, in its order */
	vm->ctx = v;
	vm->nctx = n;
	one_xml_vm(&b, vm, &owner);
	ck_assert_ptr_nonnull(strstr(
	    b.s,
	    "<TEMPLATE><CONTEXT><ETH0_IP><![CDATA[10.77.0.100]]></ETH0_IP>"
	    "<SET_HOSTNAME><![CDATA[vm0]]></SET_HOSTNAME>"
	    "<QUOTE><![CDATA[it's <ok> & ]]]]><![CDATA[> done]]></QUOTE><EMPTY><![CDATA[]]></EMPTY>"
	    "<THEMIS_TYPE><![CDATA[VM]]></THEMIS_TYPE></CONTEXT><CPU>"));
	one_buf_free(&b);
	/* malformed lines are refused naming the file and the line */
	ck_assert_int_eq(one_context_parse("A='1'\nB=2\n", "c.sh", &v, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "c.sh line 2: not NAME='value'");
	ck_assert_ptr_null(v);
	ck_assert_int_eq(one_context_parse("A='1\n", "c.sh", &v, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "c.sh line 1: A: unterminated quote");
	ck_assert_int_eq(one_context_parse("A='1' x\n", "c.sh", &v, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "c.sh line 1: A: text after the closing quote");
	ck_assert_int_eq(one_context_parse("1A='1'\n", "c.sh", &v, &n, err), TH_ERR_PARSE);
	ck_assert_int_eq(one_context_parse("# only a header\n", "c.sh", &v, &n, err), TH_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("one-model");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, new_vm_runs_with_one_open_record);
	tcase_add_test(tc, migrate_validation_order_and_messages);
	tcase_add_test(tc, live_migration_success_sequence);
	tcase_add_test(tc, failure_rolls_back_with_three_records_and_error);
	tcase_add_test(tc, error_is_cut_at_100_characters);
	tcase_add_test(tc, lost_vm_ends_in_poweroff_and_resume_boots_it);
	tcase_add_test(tc, recover_resolves_a_stuck_migration);
	tcase_add_test(tc, cold_migration_walks_save_prolog_boot);
	tcase_add_test(tc, vm_xml_has_every_history_record_in_order);
	tcase_add_test(tc, pool_xml_filters_and_short_history);
	tcase_add_test(tc, host_xml_lists_its_vms);
	tcase_add_test(tc, cdata_splits_terminator);
	tcase_add_test(tc, fault_lines_parse_exactly);
	tcase_add_test(tc, context_sh_becomes_template_context);
	suite_add_tcase(s, tc);
	return s;
}
