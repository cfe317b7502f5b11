/* test-probe-stream.c — the probe maths on exact, simulated sequences: loss placed in the
 * scheduled second, direction of every lost probe for outages of any length, outage bounds,
 * stalls, late and duplicate echoes, RTT and RFC 3550 jitter, schedule slips. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe-stream.h"
#include "th-check.h"

#define MS TH_NS_PER_MS
#define T0 1700000000LL /* epoch second of mono 0 */

/* ------------------------------------------------------------------ a simulated network */

typedef struct sim_echo {
	int64_t at;
	th_echo_info e;
} sim_echo;

typedef struct sim {
	th_stream *s;
	th_clock clock;
	int64_t interval, rtt;
	/* losses: slots in [up_from, up_to] never reach the reflector, echoes of slots in
	 * [down_from, down_to] never come back; the reflector is stopped from stop_from to
	 * stop_to (it echoes the queued probes at stop_to) */
	uint64_t up_from, up_to, down_from, down_to;
	int64_t stop_from, stop_to;
	/* reflector state */
	uint64_t last, run_start, rx;
	sim_echo *q;
	size_t nq, capq;
	th_record *recs;
	int64_t *at; /* simulated time at which each record came out */
	size_t nrecs;
	int64_t now;
} sim;

static void sim_collect(const th_record *r, void *arg)
{
	sim *m = arg;

	m->recs = realloc(m->recs, (m->nrecs + 1) * sizeof *m->recs);
	m->at = realloc(m->at, (m->nrecs + 1) * sizeof *m->at);
	m->at[m->nrecs] = m->now;
	m->recs[m->nrecs++] = *r;
}

static void sim_init(sim *m, th_stream_conf *c)
{
	memset(m, 0, sizeof *m);
	m->clock.mono0_ns = 0;
	m->clock.wall0_ns = T0 * TH_NS_PER_SEC;
	m->interval = c->interval_ns;
	m->rtt = 1 * MS;
	m->stop_from = m->stop_to = -1;
	ck_assert_int_eq(th_stream_new(&m->s, c, &m->clock, 0, NULL), TH_OK);
}

static void sim_conf(th_stream_conf *c)
{
	th_stream_conf_defaults(c);
	strcpy(c->vm, "vm1");
	strcpy(c->stream, "sup/vm1/9911");
}

static void sim_push(sim *m, int64_t at, const th_echo_info *e)
{
	if (m->nq == m->capq) {
		m->capq = m->capq ? m->capq * 2 : 256;
		m->q = realloc(m->q, m->capq * sizeof *m->q);
	}
	/* keep the queue sorted by arrival (stable) */
	size_t i = m->nq++;
	while (i > 0 && m->q[i - 1].at > at) {
		m->q[i] = m->q[i - 1];
		i--;
	}
	m->q[i].at = at;
	m->q[i].e = *e;
}

/* The reflector receives seq (sent at sent) at time at. */
static void sim_reflect(sim *m, uint64_t seq, int64_t sent, int64_t at)
{
	int64_t echo_at = at, hold = 0;
	th_echo_info e = {.seq = seq, .send_ns = sent};

	if (m->stop_from >= 0 && at >= m->stop_from && at < m->stop_to) {
		echo_at = m->stop_to;
		hold = m->stop_to - at;
	}
	e.prev_seq = m->last;
	e.run_start = m->last ? m->run_start : 0;
	e.rx_count = ++m->rx;
	e.hold_ns = hold;
	if (m->last == 0 || seq != m->last + 1)
		m->run_start = seq;
	m->last = seq;
	if (seq >= m->down_from && seq <= m->down_to)
		return;
	sim_push(m, echo_at + m->rtt / 2, &e);
}

static void sim_deliver(sim *m, int64_t upto)
{
	size_t i = 0;

	while (i < m->nq && m->q[i].at <= upto) {
		m->now = m->q[i].at;
		th_stream_echo(m->s, &m->q[i].e, m->q[i].at);
		th_stream_advance(m->s, m->q[i].at, sim_collect, m);
		i++;
	}
	if (i > 0)
		memmove(m->q, m->q + i, (m->nq - i) * sizeof *m->q);
	m->nq -= i;
}

/* Run the schedule for n slots, then let echoes and timeouts finish. The reflector's reception
 * of a probe happens rtt/2 after its send, in order. */
static void sim_run(sim *m, uint64_t n)
{
	for (uint64_t k = 1; k <= n; k++) {
		int64_t now = (int64_t)(k - 1) * m->interval;
		sim_deliver(m, now);
		m->now = now;
		uint64_t seq = th_stream_due(m->s, now);
		ck_assert_uint_eq(seq, k);
		th_stream_sent(m->s, seq, now);
		if (!(seq >= m->up_from && seq <= m->up_to))
			sim_reflect(m, seq, now, now + m->rtt / 2);
		th_stream_advance(m->s, now, sim_collect, m);
	}
	int64_t end = (int64_t)n * m->interval + 2 * TH_NS_PER_SEC;
	sim_deliver(m, end);
	m->now = end;
	th_stream_advance(m->s, end, sim_collect, m);
}

static void sim_free(sim *m)
{
	th_stream_free(m->s);
	free(m->q);
	free(m->recs);
	free(m->at);
}

static const th_second *sim_second(const sim *m, int64_t t)
{
	for (size_t i = 0; i < m->nrecs; i++)
		if (m->recs[i].kind == TH_REC_SECOND && m->recs[i].u.second.t == T0 + t)
			return &m->recs[i].u.second;
	ck_abort_msg("no second record for t=%lld", (long long)t);
	return NULL;
}

static size_t sim_count(const sim *m, th_record_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nrecs; i++)
		n += m->recs[i].kind == k;
	return n;
}

static const th_outage *sim_outage(const sim *m, size_t nth)
{
	for (size_t i = 0; i < m->nrecs; i++)
		if (m->recs[i].kind == TH_REC_OUTAGE && nth-- == 0)
			return &m->recs[i].u.outage;
	ck_abort_msg("missing outage record");
	return NULL;
}

/* ------------------------------------------------------------------ tests */

START_TEST(clean_run_gives_full_seconds_and_exact_rtt)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = m.down_from = UINT64_MAX;
	sim_run(&m, 300);
	ck_assert_uint_eq(sim_count(&m, TH_REC_SECOND), 3);
	ck_assert_uint_eq(sim_count(&m, TH_REC_OUTAGE), 0);
	for (int t = 0; t < 3; t++) {
		const th_second *s = sim_second(&m, t);
		ck_assert_uint_eq(s->sent, 100);
		ck_assert_uint_eq(s->received, 100);
		ck_assert_uint_eq(s->lost_up + s->lost_down + s->lost_unknown, 0);
		ck_assert_double_eq_tol(s->rtt_min_ms, 1.0, 1e-9);
		ck_assert_double_eq_tol(s->rtt_avg_ms, 1.0, 1e-9);
		ck_assert_double_eq_tol(s->rtt_max_ms, 1.0, 1e-9);
		ck_assert_double_eq_tol(s->jitter_ms, 0.0, 1e-9);
		ck_assert_double_eq_tol(s->max_gap_ms, 10.0, 1e-9);
		ck_assert_double_eq_tol(s->interval_ms, 10.0, 1e-9);
	}
	ck_assert_str_eq(m.recs[0].vm, "vm1");
	ck_assert_str_eq(m.recs[0].stream, "sup/vm1/9911");
	sim_free(&m);
}
END_TEST

