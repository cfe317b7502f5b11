/* th-summary.c — the summary's field table; migration-window downtime, outage union and loss
 * sums; the outage's decomposition against the hypervisor's pause and resume; the initial
 * (all unknown) summary, params and marker. */
#include "themis-config.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "codec-record.h" /* TH_EPOCH_MAX */
#include "th-summary.h"

/* One entry: the JSON key is the member's own name, so the two cannot differ. */
/* clang-format off */
#define TH_SF(n, t, u, lo, hi) {#n, t, u, offsetof(th_summary, n), lo, hi}
/* clang-format on */

/* The order of the trigger's CSV since its first release: outcome, OpenNebula's view, the
 * network's, the hypervisor's; then the decomposition (appended, so older columns keep their
 * place). */
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
    TH_SF(hv_pause, TH_SF_TIME, "epoch s", 0, (double)TH_EPOCH_MAX),
    TH_SF(hv_resume, TH_SF_TIME, "epoch s", 0, (double)TH_EPOCH_MAX),
    TH_SF(hv_paused_ms, TH_SF_MS, "ms", -1e12, 1e12),
    TH_SF(pre_pause_ms, TH_SF_MS, "ms", -1e12, 1e12),
    TH_SF(post_resume_ms, TH_SF_MS, "ms", -1e12, 1e12),
    TH_SF(decomp_bound_ms, TH_SF_MS, "ms", 0, 1e12),
    TH_SF(up_pre_pause_ms, TH_SF_MS, "ms", -1e12, 1e12),
    TH_SF(up_post_resume_ms, TH_SF_MS, "ms", -1e12, 1e12),
    TH_SF(down_pre_pause_ms, TH_SF_MS, "ms", -1e12, 1e12),
    TH_SF(down_post_resume_ms, TH_SF_MS, "ms", -1e12, 1e12),
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
	case TH_SF_TIME:
		return "time";
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
	s->hv_pause = s->hv_resume = s->hv_paused_ms = NAN;
	s->pre_pause_ms = s->post_resume_ms = s->decomp_bound_ms = NAN;
	s->up_pre_pause_ms = s->up_post_resume_ms = NAN;
	s->down_pre_pause_ms = s->down_post_resume_ms = NAN;
}

void th_params_init(th_params *p)
{
	memset(p, 0, sizeof *p);
	p->interval_ms = NAN;
	p->live = -1;
	p->cycles = -1;
}

void th_marker_init(th_marker *m)
{
	memset(m, 0, sizeof *m);
	m->cycle = -1;
	m->vm_id = -1;
	m->t = NAN;
	m->clock_bound_ms = NAN;
	th_params_init(&m->params);
	th_summary_init(&m->summary);
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

const th_outage *th_summary_downtime_outage(const th_record *recs, size_t n, const char *vm,
                                            double win_start, double win_end)
{
	const th_outage *best = NULL;

	for (size_t i = 0; i < n; i++) {
		const th_outage *o = &recs[i].u.outage;

		if (recs[i].kind != TH_REC_OUTAGE || (vm != NULL && strcmp(recs[i].vm, vm) != 0))
			continue;
		if (o->start > win_end || o->end < win_start)
			continue;
		if (best == NULL || o->duration_ms > best->duration_ms)
			best = o;
	}
	return best;
}

/* (a - b) in ms; NaN when either is unknown. */
static double th_ms_between(double a, double b)
{
	return isfinite(a) && isfinite(b) ? (a - b) * 1000.0 : NAN;
}

void th_summary_decompose(th_summary *s, const th_outage *o, double hv_pause, double hv_resume,
                          double clock_bound_ms)
{
	double nan = NAN;
	const double *up_s = &nan, *up_e = &nan, *dn_s = &nan, *dn_e = &nan;
	double o_start = NAN, o_end = NAN, o_dur = NAN, o_bound = NAN;

	s->hv_pause = isfinite(hv_pause) ? hv_pause : NAN;
	s->hv_resume = isfinite(hv_resume) ? hv_resume : NAN;
	if (o != NULL) {
		o_start = o->start;
		o_end = o->end;
		o_dur = o->duration_ms;
		o_bound = o->bound_ms;
		up_s = &o->up_start;
		up_e = &o->up_end;
		dn_s = &o->down_start;
		dn_e = &o->down_end;
	}
	s->hv_paused_ms = th_ms_between(s->hv_resume, s->hv_pause);
	s->pre_pause_ms = th_ms_between(o_start, s->hv_pause);
	if (isfinite(s->pre_pause_ms) && isfinite(s->hv_paused_ms) && isfinite(o_dur))
		s->post_resume_ms = o_dur + s->pre_pause_ms - s->hv_paused_ms;
	else
		s->post_resume_ms = th_ms_between(o_end, s->hv_resume);
	s->decomp_bound_ms = isfinite(o_bound) && isfinite(clock_bound_ms) && clock_bound_ms >= 0
	                         ? o_bound + clock_bound_ms
	                         : NAN;
	s->up_pre_pause_ms = th_ms_between(*up_s, s->hv_pause);
	s->up_post_resume_ms = th_ms_between(*up_e, s->hv_resume);
	s->down_pre_pause_ms = th_ms_between(*dn_s, s->hv_pause);
	s->down_post_resume_ms = th_ms_between(*dn_e, s->hv_resume);
}
