/* probe-stream.c — loss, direction, outage, RTT and jitter maths of one probe stream
 * (semantics in probe-stream.h). No sockets, no clock reads: every time is an argument. */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe-stream.h"

/* Slot states (low bits) and what we learnt about a slot (flags). */
enum {
	SL_UNSENT = 0,
	SL_PENDING = 1, /* sent, waiting for its echo */
	SL_ECHOED = 2,  /* answered within the loss timeout */
	SL_LOST = 3,    /* loss timeout passed without an echo */
	SL_SKIPPED = 4, /* never sent: the sender was too far behind */
	SL_STATE = 0x07,
	SL_REACHED = 0x08, /* the reflector received it (from an echo's run information) */
	SL_UP = 0x10,      /* the reflector did not receive it (counts matched) */
	SL_AMBIG = 0x20,   /* counts did not match: direction unknown */
	SL_STALL = 0x40,   /* the reflector held it longer than stall_ns */
	SL_LATE = 0x80,    /* an echo came after the loss timeout */
};

/* One scheduled second being accumulated. */
typedef struct sec_acc {
	int64_t t;
	uint64_t last_seq; /* highest slot scheduled in this second so far */
	uint32_t gen;      /* clock anchor generation the second was numbered with */
	th_second v;
	double rtt_sum;
	int64_t stall_ns; /* time of this second during which the prober did not run */
} sec_acc;

struct th_stream {
	th_stream_conf conf;
	th_clock clock;        /* anchor for slots from clock_seq and times from clock_from_ns */
	th_clock old_clock;    /* the anchor before the last re-anchoring */
	int64_t clock_from_ns; /* monotonic time from which clock applies */
	uint64_t clock_seq;    /* first slot numbered with clock */
	uint32_t gen;          /* re-anchorings so far: orders seconds across a backward step */
	int64_t start_ns;      /* schedule of slot 1 */
	int64_t start_wall_ns; /* the same on the epoch clock, under clock */
	int64_t old_start_wall_ns;
	int64_t skip_after_ns; /* slots later than this behind schedule are skipped */
	int64_t end_ns;        /* no slot scheduled at or after this is due (INT64_MAX: none) */
	uint64_t keep;         /* finished slots kept for late echoes */

	/* slots [base, next_seq) in a ring of cap (power of two) */
	uint8_t *st;
	int64_t *slip;  /* send time - schedule, ns (a stalled sender can be seconds late) */
	uint32_t *hold; /* how long the reflector held an answered probe, us */
	uint32_t *rx;   /* the reflector's receive count in the probe's echo (low 32 bits) */
	uint64_t cap, base, next_seq;
	uint64_t cur;    /* first slot not yet settled */
	uint64_t anchor; /* last answered slot before cur (0 = none): the start of the gap at cur */

	/* direction bookkeeping */
	uint64_t hi_seq;                /* highest slot with an echo */
	uint64_t reach_hi;              /* slots up to here already marked from run information */
	uint64_t echo_gen;              /* echoes seen: invalidates the cached gap below */
	uint64_t gap_k, gap_m, gap_gen; /* last gap found: lost slot k, next echoed slot m */

	/* echo arrival history (RFC 3550 jitter, gaps) */
	int64_t last_recv_ns, last_send_ns;
	bool have_arrival;
	double jitter_ns;

	/* outage run in progress */
	uint64_t run_len, run_up, run_down; /* probes in the run, and lost each known way */
	int64_t run_first_ns, run_last_ns;
	int64_t ok_send_ns;  /* send time of the last probe answered in time (INT64_MIN: none) */
	int64_t run_prev_ns; /* ok_send_ns when the run began */
	int64_t up_first_ns, up_last_ns, down_first_ns, down_last_ns; /* per-direction windows */

	/* open seconds, oldest first, in a ring */
	sec_acc *secs;
	size_t sec_cap, sec_head, sec_n;

	bool finished;
	th_stream_counters cnt;
};

