/* one-client.c — XML-RPC calls to OpenNebula through xmlrpc-c's curl transport. Replies are
 * checked (one_resp_check) before xmlrpc-c parses them. */
#include "themis-config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.h>

#include "one-client.h"
#include "one-names.h"
#include "one-resp.h"

/* oned's MESSAGE_SIZE default: VM documents with long history exceed xmlrpc-c's 512 KiB. */
#define ONE_MESSAGE_SIZE (1024UL * 1024 * 1024)

struct one_client {
	xmlrpc_client *xc;
	xmlrpc_server_info *server;
	char url[512];
	char session[512];
};

const char *one_endpoint(const char *url)
{
	const char *e;

	if (url != NULL && url[0] != '\0')
		return url;
	e = getenv("ONE_XMLRPC");
	if (e != NULL && e[0] != '\0')
		return e;
	return ONE_DEFAULT_URL;
}

th_err one_auth_path(const char *path, char *out, size_t size, char *errbuf)
{
	const char *e = getenv("ONE_AUTH");
	struct passwd *pw;

	if (path != NULL && path[0] != '\0')
		e = path;
	if (e != NULL && e[0] != '\0') {
		if ((size_t)snprintf(out, size, "%s", e) >= size)
			return th_seterr(errbuf, TH_ERR_TOOBIG, "auth file path too long");
		return TH_OK;
	}
	pw = getpwuid(getuid());
	if (pw == NULL || pw->pw_dir == NULL)
		return th_seterr(
		    errbuf, TH_ERR_NOTFOUND,
		    "no ONE_AUTH and no home directory for uid %u to find .one/one_auth",
		    (unsigned)getuid());
	if ((size_t)snprintf(out, size, "%s/.one/one_auth", pw->pw_dir) >= size)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "auth file path too long");
	return TH_OK;
}

th_err one_auth_read(const char *path, char *session, size_t size, char *errbuf)
{
	struct stat st;
	FILE *f;
	char line[1024];
	size_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return th_seterr(
		    errbuf, errno == ENOENT ? TH_ERR_NOTFOUND : TH_ERR_IO,
		    "cannot read OpenNebula auth file %s: %s (set ONE_AUTH or create it "
		    "with one line user:password)",
		    path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "OpenNebula auth file %s is not a regular file", path);
	}
	if (st.st_mode & S_IROTH) {
		close(fd);
		return th_seterr(
		    errbuf, TH_ERR_AUTH,
		    "OpenNebula auth file %s is readable by everyone (mode %04o): refusing "
		    "to use it; chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return th_seterr(errbuf, TH_ERR_IO, "cannot read %s: %s", path, strerror(errno));
	}
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
	                 line[n - 1] == '\t'))
		line[--n] = '\0';
	if (strchr(line, ':') == NULL || line[0] == ':')
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "OpenNebula auth file %s: first line must be user:password", path);
	if (n + 1 > size)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "OpenNebula auth file %s: line too long",
		                 path);
	memcpy(session, line, n + 1);
	return TH_OK;
}

th_err one_client_open(one_client **cp, const char *url, const char *session, unsigned timeout_ms,
                       char *errbuf)
{
	static int global_done;
	xmlrpc_env env;
	struct xmlrpc_curl_xportparms cx;
	struct xmlrpc_clientparms cp_parms;
	one_client *c;

	*cp = NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory");
	snprintf(c->url, sizeof c->url, "%s", one_endpoint(url));
	snprintf(c->session, sizeof c->session, "%s", session);
	xmlrpc_env_init(&env);
	if (!global_done) {
		xmlrpc_client_setup_global_const(&env);
		xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, ONE_MESSAGE_SIZE);
		global_done = 1;
	}
	memset(&cx, 0, sizeof cx);
	cx.timeout = timeout_ms;
	cx.user_agent = "themis-trigger/" THEMIS_VERSION;
	cx.dont_advertise = 1;
	memset(&cp_parms, 0, sizeof cp_parms);
	cp_parms.transport = "curl";
	cp_parms.transportparmsP = &cx;
	cp_parms.transportparm_size = XMLRPC_CXPSIZE(dont_advertise);
	xmlrpc_client_create(&env, XMLRPC_CLIENT_NO_FLAGS, "themis-trigger", THEMIS_VERSION,
	                     &cp_parms, XMLRPC_CPSIZE(transportparm_size), &c->xc);
	if (env.fault_occurred) {
		th_err e = th_seterr(errbuf, TH_ERR_NET, "cannot create XML-RPC client for %s: %s",
		                     c->url, env.fault_string);
		xmlrpc_env_clean(&env);
		free(c);
		return e;
	}
	c->server = xmlrpc_server_info_new(&env, c->url);
	if (env.fault_occurred) {
		th_err e = th_seterr(errbuf, TH_ERR_INVALID, "bad OpenNebula endpoint %s: %s",
		                     c->url, env.fault_string);
		xmlrpc_env_clean(&env);
		xmlrpc_client_destroy(c->xc);
		free(c);
		return e;
	}
	xmlrpc_env_clean(&env);
	*cp = c;
	return TH_OK;
}