/* up, down, and a down-then-up run: every lost probe gets its direction, the outage its
 * bounds: start = send of the first lost probe, end = send of the first answered one. */
static void check_outage(uint64_t up_from, uint64_t up_to, uint64_t down_from, uint64_t down_to,
                         uint64_t first, uint64_t last, th_direction want, uint32_t want_up,
                         uint32_t want_down)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = up_from;
	m.up_to = up_to;
	m.down_from = down_from;
	m.down_to = down_to;
	sim_run(&m, 400);
	ck_assert_uint_eq(sim_count(&m, TH_REC_OUTAGE), 1);
	const th_outage *o = sim_outage(&m, 0);
	ck_assert_int_eq(o->direction, want);
	ck_assert_uint_eq(o->lost, last - first + 1);
	ck_assert_double_eq_tol(o->start, T0 + (double)(first - 1) * 0.01, 1e-6);
	ck_assert_double_eq_tol(o->end, T0 + (double)last * 0.01, 1e-6);
	ck_assert_double_eq_tol(o->duration_ms, (double)(last - first + 1) * 10.0, 1e-6);
	ck_assert_double_eq_tol(o->bound_ms, 10.0, 1e-9);
	/* all lost probes are in second 1 (slots 101..200) */
	const th_second *s = sim_second(&m, 1);
	ck_assert_uint_eq(s->lost_up, want_up);
	ck_assert_uint_eq(s->lost_down, want_down);
	ck_assert_uint_eq(s->lost_unknown, 0);
	ck_assert_uint_eq(s->received + want_up + want_down, 100);
	ck_assert_uint_eq(sim_second(&m, 0)->received, 100);
	ck_assert_uint_eq(sim_second(&m, 2)->received, 100);
	sim_free(&m);
}

START_TEST(up_outage_is_attributed_up)
{
	check_outage(151, 200, UINT64_MAX, 0, 151, 200, TH_DIR_UP, 50, 0);
}
END_TEST

START_TEST(down_outage_is_attributed_down)
{
	check_outage(UINT64_MAX, 0, 151, 200, 151, 200, TH_DIR_DOWN, 0, 50);
}
END_TEST

START_TEST(down_then_up_run_is_both_with_exact_split)
{
	/* echoes of 121..140 lost, then probes 141..190 lost on the way up */
	check_outage(141, 190, 121, 140, 121, 190, TH_DIR_BOTH, 50, 20);
}
END_TEST

/* Per-direction windows (DESIGN §4.4): from the send of a direction's first lost probe to the
 * send of its last plus one interval, at most the outage's end; NaN for a direction that lost
 * nothing. */
static const th_outage *run_pattern(sim *m, uint64_t up_from, uint64_t up_to, uint64_t down_from,
                                    uint64_t down_to)
{
	th_stream_conf c;

	sim_conf(&c);
	sim_init(m, &c);
	m->up_from = up_from;
	m->up_to = up_to;
	m->down_from = down_from;
	m->down_to = down_to;
	sim_run(m, 400);
	ck_assert_uint_eq(sim_count(m, TH_REC_OUTAGE), 1);
	return sim_outage(m, 0);
}

START_TEST(per_direction_windows_of_up_then_down_losses)
{
	sim m;
	/* probes 121..150 never reach the VM, then the echoes of 151..190 never come back */
	const th_outage *o = run_pattern(&m, 121, 150, 151, 190);

	ck_assert_int_eq(o->direction, TH_DIR_BOTH);
	ck_assert_uint_eq(o->lost, 70);
	ck_assert_double_eq_tol(o->start, T0 + 1.20, 1e-6);
	ck_assert_double_eq_tol(o->end, T0 + 1.90, 1e-6);
	ck_assert_double_eq_tol(o->up_start, T0 + 1.20, 1e-6);   /* send of 121 */
	ck_assert_double_eq_tol(o->up_end, T0 + 1.50, 1e-6);     /* send of 150 + 10 ms */
	ck_assert_double_eq_tol(o->down_start, T0 + 1.50, 1e-6); /* send of 151 */
	ck_assert_double_eq_tol(o->down_end, T0 + 1.90, 1e-6);   /* send of 190 + 10 ms = end */
	sim_free(&m);

	/* the other order: echoes of 121..140 lost, then probes 141..190 */
	o = run_pattern(&m, 141, 190, 121, 140);
	ck_assert_double_eq_tol(o->down_start, T0 + 1.20, 1e-6);
	ck_assert_double_eq_tol(o->down_end, T0 + 1.40, 1e-6);
	ck_assert_double_eq_tol(o->up_start, T0 + 1.40, 1e-6);
	ck_assert_double_eq_tol(o->up_end, T0 + 1.90, 1e-6);
	sim_free(&m);

	/* one direction only: the other's window is absent */
	o = run_pattern(&m, 151, 200, UINT64_MAX, 0);
	ck_assert_double_eq_tol(o->up_start, T0 + 1.50, 1e-6);
	ck_assert_double_eq_tol(o->up_end, T0 + 2.00, 1e-6);
	ck_assert(isnan(o->down_start) && isnan(o->down_end));
	sim_free(&m);
	o = run_pattern(&m, UINT64_MAX, 0, 151, 200);
	ck_assert(isnan(o->up_start) && isnan(o->up_end));
	ck_assert_double_eq_tol(o->down_start, T0 + 1.50, 1e-6);
	ck_assert_double_eq_tol(o->down_end, T0 + 2.00, 1e-6);
	sim_free(&m);

	/* a stopped reflector: its stalled probes are up; the window ends one interval after
	 * the last stalled probe (245, sent at 2.44 s), before the outage's end (2.4995 s) */
	{
		th_stream_conf c;

		sim_conf(&c);
		sim_init(&m, &c);
		m.up_from = m.down_from = UINT64_MAX;
		m.stop_from = 1000 * MS;
		m.stop_to = 2500 * MS;
		sim_run(&m, 400);
		o = sim_outage(&m, 0);
		ck_assert_double_eq_tol(o->up_start, T0 + 1.00, 1e-6);
		ck_assert_double_eq_tol(o->up_end, T0 + 2.45, 1e-6);
		ck_assert_double_eq_tol(o->end, T0 + 2.4995, 1e-6);
		ck_assert(isnan(o->down_start));
		sim_free(&m);
	}
}
END_TEST

