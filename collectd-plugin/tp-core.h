/* tp-core.h — the plugin's logic, free of collectd, sockets and threads (callers lock).
 *
 * Owns: session tagging per VM (markers open and close sessions; a record whose second lies in
 * a session's window belongs to it, otherwise it is background data of its VM), idempotency
 * (records keyed by vm + stream + kind + second, outages by stream + start, markers by session
 * + event + t, hypervisor markers also by hv_host + hv_status; hv-* markers never open or close
 * a session, without one they are ignored), the per-second rows of each session's archive
 * (written once a second can no longer change: ArchiveLag seconds behind the newest data, after
 * the same time of silence, or when the session is finalised), session close by session-end (+ grace) or timeout, the
 * session's summary computed by the plugin at close (th_summary_network over its per-second loss
 * counts and outages), and the values and notifications to dispatch. Per VM (tp-vm.h) it keeps
 * the recent history that a session opened with a start in the past takes over, and the hourly
 * availability tally. Output is collected in a tp_out that the caller drains outside its lock.
 */
#ifndef TH_PLUGIN_TP_CORE_H
#define TH_PLUGIN_TP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-archive.h"
#include "th-error.h"
#include "th-marker.h"
#include "th-record.h"

#define TP_MAX_VALUES 9
#define TP_TYPE_MAX   32
#define TP_TI_MAX     128

/* Bounds on what clients can make the plugin keep; 0 means "no bound" (the unit tests' default;
 * the plugin's configuration always sets them, see collectd-themis(5)). */
typedef struct tp_limits {
	size_t sessions;         /* open sessions in all (MaxSessions) */
	size_t sessions_per_vm;  /* open sessions of one VM (MaxSessionsPerVM) */
	size_t streams;          /* (vm, stream, kind) states kept (MaxStreams) */
	size_t markers;          /* markers kept per session (MaxMarkersPerSession) */
	size_t outages;          /* outages kept per session (MaxOutagesPerSession) */
	int64_t accept_past_s;   /* records and markers at most this old (AcceptPast) */
	int64_t accept_future_s; /* ... and at most this far ahead of the clock (AcceptFuture) */
} tp_limits;

/* Counts of what the limits refused or dropped, for /v1/health. */
typedef enum tp_limit_hit {
	TP_HIT_SESSIONS,        /* a new session refused: MaxSessions */
	TP_HIT_SESSIONS_PER_VM, /* a new session refused: MaxSessionsPerVM */
	TP_HIT_STREAMS,         /* a record of a new stream refused: MaxStreams */
	TP_HIT_MARKERS,         /* a marker refused: MaxMarkersPerSession */
	TP_HIT_OUTAGES,         /* an outage dispatched but not kept in its session: MaxOutages.. */
	TP_HIT_WINDOW,          /* a batch refused: a time outside AcceptPast/AcceptFuture */
	TP_HIT_CLOSED,          /* a marker for a finished session ignored */
	TP_HIT_HISTORY,         /* a VM left without history: HistoryMaxBytes */
	TP_HIT__COUNT
} tp_limit_hit;

/* The configuration name of the limit behind a hit counter ("MaxSessions", ...). */
const char *tp_limit_name(tp_limit_hit h);

typedef struct tp_config {
	int64_t archive_lag_s;      /* a second is final this far behind the newest data */
	int64_t session_grace_ns;   /* after session-end, late records still join the session */
	int64_t session_timeout_ns; /* no marker for this long: close the session as "timeout" */
	double downtime_warning_ms; /* NaN: no threshold */
	double downtime_failure_ms;
	bool archive;             /* keep the per-session archive (and the availability tally) */
	int64_t history_s;        /* seconds of rows and outages kept per VM (0: none) */
	size_t history_max_bytes; /* bound of all VMs' history (0: none) */
	double summary_grace_s;   /* the summary window ends this long after migration-end */
	tp_limits limits;
	int64_t (*wall_ns)(void); /* the wall clock (epoch ns); NULL: th_wall_ns() */
} tp_config;

