/* report-url-int.h — the state the files of the delivery engine share (report-url.c,
 * report-curl.c, report-spool.c, report-send.c) and the functions they call across; nothing else
 * includes it (the tests use report-url-impl.h). One mutex, mu, guards the spool, the memory ring
 * and the counters; it is never held across I/O to the network. Functions named *_locked are
 * called with mu held.
 */
#ifndef TH_AGENT_REPORT_URL_INT_H
#define TH_AGENT_REPORT_URL_INT_H

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "report-url-impl.h"
#include "th-secret.h"

#define RU_TOKEN_MAX       TH_TOKEN_MAX
#define RU_URL_MAX         2048
#define RU_REASON_MAX      512
#define RU_SEQ_FMT         "%020" PRIu64
#define RU_CHUNK_MAX       (4u << 20) /* bytes of a batch file read into memory at a time */
#define RU_CURL_ERROR_SIZE 256        /* CURL_ERROR_SIZE, checked in report-curl.c */

struct th_report_url {
	char url[RU_URL_MAX];
	char token_file[PATH_MAX];
	char token[RU_TOKEN_MAX];
	char cacert[PATH_MAX], cert[PATH_MAX], key[PATH_MAX]; /* "" when not given */
	char dir[PATH_MAX];
	int lock_fd;
	unsigned batch_max, flush_ms, timeout_ms, retry_max_ms, mem_max, auth_retry_ms;
	unsigned long long spool_max;
	th_report_log_fn *log;
	void *log_ctx;

	pthread_mutex_t mu; /* guards everything below; never held across I/O to the network */
	pthread_cond_t cv;
	int cur_fd;           /* open segment, -1 when none */
	uint64_t cur_seq;     /* seq of the open segment (or of the next one) */
	unsigned cur_count;   /* records in the open segment */
	off_t cur_size;       /* bytes in the open segment */
	int64_t cur_first_ns; /* when its first record was pushed */
	uint64_t send_seq;    /* oldest sealed batch not yet acknowledged; all < cur_seq sealed */
	bool stop;            /* delivery thread must return */
	/* records the spool could not take, oldest first; the first mem_inflight are being
	 * POSTed by the delivery thread */
	char **mem;
	size_t *mem_len;
	size_t mem_head, mem_n, mem_inflight;
	bool spool_failing, mem_full; /* a warning was logged for this episode */
	bool cap_full;                /* the spool reached spool_max: warned, deleting */
	uint64_t drop_next;           /* no queue batch below this is left to delete */
	bool inflight;                /* the delivery thread is sending batch inflight_seq */
	uint64_t inflight_seq;
	bool inflight_dropped; /* ... which was deleted to make room meanwhile */
	uint64_t part_seq;     /* batch whose first part_done records are settled (0: none) */
	size_t part_done;
	off_t part_off; /* where record part_done starts in that batch file */
	bool thread_started;
	pthread_t thread;
	th_report_url_stats st;

	/* delivery thread only */
	int64_t auth_since_ns; /* first 401/403 of the current episode; 0: none */
	bool auth_given_up;    /* auth_retry_ms passed: 401/403 now reject */
	/* the libcurl handle (a CURL *: only report-curl.c sees libcurl's types) */
	void *curl;
	char curl_error[RU_CURL_ERROR_SIZE]; /* libcurl's detailed reason for a transport failure */
	bool tls_failed;                     /* the last transport failure was a TLS one */
	char reason[RU_REASON_MAX];
	size_t reason_len;
	bool endpoint_down;
	int64_t down_since_ns;
};

/* One batch on its way: record i (counted from the start of the batch) is lines[i - base] of
 * lens[i - base] bytes; seq 0 = records straight from memory. */
typedef struct ru_batch {
	th_report_url *r;
	uint64_t seq;
	size_t base;
	const char **lines;
	const size_t *lens;
} ru_batch;

/* ---- report-url.c: options and log */

/* A line to the channel's log sink (stderr by default). level: 0 error, 1 warning, 2 info. */
void ru_log(th_report_url *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read the token file again (lib/th-secret.h rules); r->token changes only on success. */
th_err ru_load_token(th_report_url *r, char *errbuf);

/* ---- report-curl.c: libcurl */

/* Load libcurl (once per process) and set up r->curl for r's URL, timeouts and TLS files. */
th_err ru_curl_setup(th_report_url *r, char *errbuf);

/* Free r->curl (NULL is fine). */
void ru_curl_free(th_report_url *r);

/* POST lines[lo, hi) as one JSON array. Returns the HTTP status, 0 on transport failure
 * (message in r->reason, r->tls_failed set when the TLS layer failed). Counts the request. */
long ru_post(th_report_url *r, const char **lines, const size_t *lens, size_t lo, size_t hi);

/* ---- report-spool.c: the spool */

/* Path of batch or segment seq: "<dir>/<seq>.<ext>". */
void ru_path(const th_report_url *r, char *out, size_t len, uint64_t seq, const char *ext);

/* Create dir and take its lock. TH_ERR_STATE when another agent holds it. */
th_err ru_take_dir(th_report_url *r, const char *dir, char *errbuf);

/* Without --spool-dir: the first free slot "<base>/<url>.<n>". */
th_err ru_take_default_dir(th_report_url *r, char *errbuf);

/* Find what an earlier run left: seal .open segments, set send_seq/cur_seq, count the records
 * waiting and the bytes on disk. */
th_err ru_recover(th_report_url *r, char *errbuf);

/* Close the open segment and rename it to .batch. */
th_err ru_seal_locked(th_report_url *r);

/* The end of a full-spool episode: below half the cap again. */
void ru_cap_check_locked(th_report_url *r);

/* Free the oldest record held in memory. */
void ru_mem_pop_locked(th_report_url *r);

/* Move the records held in memory to the spool, oldest first, while it takes them. Returns
 * true when memory is empty. */
bool ru_mem_flush_locked(th_report_url *r);

/* th_report_keep_fn over a ru_batch: keep lines[lo, hi) and the endpoint's answer in
 * rejected/; false when they could not be stored (the batch stays in the spool). */
bool ru_keep_cb(void *ctx, size_t lo, size_t hi, long status);

/* ---- report-send.c: the delivery thread */

/* pthread start routine of the delivery thread; returns once r->stop is set. */
void *ru_thread(void *arg);

#endif