void th_stream_conf_defaults(th_stream_conf *c)
{
	memset(c, 0, sizeof *c);
	c->interval_ns = TH_INTERVAL_DEFAULT_NS;
	c->loss_timeout_ns = TH_LOSS_TIMEOUT_DEFAULT_NS;
	c->stall_ns = -1;
	c->min_lost = TH_MIN_LOST_DEFAULT;
	c->hold_max_ns = TH_HOLD_MAX_DEFAULT_NS;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t sched_ns(const th_stream *s, uint64_t seq)
{
	return s->start_ns + (int64_t)(seq - 1) * s->conf.interval_ns;
}

/* Epoch nanoseconds of slot seq's schedule, under the anchor that numbers it. */
static int64_t sched_wall_ns(const th_stream *s, uint64_t seq)
{
	return (seq >= s->clock_seq ? s->start_wall_ns : s->old_start_wall_ns) +
	       (int64_t)(seq - 1) * s->conf.interval_ns;
}

static int64_t sec_of(const th_stream *s, uint64_t seq)
{
	return floor_div(sched_wall_ns(s, seq), TH_NS_PER_SEC);
}

static uint32_t gen_of(const th_stream *s, uint64_t seq)
{
	return seq >= s->clock_seq ? s->gen : s->gen - 1;
}

/* Seconds are ordered by anchor generation, then epoch second: after a backward step the
 * epoch seconds repeat, in a later generation. */
static int sec_cmp(uint32_t ga, int64_t ta, uint32_t gb, int64_t tb)
{
	if (ga != gb)
		return ga < gb ? -1 : 1;
	return ta < tb ? -1 : ta > tb;
}

/* Epoch seconds of monotonic time mono_ns under the anchor valid then. */
static double epoch_of(const th_stream *s, int64_t mono_ns)
{
	return th_clock_to_epoch(mono_ns >= s->clock_from_ns ? &s->clock : &s->old_clock, mono_ns);
}

static uint8_t *slot(const th_stream *s, uint64_t seq)
{
	return &s->st[seq & (s->cap - 1)];
}

static int64_t send_ns_of(const th_stream *s, uint64_t seq)
{
	return sched_ns(s, seq) + s->slip[seq & (s->cap - 1)];
}

/* ns in units of unit (TH_NS_PER_MS or TH_NS_PER_SEC), exact: "0.099999", "60001", "-1e-9" is
 * written "-0.000000001". For the messages that name a refused setting. */
static const char *ns_text(char buf[40], int64_t ns, int64_t unit)
{
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	uint64_t whole = a / (uint64_t)unit, frac = a % (uint64_t)unit;
	int len = snprintf(buf, 40, "%s%llu", ns < 0 ? "-" : "", (unsigned long long)whole);

	if (frac != 0) {
		len += snprintf(buf + len, 40 - (size_t)len, ".%0*llu",
		                unit == TH_NS_PER_SEC ? 9 : 6, (unsigned long long)frac);
		while (buf[len - 1] == '0')
			buf[--len] = '\0';
	}
	return buf;
}

th_err th_stream_new(th_stream **out, const th_stream_conf *conf, const th_clock *clock,
                     int64_t start_ns, char *errbuf)
{
	th_stream *s;
	char num[40];

	*out = NULL;
	if (conf->interval_ns < TH_INTERVAL_MIN_NS || conf->interval_ns > TH_INTERVAL_MAX_NS)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "interval %s ms out of range (%g .. %g ms)",
		                 ns_text(num, conf->interval_ns, TH_NS_PER_MS), TH_INTERVAL_MIN_MS,
		                 TH_INTERVAL_MAX_MS);
	if (conf->loss_timeout_ns < TH_LOSS_TIMEOUT_MIN_NS ||
	    conf->loss_timeout_ns > TH_LOSS_TIMEOUT_MAX_NS)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "loss timeout %s ms out of range (%lld .. %lld ms)",
		                 ns_text(num, conf->loss_timeout_ns, TH_NS_PER_MS),
		                 (long long)(TH_LOSS_TIMEOUT_MIN_NS / TH_NS_PER_MS),
		                 (long long)(TH_LOSS_TIMEOUT_MAX_NS / TH_NS_PER_MS));
	if (conf->stall_ns > TH_STALL_MAX_NS)
		return th_seterr(errbuf, TH_ERR_INVALID, "stall %s ms out of range (0 .. %lld ms)",
		                 ns_text(num, conf->stall_ns, TH_NS_PER_MS),
		                 (long long)(TH_STALL_MAX_NS / TH_NS_PER_MS));
	if (conf->min_lost < TH_MIN_LOST_MIN || conf->min_lost > TH_MIN_LOST_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID, "min-lost %lu out of range (%d .. %d)",
		                 (unsigned long)conf->min_lost, TH_MIN_LOST_MIN, TH_MIN_LOST_MAX);
	if (conf->hold_max_ns < 0 || conf->hold_max_ns > TH_HOLD_MAX_MAX_NS)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "hold limit %s s out of range (0 .. %lld s)",
		                 ns_text(num, conf->hold_max_ns, TH_NS_PER_SEC),
		                 (long long)(TH_HOLD_MAX_MAX_NS / TH_NS_PER_SEC));
	if (conf->vm[0] == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "stream has no VM name");
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory creating stream %s",
		                 conf->stream);
	s->conf = *conf;
	if (s->conf.stall_ns < 0)
		s->conf.stall_ns =
		    conf->interval_ns > TH_STALL_FLOOR_NS ? conf->interval_ns : TH_STALL_FLOOR_NS;
	s->clock = *clock;
	s->start_ns = start_ns;
	s->old_clock = *clock;
	s->clock_from_ns = INT64_MIN;
	s->start_wall_ns = s->old_start_wall_ns = th_clock_to_wall_ns(clock, start_ns);
	s->end_ns = INT64_MAX;
	s->ok_send_ns = INT64_MIN;
	s->skip_after_ns = 10 * conf->interval_ns;
	if (s->skip_after_ns < 10 * TH_NS_PER_MS)
		s->skip_after_ns = 10 * TH_NS_PER_MS;
	if (s->skip_after_ns > 4 * TH_NS_PER_SEC)
		s->skip_after_ns = 4 * TH_NS_PER_SEC;
	s->keep = (uint64_t)(2 * conf->loss_timeout_ns / conf->interval_ns) + 1024;
	s->cap = 1024;
	s->st = calloc(s->cap, 1);
	s->slip = calloc(s->cap, sizeof *s->slip);
	s->hold = calloc(s->cap, sizeof *s->hold);
	s->rx = calloc(s->cap, sizeof *s->rx);
	s->sec_cap = 16;
	s->secs = calloc(s->sec_cap, sizeof *s->secs);
	if (s->st == NULL || s->slip == NULL || s->hold == NULL || s->rx == NULL ||
	    s->secs == NULL) {
		th_stream_free(s);
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory creating stream %s",
		                 conf->stream);
	}
	s->base = s->next_seq = s->cur = 1;
	*out = s;
	return TH_OK;
}