/* Where a finalised session's summary comes from ("summary_source"). */
typedef enum tp_source {
	TP_SRC_NONE = 0, /* not computed yet (the session is open) */
	TP_SRC_PLUGIN,   /* the session-end marker had no network figure */
	TP_SRC_TRIGGER,  /* it had them and they agree with the plugin's */
	TP_SRC_BOTH,     /* they differ: both are kept */
} tp_source;

/* One value list to dispatch (plugin "themis", plugin_instance = vm). */
typedef struct tp_value {
	char vm[TH_NAME_MAX];
	char type[TP_TYPE_MAX];
	char type_instance[TP_TI_MAX];
	double time;     /* epoch seconds */
	double interval; /* seconds */
	size_t n;
	double v[TP_MAX_VALUES]; /* NaN = unknown */
} tp_value;

typedef enum tp_severity { TP_SEV_OKAY = 4, TP_SEV_WARNING = 2, TP_SEV_FAILURE = 1 } tp_severity;

typedef struct tp_notice {
	tp_severity severity;
	double time;
	char vm[TH_NAME_MAX];
	char session[TH_SESSION_MAX];
	char message[256];
} tp_notice;

/* Work for the archive writer: create (when create) and extend one session's RRD with rows
 * first..; rewrite its JSON file when json != NULL. No job carries rows before the session's
 * first per-second record: a session without one never gets an RRD. */
typedef struct tp_archive_job {
	char vm[TH_NAME_MAX];
	char session[TH_SESSION_MAX];
	bool create;        /* the RRD does not exist yet: create with last_up = first - 1 */
	int64_t first;      /* first second of the session's RRD */
	int64_t row0;       /* time of rows[0] */
	size_t nrows;       /* consecutive seconds row0 .. row0 + nrows - 1 */
	int64_t need_rows;  /* with nrows: rows the RRD must hold, first .. row0 + nrows - 1 */
	double *rows;       /* nrows * TH_ARCHIVE_NDS values, NaN = U */
	char *json;         /* the whole <session>.json, or NULL */
	bool retry;         /* written before in part: skip the rows the file already stores */
	char *pending;      /* rows not final yet, for <session>.pending, or NULL: no change */
	size_t pending_len; /* 0 with pending != NULL: remove the file */
	char *summary_line; /* the session's summaries.jsonl line (it was finalised), or NULL */
} tp_archive_job;

/* A growing text (lines to append to a file). */
typedef struct tp_text {
	char *buf;
	size_t len, cap;
} tp_text;

typedef struct tp_out {
	tp_value *values;
	size_t nvalues, capvalues;
	tp_notice *notices;
	size_t nnotices, capnotices;
	tp_archive_job *jobs;
	size_t njobs, capjobs;
	tp_text availability; /* availability.jsonl lines */
} tp_out;

void tp_out_reset(tp_out *o); /* frees what the items own, keeps the arrays */
void tp_out_free(tp_out *o);

typedef struct tp_core tp_core;

tp_core *tp_core_new(const tp_config *cfg);
void tp_core_free(tp_core *c);

/* Accept records (already validated). Values go to out; *dups counts re-sent ones. A batch
 * with a time outside the accepted window fails whole (TH_ERR_INVALID); a record of a new
 * stream beyond MaxStreams fails with TH_ERR_LIMIT, keeping the records before it. */
th_err tp_core_records(tp_core *c, const th_record *r, size_t n, int64_t now_ns, tp_out *out,
                       size_t *dups, char *errbuf);

/* Accept markers (already validated); *dups counts re-sent ones and markers of finished
 * sessions (which never reopen). Fails changing nothing when a marker names another VM than its
 * session's, or a time outside the window (TH_ERR_INVALID); fails keeping the markers before it
 * when a new session exceeds MaxSessions/MaxSessionsPerVM (TH_ERR_LIMIT) or a session holds
 * MaxMarkersPerSession markers (TH_ERR_STATE). */
