/* th-summary.c — the summary's field table; migration-window downtime, outage union and loss
 * sums. */
#include "themis-config.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "th-summary.h"

/* One entry: the JSON key is the member's own name, so the two cannot differ. */
/* clang-format off */
#define TH_SF(n, t, u, lo, hi) {#n, t, u, offsetof(th_summary, n), lo, hi}
/* clang-format on */

/* The order of the trigger's CSV since its first release: outcome, OpenNebula's view, the
 * network's, the hypervisor's. */
const th_summary_field th_summary_fields[TH_SUMMARY_NFIELDS] = {
    TH_SF(outcome, TH_SF_OUTCOME, "", 0, 0),
    TH_SF(one_stime, TH_SF_EPOCH, "epoch s", 0, 0),
    TH_SF(one_rstime, TH_SF_EPOCH, "epoch s", 0, 0),
    TH_SF(one_etime, TH_SF_EPOCH, "epoch s", 0, 0),
    TH_SF(one_duration_s, TH_SF_SECONDS, "s", -1e9, 1e9),
    TH_SF(downtime_ms, TH_SF_MS, "ms", 0, 1e12),
    TH_SF(downtime_bound_ms, TH_SF_MS, "ms", 0, 1e12),
    TH_SF(outage_total_ms, TH_SF_MS, "ms", 0, 1e12),
    TH_SF(lost_up, TH_SF_COUNT, "probes", 0, 0),
    TH_SF(lost_down, TH_SF_COUNT, "probes", 0, 0),
    TH_SF(lost_unknown, TH_SF_COUNT, "probes", 0, 0),
    TH_SF(hv_downtime_ms, TH_SF_MS, "ms", 0, 1e12),
    TH_SF(hv_total_ms, TH_SF_MS, "ms", 0, 1e12),
    TH_SF(delta_ms, TH_SF_MS, "ms", -1e12, 1e12),
};

const char *th_sfield_type_name(th_sfield_type t)
{
	switch (t) {
	case TH_SF_OUTCOME:
		return "outcome";
	case TH_SF_MS:
		return "ms";
	case TH_SF_SECONDS:
		return "s";
	case TH_SF_COUNT:
		return "count";
	case TH_SF_EPOCH:
		return "epoch";
	}
	return NULL;
}

void *th_summary_member(th_summary *s, const th_summary_field *f)
{
	return (char *)s + f->offset;
}

const void *th_summary_cmember(const th_summary *s, const th_summary_field *f)
{
	return (const char *)s + f->offset;
}

void th_summary_init(th_summary *s)
{
	memset(s, 0, sizeof *s);
	s->outcome = TH_OUT_NONE;
	s->downtime_ms = s->downtime_bound_ms = s->outage_total_ms = NAN;
	s->lost_up = s->lost_down = s->lost_unknown = -1;
	s->one_duration_s = NAN;
	s->hv_downtime_ms = s->hv_total_ms = s->delta_ms = NAN;
}

typedef struct th_span {
	double a, b;
} th_span;

static int th_span_cmp(const void *x, const void *y)
{
	const th_span *p = x, *q = y;

	return p->a < q->a ? -1 : p->a > q->a ? 1 : 0;
}

static void th_summary_delta(th_summary *s)
{
	if (isfinite(s->downtime_ms) && isfinite(s->hv_downtime_ms))
		s->delta_ms = s->downtime_ms - s->hv_downtime_ms;
	else
		s->delta_ms = NAN;
}

th_err th_summary_network(th_summary *s, const th_record *recs, size_t n, const char *vm,
                          double win_start, double win_end, char *errbuf)
{
	int64_t sec0, sec1;
	size_t i, nspan = 0;
	th_span *spans;
	bool covered = false;
	double best = -1, best_bound = 0, total = 0, cur_a = 0, cur_b = 0;
	int64_t up = 0, down = 0, unk = 0;

	if (!(win_end >= win_start) || !isfinite(win_start) || !isfinite(win_end))
		return th_seterr(errbuf, TH_ERR_INVALID, "summary: bad window [%.6f, %.6f]",
		                 win_start, win_end);
	sec0 = (int64_t)floor(win_start);
	sec1 = (int64_t)floor(win_end);
	spans = calloc(n > 0 ? n : 1, sizeof *spans);
	if (spans == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "summary: out of memory (%zu records)", n);

	for (i = 0; i < n; i++) {
		const th_record *r = &recs[i];

		if (vm != NULL && strcmp(r->vm, vm) != 0)
			continue;
		if (r->kind == TH_REC_SECOND) {
			const th_second *sc = &r->u.second;

			if (sc->t < sec0 || sc->t > sec1)
				continue;
			covered = true;
			up += sc->lost_up;
			down += sc->lost_down;
			unk += sc->lost_unknown;
		} else if (r->kind == TH_REC_OUTAGE) {
			const th_outage *o = &r->u.outage;

			if (o->start > win_end || o->end < win_start)
				continue;
			if (o->duration_ms > best) {
				best = o->duration_ms;
				best_bound = o->bound_ms;
			}
			spans[nspan].a = o->start < win_start ? win_start : o->start;
			spans[nspan].b = o->end > win_end ? win_end : o->end;
			nspan++;
		}
	}

	qsort(spans, nspan, sizeof *spans, th_span_cmp);
	for (i = 0; i < nspan; i++) {
		if (i == 0 || spans[i].a > cur_b) {
			total += cur_b - cur_a;
			cur_a = spans[i].a;
			cur_b = spans[i].b;
		} else if (spans[i].b > cur_b) {
			cur_b = spans[i].b;
		}
	}
	total += cur_b - cur_a;
	free(spans);

	if (!covered && nspan == 0) {
		s->downtime_ms = s->downtime_bound_ms = s->outage_total_ms = NAN;
		s->lost_up = s->lost_down = s->lost_unknown = -1;
	} else {
		s->downtime_ms = best >= 0 ? best : 0;
		s->downtime_bound_ms = best >= 0 ? best_bound : 0;
		s->outage_total_ms = total * 1000.0;
		s->lost_up = covered ? up : -1;
		s->lost_down = covered ? down : -1;
		s->lost_unknown = covered ? unk : -1;
	}
	th_summary_delta(s);
	return TH_OK;
}

void th_summary_set_one(th_summary *s, int64_t stime, int64_t rstime, int64_t etime)
{
	int64_t end = rstime > 0 ? rstime : etime;

	s->one_stime = stime;
	s->one_rstime = rstime;
	s->one_etime = etime;
	s->one_duration_s = (stime > 0 && end > 0) ? (double)(end - stime) : NAN;
}

void th_summary_set_hv(th_summary *s, double hv_downtime_ms, double hv_total_ms)
{
	s->hv_downtime_ms = hv_downtime_ms;
	s->hv_total_ms = hv_total_ms;
	th_summary_delta(s);
}