void th_stream_free(th_stream *s)
{
	if (s == NULL)
		return;
	free(s->st);
	free(s->slip);
	free(s->hold);
	free(s->rx);
	free(s->secs);
	free(s);
}

const th_stream_conf *th_stream_get_conf(const th_stream *s)
{
	return &s->conf;
}

void th_stream_get_counters(const th_stream *s, th_stream_counters *out)
{
	*out = s->cnt;
}

/* ------------------------------------------------------------------ slot ring */

/* Make room for one more slot; drops finished slots older than the keep window. */
static int ring_reserve(th_stream *s)
{
	uint64_t lo = s->cur > s->keep ? s->cur - s->keep : 1;

	if (s->anchor != 0 && s->anchor < lo)
		lo = s->anchor; /* the gap being settled needs its first answered slot */
	if (lo > s->base)
		s->base = lo;
	if (s->next_seq - s->base < s->cap)
		return 0;
	uint64_t ncap = s->cap * 2;
	uint8_t *nst = malloc(ncap);
	int64_t *nslip = malloc(ncap * sizeof *nslip);
	uint32_t *nhold = malloc(ncap * sizeof *nhold);
	uint32_t *nrx = malloc(ncap * sizeof *nrx);

	if (nst == NULL || nslip == NULL || nhold == NULL || nrx == NULL) {
		free(nst);
		free(nslip);
		free(nhold);
		free(nrx);
		return -1;
	}
	for (uint64_t q = s->base; q < s->next_seq; q++) {
		nst[q & (ncap - 1)] = s->st[q & (s->cap - 1)];
		nslip[q & (ncap - 1)] = s->slip[q & (s->cap - 1)];
		nhold[q & (ncap - 1)] = s->hold[q & (s->cap - 1)];
		nrx[q & (ncap - 1)] = s->rx[q & (s->cap - 1)];
	}
	free(s->st);
	free(s->slip);
	free(s->hold);
	free(s->rx);
	s->rx = nrx;
	s->st = nst;
	s->slip = nslip;
	s->hold = nhold;
	s->cap = ncap;
	return 0;
}

/* ------------------------------------------------------------------ seconds */

static sec_acc *sec_at(th_stream *s, size_t i)
{
	return &s->secs[(s->sec_head + i) % s->sec_cap];
}

static void sec_init(sec_acc *a, uint32_t gen, int64_t t, double interval_ms)
{
	memset(a, 0, sizeof *a);
	a->gen = gen;
	a->t = t;
	a->v.t = t;
	a->v.interval_ms = interval_ms;
	a->v.rtt_min_ms = a->v.rtt_max_ms = a->v.rtt_avg_ms = NAN;
	a->v.jitter_ms = a->v.max_gap_ms = NAN;
}

