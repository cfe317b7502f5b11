/* themis.c — the collectd plugin "themis": configuration, the ingest endpoint's life cycle, the
 * worker thread that dispatches values and notifications and writes the session archive, and
 * module_register(). Everything else lives in collectd-free files (tp-*.c, lib/).
 *
 * Threads: libmicrohttpd's pool decodes requests and, under tp_lock, feeds tp_core, which
 * appends to tp_pending. The worker (a collectd-aware thread from plugin_thread_create) swaps
 * tp_pending out under the lock and does every slow thing (dispatch, librrd, files) outside it.
 */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_time.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe-engine.h"
#include "th-time.h"
#include "tp-archive.h"
#include "tp-core.h"
#include "tp-http.h"
#include "tp-ingest.h"
#include "tp-resume.h"

#define TP_NAME "themis"

/* Configuration (tp_cfg_* hold what the config block said until init). */
static char *tp_listen_node;
static char *tp_listen_service;
static char tp_token[512];
static size_t tp_max_body = 4 << 20;
static unsigned tp_threads = 2;
static size_t tp_max_queue = 1000000;
static tp_archive tp_arch = {.rows = TP_ARCHIVE_ROWS, .min_free = TP_ARCHIVE_MIN_FREE};
static tp_config tp_cfg = {.archive_lag_s = 5,
                           .session_grace_ns = 5 * TH_NS_PER_SEC,
                           .session_timeout_ns = 3600 * TH_NS_PER_SEC,
                           .downtime_warning_ms = NAN,
                           .downtime_failure_ms = NAN};

/* Run-time state. */
static pthread_mutex_t tp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tp_cond = PTHREAD_COND_INITIALIZER;
static tp_core *tp_state;
static tp_out tp_pending;
static bool tp_stop;
static bool tp_worker_running;
static pthread_t tp_worker_tid;
static tp_http *tp_server;
static tp_ingest tp_api;
static unsigned long long tp_archive_errors;
/* Archive paused for want of free space (MinFreeSpace), counts of those pauses, archive jobs
 * waiting in the retry list and jobs dropped from it (written by the worker, under tp_lock). */
static bool tp_archive_paused;
static unsigned long long tp_archive_low_space, tp_archive_dropped;
static size_t tp_archive_waiting;
static unsigned long long tp_dispatched; /* value lists handed to collectd */
/* An HTTP request is answered only once the worker has dispatched what it brought: a 200
 * means the values are in collectd, not only in this plugin's memory. */
static uint64_t tp_accept_seq, tp_drained_seq;
static pthread_cond_t tp_done_cond = PTHREAD_COND_INITIALIZER;
#define TP_ACK_TIMEOUT_S 30

/* Background probe targets (<Target> blocks), measured by one prober thread. */
static th_target *tp_targets;
static size_t tp_ntargets;
static th_prober *tp_prober; /* the running prober, under tp_lock */
static bool tp_probe_stop;
static bool tp_probe_running;
static pthread_t tp_probe_tid;
static pthread_cond_t tp_probe_cond = PTHREAD_COND_INITIALIZER;

/* ------------------------------------------------------------------ configuration */

static int tp_cfg_string(const oconfig_item_t *ci, char **out)
{
	if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
		ERROR(TP_NAME " plugin: %s needs one string argument.", ci->key);
		return -1;
	}
	free(*out);
	*out = strdup(ci->values[0].value.string);
	return *out ? 0 : -1;
}

static int tp_cfg_buf(const oconfig_item_t *ci, char *buf, size_t size)
{
	if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
	    strlen(ci->values[0].value.string) >= size) {
		ERROR(TP_NAME " plugin: %s needs one string argument (at most %zu bytes).", ci->key,
		      size - 1);
		return -1;
	}
	snprintf(buf, size, "%s", ci->values[0].value.string);
	return 0;
}

static int tp_cfg_number(const oconfig_item_t *ci, double min, double max, double *out)
{
	if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER ||
	    !(ci->values[0].value.number >= min && ci->values[0].value.number <= max)) {
		ERROR(TP_NAME " plugin: %s needs one number in [%g, %g].", ci->key, min, max);
		return -1;
	}
	*out = ci->values[0].value.number;
	return 0;
}

