/* oneway-engine.c — receiver maths of the one-way mode (see oneway-engine.h). */
#include "themis-config.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "oneway-engine.h"

#define OW_RING 32   /* open seconds: loss timeout (<= 10 s) + slack */
#define OW_SEEN 1024 /* duplicate detection window, in sequence numbers */

typedef struct ow_sec {
	bool used;
	int64_t t;
	uint32_t received, lost, late, dup, slips;
	double jitter_ms, max_gap_ms;
	int64_t interval_ns;
} ow_sec;

typedef struct ow_pend {
	uint64_t seq; /* 0: a slot known from silence only */
	int64_t t_ns; /* its time on the receiver's clock */
} ow_pend;

struct th_ow {
	th_ow_conf conf;
	th_clock clock;
	bool active; /* a sender is sending (data seen, no FIN since) */
	uint64_t session;
	int64_t interval_ns;
	uint64_t high;         /* highest sequence number of the session */
	int64_t last_ns;       /* arrival of that packet */
	int64_t last_send_ns;  /* its send time (sender clock) */
	uint64_t silence_lost; /* slots after last_ns already declared lost */
	bool have_prev;        /* last_ns/last_send_ns hold a packet of this session */
	double jitter_ns;
	uint64_t seen[OW_SEEN / 64];
	ow_pend *pend;
	size_t pend_head, pend_len, pend_cap;
	ow_sec ring[OW_RING];
	bool emitting;
	int64_t next_emit_t; /* oldest second not yet emitted */
	th_ow_counters c;
};

void th_ow_conf_defaults(th_ow_conf *c)
{
	memset(c, 0, sizeof *c);
	c->loss_timeout_ns = TH_NS_PER_SEC;
	c->min_lost = 2;
}

th_err th_ow_new(th_ow **out, const th_ow_conf *conf, const th_clock *clock, char *errbuf)
{
	th_ow *e;

	*out = NULL;
	if (conf->loss_timeout_ns < TH_NS_PER_MS || conf->loss_timeout_ns > 10 * TH_NS_PER_SEC)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "loss timeout %lld ms is outside 1 .. 10000",
		                 (long long)(conf->loss_timeout_ns / TH_NS_PER_MS));
	if (conf->min_lost < 1)
		return th_seterr(errbuf, TH_ERR_INVALID, "min_lost must be at least 1");
	e = calloc(1, sizeof *e);
	if (e == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "no memory for the one-way receiver");
	e->conf = *conf;
	e->clock = *clock;
	*out = e;
	return TH_OK;
}

void th_ow_free(th_ow *e)
{
	if (e) {
		free(e->pend);
		free(e);
	}
}

void th_ow_get_counters(const th_ow *e, th_ow_counters *out)
{
	*out = e->c;
}

/* ------------------------------------------------------------------ seconds */

static int64_t ow_second_of(const th_ow *e, int64_t mono_ns)
{
	int64_t w = th_clock_to_wall_ns(&e->clock, mono_ns);
	return w >= 0 ? w / TH_NS_PER_SEC : -((-w + TH_NS_PER_SEC - 1) / TH_NS_PER_SEC);
}

static void ow_emit_second(th_ow *e, ow_sec *s, th_ow_record_cb cb, void *arg)
{
	th_record r;

	if (s->used) {
		memset(&r, 0, sizeof r);
		r.kind = TH_REC_SECOND;
		memcpy(r.vm, e->conf.vm, sizeof r.vm);
		memcpy(r.stream, e->conf.stream, sizeof r.stream);
		r.u.second.t = s->t;
		r.u.second.interval_ms = (double)s->interval_ns / 1e6;
		r.u.second.sent = s->received + s->lost;
		r.u.second.received = s->received;
		r.u.second.lost_down = s->lost;
		r.u.second.late = s->late;
		r.u.second.dup = s->dup;
		r.u.second.slips = s->slips;
		r.u.second.rtt_min_ms = r.u.second.rtt_avg_ms = r.u.second.rtt_max_ms = NAN;
		r.u.second.jitter_ms = s->jitter_ms;
		r.u.second.max_gap_ms = s->max_gap_ms;
		cb(&r, arg);
	}
	memset(s, 0, sizeof *s);
}

