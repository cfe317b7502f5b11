/* themis.c — the collectd plugin "themis": configuration, the ingest callbacks, the worker
 * thread that dispatches values and notifications and writes the archive's local files, the
 * life cycle and module_register() (see themis-glue.h for the other collectd-aware files).
 */
#include "themis-glue.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "th-addr.h"
#include "th-limits.h"
#include "th-name.h"
#include "th-ports.h"
#include "th-secret.h"
#include "th-time.h"
#include "tp-http.h"
#include "tp-ingest.h"
#include "tp-resume.h"

/* Configuration (tp_cfg_* hold what the config block said until init). */
static char *tp_listen_node;
static char *tp_listen_service;
static char tp_token[TH_TOKEN_MAX];
static size_t tp_max_body = 4 << 20;
static size_t tp_max_queue = 1000000;
tp_archive tp_arch = {.rows = TP_ARCHIVE_ROWS, .min_free = TP_ARCHIVE_MIN_FREE};
int64_t tp_store_stop_ns = 5 * TH_NS_PER_SEC; /* ArchiveStopTimeout */
static tp_http_limits tp_http_lim = {
    .threads = 2, .connections = 128, .connections_per_client = 32, .max_buffered = 64u << 20};
static tp_tls tp_tls_conf; /* TLS* options; files read and checked at the end of the block */
tp_config tp_cfg = {.archive_lag_s = 5,
                    .session_grace_ns = 5 * TH_NS_PER_SEC,
                    .session_timeout_ns = 3600 * TH_NS_PER_SEC,
                    .downtime_warning_ms = NAN,
                    .downtime_failure_ms = NAN,
                    .history_s = 600,
                    .history_max_bytes = 64u << 20,
                    .summary_grace_s = 1,
                    .limits = {.sessions = 256,
                               .sessions_per_vm = 8,
                               .streams = 10000,
                               .markers = 1000,
                               .outages = 10000,
                               .accept_past_s = 7 * 86400,
                               .accept_future_s = 300}};
static unsigned long long tp_hits_logged[TP_HIT__COUNT]; /* worker only: limits logged once */

/* Run-time state. */
pthread_mutex_t tp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tp_cond = PTHREAD_COND_INITIALIZER;
static tp_core *tp_state;
static tp_out tp_pending;
static bool tp_stop;
static bool tp_worker_running;
static pthread_t tp_worker_tid;
static tp_http *tp_server;
static tp_ingest tp_api;
unsigned long long tp_archive_errors;
bool tp_archive_paused;
unsigned long long tp_archive_low_space, tp_archive_dropped;
size_t tp_archive_waiting;
unsigned long long tp_dispatched;
/* An HTTP request is answered only once the worker has dispatched what it brought: a 200
 * means the values are in collectd, not only in this plugin's memory. */
static uint64_t tp_accept_seq, tp_drained_seq;
/* A reply waits at most this long for its dispatch, then 503 (shorter than the clients' own
 * timeouts: the trigger gives up after 3 s, the agent after 5 s). */
#define TP_ACK_WAIT_NS (2 * TH_NS_PER_SEC)

/* Background probe targets (<Target> blocks), see themis-probe.c. */
th_target *tp_targets;
size_t tp_ntargets;

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
	if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER) {
		ERROR(TP_NAME " plugin: %s needs one number in [%g, %g].", ci->key, min, max);
		return -1;
	}
	if (!(ci->values[0].value.number >= min && ci->values[0].value.number <= max)) {
		ERROR(TP_NAME " plugin: %s %g is outside [%g, %g].", ci->key,
		      ci->values[0].value.number, min, max);
		return -1;
	}
	*out = ci->values[0].value.number;
	return 0;
}

static int tp_cfg_listen(const oconfig_item_t *ci)
{
	char port[32], host[TH_HOST_MAX], canon[TH_PORT_MAX], err[TH_ERRLEN];

	if (ci->values_num < 1 || ci->values_num > 2 || ci->values[0].type != OCONFIG_TYPE_STRING) {
		ERROR(TP_NAME " plugin: Listen needs an address and an optional port.");
		return -1;
	}
	if (ci->values_num == 2 && ci->values[1].type == OCONFIG_TYPE_NUMBER)
		snprintf(port, sizeof port, "%.0f", ci->values[1].value.number);
	else if (ci->values_num == 2 && ci->values[1].type == OCONFIG_TYPE_STRING)
		snprintf(port, sizeof port, "%s", ci->values[1].value.string);
	else
		snprintf(port, sizeof port, "%s", TH_PLUGIN_PORT_STR);
	/* the same rules as every address a user writes (th-addr.h) */
	if (th_addr_host("Listen", ci->values[0].value.string, host, err) != TH_OK ||
	    th_addr_port("Listen", port, canon, err) != TH_OK) {
		ERROR(TP_NAME " plugin: %s", err);
		return -1;
	}
	free(tp_listen_node);
	free(tp_listen_service);
	tp_listen_node = strdup(host);
	tp_listen_service = strdup(canon);
	return tp_listen_node && tp_listen_service ? 0 : -1;
}

