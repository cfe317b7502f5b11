/* tp-http.h — the ingest endpoint's transport: a libmicrohttpd daemon with its own thread pool
 * that collects request bodies (bounded) and hands each request to tp_ingest_handle(). */
#ifndef TP_HTTP_H
#define TP_HTTP_H

#include "th-error.h"
#include "tp-ingest.h"

typedef struct tp_http tp_http;

/* What clients may make the server hold (collectd-themis(5) LIMITS). */
typedef struct tp_http_limits {
	unsigned threads;                /* worker threads (Threads) */
	unsigned connections;            /* open connections in all (MaxConnections) */
	unsigned connections_per_client; /* ... from one address (MaxConnectionsPerClient) */
	size_t max_buffered;             /* request body bytes held at once (MaxBufferedBytes) */
} tp_http_limits;

/* Listen on node:service (numeric or names). `in` must outlive the server. */
th_err tp_http_start(tp_http **out, const char *node, const char *service,
                     const tp_http_limits *lim, const tp_ingest *in, char *errbuf);

/* Stop accepting, finish requests in flight, free. NULL is fine. */
void tp_http_stop(tp_http *h);

#endif
