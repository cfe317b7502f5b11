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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec-marker.h"
#include "probe-engine.h"
#include "th-name.h"
#include "th-time.h"
#include "tp-archive.h"
#include "tp-core.h"
#include "tp-http.h"
#include "tp-ingest.h"
#include "tp-queue.h"
#include "tp-resume.h"

#define TP_NAME "themis"

/* Configuration (tp_cfg_* hold what the config block said until init). */
static char *tp_listen_node;
static char *tp_listen_service;
static char tp_token[512];
static size_t tp_max_body = 4 << 20;
static size_t tp_max_queue = 1000000;
static tp_archive tp_arch = {.rows = TP_ARCHIVE_ROWS, .min_free = TP_ARCHIVE_MIN_FREE};
static int64_t tp_store_stop_ns = 5 * TH_NS_PER_SEC; /* ArchiveStopTimeout */
static tp_http_limits tp_http_lim = {.threads = 2,
                                     .connections = 128,
                                     .connections_per_client = 32,
                                     .max_buffered = 64u << 20};
static tp_tls tp_tls_conf; /* TLS* options; files read and checked at the end of the block */
static tp_config tp_cfg = {.archive_lag_s = 5,
                           .session_grace_ns = 5 * TH_NS_PER_SEC,
                           .session_timeout_ns = 3600 * TH_NS_PER_SEC,
                           .downtime_warning_ms = NAN,
                           .downtime_failure_ms = NAN,
                           .limits = {.sessions = 256,
                                      .sessions_per_vm = 8,
                                      .streams = 10000,
                                      .markers = 1000,
                                      .outages = 10000,
                                      .accept_past_s = 7 * 86400,
                                      .accept_future_s = 300}};
static unsigned long long tp_hits_logged[TP_HIT__COUNT]; /* worker only: limits logged once */

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
/* A reply waits at most this long for its dispatch, then 503 (shorter than the clients' own
 * timeouts: the trigger gives up after 3 s, the agent after 5 s). */
#define TP_ACK_WAIT_NS (2 * TH_NS_PER_SEC)

/* Background probe targets (<Target> blocks), measured by one prober thread. */
static th_target *tp_targets;
static size_t tp_ntargets;
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

/* TLSCertFile, TLSKeyFile, TLSCAFile, TLSPriorities: one string each. Returns 1 when key is
 * none of them. */
