/* tp-http.c — libmicrohttpd glue for the ingest endpoint (see tp-http.h): the daemon's life
 * cycle, the request handler, and the TLS settings (loading and checking the PEM files, and the
 * client-certificate check libmicrohttpd leaves to the application). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "tp-http.h"

struct tp_http {
	struct MHD_Daemon *d;
	const tp_ingest *in;
	bool verify_client; /* TLSCAFile: every request needs a client certificate it signed */
};

typedef struct tp_req {
	char *body;
	size_t len, cap;
	bool too_big;
} tp_req;

static enum MHD_Result tp_send(struct MHD_Connection *conn, const tp_reply *rep)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(rep->body), (void *)rep->body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (rep->status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"themis\"");
	ret = MHD_queue_response(conn, (unsigned)rep->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ------------------------------------------------------------------ TLS */

#define TP_TLS_FILE_MAX (1 << 20)

bool tp_tls_enabled(const tp_tls *t)
{
	return t != NULL && t->cert_file != NULL;
}

/* Read a whole PEM file of at most TP_TLS_FILE_MAX bytes into *out (NUL-terminated). */
static th_err tp_tls_read(const char *opt, const char *path, char **out, char *errbuf)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL)
		return th_seterr(errbuf, TH_ERR_IO, "%s %s: %s", opt, path, strerror(errno));
	if ((buf = malloc(TP_TLS_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return th_seterr(errbuf, TH_ERR_NOMEM, "%s %s: out of memory", opt, path);
	}
	n = fread(buf, 1, TP_TLS_FILE_MAX + 1, f);
	if (ferror(f) || n > TP_TLS_FILE_MAX || n == 0) {
		int err = ferror(f) ? errno : 0;

		fclose(f);
		free(buf);
		return th_seterr(errbuf, n > TP_TLS_FILE_MAX ? TH_ERR_TOOBIG : TH_ERR_IO,
		                 "%s %s: %s", opt, path,
		                 err                   ? strerror(err)
		                 : n > TP_TLS_FILE_MAX ? "larger than 1 MiB"
		                                       : "empty file");
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	return TH_OK;
}

static gnutls_datum_t tp_tls_datum(char *pem)
{
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};

	return d;
}

/* The files parse on their own, then the key matches the certificate. */
static th_err tp_tls_check_pair(const tp_tls *t, char *errbuf)
{
	gnutls_datum_t cd = tp_tls_datum(t->cert_pem), kd = tp_tls_datum(t->key_pem);
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_certificate_credentials_t cred = NULL;
	th_err e = TH_OK;
	int rc;

	if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_certificate_allocate_credentials(&cred) < 0)
		e = th_seterr(errbuf, TH_ERR_NOMEM, "TLS: out of memory");
	else if ((rc = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM)) < 0)
		e = th_seterr(errbuf, TH_ERR_INVALID, "TLSCertFile %s: not a PEM certificate (%s)",
		              t->cert_file, gnutls_strerror(rc));
	else if ((rc = gnutls_x509_privkey_import2(key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		e = th_seterr(errbuf, TH_ERR_INVALID,
		              "TLSKeyFile %s: not an unencrypted PEM private key (%s)", t->key_file,
		              gnutls_strerror(rc));
	else if ((rc = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM,
	                                                    NULL, 0)) < 0)
		e = th_seterr(errbuf, TH_ERR_INVALID,
		              rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH
		                  ? "TLSKeyFile %s does not match TLSCertFile %s (%s)"
		                  : "TLSKeyFile %s with TLSCertFile %s: %s",
		              t->key_file, t->cert_file, gnutls_strerror(rc));
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return e;
}

static th_err tp_tls_check_ca(const tp_tls *t, char *errbuf)
{
	gnutls_datum_t ad = tp_tls_datum(t->ca_pem);
	gnutls_certificate_credentials_t cred;
	int rc;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return th_seterr(errbuf, TH_ERR_NOMEM, "TLS: out of memory");
	rc = gnutls_certificate_set_x509_trust_mem(cred, &ad, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (rc <= 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "TLSCAFile %s: no PEM certificate (%s)",
		                 t->ca_file, rc < 0 ? gnutls_strerror(rc) : "none found");
	return TH_OK;
}

static th_err tp_tls_check_priorities(const char *prio, char *errbuf)
{
	gnutls_priority_t p;
	const char *where = NULL;
	int rc = gnutls_priority_init(&p, prio, &where);

	if (rc < 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "TLSPriorities \"%s\": %s%s%s", prio,
		                 gnutls_strerror(rc), where ? " at " : "", where ? where : "");
	gnutls_priority_deinit(p);
	return TH_OK;
}

th_err tp_tls_load(tp_tls *t, char *errbuf)
{
	char **pem[] = {&t->cert_pem, &t->key_pem, &t->ca_pem};
	th_err e;

	for (size_t i = 0; i < sizeof pem / sizeof pem[0]; i++) { /* a second block reads anew */
		free(*pem[i]);
		*pem[i] = NULL;
	}

	if (t->cert_file == NULL && t->key_file == NULL) {
		if (t->ca_file != NULL || t->priorities != NULL)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s needs TLSCertFile and TLSKeyFile",
			                 t->ca_file ? "TLSCAFile" : "TLSPriorities");
		return TH_OK;
	}
	if (t->cert_file == NULL || t->key_file == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s needs %s as well",
		                 t->cert_file ? "TLSCertFile" : "TLSKeyFile",
		                 t->cert_file ? t->cert_file : t->key_file,
		                 t->cert_file ? "TLSKeyFile" : "TLSCertFile");
	if ((e = tp_tls_read("TLSCertFile", t->cert_file, &t->cert_pem, errbuf)) != TH_OK ||
	    (e = tp_tls_read("TLSKeyFile", t->key_file, &t->key_pem, errbuf)) != TH_OK ||
	    (e = tp_tls_check_pair(t, errbuf)) != TH_OK)
		return e;
	if (t->ca_file != NULL &&
	    ((e = tp_tls_read("TLSCAFile", t->ca_file, &t->ca_pem, errbuf)) != TH_OK ||
	     (e = tp_tls_check_ca(t, errbuf)) != TH_OK))
		return e;
	if (t->priorities == NULL && (t->priorities = strdup(TP_TLS_PRIORITIES)) == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "TLS: out of memory");
	return tp_tls_check_priorities(t->priorities, errbuf);
}

void tp_tls_free(tp_tls *t)
{
	char **all[] = {&t->cert_file, &t->key_file, &t->ca_file, &t->priorities,
	                &t->cert_pem,  &t->key_pem,  &t->ca_pem};

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (*all[i] != NULL && all[i] == &t->key_pem)
			memset(*all[i], 0, strlen(*all[i]));
		free(*all[i]);
		*all[i] = NULL;
	}
}

