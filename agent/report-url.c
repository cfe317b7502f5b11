/* report-url.c — the front of record delivery to `POST /v1/records`: the report-url.h contract
 * the agent's outputs use, over the spool-backed engine of report-url-impl.h, whose open, push
 * and close are here with the options (endpoint URL, token file, TLS files). The engine's parts:
 * the libcurl loader and POST (report-curl.c), the on-disk spool (report-spool.c), the sender
 * thread (report-send.c); report-url-int.h is the state they share.
 */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record-json.h"
#include "report-url-impl.h"
#include "report-url-int.h"
#include "report-url.h"
#include "th-secret.h"
#include "th-time.h"

/* ------------------------------------------------------------------ options */

th_err th_report_url_endpoint(const char *arg, char *out, size_t len, char *errbuf)
{
	const char *rest;
	const char *slash;
	int n;

	if (arg == NULL || *arg == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "report URL is empty");
	if (strncmp(arg, "http://", 7) == 0)
		rest = arg + 7;
	else if (strncmp(arg, "https://", 8) == 0)
		rest = arg + 8;
	else
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "report URL \"%s\" must start with http:// or https://", arg);
	for (const char *p = arg; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "report URL \"%s\" contains a space or control character",
			                 arg);
	if (*rest == '\0' || *rest == '/')
		return th_seterr(errbuf, TH_ERR_INVALID, "report URL \"%s\" has no host", arg);
	slash = strchr(rest, '/');
	if (slash == NULL || strcmp(slash, "/") == 0)
		n = snprintf(out, len, "%.*s/v1/records",
		             (int)(slash ? (size_t)(slash - arg) : strlen(arg)), arg);
	else
		n = snprintf(out, len, "%s", arg);
	if (n < 0 || (size_t)n >= len)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "report URL \"%.64s...\" is too long", arg);
	return TH_OK;
}

/* The token file is read as every part reads one (lib/th-secret.h, TH_SECRET_TOKEN: one word of
 * at most 1023 bytes). r->token changes only on success. */
th_err ru_load_token(th_report_url *r, char *errbuf)
{
	char text[TH_TOKEN_MAX];
	size_t n;
	th_err e;

	if (r->token_file[0] == '\0')
		return TH_OK;
	e = th_secret_read(r->token_file, "token file", text, sizeof text, &n, TH_SECRET_TOKEN,
	                   errbuf);
	if (e != TH_OK)
		return e;
	memcpy(r->token, text, n + 1);
	memset(text, 0, sizeof text);
	return TH_OK;
}

/* Copy one TLS file option, which must name a readable file. */
static th_err ru_tls_file(const char *opt, const char *path, char *out, size_t size, char *errbuf)
{
	int fd;

	if (path == NULL)
		return TH_OK;
	if (path[0] == '\0' || strlen(path) >= size)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: empty or too long path", opt);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return th_seterr(errbuf, TH_ERR_IO, "%s %s: %s", opt, path, strerror(errno));
	close(fd);
	strcpy(out, path);
	return TH_OK;
}

static th_err ru_tls_files(th_report_url *r, const th_report_url_opts *o, char *errbuf)
{
	th_err e;

	if ((o->cert == NULL) != (o->key == NULL))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s needs %s as well",
		                 o->cert ? "--cert" : "--key", o->cert ? o->cert : o->key,
		                 o->cert ? "--key" : "--cert");
	if ((e = ru_tls_file("--cacert", o->cacert, r->cacert, sizeof r->cacert, errbuf)) !=
	        TH_OK ||
	    (e = ru_tls_file("--cert", o->cert, r->cert, sizeof r->cert, errbuf)) != TH_OK ||
	    (e = ru_tls_file("--key", o->key, r->key, sizeof r->key, errbuf)) != TH_OK)
		return e;
	return TH_OK;
}

/* ------------------------------------------------------------------ log */

void ru_log(th_report_url *r, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (r->log)
		r->log(r->log_ctx, level, msg);
	else
		fprintf(stderr, "themis-agent: report: %s\n", msg);
}

/* ------------------------------------------------------------------ open / push / close */

th_err th_report_url_open(th_report_url **out, const th_report_url_opts *o, char *errbuf)
{
	th_report_url *r;
	pthread_condattr_t ca;
	th_err e;

	*out = NULL;
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "no memory for the report channel");
	r->lock_fd = -1;
	r->cur_fd = -1;
	r->log = o->log;
	r->log_ctx = o->log_ctx;
	r->batch_max = o->batch_max ? o->batch_max : 200;
	r->flush_ms = o->flush_ms ? o->flush_ms : 1000;
	r->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
	r->retry_max_ms = o->retry_max_ms ? o->retry_max_ms : 5000;
	r->mem_max = o->mem_max ? o->mem_max : 10000;
	r->spool_max = o->spool_max ? o->spool_max : TH_REPORT_SPOOL_MAX;
	r->auth_retry_ms = o->auth_retry_ms ? o->auth_retry_ms : TH_REPORT_AUTH_RETRY_MS;
	if (r->spool_max < TH_SPOOL_MAX_MIN) {
		e = th_seterr(errbuf, TH_ERR_INVALID, "--spool-max %llu: at least %llu bytes",
		              r->spool_max, TH_SPOOL_MAX_MIN);
		goto fail;
	}
	e = th_report_url_endpoint(o->url, r->url, sizeof r->url, errbuf);
	if (e != TH_OK)
		goto fail;
	if (o->token_file) {
		if (strlen(o->token_file) >= sizeof r->token_file) {
			e = th_seterr(errbuf, TH_ERR_TOOBIG, "token file path is too long");
			goto fail;
		}
		strcpy(r->token_file, o->token_file);
		e = ru_load_token(r, errbuf);
		if (e != TH_OK)
			goto fail;
	}
	e = ru_tls_files(r, o, errbuf);
	if (e != TH_OK)
		goto fail;
	e = o->spool_dir ? ru_take_dir(r, o->spool_dir, errbuf) : ru_take_default_dir(r, errbuf);
	if (e != TH_OK)
		goto fail;
	e = ru_recover(r, errbuf);
	if (e != TH_OK)
		goto fail;

	e = ru_curl_setup(r, errbuf);
	if (e != TH_OK)
		goto fail;

	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&r->thread, NULL, ru_thread, r) != 0) {
		e = th_seterr(errbuf, TH_ERR_STATE, "cannot start the delivery thread");
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		goto fail;
	}
	r->thread_started = true;
	*out = r;
	return TH_OK;