/* The open second for slot seq, created when the schedule reaches it; NULL when that second was
 * already emitted (or cannot be created). */
static sec_acc *sec_for(th_stream *s, uint64_t seq, bool create)
{
	int64_t t = sec_of(s, seq);
	uint32_t g = gen_of(s, seq);

	for (size_t i = s->sec_n; i-- > 0;) {
		sec_acc *a = sec_at(s, i);
		int c = sec_cmp(a->gen, a->t, g, t);
		if (c == 0)
			return a;
		if (c < 0)
			break;
	}
	if (!create || (s->sec_n > 0 && sec_cmp(sec_at(s, s->sec_n - 1)->gen,
	                                        sec_at(s, s->sec_n - 1)->t, g, t) > 0))
		return NULL;
	if (s->sec_n == s->sec_cap) {
		size_t ncap = s->sec_cap * 2;
		sec_acc *n = malloc(ncap * sizeof *n);
		if (n == NULL)
			return NULL;
		for (size_t i = 0; i < s->sec_n; i++)
			n[i] = *sec_at(s, i);
		free(s->secs);
		s->secs = n;
		s->sec_cap = ncap;
		s->sec_head = 0;
	}
	sec_acc *a = sec_at(s, s->sec_n++);
	sec_init(a, g, t, (double)s->conf.interval_ns / 1e6);
	return a;
}

/* Second for counting an event of slot seq: its own when open, else the oldest open one. */
static sec_acc *sec_for_event(th_stream *s, uint64_t seq)
{
	sec_acc *a = sec_for(s, seq, false);

	if (a == NULL && s->sec_n > 0)
		a = sec_at(s, 0);
	if (a == NULL && !s->finished) /* between two seconds: the one of the next slot */
		a = sec_for(s, s->next_seq, true);
	return a;
}

static void fill_record(const th_stream *s, th_record *r, th_record_kind kind)
{
	memset(r, 0, sizeof *r);
	r->kind = kind;
	snprintf(r->vm, sizeof r->vm, "%s", s->conf.vm);
	snprintf(r->stream, sizeof r->stream, "%s", s->conf.stream);
}

static void sec_emit_ready(th_stream *s, bool force, th_record_cb cb, void *arg)
{
	int64_t next_t = sec_of(s, s->next_seq);
	uint32_t next_g = gen_of(s, s->next_seq);

	while (s->sec_n > 0) {
		sec_acc *a = sec_at(s, 0);
		if (!force && (s->cur <= a->last_seq || sec_cmp(next_g, next_t, a->gen, a->t) <= 0))
			break;
		th_record r;
		fill_record(s, &r, TH_REC_SECOND);
		r.u.second = a->v;
		if (a->v.received > 0)
			r.u.second.rtt_avg_ms = a->rtt_sum / a->v.received;
		r.u.second.prober_stall_ms =
		    (uint32_t)((a->stall_ns + TH_NS_PER_MS / 2) / TH_NS_PER_MS);
		if (cb != NULL)
			cb(&r, arg);
		s->sec_head = (s->sec_head + 1) % s->sec_cap;
		s->sec_n--;
	}
}

/* ------------------------------------------------------------------ sending */

int64_t th_stream_next_send_ns(const th_stream *s)
{
	return sched_ns(s, s->next_seq);
}

void th_stream_set_end(th_stream *s, int64_t end_ns)
{
	s->end_ns = end_ns;
}

uint64_t th_stream_due(th_stream *s, int64_t now_ns)
{
	while (!s->finished) {
		uint64_t seq = s->next_seq;
		int64_t sch = sched_ns(s, seq);
		if (sch > now_ns || sch >= s->end_ns)
			return 0;
		if (ring_reserve(s) != 0)
			return 0;
		sec_acc *a = sec_for(s, seq, true);
		if (a == NULL)
			return 0;
		if (a->last_seq < seq)
			a->last_seq = seq;
		if (now_ns - sch <= s->skip_after_ns)
			return seq;
		/* too far behind: skip this slot */
		*slot(s, seq) = SL_SKIPPED;
		s->slip[seq & (s->cap - 1)] = 0;
		s->hold[seq & (s->cap - 1)] = 0;
		s->rx[seq & (s->cap - 1)] = 0;
		s->next_seq++;
		a->v.slips++;
		s->cnt.slips++;
		s->cnt.skipped++;
	}
	return 0;
}

