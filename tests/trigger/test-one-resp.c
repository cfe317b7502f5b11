/* test-one-resp.c — OpenNebula reply arrays of 3, 4 and 5 items and XML-RPC faults (−501,
 * −504, −506) become results or messages a user can act on; response bodies that would crash
 * xmlrpc-c are refused before it parses them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "one-resp.h"
#include "th-check.h"

static xmlrpc_value *build(const char *fmt, ...)
{
	xmlrpc_env env;
	xmlrpc_value *v;
	const char *tail = NULL;
	va_list ap;

	xmlrpc_env_init(&env);
	va_start(ap, fmt);
	xmlrpc_build_value_va(&env, fmt, ap, &v, &tail);
	va_end(ap);
	ck_assert(!env.fault_occurred);
	xmlrpc_env_clean(&env);
	return v;
}

START_TEST(success_with_document_string)
{
	xmlrpc_value *v = build("(bsi)", 1, "<VM><ID>42</ID></VM>", 0);
	one_reply r;

	ck_assert_int_eq(one_reply_read("one.vm.info", v, &r, NULL), TH_OK);
	ck_assert(r.ok);
	ck_assert(!r.is_int);
	ck_assert_str_eq(r.str, "<VM><ID>42</ID></VM>");
	ck_assert_int_eq(r.code, 0);
	ck_assert_int_eq(r.resp_id, -1);
	one_reply_free(&r);
	xmlrpc_DECREF(v);
}
END_TEST

START_TEST(success_with_object_id)
{
	xmlrpc_value *v = build("(bii)", 1, 42, 0);
	one_reply r;

	ck_assert_int_eq(one_reply_read("one.vm.migrate", v, &r, NULL), TH_OK);
	ck_assert(r.is_int);
	ck_assert_int_eq(r.ival, 42);
	ck_assert_ptr_null(r.str);
	xmlrpc_DECREF(v);
}
END_TEST

START_TEST(failure_arrays_of_three_four_and_five_items)
{
	char err[TH_ERRLEN];
	one_reply r;
	xmlrpc_value *v3 = build("(bsi)", 0,
	                         "[one.vm.migrate] Migrate action is not available for "
	                         "state MIGRATE",
	                         2048);
	xmlrpc_value *v4 =
	    build("(bsii)", 0, "[one.vm.info] Error getting virtual machine [42].", 1024, 42);
	xmlrpc_value *v5 =
	    build("(bsiiI)", 0, "[one.vm.info] User couldn't be authenticated, aborting call.", 256,
	          -1, (xmlrpc_int64)-1);

	ck_assert_int_eq(one_reply_read("one.vm.migrate", v3, &r, err), TH_ERR_STATE);
	ck_assert(!r.ok);
	ck_assert_int_eq(r.code, 2048);
	ck_assert_str_eq(err, "one.vm.migrate: Migrate action is not available for state MIGRATE "
	                      "(OpenNebula error ACTION 0x800)");
	one_reply_free(&r);
	ck_assert_int_eq(one_reply_read("one.vm.info", v4, &r, err), TH_ERR_NOTFOUND);
	ck_assert_int_eq(r.resp_id, 42);
	ck_assert_str_eq(err, "one.vm.info: Error getting virtual machine [42]. (OpenNebula error "
	                      "NO_EXISTS 0x400)");
	one_reply_free(&r);
	ck_assert_int_eq(one_reply_read("one.vm.info", v5, &r, err), TH_ERR_AUTH);
	ck_assert_int_eq(r.resp_id, -1);
	ck_assert_str_eq(err, "one.vm.info: User couldn't be authenticated, aborting call. "
	                      "(OpenNebula error AUTHENTICATION 0x100)");
	one_reply_free(&r);
	xmlrpc_DECREF(v3);
	xmlrpc_DECREF(v4);
	xmlrpc_DECREF(v5);
}
END_TEST

START_TEST(replies_that_are_not_opennebula_arrays_are_refused)
{
	char err[TH_ERRLEN];
	one_reply r;
	xmlrpc_value *s = build("s", "hello");
	xmlrpc_value *two = build("(bs)", 1, "x");
	xmlrpc_value *notbool = build("(isi)", 1, "x", 0);

	ck_assert_int_eq(one_reply_read("one.vm.info", s, &r, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "one.vm.info: reply is not an array");
	ck_assert_int_eq(one_reply_read("one.vm.info", two, &r, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "one.vm.info: reply array has 2 items, expected 3 to 5");
	ck_assert_int_eq(one_reply_read("one.vm.info", notbool, &r, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "one.vm.info: reply item 0 is not a boolean");
	xmlrpc_DECREF(s);
	xmlrpc_DECREF(two);
	xmlrpc_DECREF(notbool);
}
END_TEST

START_TEST(faults_become_clear_messages)
{
	char err[TH_ERRLEN];
	const char *url = "http://127.0.0.1:2633/RPC2";

	ck_assert_int_eq(one_fault("one.system.version", url, -504,
	                           "Unable to transport XML to server ... Couldn't connect", err),
	                 TH_ERR_NET);
	ck_assert_str_eq(err, "one.system.version: cannot reach OpenNebula at "
	                      "http://127.0.0.1:2633/RPC2: Unable to transport XML to server ... "
	                      "Couldn't connect");
	ck_assert_int_eq(one_fault("one.vm.migrate", url, -501, "Not enough parameters", err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err, "one.vm.migrate: server at http://127.0.0.1:2633/RPC2 rejected the "
	                      "parameters (XML-RPC fault -501: Not enough parameters)");
	ck_assert_int_eq(
	    one_fault("one.vm.info", url, -506, "Method 'one.vm.info' not defined", err),
	    TH_ERR_REMOTE);
	ck_assert_msg(strstr(err, "does not know this method (XML-RPC fault -506") != NULL, "%s",
	              err);
	ck_assert_int_eq(one_fault("one.vm.info", url, -32700, "parse error", err), TH_ERR_REMOTE);
	ck_assert_str_eq(err, "one.vm.info: XML-RPC fault -32700 from http://127.0.0.1:2633/RPC2: "
	                      "parse error");
}
END_TEST

/* A methodResponse whose one param is the value v. */
static size_t reply_body(char *buf, size_t size, const char *v)
{
	return (size_t)snprintf(buf, size,
	                        "<?xml version=\"1.0\"?>\r\n<methodResponse><params><param><value>"
	                        "<array><data><value><boolean>1</boolean></value><value>6.10.0"
	                        "</value><value><i4>0</i4></value><value>%s</value></data></array>"
	                        "</value></param></params></methodResponse>\r\n",
	                        v);
}