START_TEST(loss_lands_in_the_scheduled_seconds)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = 181; /* sent 1.80 s .. 2.29 s */
	m.up_to = 230;
	m.down_from = UINT64_MAX;
	sim_run(&m, 400);
	ck_assert_uint_eq(sim_second(&m, 1)->lost_up, 20);
	ck_assert_uint_eq(sim_second(&m, 2)->lost_up, 30);
	ck_assert_uint_eq(sim_second(&m, 3)->lost_up, 0);
	ck_assert_uint_eq(sim_second(&m, 1)->received, 80);
	ck_assert_uint_eq(sim_second(&m, 2)->received, 70);
	/* the echo that ended the 510 ms silence counts its gap in its own second */
	ck_assert_double_eq_tol(sim_second(&m, 2)->max_gap_ms, 510.0, 1e-6);
	sim_free(&m);
}
END_TEST

/* 120 s down outage at 10 ms: 12 000 probes, all "down", the seconds wait for the direction. */
START_TEST(long_outage_direction_exact_for_every_probe)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = UINT64_MAX;
	m.down_from = 501;
	m.down_to = 12500;
	sim_run(&m, 13000);
	ck_assert_uint_eq(sim_count(&m, TH_REC_SECOND), 130);
	for (int t = 5; t < 125; t++) {
		ck_assert_uint_eq(sim_second(&m, t)->lost_down, 100);
		ck_assert_uint_eq(sim_second(&m, t)->lost_up + sim_second(&m, t)->lost_unknown, 0);
	}
	const th_outage *o = sim_outage(&m, 0);
	ck_assert_int_eq(o->direction, TH_DIR_DOWN);
	ck_assert_uint_eq(o->lost, 12000);
	ck_assert_double_eq_tol(o->duration_ms, 120000.0, 1e-6);
	/* the seconds of the outage waited for the echoes to resume (at 125 s) to know their
	 * direction, and came out in order */
	for (size_t i = 0; i < m.nrecs; i++) {
		if (m.recs[i].kind != TH_REC_SECOND)
			continue;
		if (m.recs[i].u.second.t >= T0 + 5)
			ck_assert_int_ge(m.at[i], 125 * TH_NS_PER_SEC);
		if (i > 0 && m.recs[i - 1].kind == TH_REC_SECOND)
			ck_assert_int_eq(m.recs[i].u.second.t, m.recs[i - 1].u.second.t + 1);
	}
	sim_free(&m);
}
END_TEST

/* 120 s: 40 s of lost echoes, then 80 s of lost probes as well. */
START_TEST(long_down_then_up_outage_is_split_exactly)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.down_from = 501;
	m.down_to = 4500;
	m.up_from = 4501;
	m.up_to = 12500;
	sim_run(&m, 13000);
	const th_outage *o = sim_outage(&m, 0);
	ck_assert_int_eq(o->direction, TH_DIR_BOTH);
	ck_assert_uint_eq(o->lost, 12000);
	th_stream_counters k;
	th_stream_get_counters(m.s, &k);
	ck_assert_uint_eq(k.lost_down, 4000);
	ck_assert_uint_eq(k.lost_up, 8000);
	ck_assert_uint_eq(k.lost_unknown, 0);
	sim_free(&m);
}
END_TEST

START_TEST(long_up_outage_at_tenth_of_ms)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	c.interval_ns = 100 * TH_NS_PER_US;
	sim_init(&m, &c);
	m.rtt = 50 * TH_NS_PER_US;
	m.down_from = UINT64_MAX;
	m.up_from = 10001; /* 1 s .. 11 s */
	m.up_to = 110000;
	sim_run(&m, 120000);
	const th_outage *o = sim_outage(&m, 0);
	ck_assert_int_eq(o->direction, TH_DIR_UP);
	ck_assert_uint_eq(o->lost, 100000);
	ck_assert_double_eq_tol(o->duration_ms, 10000.0, 1e-6);
	ck_assert_double_eq_tol(o->bound_ms, 0.1, 1e-9);
	ck_assert_uint_eq(sim_second(&m, 3)->lost_up, 10000);
	sim_free(&m);
}
END_TEST

START_TEST(short_run_counts_loss_but_no_outage)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = 50;
	m.up_to = 50;
	m.down_from = 70;
	m.down_to = 70;
	sim_run(&m, 100);
	ck_assert_uint_eq(sim_count(&m, TH_REC_OUTAGE), 0);
	ck_assert_uint_eq(sim_second(&m, 0)->lost_up, 1);
	ck_assert_uint_eq(sim_second(&m, 0)->lost_down, 1);
	sim_free(&m);
}
END_TEST

/* The reflector is stopped from 1.000 s to 2.500 s: probes queue in its socket and are echoed
 * at 2.5 s. Those older than the loss timeout are lost (late), the rest stalled; the outage is
 * the 1.5 s stop, direction up, whatever the stall threshold. */
START_TEST(stalled_reflector_is_an_up_outage_of_the_stop_length)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = m.down_from = UINT64_MAX;
	m.stop_from = 1000 * MS;
	m.stop_to = 2500 * MS;
	sim_run(&m, 400);
	ck_assert_uint_eq(sim_count(&m, TH_REC_OUTAGE), 1);
	const th_outage *o = sim_outage(&m, 0);
	ck_assert_int_eq(o->direction, TH_DIR_UP);
	/* slots 101..250 reach the stopped reflector; from 246 on (sent 2.45 s) they wait less
	 * than the stall threshold (50 ms): the run is 101..245, and it ends when 246 was
	 * answered: sent at 2.45 s, held 49.5 ms */
	ck_assert_double_eq_tol(o->start, T0 + 1.0, 1e-6);
	ck_assert_double_eq_tol(o->end, T0 + 2.4995, 1e-6);
	ck_assert_double_eq_tol(o->duration_ms, 1499.5, 1e-6);
	ck_assert_uint_eq(o->lost, 145);
	const th_second *s1 = sim_second(&m, 1);
	/* sent 1.00 .. 1.50 s (101..151): a whole loss timeout old when the echoes come at
	 * 2.5005 s, so lost (up: the reflector held them) and late */
	ck_assert_uint_eq(s1->lost_up, 51);
	ck_assert_uint_eq(s1->late, 51);
	ck_assert_uint_eq(s1->received, 49);
	ck_assert_uint_eq(s1->stalled, 49);
	ck_assert_uint_eq(sim_second(&m, 2)->stalled, 45);
	ck_assert_uint_eq(sim_second(&m, 2)->lost_up + sim_second(&m, 2)->lost_down, 0);
	sim_free(&m);
}
END_TEST