void th_stream_sent(th_stream *s, uint64_t seq, int64_t sent_ns)
{
	if (seq != s->next_seq || s->finished)
		return;
	int64_t slip = sent_ns - sched_ns(s, seq);
	if (slip < 0)
		slip = 0;
	*slot(s, seq) = SL_PENDING;
	s->slip[seq & (s->cap - 1)] = slip;
	s->hold[seq & (s->cap - 1)] = 0;
	s->rx[seq & (s->cap - 1)] = 0;
	s->next_seq++;
	s->cnt.sent++;
	sec_acc *a = sec_for(s, seq, false);
	if (a != NULL)
		a->v.sent++;
	if (slip > s->conf.interval_ns) {
		s->cnt.slips++;
		if (a != NULL)
			a->v.slips++;
	}
	if (slip > s->cnt.max_slip_ns)
		s->cnt.max_slip_ns = slip;
}

int64_t th_stream_send_time(const th_stream *s, uint64_t seq)
{
	if (seq < s->base || seq >= s->next_seq)
		return -1;
	uint8_t st = *slot(s, seq) & SL_STATE;
	if (st == SL_UNSENT || st == SL_SKIPPED)
		return -1;
	return send_ns_of(s, seq);
}

/* ------------------------------------------------------------------ echoes */

/* Slots from..to reached the reflector, as the arrivals just before the one that had receive
 * count rx_after (so slot q was its arrival number rx_after - 1 - (to - q)). */
static void mark_reached(th_stream *s, uint64_t from, uint64_t to, uint64_t rx_after)
{
	if (to >= s->next_seq)
		return;
	if (from < s->base)
		from = s->base;
	for (uint64_t q = from; q <= to && q >= from; q++) {
		uint8_t *p = slot(s, q);
		if ((*p & SL_STATE) == SL_ECHOED || (*p & SL_STATE) == SL_SKIPPED)
			continue;
		*p = (uint8_t)((*p & ~(SL_UP | SL_AMBIG)) | SL_REACHED);
		if (!(*p & SL_LATE))
			s->rx[q & (s->cap - 1)] = (uint32_t)(rx_after - 1 - (to - q));
	}
}

/* What the echo's run information says about the slots before it: the run that ended at
 * prev_seq reached the reflector. */
static void learn_directions(th_stream *s, const th_echo_info *e)
{
	if (e->prev_seq != 0 && e->prev_seq < s->next_seq) {
		uint64_t from = e->run_start;
		if (e->prev_seq <= s->reach_hi) {
			/* an older run (reordering): mark what is cheap to mark */
			if (e->prev_seq - from > 64)
				from = e->prev_seq;
		} else if (from <= s->reach_hi) {
			from = s->reach_hi + 1;
		}
		mark_reached(s, from, e->prev_seq, e->rx_count);
		if (e->prev_seq > s->reach_hi)
			s->reach_hi = e->prev_seq;
	}
	if (e->seq > s->hi_seq)
		s->hi_seq = e->seq;
	s->echo_gen++;
}

/* Settle the direction of the lost slots in the gap around lost slot k, between the nearest
 * answered slots j < k < m: the reflector received rx(m) - rx(j) - 1 probes between receiving j
 * and m. When the probes known to have reached it (from run information, late echoes, and
 * reordered echoes whose count falls in between) account for all of them, every other lost
 * probe of the gap never reached it ("up"); otherwise those stay unknown. Returns false while
 * the gap is not final yet (no echo after it, or a probe in it still within its timeout). */
static bool resolve_gap(th_stream *s, uint64_t k, int64_t now_ns)
{
	uint64_t j, m, known = 0, q;

	if (s->hi_seq <= k)
		return false;
	if (s->gap_k == k && s->gap_gen == s->echo_gen) {
		m = s->gap_m;
	} else {
		for (m = k + 1; (*slot(s, m) & SL_STATE) != SL_ECHOED; m++)
			if (m >= s->hi_seq)
				return false;
		s->gap_k = k;
		s->gap_m = m;
		s->gap_gen = s->echo_gen;
	}
	if (now_ns - send_ns_of(s, m - 1) < s->conf.loss_timeout_ns &&
	    (*slot(s, m - 1) & SL_STATE) == SL_PENDING)
		return false;
	/* slots in (anchor, k) are settled and none was answered: the gap starts at anchor */
	j = s->anchor;
	bool exact = false;
	uint32_t rj = j > 0 ? s->rx[j & (s->cap - 1)] : 0;
	uint32_t rm = s->rx[m & (s->cap - 1)];
	int32_t between = (int32_t)(rm - rj) - 1;
	if (between >= 0 && (j == 0 || j >= s->base)) {
		/* every slot known to have reached the reflector between j and m: by its arrival
		 * number when known (this also finds reordered ones outside the gap), else by being
		 * inside the gap */
		uint64_t lo = j > 256 ? j - 256 : 1;
		if (lo < s->base)
			lo = s->base;
		uint64_t hi = m + 256 < s->next_seq ? m + 256 : s->next_seq;
		for (q = lo; q < hi; q++) {
			uint8_t v = *slot(s, q);
			uint32_t r = s->rx[q & (s->cap - 1)];
			bool got =
			    (v & SL_STATE) == SL_ECHOED || (v & (SL_REACHED | SL_STALL | SL_LATE));
			if (q == j || q == m || !got)
				continue;
			if (r != 0 ? (int32_t)(r - rj) > 0 && (int32_t)(rm - r) > 0
			           : q > j && q < m)
				known++;
		}
		exact = known == (uint64_t)between;
	}
	for (q = j + 1; q < m; q++) {
		uint8_t *p = slot(s, q);
		if ((*p & SL_STATE) == SL_SKIPPED ||
		    (*p & (SL_REACHED | SL_STALL | SL_UP | SL_AMBIG)))
			continue;
		*p |= exact ? SL_UP : SL_AMBIG;
	}
	return true;
}

