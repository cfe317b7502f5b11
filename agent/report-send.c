/* report-send.c — the sender of the delivery engine (report-url-impl.h): a thread that seals
 * segments when they are due, sends the spool's batches in order (a bounded chunk at a time) or,
 * while the spool fails and nothing older waits there, the records held in memory; classifies
 * each HTTP answer (acknowledge, retry, split on 413, reject to rejected/), backs off
 * exponentially while the endpoint is down, and gives 401/403 the operator's grace before they
 * reject. The decisions are pure functions (th_report_classify, th_report_deliver_range) under
 * unit test; the POST itself is report-curl.c's.
 */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report-url-impl.h"
#include "report-url-int.h"
#include "th-time.h"

/* ------------------------------------------------------------------ pure decisions */

th_report_verdict th_report_classify(long s, bool auth_given_up)
{
	if (s >= 200 && s < 300)
		return TH_REPORT_DONE;
	if (s == 413)
		return TH_REPORT_SPLIT;
	/* 401 and 403 (bearer token, client certificate) wait a while for the operator */
	if ((s == 401 || s == 403) && !auth_given_up)
		return TH_REPORT_RETRY;
	if (s == 408 || s == 429)
		return TH_REPORT_RETRY;
	if (s >= 400 && s < 500)
		return TH_REPORT_REJECT;
	return TH_REPORT_RETRY;
}

static th_report_verdict deliver_rec(th_report_post_fn *post, th_report_keep_fn *keep, void *ctx,
                                     size_t lo, size_t hi, bool auth_given_up,
                                     th_report_progress *pr)
{
	long st = post(ctx, lo, hi);
	th_report_verdict v = th_report_classify(st, auth_given_up);

	pr->status = st;
	if (v == TH_REPORT_SPLIT && hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		v = deliver_rec(post, keep, ctx, lo, mid, auth_given_up, pr);
		if (v == TH_REPORT_DONE)
			v = deliver_rec(post, keep, ctx, mid, hi, auth_given_up, pr);
		return v;
	}
	if (v == TH_REPORT_SPLIT)
		v = TH_REPORT_REJECT;
	if (v == TH_REPORT_REJECT) {
		if (!keep(ctx, lo, hi, st))
			return TH_REPORT_RETRY; /* not stored anywhere: the batch must stay */
		pr->rejected += hi - lo;
		pr->done = hi;
		return TH_REPORT_DONE;
	}
	if (v == TH_REPORT_DONE) {
		pr->delivered += hi - lo;
		pr->done = hi;
	}
	return v;
}

th_report_verdict th_report_deliver_range(th_report_post_fn *post, th_report_keep_fn *keep,
                                          void *ctx, size_t lo, size_t hi, bool auth_given_up,
                                          th_report_progress *pr)
{
	memset(pr, 0, sizeof *pr);
	pr->done = lo;
	if (hi <= lo)
		return TH_REPORT_DONE;
	return deliver_rec(post, keep, ctx, lo, hi, auth_given_up, pr);
}

/* ------------------------------------------------------------------ one batch */

static long ru_post_cb(void *ctx, size_t lo, size_t hi)
{
	ru_batch *b = ctx;
	long st = ru_post(b->r, b->lines - b->base, b->lens - b->base, lo, hi);

	if (st == 413 && hi - lo > 1)
		ru_log(b->r, 1,
		       "batch " RU_SEQ_FMT " (%zu records) too large for %s (HTTP 413): "
		       "sending it in halves",
		       b->seq, hi - lo, b->r->url);
	return st;
}

/* Count what a delivery settled, once. Caller holds mu. */
static void ru_settled_locked(th_report_url *r, const th_report_progress *pr, bool spooled)
{
	unsigned long long n = pr->delivered + pr->rejected;

	r->st.delivered += pr->delivered;
	r->st.rejected += pr->rejected;
	if (spooled)
		r->st.pending -= n <= r->st.pending ? n : r->st.pending;
}

/* Send batch seq, a chunk at a time: the records not yet settled, at most batch_max of them and
 * about RU_CHUNK_MAX bytes. DONE and !*more: the batch is gone from the spool (or was deleted to
 * make room while it was sent); DONE and *more: this chunk is settled, more follow. RETRY: keep
 * it; the records already settled are remembered (part_seq/part_done) and neither sent nor
 * counted again. */