static int tp_cfg_listen(const oconfig_item_t *ci)
{
	char port[32];

	if (ci->values_num < 1 || ci->values_num > 2 || ci->values[0].type != OCONFIG_TYPE_STRING) {
		ERROR(TP_NAME " plugin: Listen needs an address and an optional port.");
		return -1;
	}
	if (ci->values_num == 2 && ci->values[1].type == OCONFIG_TYPE_NUMBER)
		snprintf(port, sizeof port, "%.0f", ci->values[1].value.number);
	else if (ci->values_num == 2 && ci->values[1].type == OCONFIG_TYPE_STRING)
		snprintf(port, sizeof port, "%s", ci->values[1].value.string);
	else
		snprintf(port, sizeof port, "8741");
	free(tp_listen_node);
	free(tp_listen_service);
	tp_listen_node = strdup(ci->values[0].value.string);
	tp_listen_service = strdup(port);
	return tp_listen_node && tp_listen_service ? 0 : -1;
}

static int tp_read_token(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		ERROR(TP_NAME " plugin: TokenFile %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(tp_token, 1, sizeof tp_token - 1, f);
	fclose(f);
	tp_token[n] = '\0';
	while (n > 0 && (tp_token[n - 1] == '\n' || tp_token[n - 1] == '\r' ||
	                 tp_token[n - 1] == ' ' || tp_token[n - 1] == '\t'))
		tp_token[--n] = '\0';
	if (n == 0) {
		ERROR(TP_NAME " plugin: TokenFile %s is empty.", path);
		return -1;
	}
	return 0;
}

/* <Target "vm"> Address "host" "port", Interval, LossTimeout, MinLost, KeyFile, Stream. */
static int tp_cfg_target(const oconfig_item_t *ci)
{
	th_target t, *grown;
	char err[TH_ERRLEN], *str = NULL;
	bool have_addr = false;
	double d;
	int status = 0;

	th_target_defaults(&t);
	if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
	    strlen(ci->values[0].value.string) >= sizeof t.vm || !ci->values[0].value.string[0]) {
		ERROR(TP_NAME " plugin: Target needs the VM name as its one string argument.");
		return -1;
	}
	snprintf(t.vm, sizeof t.vm, "%s", ci->values[0].value.string);
	for (int i = 0; i < ci->children_num && status == 0; i++) {
		oconfig_item_t *c = ci->children + i;

		if (strcasecmp("Address", c->key) == 0) {
			if (c->values_num < 1 || c->values_num > 2 ||
			    c->values[0].type != OCONFIG_TYPE_STRING ||
			    strlen(c->values[0].value.string) >= sizeof t.host) {
				ERROR(TP_NAME " plugin: Target %s: Address needs a host and an "
				              "optional port.",
				      t.vm);
				status = -1;
				break;
			}
			snprintf(t.host, sizeof t.host, "%s", c->values[0].value.string);
			if (c->values_num == 2 && c->values[1].type == OCONFIG_TYPE_NUMBER)
				snprintf(t.port, sizeof t.port, "%.0f", c->values[1].value.number);
			else if (c->values_num == 2 && c->values[1].type == OCONFIG_TYPE_STRING)
				snprintf(t.port, sizeof t.port, "%.15s", c->values[1].value.string);
			else
				snprintf(t.port, sizeof t.port, "7931");
			have_addr = true;
		} else if (strcasecmp("Interval", c->key) == 0) {
			if ((status = tp_cfg_number(c, 0.0001, 60, &d)) == 0)
				t.interval_ns = (int64_t)(d * 1e9 + 0.5);
		} else if (strcasecmp("LossTimeout", c->key) == 0) {
			if ((status = tp_cfg_number(c, 0.001, 600, &d)) == 0)
				t.loss_timeout_ns = (int64_t)(d * 1e9 + 0.5);
		} else if (strcasecmp("MinLost", c->key) == 0) {
			if ((status = tp_cfg_number(c, 1, 1e6, &d)) == 0)
				t.min_lost = (uint32_t)d;
		} else if (strcasecmp("Stream", c->key) == 0) {
			status = tp_cfg_buf(c, t.stream, sizeof t.stream);
		} else if (strcasecmp("KeyFile", c->key) == 0) {
			if ((status = tp_cfg_string(c, &str)) == 0 &&
			    th_key_load(str, t.key, &t.key_len, err) != TH_OK) {
				ERROR(TP_NAME " plugin: Target %s: %s", t.vm, err);
				status = -1;
			}
		} else {
			ERROR(TP_NAME " plugin: Target %s: unknown option \"%s\".", t.vm, c->key);
			status = -1;
		}
	}
	free(str);
	if (status != 0)
		return -1;
	if (!have_addr) {
		ERROR(TP_NAME " plugin: Target %s: Address is required.", t.vm);
		return -1;
	}
	if ((grown = realloc(tp_targets, (tp_ntargets + 1) * sizeof *grown)) == NULL)
		return -1;
	tp_targets = grown;
	tp_targets[tp_ntargets++] = t;
	return 0;
}

