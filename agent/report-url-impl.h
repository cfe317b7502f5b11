/* report-url-impl.h — the spool-backed delivery engine behind report-url.h (`--report URL`,
 * DESIGN §5.4), with the knobs the agent's front-end does not need and the pure helpers the unit
 * tests drive.
 *
 * Every record is appended to a spool segment before the push returns, so a record the agent
 * produced survives an endpoint outage and a crash of the agent (kill -9). A delivery thread
 * seals segments into batches (at most batch_max records or flush_ms old), POSTs them in order
 * as a JSON array with libcurl (bearer token from a file, bounded timeouts) and removes a batch
 * only after a 2xx answer. Transport errors, 5xx, 408 and 429 keep the batch and retry with
 * backoff (a TLS failure too: it is logged as an error naming the URL and the reason, as an
 * unknown CA or a refused client certificate need the operator); 401 and 403 are retried the
 * same way for auth_retry_ms from the first of them (the token file is read again before each
 * retry after a 401), then a batch answered 401 or 403 is rejected like any other 4xx until a
 * 2xx ends the episode; 413 splits the batch (the halves acknowledged are remembered, so a retry
 * sends only the rest and counts every record once); any other 4xx moves it to <spool>/rejected/
 * with the server's answer beside it (a batch that cannot be copied there stays in the spool).
 * Segments and the directory are fsync'd when a segment is sealed into a batch. Batch files are
 * read in bounded chunks (at most batch_max records and RU_CHUNK_MAX bytes at a time), at
 * recovery too, so a large file left by an earlier run never sits whole in memory.
 * The spool holds at most spool_max bytes (segments, batches and rejected/ together): a record
 * that would cross it first makes room by deleting the oldest batches, rejected ones first (they
 * are never sent again), then the oldest of the sending queue (the batch being sent included),
 * so the newest records are kept; the records deleted are counted (spool_dropped) and a warning
 * is logged once per episode (it ends when the spool is below half the cap again).
 * The probe schedule never waits on the network (nor on the spool: records reach it from the
 * prober's output thread). When the spool cannot take a record (disk full, I/O error) the record
 * is kept in memory (at most mem_max records, further ones are dropped and counted), a warning is
 * logged, and the memory is written to the spool as soon as it takes records again; while
 * nothing older waits in the spool, the delivery thread also POSTs straight from memory.
 * The code: report-url.c (open, push, close, options), report-spool.c (the spool and rejected/),
 * report-send.c (the delivery thread and its decisions), report-curl.c (libcurl).
 */
#ifndef TH_AGENT_REPORT_URL_IMPL_H
#define TH_AGENT_REPORT_URL_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "th-error.h"
#include "th-record.h"

typedef struct th_report_url th_report_url;

#define TH_REPORT_SPOOL_MAX     (256ULL << 20) /* default --spool-max: 256 MiB */
#define TH_REPORT_AUTH_RETRY_MS 600000u        /* 401/403 retried for 10 minutes */

/* Log sink for the delivery thread. level: 0 error, 1 warning, 2 info. */
typedef void th_report_log_fn(void *ctx, int level, const char *msg);

typedef struct th_report_url_opts {
	const char *url;        /* http[s]://host[:port][/path]; "/v1/records" when path is empty */
	const char *token_file; /* bearer token (first line); NULL: no Authorization header */
	const char *cacert;     /* CA file (PEM) for https://; NULL: the system CA store */
	const char *cert, *key; /* client certificate and its key (PEM), both or neither */
	const char *spool_dir;  /* NULL: a free slot under th_report_url_spool_base() */
	unsigned batch_max;     /* records per POST; 0: 200 */
	unsigned flush_ms;      /* longest a record waits before its batch is sealed; 0: 1000 */
	unsigned timeout_ms;    /* whole-request limit; 0: 5000 (connect limit min(this, 2000)) */
	unsigned retry_max_ms;  /* backoff ceiling while the endpoint is down; 0: 5000 */
	unsigned mem_max;       /* records kept in memory while the spool fails; 0: 10000 */
	unsigned long long spool_max; /* bytes the spool may hold on disk; 0: TH_REPORT_SPOOL_MAX */
	unsigned auth_retry_ms;       /* how long 401/403 are retried; 0: TH_REPORT_AUTH_RETRY_MS */
	th_report_log_fn *log;        /* NULL: lines on stderr prefixed "themis-agent: report: " */
	void *log_ctx;
} th_report_url_opts;

/* Base of default spool directories: $THEMIS_SPOOL_DIR, else /var/spool/themis when running as
 * root, else $XDG_STATE_HOME/themis/spool (~/.local/state/themis/spool). Without --spool-dir an
 * agent takes the first unlocked "<base>/<url>.<n>" (n = 0..63, URL characters outside
 * [A-Za-z0-9.-] as '_'): records are self-describing, so whichever agent next reports to the same
 * URL delivers what a crashed one left. */
