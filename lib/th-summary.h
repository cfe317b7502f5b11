/* th-summary.h — the session summary (DESIGN §4.5): the one table of its fields (name, type,
 * unit) that every encoder, decoder and column list iterates, and pure functions over th_record
 * arrays that compute it. */
#ifndef TH_SUMMARY_H
#define TH_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "th-error.h"
#include "th-marker.h"
#include "th-record.h"

/* How a summary field is stored, encoded and decoded (th_summary, th-marker.h). */
typedef enum th_sfield_type {
	TH_SF_OUTCOME, /* th_outcome; JSON: its name (th-record-names.h), left out when unknown */
	TH_SF_MS,      /* double; JSON: a number with 3 decimals, null when NaN (unknown) */
	TH_SF_SECONDS, /* double; JSON: a number with 3 decimals, null when NaN (unknown) */
	TH_SF_COUNT,   /* int64_t; JSON: an integer, null when negative (unknown) */
	TH_SF_EPOCH,   /* int64_t epoch seconds; JSON: an integer, 0 = unset */
	TH_SF_TIME,    /* double epoch seconds; JSON: a number with 6 decimals, null when NaN */
} th_sfield_type;

typedef struct th_summary_field {
	const char *name; /* JSON key, CSV column and graph column */
	th_sfield_type type;
	const char *unit; /* "ms", "s", "probes", "epoch s"; "" for the outcome */
	size_t offset;    /* of the member in th_summary */
	double min, max;  /* range a decoder accepts (TH_SF_MS, TH_SF_SECONDS, TH_SF_TIME) */
} th_summary_field;

/* The fields of th_summary in their one order (JSON keys, trigger CSV, graphs' summary.csv). */
#define TH_SUMMARY_NFIELDS 24
extern const th_summary_field th_summary_fields[TH_SUMMARY_NFIELDS];

/* Name of a field type as the graphs' generated list says it: "outcome", "ms", "s", "count",
 * "epoch", "time". */
const char *th_sfield_type_name(th_sfield_type t);

/* The member of s that f describes: a double (TH_SF_MS, TH_SF_SECONDS, TH_SF_TIME), an int64_t
 * (TH_SF_COUNT,
 * TH_SF_EPOCH) or a th_outcome (TH_SF_OUTCOME). */
void *th_summary_member(th_summary *s, const th_summary_field *f);
const void *th_summary_cmember(const th_summary *s, const th_summary_field *f);

/* Every figure "not known": NaN doubles, -1 counters, 0 OpenNebula times, TH_OUT_NONE. */
void th_summary_init(th_summary *s);

/* Network figures for the migration window [win_start, win_end] (epoch s; win_end is already
 * "running on destination + grace"). Only records of vm (all when vm is NULL) are used.
 *  - downtime_ms / downtime_bound_ms: the longest outage record overlapping the window;
 *  - outage_total_ms: length of the union of all outages, clipped to the window (per-direction
 *    and combined records of one outage are not counted twice);
 *  - lost_up/lost_down/lost_unknown: sums over "second" records whose second t lies in
 *    [floor(win_start), floor(win_end)] (loss is accounted in the second it was scheduled).
 * With no "second" record in the window the network figures stay unknown (NaN / -1); with
 * coverage but no overlapping outage, downtime is 0. */
th_err th_summary_network(th_summary *s, const th_record *recs, size_t n, const char *vm,
                          double win_start, double win_end, char *errbuf);

/* OpenNebula's history times of the migration record; one_duration_s = (rstime if set, else
 * etime) - stime, NaN when stime or both ends are unset. */
void th_summary_set_one(th_summary *s, int64_t stime, int64_t rstime, int64_t etime);

/* Hypervisor figures (NaN = unknown); delta_ms = downtime_ms - hv_downtime_ms when both known. */
void th_summary_set_hv(th_summary *s, double hv_downtime_ms, double hv_total_ms);

/* The outage record downtime_ms names (th_summary_network's rule: the longest outage of vm, or
 * of all when vm is NULL, overlapping [win_start, win_end], the first of equals); NULL when
 * none does. Points into recs. */
const th_outage *th_summary_downtime_outage(const th_record *recs, size_t n, const char *vm,
                                            double win_start, double win_end);

/* The decomposition (DESIGN §4.5) of outage o (the one downtime_ms names; NULL = none) against
 * the hypervisor's pause and resume (epoch s) and the bound on the hosts' clock offsets (ms);
 * any of them NaN = unknown. Sets hv_pause, hv_resume, hv_paused_ms = resume - pause,
 * pre_pause_ms = o->start - pause, post_resume_ms = o->end - resume (computed as
 * o->duration_ms + pre_pause_ms - hv_paused_ms when all are known, so that
 * -pre_pause_ms + hv_paused_ms + post_resume_ms = o->duration_ms), decomp_bound_ms =
 * o->bound_ms + clock_bound_ms, and the per-direction fields from o's up_/down_ windows; each
 * NaN when one of its inputs is unknown. */
void th_summary_decompose(th_summary *s, const th_outage *o, double hv_pause, double hv_resume,
                          double clock_bound_ms);

#endif