static int tp_cfg_tls(const oconfig_item_t *c)
{
	if (strcasecmp("TLSCertFile", c->key) == 0)
		return tp_cfg_string(c, &tp_tls_conf.cert_file);
	if (strcasecmp("TLSKeyFile", c->key) == 0)
		return tp_cfg_string(c, &tp_tls_conf.key_file);
	if (strcasecmp("TLSCAFile", c->key) == 0)
		return tp_cfg_string(c, &tp_tls_conf.ca_file);
	if (strcasecmp("TLSPriorities", c->key) == 0)
		return tp_cfg_string(c, &tp_tls_conf.priorities);
	return 1;
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
	if (th_name_check("Target", ci->values[0].value.string, err) != TH_OK) {
		ERROR(TP_NAME " plugin: %s", err);
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
	if (t.stream[0] != '\0' && th_stream_id_check("Stream", t.stream, err) != TH_OK) {
		ERROR(TP_NAME " plugin: Target %s: %s", t.vm, err);
		return -1;
	}
	if ((grown = realloc(tp_targets, (tp_ntargets + 1) * sizeof *grown)) == NULL)
		return -1;
	tp_targets = grown;
	tp_targets[tp_ntargets++] = t;
	return 0;
}

/* The limits (collectd-themis(5) LIMITS). True when c is one of them; *status says whether its
 * value was good. */
static bool tp_cfg_limit(const oconfig_item_t *c, int *status)
{
	static const struct {
		const char *key;
		double min, max;
		size_t *size;
		int64_t *secs;
		unsigned *uint;
	} table[] = {
	    {"MaxSessions", 1, 1e6, &tp_cfg.limits.sessions, NULL, NULL},
	    {"MaxSessionsPerVM", 1, 1e6, &tp_cfg.limits.sessions_per_vm, NULL, NULL},
	    {"MaxStreams", 1, 1e7, &tp_cfg.limits.streams, NULL, NULL},
	    {"MaxMarkersPerSession", 8, 1e6, &tp_cfg.limits.markers, NULL, NULL},
	    {"MaxOutagesPerSession", 1, 1e7, &tp_cfg.limits.outages, NULL, NULL},
	    {"AcceptPast", 60, 3650 * 86400, NULL, &tp_cfg.limits.accept_past_s, NULL},
	    {"AcceptFuture", 1, 86400, NULL, &tp_cfg.limits.accept_future_s, NULL},
	    {"MaxConnections", 4, 1e5, NULL, NULL, &tp_http_lim.connections},
	    {"MaxConnectionsPerClient", 1, 1e5, NULL, NULL, &tp_http_lim.connections_per_client},
	    {"MaxBufferedBytes", 1 << 20, 1 << 30, &tp_http_lim.max_buffered, NULL, NULL},
	};
	double d;

	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		if (strcasecmp(table[i].key, c->key) != 0)
			continue;
		if ((*status = tp_cfg_number(c, table[i].min, table[i].max, &d)) != 0)
			return true;
		if (table[i].size)
			*table[i].size = (size_t)d;
		else if (table[i].secs)
			*table[i].secs = (int64_t)d;
		else
			*table[i].uint = (unsigned)d;
		return true;
	}
	return false;
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
	char *s = NULL, err[TH_ERRLEN];

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
				tp_http_lim.threads = (unsigned)d;
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
		} else if (strcasecmp("ArchiveStopTimeout", c->key) == 0) {
			if ((status = tp_cfg_number(c, 0, 600, &d)) == 0)
				tp_store_stop_ns = (int64_t)(d * 1e9);
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
		} else if (tp_cfg_limit(c, &status)) {
			/* one of the limits */
		} else if ((status = tp_cfg_tls(c)) <= 0) {
			/* a TLS option */
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
	/* Read the files now: a bad certificate or key is a configuration error (collectd -T). */
	if (tp_tls_load(&tp_tls_conf, err) != TH_OK) {
		ERROR(TP_NAME " plugin: %s", err);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ ingest callbacks */

/* Called with tp_lock held after input was taken: the ticket of its reply, which goes out once
 * the worker has dispatched it (tp_drain); the HTTP thread is not held meanwhile. */
static uint64_t tp_ticket(void)
{
	pthread_cond_signal(&tp_cond);
	return ++tp_accept_seq;
}

/* ctx is NULL for the prober threads (no ticket), non-NULL for HTTP requests. */
static th_err tp_take_records(void *ctx, const th_record *r, size_t n, size_t *dups,
                              uint64_t *ticket, char *errbuf)
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
		*ticket = tp_ticket();
	pthread_cond_signal(&tp_cond);
	pthread_mutex_unlock(&tp_lock);
	return e;
}

static th_err tp_take_markers(void *ctx, const th_marker *m, size_t n, size_t *dups,
                              uint64_t *ticket, char *errbuf)
{
	th_err e;

	pthread_mutex_lock(&tp_lock);
	if (tp_stop)
		e = th_seterr(errbuf, TH_ERR_TOOBIG, "shutting down: send again later");
	else
		e = tp_core_markers(tp_state, m, n, th_mono_ns(), &tp_pending, dups, errbuf);
	if (e == TH_OK && ctx != NULL)
		*ticket = tp_ticket();
	pthread_cond_signal(&tp_cond);
	pthread_mutex_unlock(&tp_lock);
	return e;
}

static void tp_health(void *ctx, char *buf, size_t size)
{
	size_t pos;

	pthread_mutex_lock(&tp_lock);
	pos = (size_t)snprintf(buf, size,
	                       "\"sessions\":%zu,\"streams\":%zu,\"finished_sessions\":%zu,"
	                       "\"queued\":%zu,\"dispatched\":%llu,\"archive_errors\":%llu,"
	                       "\"archive_paused\":%d,\"archive_low_space\":%llu,"
	                       "\"archive_waiting\":%zu,\"archive_dropped\":%llu,\"limits\":{",
	                       tp_core_sessions_open(tp_state), tp_core_streams(tp_state),
	                       tp_core_finished(tp_state), tp_pending.nvalues, tp_dispatched,
	                       tp_archive_errors, tp_archive_paused ? 1 : 0, tp_archive_low_space,
	                       tp_archive_waiting, tp_archive_dropped);
	for (int h = 0; h < TP_HIT__COUNT && pos < size; h++)
		pos += (size_t)snprintf(buf + pos, size - pos, "%s\"%s\":%llu", h ? "," : "",
		                        tp_limit_name((tp_limit_hit)h),
		                        tp_core_hits(tp_state, (tp_limit_hit)h));
	if (pos < size)
		snprintf(buf + pos, size - pos, "}");
	pthread_mutex_unlock(&tp_lock);
}

/* Log each limit the first time it is hit, and again every 1000 hits (worker only). */
static void tp_log_limits(const unsigned long long *hits)
{
	for (int h = 0; h < TP_HIT__COUNT; h++) {
		if (hits[h] == tp_hits_logged[h] ||
		    (tp_hits_logged[h] != 0 && hits[h] < tp_hits_logged[h] + 1000))
			continue;
		if (h == TP_HIT_CLOSED)
			INFO(TP_NAME " plugin: %llu marker(s) for finished sessions ignored (a "
			             "finished session never reopens).",
			     hits[h]);
		else
			WARNING(TP_NAME " plugin: limit %s reached %llu time(s); see /v1/health and "
			                "collectd-themis(5).",
			        tp_limit_name((tp_limit_hit)h), hits[h]);
		tp_hits_logged[h] = hits[h];
	}
}

/* ------------------------------------------------------------------ worker: dispatch + archive */

/* ------------------------------------------------------------------ delivery */

/* collectd stops its write threads before it calls any shutdown function and drops what is still
 * in its write queue, so values dispatched just before (or during) a shutdown would reach no
 * writer while a re-send after the restart counts as a duplicate. So the plugin follows its own
 * values through collectd: each dispatched value waits in tp_unseen until the plugin's own write
 * callback sees it pass (a write thread hands a value to every writer in one go, so seen means
 * written). At shutdown what was not seen is saved to <ArchiveDir>/undispatched.values and
 * dispatched again at the next start: once, never twice. Values no writer sees within 30 s
 * (a filter chain that routes them elsewhere) are let go; when none is ever seen the tracking
 * turns itself off. */
#define TP_UNSEEN_MAX  65536
#define TP_UNSEEN_KEEP (30 * TH_NS_PER_SEC)
#define TP_UNSEEN_LOOK 256 /* how far from the oldest a seen value is looked for */
#define TP_UNDISPATCHED_MAGIC "THUND1\n"
typedef struct tp_sent {
	uint64_t key; /* 0: seen */
	int64_t at_ns;
	tp_value v;
} tp_sent;
static pthread_mutex_t tp_unseen_lock = PTHREAD_MUTEX_INITIALIZER;
static tp_sent *tp_unseen; /* ring */
static size_t tp_unseen_head, tp_unseen_n, tp_unseen_cap;
static bool tp_track = true;
static unsigned long long tp_seen_total, tp_untracked;

static uint64_t tp_value_key(const char *vm, const char *type, const char *ti, cdtime_t t)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[3] = {vm, type, ti};

	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i];; p++) {
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
			if (*p == '\0')
				break;
		}
	}
	h = (h ^ (uint64_t)t) * 0x100000001b3ULL;
	return h ? h : 1;
}