/* Emit every second before t_end (exclusive). */
static void ow_emit_before(th_ow *e, int64_t t_end, th_ow_record_cb cb, void *arg)
{
	if (!e->emitting)
		return;
	while (e->next_emit_t < t_end) {
		ow_sec *s = &e->ring[e->next_emit_t % OW_RING];
		if (s->used && s->t == e->next_emit_t)
			ow_emit_second(e, s, cb, arg);
		e->next_emit_t++;
	}
}

/* The accumulator of the second holding mono_ns; a second already emitted is replaced by the
 * oldest open one (only when the caller fell far behind). */
static ow_sec *ow_sec_at(th_ow *e, int64_t mono_ns, th_ow_record_cb cb, void *arg)
{
	int64_t t = ow_second_of(e, mono_ns);
	ow_sec *s;

	if (!e->emitting) {
		e->emitting = true;
		e->next_emit_t = t;
	}
	if (t < e->next_emit_t)
		t = e->next_emit_t;
	if (t >= e->next_emit_t + OW_RING)
		ow_emit_before(e, t - OW_RING + 1, cb, arg);
	s = &e->ring[t % OW_RING];
	if (!s->used) {
		s->used = true;
		s->t = t;
		s->jitter_ms = e->jitter_ns / 1e6;
	}
	s->interval_ns = e->interval_ns;
	return s;
}

static void ow_lose(th_ow *e, int64_t t_ns, th_ow_record_cb cb, void *arg)
{
	ow_sec_at(e, t_ns, cb, arg)->lost++;
	e->c.lost++;
}

/* ------------------------------------------------------------------ pending gaps */

static void ow_pend_push(th_ow *e, uint64_t seq, int64_t t_ns)
{
	if (e->pend_head > 0 && e->pend_head + e->pend_len == e->pend_cap) {
		memmove(e->pend, e->pend + e->pend_head, e->pend_len * sizeof *e->pend);
		e->pend_head = 0;
	}
	if (e->pend_head + e->pend_len == e->pend_cap) {
		size_t cap = e->pend_cap ? e->pend_cap * 2 : 256;
		ow_pend *np = realloc(e->pend, cap * sizeof *np);
		if (np == NULL)
			return; /* out of memory: the slot is simply not tracked */
		e->pend = np;
		e->pend_cap = cap;
	}
	e->pend[e->pend_head + e->pend_len].seq = seq;
	e->pend[e->pend_head + e->pend_len].t_ns = t_ns;
	e->pend_len++;
}

/* A reordered packet fills its gap: true when seq was pending. */
static bool ow_pend_fill(th_ow *e, uint64_t seq)
{
	for (size_t i = 0; i < e->pend_len; i++) {
		ow_pend *p = &e->pend[e->pend_head + i];
		if (p->seq == seq) {
			p->seq = UINT64_MAX; /* filled: skipped when it comes due */
			return true;
		}
	}
	return false;
}

static void ow_commit(th_ow *e, int64_t now_ns, bool all, th_ow_record_cb cb, void *arg)
{
	int64_t to = e->conf.loss_timeout_ns;

	while (e->pend_len > 0 && (all || e->pend[e->pend_head].t_ns + to <= now_ns)) {
		ow_pend p = e->pend[e->pend_head];
		e->pend_head++;
		e->pend_len--;
		if (p.seq != UINT64_MAX)
			ow_lose(e, p.t_ns, cb, arg);
	}
	if (e->pend_len == 0)
		e->pend_head = 0;
	/* the sender is silent: its slots become lost as they pass the loss timeout */
	if (e->active) {
		while (e->last_ns + (int64_t)(e->silence_lost + 1) * e->interval_ns + to <=
		       now_ns) {
			e->silence_lost++;
			ow_lose(e, e->last_ns + (int64_t)e->silence_lost * e->interval_ns, cb, arg);
		}
	}
}

