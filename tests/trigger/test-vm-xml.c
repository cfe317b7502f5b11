/* test-vm-xml.c — vm.info, vmpool.info and hostpool.info documents parse into exact fields,
 * CDATA included, and malformed documents are refused with a message naming the problem. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "th-check.h"
#include "vm-xml.h"

/* notes §4.4 (a): VM 42 mid live migration node2 → node3, 6.10 shape */
static const char vm42_migrating[] =
    "<VM>\n  <ID>42</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME>\n"
    "  <NAME>migtest-1</NAME>\n  <LAST_POLL>1718003590</LAST_POLL>\n"
    "  <STATE>3</STATE><LCM_STATE>4</LCM_STATE><PREV_STATE>3</PREV_STATE>"
    "<PREV_LCM_STATE>4</PREV_LCM_STATE>\n"
    "  <RESCHED>0</RESCHED><STIME>1717999990</STIME><ETIME>0</ETIME><DEPLOY_ID>one-42"
    "</DEPLOY_ID>\n"
    "  <MONITORING><CPU><![CDATA[3.02]]></CPU></MONITORING>\n  <SCHED_ACTIONS></SCHED_ACTIONS>\n"
    "  "
    "<TEMPLATE><CONTEXT><DISK_ID><![CDATA[1]]></DISK_ID><ETH0_IP><![CDATA[10.0.0.42]]></"
    "ETH0_IP><THEMIS_TYPE><![CDATA[VM]]>"
    "</THEMIS_TYPE></CONTEXT><CPU><![CDATA[1]]></CPU></TEMPLATE>\n"
    "  <USER_TEMPLATE><MIGTEST_TAG><![CDATA[run-7]]></MIGTEST_TAG></USER_TEMPLATE>\n"
    "  <HISTORY_RECORDS>\n"
    "    <HISTORY><OID>42</OID><SEQ>0</SEQ><HOSTNAME>node2</HOSTNAME><HID>2</HID><CID>0</CID>\n"
    "      <STIME>1718000000</STIME><ETIME>0</ETIME><VM_MAD><![CDATA[kvm]]></VM_MAD>"
    "<TM_MAD><![CDATA[shared]]></TM_MAD><DS_ID>0</DS_ID>\n"
    "      <PSTIME>1718000000</PSTIME><PETIME>1718000004</PETIME><RSTIME>1718000004</RSTIME>"
    "<RETIME>0</RETIME><ESTIME>0</ESTIME><EETIME>0</EETIME>\n"
    "      <ACTION>2</ACTION><UID>0</UID><GID>0</GID><REQUEST_ID>6312</REQUEST_ID></HISTORY>\n"
    "    <HISTORY><OID>42</OID><SEQ>1</SEQ><HOSTNAME>node3</HOSTNAME><HID>3</HID><CID>0</CID>\n"
    "      <STIME>1718003600</STIME><ETIME>0</ETIME><VM_MAD><![CDATA[kvm]]></VM_MAD>"
    "<TM_MAD><![CDATA[shared]]></TM_MAD><DS_ID>0</DS_ID><PLAN_ID>-2</PLAN_ID>"
    "<ACTION_ID>-1</ACTION_ID>\n"
    "      <PSTIME>0</PSTIME><PETIME>0</PETIME><RSTIME>0</RSTIME><RETIME>0</RETIME>"
    "<ESTIME>0</ESTIME><EETIME>0</EETIME>\n"
    "      <ACTION>0</ACTION><UID>-1</UID><GID>-1</GID><REQUEST_ID>-1</REQUEST_ID></HISTORY>\n"
    "  </HISTORY_RECORDS>\n  <BACKUPS><BACKUP_CONFIG/><BACKUP_IDS></BACKUP_IDS></BACKUPS>\n"
    "</VM>\n";