/* With TLSCAFile: why the connection's client certificate is not acceptable (false: it is).
 * Checked once per request, before any of its body is read. */
static bool tp_tls_refused(const tp_http *h, struct MHD_Connection *conn, char *why, size_t size)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t s;
	unsigned status = 0;
	gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
	                                 .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
	gnutls_datum_t txt = {NULL, 0};
	int rc;

	if (!h->verify_client)
		return false;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || (s = (gnutls_session_t)ci->tls_session) == NULL) {
		snprintf(why, size, "no TLS session");
		return true;
	}
	if (gnutls_certificate_get_peers(s, NULL) == NULL) {
		snprintf(why, size, "no client certificate presented");
		return true;
	}
	if ((rc = gnutls_certificate_verify_peers(s, &purpose, 1, &status)) < 0) {
		snprintf(why, size, "%s", gnutls_strerror(rc));
		return true;
	}
	if (status == 0)
		return false;
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0) == 0) {
		size_t n = (size_t)snprintf(why, size, "%s", (const char *)txt.data);

		gnutls_free(txt.data);
		for (n = n < size ? n : size - 1; n > 0 && why[n - 1] == ' ';)
			why[--n] = '\0';
	} else {
		snprintf(why, size, "verification status 0x%x", status);
	}
	return true;
}

/* With TLSCAFile, at a request's first call: when its client certificate is refused, queue a
 * 403 naming the reason (the body is never read), set *ret and return true. */
static bool tp_tls_refuse(const tp_http *h, struct MHD_Connection *conn, enum MHD_Result *ret)
{
	tp_reply rep = {.status = 403};
	char why[160];

	if (!tp_tls_refused(h, conn, why, sizeof why))
		return false;
	for (char *p = why; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < ' ')
			*p = ' ';
	snprintf(rep.body, sizeof rep.body, "{\"error\":\"client certificate refused: %s\"}", why);
	*ret = tp_send(conn, &rep);
	return true;
}

