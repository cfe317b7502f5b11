/* one-client.c — XML-RPC calls to OpenNebula: xmlrpc-c serializes the call, libcurl carries it
 * (the reply is read into a buffer capped at the response limit, so an endless or huge reply
 * costs at most that much memory), one_resp_check refuses what xmlrpc-c must not see (a
 * DOCTYPE, whose entities its parser expands without bound; bad <i8>), then xmlrpc-c parses. */
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
#include <curl/curl.h>
#include <xmlrpc-c/base.h>

#include "one-client.h"
#include "one-names.h"
#include "one-resp.h"

struct one_client {
	CURL *curl; /* kept between calls: the connection is reused */
	unsigned timeout_ms;
	size_t max_response;
	char url[512];
	char session[512];
};

/* A reply being received. */
typedef struct one_body {
	char *p;
	size_t len, cap, max;
	bool over;
} one_body;

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
	one_client *c;
	const char *u;

	*cp = NULL;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return th_seterr(errbuf, TH_ERR_IO, "cannot initialise libcurl");
		/* our own cap (max_response) is the one that counts; xmlrpc-c's stays above it */
		xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, ONE_RESPONSE_LIMIT + 1);
		global_done = 1;
	}
	u = one_endpoint(url);
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "bad OpenNebula endpoint %s: must start with http:// or https://",
		                 u);
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory");
	if ((size_t)snprintf(c->url, sizeof c->url, "%s", u) >= sizeof c->url) {
		free(c);
		return th_seterr(errbuf, TH_ERR_TOOBIG, "OpenNebula endpoint URL too long");
	}
	snprintf(c->session, sizeof c->session, "%s", session);
	c->timeout_ms = timeout_ms;
	c->max_response = ONE_RESPONSE_DEFAULT;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		free(c);
		return th_seterr(errbuf, TH_ERR_NOMEM, "cannot create an HTTP handle");
	}
	*cp = c;
	return TH_OK;
}

void one_client_set_max_response(one_client *c, size_t bytes)
{
	c->max_response = bytes;
}

void one_client_close(one_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	memset(c->session, 0, sizeof c->session);
	free(c);
}

const char *one_client_url(const one_client *c)
{
	return c->url;
}

void one_size_text(size_t bytes, char *buf, size_t size)
{
	if (bytes >= 1024UL * 1024 * 1024 && bytes % (1024UL * 1024 * 1024) == 0)
		snprintf(buf, size, "%zu GiB", bytes / (1024UL * 1024 * 1024));
	else if (bytes >= 1024UL * 1024 && bytes % (1024UL * 1024) == 0)
		snprintf(buf, size, "%zu MiB", bytes / (1024UL * 1024));
	else if (bytes >= 1024 && bytes % 1024 == 0)
		snprintf(buf, size, "%zu KiB", bytes / 1024);
	else
		snprintf(buf, size, "%zu bytes", bytes);
}

/* libcurl's write callback: append, never past b->max (the transfer is aborted instead). */
static size_t one_body_add(char *data, size_t sz, size_t n, void *arg)
{
	one_body *b = arg;
	size_t len = sz * n;

	if (len > b->max - b->len) {
		b->over = true;
		return 0;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 64 * 1024;
		char *p;

		while (cap < b->len + len + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		if ((p = realloc(b->p, cap)) == NULL)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

/* POST the serialized call; the reply body into *body (caller frees body->p). */
static th_err one_post(one_client *c, const char *method, const char *call, size_t call_len,
                       one_body *body, char *errbuf)
{
	CURL *h = c->curl;
	struct curl_slist *hdr = NULL;
	char cerr[CURL_ERROR_SIZE] = "", lim[32];
	long status = 0;
	CURLcode rc;
	th_err e = TH_OK;

	memset(body, 0, sizeof *body);
	body->max = c->max_response;
	hdr = curl_slist_append(hdr, "Content-Type: text/xml");
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, call);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call_len);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "themis-trigger/" THEMIS_VERSION);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, one_body_add);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	/* a declared length over the limit is refused before any byte is read */
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
	rc = curl_easy_perform(h);
	curl_slist_free_all(hdr);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	one_size_text(c->max_response, lim, sizeof lim);
	if (body->over || rc == CURLE_FILESIZE_EXCEEDED)
		e = th_seterr(errbuf, TH_ERR_TOOBIG,
		              "%s: reply from %s is larger than the response limit of %s: refused "
		              "(raise it with --max-response)",
		              method, c->url, lim);
	else if (rc != CURLE_OK)
		e = th_seterr(errbuf, TH_ERR_NET, "%s: cannot reach OpenNebula at %s: %s", method,
		              c->url, cerr[0] ? cerr : curl_easy_strerror(rc));
	else if (status != 200)
		e = th_seterr(errbuf, TH_ERR_NET, "%s: OpenNebula at %s answered HTTP %ld, not 200",
		              method, c->url, status);
	if (e != TH_OK) {
		free(body->p);
		memset(body, 0, sizeof *body);
	}
	return e;
}