static void note_arrival(th_stream *s, sec_acc *a, int64_t recv_ns, int64_t send_ns, bool jitter)
{
	if (s->have_arrival) {
		double gap = (double)(recv_ns - s->last_recv_ns) / 1e6;
		if (a != NULL && (isnan(a->v.max_gap_ms) || gap > a->v.max_gap_ms))
			a->v.max_gap_ms = gap;
		if (jitter) {
			double d =
			    (double)((recv_ns - s->last_recv_ns) - (send_ns - s->last_send_ns));
			s->jitter_ns += (fabs(d) - s->jitter_ns) / 16.0;
		}
	}
	s->have_arrival = true;
	s->last_recv_ns = recv_ns;
	s->last_send_ns = send_ns;
}

th_echo_verdict th_stream_echo(th_stream *s, const th_echo_info *e, int64_t recv_ns)
{
	int64_t send = th_stream_send_time(s, e->seq);

	if (send < 0 || send != e->send_ns || e->rx_count == 0 || e->run_start > e->prev_seq ||
	    (e->prev_seq == 0) != (e->run_start == 0)) {
		s->cnt.invalid++;
		return TH_ECHO_INVALID;
	}
	uint8_t *p = slot(s, e->seq);
	uint8_t stv = *p & SL_STATE;
	if (stv == SL_PENDING && recv_ns - send >= s->conf.loss_timeout_ns) {
		/* lost by its own timeout, even if the settling cursor has not reached it yet */
		*p = (uint8_t)((*p & ~SL_STATE) | SL_LOST);
		stv = SL_LOST;
	}
	bool stall = s->conf.stall_ns > 0 && e->hold_ns >= s->conf.stall_ns;

	if (stv == SL_ECHOED || (*p & SL_LATE)) {
		s->cnt.dup++;
		sec_acc *a = sec_for_event(s, e->seq);
		if (a != NULL)
			a->v.dup++;
		return TH_ECHO_DUP;
	}
	learn_directions(s, e);
	s->rx[e->seq & (s->cap - 1)] = (uint32_t)e->rx_count;
	if (stv == SL_LOST || e->seq < s->cur) {
		/* the loss stands; the echo tells which way the delay was */
		*p = (uint8_t)((*p & ~(SL_UP | SL_AMBIG)) | SL_LATE |
		               (stall ? SL_STALL : SL_REACHED));
		s->cnt.late++;
		sec_acc *a = sec_for_event(s, e->seq);
		if (a != NULL)
			a->v.late++;
		note_arrival(s, a, recv_ns, send, false);
		return TH_ECHO_LATE;
	}
	/* pending: answered in time */
	*p = (uint8_t)((*p & ~(SL_STATE | SL_UP | SL_AMBIG)) | SL_ECHOED | (stall ? SL_STALL : 0));
	s->hold[e->seq & (s->cap - 1)] =
	    e->hold_ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(e->hold_ns / 1000);
	s->cnt.received++;
	sec_acc *a = sec_for(s, e->seq, false);
	note_arrival(s, a, recv_ns, send, true);
	if (a != NULL) {
		double rtt = (double)(recv_ns - send) / 1e6;
		a->v.received++;
		a->rtt_sum += rtt;
		if (isnan(a->v.rtt_min_ms) || rtt < a->v.rtt_min_ms)
			a->v.rtt_min_ms = rtt;
		if (isnan(a->v.rtt_max_ms) || rtt > a->v.rtt_max_ms)
			a->v.rtt_max_ms = rtt;
		a->v.jitter_ms = s->jitter_ns / 1e6;
		if (stall)
			a->v.stalled++;
	}
	if (stall)
		s->cnt.stalled++;
	return TH_ECHO_OK;
}