static int tp_read_token(const char *path)
{
	char err[TH_ERRLEN];
	size_t n;

	if (th_secret_read(path, "TokenFile", tp_token, sizeof tp_token, &n, TH_SECRET_TOKEN,
	                   err) != TH_OK) {
		ERROR(TP_NAME " plugin: %s", err);
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

/* Address "host" ["port"] of a <Target>: the host under th-addr.h's rules (a name, IPv4, IPv6
 * bare or in brackets, no port inside), the port a number or string 1..65535. */
static int tp_cfg_target_addr(const oconfig_item_t *c, th_target *t)
{
	char err[TH_ERRLEN], num[32];
	const char *port = TH_REFLECT_PORT_STR;

	if (c->values_num < 1 || c->values_num > 2 || c->values[0].type != OCONFIG_TYPE_STRING) {
		ERROR(TP_NAME " plugin: Target %s: Address needs a host and an optional port.",
		      t->probe.vm);
		return -1;
	}
	if (c->values_num == 2 && c->values[1].type == OCONFIG_TYPE_NUMBER) {
		snprintf(num, sizeof num, "%g", c->values[1].value.number);
		port = num;
	} else if (c->values_num == 2 && c->values[1].type == OCONFIG_TYPE_STRING) {
		port = c->values[1].value.string;
	} else if (c->values_num == 2) {
		ERROR(TP_NAME " plugin: Target %s: Address port must be a number or a string.",
		      t->probe.vm);
		return -1;
	}
	if (th_addr_host("Address", c->values[0].value.string, t->host, err) != TH_OK ||
	    th_addr_port("Address", port, t->port, err) != TH_OK) {
		ERROR(TP_NAME " plugin: Target %s: %s", t->probe.vm, err);
		return -1;
	}
	return 0;
}

/* <Target "vm"> Address "host" "port", Interval, LossTimeout, MinLost, KeyFile, Stream; ranges
 * from th-limits.h. */
static int tp_cfg_target(const oconfig_item_t *ci)
{
	th_target t, *grown;
	char err[TH_ERRLEN], *str = NULL;
	bool have_addr = false;
	double d;
	int status = 0;

	th_target_defaults(&t);
	if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
	    strlen(ci->values[0].value.string) >= sizeof t.probe.vm ||
	    !ci->values[0].value.string[0]) {
		ERROR(TP_NAME " plugin: Target needs the VM name as its one string argument.");
		return -1;
	}
	if (th_name_check("Target", ci->values[0].value.string, err) != TH_OK) {
		ERROR(TP_NAME " plugin: %s", err);
		return -1;
	}
	snprintf(t.probe.vm, sizeof t.probe.vm, "%s", ci->values[0].value.string);
	for (int i = 0; i < ci->children_num && status == 0; i++) {
		oconfig_item_t *c = ci->children + i;

		if (strcasecmp("Address", c->key) == 0) {
			status = tp_cfg_target_addr(c, &t);
			have_addr = true;
		} else if (strcasecmp("Interval", c->key) == 0) {
			if ((status = tp_cfg_number(c, (double)TH_INTERVAL_MIN_NS / 1e9,
			                            (double)TH_INTERVAL_MAX_NS / 1e9, &d)) == 0)
				t.probe.interval_ns = (int64_t)(d * 1e9 + 0.5);
		} else if (strcasecmp("LossTimeout", c->key) == 0) {
			if ((status = tp_cfg_number(c, (double)TH_LOSS_TIMEOUT_MIN_NS / 1e9,
			                            (double)TH_LOSS_TIMEOUT_MAX_NS / 1e9, &d)) == 0)
				t.probe.loss_timeout_ns = (int64_t)(d * 1e9 + 0.5);
		} else if (strcasecmp("MinLost", c->key) == 0) {
			if ((status = tp_cfg_number(c, TH_MIN_LOST_MIN, TH_MIN_LOST_MAX, &d)) == 0)
				t.probe.min_lost = (uint32_t)d;
		} else if (strcasecmp("Stream", c->key) == 0) {
			status = tp_cfg_buf(c, t.probe.stream, sizeof t.probe.stream);
		} else if (strcasecmp("KeyFile", c->key) == 0) {
			if ((status = tp_cfg_string(c, &str)) == 0 &&
			    th_key_load(str, t.key, &t.key_len, err) != TH_OK) {
				ERROR(TP_NAME " plugin: Target %s: %s", t.probe.vm, err);
				status = -1;
			}
		} else {
			ERROR(TP_NAME " plugin: Target %s: unknown option \"%s\".", t.probe.vm,
			      c->key);
			status = -1;
		}
	}
	free(str);
	if (status != 0)
		return -1;
	if (!have_addr) {
		ERROR(TP_NAME " plugin: Target %s: Address is required.", t.probe.vm);
		return -1;
	}
	if (t.probe.stream[0] != '\0' &&
	    th_stream_id_check("Stream", t.probe.stream, err) != TH_OK) {
		ERROR(TP_NAME " plugin: Target %s: %s", t.probe.vm, err);
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
	    {"HistoryMaxBytes", 0, 1e12, &tp_cfg.history_max_bytes, NULL, NULL},
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
		} else if (strcasecmp("RRDCachedTimeout", c->key) == 0) {
			if ((status = tp_cfg_number(c, 0.1, 600, &d)) == 0)
				tp_arch.timeout_ms = (int)(d * 1000 + 0.5);
		} else if (strcasecmp("RRDCachedAddress", c->key) == 0) {
			status = tp_cfg_buf(c, tp_arch.daemon, sizeof tp_arch.daemon);
		} else if (strcasecmp("HistorySeconds", c->key) == 0) {
			if ((status = tp_cfg_number(c, 0, 86400, &d)) == 0)
				tp_cfg.history_s = (int64_t)d;
		} else if (strcasecmp("SummaryGrace", c->key) == 0) {
			status = tp_cfg_number(c, 0, 3600, &tp_cfg.summary_grace_s);
		} else if (strcasecmp("ArchiveRetention", c->key) == 0) {
			if ((status = tp_cfg_number(c, 0, 3650.0 * 86400, &d)) == 0)
				tp_archive_retention_s = (int64_t)d;
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
th_err tp_take_records(void *ctx, const th_record *r, size_t n, size_t *dups, uint64_t *ticket,
                       char *errbuf)
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
	                       "\"archive_waiting\":%zu,\"archive_dropped\":%llu,"
	                       "\"values_untracked\":%llu,\"history_bytes\":%zu,\"limits\":{",
	                       tp_core_sessions_open(tp_state), tp_core_streams(tp_state),
	                       tp_core_finished(tp_state), tp_pending.nvalues, tp_dispatched,
	                       tp_archive_errors, tp_archive_paused ? 1 : 0, tp_archive_low_space,
	                       tp_archive_waiting, tp_archive_dropped, tp_deliver_untracked(),
	                       tp_core_history_bytes(tp_state));
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
			WARNING(TP_NAME
			        " plugin: limit %s reached %llu time(s); see /v1/health and "
			        "collectd-themis(5).",
			        tp_limit_name((tp_limit_hit)h), hits[h]);
		tp_hits_logged[h] = hits[h];
	}
}