/* Remember v until it is seen (false when tracking is off). */
static bool tp_unseen_push(const tp_value *v)
{
	tp_sent *e;

	pthread_mutex_lock(&tp_unseen_lock);
	if (!tp_track) {
		pthread_mutex_unlock(&tp_unseen_lock);
		return false;
	}
	if (tp_unseen_n == tp_unseen_cap) {
		size_t cap = tp_unseen_cap ? tp_unseen_cap * 2 : 1024;
		tp_sent *n = cap <= TP_UNSEEN_MAX ? malloc(cap * sizeof *n) : NULL;

		if (n == NULL) { /* full: the oldest goes untracked */
			tp_unseen_head = (tp_unseen_head + 1) % tp_unseen_cap;
			tp_unseen_n--;
			tp_untracked++;
		} else {
			for (size_t i = 0; i < tp_unseen_n; i++)
				n[i] = tp_unseen[(tp_unseen_head + i) % tp_unseen_cap];
			free(tp_unseen);
			tp_unseen = n;
			tp_unseen_cap = cap;
			tp_unseen_head = 0;
		}
	}
	e = &tp_unseen[(tp_unseen_head + tp_unseen_n++) % tp_unseen_cap];
	e->v = *v;
	e->at_ns = th_mono_ns();
	e->key = tp_value_key(v->vm, v->type, v->type_instance, DOUBLE_TO_CDTIME_T(v->time));
	pthread_mutex_unlock(&tp_unseen_lock);
	return true;
}

/* Drop seen entries at the front, and those older than TP_UNSEEN_KEEP. Lock held. */
static void tp_unseen_trim(int64_t now_ns)
{
	while (tp_unseen_n > 0) {
		tp_sent *e = &tp_unseen[tp_unseen_head];

		if (e->key != 0 && now_ns - e->at_ns < TP_UNSEEN_KEEP)
			break;
		if (e->key != 0 && tp_seen_total == 0 && tp_track) {
			tp_track = false; /* nothing ever came back: the writers are elsewhere */
			INFO(TP_NAME " plugin: no write thread hands this plugin's values to its own "
			             "write callback (a filter chain?): values in flight at a shutdown "
			             "are not kept for the next start.");
		}
		tp_unseen_head = (tp_unseen_head + 1) % tp_unseen_cap;
		tp_unseen_n--;
	}
	if (!tp_track)
		tp_unseen_n = 0;
}

/* The write callback: note our own values as they pass the write threads. */
static int tp_write_seen(const data_set_t *ds, const value_list_t *vl, user_data_t *ud)
{
	uint64_t key;

	if (strcmp(vl->plugin, TP_NAME) != 0)
		return 0;
	key = tp_value_key(vl->plugin_instance, vl->type, vl->type_instance, vl->time);
	pthread_mutex_lock(&tp_unseen_lock);
	for (size_t i = 0; i < tp_unseen_n && i < TP_UNSEEN_LOOK; i++) {
		tp_sent *e = &tp_unseen[(tp_unseen_head + i) % tp_unseen_cap];

		if (e->key == key) {
			e->key = 0;
			tp_seen_total++;
			break;
		}
	}
	tp_unseen_trim(th_mono_ns());
	pthread_mutex_unlock(&tp_unseen_lock);
	return 0;
}

static void tp_dispatch_now(const tp_value *v)
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

/* Dispatch v; after collectd stopped its write threads (stopped), only remember it. */
static void tp_dispatch(const tp_value *v, bool stopped)
{
	if (!tp_unseen_push(v) && stopped)
		return;
	if (!stopped)
		tp_dispatch_now(v);
}

static void tp_undispatched_path(char *out, size_t size)
{
	snprintf(out, size, "%s/undispatched.values", tp_arch.dir);
}

/* At shutdown: save what no writer saw (binary image of tp_value, this machine's layout) and
 * empty the ring. */
