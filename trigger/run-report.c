/* run-report.c — aggregates and the three output formats of a run. */
#include "themis-config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run-report.h"
#include "th-marker-json.h"
#include "th-summary.h"

static int report_dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

void report_aggregate(const cycle_result *r, int n, report_agg *a)
{
	double *v = calloc(n > 0 ? (size_t)n : 1, sizeof *v);
	int k = 0;

	memset(a, 0, sizeof *a);
	a->cycles = n;
	a->dt_min = a->dt_median = a->dt_p95 = a->dt_max = NAN;
	for (int i = 0; i < n; i++) {
		if (r[i].s.outcome != TH_OUT_SUCCESS)
			continue;
		a->succeeded++;
		if (v != NULL && isfinite(r[i].s.downtime_ms))
			v[k++] = r[i].s.downtime_ms;
	}
	a->success_pct = n > 0 ? 100.0 * a->succeeded / n : NAN;
	a->ndowntime = k;
	if (k > 0) {
		qsort(v, (size_t)k, sizeof *v, report_dcmp);
		a->dt_min = v[0];
		a->dt_max = v[k - 1];
		a->dt_median = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
		a->dt_p95 = v[(int)ceil(0.95 * k) - 1];
	}
	free(v);
}

static const char *report_num(char *buf, size_t size, double v, int dec)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, size, "%.*f", dec, v);
	return buf;
}

static const char *report_cnt(char *buf, size_t size, long long v)
{
	if (v < 0)
		return "-";
	snprintf(buf, size, "%lld", v);
	return buf;
}

void report_table(FILE *f, const cycle_result *r, int n, const report_agg *a)
{
	char b[8][32];

	fprintf(f, "%-5s %-12s %-12s %-8s %7s %12s %9s %8s %9s %10s %9s\n", "cycle", "from", "to",
	        "outcome", "one_s", "downtime_ms", "bound_ms", "lost_up", "lost_down", "hv_dt_ms",
	        "delta_ms");
	for (int i = 0; i < n; i++) {
		const th_summary *s = &r[i].s;
		fprintf(f, "%-5d %-12.12s %-12.12s %-8s %7s %12s %9s %8s %9s %10s %9s\n",
		        r[i].cycle, r[i].src, r[i].dst, th_outcome_name(s->outcome),
		        report_num(b[0], 32, s->one_duration_s, 0),
		        report_num(b[1], 32, s->downtime_ms, 1),
		        report_num(b[2], 32, s->downtime_bound_ms, 1),
		        report_cnt(b[3], 32, s->lost_up), report_cnt(b[4], 32, s->lost_down),
		        report_num(b[5], 32, s->hv_downtime_ms, 1),
		        report_num(b[6], 32, s->delta_ms, 1));
	}
	for (int i = 0; i < n; i++) {
		if (r[i].message[0] != '\0')
			fprintf(f, "cycle %d: %s\n", r[i].cycle, r[i].message);
	}
	/* the outage decomposed: -pre_pause + hv_paused + post_resume = downtime */
	for (int i = 0; i < n; i++) {
		const th_summary *s = &r[i].s;

		if (!isfinite(s->hv_paused_ms))
			continue;
		fprintf(f,
		        "cycle %d anatomy: hv pause -> resume %s ms; outage start - pause %s ms, "
		        "outage end - resume %s ms (bound %s ms)\n",
		        r[i].cycle, report_num(b[0], 32, s->hv_paused_ms, 3),
		        report_num(b[1], 32, s->pre_pause_ms, 3),
		        report_num(b[2], 32, s->post_resume_ms, 3),
		        report_num(b[3], 32, s->decomp_bound_ms, 3));
	}
	fprintf(f, "cycles %d, succeeded %d (%s %%)\n", a->cycles, a->succeeded,
	        report_num(b[0], 32, a->success_pct, 1));
	if (a->ndowntime > 0)
		fprintf(
		    f, "downtime ms over %d successful cycles: min %s, median %s, p95 %s, max %s\n",
		    a->ndowntime, report_num(b[0], 32, a->dt_min, 1),
		    report_num(b[1], 32, a->dt_median, 1), report_num(b[2], 32, a->dt_p95, 1),
		    report_num(b[3], 32, a->dt_max, 1));
}