START_TEST(duplicate_and_invalid_echoes_are_counted_not_used)
{
	th_stream_conf c;
	th_clock clk = {0, T0 * TH_NS_PER_SEC};
	th_stream *s;
	th_stream_counters k;

	sim_conf(&c);
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, NULL), TH_OK);
	ck_assert_uint_eq(th_stream_due(s, 0), 1);
	th_stream_sent(s, 1, 0);
	ck_assert_uint_eq(th_stream_due(s, 5 * MS), 0);
	ck_assert_uint_eq(th_stream_due(s, 10 * MS), 2);
	th_stream_sent(s, 2, 10 * MS + 3000);
	th_echo_info e = {.seq = 1, .send_ns = 0, .rx_count = 1};
	ck_assert_int_eq(th_stream_echo(s, &e, 2 * MS), TH_ECHO_OK);
	ck_assert_int_eq(th_stream_echo(s, &e, 3 * MS), TH_ECHO_DUP);
	th_echo_info bad_time = {
	    .seq = 2, .send_ns = 10 * MS, .prev_seq = 1, .run_start = 1, .rx_count = 2};
	ck_assert_int_eq(th_stream_echo(s, &bad_time, 12 * MS), TH_ECHO_INVALID);
	th_echo_info unsent = {
	    .seq = 3, .send_ns = 20 * MS, .prev_seq = 2, .run_start = 1, .rx_count = 3};
	ck_assert_int_eq(th_stream_echo(s, &unsent, 12 * MS), TH_ECHO_INVALID);
	th_echo_info bad_run = {
	    .seq = 2, .send_ns = 10 * MS + 3000, .prev_seq = 1, .run_start = 0, .rx_count = 2};
	ck_assert_int_eq(th_stream_echo(s, &bad_run, 12 * MS), TH_ECHO_INVALID);
	th_echo_info ok2 = {
	    .seq = 2, .send_ns = 10 * MS + 3000, .prev_seq = 1, .run_start = 1, .rx_count = 2};
	ck_assert_int_eq(th_stream_echo(s, &ok2, 14 * MS), TH_ECHO_OK);
	th_stream_get_counters(s, &k);
	ck_assert_uint_eq(k.received, 2);
	ck_assert_uint_eq(k.dup, 1);
	ck_assert_uint_eq(k.invalid, 3);
	ck_assert_int_eq(k.max_slip_ns, 3000);
	th_stream_free(s);
}
END_TEST

/* RFC 3550: J += (|D| - J) / 16 with D the change in transit time between arrivals. */
START_TEST(jitter_follows_rfc3550)
{
	th_stream_conf c;
	th_clock clk = {0, T0 * TH_NS_PER_SEC};
	th_stream *s;
	sim m = {0};

	sim_conf(&c);
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, NULL), TH_OK);
	int64_t rtts[4] = {1 * MS, 3 * MS, 1 * MS, 1 * MS};
	for (uint64_t k = 1; k <= 4; k++) {
		int64_t t = (int64_t)(k - 1) * 10 * MS;
		ck_assert_uint_eq(th_stream_due(s, t), k);
		th_stream_sent(s, k, t);
		th_echo_info e = {.seq = k,
		                  .send_ns = t,
		                  .prev_seq = k - 1,
		                  .run_start = k > 1 ? 1 : 0,
		                  .rx_count = k};
		ck_assert_int_eq(th_stream_echo(s, &e, t + rtts[k - 1]), TH_ECHO_OK);
	}
	th_stream_finish(s, 2 * TH_NS_PER_SEC, sim_collect, &m);
	ck_assert_uint_eq(m.nrecs, 1);
	/* D = 2, 2, 0 ms: J = 0.125, then 0.125 + (2 - 0.125)/16, then that * 15/16 */
	double j = 0.125;
	j += (2.0 - j) / 16.0;
	j -= j / 16.0;
	ck_assert_double_eq_tol(m.recs[0].u.second.jitter_ms, j, 1e-9);
	ck_assert_double_eq_tol(m.recs[0].u.second.rtt_avg_ms, 1.5, 1e-9);
	ck_assert_double_eq_tol(m.recs[0].u.second.rtt_max_ms, 3.0, 1e-9);
	th_stream_free(s);
	free(m.recs);
	free(m.at);
}
END_TEST

START_TEST(sender_falling_behind_skips_and_counts_slips)
{
	th_stream_conf c;
	th_clock clk = {0, T0 * TH_NS_PER_SEC};
	th_stream *s;
	th_stream_counters k;
	sim m = {0};
	uint64_t seq, n = 0;

	sim_conf(&c);
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, NULL), TH_OK);
	ck_assert_uint_eq(th_stream_due(s, 0), 1);
	th_stream_sent(s, 1, 0);
	/* the sender wakes up 500 ms late: slots scheduled more than 100 ms ago are skipped */
	while ((seq = th_stream_due(s, 500 * MS)) != 0) {
		th_stream_sent(s, seq, 500 * MS);
		n++;
	}
	ck_assert_uint_eq(n, 11); /* slots 41..51 */
	th_stream_get_counters(s, &k);
	ck_assert_uint_eq(k.skipped, 39);
	ck_assert_uint_eq(k.slips, 39 + 9); /* 41..49 more than one interval late */
	ck_assert_int_eq(k.max_slip_ns, 100 * MS);
	th_stream_finish(s, 3 * TH_NS_PER_SEC, sim_collect, &m);
	ck_assert_uint_eq(sim_second(&m, 0)->sent, 12);
	ck_assert_uint_eq(sim_second(&m, 0)->slips, 48);
	ck_assert_uint_eq(sim_second(&m, 0)->lost_unknown, 12);
	th_stream_free(s);
	free(m.recs);
	free(m.at);
}
END_TEST

START_TEST(no_slot_at_or_after_the_end_is_due)
{
	th_stream_conf c;
	th_clock clk = {0, T0 * TH_NS_PER_SEC};
	th_stream *s;
	th_stream_counters k;
	uint64_t seq, n = 0;

	sim_conf(&c);
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, NULL), TH_OK);
	th_stream_set_end(s, 300 * MS); /* slots 1..30 (0 .. 290 ms) */
	ck_assert_uint_eq(th_stream_due(s, 0), 1);
	th_stream_sent(s, 1, 0);
	/* the sender wakes up 500 ms late: 2..30 are more than 100 ms behind, skipped; the slots
	 * of 300 ms and later, within 100 ms of now, are past the end: neither sent nor skipped */
	while ((seq = th_stream_due(s, 500 * MS)) != 0) {
		th_stream_sent(s, seq, 500 * MS);
		n++;
	}
	ck_assert_uint_eq(n, 0);
	th_stream_get_counters(s, &k);
	ck_assert_uint_eq(k.skipped, 29);
	ck_assert_int_eq(th_stream_next_send_ns(s), 300 * MS);
	/* woken 50 ms before the end, late by 100 ms at most: sent up to the end, not beyond */
	th_stream_free(s);
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, NULL), TH_OK);
	th_stream_set_end(s, 300 * MS);
	for (int64_t t = 0; t < 250 * MS; t += 10 * MS)
		while ((seq = th_stream_due(s, t)) != 0)
			th_stream_sent(s, seq, t);
	n = 0;
	while ((seq = th_stream_due(s, 320 * MS)) != 0) {
		th_stream_sent(s, seq, 320 * MS);
		n++;
	}
	ck_assert_uint_eq(n, 5); /* 250 .. 290 ms */
	th_stream_get_counters(s, &k);
	ck_assert_uint_eq(k.skipped, 0);
	ck_assert_uint_eq(k.sent, 30);
	th_stream_free(s);
}
END_TEST