void one_client_close(one_client *c)
{
	if (c == NULL)
		return;
	xmlrpc_server_info_free(c->server);
	xmlrpc_client_destroy(c->xc);
	memset(c->session, 0, sizeof c->session);
	free(c);
}

const char *one_client_url(const one_client *c)
{
	return c->url;
}

/* Send a call and parse the reply as xmlrpc_client_call2 does, with one_resp_check between
 * transport and parser: a reply that would crash xmlrpc-c is refused instead. On a fault *res
 * stays NULL and env carries the fault code and string. */
static void one_exchange(xmlrpc_env *env, one_client *c, const char *method, xmlrpc_value *params,
                         xmlrpc_value **res, th_err *check, char *errbuf)
{
	xmlrpc_mem_block *call, *resp = NULL;
	int fault_code = 0;
	const char *fault_string = NULL;

	*check = TH_OK;
	call = XMLRPC_MEMBLOCK_NEW(char, env, 0);
	if (env->fault_occurred)
		return;
	xmlrpc_serialize_call2(env, call, method, params, xmlrpc_dialect_i8);
	if (!env->fault_occurred)
		xmlrpc_client_transport_call2(env, c->xc, c->server, call, &resp);
	XMLRPC_MEMBLOCK_FREE(char, call);
	if (env->fault_occurred)
		return;
	*check = one_resp_check(method, XMLRPC_MEMBLOCK_CONTENTS(char, resp),
	                        XMLRPC_MEMBLOCK_SIZE(char, resp), errbuf);
	if (*check == TH_OK)
		xmlrpc_parse_response2(env, XMLRPC_MEMBLOCK_CONTENTS(char, resp),
		                       XMLRPC_MEMBLOCK_SIZE(char, resp), res, &fault_code,
		                       &fault_string);
	XMLRPC_MEMBLOCK_FREE(char, resp);
	if (!env->fault_occurred && fault_string != NULL) {
		xmlrpc_env_set_fault(env, fault_code, fault_string);
		free((void *)fault_string);
	}
}

/* Call method with an xmlrpc-c format (the session is prepended) and read the reply. */
static th_err one_call(one_client *c, const char *method, one_reply *r, char *errbuf,
                       const char *fmt, ...)
{
	xmlrpc_env env;
	xmlrpc_value *params, *res = NULL;
	const char *tail = NULL;
	va_list ap;
	th_err e;

	xmlrpc_env_init(&env);
	va_start(ap, fmt);
	xmlrpc_build_value_va(&env, fmt, ap, &params, &tail);
	va_end(ap);
	if (env.fault_occurred) {
		e = th_seterr(errbuf, TH_ERR_INVALID, "%s: cannot build parameters: %s", method,
		              env.fault_string);
		xmlrpc_env_clean(&env);
		return e;
	}
	one_exchange(&env, c, method, params, &res, &e, errbuf);
	xmlrpc_DECREF(params);
	if (e != TH_OK) {
		xmlrpc_env_clean(&env);
		memset(r, 0, sizeof *r);
		return e;
	}
	if (env.fault_occurred) {
		e = one_fault(method, c->url, env.fault_code, env.fault_string, errbuf);
		xmlrpc_env_clean(&env);
		memset(r, 0, sizeof *r);
		r->code = env.fault_code;
		return e;
	}
	xmlrpc_env_clean(&env);
	e = one_reply_read(method, res, r, errbuf);
	xmlrpc_DECREF(res);
	return e;
}

th_err one_system_version(one_client *c, char *ver, size_t size, char *errbuf)
{
	one_reply r;
	th_err e = one_call(c, "one.system.version", &r, errbuf, "(s)", c->session);

	if (e != TH_OK)
		return e;
	if (r.str == NULL) {
		one_reply_free(&r);
		return th_seterr(errbuf, TH_ERR_PARSE, "one.system.version: reply is not a string");
	}
	snprintf(ver, size, "%s", r.str);
	one_reply_free(&r);
	return TH_OK;
}

/* A call whose item 1 is an XML document. */
static th_err one_doc_call(one_client *c, const char *method, one_reply *r, char *errbuf, th_err e)
{
	if (e != TH_OK)
		return e;
	if (r->str == NULL) {
		one_reply_free(r);
		return th_seterr(errbuf, TH_ERR_PARSE, "%s: reply item 1 is not a document",
		                 method);
	}
	return TH_OK;
}

