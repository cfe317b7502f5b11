/* test-hook-msg.c — oned's hook events as they come off the ZeroMQ socket: both key forms, other
 * objects' keys, malformed keys; <HOOK_MESSAGE> documents shaped like HookStateVM's (names of
 * the states, RESOURCE_ID, the full <VM>) in base64 with and without line breaks; and every
 * refusal: over the size bound, bad base64, not XML, a DTD, another hook type, an id mismatch. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook-msg.h"
#include "th-check.h"
#include "vm-doc.h"

#define T0 1718003600LL

static th_err key(const char *s, hook_key *k)
{
	return hook_key_parse(s, strlen(s), k, NULL);
}

START_TEST(key_forms)
{
	hook_key k;

	ck_assert_int_eq(key("EVENT VM 42/ACTIVE/MIGRATE ", &k), TH_OK);
	ck_assert_int_eq(k.vm_id, 42);
	ck_assert_str_eq(k.state, "ACTIVE");
	ck_assert_str_eq(k.lcm, "MIGRATE");
	ck_assert_int_eq(key("EVENT STATE VM/ACTIVE/RUNNING/7 ", &k), TH_OK);
	ck_assert_int_eq(k.vm_id, 7);
	ck_assert_str_eq(k.state, "ACTIVE");
	ck_assert_str_eq(k.lcm, "RUNNING");
	ck_assert_int_eq(key("EVENT VM 3/POWEROFF/LCM_INIT", &k), TH_OK); /* no trailing space */
	ck_assert_str_eq(k.lcm, "LCM_INIT");
	ck_assert_int_eq(key("EVENT VM 3/POWEROFF/ ", &k), TH_OK);
	ck_assert_str_eq(k.lcm, "");
}
END_TEST

