/* th-record.h — the records agents send to the plugin (DESIGN §5.1), as C structs.
 *
 * This header is the contract between the probe engine (producer), the JSON codec and the
 * collectd plugin (consumer). Field names mirror the JSON keys exactly. Times are epoch seconds
 * on the supervisor's clock. Counters are per stream per second.
 */
#ifndef TH_RECORD_H
#define TH_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#define TH_NAME_MAX 128 /* vm and stream names, bytes including NUL */

typedef enum th_record_kind {
	TH_REC_SECOND = 1, /* "second" */
	TH_REC_OUTAGE,     /* "outage" */
	TH_REC_IPERF,      /* "iperf"  */
} th_record_kind;

typedef enum th_direction {
	TH_DIR_UP = 1,  /* supervisor -> VM lost */
	TH_DIR_DOWN,    /* VM -> supervisor lost */
	TH_DIR_BOTH,    /* a run with losses in both directions */
	TH_DIR_UNKNOWN, /* "unknown": no echo told which way (outage still open at exit) */
} th_direction;

/* "kind":"second" — one per stream per scheduled second. RTT/jitter fields are NaN when no
 * echo arrived in that second (encoded as JSON null). */
typedef struct th_second {
	int64_t t;          /* epoch second in which the probes were scheduled */
	double interval_ms; /* probe interval */
	uint32_t sent, received;
	uint32_t lost_up, lost_down, lost_unknown;
	uint32_t late, dup;
	double rtt_min_ms, rtt_avg_ms, rtt_max_ms;
	double jitter_ms;  /* RFC 3550 interarrival jitter at the end of the second */
	double max_gap_ms; /* longest gap between consecutive echoes seen in this second */
	/* Additions (JSON keys of the same names): */
	uint32_t stalled; /* answered in time, but held by the reflector (VM not running it) */
	uint32_t slips;   /* probes sent more than one interval late, or skipped, by the prober */
	/* ms of this second during which the prober itself did not run (its thread was held up
	 * longer than 100 ms): late or skipped probes of that time are the prober's, not the VM's.
	 * JSON key present only when > 0. */
	uint32_t prober_stall_ms;
} th_second;

/* "kind":"outage" — a maximal run of consecutive lost probes (DESIGN §4.4). */
typedef struct th_outage {
	th_direction direction;
	double start, end;  /* epoch seconds, microsecond digits at least */
	double duration_ms; /* end - start */
	double bound_ms;    /* uncertainty of the bounds (one probe interval) */
	uint32_t lost;      /* probes lost in the run */
	/* Per-direction windows (DESIGN §4.4), NaN when that direction lost no probe in the run:
	 * send time of its first lost probe, and end of its last (send time + one interval, at
	 * most end). Stalled probes count as up; "unknown" losses as neither. */
	double up_start, up_end, down_start, down_end;
} th_outage;

/* "kind":"iperf" — one per iperf interval. */
typedef struct th_iperf {
	int64_t t;      /* epoch second at the start of the interval */
	double seconds; /* interval length */
	uint64_t bytes;
	double bits_per_second;
	double jitter_ms;     /* NaN when the side does not know it */
	int64_t lost_packets; /* -1 when unknown */
	int64_t packets;      /* -1 when unknown */
	bool blackout;        /* zero-byte interval: part of an outage, not "0 % loss" */
} th_iperf;

typedef struct th_record {
	th_record_kind kind;
	char vm[TH_NAME_MAX];
	char stream[TH_NAME_MAX];
	union {
		th_second second;
		th_outage outage;
		th_iperf iperf;
	} u;
} th_record;

#endif