static void tp_undispatched_save(void)
{
	char path[1100], err[TH_ERRLEN], *buf = NULL, *p;
	size_t n = 0;

	pthread_mutex_lock(&tp_unseen_lock);
	tp_unseen_trim(th_mono_ns());
	for (size_t i = 0; i < tp_unseen_n; i++)
		n += tp_unseen[(tp_unseen_head + i) % tp_unseen_cap].key != 0;
	if (n > 0 && tp_cfg.archive && (buf = malloc(16 + n * sizeof(tp_value))) != NULL) {
		memcpy(buf, TP_UNDISPATCHED_MAGIC, 8);
		memcpy(buf + 8, &n, 8);
		p = buf + 16;
		for (size_t i = 0; i < tp_unseen_n; i++) {
			const tp_sent *e = &tp_unseen[(tp_unseen_head + i) % tp_unseen_cap];

			if (e->key != 0) {
				memcpy(p, &e->v, sizeof e->v);
				p += sizeof e->v;
			}
		}
	}
	tp_unseen_head = tp_unseen_n = 0;
	pthread_mutex_unlock(&tp_unseen_lock);
	if (n == 0)
		return;
	if (buf == NULL) {
		ERROR(TP_NAME " plugin: %zu value list(s) dispatched after collectd stopped its "
		              "write threads are lost (%s).",
		      n, tp_cfg.archive ? "out of memory" : "no ArchiveDir to keep them in");
		return;
	}
	tp_undispatched_path(path, sizeof path);
	if (tp_write_file(path, buf, 16 + n * sizeof(tp_value), true, err) != TH_OK)
		ERROR(TP_NAME " plugin: %s: %zu value list(s) lost", err, n);
	else
		INFO(TP_NAME " plugin: %zu value list(s) reached no writer before the shutdown; "
		             "kept in %s for the next start.",
		     n, path);
	free(buf);
}

/* At start (collectd starts its write threads after the init functions): dispatch what the
 * last shutdown kept, once. */
