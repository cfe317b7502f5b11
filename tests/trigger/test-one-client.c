/* test-one-client.c — the XML-RPC client against an in-process Abyss server that behaves like
 * an older OpenNebula (5.6: one.vm.migrate takes the 4-parameter form only, 4-item failure
 * arrays): the 7-parameter migrate falls back, NO_EXISTS and AUTHENTICATION map to their
 * errors, a VM document larger than xmlrpc-c's default 512 KiB limit is read (and refused
 * under a 512 KiB response limit), an unknown method is reported as such, and auth files follow
 * OpenNebula's conventions. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xmlrpc-c/server.h>
#include <xmlrpc-c/server_abyss.h>

#include "one-client.h"
#include "th-check.h"

static xmlrpc_server_abyss_t *srv;
static xmlrpc_registry *reg;
static pthread_t srv_thread;
static char url[64];
static int migrate_calls[8]; /* by parameter count */

static int session_ok(xmlrpc_env *env, xmlrpc_value *params)
{
	xmlrpc_value *v;
	const char *s;
	int ok;

	xmlrpc_array_read_item(env, params, 0, &v);
	xmlrpc_read_string(env, v, &s);
	xmlrpc_DECREF(v);
	ok = strcmp(s, "oneadmin:pw") == 0;
	free((void *)s);
	return ok;
}

static xmlrpc_value *fail4(xmlrpc_env *env, const char *msg, int code, int id)
{
	return xmlrpc_build_value(env, "(bsii)", 0, msg, code, id);
}

static xmlrpc_value *m_version(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	if (!session_ok(env, params))
		return fail4(env,
		             "[one.system.version] User couldn't be authenticated, aborting call.",
		             0x100, -1);
	return xmlrpc_build_value(env, "(bsi)", 1, "5.6.0", 0);
}

static xmlrpc_value *m_vm_info(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	xmlrpc_int32 id;
	xmlrpc_value *v, *res;
	size_t cap = 700 * 1024, n = 0;
	char *doc;

	xmlrpc_array_read_item(env, params, 1, &v);
	xmlrpc_read_int(env, v, &id);
	xmlrpc_DECREF(v);
	if (id != 1)
		return fail4(env, "[one.vm.info] Error getting virtual machine [99].", 0x400, id);
	/* a long history: more than 512 KiB */
	doc = malloc(cap + 4096);
	n += (size_t)sprintf(doc + n, "<VM><ID>1</ID><NAME>big</NAME><STATE>3</STATE><LCM_STATE>3"
	                              "</LCM_STATE><HISTORY_RECORDS>");
	for (int seq = 0; n < cap; seq++)
		n += (size_t)sprintf(
		    doc + n,
		    "<HISTORY><OID>1</OID><SEQ>%d</SEQ><HOSTNAME>node%d</HOSTNAME>"
		    "<HID>%d</HID><STIME>1718000000</STIME><ETIME>1718000001</ETIME>"
		    "<VM_MAD><![CDATA[kvm]]></VM_MAD><RSTIME>1718000000</RSTIME>"
		    "</HISTORY>",
		    seq, seq % 2, seq % 2);
	n += (size_t)sprintf(doc + n, "</HISTORY_RECORDS></VM>");
	res = xmlrpc_build_value(env, "(bsi)", 1, doc, 0);
	free(doc);
	return res;
}

static xmlrpc_value *m_migrate(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	int n = xmlrpc_array_size(env, params);

	migrate_calls[n < 8 ? n : 7]++;
	if (n != 4) {
		/* what a strict older server answers for the 7-parameter form */
		xmlrpc_env_set_fault(env, XMLRPC_TYPE_ERROR, "Wrong number of parameters");
		return NULL;
	}
	return xmlrpc_build_value(env, "(bii)", 1, 1, 0);
}

static void *srv_run(void *arg)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	xmlrpc_server_abyss_run_server(&env, srv);
	xmlrpc_env_clean(&env);
	return arg;
}

static void server_up(void)
{
	/* the client stops reading a reply over its limit: the in-process server's write to the
	 * closed connection must fail, not kill the test */
	signal(SIGPIPE, SIG_IGN);
	xmlrpc_env env;
	xmlrpc_server_abyss_parms parms;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct xmlrpc_method_info3 mi[] = {
	    {"one.system.version", m_version, NULL, 0, "A:s", ""},
	    {"one.vm.info", m_vm_info, NULL, 0, "A:si", ""},
	    {"one.vm.migrate", m_migrate, NULL, 0, "?", ""},
	};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/RPC2", ntohs(sa.sin_port));
	xmlrpc_env_init(&env);
	xmlrpc_server_abyss_global_init(&env);
	reg = xmlrpc_registry_new(&env);
	for (size_t i = 0; i < 3; i++)
		xmlrpc_registry_add_method3(&env, reg, &mi[i]);
	memset(&parms, 0, sizeof parms);
	parms.registryP = reg;
	parms.socket_bound = 1;
	parms.socket_handle = fd;
	xmlrpc_server_abyss_create(&env, &parms, XMLRPC_APSIZE(socket_handle), &srv);
	ck_assert_msg(!env.fault_occurred, "%s", env.fault_string);
	xmlrpc_env_clean(&env);
	pthread_create(&srv_thread, NULL, srv_run, NULL);
}

static void server_down(void)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	xmlrpc_server_abyss_terminate(&env, srv);
	xmlrpc_env_clean(&env);
	pthread_join(srv_thread, NULL);
	xmlrpc_server_abyss_destroy(srv);
	xmlrpc_registry_free(reg);
}