static th_report_verdict ru_send_batch(th_report_url *r, uint64_t seq, bool auth_given_up,
                                       long *status, bool *more)
{
	char path[PATH_MAX + 32];
	char **lines = NULL;
	size_t *lens = NULL, from, m = 0, bytes = 0;
	off_t start;
	th_report_verdict v = TH_REPORT_DONE;
	th_report_progress pr = {0};
	bool eof = false, dropped;
	struct stat sb;
	ssize_t k;
	FILE *f;
	int fd;

	*status = 0;
	*more = false;
	r->tls_failed = false;
	ru_path(r, path, sizeof path, seq, "batch");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return TH_REPORT_DONE; /* a gap left by an earlier run, or deleted to make room */
	if (fd < 0 || fstat(fd, &sb) != 0 || (f = fdopen(fd, "r")) == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(r->reason, sizeof r->reason, "cannot read batch " RU_SEQ_FMT ": %s", seq,
		         strerror(errno));
		return TH_REPORT_RETRY;
	}
	pthread_mutex_lock(&r->mu);
	from = r->part_seq == seq ? r->part_done : 0;
	start = r->part_seq == seq ? r->part_off : 0;
	pthread_mutex_unlock(&r->mu);
	lines = calloc(r->batch_max, sizeof *lines);
	lens = calloc(r->batch_max, sizeof *lens);
	if (lines == NULL || lens == NULL) {
		fclose(f);
		free(lines);
		free(lens);
		snprintf(r->reason, sizeof r->reason, "no memory for batch " RU_SEQ_FMT, seq);
		return TH_REPORT_RETRY;
	}
	/* from where the settled records end, the next chunk of complete lines (a torn tail is not
	 * a record) */
	if (start > 0 && fseeko(f, start, SEEK_SET) != 0)
		eof = true;
	while (!eof && m < r->batch_max && bytes < RU_CHUNK_MAX) {
		char *line = NULL;
		size_t cap = 0;
		k = getline(&line, &cap, f);
		if (k <= 0 || line[k - 1] != '\n') {
			free(line);
			eof = true;
			break;
		}
		lines[m] = line;
		lens[m] = (size_t)k - 1;
		bytes += (size_t)k;
		m++;
	}
	if (!eof) {
		int c = fgetc(f);
		eof = c == EOF;
	}
	fclose(f);
	if (m > 0) {
		ru_batch b = {r, seq, from, (const char **)lines, lens};
		v = th_report_deliver_range(ru_post_cb, ru_keep_cb, &b, from, from + m,
		                            auth_given_up, &pr);
		*status = pr.status;
	}
	pthread_mutex_lock(&r->mu);
	dropped = r->inflight_dropped;
	if (dropped) {
		/* deleted to make room while it was sent: what this attempt settled was counted as
		 * dropped, and is not */
		unsigned long long back = pr.delivered + pr.rejected;
		ru_settled_locked(r, &pr, false);
		r->st.spool_dropped -= back < r->st.spool_dropped ? back : r->st.spool_dropped;
		r->part_seq = 0;
	} else {
		ru_settled_locked(r, &pr, true);
		if (v == TH_REPORT_DONE && eof) {
			r->part_seq = 0;
			if (unlink(path) != 0)
				ru_log(r, 0, "cannot remove delivered batch %s: %s", path,
				       strerror(errno));
			else
				r->st.spool_bytes -=
				    (unsigned long long)sb.st_size < r->st.spool_bytes
				        ? (unsigned long long)sb.st_size
				        : r->st.spool_bytes;
			ru_cap_check_locked(r);
		} else {
			r->part_seq = seq;
			r->part_done = m > 0 ? pr.done : from;
			r->part_off = start;
			for (size_t i = 0; i < r->part_done - from; i++)
				r->part_off += (off_t)lens[i] + 1;
			*more = v == TH_REPORT_DONE;
		}
	}
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < m; i++)
		free(lines[i]);
	free(lines);
	free(lens);
	return v;
}