/* ------------------------------------------------------------------ packets */

static bool ow_seen_get(const th_ow *e, uint64_t seq)
{
	return (e->seen[(seq % OW_SEEN) / 64] >> (seq % 64)) & 1;
}

static void ow_seen_set(th_ow *e, uint64_t seq)
{
	e->seen[(seq % OW_SEEN) / 64] |= 1ULL << (seq % 64);
}

static void ow_emit_outage(th_ow *e, int64_t start_ns, int64_t end_ns, uint64_t lost,
                           th_ow_record_cb cb, void *arg)
{
	th_record r;

	memset(&r, 0, sizeof r);
	r.kind = TH_REC_OUTAGE;
	memcpy(r.vm, e->conf.vm, sizeof r.vm);
	memcpy(r.stream, e->conf.stream, sizeof r.stream);
	r.u.outage.direction = TH_DIR_DOWN;
	r.u.outage.start = th_clock_to_epoch(&e->clock, start_ns);
	r.u.outage.end = th_clock_to_epoch(&e->clock, end_ns);
	r.u.outage.duration_ms = (double)(end_ns - start_ns) / 1e6;
	r.u.outage.bound_ms = (double)e->interval_ns / 1e6;
	r.u.outage.lost = (uint32_t)lost;
	e->c.outages++;
	cb(&r, arg);
}

/* Slots missing between the last in-order arrival and one at recv_ns with seq_missing
 * numbers skipped. Declares them (or queues them until the loss timeout) and reports the run
 * as an outage when long enough. */
static void ow_gap(th_ow *e, uint64_t seq_missing, int64_t recv_ns, th_ow_record_cb cb, void *arg)
{
	int64_t I = e->interval_ns, gap = recv_ns - e->last_ns;
	int64_t quiet = I + (2 * I > 5 * TH_NS_PER_MS ? 2 * I : 5 * TH_NS_PER_MS);
	uint64_t time_missing = 0, n, j0 = e->silence_lost;
	int64_t base;

	if (gap > quiet)
		time_missing = (uint64_t)llround((double)gap / (double)I) - 1;
	n = seq_missing > time_missing ? seq_missing : time_missing;
	if (n < j0)
		n = j0;
	/* slots 1..j0 were declared during the silence at last + j I; spread the rest evenly
	 * over what remains of the gap */
	base = e->last_ns + (int64_t)j0 * I;
	for (uint64_t j = j0 + 1; j <= n; j++) {
		int64_t t = base + (int64_t)((double)(recv_ns - base) * (double)(j - j0) /
		                             (double)(n - j0 + 1));
		uint64_t seq = j <= seq_missing ? e->high + j : 0;
		if (t + e->conf.loss_timeout_ns <= recv_ns)
			ow_lose(e, t, cb, arg);
		else
			ow_pend_push(e, seq, t);
	}
	if (n >= e->conf.min_lost && n > 0)
		ow_emit_outage(e, e->last_ns + I, recv_ns, n, cb, arg);
}