th_err one_vm_info(one_client *c, int id, one_vm *vm, char *errbuf)
{
	one_reply r;
	th_err e = one_call(c, "one.vm.info", &r, errbuf, "(si)", c->session, id);

	if ((e = one_doc_call(c, "one.vm.info", &r, errbuf, e)) != TH_OK)
		return e;
	e = one_vm_parse(r.str, strlen(r.str), vm, errbuf);
	one_reply_free(&r);
	return e;
}

th_err one_vm_pool(one_client *c, one_vm **vms, size_t *n, char *errbuf)
{
	one_reply r;
	th_err e =
	    one_call(c, "one.vmpool.info", &r, errbuf, "(siiii)", c->session, -2, -1, -1, -1);

	if ((e = one_doc_call(c, "one.vmpool.info", &r, errbuf, e)) != TH_OK)
		return e;
	e = one_vmpool_parse(r.str, strlen(r.str), vms, n, errbuf);
	one_reply_free(&r);
	return e;
}

th_err one_host_pool(one_client *c, one_host **hosts, size_t *n, char *errbuf)
{
	one_reply r;
	th_err e = one_call(c, "one.hostpool.info", &r, errbuf, "(s)", c->session);

	if ((e = one_doc_call(c, "one.hostpool.info", &r, errbuf, e)) != TH_OK)
		return e;
	e = one_hostpool_parse(r.str, strlen(r.str), hosts, n, errbuf);
	one_reply_free(&r);
	return e;
}

th_err one_vm_migrate(one_client *c, int id, int hid, bool live, int mtype, bool *used7,
                      char *errbuf)
{
	one_reply r;
	th_err e;

	if (used7 != NULL)
		*used7 = true;
	e = one_call(c, "one.vm.migrate", &r, errbuf, "(siibbii)", c->session, id, hid,
	             (xmlrpc_bool)live, (xmlrpc_bool)0, -1, mtype);
	if (e == TH_ERR_INVALID && r.code == XMLRPC_TYPE_ERROR) {
		/* an older server that does not take the optional parameters */
		if (used7 != NULL)
			*used7 = false;
		e = one_call(c, "one.vm.migrate", &r, errbuf, "(siib)", c->session, id, hid,
		             (xmlrpc_bool)live);
	}
	if (e == TH_OK)
		one_reply_free(&r);
	else if (errbuf != NULL && e != TH_ERR_NET) {
		/* prefix the request: "one.vm.migrate VM 42 → host 3 refused: …" */
		char tmp[TH_ERRLEN];
		const char *msg =
		    strncmp(errbuf, "one.vm.migrate: ", 16) == 0 ? errbuf + 16 : errbuf;

		snprintf(tmp, sizeof tmp, "one.vm.migrate VM %d → host %d refused: %s", id, hid,
		         msg);
		snprintf(errbuf, TH_ERRLEN, "%s", tmp);
	}
	if (e != TH_OK)
		one_reply_free(&r);
	return e;
}

static bool one_is_id(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
	}
	return strlen(s) < 10;
}

th_err one_vm_lookup(one_client *c, const char *id_or_name, int *id, char *name, size_t namesz,
                     char *errbuf)
{
	one_vm *vms;
	size_t n, hits = 0;
	th_err e = one_vm_pool(c, &vms, &n, errbuf);
	bool byid = one_is_id(id_or_name);

	if (e != TH_OK)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((byid && vms[i].id == atoi(id_or_name)) ||
		    (!byid && strcmp(vms[i].name, id_or_name) == 0)) {
			hits++;
			*id = vms[i].id;
			snprintf(name, namesz, "%s", vms[i].name);
		}
	}
	one_vm_array_free(vms, n);
	if (hits == 0)
		return th_seterr(errbuf, TH_ERR_NOTFOUND, "no VM \"%s\" in OpenNebula at %s",
		                 id_or_name, c->url);
	if (hits > 1)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%zu VMs are named \"%s\": give the VM id instead", hits,
		                 id_or_name);
	return TH_OK;
}

th_err one_host_lookup(one_client *c, const char *id_or_name, int *id, char *name, size_t namesz,
                       char *errbuf)
{
	one_host *h;
	size_t n, hits = 0;
	th_err e = one_host_pool(c, &h, &n, errbuf);
	bool byid = one_is_id(id_or_name);

	if (e != TH_OK)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((byid && h[i].id == atoi(id_or_name)) ||
		    (!byid && strcmp(h[i].name, id_or_name) == 0)) {
			hits++;
			*id = h[i].id;
			snprintf(name, namesz, "%s", h[i].name);
		}
	}
	free(h);
	if (hits == 0)
		return th_seterr(errbuf, TH_ERR_NOTFOUND, "no host \"%s\" in OpenNebula at %s",
		                 id_or_name, c->url);
	if (hits > 1)
		return th_seterr(errbuf, TH_ERR_INVALID, "%zu hosts are named \"%s\": give the id",
		                 hits, id_or_name);
	return TH_OK;
}