START_TEST(finish_reports_open_outage_as_unknown)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = 81;
	m.up_to = UINT64_MAX - 1;
	m.down_from = UINT64_MAX;
	for (uint64_t k = 1; k <= 150; k++) {
		int64_t now = (int64_t)(k - 1) * m.interval;
		sim_deliver(&m, now);
		ck_assert_uint_eq(th_stream_due(m.s, now), k);
		th_stream_sent(m.s, k, now);
		if (k < 81)
			sim_reflect(&m, k, now, now + m.rtt / 2);
		th_stream_advance(m.s, now, sim_collect, &m);
	}
	ck_assert_uint_eq(sim_count(&m, TH_REC_SECOND), 0); /* second 0 waits for a direction */
	th_stream_finish(m.s, 1500 * MS, sim_collect, &m);
	const th_outage *o = sim_outage(&m, 0);
	ck_assert_int_eq(o->direction, TH_DIR_UNKNOWN);
	ck_assert_uint_eq(o->lost, 70);
	ck_assert_double_eq_tol(o->start, T0 + 0.80, 1e-6);
	ck_assert_double_eq_tol(o->end, T0 + 1.50, 1e-6);
	ck_assert_uint_eq(sim_second(&m, 0)->lost_unknown, 20);
	ck_assert_uint_eq(sim_second(&m, 1)->lost_unknown, 50);
	sim_free(&m);
}
END_TEST

START_TEST(hold_limit_settles_as_unknown)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	c.hold_max_ns = 2 * TH_NS_PER_SEC;
	sim_init(&m, &c);
	m.up_from = 101;
	m.up_to = 600; /* 5 s up outage, hold limit 2 s */
	m.down_from = UINT64_MAX;
	sim_run(&m, 800);
	/* probes of second 1 were sent >= 3 s before the echoes resumed at 6 s: unknown */
	ck_assert_uint_eq(sim_second(&m, 1)->lost_unknown, 100);
	ck_assert_uint_eq(sim_second(&m, 1)->lost_up, 0);
	/* second 4 (sent 4.0..4.99 s) settles at 7.0 s at the earliest: echoes came back first */
	ck_assert_uint_eq(sim_second(&m, 4)->lost_up, 100);
	const th_outage *o = sim_outage(&m, 0);
	ck_assert_int_eq(o->direction, TH_DIR_UP);
	ck_assert_uint_eq(o->lost, 500);
	sim_free(&m);
}
END_TEST

START_TEST(reordered_echoes_are_not_loss)
{
	th_stream_conf c;
	th_clock clk = {0, T0 * TH_NS_PER_SEC};
	th_stream *s;
	sim m = {0};

	sim_conf(&c);
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, NULL), TH_OK);
	for (uint64_t k = 1; k <= 3; k++) {
		ck_assert_uint_eq(th_stream_due(s, (int64_t)(k - 1) * 10 * MS), k);
		th_stream_sent(s, k, (int64_t)(k - 1) * 10 * MS);
	}
	/* reflector got 1, 3, 2; echoes arrive 3, 1, 2 */
	th_echo_info e3 = {
	    .seq = 3, .send_ns = 20 * MS, .prev_seq = 1, .run_start = 1, .rx_count = 2};
	th_echo_info e1 = {.seq = 1, .send_ns = 0, .prev_seq = 0, .run_start = 0, .rx_count = 1};
	th_echo_info e2 = {
	    .seq = 2, .send_ns = 10 * MS, .prev_seq = 3, .run_start = 1, .rx_count = 3};
	ck_assert_int_eq(th_stream_echo(s, &e3, 21 * MS), TH_ECHO_OK);
	ck_assert_int_eq(th_stream_echo(s, &e1, 22 * MS), TH_ECHO_OK);
	ck_assert_int_eq(th_stream_echo(s, &e2, 23 * MS), TH_ECHO_OK);
	th_stream_finish(s, 2 * TH_NS_PER_SEC, sim_collect, &m);
	ck_assert_uint_eq(m.recs[0].u.second.received, 3);
	ck_assert_uint_eq(m.recs[0].u.second.lost_up + m.recs[0].u.second.lost_down, 0);
	th_stream_free(s);
	free(m.recs);
	free(m.at);
}
END_TEST

/* The deterministic relay of agent-reorder.sh, simulated: every 13th probe dropped, every 10th
 * held behind the next, every 17th echo dropped, every 9th held behind the next. Every lost
 * probe must get its true direction. */
typedef struct relay_sim {
	sim m;
	uint64_t n_probe, n_echo, held_p, want_up, want_down;
	th_echo_info held_e;
	bool have_held_e, clean;
} relay_sim;

/* Probe q reaches the reflector at now; its echo goes through the echo lane. */
static void relay_reflect(relay_sim *r, uint64_t q, int64_t now)
{
	sim *m = &r->m;
	th_echo_info e = {.seq = q, .send_ns = th_stream_send_time(m->s, q)};

	e.prev_seq = m->last;
	e.run_start = m->last ? m->run_start : 0;
	e.rx_count = ++m->rx;
	if (m->last == 0 || q != m->last + 1)
		m->run_start = q;
	m->last = q;
	r->n_echo++;
	if (r->n_echo % 17 == 0 && !r->clean) {
		r->want_down++;
	} else if (r->n_echo % 9 == 0 && !r->have_held_e && !r->clean) {
		r->held_e = e;
		r->have_held_e = true;
	} else {
		sim_push(m, now + MS, &e);
		if (r->have_held_e) {
			sim_push(m, now + MS, &r->held_e);
			r->have_held_e = false;
		}
	}
}

