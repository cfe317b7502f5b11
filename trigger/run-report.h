/* run-report.h — per-cycle results, aggregates and the final outputs (table, JSON, CSV). */
#ifndef TH_TRIGGER_RUN_REPORT_H
#define TH_TRIGGER_RUN_REPORT_H

#include <stdio.h>

#include "th-marker.h"

typedef struct cycle_result {
	int cycle;
	char session[TH_SESSION_MAX];
	char src[TH_NAME_MAX], dst[TH_NAME_MAX];
	th_summary s; /* s.outcome is the cycle's outcome */
	char message[512];
} cycle_result;

typedef struct report_agg {
	int cycles, succeeded;
	double success_pct;
	int ndowntime;                            /* successful cycles with a known downtime */
	double dt_min, dt_median, dt_p95, dt_max; /* NaN when ndowntime = 0 */
} report_agg;

/* Aggregates over n results: success rate; downtime min/median/p95 (nearest rank)/max over the
 * successful cycles whose downtime is known. */
void report_aggregate(const cycle_result *r, int n, report_agg *a);

void report_table(FILE *f, const cycle_result *r, int n, const report_agg *a);
/* One row per cycle: cycle, session, src_host, dst_host, every field of th_summary_fields (in
 * its order, numbers with three decimals, empty when unknown), message. */
void report_csv(FILE *f, const cycle_result *r, int n);
void report_json(FILE *f, const char *definition, const char *description, const char *vm,
                 int vm_id, const cycle_result *r, int n, const report_agg *a);

#endif
