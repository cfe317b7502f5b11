/* tp-http.h — the ingest endpoint's transport: a libmicrohttpd daemon with its own thread pool
 * that collects request bodies (bounded) and hands each request to tp_ingest_handle(). */
#ifndef TP_HTTP_H
#define TP_HTTP_H

#include "th-error.h"
#include "tp-ingest.h"

typedef struct tp_http tp_http;

/* Listen on node:service (numeric or names) with `threads` worker threads. `in` must outlive
 * the server. */
th_err tp_http_start(tp_http **out, const char *node, const char *service, unsigned threads,
                     const tp_ingest *in, char *errbuf);

/* Stop accepting, finish requests in flight, free. NULL is fine. */
void tp_http_stop(tp_http *h);

#endif
