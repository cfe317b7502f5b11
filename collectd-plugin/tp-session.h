/* tp-session.h — one migration session as the plugin keeps it (private to tp-core.c and
 * tp-session-json.c). */
#ifndef TH_PLUGIN_TP_SESSION_H
#define TH_PLUGIN_TP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "th-archive.h"
#include "th-marker.h"
#include "th-record.h"
#include "tp-core.h"

typedef enum tp_closed { TP_OPEN = 0, TP_CLOSED_END, TP_CLOSED_TIMEOUT } tp_closed;

typedef struct tp_row {
	int64_t t;
	double v[TH_ARCHIVE_NDS]; /* NaN = U */
	double rtt_weight;        /* echoes behind rtt_avg, to merge several streams */
} tp_row;

/* Archive columns of a tp_row, th-archive.h order. */
enum {
	A_SENT,
	A_RECV,
	A_LUP,
	A_LDOWN,
	A_LUNK,
	A_LATE,
	A_DUP,
	A_RMIN,
	A_RAVG,
	A_RMAX,
	A_JIT,
	A_GAP,
	A_IBPS,
	A_ILOST,
	A_IPKT,
	A_IJIT
};

/* Newest second of one (stream, kind) merged into the session's rows: a record at or before it
 * is already in the archive (kept across restarts in <session>.pending). */
typedef struct tp_floor {
	char stream[TH_NAME_MAX];
	th_record_kind kind;
	int64_t t;
} tp_floor;

/* Probes lost in one second of a session, all streams added (the summary's loss counts);
 * up == TP_LOSS_NONE: no "second" record for that second. */
#define TP_LOSS_NONE UINT32_MAX
#define TP_LOSS_MAX  86400 /* seconds from the session's first one kept (one day) */
typedef struct tp_loss {
	uint32_t up, down, unk;
} tp_loss;

typedef struct tp_sess {
	char id[TH_SESSION_MAX];
	char vm[TH_NAME_MAX];
	uint64_t vm_hash;     /* of vm, to skip other VMs' sessions quickly */
	double t_start;       /* first marker's t */
	double t_end;         /* session-end's t, when ended */
	bool ended;           /* session-end received */
	int64_t first;        /* floor(t_start): first second of the RRD */
	int64_t written;      /* last second handed to the archive writer (first - 1: none) */
	bool created;         /* the RRD exists */
	int64_t max_t;        /* newest second with data (first - 1: none) */
	int64_t last_data_ns; /* monotonic time of the last record, marker or resume */
	int64_t last_marker_ns;
	int64_t end_ns; /* monotonic time session-end arrived */
	tp_row *rows;   /* pending rows, sorted by t, all > written */
	size_t nrows, caprows;
	th_marker *markers;
	size_t nmarkers, capmarkers;
	th_outage *outages;
	char (*outage_streams)[TH_NAME_MAX];
	size_t noutages, capoutages;
	size_t outages_dropped; /* past MaxOutagesPerSession: dispatched, not kept here */
	tp_closed closed;
	bool json_dirty;
	bool pending_dirty; /* rows changed since the .pending file was last written */
	tp_floor *floors;
	size_t nfloors, capfloors;
	tp_loss *loss; /* loss[t - first], for t < first + TP_LOSS_MAX */
	size_t nloss, caploss;
	size_t loss_dropped; /* seconds past TP_LOSS_MAX not kept */
	int64_t loss_from;   /* seconds before it are not in loss[] (archived before a restart) */
	bool summary_logged; /* its summaries.jsonl line exists already (found at start) */
	tp_source source;    /* set when the session is finalised: */
	th_summary summary;  /* the final summary (session-end's, filled by the plugin's) */
	th_summary summary_net; /* the plugin's own (written when source is TP_SRC_BOTH) */
} tp_sess;

/* The whole <session>.json (th-archive.h) as a malloc'd NUL-terminated string, or NULL. */
char *tp_session_json(const tp_sess *s);

/* The session's summaries.jsonl line (th-archive.h), newline-terminated, malloc'd, or NULL. */
char *tp_session_summary_line(const tp_sess *s);

#endif