START_TEST(vm_info_fields_and_history_are_exact)
{
	one_vm vm;
	char err[TH_ERRLEN];
	const one_history *h;

	ck_assert_int_eq(one_vm_parse(vm42_migrating, strlen(vm42_migrating), &vm, err), TH_OK);
	ck_assert_int_eq(vm.id, 42);
	ck_assert_str_eq(vm.name, "migtest-1");
	ck_assert_int_eq(vm.state, 3);
	ck_assert_int_eq(vm.lcm_state, 4);
	ck_assert_str_eq(vm.error, "");
	ck_assert_str_eq(vm.themis_type, "VM"); /* from TEMPLATE/CONTEXT, CDATA */
	ck_assert_str_eq(vm.ip, "10.0.0.42");   /* CONTEXT/ETH0_IP when there is no NIC/IP */
	ck_assert_uint_eq(vm.nhist, 2);
	h = one_vm_last(&vm);
	ck_assert_int_eq(h->seq, 1);
	ck_assert_int_eq(h->hid, 3);
	ck_assert_str_eq(h->hostname, "node3");
	ck_assert_int_eq(h->stime, 1718003600);
	ck_assert_int_eq(h->rstime, 0);
	h = one_vm_seq(&vm, 0);
	ck_assert_int_eq(h->hid, 2);
	ck_assert_int_eq(h->rstime, 1718000004);
	ck_assert_int_eq(h->petime, 1718000004);
	ck_assert_int_eq(h->action, 2);
	ck_assert_ptr_null(one_vm_seq(&vm, 2));
	one_vm_free(&vm);
}
END_TEST

START_TEST(user_template_error_in_cdata_is_read_verbatim)
{
	const char doc[] =
	    "<VM><ID>7</ID><NAME>a</NAME><STATE>3</STATE><LCM_STATE>3</LCM_STATE>"
	    "<USER_TEMPLATE><ERROR><![CDATA[Mon Jun 10 07:13:32 2024: MIGRATE: error: <x> & "
	    "\"y\"]]></ERROR><THEMIS_TYPE>VM</THEMIS_TYPE></USER_TEMPLATE></VM>";
	one_vm vm;

	ck_assert_int_eq(one_vm_parse(doc, strlen(doc), &vm, NULL), TH_OK);
	ck_assert_str_eq(vm.error, "Mon Jun 10 07:13:32 2024: MIGRATE: error: <x> & \"y\"");
	ck_assert_str_eq(vm.themis_type, "VM");
	ck_assert_str_eq(vm.ip, "");
	ck_assert_uint_eq(vm.nhist, 0);
	ck_assert_ptr_null(one_vm_last(&vm));
	one_vm_free(&vm);
}
END_TEST