fail:
	ru_curl_free(r);
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	free(r);
	return e;
}

void th_report_url_get_stats(th_report_url *r, th_report_url_stats *st)
{
	pthread_mutex_lock(&r->mu);
	*st = r->st;
	pthread_mutex_unlock(&r->mu);
}

th_err th_report_url_close(th_report_url *r, unsigned drain_ms, char *errbuf)
{
	int64_t deadline;
	unsigned long long pending;
	th_err e = TH_OK;

	if (r == NULL)
		return TH_OK;
	deadline = th_mono_ns() + (int64_t)drain_ms * TH_NS_PER_MS;
	pthread_mutex_lock(&r->mu);
	ru_mem_flush_locked(r);
	ru_seal_locked(r);
	while ((r->send_seq < r->cur_seq || r->mem_n > 0) && th_mono_ns() < deadline) {
		struct timespec ts;
		int64_t left = deadline - th_mono_ns();
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (left > 100 * TH_NS_PER_MS)
			left = 100 * TH_NS_PER_MS;
		ts.tv_nsec += left;
		while (ts.tv_nsec >= TH_NS_PER_SEC) {
			ts.tv_sec++;
			ts.tv_nsec -= TH_NS_PER_SEC;
		}
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
	}
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	/* the last chance for records held in memory: the spool, sealed for the next run */
	ru_mem_flush_locked(r);
	ru_seal_locked(r);
	unsigned long long lost = r->mem_n;
	r->st.dropped += lost;
	while (r->mem_n > 0)
		ru_mem_pop_locked(r);
	pending = r->st.pending;
	if (r->st.spool_dropped > 0)
		ru_log(r, 1,
		       "%llu records were deleted from spool %s to stay under --spool-max (%llu "
		       "bytes)",
		       r->st.spool_dropped, r->dir, r->spool_max);
	if (lost > 0)
		e = th_seterr(errbuf, TH_ERR_IO,
		              "%llu records held in memory are lost: spool %s does not take them "
		              "and %s did not either (%llu dropped in all)",
		              lost, r->dir, r->url, r->st.dropped);
	else if (r->st.dropped > 0)
		e = th_seterr(errbuf, TH_ERR_IO,
		              "%llu records were dropped while spool %s failed and memory was full",
		              r->st.dropped, r->dir);
	else if (pending > 0)
		e = th_seterr(errbuf, TH_ERR_TIMEOUT,
		              "%llu records not yet delivered to %s stay in %s for the next run",
		              pending, r->url, r->dir);
	else if (r->st.spool_dropped > 0)
		e = th_seterr(errbuf, TH_ERR_IO,
		              "%llu records were deleted from spool %s to stay under --spool-max; "
		              "the others were delivered",
		              r->st.spool_dropped, r->dir);
	ru_curl_free(r);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	close(r->lock_fd);
	free(r->mem);
	free(r->mem_len);
	free(r);
	return e;
}

th_err th_report_url_push(th_report_url *r, const th_record *rec, char *errbuf)
{
	char *json;
	size_t len;
	th_err e = th_record_to_json(rec, &json, &len, errbuf);

	if (e != TH_OK)
		return e;
	e = th_report_url_push_json(r, json, len, errbuf);
	free(json);
	return e;
}

/* ------------------------------------------------------------------ report-url.h contract */

struct report_url {
	th_report_url *impl;
	unsigned close_timeout_ms;
};

th_err report_url_open(report_url **out, const char *url, const report_url_opts *opts, char *errbuf)
{
	th_report_url_opts o = {0};
	report_url *r = calloc(1, sizeof *r);
	th_err e;

	*out = NULL;
	if (r == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "no memory for --report %s", url);
	o.url = url;
	if (opts) {
		o.token_file = opts->token_file;
		o.spool_dir = opts->spool_dir;
		o.cacert = opts->cacert;
		o.cert = opts->cert;
		o.key = opts->key;
		o.mem_max = opts->spool_memory;
		o.spool_max = opts->spool_max;
	}
	r->close_timeout_ms =
	    opts && opts->close_timeout_ms > 0 ? (unsigned)opts->close_timeout_ms : 5000;
	e = th_report_url_open(&r->impl, &o, errbuf);
	if (e != TH_OK) {
		free(r);
		return e;
	}
	*out = r;
	return TH_OK;
}

th_err report_url_write(report_url *r, const th_record *rec, char *errbuf)
{
	return th_report_url_push(r->impl, rec, errbuf);
}

th_err report_url_close(report_url *r, char *errbuf)
{
	th_err e;

	if (r == NULL)
		return TH_OK;
	e = th_report_url_close(r->impl, r->close_timeout_ms, errbuf);
	free(r);
	return e;
}