/* MinFreeSpace 268435456 | "256M" | "2%" */
static int tp_cfg_min_free(const oconfig_item_t *ci)
{
	char err[TH_ERRLEN];

	if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_NUMBER) {
		if (tp_cfg_number(ci, 0, 1e18, &tp_arch.min_free) != 0)
			return -1;
		tp_arch.min_free_pct = false;
		return 0;
	}
	if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
		ERROR(TP_NAME " plugin: MinFreeSpace needs a number of bytes or a string such as "
		              "\"256M\" or \"2%%\".");
		return -1;
	}
	if (tp_archive_parse_min_free(&tp_arch, ci->values[0].value.string, err) != TH_OK) {
		ERROR(TP_NAME " plugin: %s", err);
		return -1;
	}
	return 0;
}

static int tp_configure(oconfig_item_t *ci)
{
	int status = 0;
	double d;
	char *s = NULL;

	for (int i = 0; i < ci->children_num && status == 0; i++) {
		oconfig_item_t *c = ci->children + i;

		if (strcasecmp("Listen", c->key) == 0)
			status = tp_cfg_listen(c);
		else if (strcasecmp("TokenFile", c->key) == 0) {
			if ((status = tp_cfg_string(c, &s)) == 0)
				status = tp_read_token(s);
		} else if (strcasecmp("MaxBodySize", c->key) == 0) {
			if ((status = tp_cfg_number(c, 1024, 1 << 30, &d)) == 0)
				tp_max_body = (size_t)d;
		} else if (strcasecmp("Threads", c->key) == 0) {
			if ((status = tp_cfg_number(c, 1, 64, &d)) == 0)
				tp_threads = (unsigned)d;
		} else if (strcasecmp("MaxQueue", c->key) == 0) {
			if ((status = tp_cfg_number(c, 1000, 1e9, &d)) == 0)
				tp_max_queue = (size_t)d;
		} else if (strcasecmp("ArchiveDir", c->key) == 0) {
			status = tp_cfg_buf(c, tp_arch.dir, sizeof tp_arch.dir);
		} else if (strcasecmp("ArchiveRows", c->key) == 0) {
			if ((status = tp_cfg_number(c, 60, 1e8, &d)) == 0)
				tp_arch.rows = (long)d;
		} else if (strcasecmp("MinFreeSpace", c->key) == 0) {
			status = tp_cfg_min_free(c);
		} else if (strcasecmp("ArchiveLag", c->key) == 0) {
			if ((status = tp_cfg_number(c, 0, 3600, &d)) == 0)
				tp_cfg.archive_lag_s = (int64_t)d;
		} else if (strcasecmp("RRDCachedAddress", c->key) == 0) {
			status = tp_cfg_buf(c, tp_arch.daemon, sizeof tp_arch.daemon);
		} else if (strcasecmp("SessionGrace", c->key) == 0) {
			if ((status = tp_cfg_number(c, 0, 86400, &d)) == 0)
				tp_cfg.session_grace_ns = (int64_t)(d * 1e9);
		} else if (strcasecmp("SessionTimeout", c->key) == 0) {
			if ((status = tp_cfg_number(c, 1, 30 * 86400, &d)) == 0)
				tp_cfg.session_timeout_ns = (int64_t)(d * 1e9);
		} else if (strcasecmp("DowntimeWarning", c->key) == 0) {
			status = tp_cfg_number(c, 0, 1e9, &tp_cfg.downtime_warning_ms);
		} else if (strcasecmp("DowntimeFailure", c->key) == 0) {
			status = tp_cfg_number(c, 0, 1e9, &tp_cfg.downtime_failure_ms);
		} else if (strcasecmp("Target", c->key) == 0) {
			status = tp_cfg_target(c);
		} else {
			ERROR(TP_NAME " plugin: unknown option \"%s\".", c->key);
			status = -1;
		}
	}
	free(s);
	if (status != 0)
		return -1;
	if (tp_listen_node == NULL) {
		ERROR(TP_NAME " plugin: Listen is required.");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ ingest callbacks */

/* Called with tp_lock held after input was taken: wait until the worker dispatched it. */
static th_err tp_wait_dispatched(char *errbuf)
{
	uint64_t seq = ++tp_accept_seq;
	struct timespec ts;

	pthread_cond_signal(&tp_cond);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TP_ACK_TIMEOUT_S;
	while (tp_drained_seq < seq)
		if (pthread_cond_timedwait(&tp_done_cond, &tp_lock, &ts) != 0 &&
		    tp_drained_seq < seq)
			return th_seterr(
			    errbuf, TH_ERR_TOOBIG,
			    "not dispatched within %d s: send again later (re-sending is "
			    "safe)",
			    TP_ACK_TIMEOUT_S);
	return TH_OK;
}

/* ctx is NULL for the prober thread (no waiting), non-NULL for HTTP requests. */
static th_err tp_take_records(void *ctx, const th_record *r, size_t n, size_t *dups, char *errbuf)
{
	th_err e;

	pthread_mutex_lock(&tp_lock);
	if (tp_stop)
		e = th_seterr(errbuf, TH_ERR_TOOBIG, "shutting down: send again later");
	else if (tp_pending.nvalues >= tp_max_queue)
		e = th_seterr(errbuf, TH_ERR_TOOBIG, "queue full (%zu values): send again later",
		              tp_pending.nvalues);
	else
		e = tp_core_records(tp_state, r, n, th_mono_ns(), &tp_pending, dups, errbuf);
	if (e == TH_OK && ctx != NULL)
		e = tp_wait_dispatched(errbuf);
	pthread_cond_signal(&tp_cond);
	pthread_mutex_unlock(&tp_lock);
	return e;
}

static th_err tp_take_markers(void *ctx, const th_marker *m, size_t n, size_t *dups, char *errbuf)
{
	th_err e;

	pthread_mutex_lock(&tp_lock);
	if (tp_stop)
		e = th_seterr(errbuf, TH_ERR_TOOBIG, "shutting down: send again later");
	else
		e = tp_core_markers(tp_state, m, n, th_mono_ns(), &tp_pending, dups, errbuf);
	if (e == TH_OK && ctx != NULL)
		e = tp_wait_dispatched(errbuf);
	pthread_cond_signal(&tp_cond);
	pthread_mutex_unlock(&tp_lock);
	return e;
}

static void tp_health(void *ctx, char *buf, size_t size)
{
	pthread_mutex_lock(&tp_lock);
	snprintf(buf, size,
	         "\"sessions\":%zu,\"queued\":%zu,\"dispatched\":%llu,\"archive_errors\":%llu,"
	         "\"archive_paused\":%d,\"archive_low_space\":%llu,\"archive_waiting\":%zu,"
	         "\"archive_dropped\":%llu",
	         tp_core_sessions_open(tp_state), tp_pending.nvalues, tp_dispatched,
	         tp_archive_errors, tp_archive_paused ? 1 : 0, tp_archive_low_space,
	         tp_archive_waiting, tp_archive_dropped);
	pthread_mutex_unlock(&tp_lock);
}

/* ------------------------------------------------------------------ worker: dispatch + archive */

static void tp_dispatch(const tp_value *v)
{
	value_list_t vl = VALUE_LIST_INIT;
	value_t values[TP_MAX_VALUES];

	for (size_t i = 0; i < v->n; i++)
		values[i].gauge = v->v[i];
	vl.values = values;
	vl.values_len = v->n;
	vl.time = DOUBLE_TO_CDTIME_T(v->time);
	vl.interval = DOUBLE_TO_CDTIME_T(v->interval);
	tp_copy(vl.plugin, sizeof vl.plugin, TP_NAME);
	tp_copy(vl.plugin_instance, sizeof vl.plugin_instance, v->vm);
	tp_copy(vl.type, sizeof vl.type, v->type);
	tp_copy(vl.type_instance, sizeof vl.type_instance, v->type_instance);
	plugin_dispatch_values(&vl);
}

static void tp_notify(const tp_notice *n)
{
	notification_t notif = {.severity = (int)n->severity, .time = DOUBLE_TO_CDTIME_T(n->time)};

	snprintf(notif.message, sizeof notif.message, "%s", n->message);
	snprintf(notif.host, sizeof notif.host, "%s", hostname_g);
	snprintf(notif.plugin, sizeof notif.plugin, "%s", TP_NAME);
	snprintf(notif.plugin_instance, sizeof notif.plugin_instance, "%s", n->vm);
	snprintf(notif.type, sizeof notif.type, "themis_session");
	snprintf(notif.type_instance, sizeof notif.type_instance, "%s", n->session);
	plugin_dispatch_notification(&notif);
}

/* Archive jobs that failed (rrdcached down, a write error) wait here, in order per session,
 * and are retried every few seconds; only the worker thread touches this list. While ArchiveDir
 * has less free space than MinFreeSpace the archive is paused: every new job joins the list
 * unattempted and each retry round stops at the first job still short of space, so rows are
 * written in order, exactly once, when space returns. Values are dispatched all along. */
#define TP_RETRY_MAX     100000
#define TP_RETRY_EVERY_S 5
static tp_archive_job *tp_retry;
static size_t tp_nretry, tp_capretry;
static unsigned long long tp_retry_dropped;
static time_t tp_retry_next, tp_last_complaint;

typedef enum tp_wrote { TP_WROTE, TP_WRITE_FAILED, TP_NO_ROOM } tp_wrote;

static bool tp_same_session(const tp_archive_job *a, const tp_archive_job *b)
{
	return strcmp(a->session, b->session) == 0 && strcmp(a->vm, b->vm) == 0;
}

static void tp_archive_notify(tp_severity severity, const char *message)
{
	notification_t n = {.severity = (int)severity,
	                    .time = DOUBLE_TO_CDTIME_T((double)th_wall_ns() / 1e9)};

	snprintf(n.message, sizeof n.message, "%s", message);
	snprintf(n.host, sizeof n.host, "%s", hostname_g);
	snprintf(n.plugin, sizeof n.plugin, "%s", TP_NAME);
	snprintf(n.type, sizeof n.type, "themis_archive");
	plugin_dispatch_notification(&n);
}

/* Enter or leave the paused state: one ERROR and a FAILURE notification on entry, an OKAY
 * notification on exit. */
static void tp_archive_pause(bool paused, const char *why)
{
	char msg[NOTIF_MAX_MSG_LEN];

	pthread_mutex_lock(&tp_lock);
	tp_archive_paused = paused;
	if (paused)
		tp_archive_low_space++;
	pthread_mutex_unlock(&tp_lock);
	if (paused) {
		snprintf(msg, sizeof msg, "archive paused: %.200s", why);
		ERROR(TP_NAME " plugin: %s (values are still dispatched; archive rows wait in "
		              "memory, up to %d writes, until space returns)",
		      msg, TP_RETRY_MAX);
		tp_archive_notify(TP_SEV_FAILURE, msg);
	} else {
		snprintf(msg, sizeof msg,
		         "archive resumed: ArchiveDir %.160s has MinFreeSpace again", tp_arch.dir);
		INFO(TP_NAME " plugin: %s.", msg);
		tp_archive_notify(TP_SEV_OKAY, msg);
	}
}

static tp_wrote tp_job_write(const tp_archive_job *j)
{
	char err[TH_ERRLEN];
	th_err e = tp_archive_write(&tp_arch, j, err);

	if (e == TH_OK) {
		if (tp_archive_paused)
			tp_archive_pause(false, NULL);
		return TP_WROTE;
	}
	if (e == TH_ERR_STATE) {
		if (!tp_archive_paused)
			tp_archive_pause(true, err);
		return TP_NO_ROOM;
	}
	pthread_mutex_lock(&tp_lock);
	tp_archive_errors++;
	pthread_mutex_unlock(&tp_lock);
	if (time(NULL) - tp_last_complaint >= 10) {
		tp_last_complaint = time(NULL);
		ERROR(TP_NAME " plugin: archive: %s (will retry every %d s)", err,
		      TP_RETRY_EVERY_S);
	}
	return TP_WRITE_FAILED;
}

static void tp_job_free(tp_archive_job *j)
{
	free(j->rows);
	free(j->json);
	free(j->pending);
}

/* Keep a failed job (its buffers move into the retry list). */
static void tp_job_keep(tp_archive_job *j)
{
	if (tp_nretry == TP_RETRY_MAX) {
		ERROR(TP_NAME " plugin: archive: %d writes pending, dropping the oldest (%s/%s): "
		              "its rows are lost.",
		      TP_RETRY_MAX, tp_retry[0].vm, tp_retry[0].session);
		tp_job_free(&tp_retry[0]);
		memmove(tp_retry, tp_retry + 1, --tp_nretry * sizeof *tp_retry);
		tp_retry_dropped++;
	}
	if (tp_nretry == tp_capretry) {
		size_t cap = tp_capretry ? tp_capretry * 2 : 16;
		tp_archive_job *n = realloc(tp_retry, cap * sizeof *n);

		if (n == NULL) {
			ERROR(TP_NAME " plugin: archive: out of memory, %s/%s rows lost.", j->vm,
			      j->session);
			tp_retry_dropped++;
			return;
		}
		tp_retry = n;
		tp_capretry = cap;
	}
	tp_retry[tp_nretry] = *j;
	tp_retry[tp_nretry++].retry = true;
	j->rows = NULL;
	j->json = NULL;
	j->pending = NULL;
}

static bool tp_job_blocked(const tp_archive_job *j)
{
	for (size_t k = 0; k < tp_nretry; k++)
		if (tp_same_session(&tp_retry[k], j))
			return true;
	return false;
}

static void tp_retry_pending(bool force)
{
	size_t keep = 0, k;

	if (tp_nretry == 0 || (!force && time(NULL) < tp_retry_next))
		return;
	tp_retry_next = time(NULL) + TP_RETRY_EVERY_S;
	for (k = 0; k < tp_nretry; k++) {
		bool behind = false;
		tp_wrote w = TP_WRITE_FAILED;

		for (size_t e = 0; e < keep && !behind; e++)
			behind = tp_same_session(&tp_retry[e], &tp_retry[k]);
		if (!behind && (w = tp_job_write(&tp_retry[k])) == TP_WROTE) {
			tp_job_free(&tp_retry[k]);
			continue;
		}
		tp_retry[keep++] = tp_retry[k];
		if (w == TP_NO_ROOM) {
			k++;
			break; /* still short of space: the rest waits, in order */
		}
	}
	memmove(tp_retry + keep, tp_retry + k, (tp_nretry - k) * sizeof *tp_retry);
	tp_nretry = keep + (tp_nretry - k);
}

static void tp_drain(tp_out *work, uint64_t seq, bool last)
{
	for (size_t i = 0; i < work->nvalues; i++)
		tp_dispatch(&work->values[i]);
	for (size_t i = 0; i < work->nnotices; i++)
		tp_notify(&work->notices[i]);
	tp_retry_pending(last);
	for (size_t i = 0; i < work->njobs; i++) {
		tp_archive_job *j = &work->jobs[i];

		if (tp_archive_paused || tp_job_blocked(j) || tp_job_write(j) != TP_WROTE)
			tp_job_keep(j);
	}
	/* Answer the requests only now: their values are dispatched and their archive rows
	 * are on disk (stored, or kept in <session>.pending until they are final) or, while
	 * the archive waits for space or a write error, in the retry list. */
	pthread_mutex_lock(&tp_lock);
	tp_dispatched += work->nvalues;
	tp_archive_waiting = tp_nretry;
	tp_archive_dropped = tp_retry_dropped;
	tp_drained_seq = seq;
	pthread_cond_broadcast(&tp_done_cond);
	pthread_mutex_unlock(&tp_lock);
	tp_out_reset(work);
}

static void tp_marks_path(char *out, size_t size)
{
	snprintf(out, size, "%s/dispatched.state", tp_arch.dir);
}

static void *tp_worker(void *arg)
{
	tp_out work = {0}, tmp;
	bool last = false;
	char *marks, *unwritten = NULL, path[1100], err[TH_ERRLEN];
	uint64_t seq;

	tp_marks_path(path, sizeof path);

	while (!last) {
		struct timespec ts;

		pthread_mutex_lock(&tp_lock);
		if (!tp_stop && tp_pending.nvalues == 0 && tp_pending.nnotices == 0 &&
		    tp_accept_seq == tp_drained_seq) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&tp_cond, &tp_lock, &ts);
		}
		last = tp_stop;
		tp_core_tick(tp_state, th_mono_ns(), last, &tp_pending);
		tmp = work;
		work = tp_pending;
		tp_pending = tmp;
		marks = tp_cfg.archive ? tp_core_marks(tp_state) : NULL;
		seq = tp_accept_seq;
		pthread_mutex_unlock(&tp_lock);
		tp_drain(&work, seq, last);
		/* After the dispatch: a restart re-dispatches nothing recorded here. Each text is
		 * the whole state: while the archive waits for space only the newest is kept, and
		 * written once it resumes. */
		if (marks != NULL) {
			free(unwritten);
			unwritten = marks;
		}
		if (unwritten != NULL && !tp_archive_paused) {
			if (tp_write_file(path, unwritten, strlen(unwritten), false, err) != TH_OK)
				ERROR(TP_NAME " plugin: %s", err);
			free(unwritten);
			unwritten = NULL;
		}
	}
	free(unwritten);
	if (tp_nretry > 0)
		ERROR(TP_NAME " plugin: archive: %zu writes could not be done before shutdown.",
		      tp_nretry);
	for (size_t k = 0; k < tp_nretry; k++)
		tp_job_free(&tp_retry[k]);
	free(tp_retry);
	tp_retry = NULL;
	tp_nretry = tp_capretry = 0;
	tp_out_free(&work);
	return NULL;
}

