/* tp-http.h — the ingest endpoint's transport: a libmicrohttpd daemon with its own thread pool
 * that collects request bodies (bounded) and hands each request to tp_ingest_handle(); with a
 * certificate and key it speaks HTTPS only (GnuTLS), and with a CA it refuses clients that do not
 * present a certificate that CA signed. */
#ifndef TH_PLUGIN_TP_HTTP_H
#define TH_PLUGIN_TP_HTTP_H

#include <stdint.h>

#include "th-error.h"
#include "tp-tls.h"
#include "tp-ingest.h"

typedef struct tp_http tp_http;

/* What clients may make the server hold (collectd-themis(5) LIMITS). */
typedef struct tp_http_limits {
	unsigned threads;                /* worker threads (Threads) */
	unsigned connections;            /* open connections in all (MaxConnections) */
	unsigned connections_per_client; /* ... from one address (MaxConnectionsPerClient) */
	size_t max_buffered;             /* request body bytes held at once (MaxBufferedBytes) */
	int64_t ack_wait_ns;             /* longest a reply waits for its ticket, then 503 */
} tp_http_limits;

/* Listen on node:service (numeric or names), over HTTPS when tls is enabled (loaded with
 * tp_tls_load(); NULL or disabled: plain HTTP). `in` and `tls` must outlive the server. */
th_err tp_http_start(tp_http **out, const char *node, const char *service,
                     const tp_http_limits *lim, const tp_ingest *in, const tp_tls *tls,
                     char *errbuf);

/* Send the replies waiting for a ticket <= done, and 503 to those waiting past ack_wait_ns
 * (now_ns: CLOCK_MONOTONIC). Any thread; NULL is fine. */
void tp_http_release(tp_http *h, uint64_t done, int64_t now_ns);

/* Stop accepting, answer waiting requests with 503, finish requests in flight, free. NULL is
 * fine. */
void tp_http_stop(tp_http *h);

#endif