START_TEST(malformed_documents_are_refused_with_the_reason)
{
	char err[TH_ERRLEN];
	one_vm vm;
	const char notxml[] = "<VM><ID>1</ID>";
	const char wrongroot[] = "<HOST><ID>1</ID></HOST>";
	const char badnum[] = "<VM><ID>x1</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE></VM>";
	const char nostate[] = "<VM><ID>1</ID><LCM_STATE>3</LCM_STATE></VM>";
	const char badseq[] = "<VM><ID>1</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE>"
	                      "<HISTORY_RECORDS><HISTORY><SEQ>0</SEQ><HID>2</HID><STIME>12a"
	                      "</STIME></HISTORY></HISTORY_RECORDS></VM>";

	ck_assert_int_eq(one_vm_parse(notxml, strlen(notxml), &vm, err), TH_ERR_PARSE);
	ck_assert_msg(strstr(err, "not well-formed") != NULL, "%s", err);
	ck_assert_int_eq(one_vm_parse(wrongroot, strlen(wrongroot), &vm, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "expected a <VM> document, got <HOST>");
	ck_assert_int_eq(one_vm_parse(badnum, strlen(badnum), &vm, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "<ID> in <VM> is not an integer: \"x1\"");
	ck_assert_int_eq(one_vm_parse(nostate, strlen(nostate), &vm, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "<VM> has no <STATE> element");
	ck_assert_int_eq(one_vm_parse(badseq, strlen(badseq), &vm, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "<STIME> in <HISTORY> is not an integer: \"12a\"");
}
END_TEST

START_TEST(vmpool_short_bodies_give_current_host)
{
	/* 6.10 short body: last history record only, HOSTNAME in CDATA, no times */
	const char doc[] =
	    "<VM_POOL><VM><ID>42</ID><UID>0</UID><NAME>migtest-1</NAME><STATE>3</STATE>"
	    "<LCM_STATE>3</LCM_STATE><USER_TEMPLATE><THEMIS_TYPE><![CDATA[VM]]></THEMIS_TYPE>"
	    "</USER_TEMPLATE><HISTORY_RECORDS><HISTORY><OID>42</OID><SEQ>4</SEQ>"
	    "<HOSTNAME><![CDATA[node3]]></HOSTNAME><HID>3</HID><CID>0</CID><DS_ID>0</DS_ID>"
	    "<ACTION><![CDATA[0]]></ACTION></HISTORY></HISTORY_RECORDS></VM>"
	    "<VM><ID>43</ID><NAME>other</NAME><STATE>8</STATE><LCM_STATE>0</LCM_STATE>"
	    "<HISTORY_RECORDS/></VM></VM_POOL>";
	one_vm *vms;
	size_t n;

	ck_assert_int_eq(one_vmpool_parse(doc, strlen(doc), &vms, &n, NULL), TH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(vms[0].name, "migtest-1");
	ck_assert_str_eq(vms[0].themis_type, "VM");
	ck_assert_str_eq(one_vm_last(&vms[0])->hostname, "node3");
	ck_assert_int_eq(one_vm_last(&vms[0])->seq, 4);
	ck_assert_int_eq(one_vm_last(&vms[0])->stime, -1); /* absent in short bodies */
	ck_assert_int_eq(vms[1].state, 8);
	ck_assert_str_eq(vms[1].themis_type, "");
	ck_assert_ptr_null(one_vm_last(&vms[1]));
	one_vm_array_free(vms, n);
}
END_TEST

START_TEST(hostpool_lists_ids_names_states)
{
	const char doc[] =
	    "<HOST_POOL><HOST><ID>2</ID><NAME>node2</NAME><STATE>2</STATE><PREV_STATE>2"
	    "</PREV_STATE><IM_MAD><![CDATA[kvm]]></IM_MAD><VMS><ID>42</ID></VMS><TEMPLATE>"
	    "<HOSTNAME><![CDATA[node2]]></HOSTNAME></TEMPLATE><MONITORING/></HOST>"
	    "<HOST><ID>3</ID><NAME>node3</NAME><STATE>8</STATE></HOST></HOST_POOL>";
	one_host *h;
	size_t n;

	ck_assert_int_eq(one_hostpool_parse(doc, strlen(doc), &h, &n, NULL), TH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(h[0].id, 2);
	ck_assert_str_eq(h[0].name, "node2");
	ck_assert_int_eq(h[0].state, 2);
	ck_assert_int_eq(h[1].id, 3);
	ck_assert_int_eq(h[1].state, 8);
	free(h);
}
END_TEST

START_TEST(nic_ip_comes_before_context_ip)
{
	const char doc[] =
	    "<VM><ID>7</ID><NAME>a</NAME><STATE>3</STATE><LCM_STATE>3</LCM_STATE>"
	    "<TEMPLATE><CONTEXT><ETH0_IP><![CDATA[10.9.9.9]]></ETH0_IP></CONTEXT>"
	    "<NIC><IP><![CDATA[192.168.5.7]]></IP><NIC_ID><![CDATA[0]]></NIC_ID></NIC>"
	    "<NIC><IP><![CDATA[192.168.6.7]]></IP></NIC></TEMPLATE></VM>";
	one_vm vm;

	ck_assert_int_eq(one_vm_parse(doc, strlen(doc), &vm, NULL), TH_OK);
	ck_assert_str_eq(vm.ip, "192.168.5.7");
	one_vm_free(&vm);
}
END_TEST

/* One.vm.info as oned 6.10 writes it for a VM whose template has a CONTEXT section (values in
 * CDATA, USER_TEMPLATE after TEMPLATE), with the given extra context elements. */
static one_vm ctx_doc(const char *extra)
{
	char doc[4096];
	one_vm vm;

	snprintf(doc, sizeof doc,
	         "<VM><ID>42</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin"
	         "</GNAME><NAME>web-1</NAME><STATE>3</STATE><LCM_STATE>3</LCM_STATE>"
	         "<TEMPLATE><CONTEXT><DISK_ID><![CDATA[1]]></DISK_ID><ETH0_IP><![CDATA[10.0.0.5]]>"
	         "</ETH0_IP><NETWORK><![CDATA[YES]]></NETWORK><SSH_PUBLIC_KEY><![CDATA[]]>"
	         "</SSH_PUBLIC_KEY><TARGET><![CDATA[hda]]></TARGET>%s</CONTEXT><CPU><![CDATA[1]]>"
	         "</CPU><VMID><![CDATA[42]]></VMID></TEMPLATE><USER_TEMPLATE/>"
	         "<HISTORY_RECORDS/></VM>",
	         extra);
	ck_assert_int_eq(one_vm_parse(doc, strlen(doc), &vm, NULL), TH_OK);
	return vm;
}

START_TEST(context_variables_are_read_and_checked)
{
	const char key[] = "3f1c0e5b9a7d4c2e8f6a1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e";
	char extra[512], err[TH_ERRLEN];
	one_context c;
	one_vm vm;

	/* keyed, on its own port */
	snprintf(extra, sizeof extra,
	         "<THEMIS_REFLECT_KEY><![CDATA[%s]]></THEMIS_REFLECT_KEY><THEMIS_REFLECT_PORT>"
	         "<![CDATA[7311]]></THEMIS_REFLECT_PORT><THEMIS_TYPE><![CDATA[VM]]></THEMIS_TYPE>",
	         key);
	vm = ctx_doc(extra);
	ck_assert_str_eq(vm.themis_type, "VM");
	ck_assert_int_eq(one_vm_context(&vm, &c, err), TH_OK);
	ck_assert(c.reflector);
	ck_assert_int_eq(c.port, 7311);
	ck_assert_uint_eq(c.key_len, 64);
	ck_assert_mem_eq(c.key, key, 64);
	one_vm_free(&vm);
	ck_assert_str_eq(vm.ctx_key, "");

	/* THEMIS_TYPE alone: keyless on the default port */
	vm = ctx_doc("<THEMIS_TYPE><![CDATA[VM]]></THEMIS_TYPE>");
	ck_assert_int_eq(one_vm_context(&vm, &c, err), TH_OK);
	ck_assert(c.reflector);
	ck_assert_int_eq(c.port, 7300);
	ck_assert_uint_eq(c.key_len, 0);
	one_vm_free(&vm);

	/* no context variables: no reflector; without THEMIS_TYPE=VM the others are not checked */
	vm = ctx_doc("");
	ck_assert_int_eq(one_vm_context(&vm, &c, err), TH_OK);
	ck_assert(!c.reflector);
	ck_assert_int_eq(c.port, 7300);
	one_vm_free(&vm);
	vm = ctx_doc("<THEMIS_REFLECT_PORT><![CDATA[x]]></THEMIS_REFLECT_PORT>");
	ck_assert_int_eq(one_vm_context(&vm, &c, err), TH_OK);
	ck_assert(!c.reflector);
	one_vm_free(&vm);

	/* bad ports */
	static const char *const bad[] = {"0", "65536", "7300x", " 7300", "-1", "0000007300"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char want[256];

		snprintf(extra, sizeof extra,
		         "<THEMIS_TYPE>VM</THEMIS_TYPE><THEMIS_REFLECT_PORT><![CDATA[%s]]>"
		         "</THEMIS_REFLECT_PORT>",
		         bad[i]);
		vm = ctx_doc(extra);
		ck_assert_int_eq(one_vm_context(&vm, &c, err), TH_ERR_INVALID);
		snprintf(want, sizeof want,
		         "VM web-1 (42): context THEMIS_REFLECT_PORT \"%s\" is not a UDP port "
		         "(digits, 1..65535)",
		         bad[i]);
		ck_assert_str_eq(err, want);
		ck_assert(!c.reflector);
		one_vm_free(&vm);
	}

	/* a short key, a key with a newline */
	vm = ctx_doc("<THEMIS_TYPE>VM</THEMIS_TYPE><THEMIS_REFLECT_KEY><![CDATA["
	             "0123456789abcdef0123456789abcde]]></THEMIS_REFLECT_KEY>");
	ck_assert_int_eq(one_vm_context(&vm, &c, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "VM web-1 (42): context THEMIS_REFLECT_KEY has 31 characters: 32 to "
	                      "256 needed");
	one_vm_free(&vm);
	vm = ctx_doc("<THEMIS_TYPE>VM</THEMIS_TYPE><THEMIS_REFLECT_KEY><![CDATA["
	             "0123456789abcdef\n0123456789abcdef]]></THEMIS_REFLECT_KEY>");
	ck_assert_int_eq(one_vm_context(&vm, &c, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "VM web-1 (42): context THEMIS_REFLECT_KEY holds a newline");
	one_vm_free(&vm);
}
END_TEST

/* "Billion laughs": 436 bytes whose nested entities expand to 10^7 bytes in <NAME>, ten times
 * more per extra level: libxml2's own limits stop it, and any document with a DTD is refused
 * before its values are read. */
static const char laughs[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE VM [\n"
    " <!ENTITY a \"aaaaaaaaaa\">\n"
    " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
    " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
    " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
    " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
    " <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
    " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
    "]>\n"
    "<VM><ID>1</ID><NAME>&g;</NAME><STATE>3</STATE><LCM_STATE>3</LCM_STATE>"
    "<HISTORY_RECORDS/></VM>\n";

START_TEST(nested_entities_are_refused_without_expansion)
{
	char err[TH_ERRLEN];
	one_vm vm;
	one_vm *vms;
	size_t n;
	struct timespec t0, t1;
	char pool[sizeof laughs + 64];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(one_vm_parse(laughs, strlen(laughs), &vm, err), TH_ERR_PARSE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* libxml2's own limit or the DTD refusal, whichever comes first */
	ck_assert_msg(strncmp(err, "<VM> document ", 14) == 0, "%s", err);
	/* expanding 10 MB takes far longer than parsing 436 bytes, even under sanitizers */
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 100);
	/* the pool parsers share the same reader */
	snprintf(pool, sizeof pool, "%.*s<VM_POOL><VM><ID>1</ID><NAME>&g;</NAME></VM></VM_POOL>",
	         (int)(strstr(laughs, "<VM>") - laughs), laughs);
	ck_assert_int_eq(one_vmpool_parse(pool, strlen(pool), &vms, &n, err), TH_ERR_PARSE);
	ck_assert_msg(strncmp(err, "<VM_POOL> document ", 19) == 0, "%s", err);
}
END_TEST

START_TEST(documents_with_a_dtd_are_refused)
{
	char err[TH_ERRLEN];
	one_vm vm;
	const char doc[] = "<!DOCTYPE VM [<!ENTITY n \"node2\">]>"
	                   "<VM><ID>1</ID><NAME>&n;</NAME><STATE>3</STATE><LCM_STATE>3</LCM_STATE>"
	                   "</VM>";

	ck_assert_int_eq(one_vm_parse(doc, strlen(doc), &vm, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "<VM> document has a DTD (<!DOCTYPE>): refused");
}
END_TEST

START_TEST(external_entities_are_never_loaded)
{
	char err[TH_ERRLEN];
	one_host *hosts;
	size_t n;
	const char doc[] = "<!DOCTYPE HOST_POOL [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>"
	                   "<HOST_POOL><HOST><ID>2</ID><NAME>&x;</NAME><STATE>2</STATE></HOST>"
	                   "</HOST_POOL>";

	ck_assert_int_eq(one_hostpool_parse(doc, strlen(doc), &hosts, &n, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "<HOST_POOL> document has a DTD (<!DOCTYPE>): refused");
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("vm-xml");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, vm_info_fields_and_history_are_exact);
	tcase_add_test(tc, user_template_error_in_cdata_is_read_verbatim);
	tcase_add_test(tc, malformed_documents_are_refused_with_the_reason);
	tcase_add_test(tc, nic_ip_comes_before_context_ip);
	tcase_add_test(tc, context_variables_are_read_and_checked);
	tcase_add_test(tc, vmpool_short_bodies_give_current_host);
	tcase_add_test(tc, hostpool_lists_ids_names_states);
	tcase_add_test(tc, nested_entities_are_refused_without_expansion);
	tcase_add_test(tc, documents_with_a_dtd_are_refused);
	tcase_add_test(tc, external_entities_are_never_loaded);
	suite_add_tcase(s, tc);
	return s;
}
