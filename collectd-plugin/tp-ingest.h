/* tp-ingest.h — the HTTP API of the plugin (DESIGN §5.4) as a pure request -> reply function:
 * routing, bearer token, body bound, strict decoding, and the JSON replies. The transport
 * (libmicrohttpd, tp-http.c) and the state behind it (callbacks) stay outside.
 *
 *   POST /v1/records   array of records         200 {"accepted":N,"duplicates":M}
 *   POST /v1/markers   array of markers         200 {"accepted":N,"duplicates":M}
 *   POST /v1/iperf?vm=V&stream=S  iperf3 --json document or --json-stream lines   200 ...
 *   GET  /v1/health                             200 {"status":"ok",...} (counters only with
 *                                               the token, when one is configured)
 * Errors: 400 (message names the field or a decoder bound), 401 (token), 404, 405, 409 (a
 * session's own bound), 413 (body bound, MaxBodySize), 429 (a count limit: send again later),
 * 503 (queue full or shutting down; nothing accepted, send again later).
 */
#ifndef TH_PLUGIN_TP_INGEST_H
#define TH_PLUGIN_TP_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-error.h"
#include "th-marker.h"
#include "th-record.h"

typedef struct tp_ingest {
	const char *token; /* NULL or "": no authentication */
	size_t max_body;
	void *ctx;
	/* Take validated input (the status of each error: see above). On success *ticket may be
	 * set non-zero: the reply must wait until the state behind says that ticket is done (the
	 * values are dispatched and durable), see tp_reply.ticket. */
	th_err (*records)(void *ctx, const th_record *r, size_t n, size_t *dups, uint64_t *ticket,
	                  char *errbuf);
	th_err (*markers)(void *ctx, const th_marker *m, size_t n, size_t *dups, uint64_t *ticket,
	                  char *errbuf);
	/* Extra members for the health reply, e.g. "\"sessions\":2,\"queued\":0". */
	void (*health)(void *ctx, char *buf, size_t size);
} tp_ingest;

typedef struct tp_reply {
	int status;
	uint64_t ticket; /* non-zero: send this reply only once the ticket is done */
	char body[1536];
} tp_reply;

/* What the request line and headers alone decide, before any body is read: false with the
 * reply in rep (404, 405, 401, or 413 when content_length (-1: not given) exceeds max_body). */
bool tp_ingest_precheck(const tp_ingest *in, const char *method, const char *path, const char *auth,
                        long long content_length, tp_reply *rep);

/* Handle one request. `vm` and `stream` are the query's values, already decoded once by the
 * transport (NULL when absent), `auth` the Authorization header (may be NULL), `too_big` true
 * when the body exceeded max_body (then body is partial). */
void tp_ingest_handle(const tp_ingest *in, const char *method, const char *path, const char *vm,
                      const char *stream, const char *auth, const char *body, size_t len,
                      bool too_big, tp_reply *rep);

#endif
