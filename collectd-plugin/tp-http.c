/* tp-http.c — libmicrohttpd glue for the ingest endpoint (see tp-http.h): the daemon's life
 * cycle (over HTTPS with tp-tls.h's settings), the request handler with its bounds and its
 * suspended replies, and the client-certificate check libmicrohttpd leaves to the application. */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "th-time.h"
#include "tp-http.h"

typedef struct tp_req tp_req;

struct tp_http {
	struct MHD_Daemon *d;
	const tp_ingest *in;
	bool verify_client; /* TLSCAFile: every request needs a client certificate it signed */
	size_t max_buffered;
	int64_t ack_wait_ns;
	pthread_mutex_t lock;
	size_t buffered; /* body bytes held by all requests, under lock */
	tp_req *waiting; /* suspended requests waiting for their ticket, under lock */
	bool stopping;   /* under lock: no request is suspended any more */
};

struct tp_req {
	char *body;
	size_t len, cap;
	bool too_big;
	bool over_budget; /* MaxBufferedBytes was reached while reading it */
	/* A request answered only once its ticket is done: its connection is suspended (no
	 * thread is held) and resumed by tp_http_release(). */
	struct MHD_Connection *conn;
	tp_req *next;
	bool ready; /* the reply may go out (done, timed out or shutting down) */
	int64_t deadline_ns;
	tp_reply reply;
};

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

/* Grow rq's buffer for n more bytes within MaxBodySize and MaxBufferedBytes. */
static bool tp_reserve(tp_http *h, tp_req *rq, size_t n)
{
	size_t cap = rq->cap ? rq->cap : 4096;
	bool ok;
	char *nb;

	if (rq->len + n <= rq->cap)
		return true;
	while (cap < rq->len + n)
		cap *= 2;
	if (cap > h->in->max_body)
		cap = h->in->max_body;
	pthread_mutex_lock(&h->lock);
	ok = h->buffered + (cap - rq->cap) <= h->max_buffered;
	if (ok)
		h->buffered += cap - rq->cap;
	pthread_mutex_unlock(&h->lock);
	if (!ok || (nb = realloc(rq->body, cap)) == NULL) {
		if (ok) {
			pthread_mutex_lock(&h->lock);
			h->buffered -= cap - rq->cap;
			pthread_mutex_unlock(&h->lock);
		}
		return false;
	}
	rq->body = nb;
	rq->cap = cap;
	return true;
}

static void tp_req_free(tp_http *h, tp_req *rq)
{
	pthread_mutex_lock(&h->lock);
	h->buffered -= rq->cap;
	pthread_mutex_unlock(&h->lock);
	free(rq->body);
	free(rq);
}

/* The request line and headers are checked on the first call, before any body is read: an
 * unauthenticated or oversized request costs no buffer. */
static enum MHD_Result tp_first(tp_http *h, struct MHD_Connection *conn, const char *url,
                                const char *method, void **con_cls)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	long long length = -1;
	enum MHD_Result refused;
	tp_reply rep;
	tp_req *rq;

	if (tp_tls_refuse(h, conn, &refused))
		return refused;
	if (cl != NULL) {
		char *end;

		errno = 0;
		length = strtoll(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0' || length < 0)
			length = LLONG_MAX; /* unparsable: refuse as too large */
	}
	if (!tp_ingest_precheck(h->in, method, url,
	                        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
	                        length, &rep))
		return tp_send(conn, &rep);
	if ((rq = calloc(1, sizeof *rq)) == NULL)
		return MHD_NO;
	*con_cls = rq;
	return MHD_YES;
}