START_TEST(older_server_gets_the_four_parameter_migrate)
{
	one_client *c;
	char err[TH_ERRLEN], ver[32];
	bool used7 = true;

	server_up();
	ck_assert_int_eq(one_client_open(&c, url, "oneadmin:pw", 10000, err), TH_OK);
	ck_assert_int_eq(one_system_version(c, ver, sizeof ver, err), TH_OK);
	ck_assert_str_eq(ver, "5.6.0");
	ck_assert_int_eq(one_vm_migrate(c, 1, 3, true, 0, &used7, err), TH_OK);
	ck_assert(!used7);
	ck_assert_int_eq(migrate_calls[7], 1);
	ck_assert_int_eq(migrate_calls[4], 1);
	one_client_close(c);
	server_down();
}
END_TEST

START_TEST(errors_and_large_documents)
{
	one_client *c;
	char err[TH_ERRLEN], ver[32];
	one_vm vm;

	server_up();
	ck_assert_int_eq(one_client_open(&c, url, "oneadmin:pw", 10000, err), TH_OK);
	ck_assert_int_eq(one_vm_info(c, 1, &vm, err), TH_OK);
	ck_assert_uint_gt(vm.nhist, 3000); /* 700 KiB of records */
	ck_assert_int_eq(one_vm_last(&vm)->seq, (int)vm.nhist - 1);
	one_vm_free(&vm);
	/* the same 700 KiB reply under a 512 KiB limit: refused, naming the limit */
	one_client_set_max_response(c, 512 * 1024);
	ck_assert_int_eq(one_vm_info(c, 1, &vm, err), TH_ERR_TOOBIG);
	char want[TH_ERRLEN];
	snprintf(want, sizeof want,
	         "one.vm.info: reply from %s is larger than the response limit of 512 KiB: refused "
	         "(raise it with --max-response)",
	         url);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(one_vm_info(c, 99, &vm, err), TH_ERR_NOTFOUND);
	ck_assert_str_eq(err, "one.vm.info: Error getting virtual machine [99]. (OpenNebula error "
	                      "NO_EXISTS 0x400)");
	one_client_close(c);

	ck_assert_int_eq(one_client_open(&c, url, "oneadmin:nope", 10000, err), TH_OK);
	ck_assert_int_eq(one_system_version(c, ver, sizeof ver, err), TH_ERR_AUTH);
	ck_assert_str_eq(err, "one.system.version: User couldn't be authenticated, aborting call. "
	                      "(OpenNebula error AUTHENTICATION 0x100)");
	one_vm *vms;
	size_t n;
	ck_assert_int_eq(one_vm_pool(c, &vms, &n, err), TH_ERR_REMOTE);
	ck_assert_msg(strstr(err, "one.vmpool.info: server at http://127.0.0.1:") != NULL &&
	                  strstr(err, "does not know this method (XML-RPC fault -506") != NULL,
	              "%s", err);
	one_client_close(c);
	server_down();
}
END_TEST

START_TEST(auth_files_follow_opennebula_conventions)
{
	char dir[] = "/tmp/themis-auth-XXXXXX", path[256], sess[256], err[TH_ERRLEN], want[1024];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/one_auth", dir);
	f = fopen(path, "w");
	fputs("oneadmin:p:w with colon\r\nsecond line ignored\n", f);
	fclose(f);
	chmod(path, 0600);
	ck_assert_int_eq(one_auth_read(path, sess, sizeof sess, err), TH_OK);
	ck_assert_str_eq(sess, "oneadmin:p:w with colon");
	chmod(path, 0604);
	ck_assert_int_eq(one_auth_read(path, sess, sizeof sess, err), TH_ERR_AUTH);
	snprintf(want, sizeof want,
	         "OpenNebula auth file %s is readable by everyone (mode 0604): refusing to use it; "
	         "chmod 600 %s",
	         path, path);
	ck_assert_str_eq(err, want);
	f = fopen(path, "w");
	fputs("justaname\n", f);
	fclose(f);
	chmod(path, 0600);
	ck_assert_int_eq(one_auth_read(path, sess, sizeof sess, err), TH_ERR_INVALID);
	/* $ONE_AUTH, then ~/.one/one_auth; $ONE_XMLRPC, then the default */
	setenv("ONE_AUTH", path, 1);
	ck_assert_int_eq(one_auth_path(NULL, sess, sizeof sess, err), TH_OK);
	ck_assert_str_eq(sess, path);
	ck_assert_int_eq(one_auth_path("/explicit", sess, sizeof sess, err), TH_OK);
	ck_assert_str_eq(sess, "/explicit");
	unsetenv("ONE_AUTH");
	ck_assert_int_eq(one_auth_path(NULL, sess, sizeof sess, err), TH_OK);
	ck_assert_msg(strstr(sess, "/.one/one_auth") != NULL, "%s", sess);
	unsetenv("ONE_XMLRPC");
	ck_assert_str_eq(one_endpoint(NULL), "http://localhost:2633/RPC2");
	setenv("ONE_XMLRPC", "http://front:2633/RPC2", 1);
	ck_assert_str_eq(one_endpoint(NULL), "http://front:2633/RPC2");
	ck_assert_str_eq(one_endpoint("http://x/RPC2"), "http://x/RPC2");
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("one-client");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, older_server_gets_the_four_parameter_migrate);
	tcase_add_test(tc, errors_and_large_documents);
	tcase_add_test(tc, auth_files_follow_opennebula_conventions);
	suite_add_tcase(s, tc);
	return s;
}