/* POST the oldest records held in memory (nothing older waits in the spool). Called with mu
 * held; releases it during the request. */
static th_report_verdict ru_send_memory_locked(th_report_url *r, bool auth_given_up, long *status)
{
	size_t n = r->mem_n < r->batch_max ? r->mem_n : r->batch_max;
	const char **lines = calloc(n, sizeof *lines);
	size_t *lens = calloc(n, sizeof *lens);
	th_report_progress pr;
	th_report_verdict v;

	*status = 0;
	if (lines == NULL || lens == NULL) {
		free(lines);
		free(lens);
		return TH_REPORT_RETRY;
	}
	for (size_t i = 0; i < n; i++) {
		lines[i] = r->mem[(r->mem_head + i) % r->mem_max];
		lens[i] = r->mem_len[(r->mem_head + i) % r->mem_max];
	}
	r->mem_inflight = n; /* pushes only add at the tail: these pointers stay valid */
	pthread_mutex_unlock(&r->mu);
	ru_batch b = {r, 0, 0, lines, lens};
	v = th_report_deliver_range(ru_post_cb, ru_keep_cb, &b, 0, n, auth_given_up, &pr);
	pthread_mutex_lock(&r->mu);
	*status = pr.status;
	ru_settled_locked(r, &pr, false);
	for (size_t i = pr.done; i > 0; i--)
		ru_mem_pop_locked(r);
	r->mem_inflight = 0;
	free(lines);
	free(lens);
	return v;
}