static void tp_undispatched_load(void)
{
	char path[1100], err[TH_ERRLEN], *text = NULL;
	size_t len = 0, n;

	tp_undispatched_path(path, sizeof path);
	if (access(path, F_OK) != 0)
		return;
	if (tp_read_file(path, &text, &len, err) != TH_OK || len < 16 ||
	    memcmp(text, TP_UNDISPATCHED_MAGIC, 8) != 0 ||
	    (memcpy(&n, text + 8, 8), len != 16 + n * sizeof(tp_value))) {
		WARNING(TP_NAME " plugin: %s: not a file of undispatched values; left alone", path);
		free(text);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		tp_value v;

		memcpy(&v, text + 16 + i * sizeof v, sizeof v);
		v.vm[sizeof v.vm - 1] = v.type[sizeof v.type - 1] = '\0';
		v.type_instance[sizeof v.type_instance - 1] = '\0';
		if (v.n > TP_MAX_VALUES)
			continue;
		tp_dispatch(&v, false);
	}
	free(text);
	if (unlink(path) != 0)
		ERROR(TP_NAME " plugin: %s: %s (its values may be dispatched again)", path,
		      strerror(errno));
	INFO(TP_NAME " plugin: dispatched %zu value list(s) kept by the last shutdown.", n);
	pthread_mutex_lock(&tp_lock);
	tp_dispatched += n;
	pthread_mutex_unlock(&tp_lock);
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

static void tp_store_note(const char *vm, const char *session);
static size_t tp_store_backlog(void);
static pthread_mutex_t tp_store_lock; /* defined with the archive thread */

/* The worker's part of a job: local files only (rows into the session's queue, .pending, JSON);
 * the archive thread copies the queue into the RRD. */
static tp_wrote tp_job_write(const tp_archive_job *j)
{
	char err[TH_ERRLEN];
	th_err e;

	pthread_mutex_lock(&tp_store_lock); /* appends are ordered against emptying a queue */
	e = tp_archive_write_local(&tp_arch, j, err);
	pthread_mutex_unlock(&tp_store_lock);
	if (e == TH_OK) {
		if (j->nrows > 0)
			tp_store_note(j->vm, j->session);
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
	/* The last drain runs in the shutdown function: collectd's write threads are gone. */
	for (size_t i = 0; i < work->nvalues; i++)
		tp_dispatch(&work->values[i], last);
	pthread_mutex_lock(&tp_unseen_lock);
	tp_unseen_trim(th_mono_ns());
	pthread_mutex_unlock(&tp_unseen_lock);
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
	tp_archive_waiting = tp_nretry + tp_store_backlog();
	tp_archive_dropped = tp_retry_dropped;
	tp_drained_seq = seq;
	tp_http_release(tp_server, seq, th_mono_ns());
	pthread_mutex_unlock(&tp_lock);
	tp_out_reset(work);
}

/* ------------------------------------------------------------------ archive thread */

/* The RRDs of the archive are written by a thread of their own, from the sessions' queue files
 * (tp-queue.h): a slow, stuck or unreachable rrdcached delays only the RRDs, never ingest,
 * dispatch, replies or /v1/health. Sessions with queued rows wait in tp_store (under
 * tp_store_lock, which also orders the worker's appends against this thread's clearing of a
 * file); a failing one is retried with a backoff of up to 30 s. At shutdown the thread gets
 * ArchiveStopTimeout to catch up; what it leaves stays in the queue files for the next start. */
#define TP_STORE_MAX     4096 /* sessions tracked; beyond, the directory is scanned again */
#define TP_STORE_CHUNK   4096 /* rows read from a queue at a time */
#define TP_STORE_BACKOFF (30 * TH_NS_PER_SEC)
typedef struct tp_store_item {
	char vm[TH_NAME_MAX];
	char session[TH_SESSION_MAX];
	off_t offset;     /* in its queue file: what comes before is stored */
	int64_t retry_ns; /* not before (monotonic) */
	int64_t backoff_ns;
} tp_store_item;
static pthread_mutex_t tp_store_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tp_store_cond = PTHREAD_COND_INITIALIZER;
static tp_store_item tp_store[TP_STORE_MAX];
static size_t tp_nstore;
static bool tp_store_rescan;   /* an item did not fit: look at the directory again */
static bool tp_store_stop;     /* shutting down: catch up until the deadline, then leave */
static bool tp_store_finished; /* the thread has left its loop */
static bool tp_store_running;
static pthread_t tp_store_tid;
static unsigned long long tp_store_errors;

/* Note that vm/session has queued rows (any thread). */
static void tp_store_note(const char *vm, const char *session)
{
	pthread_mutex_lock(&tp_store_lock);
	for (size_t i = 0; i < tp_nstore; i++)
		if (strcmp(tp_store[i].session, session) == 0 && strcmp(tp_store[i].vm, vm) == 0)
			goto out;
	if (tp_nstore == TP_STORE_MAX) {
		tp_store_rescan = true;
		goto out;
	}
	memset(&tp_store[tp_nstore], 0, sizeof tp_store[0]);
	tp_copy(tp_store[tp_nstore].vm, sizeof tp_store[0].vm, vm);
	tp_copy(tp_store[tp_nstore].session, sizeof tp_store[0].session, session);
	tp_store[tp_nstore++].offset = TP_QUEUE_HEADER;
out:
	pthread_cond_signal(&tp_store_cond);
	pthread_mutex_unlock(&tp_store_lock);
}

/* Sessions whose queued rows are not all in their RRD yet. */
static size_t tp_store_backlog(void)
{
	size_t n;

	pthread_mutex_lock(&tp_store_lock);
	n = tp_nstore;
	pthread_mutex_unlock(&tp_store_lock);
	return n;
}

/* Every <ArchiveDir>/<vm>/<session>.queue holding rows (at start, or after an overflow). */
static void tp_store_scan(void)
{
	DIR *top = opendir(tp_arch.dir), *sub;
	struct dirent *vd, *sd;
	char path[1400];

	if (top == NULL)
		return;
	while ((vd = readdir(top)) != NULL) {
		if (vd->d_name[0] == '.' || !th_name_ok(vd->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", tp_arch.dir, vd->d_name);
		if ((sub = opendir(path)) == NULL)
			continue;
		while ((sd = readdir(sub)) != NULL) {
			size_t nl = strlen(sd->d_name);
			char session[TH_SESSION_MAX];

			if (nl < 7 || nl - 6 >= sizeof session ||
			    strcmp(sd->d_name + nl - 6, ".queue") != 0)
				continue;
			snprintf(session, sizeof session, "%.*s", (int)(nl - 6), sd->d_name);
			snprintf(path, sizeof path, "%s/%s/%s", tp_arch.dir, vd->d_name, sd->d_name);
			if (th_codec_session_ok(session) && tp_queue_size(path) > TP_QUEUE_HEADER)
				tp_store_note(vd->d_name, session);
		}
		closedir(sub);
	}
	closedir(top);
}

/* Copy one session's queue into its RRD; true when it is all stored (and the file emptied). */
static bool tp_store_one(tp_store_item *it)
{
	char path[1200], err[TH_ERRLEN];
	bool done = false;
	th_err e = TH_OK;

	while (!done && e == TH_OK)
		e = tp_archive_store_queue(&tp_arch, it->vm, it->session, &it->offset,
		                           TP_STORE_CHUNK, &done, err);
	if (e != TH_OK) {
		pthread_mutex_lock(&tp_lock);
		tp_store_errors++;
		tp_archive_errors++;
		pthread_mutex_unlock(&tp_lock);
		if (e == TH_ERR_STATE && !tp_archive_paused)
			tp_archive_pause(true, err);
		if (it->backoff_ns == 0 || time(NULL) - tp_last_complaint >= 60) {
			tp_last_complaint = time(NULL);
			ERROR(TP_NAME " plugin: archive: %s (rows wait in the session's queue file; "
			              "retrying)",
			      err);
		}
		it->backoff_ns = it->backoff_ns ? it->backoff_ns * 2 : TH_NS_PER_SEC;
		if (it->backoff_ns > TP_STORE_BACKOFF)
			it->backoff_ns = TP_STORE_BACKOFF;
		it->retry_ns = th_mono_ns() + it->backoff_ns;
		return false;
	}
	it->backoff_ns = 0;
	/* Everything read is stored: empty the file unless the worker appended meanwhile. */
	if (tp_archive_path(&tp_arch, it->vm, it->session, "queue", path, sizeof path, err) !=
	    TH_OK)
		return true;
	pthread_mutex_lock(&tp_store_lock);
	done = tp_queue_size(path) <= it->offset;
	if (done && tp_queue_clear(path, err) != TH_OK)
		ERROR(TP_NAME " plugin: archive: %s", err);
	pthread_mutex_unlock(&tp_store_lock);
	if (done)
		it->offset = TP_QUEUE_HEADER;
	return done;
}

static void *tp_store_thread(void *arg)
{
	int64_t deadline = 0;

	tp_store_scan();
	for (;;) {
		tp_store_item it;
		bool found = false, stop;
		int64_t now = th_mono_ns();
		struct timespec ts;

		pthread_mutex_lock(&tp_store_lock);
		if (tp_store_stop && deadline == 0)
			deadline = now + tp_store_stop_ns;
		stop = tp_store_stop;
		for (size_t i = 0; i < tp_nstore && !found; i++)
			if (tp_store[i].retry_ns <= now || stop) {
				it = tp_store[i];
				found = true;
			}
		if (!found && (stop || deadline)) {
			pthread_mutex_unlock(&tp_store_lock);
			break;
		}
		if (!found) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&tp_store_cond, &tp_store_lock, &ts);
			pthread_mutex_unlock(&tp_store_lock);
			if (tp_store_rescan) {
				tp_store_rescan = false;
				tp_store_scan();
			}
			continue;
		}
		pthread_mutex_unlock(&tp_store_lock);
		if (deadline && now >= deadline)
			break;
		bool all = tp_store_one(&it);

		pthread_mutex_lock(&tp_store_lock);
		for (size_t i = 0; i < tp_nstore; i++) {
			if (strcmp(tp_store[i].session, it.session) != 0 ||
			    strcmp(tp_store[i].vm, it.vm) != 0)
				continue;
			if (all)
				tp_store[i] = tp_store[--tp_nstore];
			else
				tp_store[i] = it;
			break;
		}
		pthread_mutex_unlock(&tp_store_lock);
		if (!all && stop)
			break; /* failing while stopping: the queue files keep the rest */
	}
	pthread_mutex_lock(&tp_store_lock);
	tp_store_finished = true;
	pthread_cond_broadcast(&tp_store_cond);
	pthread_mutex_unlock(&tp_store_lock);
	return NULL;
}

/* Ask the archive thread to catch up and stop; wait ArchiveStopTimeout (+1 s) for it. A thread
 * stuck in a call to an unresponsive rrdcached is left behind (it touches only state that is
 * never freed); its rows stay queued for the next start. */
static void tp_store_shutdown(void)
{
	struct timespec ts;
	bool finished;

	if (!tp_store_running)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(tp_store_stop_ns / TH_NS_PER_SEC) + 1;
	pthread_mutex_lock(&tp_store_lock);
	tp_store_stop = true;
	pthread_cond_broadcast(&tp_store_cond);
	while (!tp_store_finished &&
	       pthread_cond_timedwait(&tp_store_cond, &tp_store_lock, &ts) == 0)
		;
	finished = tp_store_finished;
	pthread_mutex_unlock(&tp_store_lock);
	if (finished) {
		pthread_join(tp_store_tid, NULL);
	} else {
		ERROR(TP_NAME " plugin: archive: the archive writer did not finish within %lld s "
		              "(rrdcached not answering?); its rows stay in the queue files for the "
		              "next start.",
		      (long long)(tp_store_stop_ns / TH_NS_PER_SEC));
		pthread_detach(tp_store_tid);
	}
	tp_store_running = false;
}

static void tp_marks_path(char *out, size_t size)
{
	snprintf(out, size, "%s/dispatched.state", tp_arch.dir);
}

/* dispatched.state grows by the marks that changed in each round and is rewritten whole (atomic
 * rename) when the appended lines pass a bound, every 10 minutes, and at shutdown. */
#define TP_MARKS_APPEND_MAX (4u << 20)
#define TP_MARKS_FULL_EVERY 600
static size_t tp_marks_appended;
static time_t tp_marks_full_at;
static bool tp_marks_need_full; /* deltas were skipped (archive paused): write all next */

static bool tp_marks_want_full(bool last)
{
	return last || tp_marks_appended > TP_MARKS_APPEND_MAX ||
	       (tp_marks_appended > 0 && time(NULL) - tp_marks_full_at >= TP_MARKS_FULL_EVERY);
}

static void tp_marks_write(const char *path, const char *marks, bool full)
{
	size_t len = strlen(marks);
	char err[TH_ERRLEN];
	int fd;

	if (full) {
		if (tp_write_file(path, marks, len, false, err) != TH_OK)
			ERROR(TP_NAME " plugin: %s", err);
		tp_marks_appended = 0;
		tp_marks_full_at = time(NULL);
		return;
	}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
	    write(fd, marks, len) != (ssize_t)len)
		ERROR(TP_NAME " plugin: %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	tp_marks_appended += len;
}

static void *tp_worker(void *arg)
{
	tp_out work = {0}, tmp;
	bool last = false, full;
	char *marks, path[1100];
	unsigned long long hits[TP_HIT__COUNT];
	uint64_t seq;

	tp_marks_path(path, sizeof path);

	while (!last) {
		struct timespec ts;

		pthread_mutex_lock(&tp_lock);
		if (!tp_stop && tp_pending.nvalues == 0 && tp_pending.nnotices == 0 &&
		    tp_accept_seq == tp_drained_seq) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
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
		full = tp_marks_want_full(last) || tp_marks_need_full;
		marks = tp_cfg.archive ? tp_core_marks(tp_state, full) : NULL;
		for (int h = 0; h < TP_HIT__COUNT; h++)
			hits[h] = tp_core_hits(tp_state, (tp_limit_hit)h);
		seq = tp_accept_seq;
		pthread_mutex_unlock(&tp_lock);
		tp_drain(&work, seq, last);
		/* After the dispatch: a restart re-dispatches nothing recorded here. While the
		 * archive waits for space nothing is written; the whole state is, once it resumes. */
		if (marks != NULL && tp_archive_paused) {
			tp_marks_need_full = true;
		} else if (marks != NULL) {
			tp_marks_write(path, marks, full);
			if (full)
				tp_marks_need_full = false;
		}
		free(marks);
		tp_log_limits(hits);
	}
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

/* Targets are measured in groups, one prober and thread each. At start every target that can be
 * added (its name resolves, its socket opens) joins the first group; the others are retried every
 * 30 s and those that can be added then start a group of their own. A group whose prober fails
 * rebuilds itself after a second. So a bad target never disturbs the healthy ones. */
typedef struct tp_group {
	size_t *idx; /* indexes into tp_targets */
	size_t n;
	th_prober *prober; /* running, under tp_lock */
	pthread_t tid;
} tp_group;
static tp_group *tp_groups; /* at most one per target */
static size_t tp_ngroups;
static pthread_mutex_t tp_complaint_lock = PTHREAD_MUTEX_INITIALIZER;

static void tp_on_record(const th_record *r, void *arg)
{
	static time_t last_complaint;
	char err[TH_ERRLEN];
	size_t dups;
	bool say;

	if (tp_take_records(NULL, r, 1, &dups, NULL, err) == TH_OK)
		return;
	pthread_mutex_lock(&tp_complaint_lock);
	say = time(NULL) - last_complaint > 60;
	if (say)
		last_complaint = time(NULL);
	pthread_mutex_unlock(&tp_complaint_lock);
	if (say)
		WARNING(TP_NAME " plugin: probe record of %s dropped: %s", r->vm, err);
}

/* Sleep up to `seconds`, waking early on shutdown. Returns true when stopping. */
static bool tp_probe_pause(int seconds)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&tp_lock);
	if (!tp_probe_stop)
		pthread_cond_timedwait(&tp_probe_cond, &tp_lock, &ts);
	stop = tp_probe_stop;
	pthread_mutex_unlock(&tp_lock);
	return stop;
}

/* A prober with those of idx[0..n) that can be added now; their indexes are moved to the front
 * of idx and counted in *added. NULL when none could be (or no prober). */
static th_prober *tp_prober_with(size_t *idx, size_t n, size_t *added, bool complain)
{
	th_prober *p = NULL;
	char err[TH_ERRLEN];

	*added = 0;
	if (th_prober_new(&p, tp_on_record, NULL, err) != TH_OK) {
		ERROR(TP_NAME " plugin: prober: %s", err);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = idx[i];

		if (th_prober_add(p, &tp_targets[k], err) != TH_OK) {
			if (complain)
				WARNING(TP_NAME " plugin: Target %s: %s (retrying every 30 s)",
				        tp_targets[k].vm, err);
			continue;
		}
		idx[i] = idx[*added];
		idx[(*added)++] = k;
	}
	if (*added == 0) {
		th_prober_free(p);
		return NULL;
	}
	return p;
}

static void *tp_group_thread(void *arg)
{
	tp_group *g = arg;
	char err[TH_ERRLEN];

	for (;;) {
		th_prober *p = g->prober;
		bool stop;

		if (p != NULL && th_prober_run(p, 0, err) != TH_OK)
			WARNING(TP_NAME " plugin: prober of %zu target(s) stopped: %s (restarting)",
			        g->n, err);
		pthread_mutex_lock(&tp_lock);
		g->prober = NULL;
		stop = tp_probe_stop;
		pthread_mutex_unlock(&tp_lock);
		th_prober_free(p);
		if (stop || tp_probe_pause(1))
			break;
		size_t added;

		p = tp_prober_with(g->idx, g->n, &added, true);
		pthread_mutex_lock(&tp_lock);
		if (tp_probe_stop) {
			th_prober_free(p);
			p = NULL;
		}
		g->prober = p;
		pthread_mutex_unlock(&tp_lock);
	}
	return NULL;
}

/* Start a group with idx[0..n) (copied), which tp_prober_with() just gave prober p. */
static void tp_group_start(const size_t *idx, size_t n, th_prober *p)
{
	tp_group *g = &tp_groups[tp_ngroups];

	if ((g->idx = malloc(n * sizeof *g->idx)) == NULL) {
		th_prober_free(p);
		return;
	}
	memcpy(g->idx, idx, n * sizeof *idx);
	g->n = n;
	pthread_mutex_lock(&tp_lock);
	if (tp_probe_stop) {
		pthread_mutex_unlock(&tp_lock);
		th_prober_free(p);
		free(g->idx);
		return;
	}
	g->prober = p;
	pthread_mutex_unlock(&tp_lock);
	if (plugin_thread_create(&g->tid, tp_group_thread, g, "themis probe") != 0) {
		ERROR(TP_NAME " plugin: cannot start a probe thread.");
		th_prober_free(p);
		free(g->idx);
		return;
	}
	tp_ngroups++;
}

/* The retry loop: targets not yet in a group are tried every 30 s until all are. */
static void *tp_probe_thread(void *arg)
{
	size_t *wait = malloc(tp_ntargets * sizeof *wait), nwait = tp_ntargets;
	bool first = true;

	if (wait == NULL)
		return NULL;
	for (size_t i = 0; i < nwait; i++)
		wait[i] = i;
	while (nwait > 0) {
		size_t added;
		th_prober *p = tp_prober_with(wait, nwait, &added, first);

		first = false;
		if (p != NULL) {
			tp_group_start(wait, added, p);
			memmove(wait, wait + added, (nwait - added) * sizeof *wait);
			nwait -= added;
			if (nwait > 0)
				INFO(TP_NAME " plugin: %zu target(s) probing, %zu still retried.",
				     tp_ntargets - nwait, nwait);
		}
		if (nwait > 0 && tp_probe_pause(30))
			break;
	}
	free(wait);
	return NULL;
}

static void tp_probe_shutdown(void)
{
	if (!tp_probe_running)
		return;
	pthread_mutex_lock(&tp_lock);
	tp_probe_stop = true;
	pthread_cond_broadcast(&tp_probe_cond);
	pthread_mutex_unlock(&tp_lock);
	pthread_join(tp_probe_tid, NULL); /* no group starts after this */
	pthread_mutex_lock(&tp_lock);
	for (size_t i = 0; i < tp_ngroups; i++)
		if (tp_groups[i].prober != NULL)
			th_prober_stop(tp_groups[i].prober);
	pthread_cond_broadcast(&tp_probe_cond);
	pthread_mutex_unlock(&tp_lock);
	for (size_t i = 0; i < tp_ngroups; i++) {
		pthread_join(tp_groups[i].tid, NULL);
		free(tp_groups[i].idx);
	}
	free(tp_groups);
	tp_groups = NULL;
	tp_ngroups = 0;
	tp_probe_running = false;
}

/* ------------------------------------------------------------------ life cycle */

static void tp_warn(const char *msg)
{
	WARNING(TP_NAME " plugin: %s", msg);
}

/* Every wait of the plugin runs on CLOCK_MONOTONIC: a step of the wall clock neither ends a wait
 * early (spurious 503s) nor stretches it (stalled retries). */
static void tp_cond_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_destroy(c);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

static int tp_init(void)
{
	tp_http *server = NULL;
	char err[TH_ERRLEN];
	size_t resumed = 0;

	if (tp_state != NULL)
		return 0;
	tp_cond_monotonic(&tp_cond);
	tp_cond_monotonic(&tp_probe_cond);
	tp_cond_monotonic(&tp_store_cond);
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
	if (tp_cfg.archive)
		tp_undispatched_load();
	tp_stop = false;
	if (tp_cfg.archive) {
		tp_store_stop = tp_store_finished = false;
		if (plugin_thread_create(&tp_store_tid, tp_store_thread, NULL, "themis archive") !=
		    0) {
			ERROR(TP_NAME " plugin: cannot start the archive thread.");
			return -1;
		}
		tp_store_running = true;
	}
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
	if (tp_http_lim.max_buffered < tp_max_body)
		tp_http_lim.max_buffered = tp_max_body; /* one request of the largest size fits */
	tp_http_lim.ack_wait_ns = TP_ACK_WAIT_NS;
	if (tp_http_start(&server, tp_listen_node, tp_listen_service, &tp_http_lim, &tp_api,
	                  &tp_tls_conf, err) != TH_OK) {
		ERROR(TP_NAME " plugin: %s", err);
		return -1;
	}
	pthread_mutex_lock(&tp_lock);
	tp_server = server;
	pthread_mutex_unlock(&tp_lock);
	INFO(TP_NAME " plugin: listening on %s port %s (%s%s)%s.", tp_listen_node,
	     tp_listen_service, tp_tls_enabled(&tp_tls_conf) ? "HTTPS" : "plain HTTP",
	     tp_tls_conf.ca_pem ? ", client certificates required" : "",
	     tp_token[0] ? " (bearer token required)" : "");
	if (tp_ntargets > 0) {
		tp_probe_stop = false;
		tp_ngroups = 0;
		if ((tp_groups = calloc(tp_ntargets, sizeof *tp_groups)) == NULL) {
			ERROR(TP_NAME " plugin: out of memory.");
			return -1;
		}
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
	tp_http *server;

	pthread_mutex_lock(&tp_lock);
	server = tp_server;
	tp_server = NULL; /* the worker releases no more replies through it */
	pthread_mutex_unlock(&tp_lock);
	tp_http_stop(server);
	tp_tls_free(&tp_tls_conf);
	tp_probe_shutdown(); /* its last records still go through the worker */
	if (tp_worker_running) {
		pthread_mutex_lock(&tp_lock);
		tp_stop = true;
		pthread_cond_signal(&tp_cond);
		pthread_mutex_unlock(&tp_lock);
		pthread_join(tp_worker_tid, NULL);
		tp_worker_running = false;
	}
	tp_store_shutdown(); /* after the worker: its last rows are queued */
	tp_undispatched_save();
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
	plugin_register_write(TP_NAME, tp_write_seen, NULL);
	plugin_register_shutdown(TP_NAME, tp_shutdown);
}