/* Send a call and parse the reply, with one_resp_check between transport and parser: a reply
 * that would crash xmlrpc-c or make it expand entities is refused instead (*check, errbuf). On a
 * fault *res stays NULL and env carries the fault code and string. */
static void one_exchange(xmlrpc_env *env, one_client *c, const char *method, xmlrpc_value *params,
                         xmlrpc_value **res, th_err *check, char *errbuf)
{
	xmlrpc_mem_block *call;
	one_body body;
	int fault_code = 0;
	const char *fault_string = NULL;

	*check = TH_OK;
	call = XMLRPC_MEMBLOCK_NEW(char, env, 0);
	if (env->fault_occurred)
		return;
	xmlrpc_serialize_call2(env, call, method, params, xmlrpc_dialect_i8);
	if (env->fault_occurred) {
		XMLRPC_MEMBLOCK_FREE(char, call);
		return;
	}
	*check = one_post(c, method, XMLRPC_MEMBLOCK_CONTENTS(char, call),
	                  XMLRPC_MEMBLOCK_SIZE(char, call), &body, errbuf);
	XMLRPC_MEMBLOCK_FREE(char, call);
	if (*check != TH_OK)
		return;
	*check = one_resp_check(method, body.p != NULL ? body.p : "", body.len, errbuf);
	if (*check == TH_OK)
		xmlrpc_parse_response2(env, body.p != NULL ? body.p : "", body.len, res,
		                       &fault_code, &fault_string);
	free(body.p);
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

/* One candidate of a lookup by id or name: counted and kept when it matches. */
static void one_match(const char *id_or_name, bool byid, int cid, const char *cname, size_t *hits,
                      int *id, char *name, size_t namesz)
{
	if ((byid && cid == atoi(id_or_name)) || (!byid && strcmp(cname, id_or_name) == 0)) {
		(*hits)++;
		*id = cid;
		snprintf(name, namesz, "%s", cname);
	}
}

/* The verdict of a lookup that found hits objects of kind what ("VM", "host"). */
static th_err one_lookup_end(const one_client *c, const char *what, const char *id_or_name,
                             size_t hits, char *errbuf)
{
	if (hits == 0)
		return th_seterr(errbuf, TH_ERR_NOTFOUND, "no %s \"%s\" in OpenNebula at %s", what,
		                 id_or_name, c->url);
	if (hits > 1)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%zu %ss are named \"%s\": give the %s id instead", hits, what,
		                 id_or_name, what);
	return TH_OK;
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
	for (size_t i = 0; i < n; i++)
		one_match(id_or_name, byid, vms[i].id, vms[i].name, &hits, id, name, namesz);
	one_vm_array_free(vms, n);
	return one_lookup_end(c, "VM", id_or_name, hits, errbuf);
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
	for (size_t i = 0; i < n; i++)
		one_match(id_or_name, byid, h[i].id, h[i].name, &hits, id, name, namesz);
	free(h);
	return one_lookup_end(c, "host", id_or_name, hits, errbuf);
}