/* ------------------------------------------------------------------ worker: dispatch + archive */

static void tp_drain(tp_out *work, uint64_t seq, bool last)
{
	/* The last drain runs in the shutdown function: collectd's write threads are gone. */
	tp_dispatch(work->values, work->nvalues, last);
	tp_deliver_trim();
	for (size_t i = 0; i < work->nnotices; i++)
		tp_notify(&work->notices[i]);
	tp_archive_jobs(work, last);
	tp_archive_availability(work);
	/* Answer the requests only now: their values are dispatched and their archive rows
	 * are in local files (.queue, .pending) or, while the archive waits for space or a
	 * write error, in the retry list. */
	pthread_mutex_lock(&tp_lock);
	tp_dispatched += work->nvalues;
	tp_archive_counts(&tp_archive_waiting, &tp_archive_dropped);
	tp_drained_seq = seq;
	tp_http_release(tp_server, seq, th_mono_ns());
	pthread_mutex_unlock(&tp_lock);
	tp_out_reset(work);
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
		 * archive waits for space nothing is written; the whole state is, once it resumes.
		 */
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
	tp_archive_jobs_free();
	tp_out_free(&work);
	return NULL;
}

/* ------------------------------------------------------------------ life cycle */

static void tp_warn(const char *msg)
{
	WARNING(TP_NAME " plugin: %s", msg);
}

/* Every wait of the plugin runs on CLOCK_MONOTONIC: a step of the wall clock neither ends a wait
 * early (spurious 503s) nor stretches it (stalled retries). */
void tp_cond_monotonic(pthread_cond_t *c)
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
	tp_cfg.archive = tp_arch.dir[0] != '\0';
	if ((tp_state = tp_core_new(&tp_cfg)) == NULL) {
		ERROR(TP_NAME " plugin: out of memory.");
		return -1;
	}
	if (tp_cfg.archive) {
		char path[1100], *text = NULL;
		size_t len = 0;

		/* created now: background records keep their marks even before any session */
		if (tp_archive_room(&tp_arch, 0, err) == TH_ERR_IO)
			WARNING(TP_NAME " plugin: %s", err);

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
	if (resumed > 0) {
		INFO(TP_NAME " plugin: resumed %zu open session(s) from %s.", resumed, tp_arch.dir);
		tp_summaries_known(tp_state);
	}
	if (tp_cfg.archive)
		tp_undispatched_load();
	tp_stop = false;
	if (tp_cfg.archive && tp_store_start() != 0)
		return -1;
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
	return tp_probe_start();
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