static enum MHD_Result tp_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	tp_http *h = cls;
	tp_req *rq = *con_cls;
	tp_reply rep;

	if (rq == NULL)
		return tp_first(h, conn, url, method, con_cls);
	if (rq->ready) /* resumed */
		return tp_send(conn, &rq->reply);
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		if (!rq->too_big && !rq->over_budget && rq->len + n > h->in->max_body)
			rq->too_big = true;
		else if (!rq->too_big && !rq->over_budget && !tp_reserve(h, rq, n))
			rq->over_budget = true;
		if (!rq->too_big && !rq->over_budget) {
			memcpy(rq->body + rq->len, upload_data, n);
			rq->len += n;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->over_budget) {
		rep.status = 503;
		snprintf(rep.body, sizeof rep.body,
		         "{\"error\":\"request bodies in progress hold %zu bytes "
		         "(MaxBufferedBytes): send again later\"}\n",
		         h->max_buffered);
		return tp_send(conn, &rep);
	}
	/* MHD decodes the query's values once; they are used as they are. */
	tp_ingest_handle(h->in, method, url,
	                 MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "vm"),
	                 MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "stream"),
	                 MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
	                 rq->body ? rq->body : "", rq->len, rq->too_big, &rep);
	if (rep.ticket == 0)
		return tp_send(conn, &rep);
	rq->reply = rep;
	rq->conn = conn;
	rq->deadline_ns = th_mono_ns() + h->ack_wait_ns;
	/* Under the lock, so that tp_http_release() cannot resume it before it is suspended, and
	 * none is suspended once the server stops (libmicrohttpd cannot stop with one). */
	pthread_mutex_lock(&h->lock);
	if (h->stopping) {
		pthread_mutex_unlock(&h->lock);
		rq->reply.status = 503;
		snprintf(rq->reply.body, sizeof rq->reply.body,
		         "{\"error\":\"shutting down: send again later (re-sending is safe)\"}\n");
		return tp_send(conn, &rq->reply);
	}
	rq->next = h->waiting;
	h->waiting = rq;
	MHD_suspend_connection(conn);
	pthread_mutex_unlock(&h->lock);
	return MHD_YES;
}

/* Let waiting requests go out: those whose ticket is done, those past the wait (503: the client
 * sends again, which is safe), and all of them when stopping. */
static void tp_release(tp_http *h, uint64_t done, int64_t now_ns, bool stopping)
{
	pthread_mutex_lock(&h->lock);
	if (stopping)
		h->stopping = true;
	for (tp_req **pp = &h->waiting, *rq; (rq = *pp) != NULL;) {
		if (rq->reply.ticket > done && now_ns < rq->deadline_ns && !stopping) {
			pp = &rq->next;
			continue;
		}
		*pp = rq->next;
		if (rq->reply.ticket > done) {
			rq->reply.status = 503;
			snprintf(rq->reply.body, sizeof rq->reply.body,
			         "{\"error\":\"%s: send again later (re-sending is safe)\"}\n",
			         stopping ? "shutting down" : "not dispatched in time");
		}
		rq->ready = true;
		MHD_resume_connection(rq->conn);
	}
	pthread_mutex_unlock(&h->lock);
}

void tp_http_release(tp_http *h, uint64_t done, int64_t now_ns)
{
	if (h != NULL)
		tp_release(h, done, now_ns, false);
}

static void tp_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	tp_req *rq = *con_cls;

	if (rq != NULL) {
		tp_req_free(cls, rq);
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

th_err tp_http_start(tp_http **out, const char *node, const char *service,
                     const tp_http_limits *lim, const tp_ingest *in, const tp_tls *tls,
                     char *errbuf)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
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
	h->max_buffered = lim->max_buffered;
	h->ack_wait_ns = lim->ack_wait_ns;
	pthread_mutex_init(&h->lock, NULL);
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, tp_handler, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(lim->threads ? lim->threads : 1),
	    MHD_OPTION_NOTIFY_COMPLETED, tp_completed, h, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, lim->connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, lim->connections_per_client, MHD_OPTION_ARRAY,
	    tls_opts, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (h->d == NULL) {
		pthread_mutex_destroy(&h->lock);
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
	/* Stop accepting first, then let the suspended requests out: MHD cannot stop with
	 * connections suspended. */
	MHD_socket listen = MHD_quiesce_daemon(h->d); /* now ours to close */

	tp_release(h, 0, 0, true);
	MHD_stop_daemon(h->d);
	if (listen != MHD_INVALID_SOCKET)
		close(listen);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