th_err th_report_url_spool_base(char *buf, size_t len, char *errbuf);

/* Validate options (the TLS files must be readable), read the token, create and lock the spool (one
 * agent per spool directory), recover batches left by an earlier run (sent first, in order), start
 * the delivery thread. */
th_err th_report_url_open(th_report_url **out, const th_report_url_opts *o, char *errbuf);

/* Append one record, the text of one JSON object (no newline inside), to the spool. */
th_err th_report_url_push_json(th_report_url *r, const char *json, size_t len, char *errbuf);

/* Encode a record (lib/record-json.h) and push it. */
th_err th_report_url_push(th_report_url *r, const th_record *rec, char *errbuf);

/* Seal what is pending, give the delivery thread up to drain_ms to empty the spool, stop it and
 * free everything. Undelivered batches stay in the spool for the next run; the return value is
 * then TH_ERR_TIMEOUT (errbuf says how many records wait). Records lost (dropped from memory, or
 * deleted to stay under spool_max) make it TH_ERR_IO. r may be NULL. */
th_err th_report_url_close(th_report_url *r, unsigned drain_ms, char *errbuf);

/* Counters since open. */
typedef struct th_report_url_stats {
	unsigned long long pushed;    /* records appended to the spool by this process */
	unsigned long long delivered; /* records acknowledged with 2xx */
	unsigned long long rejected;  /* records moved to rejected/ */
	unsigned long long posts;     /* HTTP requests made */
	unsigned long long failures;  /* requests that failed and will be retried */
	unsigned long long pending;   /* records in the spool not yet acknowledged */
	unsigned long long in_memory; /* records waiting in memory because the spool failed */
	unsigned long long dropped;   /* records lost: the spool failed and the memory was full */
	unsigned long long spool_errors;  /* writes to the spool that failed */
	unsigned long long spool_dropped; /* records deleted from disk to stay under spool_max */
	unsigned long long spool_bytes;   /* bytes the spool holds on disk now */
} th_report_url_stats;

void th_report_url_get_stats(th_report_url *r, th_report_url_stats *st);

/* ---- pure helpers (no I/O), exposed for the unit tests ---- */

/* What to do with a batch after an HTTP answer (status 0: no answer, transport failure). */
typedef enum th_report_verdict {
	TH_REPORT_DONE = 1, /* 2xx: acknowledged, remove it */
	TH_REPORT_RETRY,    /* transport error, 5xx, 408, 429 (and 1xx/3xx), 401 and 403 while the
	                     * operator still has time to fix them: keep, retry */
	TH_REPORT_SPLIT,    /* 413: too large, send it in halves */
	TH_REPORT_REJECT,   /* any other 4xx, 401/403 once auth_given_up: move to rejected/ */
} th_report_verdict;

/* auth_given_up: 401/403 have lasted longer than auth_retry_ms and are rejected now. */
th_report_verdict th_report_classify(long http_status, bool auth_given_up);

/* Delivery of the records [lo, hi) of a batch, in order, through an injected POST (returns the
 * HTTP status, 0 for no answer) and an injected keeper of rejected records (false: they could
 * not be stored, so the batch must stay). 413 halves a range (a lone record still too large is
 * rejected). Stops at the first range not settled. */
typedef long th_report_post_fn(void *ctx, size_t lo, size_t hi);
typedef bool th_report_keep_fn(void *ctx, size_t lo, size_t hi, long status);
typedef struct th_report_progress {
	size_t done;      /* [lo, done) settled: acknowledged or kept as rejected */
	size_t delivered; /* records acknowledged with 2xx */
	size_t rejected;  /* records kept as rejected */
	long status;      /* the last HTTP status */
} th_report_progress;

/* DONE when all of [lo, hi) is settled, else RETRY (pr->done says how far it got). pr is
 * reset first (done = lo). */
th_report_verdict th_report_deliver_range(th_report_post_fn *post, th_report_keep_fn *keep,
                                          void *ctx, size_t lo, size_t hi, bool auth_given_up,
                                          th_report_progress *pr);

/* Full endpoint URL from the --report argument: "/v1/records" appended when the URL has no path
 * (or only "/"). Refuses anything but http:// and https:// and URLs with spaces or controls. */
th_err th_report_url_endpoint(const char *arg, char *out, size_t len, char *errbuf);

/* Length of the part of a spool segment that holds complete records: up to and including the
 * last newline (a write cut short by a crash leaves a tail without one). */
size_t th_report_complete_len(const char *buf, size_t n);

#endif