/* ------------------------------------------------------------------ background probing */

static void tp_on_record(const th_record *r, void *arg)
{
	static time_t last_complaint; /* only the probe thread calls this */
	char err[TH_ERRLEN];
	size_t dups;

	if (tp_take_records(NULL, r, 1, &dups, err) != TH_OK && time(NULL) - last_complaint > 60) {
		last_complaint = time(NULL);
		WARNING(TP_NAME " plugin: probe record of %s dropped: %s", r->vm, err);
	}
}

/* Sleep up to `seconds`, waking early on shutdown. Returns true when stopping. */
static bool tp_probe_pause(int seconds)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&tp_lock);
	if (!tp_probe_stop)
		pthread_cond_timedwait(&tp_probe_cond, &tp_lock, &ts);
	stop = tp_probe_stop;
	pthread_mutex_unlock(&tp_lock);
	return stop;
}

/* Never gives up: a target that cannot be added (name does not resolve, no route) is retried
 * every 30 s by rebuilding the prober; a prober that fails is rebuilt after a second. */
static void *tp_probe_thread(void *arg)
{
	char err[TH_ERRLEN];

	for (;;) {
		th_prober *p = NULL;
		size_t added = 0;
		bool stop;

		if (th_prober_new(&p, tp_on_record, NULL, err) != TH_OK) {
			ERROR(TP_NAME " plugin: prober: %s", err);
			if (tp_probe_pause(1))
				break;
			continue;
		}
		for (size_t i = 0; i < tp_ntargets; i++) {
			if (th_prober_add(p, &tp_targets[i], err) == TH_OK)
				added++;
			else
				WARNING(TP_NAME " plugin: Target %s: %s (retrying in 30 s)",
				        tp_targets[i].vm, err);
		}
		pthread_mutex_lock(&tp_lock);
		stop = tp_probe_stop;
		if (!stop)
			tp_prober = p;
		pthread_mutex_unlock(&tp_lock);
		if (!stop && added > 0 &&
		    th_prober_run(p, added < tp_ntargets ? 30 * TH_NS_PER_SEC : 0, err) != TH_OK)
			WARNING(TP_NAME " plugin: prober stopped: %s (restarting)", err);
		pthread_mutex_lock(&tp_lock);
		tp_prober = NULL;
		stop = tp_probe_stop;
		pthread_mutex_unlock(&tp_lock);
		th_prober_free(p);
		if (stop || (added < tp_ntargets || added == 0 ? tp_probe_pause(added ? 0 : 30)
		                                               : tp_probe_pause(1)))
			break;
	}
	return NULL;
}