static void report_csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
	}
	fputc('"', f);
}

static void report_csv_num(FILE *f, double v, int dec)
{
	if (isfinite(v))
		fprintf(f, "%.*f", dec, v);
}

static void report_csv_cnt(FILE *f, long long v)
{
	if (v >= 0)
		fprintf(f, "%lld", v);
}

/* One summary field as a CSV cell (th_summary_fields' type; empty when unknown). */
static void report_csv_field(FILE *f, const th_summary *s, const th_summary_field *fd)
{
	const void *p = th_summary_cmember(s, fd);

	switch (fd->type) {
	case TH_SF_OUTCOME:
		fputs(th_outcome_name(*(const th_outcome *)p), f);
		break;
	case TH_SF_MS:
	case TH_SF_SECONDS:
		report_csv_num(f, *(const double *)p, 3);
		break;
	case TH_SF_COUNT:
		report_csv_cnt(f, (long long)*(const int64_t *)p);
		break;
	case TH_SF_EPOCH:
		fprintf(f, "%lld", (long long)*(const int64_t *)p);
		break;
	case TH_SF_TIME:
		report_csv_num(f, *(const double *)p, 6);
		break;
	}
}

void report_csv(FILE *f, const cycle_result *r, int n)
{
	fputs("cycle,session,src_host,dst_host", f);
	for (size_t k = 0; k < TH_SUMMARY_NFIELDS; k++)
		fprintf(f, ",%s", th_summary_fields[k].name);
	fputs(",message\n", f);
	for (int i = 0; i < n; i++) {
		fprintf(f, "%d,%s,", r[i].cycle, r[i].session);
		report_csv_str(f, r[i].src);
		fputc(',', f);
		report_csv_str(f, r[i].dst);
		for (size_t k = 0; k < TH_SUMMARY_NFIELDS; k++) {
			fputc(',', f);
			report_csv_field(f, &r[i].s, &th_summary_fields[k]);
		}
		fputc(',', f);
		report_csv_str(f, r[i].message);
		fputc('\n', f);
	}
}

static void report_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void report_json_num(FILE *f, double v, int dec)
{
	if (isfinite(v))
		fprintf(f, "%.*f", dec, v);
	else
		fputs("null", f);
}

void report_json(FILE *f, const char *definition, const char *description, const char *vm,
                 int vm_id, const cycle_result *r, int n, const report_agg *a)
{
	fputs("{\"definition\":", f);
	report_json_str(f, definition);
	fputs(",\"description\":", f);
	report_json_str(f, description);
	fputs(",\"vm\":", f);
	report_json_str(f, vm);
	fprintf(f, ",\"vm_id\":%d,\"cycles\":[", vm_id);
	for (int i = 0; i < n; i++) {
		char *sj = NULL;
		fprintf(f, "%s{\"cycle\":%d,\"session\":", i ? "," : "", r[i].cycle);
		report_json_str(f, r[i].session);
		fputs(",\"src_host\":", f);
		report_json_str(f, r[i].src);
		fputs(",\"dst_host\":", f);
		report_json_str(f, r[i].dst);
		fprintf(f, ",\"outcome\":\"%s\",\"message\":", th_outcome_name(r[i].s.outcome));
		report_json_str(f, r[i].message);
		if (th_summary_to_json(&r[i].s, &sj, NULL, NULL) == TH_OK) {
			fprintf(f, ",\"summary\":%s", sj);
			free(sj);
		}
		fputc('}', f);
	}
	fprintf(f, "],\"aggregates\":{\"cycles\":%d,\"succeeded\":%d,\"success_pct\":", a->cycles,
	        a->succeeded);
	report_json_num(f, a->success_pct, 1);
	fprintf(f, ",\"downtime_n\":%d,\"downtime_min_ms\":", a->ndowntime);
	report_json_num(f, a->dt_min, 3);
	fputs(",\"downtime_median_ms\":", f);
	report_json_num(f, a->dt_median, 3);
	fputs(",\"downtime_p95_ms\":", f);
	report_json_num(f, a->dt_p95, 3);
	fputs(",\"downtime_max_ms\":", f);
	report_json_num(f, a->dt_max, 3);
	fputs("}}\n", f);
}
