/* th-summary.h — the session summary (DESIGN §4.5): pure functions over th_record arrays. */
#ifndef TH_SUMMARY_H
#define TH_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "th-error.h"
#include "th-marker.h"
#include "th-record.h"

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

#endif