/* Probe seq goes through the probe lane at now. */
static void relay_probe(relay_sim *r, uint64_t seq, int64_t now)
{
	r->n_probe++;
	if (r->n_probe % 13 == 0 && !r->clean) {
		r->want_up++;
	} else if (r->n_probe % 10 == 0 && r->held_p == 0 && !r->clean) {
		r->held_p = seq;
		return;
	} else {
		relay_reflect(r, seq, now);
	}
	/* as the relay: a held probe follows the next packet */
	if (r->held_p != 0) {
		uint64_t h = r->held_p;
		r->held_p = 0;
		relay_reflect(r, h, now);
	}
}

static void relay_pattern(void)
{
	th_stream_conf c;
	relay_sim r;
	th_stream_counters k;

	memset(&r, 0, sizeof r);
	sim_conf(&c);
	c.interval_ns = 2 * MS;
	sim_init(&r.m, &c);
	r.m.up_from = r.m.down_from = UINT64_MAX;
	for (uint64_t q = 1; q <= 1500; q++) {
		int64_t now = (int64_t)(q - 1) * c.interval_ns;
		sim_deliver(&r.m, now);
		r.m.now = now;
		ck_assert_uint_eq(th_stream_due(r.m.s, now), q);
		th_stream_sent(r.m.s, q, now);
		r.clean =
		    q > 1490; /* the last probes pass untouched: every loss has an echo after */
		relay_probe(&r, q, now);
		th_stream_advance(r.m.s, now, sim_collect, &r.m);
	}
	sim_deliver(&r.m, 10 * TH_NS_PER_SEC);
	th_stream_finish(r.m.s, 10 * TH_NS_PER_SEC, sim_collect, &r.m);
	th_stream_get_counters(r.m.s, &k);
	ck_assert_uint_gt(r.want_up, 100);
	ck_assert_uint_gt(r.want_down, 70);
	ck_assert_uint_eq(k.lost_unknown, 0);
	ck_assert_uint_eq(k.lost_up, r.want_up);
	ck_assert_uint_eq(k.lost_down, r.want_down);
	sim_free(&r.m);
}

START_TEST(relay_pattern_directions_are_exact)
{
	relay_pattern();
}
END_TEST

/* An echo older than the loss timeout is late even while an earlier loss still waits for its
 * direction (the settling cursor has not reached its probe). */
START_TEST(echo_after_timeout_is_late_whatever_the_cursor)
{
	th_stream_conf c;
	th_clock clk = {0, T0 * TH_NS_PER_SEC};
	th_stream *s;
	th_stream_counters k;

	sim_conf(&c);
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, NULL), TH_OK);
	for (uint64_t q = 1; q <= 3; q++) {
		ck_assert_uint_eq(th_stream_due(s, (int64_t)(q - 1) * 10 * MS), q);
		th_stream_sent(s, q, (int64_t)(q - 1) * 10 * MS);
	}
	th_stream_advance(s, 1005 * MS, NULL, NULL); /* slot 1 lost, direction unknown yet */
	th_echo_info e3 = {.seq = 3,
	                   .send_ns = 20 * MS,
	                   .prev_seq = 0,
	                   .run_start = 0,
	                   .rx_count = 1,
	                   .hold_ns = 1500 * MS};
	ck_assert_int_eq(th_stream_echo(s, &e3, 1500 * MS), TH_ECHO_LATE);
	th_echo_info e2 = {
	    .seq = 2, .send_ns = 10 * MS, .prev_seq = 3, .run_start = 3, .rx_count = 2};
	ck_assert_int_eq(th_stream_echo(s, &e2, 1009 * MS), TH_ECHO_OK);
	th_stream_get_counters(s, &k);
	ck_assert_uint_eq(k.late, 1);
	ck_assert_uint_eq(k.received, 1);
	th_stream_free(s);
}
END_TEST

/* A run of n slots with the wall clock stepped by step_ns when slot step_at is due. */
static void sim_run_step(sim *m, uint64_t n, uint64_t step_at, int64_t step_ns)
{
	for (uint64_t k = 1; k <= n; k++) {
		int64_t now = (int64_t)(k - 1) * m->interval;
		sim_deliver(m, now);
		m->now = now;
		if (k == step_at) {
			th_clock c = {.mono0_ns = now,
			              .wall0_ns = T0 * TH_NS_PER_SEC + now + step_ns};
			th_stream_set_clock(m->s, &c, now);
		}
		uint64_t seq = th_stream_due(m->s, now);
		ck_assert_uint_eq(seq, k);
		th_stream_sent(m->s, seq, now);
		if (!(seq >= m->up_from && seq <= m->up_to))
			sim_reflect(m, seq, now, now + m->rtt / 2);
		th_stream_advance(m->s, now, sim_collect, m);
	}
	int64_t end = (int64_t)n * m->interval + 2 * TH_NS_PER_SEC;
	sim_deliver(m, end);
	m->now = end;
	th_stream_advance(m->s, end, sim_collect, m);
}

static void check_full(const sim *m, int64_t t, uint32_t sent)
{
	const th_second *s = sim_second(m, t);

	ck_assert_uint_eq(s->sent, sent);
	ck_assert_uint_eq(s->received, sent);
	ck_assert_uint_eq(s->lost_up + s->lost_down + s->lost_unknown, 0);
	ck_assert_double_eq_tol(s->rtt_max_ms, 1.0, 1e-9);
}

/* +5 s at 2.5 s: the slots from the step on are numbered in the new epoch seconds (7.5 s on),
 * nothing is lost, RTTs are untouched. */
START_TEST(clock_step_forward_renumbers_the_seconds_after_it)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = m.down_from = UINT64_MAX;
	sim_run_step(&m, 500, 251, 5 * TH_NS_PER_SEC);
	ck_assert_uint_eq(sim_count(&m, TH_REC_SECOND), 6);
	check_full(&m, 0, 100);
	check_full(&m, 1, 100);
	check_full(&m, 2, 50);
	check_full(&m, 7, 50);
	check_full(&m, 8, 100);
	check_full(&m, 9, 100);
	sim_free(&m);
}
END_TEST

/* -5 s at 2.5 s: the epoch seconds repeat, in order after the ones before the step. */
START_TEST(clock_step_backward_repeats_seconds_in_order)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = m.down_from = UINT64_MAX;
	sim_run_step(&m, 500, 251, -5 * TH_NS_PER_SEC);
	ck_assert_uint_eq(sim_count(&m, TH_REC_SECOND), 6);
	int64_t want[] = {0, 1, 2, -3, -2, -1};
	uint32_t sent[] = {100, 100, 50, 50, 100, 100};
	for (size_t i = 0; i < 6; i++) {
		ck_assert_int_eq(m.recs[i].kind, TH_REC_SECOND);
		ck_assert_int_eq(m.recs[i].u.second.t, T0 + want[i]);
		check_full(&m, want[i], sent[i]);
	}
	sim_free(&m);
}
END_TEST

/* An outage across a +5 s step: start on the old anchor, end on the new one, duration on the
 * monotonic clock. */