static void tp_probe_shutdown(void)
{
	if (!tp_probe_running)
		return;
	pthread_mutex_lock(&tp_lock);
	tp_probe_stop = true;
	if (tp_prober != NULL)
		th_prober_stop(tp_prober);
	pthread_cond_broadcast(&tp_probe_cond);
	pthread_mutex_unlock(&tp_lock);
	pthread_join(tp_probe_tid, NULL);
	tp_probe_running = false;
}

/* ------------------------------------------------------------------ life cycle */

static void tp_warn(const char *msg)
{
	WARNING(TP_NAME " plugin: %s", msg);
}

static int tp_init(void)
{
	char err[TH_ERRLEN];
	size_t resumed = 0;

	if (tp_state != NULL)
		return 0;
	tp_cfg.archive = tp_arch.dir[0] != '\0';
	if ((tp_state = tp_core_new(&tp_cfg)) == NULL) {
		ERROR(TP_NAME " plugin: out of memory.");
		return -1;
	}
	if (tp_cfg.archive) {
		char path[1100], *text = NULL;
		size_t len = 0;

		tp_marks_path(path, sizeof path);
		if (access(path, F_OK) == 0 &&
		    (tp_read_file(path, &text, &len, err) != TH_OK ||
		     tp_core_load_marks(tp_state, text, len, err) != TH_OK))
			WARNING(TP_NAME " plugin: %s: %s", path, err);
		free(text);
		if (tp_resume_dir(tp_state, &tp_arch, th_mono_ns(), &resumed, tp_warn, err) !=
		    TH_OK)
			WARNING(TP_NAME " plugin: %s", err);
	}
	if (resumed > 0)
		INFO(TP_NAME " plugin: resumed %zu open session(s) from %s.", resumed, tp_arch.dir);
	tp_stop = false;
	if (plugin_thread_create(&tp_worker_tid, tp_worker, NULL, "themis worker") != 0) {
		ERROR(TP_NAME " plugin: cannot start the worker thread.");
		return -1;
	}
	tp_worker_running = true;
	tp_api.ctx = &tp_api; /* non-NULL: requests wait for their dispatch */
	tp_api.token = tp_token;
	tp_api.max_body = tp_max_body;
	tp_api.records = tp_take_records;
	tp_api.markers = tp_take_markers;
	tp_api.health = tp_health;
	if (tp_http_start(&tp_server, tp_listen_node, tp_listen_service, tp_threads, &tp_api,
	                  err) != TH_OK) {
		ERROR(TP_NAME " plugin: %s", err);
		return -1;
	}
	INFO(TP_NAME " plugin: listening on %s port %s%s.", tp_listen_node, tp_listen_service,
	     tp_token[0] ? " (bearer token required)" : "");
	if (tp_ntargets > 0) {
		tp_probe_stop = false;
		if (plugin_thread_create(&tp_probe_tid, tp_probe_thread, NULL, "themis probe") !=
		    0) {
			ERROR(TP_NAME " plugin: cannot start the probe thread.");
			return -1;
		}
		tp_probe_running = true;
		INFO(TP_NAME " plugin: probing %zu target(s) in the background.", tp_ntargets);
	}
	return 0;
}

/* Stop taking requests, then let the worker write out everything accepted and exit. */
static int tp_shutdown(void)
{
	tp_http_stop(tp_server);
	tp_server = NULL;
	tp_probe_shutdown(); /* its last records still go through the worker */
	if (tp_worker_running) {
		pthread_mutex_lock(&tp_lock);
		tp_stop = true;
		pthread_cond_signal(&tp_cond);
		pthread_mutex_unlock(&tp_lock);
		pthread_join(tp_worker_tid, NULL);
		tp_worker_running = false;
	}
	tp_core_free(tp_state);
	tp_state = NULL;
	tp_out_free(&tp_pending);
	free(tp_listen_node);
	free(tp_listen_service);
	tp_listen_node = tp_listen_service = NULL;
	free(tp_targets);
	tp_targets = NULL;
	tp_ntargets = 0;
	return 0;
}

void module_register(void)
{
	plugin_register_complex_config(TP_NAME, tp_configure);
	plugin_register_init(TP_NAME, tp_init);
	plugin_register_shutdown(TP_NAME, tp_shutdown);
}