void th_ow_packet(th_ow *e, const th_ow_pkt *p, int64_t recv_ns, th_ow_record_cb cb, void *arg)
{
	ow_sec *s;
	int64_t gap;

	ow_commit(e, recv_ns, false, cb, arg);
	if (p->flags & TH_OW_FLAG_FIN) {
		if (e->active && p->session == e->session && p->seq > e->high + 1) {
			/* slots the sender skipped at its end: the FIN ends that silence, an
			 * arrival like any other for max_gap_ms */
			gap = recv_ns - e->last_ns;
			ow_gap(e, p->seq - e->high - 1, recv_ns, cb, arg);
			e->high = p->seq - 1;
			s = ow_sec_at(e, recv_ns, cb, arg);
			if (e->have_prev && (double)gap / 1e6 > s->max_gap_ms)
				s->max_gap_ms = (double)gap / 1e6;
		}
		if (p->session == e->session)
			e->active = false;
		return;
	}
	if (!e->active && p->session == e->session && p->seq <= e->high) {
		/* a straggler of a sender that already said FIN */
		ow_sec_at(e, recv_ns, cb, arg)->late++;
		e->c.late++;
		return;
	}
	if (!e->active || p->session != e->session) {
		if (e->active)
			ow_gap(e, 0, recv_ns, cb,
			       arg); /* restarted sender: the silence between runs */
		e->c.sessions++;
		memset(e->seen, 0, sizeof e->seen);
		e->active = true;
		e->session = p->session;
		e->high = p->seq - 1;
		e->last_ns = recv_ns;
		e->silence_lost = 0;
		e->have_prev = false;
	}
	e->interval_ns = p->interval_ns;
	s = ow_sec_at(e, recv_ns, cb, arg);
	if (p->seq <= e->high) {
		if (e->high - p->seq < OW_SEEN && ow_seen_get(e, p->seq)) {
			s->dup++;
			e->c.dup++;
		} else if (ow_pend_fill(e, p->seq)) {
			ow_seen_set(e, p->seq);
			s->received++;
			e->c.received++;
		} else {
			if (e->high - p->seq < OW_SEEN)
				ow_seen_set(e, p->seq);
			s->late++;
			e->c.late++;
		}
		return;
	}
	gap = recv_ns - e->last_ns;
	ow_gap(e, p->seq - e->high - 1, recv_ns, cb, arg);
	s = ow_sec_at(e, recv_ns, cb, arg); /* ow_gap may have emitted seconds */
	if (p->seq - e->high >= OW_SEEN)
		memset(e->seen, 0, sizeof e->seen);
	else
		for (uint64_t q = e->high + 1; q < p->seq; q++)
			e->seen[(q % OW_SEEN) / 64] &= ~(1ULL << (q % 64));
	ow_seen_set(e, p->seq);
	if (e->have_prev) {
		/* RFC 3550: D = (Rj - Ri) - (Sj - Si), J += (|D| - J) / 16 */
		double d = (double)(gap - (p->send_ns - e->last_send_ns));
		e->jitter_ns += (fabs(d) - e->jitter_ns) / 16.0;
	}
	s->received++;
	s->slips += p->skipped;
	s->jitter_ms = e->jitter_ns / 1e6;
	if (e->have_prev && (double)gap / 1e6 > s->max_gap_ms)
		s->max_gap_ms = (double)gap / 1e6;
	e->c.received++;
	e->high = p->seq;
	e->last_ns = recv_ns;
	e->last_send_ns = p->send_ns;
	e->silence_lost = 0;
	e->have_prev = true;
}

void th_ow_advance(th_ow *e, int64_t now_ns, th_ow_record_cb cb, void *arg)
{
	ow_commit(e, now_ns, false, cb, arg);
	ow_emit_before(e, ow_second_of(e, now_ns - e->conf.loss_timeout_ns), cb, arg);
}

void th_ow_finish(th_ow *e, int64_t now_ns, th_ow_record_cb cb, void *arg)
{
	ow_commit(e, now_ns, false, cb, arg);
	if (e->active && e->silence_lost >= e->conf.min_lost)
		ow_emit_outage(e, e->last_ns + e->interval_ns,
		               e->last_ns + (int64_t)(e->silence_lost + 1) * e->interval_ns,
		               e->silence_lost, cb, arg);
	ow_commit(e, now_ns, true, cb, arg);
	e->active = false;
	if (e->emitting)
		ow_emit_before(e, e->next_emit_t + OW_RING, cb, arg);
}
