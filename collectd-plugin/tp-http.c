/* tp-http.c — libmicrohttpd glue for the ingest endpoint (see tp-http.h). */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "tp-http.h"

struct tp_http {
	struct MHD_Daemon *d;
	const tp_ingest *in;
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

static enum MHD_Result tp_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	tp_http *h = cls;
	tp_req *rq = *con_cls;
	tp_reply rep;
	const char *query;
	char qbuf[512];

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

th_err tp_http_start(tp_http **out, const char *node, const char *service, unsigned threads,
                     const tp_ingest *in, char *errbuf)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	tp_http *h;
	int rc;

	*out = NULL;
	if ((rc = getaddrinfo(node, service, &hints, &ai)) != 0)
		return th_seterr(errbuf, TH_ERR_NET, "Listen \"%s\" \"%s\": %s", node ? node : "",
		                 service, gai_strerror(rc));
	if ((h = calloc(1, sizeof *h)) == NULL) {
		freeaddrinfo(ai);
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory");
	}
	h->in = in;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d =
	    MHD_start_daemon(flags, 0, NULL, NULL, tp_handler, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	                     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads ? threads : 1),
	                     MHD_OPTION_NOTIFY_COMPLETED, tp_completed, h,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (h->d == NULL) {
		free(h);
		return th_seterr(errbuf, TH_ERR_NET,
		                 "Listen \"%s\" \"%s\": cannot start the HTTP server (address in "
		                 "use?)",
		                 node ? node : "", service);
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