/* ------------------------------------------------------------------ settling */

/* The outage's bound: the true start lies between the send of the last probe answered before
 * the run and the first lost one's, the true end between the last lost probe's send and the
 * answering one's (after_ns; INT64_MIN when the run ended without one). One interval when
 * the prober sent on time, more when it slipped or skipped slots there. */
static int64_t run_bound_ns(const th_stream *s, int64_t after_ns)
{
	int64_t b = s->conf.interval_ns;

	if (s->run_prev_ns != INT64_MIN && s->run_first_ns - s->run_prev_ns > b)
		b = s->run_first_ns - s->run_prev_ns;
	if (after_ns != INT64_MIN && after_ns - s->run_last_ns > b)
		b = after_ns - s->run_last_ns;
	return b;
}

static void run_emit(th_stream *s, int64_t end_ns, int64_t after_ns, th_record_cb cb, void *arg)
{
	if (s->run_len >= s->conf.min_lost) {
		th_record r;
		th_outage *o = &r.u.outage;
		fill_record(s, &r, TH_REC_OUTAGE);
		if ((s->run_up > 0) && (s->run_down > 0))
			o->direction = TH_DIR_BOTH;
		else if (s->run_up > 0)
			o->direction = TH_DIR_UP;
		else if (s->run_down > 0)
			o->direction = TH_DIR_DOWN;
		else
			o->direction = TH_DIR_UNKNOWN;
		o->start = epoch_of(s, s->run_first_ns);
		o->end = epoch_of(s, end_ns);
		o->duration_ms = (double)(end_ns - s->run_first_ns) / 1e6;
		o->bound_ms = (double)run_bound_ns(s, after_ns) / 1e6;
		o->lost = (uint32_t)s->run_len;
		/* per direction: first lost probe's send time to the last one's + one interval,
		 * at most the outage's end (DESIGN §4.4) */
		o->up_start = o->up_end = o->down_start = o->down_end = NAN;
		if (s->run_up > 0) {
			int64_t e = s->up_last_ns + s->conf.interval_ns;
			o->up_start = epoch_of(s, s->up_first_ns);
			o->up_end = epoch_of(s, e < end_ns ? e : end_ns);
		}
		if (s->run_down > 0) {
			int64_t e = s->down_last_ns + s->conf.interval_ns;
			o->down_start = epoch_of(s, s->down_first_ns);
			o->down_end = epoch_of(s, e < end_ns ? e : end_ns);
		}
		s->cnt.outages++;
		if (cb != NULL)
			cb(&r, arg);
	}
	s->run_len = s->run_up = s->run_down = 0;
}

static void run_add(th_stream *s, uint64_t seq, th_direction d)
{
	int64_t t = send_ns_of(s, seq);

	if (s->run_len == 0) {
		s->run_first_ns = t;
		s->run_prev_ns = s->ok_send_ns;
	}
	s->run_last_ns = t;
	s->run_len++;
	if (d == TH_DIR_UP) {
		if (s->run_up++ == 0)
			s->up_first_ns = t;
		s->up_last_ns = t;
	} else if (d == TH_DIR_DOWN) {
		if (s->run_down++ == 0)
			s->down_first_ns = t;
		s->down_last_ns = t;
	}
}

