/* th-marker.h — session markers (DESIGN §5.2), as C structs.
 *
 * Contract between the trigger (producer: journal + POST /v1/markers), the collectd plugin
 * (consumer: session tagging and the per-session archive) and themis-graph (reads the archive's
 * <session>.json). JSON keys equal the field names below.
 */
#ifndef TH_MARKER_H
#define TH_MARKER_H

#include <stdint.h>

#include "th-record.h"

#define TH_SESSION_MAX 96 /* session id: [A-Za-z0-9_.]+, bytes including NUL */

typedef enum th_event {
	TH_EV_SESSION_START = 1, /* "session-start" */
	TH_EV_MIGRATION_REQUEST, /* "migration-request" */
	TH_EV_MIGRATION_START,   /* "migration-start": OpenNebula entered MIGRATE */
	TH_EV_MIGRATION_END,     /* "migration-end": with outcome */
	TH_EV_SESSION_END,       /* "session-end": with summary */
} th_event;

typedef enum th_outcome {
	TH_OUT_NONE = 0,
	TH_OUT_SUCCESS, /* "success" */
	TH_OUT_FAILED,  /* "failed" */
	TH_OUT_TIMEOUT, /* "timeout" */
	TH_OUT_LOST,    /* "lost" */
	TH_OUT_ABORTED, /* "aborted" (operator interrupted the session) */
} th_outcome;

/* Who started the migration a session measures (key "origin", optional). */
typedef enum th_origin {
	TH_ORIGIN_NONE = 0, /* not said (older producers) */
	TH_ORIGIN_RUN,      /* "run": themis-trigger run requested it */
	TH_ORIGIN_OBSERVED, /* "observed": themis-trigger watch saw OpenNebula do it */
} th_origin;

/* The summary carried by "session-end". NaN / -1 mean "not known". */
typedef struct th_summary {
	th_outcome outcome;
	double downtime_ms;       /* longest outage overlapping the migration window */
	double downtime_bound_ms; /* its uncertainty */
	double outage_total_ms;   /* all outage time inside the window */
	int64_t lost_up, lost_down, lost_unknown; /* probes lost inside the window */
	int64_t one_stime, one_rstime,
	    one_etime;         /* OpenNebula's history times, epoch s, 0 = unset */
	double one_duration_s; /* OpenNebula's view of the migration (RSTIME/ETIME - STIME) */
	double hv_downtime_ms; /* hypervisor-reported downtime (e.g. QEMU query-migrate) */
	double hv_total_ms;    /* hypervisor-reported total migration time */
	double delta_ms;       /* downtime_ms - hv_downtime_ms */
} th_summary;

typedef struct th_marker {
	th_event event;
	char session[TH_SESSION_MAX];
	char definition[TH_NAME_MAX];
	int cycle;
	char vm[TH_NAME_MAX];
	int vm_id;
	char src_host[TH_NAME_MAX];
	char dst_host[TH_NAME_MAX];
	double t;           /* epoch seconds, sub-ms digits (supervisor clock) */
	th_outcome outcome; /* migration-end and session-end */
	th_origin origin;   /* any event; TH_ORIGIN_NONE: the key is left out */
	th_summary summary; /* session-end only */
	char message[512];  /* optional: e.g. OpenNebula's USER_TEMPLATE/ERROR on failure */
} th_marker;

#endif