/* ------------------------------------------------------------------ requests */

static enum MHD_Result tp_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	tp_http *h = cls;
	tp_req *rq = *con_cls;
	tp_reply rep;
	const char *query;
	char qbuf[512];
	enum MHD_Result refused;

	if (rq == NULL && tp_tls_refuse(h, conn, &refused))
		return refused;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof *rq)) == NULL)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		if (!rq->too_big && rq->len + n > h->in->max_body) {
			rq->too_big = true;
			free(rq->body);
			rq->body = NULL;
			rq->len = rq->cap = 0;
		}
		if (!rq->too_big) {
			if (rq->len + n > rq->cap) {
				size_t cap = rq->cap ? rq->cap : 4096;
				char *nb;

				while (cap < rq->len + n)
					cap *= 2;
				if (cap > h->in->max_body)
					cap = h->in->max_body;
				if ((nb = realloc(rq->body, cap)) == NULL)
					return MHD_NO;
				rq->body = nb;
				rq->cap = cap;
			}
			memcpy(rq->body + rq->len, upload_data, n);
			rq->len += n;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* MHD hands the query split up; rebuild the two keys the API uses. */
	{
		const char *vm = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "vm");
		const char *st = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "stream");
		size_t pos = 0;

		qbuf[0] = '\0';
		if (vm)
			pos += (size_t)snprintf(qbuf, sizeof qbuf, "vm=%s", vm);
		if (st && pos < sizeof qbuf)
			snprintf(qbuf + pos, sizeof qbuf - pos, "%sstream=%s", pos ? "&" : "", st);
		query = qbuf;
	}
	tp_ingest_handle(h->in, method, url, query,
	                 MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
	                 rq->body ? rq->body : "", rq->len, rq->too_big, &rep);
	return tp_send(conn, &rep);
}

static void tp_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	tp_req *rq = *con_cls;

	if (rq != NULL) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* The daemon options TLS adds (an MHD_OPTION_ARRAY ending with MHD_OPTION_END). */
static void tp_tls_options(const tp_tls *tls, struct MHD_OptionItem *o)
{
	size_t n = 0;

	if (tp_tls_enabled(tls)) {
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls->cert_pem};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls->key_pem};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
		                                 tls->priorities ? tls->priorities
		                                                 : (char *)TP_TLS_PRIORITIES};
		if (tls->ca_pem != NULL)
			o[n++] =
			    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, tls->ca_pem};
	}
	o[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

th_err tp_http_start(tp_http **out, const char *node, const char *service, unsigned threads,
                     const tp_ingest *in, const tp_tls *tls, char *errbuf)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	struct MHD_OptionItem tls_opts[5];
	tp_http *h;
	int rc;

	*out = NULL;
	if (tp_tls_enabled(tls)) {
		if (tls->cert_pem == NULL || tls->key_pem == NULL)
			return th_seterr(errbuf, TH_ERR_STATE, "TLSCertFile %s: not loaded",
			                 tls->cert_file);
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return th_seterr(errbuf, TH_ERR_STATE,
			                 "TLSCertFile %s: this libmicrohttpd has no TLS support",
			                 tls->cert_file);
		flags |= MHD_USE_TLS;
	}
	tp_tls_options(tls, tls_opts);
	if ((rc = getaddrinfo(node, service, &hints, &ai)) != 0)
		return th_seterr(errbuf, TH_ERR_NET, "Listen \"%s\" \"%s\": %s", node ? node : "",
		                 service, gai_strerror(rc));
	if ((h = calloc(1, sizeof *h)) == NULL) {
		freeaddrinfo(ai);
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory");
	}
	h->in = in;
	h->verify_client = tp_tls_enabled(tls) && tls->ca_pem != NULL;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, tp_handler, h, MHD_OPTION_SOCK_ADDR,
	                        ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
	                        (unsigned)(threads ? threads : 1), MHD_OPTION_NOTIFY_COMPLETED,
	                        tp_completed, h, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	                        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (h->d == NULL) {
		free(h);
		return th_seterr(errbuf, TH_ERR_NET,
		                 "Listen \"%s\" \"%s\": cannot start the HTTP%s server (address in "
		                 "use?)",
		                 node ? node : "", service, tp_tls_enabled(tls) ? "S" : "");
	}
	*out = h;
	return TH_OK;
}

void tp_http_stop(tp_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