START_TEST(key_refusals)
{
	hook_key k;
	char err[TH_ERRLEN];
	char big[400];

	ck_assert_int_eq(key("EVENT HOST 3/ERROR/ ", &k), TH_ERR_NOTFOUND);
	ck_assert_int_eq(key("EVENT STATE HOST/ERROR//3 ", &k), TH_ERR_NOTFOUND);
	ck_assert_int_eq(key("EVENT API one.vm.migrate 1 ", &k), TH_ERR_NOTFOUND);
	ck_assert_int_eq(key("VM 42/ACTIVE/MIGRATE ", &k), TH_ERR_INVALID);
	ck_assert_int_eq(key("EVENT VM x42/ACTIVE/MIGRATE ", &k), TH_ERR_INVALID);
	ck_assert_int_eq(key("EVENT VM 42/ACTIVE ", &k), TH_ERR_INVALID);
	ck_assert_int_eq(key("EVENT VM 42/ACTIVE/MIGRATE/9 ", &k), TH_ERR_INVALID);
	ck_assert_int_eq(key("EVENT VM 99999999999/ACTIVE/MIGRATE ", &k), TH_ERR_INVALID);
	ck_assert_int_eq(key("EVENT VM /ACTIVE/MIGRATE ", &k), TH_ERR_INVALID);
	ck_assert_int_eq(key("EVENT VM 42/active/MIGRATE ", &k), TH_ERR_INVALID);
	ck_assert_int_eq(key("EVENT VM 42//MIGRATE ", &k), TH_ERR_INVALID);
	ck_assert_int_eq(hook_key_parse("EVENT VM 4\n2/A/B ", 17, &k, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "event key has a control or non-ASCII byte at 10");
	ck_assert_int_eq(hook_key_parse("EVENT VM 4\0002/A/B", 16, &k, NULL), TH_ERR_INVALID);
	memset(big, 'A', sizeof big);
	memcpy(big, "EVENT VM 1/", 11);
	ck_assert_int_eq(hook_key_parse(big, sizeof big, &k, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "event key longer than 256 bytes");
	ck_assert_int_eq(k.vm_id, -1);
}
END_TEST

/* A HookStateVM message around a vm_doc() document. */
static size_t message(char *buf, size_t size, const char *type, int rid, int vm_id)
{
	doc_hist h[2] = {{0, 2, "node2", 1718000000, 0, 1718000004, 0, 2},
	                 {1, 3, "node3", T0, 0, 0, 0, 0}};
	size_t n = (size_t)snprintf(buf, size,
	                            "<HOOK_MESSAGE><HOOK_TYPE>%s</HOOK_TYPE><HOOK_OBJECT>VM"
	                            "</HOOK_OBJECT><STATE>ACTIVE</STATE><LCM_STATE>MIGRATE"
	                            "</LCM_STATE><RESOURCE_ID>%d</RESOURCE_ID>",
	                            type, rid);

	n += vm_doc(buf + n, size - n, vm_id, "migtest-1", 3, 4, NULL, h, 2);
	n += (size_t)snprintf(buf + n, size - n, "</HOOK_MESSAGE>");
	return n;
}

/* base64 of s; every `wrap` characters a "\n" (0: none), as Ruby's Base64.encode64 writes. */
static char *b64(const char *s, size_t n, size_t wrap)
{
	size_t l = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *plain = malloc(l), *out = malloc(l * 2 + 2);
	size_t o = 0;

	sodium_bin2base64(plain, l, (const unsigned char *)s, n, sodium_base64_VARIANT_ORIGINAL);
	for (size_t i = 0; plain[i] != '\0'; i++) {
		out[o++] = plain[i];
		if (wrap != 0 && (i + 1) % wrap == 0)
			out[o++] = '\n';
	}
	out[o] = '\0';
	free(plain);
	return out;
}

START_TEST(message_of_a_migrating_vm)
{
	static char xml[16384];
	size_t n = message(xml, sizeof xml, "STATE", 42, 42);
	hook_msg m;

	for (size_t wrap = 0; wrap <= 60; wrap += 60) {
		char *b = b64(xml, n, wrap);

		ck_assert_int_eq(hook_msg_parse(b, strlen(b), &m, NULL), TH_OK);
		ck_assert_int_eq(m.resource_id, 42);
		ck_assert_str_eq(m.state, "ACTIVE");
		ck_assert_str_eq(m.lcm, "MIGRATE");
		ck_assert_int_eq(m.vm.id, 42);
		ck_assert_str_eq(m.vm.name, "migtest-1");
		ck_assert_int_eq(m.vm.state, 3);
		ck_assert_int_eq(m.vm.lcm_state, 4);
		ck_assert_uint_eq(m.vm.nhist, 2);
		ck_assert_int_eq(m.vm.hist[1].stime, T0);
		ck_assert_str_eq(m.vm.hist[1].hostname, "node3");
		ck_assert_int_eq(m.vm.hist[0].action, 2);
		hook_msg_free(&m);
		free(b);
	}
}
END_TEST

START_TEST(message_refusals)
{
	static char xml[16384];
	char err[TH_ERRLEN], *b;
	size_t n;
	hook_msg m;

	n = message(xml, sizeof xml, "API", 42, 42);
	b = b64(xml, n, 0);
	ck_assert_int_eq(hook_msg_parse(b, strlen(b), &m, err), TH_ERR_NOTFOUND);
	ck_assert_str_eq(err, "event message: HOOK_TYPE \"API\" HOOK_OBJECT \"VM\", not a VM STATE "
	                      "hook");
	free(b);
	n = message(xml, sizeof xml, "STATE", 41, 42);
	b = b64(xml, n, 0);
	ck_assert_int_eq(hook_msg_parse(b, strlen(b), &m, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "event message: RESOURCE_ID 41 but the <VM> document is VM 42");
	ck_assert_uint_eq(m.vm.nhist, 0);
	ck_assert(m.vm.hist == NULL);
	free(b);
	ck_assert_int_eq(hook_msg_parse("PEhPT0tfTUVTU0FHRT4=!", 21, &m, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "event message is not valid base64");
	ck_assert_int_eq(hook_msg_parse("PEhPT0s", 7, &m, err), TH_ERR_PARSE); /* no padding */
	ck_assert_int_eq(hook_msg_parse("", 0, &m, err), TH_ERR_PARSE);
	b = b64("<HOOK_MESSAGE><HOOK_TYPE>STATE", 30, 0);
	ck_assert_int_eq(hook_msg_parse(b, strlen(b), &m, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "event message is not well-formed XML");
	free(b);
	{
		const char *dtd = "<!DOCTYPE HOOK_MESSAGE [<!ENTITY a \"aaaa\">]><HOOK_MESSAGE>&a;"
		                  "</HOOK_MESSAGE>";
		b = b64(dtd, strlen(dtd), 0);
		ck_assert_int_eq(hook_msg_parse(b, strlen(b), &m, err), TH_ERR_PARSE);
		ck_assert_str_eq(err, "event message has a DTD (<!DOCTYPE>): refused");
		free(b);
	}
	{
		const char *novm = "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM"
		                   "</HOOK_OBJECT><RESOURCE_ID>5</RESOURCE_ID></HOOK_MESSAGE>";
		b = b64(novm, strlen(novm), 0);
		ck_assert_int_eq(hook_msg_parse(b, strlen(b), &m, err), TH_ERR_PARSE);
		ck_assert_str_eq(err, "event message for VM 5 has no <VM> document");
		free(b);
	}
}
END_TEST

/* Over 1 MiB decoded: refused from the frame's length, before decoding. */
START_TEST(message_over_the_bound)
{
	size_t n = HOOK_MSG_MAX + 3, l = n / 3 * 4;
	char *b = malloc(l + 1), err[TH_ERRLEN];
	hook_msg m;

	memset(b, 'A', l);
	b[l] = '\0';
	ck_assert_int_eq(hook_msg_parse(b, l, &m, err), TH_ERR_TOOBIG);
	ck_assert_str_eq(err, "event message of 1398104 base64 bytes is over the 1048576-byte "
	                      "bound");
	/* 1048575 decoded bytes (the most under the bound a whole base64 text gives) are read, then
	 * refused as not XML */
	l = HOOK_MSG_MAX / 3 * 4;
	b[l] = '\0';
	ck_assert_int_eq(hook_msg_parse(b, l, &m, err), TH_ERR_PARSE);
	free(b);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("hook-msg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, key_forms);
	tcase_add_test(tc, key_refusals);
	tcase_add_test(tc, message_of_a_migrating_vm);
	tcase_add_test(tc, message_refusals);
	tcase_add_test(tc, message_over_the_bound);
	suite_add_tcase(s, tc);
	return s;
}