th_err tp_core_markers(tp_core *c, const th_marker *m, size_t n, int64_t now_ns, tp_out *out,
                       size_t *dups, char *errbuf);

/* Periodic step: emit archive rows that became final, finalise sessions past their grace or
 * timeout (with their summary and summaries.jsonl line), write out the availability tallies of
 * hours that are over, forget streams silent for longer than AcceptPast (and a VM's history and
 * tally with its last stream). With final (clean shutdown), write every pending row, every
 * tally (partial hours) and close every session whose session-end arrived; the others stay
 * "open" and are resumed at the next start. */
void tp_core_tick(tp_core *c, int64_t now_ns, bool final, tp_out *out);

/* Resume a session found open in the archive (after a restart): markers and outages as
 * recorded, rows up to last_written already stored. */
th_err tp_core_resume(tp_core *c, const th_marker *m, size_t nm, const th_record *outages,
                      size_t no, int64_t first, int64_t last_written, int64_t now_ns, char *errbuf);

/* Dispatch marks: the newest second dispatched per (vm, stream, kind), as JSON lines: with all,
 * every stream; else only the streams changed since the last call (NULL when none). Appended to
 * a file after each dispatch round (rewritten whole with all now and then) and loaded at start
 * (a later line wins), they keep re-sent records from being dispatched twice across a restart
 * (the stock rrdtool plugin would refuse a whole batch that starts with an already stored
 * second). */
char *tp_core_marks(tp_core *c, bool all);
th_err tp_core_load_marks(tp_core *c, const char *text, size_t len, char *errbuf);

/* Rows a session had not written yet, from its <session>.pending file (after a restart,
 * following tp_core_resume). Rows at or before the last stored second are skipped. The file is
 * this machine's binary image of the rows ("THPEND1\n", counts, per-stream floors, rows): it
 * only carries state across a restart of the same plugin. */
th_err tp_core_resume_rows(tp_core *c, const char *session, const char *data, size_t len,
                           char *errbuf);

/* A session known to be finished (e.g. found closed in the archive at start): its markers
 * are ignored from now on. */
th_err tp_core_mark_finished(tp_core *c, const char *session);

/* The summaries.jsonl line of an open (resumed) session exists already: do not write it again
 * when the session is finalised. TH_ERR_NOTFOUND when no such session is open. */
th_err tp_core_summary_logged(tp_core *c, const char *session);

/* Counts for /v1/health. */
size_t tp_core_sessions_open(const tp_core *c);
size_t tp_core_streams(const tp_core *c);
size_t tp_core_finished(const tp_core *c);
unsigned long long tp_core_hits(const tp_core *c, tp_limit_hit h);
size_t tp_core_history_bytes(const tp_core *c); /* memory of all VMs' history */

/* Copies src into dst[size], cut to fit and always terminated (cheaper than snprintf on the
 * hot path); also fills collectd's fixed-size identifier fields. */
void tp_copy(char *dst, size_t size, const char *src);

/* The final summary of a session from the session-end marker's (NULL: none) and the plugin's
 * own network figures: every unknown network figure of the marker's filled from the plugin's;
 * TP_SRC_PLUGIN when the marker had none, TP_SRC_TRIGGER when its known figures agree with the
 * plugin's known ones (downtime within the larger downtime bound, lost counts equal), else
 * TP_SRC_BOTH (exposed for tests). */
tp_source tp_core_merge_summary(const th_summary *marker, const th_summary *plugin,
                                th_summary *out);

/* "summary_source" names: "plugin", "trigger", "both"; NULL for TP_SRC_NONE. */
const char *tp_source_name(tp_source src);

/* Severity of a session end given its summary (exposed for tests). */
tp_severity tp_core_severity(const tp_config *cfg, th_outcome outcome, double downtime_ms,
                             bool timed_out);

#endif
