/* graph-fields.c — prints the summary's field list for themis-graph (graph-fields.sh, built into
 * themis-graph at build time) from lib's one table, th_summary_fields (th-summary.h), so that
 * the graphs' summary columns cannot drift from what the trigger and the plugin write. */
#include "themis-config.h"

#include <stdio.h>

#include "th-summary.h"

/* The smallest value themis-graph shows as known; below it (or not a number) is unknown. */
static double graph_known_min(const th_summary_field *f)
{
	switch (f->type) {
	case TH_SF_EPOCH:
		return 1; /* 0 = unset */
	case TH_SF_COUNT:
		return 0; /* -1 = unknown */
	case TH_SF_SECONDS:
		return 0; /* a negative duration (a clock step at OpenNebula) reads as unknown */
	default:
		return f->min;
	}
}

int main(void)
{
	printf("# Generated from lib/th-summary.c (th_summary_fields) by rrd-graphs/graph-fields: "
	       "do not edit.\n");
	printf("# TH_SUMMARY_FIELDS: the summary's keys in their order; TH_SUMMARY_FIELDS_JSON: "
	       "each with its\n# type, unit and the smallest value shown as known (null for the "
	       "outcome).\n");
	printf("# shellcheck disable=SC2034 # used by graph-report.sh\n");
	printf("TH_SUMMARY_FIELDS='");
	for (size_t i = 0; i < TH_SUMMARY_NFIELDS; i++)
		printf("%s%s", i ? " " : "", th_summary_fields[i].name);
	printf("'\n");
	printf("# shellcheck disable=SC2034 # used by graph-report.sh\n");
	printf("TH_SUMMARY_FIELDS_JSON='[");
	for (size_t i = 0; i < TH_SUMMARY_NFIELDS; i++) {
		const th_summary_field *f = &th_summary_fields[i];

		printf("%s{\"name\":\"%s\",\"type\":\"%s\",\"unit\":\"%s\",\"min\":", i ? "," : "",
		       f->name, th_sfield_type_name(f->type), f->unit);
		if (f->type == TH_SF_OUTCOME)
			printf("null}");
		else
			printf("%.17g}", graph_known_min(f));
	}
	printf("]'\n");
	return ferror(stdout) ? 1 : 0;
}