START_TEST(i8_values_that_crash_xmlrpc_c_are_refused_before_parsing)
{
	/* each of these makes xmlrpc-c 1.59's parser dereference a missing printf argument */
	static const char *const bad[] = {
	    "<i8>;</i8>",       "<i8>12x</i8>", "<i8>9223372036854775808</i8>", "<i8>-</i8>",
	    "<ex:i8>x</ex:i8>", "<i8 >1 </i8>", "<i8><![CDATA[7]]></i8>",       "<i8>&#59;</i8>",
	};
	char body[512], err[TH_ERRLEN];
	size_t len;

	len = reply_body(body, sizeof body, bad[0]);
	ck_assert_int_eq(one_resp_check("one.system.version", body, len, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "one.system.version: reply has an <i8> value that is not a 64-bit "
	                      "integer: \";\"");
	for (size_t i = 1; i < sizeof bad / sizeof bad[0]; i++) {
		len = reply_body(body, sizeof body, bad[i]);
		ck_assert_msg(one_resp_check("m", body, len, err) == TH_ERR_PARSE, "%s", bad[i]);
	}
}
END_TEST

START_TEST(valid_i8_values_pass_and_parse)
{
	static const char *const good[] = {
	    "<i8>-9223372036854775808</i8>",
	    "<i8>9223372036854775807</i8>",
	    "<i8>+5</i8>",
	    "<i8>00000000000000000000001</i8>",
	    "<ex:i8>7</ex:i8>",
	    "<i8/>",
	    "<i8></i8>",
	    "<i4>x</i4>",
	    "<string>&lt;i8&gt;x&lt;/i8&gt;</string>",
	};
	char body[512], err[TH_ERRLEN];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		size_t len = reply_body(body, sizeof body, good[i]);
		xmlrpc_env env;
		xmlrpc_value *v = NULL;
		int code = 0;
		const char *fault = NULL;

		ck_assert_msg(one_resp_check("m", body, len, err) == TH_OK, "%s", good[i]);
		/* and xmlrpc-c parses them (or refuses them) without crashing */
		xmlrpc_env_init(&env);
		xmlrpc_parse_response2(&env, body, len, &v, &code, &fault);
		if (v != NULL)
			xmlrpc_DECREF(v);
		free((void *)fault);
		xmlrpc_env_clean(&env);
	}
}
END_TEST

START_TEST(a_doctype_never_reaches_xmlrpc_c)
{
	/* xmlrpc-c expands the entities a DTD declares (1,000 bytes of them here would become
	 * 30 MB): any <!DOCTYPE> in the envelope is refused; one inside a document string arrives
	 * escaped and is the document parser's business */
	const char laughs[] =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE methodResponse [<!ENTITY a \"lol\">"
	    "]><methodResponse><params><param><value><string>&a;</string></value>"
	    "</param></params></methodResponse>";
	const char escaped[] = "<methodResponse><params><param><value><string>&lt;!DOCTYPE VM>"
	                       "&lt;VM/></string></value></param></params></methodResponse>";
	char err[TH_ERRLEN];

	ck_assert_int_eq(one_resp_check("one.vm.info", laughs, strlen(laughs), err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "one.vm.info: reply has a document type declaration (<!DOCTYPE>): "
	                      "refused, its entities could expand without bound");
	ck_assert_int_eq(one_resp_check("one.vm.info", escaped, strlen(escaped), err), TH_OK);
	/* only the bytes given are looked at */
	ck_assert_int_eq(one_resp_check("one.vm.info", laughs, 22, err), TH_OK);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("one-resp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, success_with_document_string);
	tcase_add_test(tc, success_with_object_id);
	tcase_add_test(tc, failure_arrays_of_three_four_and_five_items);
	tcase_add_test(tc, replies_that_are_not_opennebula_arrays_are_refused);
	tcase_add_test(tc, faults_become_clear_messages);
	tcase_add_test(tc, i8_values_that_crash_xmlrpc_c_are_refused_before_parsing);
	tcase_add_test(tc, valid_i8_values_pass_and_parse);
	tcase_add_test(tc, a_doctype_never_reaches_xmlrpc_c);
	suite_add_tcase(s, tc);
	return s;
}