/* Settle slots in order while their fate is known. */
static void settle(th_stream *s, int64_t now_ns, bool force, th_record_cb cb, void *arg)
{
	while (s->cur < s->next_seq) {
		uint64_t q = s->cur;
		uint8_t *p = slot(s, q);
		uint8_t stv = *p & SL_STATE;
		int64_t sent = send_ns_of(s, q);

		if (stv == SL_PENDING) {
			if (!force && now_ns - sent < s->conf.loss_timeout_ns)
				break;
			*p = (uint8_t)((*p & ~SL_STATE) | SL_LOST);
			stv = SL_LOST;
		}
		if (stv == SL_SKIPPED) {
			s->cur++;
			continue;
		}
		if (stv == SL_ECHOED) {
			s->anchor = q;
			if (*p & SL_STALL) {
				run_add(s, q, TH_DIR_UP);
			} else if (s->run_len > 0) {
				/* the outage ended when this probe was answered: its send time plus
				 * the time the reflector held it (a resumed reflector answers the
				 * probes waiting for it at once) */
				run_emit(s, sent + (int64_t)s->hold[q & (s->cap - 1)] * 1000, sent,
				         cb, arg);
			}
			if (!(*p & SL_STALL))
				s->ok_send_ns = sent;
			s->cur++;
			continue;
		}
		/* lost */
		th_direction d;
		if (!(*p & (SL_STALL | SL_REACHED | SL_UP | SL_AMBIG)))
			resolve_gap(s, q, now_ns);
		if (*p & SL_STALL)
			d = TH_DIR_UP;
		else if (*p & SL_REACHED)
			d = TH_DIR_DOWN;
		else if (*p & SL_UP)
			d = TH_DIR_UP;
		else if ((*p & SL_AMBIG) || force ||
		         (s->conf.hold_max_ns > 0 &&
		          now_ns - sent >= s->conf.loss_timeout_ns + s->conf.hold_max_ns))
			d = TH_DIR_UNKNOWN;
		else
			break; /* wait for an echo to tell the direction */
		sec_acc *a = sec_for(s, q, false);
		if (d == TH_DIR_UP) {
			s->cnt.lost_up++;
			if (a != NULL)
				a->v.lost_up++;
		} else if (d == TH_DIR_DOWN) {
			s->cnt.lost_down++;
			if (a != NULL)
				a->v.lost_down++;
		} else {
			s->cnt.lost_unknown++;
			if (a != NULL)
				a->v.lost_unknown++;
		}
		run_add(s, q, d);
		s->cur++;
	}
}

void th_stream_advance(th_stream *s, int64_t now_ns, th_record_cb cb, void *arg)
{
	settle(s, now_ns, false, cb, arg);
	sec_emit_ready(s, false, cb, arg);
}

int64_t th_stream_next_deadline_ns(const th_stream *s)
{
	if (s->cur >= s->next_seq)
		return INT64_MAX;
	uint8_t stv = *slot(s, s->cur) & SL_STATE;
	int64_t sent = send_ns_of(s, s->cur);
	if (stv == SL_PENDING)
		return sent + s->conf.loss_timeout_ns;
	if (stv == SL_LOST && s->conf.hold_max_ns > 0)
		return sent + s->conf.loss_timeout_ns + s->conf.hold_max_ns;
	return INT64_MAX;
}

bool th_stream_idle(const th_stream *s)
{
	for (uint64_t q = s->cur; q < s->next_seq; q++)
		if ((*slot(s, q) & SL_STATE) == SL_PENDING)
			return false;
	return true;
}

void th_stream_finish(th_stream *s, int64_t now_ns, th_record_cb cb, void *arg)
{
	if (s->finished)
		return;
	settle(s, now_ns, true, cb, arg);
	if (s->run_len > 0)
		run_emit(s, s->run_last_ns + s->conf.interval_ns, INT64_MIN, cb, arg);
	s->finished = true;
	sec_emit_ready(s, true, cb, arg);
}

void th_stream_set_clock(th_stream *s, const th_clock *clock, int64_t from_ns)
{
	s->old_clock = s->clock;
	s->old_start_wall_ns = s->start_wall_ns;
	s->clock = *clock;
	s->clock_from_ns = from_ns;
	s->clock_seq = s->next_seq;
	s->gen++;
	s->start_wall_ns = th_clock_to_wall_ns(clock, s->start_ns);
}

/* First slot scheduled at or after mono time t. */
static uint64_t slot_at_or_after(const th_stream *s, int64_t t)
{
	if (t <= s->start_ns)
		return 1;
	return (uint64_t)((t - s->start_ns + s->conf.interval_ns - 1) / s->conf.interval_ns) + 1;
}

void th_stream_prober_stall(th_stream *s, int64_t from_ns, int64_t to_ns)
{
	if (s->finished || to_ns <= from_ns)
		return;
	for (uint64_t q = slot_at_or_after(s, from_ns); q >= s->base && sched_ns(s, q) < to_ns;) {
		/* the part of [from, to) that belongs to q's second: up to the next second's
		 * boundary, which on the monotonic clock lies that far after q's schedule */
		int64_t wall = sched_wall_ns(s, q);
		int64_t boundary = (floor_div(wall, TH_NS_PER_SEC) + 1) * TH_NS_PER_SEC;
		int64_t sec_end = sched_ns(s, q) + (boundary - wall);
		int64_t a = from_ns > sec_end - TH_NS_PER_SEC ? from_ns : sec_end - TH_NS_PER_SEC;
		int64_t b = to_ns < sec_end ? to_ns : sec_end;
		/* a second already emitted is never created again: only future slots create */
		sec_acc *acc = sec_for(s, q, q >= s->next_seq);
		if (acc != NULL && b > a)
			acc->stall_ns += b - a;
		q = slot_at_or_after(s, sec_end);
	}
}