START_TEST(outage_across_clock_step_keeps_its_duration)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	m.down_from = UINT64_MAX;
	m.up_from = 241; /* sent at 2.40 s .. 2.60 s */
	m.up_to = 261;
	sim_run_step(&m, 500, 251, 5 * TH_NS_PER_SEC);
	ck_assert_uint_eq(sim_count(&m, TH_REC_OUTAGE), 1);
	const th_outage *o = sim_outage(&m, 0);
	ck_assert_double_eq_tol(o->duration_ms, 210.0, 1e-6);
	ck_assert_double_eq_tol(o->start, (double)T0 + 2.40, 1e-6);
	ck_assert_double_eq_tol(o->end, (double)T0 + 2.61 + 5, 1e-6);
	ck_assert_uint_eq(o->lost, 21);
	sim_free(&m);
}
END_TEST

/* The sender (prober) does not run from 1.5 s to 4.5 s: its missed slots are skipped or sent
 * late (slips), nothing is lost, and the seconds carry the stall as prober_stall_ms. */
START_TEST(prober_stall_is_marked_not_lost)
{
	th_stream_conf c;
	sim m;
	int64_t from = 1500 * MS, to = 4500 * MS;

	sim_conf(&c);
	sim_init(&m, &c);
	m.up_from = m.down_from = UINT64_MAX;
	for (int64_t now = 0; now < 7 * TH_NS_PER_SEC; now += m.interval) {
		if (now >= from && now < to)
			continue;
		if (now == to) {
			sim_deliver(&m, to);
			th_stream_prober_stall(m.s, from, to);
		}
		sim_deliver(&m, now);
		m.now = now;
		for (uint64_t seq; (seq = th_stream_due(m.s, now)) != 0;) {
			th_stream_sent(m.s, seq, now);
			sim_reflect(&m, seq, now, now + m.rtt / 2);
		}
		th_stream_advance(m.s, now, sim_collect, &m);
	}
	sim_deliver(&m, 9 * TH_NS_PER_SEC);
	m.now = 9 * TH_NS_PER_SEC;
	th_stream_advance(m.s, m.now, sim_collect, &m);
	th_stream_counters cnt;
	th_stream_get_counters(m.s, &cnt);
	ck_assert_uint_eq(cnt.lost_up + cnt.lost_down + cnt.lost_unknown, 0);
	ck_assert_uint_eq(cnt.outages, 0);
	/* 4.40 .. 4.49 sent late (11 slips with 4.40 itself just within 10 intervals), the rest
	 * of 1.50 .. 4.39 skipped */
	ck_assert_uint_eq(cnt.skipped, 290);
	uint32_t want[] = {0, 500, 1000, 1000, 500, 0, 0};
	for (int t = 0; t < 7; t++)
		ck_assert_uint_eq(sim_second(&m, t)->prober_stall_ms, want[t]);
	ck_assert_uint_eq(sim_second(&m, 2)->sent, 0);
	ck_assert_uint_eq(sim_second(&m, 4)->sent, 60);
	sim_free(&m);
}
END_TEST

/* The sender was held 5 s between picking a slot and sending it (more than the 4.29 s that fit
 * in 32 bits of nanoseconds): the send time is kept exactly, so its echo is answered in time,
 * not dropped as invalid and the probe lost. */
START_TEST(send_late_by_more_than_4s_keeps_its_exact_send_time)
{
	th_stream_conf c;
	sim m;

	sim_conf(&c);
	sim_init(&m, &c);
	uint64_t seq = th_stream_due(m.s, 0);
	ck_assert_uint_eq(seq, 1);
	int64_t sent = 5 * TH_NS_PER_SEC;
	th_stream_sent(m.s, seq, sent);
	ck_assert_int_eq(th_stream_send_time(m.s, 1), sent);
	th_echo_info e = {.seq = 1, .send_ns = sent, .rx_count = 1};
	ck_assert_int_eq(th_stream_echo(m.s, &e, sent + MS), TH_ECHO_OK);
	th_stream_counters cnt;
	th_stream_get_counters(m.s, &cnt);
	ck_assert_uint_eq(cnt.received, 1);
	ck_assert_uint_eq(cnt.invalid, 0);
	ck_assert_int_eq(cnt.max_slip_ns, sent);
	sim_free(&m);
}
END_TEST

/* The prober sent late at both edges of an outage (a starved prober, as a host's CPU goes to
 * a migration's final copy): the true start lies between the last answered probe's send and the
 * first lost one's, the true end between the last lost one's and the answering one's; the bound
 * says so (28 ms here), and is one interval for an outage whose edges were sent on time. */
START_TEST(outage_bound_covers_a_late_send_at_either_edge)
{
	th_stream_conf c;
	sim m;
	uint64_t last = 0, run_start = 0, rx = 0;

	sim_conf(&c);
	sim_init(&m, &c);
	for (uint64_t k = 1; k <= 60; k++) {
		int64_t at = (int64_t)(k - 1) * 10 * MS;
		if (k == 11 || k == 12)
			at = 112400 * 1000; /* slot 11 (at 100 ms) sent 12.4 ms late, 12 with it */
		else if (k == 31 || k == 32)
			at = 318 * MS; /* slot 31 (at 300 ms) sent 18 ms late */
		ck_assert_uint_eq(th_stream_due(m.s, at), k);
		th_stream_sent(m.s, k, at);
		if ((k >= 11 && k <= 30) || (k >= 41 && k <= 50)) { /* lost on the way up */
			th_stream_advance(m.s, at, sim_collect, &m);
			continue;
		}
		th_echo_info e = {.seq = k,
		                  .send_ns = at,
		                  .prev_seq = last,
		                  .run_start = last ? run_start : 0,
		                  .rx_count = ++rx};
		if (last == 0 || k != last + 1)
			run_start = k;
		last = k;
		ck_assert_int_eq(th_stream_echo(m.s, &e, at + MS), TH_ECHO_OK);
		th_stream_advance(m.s, at + MS, sim_collect, &m);
	}
	th_stream_finish(m.s, 3 * TH_NS_PER_SEC, sim_collect, &m);
	ck_assert_uint_eq(sim_count(&m, TH_REC_OUTAGE), 2);
	const th_outage *o = sim_outage(&m, 0);
	ck_assert_int_eq(o->direction, TH_DIR_UP);
	ck_assert_uint_eq(o->lost, 20);
	ck_assert_double_eq_tol(o->start, (double)T0 + 0.1124, 1e-6);
	ck_assert_double_eq_tol(o->duration_ms, 318 - 112.4, 1e-6);
	ck_assert_double_eq_tol(o->bound_ms, 318 - 290, 1e-6); /* 28: end; the start's is 22.4 */
	o = sim_outage(&m, 1);
	ck_assert_uint_eq(o->lost, 10);
	ck_assert_double_eq_tol(o->start, (double)T0 + 0.4, 1e-6);
	ck_assert_double_eq_tol(o->bound_ms, 10, 1e-9);
	sim_free(&m);
}
END_TEST