/* Wait on cv until the monotonic time wake_ns (or a signal). Caller holds mu. */
static void ru_wait_until(th_report_url *r, int64_t wake_ns)
{
	struct timespec ts;

	if (wake_ns <= th_mono_ns())
		return;
	ts.tv_sec = (time_t)(wake_ns / TH_NS_PER_SEC);
	ts.tv_nsec = (long)(wake_ns % TH_NS_PER_SEC);
	pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

/* After a failed attempt: log the first failure of an outage, pick the next retry time. */
static int64_t ru_after_failure(th_report_url *r, long status)
{
	int64_t down, b = 250;

	r->st.failures++;
	if (!r->endpoint_down) {
		unsigned long long pending = r->st.pending + r->mem_n;
		char what[64];

		r->endpoint_down = true;
		r->down_since_ns = th_mono_ns();
		if (status)
			snprintf(what, sizeof what, "HTTP %ld", status);
		pthread_mutex_unlock(&r->mu);
		if (status == 401)
			ru_log(
			    r, 0,
			    "%s refused the bearer token%s%s (HTTP 401): keeping %llu records in "
			    "%s and retrying for %u s, then rejecting",
			    r->url, r->token_file[0] ? " from " : "", r->token_file, pending,
			    r->dir, r->auth_retry_ms / 1000);
		else if (status == 403)
			ru_log(r, 0,
			       "%s refused this agent (HTTP 403: %.200s): keeping %llu records "
			       "in %s and retrying for %u s, then rejecting",
			       r->url, r->reason[0] ? r->reason : "no reason given", pending,
			       r->dir, r->auth_retry_ms / 1000);
		else if (status == 0 && r->tls_failed)
			ru_log(r, 0, "%s: %s: keeping %llu records in %s and retrying", r->url,
			       r->reason, pending, r->dir);
		else
			ru_log(r, 1,
			       "%s unavailable (%s): spooling %llu records in %s and retrying",
			       r->url, status ? what : r->reason, pending, r->dir);
		pthread_mutex_lock(&r->mu);
	}
	/* exponential backoff from 250 ms, doubling while the outage lasts, up to retry_max_ms */
	down = th_mono_ns() - r->down_since_ns;
	while (b < (int64_t)r->retry_max_ms && b * TH_NS_PER_MS * 2 <= down)
		b *= 2;
	if (b > (int64_t)r->retry_max_ms)
		b = r->retry_max_ms;
	return th_mono_ns() + b * TH_NS_PER_MS;
}

/* After an answer: track how long 401/403 last (a 2xx ends the episode) and read the token
 * file again after a 401, the operator may have fixed it. Caller holds mu. */
static void ru_after_answer(th_report_url *r, long status)
{
	if (status >= 200 && status < 300) {
		r->auth_since_ns = 0;
		r->auth_given_up = false;
		return;
	}
	if (status != 401 && status != 403)
		return;
	if (r->auth_since_ns == 0)
		r->auth_since_ns = th_mono_ns();
	pthread_mutex_unlock(&r->mu);
	if (status == 401)
		ru_load_token(r, NULL);
	pthread_mutex_lock(&r->mu);
}

/* Whether 401/403 reject now: they have lasted auth_retry_ms. Logged once per episode. Caller
 * holds mu. */
static bool ru_auth_given_up(th_report_url *r)
{
	if (r->auth_given_up || r->auth_since_ns == 0 ||
	    th_mono_ns() - r->auth_since_ns < (int64_t)r->auth_retry_ms * TH_NS_PER_MS)
		return r->auth_given_up;
	r->auth_given_up = true;
	pthread_mutex_unlock(&r->mu);
	ru_log(r, 0,
	       "%s has refused this agent (HTTP 401/403) for %u s: batches it refuses now go to "
	       "%s/rejected/ (counted) until it accepts records again",
	       r->url, r->auth_retry_ms / 1000, r->dir);
	pthread_mutex_lock(&r->mu);
	return true;
}

void *ru_thread(void *arg)
{
	th_report_url *r = arg;
	int64_t retry_at = 0; /* while the endpoint fails: no attempt before this time */

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		int64_t now = th_mono_ns();
		int64_t seal_at = r->cur_first_ns + (int64_t)r->flush_ms * TH_NS_PER_MS;

		if (r->cur_count > 0 && now >= seal_at)
			ru_seal_locked(r);
		if (retry_at != 0 && now >= retry_at)
			retry_at = 0;
		/* records held in memory: to the spool when it takes them again, else straight to
		 * the endpoint once nothing older waits in the spool */
		if (r->mem_n > 0 && !ru_mem_flush_locked(r) && retry_at == 0 &&
		    r->send_seq >= r->cur_seq && r->cur_count == 0) {
			long status;
			th_report_verdict v =
			    ru_send_memory_locked(r, ru_auth_given_up(r), &status);
			ru_after_answer(r, status);
			if (v != TH_REPORT_DONE)
				retry_at = ru_after_failure(r, status);
			continue;
		}
		if (retry_at == 0 && r->send_seq < r->cur_seq) {
			uint64_t seq = r->send_seq;
			bool given_up = ru_auth_given_up(r), more, dropped;
			th_report_verdict v;
			long status;

			r->inflight = true;
			r->inflight_seq = seq;
			r->inflight_dropped = false;
			pthread_mutex_unlock(&r->mu);
			v = ru_send_batch(r, seq, given_up, &status, &more);
			pthread_mutex_lock(&r->mu);
			dropped = r->inflight_dropped;
			r->inflight = r->inflight_dropped = false;
			ru_after_answer(r, status);
			if (dropped && r->send_seq <= seq) { /* deleted meanwhile: move on */
				r->send_seq = seq + 1;
				pthread_cond_broadcast(&r->cv);
			}
			if (v != TH_REPORT_DONE) {
				retry_at = ru_after_failure(r, status);
				continue;
			}
			if (!more && !dropped) {
				r->send_seq = seq + 1;
				pthread_cond_broadcast(&r->cv);
			}
			if (r->endpoint_down && status >= 200 && status < 300) {
				double secs = (double)(th_mono_ns() - r->down_since_ns) / 1e9;
				r->endpoint_down = false;
				pthread_mutex_unlock(&r->mu);
				ru_log(r, 2, "%s answers again after %.1f s; sending the spool",
				       r->url, secs);
				pthread_mutex_lock(&r->mu);
			}
			continue;
		}
		/* sleep until the open segment is due for sealing, the retry time, a push that
		 * sealed a segment, or close() */
		{
			int64_t wake = now + TH_NS_PER_SEC;
			if (retry_at != 0 && retry_at < wake)
				wake = retry_at;
			if (r->cur_count > 0 && seal_at < wake)
				wake = seal_at;
			ru_wait_until(r, wake);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}
