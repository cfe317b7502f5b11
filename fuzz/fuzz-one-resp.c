/* fuzz-one-resp.c — libFuzzer harness for what a hostile OpenNebula endpoint can send: the raw
 * body of an XML-RPC response, checked and parsed as the client does (one_resp_check, then
 * xmlrpc-c's xmlrpc_parse_response2 with one-client.c's size limit), then a fault through
 * one_fault or the reply array through one_reply_read, and a document in item 1 through the
 * VM, VM pool and host pool parsers. */
#include "themis-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <xmlrpc-c/base.h>

#include "one-resp.h"
#include "vm-xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fr_document(const char *doc)
{
	char err[TH_ERRLEN];
	size_t len = strlen(doc), n = 0;
	one_vm vm, *vms = NULL;
	one_host *hosts = NULL;

	if (one_vm_parse(doc, len, &vm, err) == TH_OK)
		one_vm_free(&vm);
	if (one_vmpool_parse(doc, len, &vms, &n, err) == TH_OK)
		one_vm_array_free(vms, n);
	if (one_hostpool_parse(doc, len, &hosts, &n, err) == TH_OK)
		free(hosts);
	xmlResetLastError();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	xmlrpc_env env;
	xmlrpc_value *res = NULL;
	int fault_code = 0;
	const char *fault_string = NULL;
	char err[TH_ERRLEN];
	one_reply r;

	if (!ready) {
		xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, 1024UL * 1024 * 1024); /* one-client.c */
		ready = 1;
	}
	/* what one-client.c does between transport and parser */
	if (one_resp_check("one.vm.info", (const char *)data, size, err) != TH_OK)
		return 0;
	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, (const char *)data, size, &res, &fault_code, &fault_string);
	if (env.fault_occurred) {
		/* malformed XML-RPC: the client reports it as a fault of the call */
		one_fault("one.vm.info", "http://fuzz:2633/RPC2", env.fault_code, env.fault_string,
		          err);
	} else if (fault_string != NULL) {
		one_fault("one.vm.info", "http://fuzz:2633/RPC2", fault_code, fault_string, err);
		free((void *)fault_string); /* xmlrpc-c allocates it with malloc */
	} else {
		if (one_reply_read("one.vm.info", res, &r, err) == TH_OK) {
			if (r.str != NULL)
				fr_document(r.str);
			one_reply_free(&r);
		}
		xmlrpc_DECREF(res);
	}
	xmlrpc_env_clean(&env);
	return 0;
}
