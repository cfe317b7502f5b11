/* th-marker.h — session markers (DESIGN §5.2), as C structs.
 *
 * Contract between the trigger (producer: journal + POST /v1/markers), the collectd plugin
 * (consumer: session tagging and the per-session archive) and themis-graph (reads the archive's
 * <session>.json). JSON keys equal the field names below.
 */
#ifndef TH_MARKER_H
#define TH_MARKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-record.h"

#define TH_SESSION_MAX 96 /* session id: [A-Za-z0-9_.]+, bytes including NUL */

typedef enum th_event {
	TH_EV_SESSION_START = 1, /* "session-start" */
	TH_EV_MIGRATION_REQUEST, /* "migration-request" */
	TH_EV_MIGRATION_START,   /* "migration-start": OpenNebula entered MIGRATE */
	TH_EV_MIGRATION_END,     /* "migration-end": with outcome */
	TH_EV_SESSION_END,       /* "session-end": with summary */
	TH_EV_HV_STATUS,         /* "hv-status": the hypervisor's migration status changed */
	TH_EV_HV_PAUSE,          /* "hv-pause": the source hypervisor stopped the guest */
	TH_EV_HV_RESUME,         /* "hv-resume": the destination hypervisor started the guest */
} th_event;

/* True for the hypervisor events (hv-status, hv-pause, hv-resume): t is the hypervisor's own
 * timestamp, hv_host and hv_source say who reported it. */
#define TH_EV_IS_HV(e) ((e) == TH_EV_HV_STATUS || (e) == TH_EV_HV_PAUSE || (e) == TH_EV_HV_RESUME)

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
	/* The outage decomposed against the hypervisor's pause and resume (DESIGN §4.5); NaN =
	 * unknown. The outage is the one downtime_ms names. */
	double hv_pause, hv_resume; /* epoch s of the hv-pause and hv-resume markers */
	double hv_paused_ms;        /* hv_resume - hv_pause */
	double pre_pause_ms;        /* outage start - hv_pause (negative: down before the pause) */
	double post_resume_ms;      /* outage end - hv_resume */
	double decomp_bound_ms;     /* outage bound_ms + the hosts' clock bound */
	double up_pre_pause_ms, up_post_resume_ms;     /* the same from up_start / up_end */
	double down_pre_pause_ms, down_post_resume_ms; /* the same from down_start / down_end */
} th_summary;

/* Definition parameters carried by "session-start" (key "params", DESIGN §5.2). Each field
 * says itself when absent: NaN, -1 or an empty string. */
#define TH_PARAMS_MIGRATION_MAX 8   /* entries of params.migration */
#define TH_PARAMS_KEY_MAX       32  /* migration key [a-z0-9-]{1,31}, bytes including NUL */
#define TH_PARAMS_VALUE_MAX     64  /* migration value, at most 63 bytes, including NUL */
#define TH_PARAMS_TEXT_MAX      256 /* load and description, at most 255 bytes, including NUL */
#define TH_PARAMS_BANDWIDTH_MAX 32

typedef struct th_param_kv {
	char key[TH_PARAMS_KEY_MAX];
	char value[TH_PARAMS_VALUE_MAX];
} th_param_kv;

typedef struct th_params {
	bool present;       /* the marker carries a "params" object (possibly empty) */
	double interval_ms; /* probe interval; NaN = absent */
	char bandwidth[TH_PARAMS_BANDWIDTH_MAX]; /* as given to --bandwidth; "" = no load traffic */
	int live;                                /* 1 live, 0 cold, -1 absent */
	int64_t cycles;                          /* planned cycles; -1 = absent */
	char load[TH_PARAMS_TEXT_MAX];           /* free text; "" = absent */
	size_t nmigration;                       /* entries in migration; 0 = absent */
	th_param_kv migration[TH_PARAMS_MIGRATION_MAX]; /* hypervisor migration parameters */
	char description[TH_PARAMS_TEXT_MAX];           /* "" = absent */
} th_params;

#define TH_HV_STATUS_MAX 32 /* hv_status, bytes including NUL */
#define TH_HV_SOURCE_MAX 16 /* hv_source, bytes including NUL */

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
	th_params params;   /* session-start only; params.present says whether it is there */
	/* hv-* events only: */
	char
	    hv_status[TH_HV_STATUS_MAX]; /* QEMU's status ("active", ...) or libvirt's event text */
	char hv_host[TH_NAME_MAX];       /* host whose hypervisor reported the event */
	char hv_source[TH_HV_SOURCE_MAX]; /* "qmp" or "libvirt" */
	double clock_bound_ms;            /* bound on that host's clock offset; NaN = unknown */
} th_marker;

/* An empty params (present false, every field absent). */
void th_params_init(th_params *p);
/* A marker with every field unknown: cycle and vm_id -1, NaN t and clock bound, empty params,
 * an initialised summary. */
void th_marker_init(th_marker *m);

#endif