START_TEST(bad_configuration_is_refused_with_its_name)
{
	th_stream_conf c;
	th_clock clk = {0, 0};
	th_stream *s;
	char err[TH_ERRLEN];

	sim_conf(&c);
	c.interval_ns = 50 * TH_NS_PER_US;
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, err), TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "interval"));
	sim_conf(&c);
	c.loss_timeout_ns = 0;
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, err), TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "loss timeout"));
	sim_conf(&c);
	c.min_lost = 0;
	ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, err), TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "min-lost"));
}
END_TEST

/* The stream enforces the limits table (th-limits.h) at both ends of every range, naming the
 * setting and its value; every front-end checks the same figures before. */
enum { LIM_INTERVAL, LIM_LOSS, LIM_STALL, LIM_HOLD, LIM_MIN_LOST };
static const struct {
	int field;
	int64_t v;
	const char *msg; /* NULL: accepted */
} limits[] = {
    {LIM_INTERVAL, TH_INTERVAL_MIN_NS - 1, "interval 0.099999 ms out of range (0.1 .. 60000 ms)"},
    {LIM_INTERVAL, TH_INTERVAL_MIN_NS, NULL},
    {LIM_INTERVAL, TH_INTERVAL_MAX_NS, NULL},
    {LIM_INTERVAL, TH_INTERVAL_MAX_NS + TH_NS_PER_MS,
     "interval 60001 ms out of range (0.1 .. 60000 ms)"},
    {LIM_LOSS, TH_LOSS_TIMEOUT_MIN_NS - TH_NS_PER_US,
     "loss timeout 0.999 ms out of range (1 .. 3600000 ms)"},
    {LIM_LOSS, TH_LOSS_TIMEOUT_MIN_NS, NULL},
    {LIM_LOSS, TH_LOSS_TIMEOUT_MAX_NS, NULL},
    {LIM_LOSS, TH_LOSS_TIMEOUT_MAX_NS + TH_NS_PER_MS,
     "loss timeout 3600001 ms out of range (1 .. 3600000 ms)"},
    {LIM_STALL, -1, NULL}, /* the default: max(interval, 50 ms) */
    {LIM_STALL, 0, NULL},
    {LIM_STALL, TH_STALL_MAX_NS, NULL},
    {LIM_STALL, TH_STALL_MAX_NS + TH_NS_PER_MS, "stall 60001 ms out of range (0 .. 60000 ms)"},
    {LIM_HOLD, -1, "hold limit -0.000000001 s out of range (0 .. 86400 s)"},
    {LIM_HOLD, 0, NULL},
    {LIM_HOLD, TH_HOLD_MAX_MAX_NS, NULL},
    {LIM_HOLD, TH_HOLD_MAX_MAX_NS + TH_NS_PER_SEC,
     "hold limit 86401 s out of range (0 .. 86400 s)"},
    {LIM_MIN_LOST, 0, "min-lost 0 out of range (1 .. 1000000)"},
    {LIM_MIN_LOST, TH_MIN_LOST_MIN, NULL},
    {LIM_MIN_LOST, TH_MIN_LOST_MAX, NULL},
    {LIM_MIN_LOST, TH_MIN_LOST_MAX + 1, "min-lost 1000001 out of range (1 .. 1000000)"},
};

START_TEST(stream_enforces_the_limits_table)
{
	th_stream_conf c;
	th_clock clk = {0, 0};
	th_stream *s = NULL;
	char err[TH_ERRLEN] = "";

	sim_conf(&c);
	switch (limits[_i].field) {
	case LIM_INTERVAL:
		c.interval_ns = limits[_i].v;
		break;
	case LIM_LOSS:
		c.loss_timeout_ns = limits[_i].v;
		break;
	case LIM_STALL:
		c.stall_ns = limits[_i].v;
		break;
	case LIM_HOLD:
		c.hold_max_ns = limits[_i].v;
		break;
	default:
		c.min_lost = (uint32_t)limits[_i].v;
	}
	if (limits[_i].msg == NULL) {
		ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, err), TH_OK);
		th_stream_free(s);
	} else {
		ck_assert_int_eq(th_stream_new(&s, &c, &clk, 0, err), TH_ERR_INVALID);
		ck_assert_str_eq(err, limits[_i].msg);
	}
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("probe-stream");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, clean_run_gives_full_seconds_and_exact_rtt);
	tcase_add_test(tc, up_outage_is_attributed_up);
	tcase_add_test(tc, down_outage_is_attributed_down);
	tcase_add_test(tc, down_then_up_run_is_both_with_exact_split);
	tcase_add_test(tc, per_direction_windows_of_up_then_down_losses);
	tcase_add_test(tc, loss_lands_in_the_scheduled_seconds);
	tcase_add_test(tc, long_outage_direction_exact_for_every_probe);
	tcase_add_test(tc, long_down_then_up_outage_is_split_exactly);
	tcase_add_test(tc, long_up_outage_at_tenth_of_ms);
	tcase_add_test(tc, short_run_counts_loss_but_no_outage);
	tcase_add_test(tc, stalled_reflector_is_an_up_outage_of_the_stop_length);
	tcase_add_test(tc, duplicate_and_invalid_echoes_are_counted_not_used);
	tcase_add_test(tc, jitter_follows_rfc3550);
	tcase_add_test(tc, sender_falling_behind_skips_and_counts_slips);
	tcase_add_test(tc, outage_bound_covers_a_late_send_at_either_edge);
	tcase_add_test(tc, no_slot_at_or_after_the_end_is_due);
	tcase_add_test(tc, finish_reports_open_outage_as_unknown);
	tcase_add_test(tc, hold_limit_settles_as_unknown);
	tcase_add_test(tc, reordered_echoes_are_not_loss);
	tcase_add_test(tc, echo_after_timeout_is_late_whatever_the_cursor);
	tcase_add_test(tc, relay_pattern_directions_are_exact);
	tcase_add_test(tc, bad_configuration_is_refused_with_its_name);
	tcase_add_loop_test(tc, stream_enforces_the_limits_table, 0,
	                    (int)(sizeof limits / sizeof limits[0]));
	tcase_add_test(tc, clock_step_forward_renumbers_the_seconds_after_it);
	tcase_add_test(tc, clock_step_backward_repeats_seconds_in_order);
	tcase_add_test(tc, outage_across_clock_step_keeps_its_duration);
	tcase_add_test(tc, prober_stall_is_marked_not_lost);
	tcase_add_test(tc, send_late_by_more_than_4s_keeps_its_exact_send_time);
	suite_add_tcase(s, tc);
	return s;
}
