/* tp-vm.c — per-VM history and availability tally (tp-vm.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp-vm.h"

size_t tp_vm_history_bytes(int64_t history_s)
{
	return (size_t)history_s * sizeof(tp_row) + TP_HIST_OUTAGES * sizeof(tp_hist_outage);
}

bool tp_vm_history_alloc(tp_vm *v, int64_t history_s)
{
	v->ring = malloc((size_t)history_s * sizeof *v->ring);
	v->outs = calloc(TP_HIST_OUTAGES, sizeof *v->outs);
	if (v->ring == NULL || v->outs == NULL) {
		free(v->ring);
		free(v->outs);
		v->ring = NULL;
		v->outs = NULL;
		return false;
	}
	for (int64_t i = 0; i < history_s; i++)
		v->ring[i].t = INT64_MIN;
	v->ring_n = history_s;
	v->newest = INT64_MIN;
	v->nouts = 0;
	return true;
}

tp_row *tp_vm_row(tp_vm *v, int64_t t)
{
	tp_row *row;

	if (v->ring == NULL || (v->newest != INT64_MIN && t <= v->newest - v->ring_n))
		return NULL;
	if (t > v->newest)
		v->newest = t;
	row = &v->ring[((t % v->ring_n) + v->ring_n) % v->ring_n];
	if (row->t != t) {
		row->t = t;
		row->rtt_weight = 0;
		for (size_t k = 0; k < TH_ARCHIVE_NDS; k++)
			row->v[k] = NAN;
	}
	return row;
}

tp_hist_outage *tp_vm_outage(tp_vm *v, const th_record *r)
{
	tp_hist_outage *h;

	if (v->outs == NULL)
		return NULL;
	h = &v->outs[v->nouts++ % TP_HIST_OUTAGES];
	if (v->out_at == h)
		v->out_at = NULL;
	memset(h, 0, sizeof *h);
	h->o = r->u.outage;
	snprintf(h->stream, sizeof h->stream, "%s", r->stream);
	h->hour = TP_TALLY_NONE;
	return h;
}

static void tp_add(double *dst, double x)
{
	if (isnan(x))
		return;
	*dst = isnan(*dst) ? x : *dst + x;
}

static void tp_max(double *dst, double x)
{
	if (!isnan(x) && (isnan(*dst) || x > *dst))
		*dst = x;
}

static void tp_min(double *dst, double x)
{
	if (!isnan(x) && (isnan(*dst) || x < *dst))
		*dst = x;
}

void tp_row_add(tp_row *row, const th_record *r)
{
	if (r->kind == TH_REC_SECOND) {
		const th_second *x = &r->u.second;
		double w = x->received;

		tp_add(&row->v[A_SENT], x->sent);
		tp_add(&row->v[A_RECV], x->received);
		tp_add(&row->v[A_LUP], x->lost_up);
		tp_add(&row->v[A_LDOWN], x->lost_down);
		tp_add(&row->v[A_LUNK], x->lost_unknown);
		tp_add(&row->v[A_LATE], x->late);
		tp_add(&row->v[A_DUP], x->dup);
		tp_min(&row->v[A_RMIN], x->rtt_min_ms);
		tp_max(&row->v[A_RMAX], x->rtt_max_ms);
		if (!isnan(x->rtt_avg_ms)) {
			if (w <= 0)
				w = 1;
			row->v[A_RAVG] =
			    isnan(row->v[A_RAVG])
			        ? x->rtt_avg_ms
			        : (row->v[A_RAVG] * row->rtt_weight + x->rtt_avg_ms * w) /
			              (row->rtt_weight + w);
			row->rtt_weight += w;
		}
		tp_max(&row->v[A_JIT], x->jitter_ms);
		tp_max(&row->v[A_GAP], x->max_gap_ms);
	} else if (r->kind == TH_REC_IPERF) {
		const th_iperf *x = &r->u.iperf;

		tp_add(&row->v[A_IBPS], x->bits_per_second);
		tp_add(&row->v[A_ILOST], x->lost_packets < 0 ? NAN : (double)x->lost_packets);
		tp_add(&row->v[A_IPKT], x->packets < 0 ? NAN : (double)x->packets);
		tp_max(&row->v[A_IJIT], x->jitter_ms);
	}
}

/* ------------------------------------------------------------------ tally */

static int64_t tp_hour_of(double t)
{
	return (int64_t)floor(t / TP_HOUR) * TP_HOUR;
}

void tp_tally_flush(tp_vm *v, tp_text *lines)
{
	if (v->tally.hour != TP_TALLY_NONE)
		(void)tp_tally_line(v->name, &v->tally,
		                    lines); /* out of memory: the hour is lost */
	memset(&v->tally, 0, sizeof v->tally);
	v->tally.hour = TP_TALLY_NONE;
}

/* Add x to the tally of its hour: the current one, a later one (the current one is over and
 * written out), or an earlier one (a line of its own: readers add up the lines of an hour). */
static void tp_tally_add(tp_vm *v, const tp_tally *x, tp_text *lines)
{
	tp_tally *t = &v->tally;

	if (t->hour != TP_TALLY_NONE && x->hour < t->hour) {
		(void)tp_tally_line(v->name, x, lines);
		return;
	}
	if (t->hour != TP_TALLY_NONE && x->hour > t->hour)
		tp_tally_flush(v, lines);
	t->hour = x->hour;
	t->covered_s += x->covered_s;
	t->outage_ms += x->outage_ms;
	t->outage_ms_sessions += x->outage_ms_sessions;
	t->outages += x->outages;
	t->outages_sessions += x->outages_sessions;
}

void tp_tally_second(tp_vm *v, int64_t t, tp_text *lines)
{
	tp_tally x = {.hour = tp_hour_of((double)t), .covered_s = 1};

	if (t <= v->counted_t)
		return;
	v->counted_t = t;
	tp_tally_add(v, &x, lines);
}

void tp_tally_outage(tp_vm *v, const th_outage *o, bool in_session, tp_hist_outage *h,
                     tp_text *lines)
{
	tp_tally x = {0};

	if (o->start >= v->out_end) { /* a new outage */
		x.hour = tp_hour_of(o->start);
		x.outage_ms = o->duration_ms;
		x.outages = 1;
		v->out_hour = x.hour;
		v->out_in_session = in_session;
		v->out_at = h;
	} else if (o->end > v->out_end) { /* the same outage, longer */
		x.hour = v->out_hour;
		x.outage_ms = (o->end - v->out_end) * 1000.0;
		in_session = v->out_in_session;
	} else {
		return; /* inside the one counted */
	}
	v->out_end = o->end;
	if (in_session) {
		x.outage_ms_sessions = x.outage_ms;
		x.outages_sessions = x.outages;
	}
	if (h != NULL) {
		h->hour = x.hour;
		h->ms = x.outage_ms;
		h->counted = x.outages > 0;
		h->in_session = in_session;
	}
	tp_tally_add(v, &x, lines);
}

void tp_tally_to_session(tp_vm *v, tp_hist_outage *h, tp_text *lines)
{
	tp_tally x = {.hour = h->hour};

	if (h->in_session || h->hour == TP_TALLY_NONE)
		return;
	h->in_session = true;
	if (v->out_at == h)
		v->out_in_session = true; /* its extensions count there too */
	x.outage_ms_sessions = h->ms;
	x.outages_sessions = h->counted;
	tp_tally_add(v, &x, lines);
}

void tp_vm_free(tp_vm *v)
{
	if (v == NULL)
		return;
	free(v->ring);
	free(v->outs);
	free(v);
}
