/* tp-core.c — session tagging, idempotency, archive rows and dispatch values (tp-core.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "codec-json.h"
#include "codec-marker.h"
#include "codec-record.h"
#include "th-summary.h"
#include "th-time.h"
#include "tp-core.h"
#include "tp-session.h"
#include "tp-vm.h"

#define TP_OUTAGE_KEYS 64                   /* outage starts remembered per stream */
#define TP_SWEEP_NS    (60 * TH_NS_PER_SEC) /* how often silent streams are looked for */
#define TP_TALLY_NS    (10 * TH_NS_PER_SEC) /* how often hours that are over are looked for */
#define TP_TALLY_LAG_S 60 /* an hour's tally is written this long after the hour is over */

/* Idempotency state of one (vm, stream, kind), in a chained hash table. */
typedef struct tp_stream {
	struct tp_stream *next; /* hash chain */
	uint64_t hash;
	char vm[TH_NAME_MAX];
	char stream[TH_NAME_MAX];
	th_record_kind kind;
	tp_vm *vmstate;                /* its VM's history and tally */
	bool dirty;                    /* its mark changed since the last tp_core_marks() */
	int64_t last_t;                /* newest second accepted in this run (second, iperf) */
	int64_t floor_t;               /* newest second dispatched before a restart (marks) */
	int64_t newest;                /* newest epoch second of any of its records */
	double starts[TP_OUTAGE_KEYS]; /* outage starts accepted (ring) */
	double out_newest;             /* newest outage start accepted in this run */
	double out_floor;              /* newest outage start dispatched before a restart */
	size_t nstarts;
} tp_stream;

struct tp_core {
	tp_config cfg;
	tp_sess **sess;
	size_t nsess, capsess;
	tp_stream **buckets; /* nbuckets is a power of two */
	size_t nbuckets, nstreams;
	tp_stream *last_stream;
	tp_stream **dirty; /* streams whose mark changed */
	size_t ndirty, capdirty;
	uint64_t *finished; /* open-addressing set of finished session id hashes, 0 = free */
	size_t nfinished, capfinished;
	int64_t next_sweep_ns;
	tp_vm **vbuckets; /* VMs of the tracked streams; nvbuckets is a power of two */
	size_t nvbuckets, nvms;
	size_t history_bytes; /* all VMs' history */
	int64_t next_tally_ns;
	unsigned long long hits[TP_HIT__COUNT];
};

static const char *const tp_limit_names[TP_HIT__COUNT] = {
    [TP_HIT_SESSIONS] = "MaxSessions",         [TP_HIT_SESSIONS_PER_VM] = "MaxSessionsPerVM",
    [TP_HIT_STREAMS] = "MaxStreams",           [TP_HIT_MARKERS] = "MaxMarkersPerSession",
    [TP_HIT_OUTAGES] = "MaxOutagesPerSession", [TP_HIT_WINDOW] = "AcceptPast/AcceptFuture",
    [TP_HIT_CLOSED] = "finished session",      [TP_HIT_HISTORY] = "HistoryMaxBytes",
};

const char *tp_limit_name(tp_limit_hit h)
{
	return (unsigned)h < TP_HIT__COUNT ? tp_limit_names[h] : "?";
}

/* ------------------------------------------------------------------ small helpers */

static int tp_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	void *n;
	size_t c;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	if ((n = realloc(*arr, c * size)) == NULL)
		return -1;
	*arr = n;
	*cap = c;
	return 0;
}

void tp_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static tp_value *tp_out_value(tp_out *o, const char *vm, const char *type, const char *ti, double t,
                              size_t n)
{
	tp_value *v;

	if (tp_grow((void **)&o->values, &o->capvalues, o->nvalues + 1, sizeof *o->values))
		return NULL;
	v = &o->values[o->nvalues++];
	tp_copy(v->vm, sizeof v->vm, vm);
	tp_copy(v->type, sizeof v->type, type);
	tp_copy(v->type_instance, sizeof v->type_instance, ti);
	v->time = t;
	v->interval = 1.0;
	v->n = n;
	return v;
}

void tp_out_reset(tp_out *o)
{
	for (size_t i = 0; i < o->njobs; i++) {
		free(o->jobs[i].rows);
		free(o->jobs[i].json);
		free(o->jobs[i].pending);
		free(o->jobs[i].summary_line);
	}
	o->nvalues = o->nnotices = o->njobs = 0;
	o->availability.len = 0;
}

void tp_out_free(tp_out *o)
{
	tp_out_reset(o);
	free(o->values);
	free(o->notices);
	free(o->jobs);
	free(o->availability.buf);
	memset(o, 0, sizeof *o);
}

tp_core *tp_core_new(const tp_config *cfg)
{
	tp_core *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	if (c->cfg.wall_ns == NULL)
		c->cfg.wall_ns = th_wall_ns;
	c->nbuckets = c->nvbuckets = 256;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	c->vbuckets = calloc(c->nvbuckets, sizeof *c->vbuckets);
	if (c->buckets == NULL || c->vbuckets == NULL) {
		free(c->buckets);
		free(c->vbuckets);
		free(c);
		return NULL;
	}
	return c;
}

static void tp_sess_free(tp_sess *s)
{
	if (s == NULL)
		return;
	free(s->rows);
	free(s->markers);
	free(s->outages);
	free(s->outage_streams);
	free(s->floors);
	free(s->loss);
	free(s);
}

void tp_core_free(tp_core *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nsess; i++)
		tp_sess_free(c->sess[i]);
	free(c->sess);
	for (size_t b = 0; b < c->nbuckets; b++)
		for (tp_stream *st = c->buckets[b], *next; st != NULL; st = next) {
			next = st->next;
			free(st);
		}
	free(c->buckets);
	for (size_t b = 0; b < c->nvbuckets; b++)
		for (tp_vm *v = c->vbuckets[b], *next; v != NULL; v = next) {
			next = v->next;
			tp_vm_free(v);
		}
	free(c->vbuckets);
	free(c->dirty);
	free(c->finished);
	free(c);
}

size_t tp_core_sessions_open(const tp_core *c)
{
	return c->nsess;
}

size_t tp_core_streams(const tp_core *c)
{
	return c->nstreams;
}

size_t tp_core_finished(const tp_core *c)
{
	return c->nfinished;
}

unsigned long long tp_core_hits(const tp_core *c, tp_limit_hit h)
{
	return (unsigned)h < TP_HIT__COUNT ? c->hits[h] : 0;
}

size_t tp_core_history_bytes(const tp_core *c)
{
	return c->history_bytes;
}

/* FNV-1a, 64 bits, over a string and its terminating NUL (so "ab"+"c" != "a"+"bc"). */
static uint64_t tp_hash(uint64_t h, const char *str)
{
	do {
		h ^= (unsigned char)*str;
		h *= 0x100000001b3ULL;
	} while (*str++ != '\0');
	return h;
}

#define TP_HASH_INIT 0xcbf29ce484222325ULL

tp_severity tp_core_severity(const tp_config *cfg, th_outcome outcome, double downtime_ms,
                             bool timed_out)
{
	if (timed_out)
		return TP_SEV_WARNING;
	switch (outcome) {
	case TH_OUT_SUCCESS:
		break;
	case TH_OUT_ABORTED:
	case TH_OUT_NONE: /* ended before a migration had an outcome */
		return TP_SEV_WARNING;
	default:
		return TP_SEV_FAILURE;
	}
	if (!isnan(downtime_ms) && !isnan(cfg->downtime_failure_ms) &&
	    downtime_ms > cfg->downtime_failure_ms)
		return TP_SEV_FAILURE;
	if (!isnan(downtime_ms) && !isnan(cfg->downtime_warning_ms) &&
	    downtime_ms > cfg->downtime_warning_ms)
		return TP_SEV_WARNING;
	return TP_SEV_OKAY;
}

/* ------------------------------------------------------------------ per-VM state */

static tp_vm *tp_vm_find(const tp_core *c, const char *vm)
{
	uint64_t h = tp_hash(TP_HASH_INIT, vm);

	for (tp_vm *v = c->vbuckets[h & (c->nvbuckets - 1)]; v != NULL; v = v->next)
		if (v->hash == h && strcmp(v->name, vm) == 0)
			return v;
	return NULL;
}

/* Double the VM table when it holds as many VMs as buckets (failure keeps the old one). */
static void tp_vms_rehash(tp_core *c)
{
	size_t n = c->nvbuckets * 2;
	tp_vm **b;

	if (c->nvms < c->nvbuckets || (b = calloc(n, sizeof *b)) == NULL)
		return;
	for (size_t i = 0; i < c->nvbuckets; i++)
		for (tp_vm *v = c->vbuckets[i], *next; v != NULL; v = next) {
			next = v->next;
			v->next = b[v->hash & (n - 1)];
			b[v->hash & (n - 1)] = v;
		}
	free(c->vbuckets);
	c->vbuckets = b;
	c->nvbuckets = n;
}

/* The state of vm, created when new (NULL: out of memory); one more stream of it is tracked. */
static tp_vm *tp_vm_hold(tp_core *c, const char *vm)
{
	tp_vm *v = tp_vm_find(c, vm);

	if (v == NULL) {
		if ((v = calloc(1, sizeof *v)) == NULL)
			return NULL;
		v->hash = tp_hash(TP_HASH_INIT, vm);
		tp_copy(v->name, sizeof v->name, vm);
		v->tally.hour = TP_TALLY_NONE;
		v->next = c->vbuckets[v->hash & (c->nvbuckets - 1)];
		c->vbuckets[v->hash & (c->nvbuckets - 1)] = v;
		c->nvms++;
		tp_vms_rehash(c);
	}
	v->nstreams++;
	return v;
}

/* One stream of v fewer: with the last one, its tally is written out and its state freed. */
static void tp_vm_release(tp_core *c, tp_vm *v, tp_out *out)
{
	if (v == NULL || --v->nstreams > 0)
		return;
	tp_tally_flush(v, &out->availability);
	for (tp_vm **pp = &c->vbuckets[v->hash & (c->nvbuckets - 1)]; *pp != NULL;
	     pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	if (v->ring != NULL)
		c->history_bytes -= tp_vm_history_bytes(v->ring_n);
	c->nvms--;
	tp_vm_free(v);
}

/* v's history, allocated at its first use when it fits in HistoryMaxBytes (a VM that does not
 * fit is counted once, and tried again at its next record). False: no history. */
static bool tp_vm_history(tp_core *c, tp_vm *v)
{
	size_t need;

	if (v->ring != NULL)
		return true;
	if (c->cfg.history_s <= 0)
		return false;
	need = tp_vm_history_bytes(c->cfg.history_s);
	if ((c->cfg.history_max_bytes && c->history_bytes + need > c->cfg.history_max_bytes) ||
	    !tp_vm_history_alloc(v, c->cfg.history_s)) {
		if (!v->refused)
			c->hits[TP_HIT_HISTORY]++;
		v->refused = true;
		return false;
	}
	c->history_bytes += need;
	return true;
}

/* A record taken (not a duplicate) into its VM's history and tally. in_session: it belongs to a
 * session; again: a "second" dispatched (and counted) before a restart. */
static void tp_vm_take(tp_core *c, tp_vm *v, const th_record *r, int64_t t, bool in_session,
                       bool again, tp_out *out)
{
	tp_hist_outage *h = NULL;
	tp_row *row;

	if (v == NULL || !c->cfg.archive)
		return;
	if (r->kind == TH_REC_OUTAGE) {
		if (tp_vm_history(c, v))
			h = tp_vm_outage(v, r);
		tp_tally_outage(v, &r->u.outage, in_session, h, &out->availability);
		return;
	}
	if (tp_vm_history(c, v) && (row = tp_vm_row(v, t)) != NULL)
		tp_row_add(row, r);
	if (r->kind == TH_REC_SECOND && !again)
		tp_tally_second(v, t, &out->availability);
}

/* Write out the tallies of hours over for TP_TALLY_LAG_S (all of them with final). */
static void tp_vms_tally(tp_core *c, int64_t wall_s, bool final, tp_out *out)
{
	for (size_t b = 0; b < c->nvbuckets; b++)
		for (tp_vm *v = c->vbuckets[b]; v != NULL; v = v->next)
			if (v->tally.hour != TP_TALLY_NONE &&
			    (final || wall_s >= v->tally.hour + TP_HOUR + TP_TALLY_LAG_S))
				tp_tally_flush(v, &out->availability);
}

/* ------------------------------------------------------------------ idempotency */

static uint64_t tp_stream_hash(const char *vm, const char *stream, th_record_kind kind)
{
	uint64_t h = tp_hash(tp_hash(TP_HASH_INIT, vm), stream);

	return (h ^ (uint64_t)kind) * 0x100000001b3ULL;
}

static tp_stream *tp_stream_find(tp_core *c, const char *vm, const char *stream,
                                 th_record_kind kind, uint64_t h)
{
	tp_stream *s = c->last_stream;

	if (s != NULL && s->hash == h && s->kind == kind && strcmp(s->stream, stream) == 0 &&
	    strcmp(s->vm, vm) == 0)
		return s;
	for (s = c->buckets[h & (c->nbuckets - 1)]; s != NULL; s = s->next)
		if (s->hash == h && s->kind == kind && strcmp(s->stream, stream) == 0 &&
		    strcmp(s->vm, vm) == 0)
			return c->last_stream = s;
	return NULL;
}

/* Double the table when it holds as many streams as buckets (failure keeps the old one). */
static void tp_streams_rehash(tp_core *c)
{
	size_t n = c->nbuckets * 2;
	tp_stream **b;

	if (c->nstreams < c->nbuckets || (b = calloc(n, sizeof *b)) == NULL)
		return;
	for (size_t i = 0; i < c->nbuckets; i++)
		for (tp_stream *st = c->buckets[i], *next; st != NULL; st = next) {
			next = st->next;
			st->next = b[st->hash & (n - 1)];
			b[st->hash & (n - 1)] = st;
		}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

/* True when (vm, stream) is tracked under another kind than `kind`. */
static bool tp_stream_known(tp_core *c, const char *vm, const char *stream, th_record_kind kind)
{
	static const th_record_kind kinds[] = {TH_REC_SECOND, TH_REC_OUTAGE, TH_REC_IPERF};

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i] != kind &&
		    tp_stream_find(c, vm, stream, kinds[i], tp_stream_hash(vm, stream, kinds[i])))
			return true;
	return false;
}

/* The state of (vm, stream, kind), created when new. NULL with *e set: TH_ERR_NOMEM, or
 * TH_ERR_LIMIT when MaxStreams states exist. */
static tp_stream *tp_stream_get(tp_core *c, const char *vm, const char *stream, th_record_kind kind,
                                th_err *e)
{
	uint64_t h = tp_stream_hash(vm, stream, kind);
	tp_stream *s = tp_stream_find(c, vm, stream, kind, h);

	if (s != NULL)
		return s;
	/* The other kinds of a stream already tracked always fit: a legitimate stream whose
	 * first outage comes after a flood of new streams is not refused. */
	if (c->cfg.limits.streams && c->nstreams >= c->cfg.limits.streams &&
	    !tp_stream_known(c, vm, stream, kind)) {
		*e = TH_ERR_LIMIT;
		return NULL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL || (s->vmstate = tp_vm_hold(c, vm)) == NULL) {
		free(s);
		*e = TH_ERR_NOMEM;
		return NULL;
	}
	s->hash = h;
	tp_copy(s->vm, sizeof s->vm, vm);
	tp_copy(s->stream, sizeof s->stream, stream);
	s->kind = kind;
	s->last_t = s->floor_t = s->newest = INT64_MIN;
	s->out_newest = s->out_floor = -INFINITY;
	s->next = c->buckets[h & (c->nbuckets - 1)];
	c->buckets[h & (c->nbuckets - 1)] = s;
	c->nstreams++;
	tp_streams_rehash(c);
	return c->last_stream = s;
}

/* Note that the stream's mark changed (for the next tp_core_marks). */
static void tp_stream_touch(tp_core *c, tp_stream *s)
{
	if (s->dirty)
		return;
	if (tp_grow((void **)&c->dirty, &c->capdirty, c->ndirty + 1, sizeof *c->dirty))
		return; /* the mark is written with the next full rewrite */
	c->dirty[c->ndirty++] = s;
	s->dirty = true;
}

/* Forget streams whose newest record is older than AcceptPast: any record of theirs that could
 * be re-sent is refused by the window anyway. */
static void tp_streams_sweep(tp_core *c, int64_t wall_s, tp_out *out)
{
	int64_t horizon = wall_s - c->cfg.limits.accept_past_s;

	for (size_t i = 0; i < c->nbuckets; i++)
		for (tp_stream **pp = &c->buckets[i], *st; (st = *pp) != NULL;) {
			int64_t newest = st->newest > st->floor_t ? st->newest : st->floor_t;

			if (st->out_floor > (double)newest)
				newest = (int64_t)st->out_floor;
			if (st->dirty || newest >= horizon) {
				pp = &st->next;
				continue;
			}
			*pp = st->next;
			if (c->last_stream == st)
				c->last_stream = NULL;
			tp_vm_release(c, st->vmstate, out);
			free(st);
			c->nstreams--;
		}
}

/* True when the record was accepted before (and must change nothing now). */
static bool tp_seen(tp_stream *s, const th_record *r)
{
	if (r->kind == TH_REC_OUTAGE) {
		size_t n = s->nstarts < TP_OUTAGE_KEYS ? s->nstarts : TP_OUTAGE_KEYS;

		/* Before a restart, outages are known by the newest start dispatched (a
		 * prober reports the outages of a stream in order). */
		if (r->u.outage.start <= s->out_floor + 1e-7)
			return true;
		for (size_t i = 0; i < n; i++)
			if (fabs(s->starts[i] - r->u.outage.start) < 1e-7)
				return true;
		s->starts[s->nstarts++ % TP_OUTAGE_KEYS] = r->u.outage.start;
		if (r->u.outage.start > s->out_newest)
			s->out_newest = r->u.outage.start;
		return false;
	}
	int64_t t = r->kind == TH_REC_SECOND ? r->u.second.t : r->u.iperf.t;

	if (t <= s->last_t)
		return true;
	s->last_t = t;
	return false;
}

/* Time of a record as the window sees it: its latest epoch second. */
static double tp_record_latest(const th_record *r)
{
	return r->kind == TH_REC_SECOND  ? (double)r->u.second.t
	       : r->kind == TH_REC_IPERF ? (double)r->u.iperf.t
	                                 : r->u.outage.end;
}

/* TH_ERR_INVALID naming the item when t (epoch s) lies outside AcceptPast/AcceptFuture. */
static th_err tp_window_check(tp_core *c, const char *what, size_t i, const char *field, double t,
                              char *errbuf)
{
	const tp_limits *l = &c->cfg.limits;
	double now = (double)c->cfg.wall_ns() / 1e9;

	if (l->accept_future_s > 0 && t > now + (double)l->accept_future_s) {
		c->hits[TP_HIT_WINDOW]++;
		return th_seterr(
		    errbuf, TH_ERR_INVALID,
		    "%s[%zu].%s: %.3f is %.0f s ahead of this host's clock (AcceptFuture "
		    "%lld s)",
		    what, i, field, t, t - now, (long long)l->accept_future_s);
	}
	if (l->accept_past_s > 0 && t < now - (double)l->accept_past_s) {
		c->hits[TP_HIT_WINDOW]++;
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s[%zu].%s: %.3f is %.0f s in the past (AcceptPast %lld s)", what,
		                 i, field, t, now - t, (long long)l->accept_past_s);
	}
	return TH_OK;
}

static int64_t tp_record_second(const th_record *r)
{
	return r->kind == TH_REC_SECOND  ? r->u.second.t
	       : r->kind == TH_REC_IPERF ? r->u.iperf.t
	                                 : (int64_t)floor(r->u.outage.start);
}

/* ------------------------------------------------------------------ sessions */

static tp_sess *tp_sess_find(tp_core *c, const char *id)
{
	for (size_t i = 0; i < c->nsess; i++)
		if (strcmp(c->sess[i]->id, id) == 0)
			return c->sess[i];
	return NULL;
}

/* Finished sessions are kept as 64-bit hashes of their ids (8-16 bytes each, for as long as the
 * plugin runs; the archive restores them at start): a marker for one never reopens it. */
static uint64_t tp_finished_key(const char *id)
{
	uint64_t h = tp_hash(TP_HASH_INIT, id);

	return h ? h : 1;
}

static bool tp_finished(const tp_core *c, const char *id)
{
	uint64_t k = tp_finished_key(id);

	if (c->capfinished == 0)
		return false;
	for (size_t i = k & (c->capfinished - 1); c->finished[i] != 0;
	     i = (i + 1) & (c->capfinished - 1))
		if (c->finished[i] == k)
			return true;
	return false;
}

static void tp_finished_put(uint64_t *set, size_t cap, uint64_t k)
{
	size_t i = k & (cap - 1);

	while (set[i] != 0 && set[i] != k)
		i = (i + 1) & (cap - 1);
	set[i] = k;
}

th_err tp_core_mark_finished(tp_core *c, const char *session)
{
	if (tp_finished(c, session))
		return TH_OK;
	if (2 * (c->nfinished + 1) > c->capfinished) {
		size_t cap = c->capfinished ? c->capfinished * 2 : 1024;
		uint64_t *set = calloc(cap, sizeof *set);

		if (set == NULL)
			return TH_ERR_NOMEM;
		for (size_t i = 0; i < c->capfinished; i++)
			if (c->finished[i] != 0)
				tp_finished_put(set, cap, c->finished[i]);
		free(c->finished);
		c->finished = set;
		c->capfinished = cap;
	}
	tp_finished_put(c->finished, c->capfinished, tp_finished_key(session));
	c->nfinished++;
	return TH_OK;
}

/* True when the window of s, a session of the VM vm (hash vh), holds second t. */
static bool tp_sess_holds(const tp_sess *s, uint64_t vh, const char *vm, int64_t t)
{
	if (s->vm_hash != vh || strcmp(s->vm, vm) != 0 || t < s->first)
		return false;
	return !(s->ended && t > (int64_t)floor(s->t_end));
}

/* The session of vm whose window holds second t (the latest started), or NULL. Its id tags the
 * dispatched values; every session holding t gets the record in its archive. */
static tp_sess *tp_sess_for(tp_core *c, const char *vm, int64_t t)
{
	tp_sess *best = NULL;
	uint64_t vh;

	if (c->nsess == 0)
		return NULL;
	vh = tp_hash(TP_HASH_INIT, vm);
	for (size_t i = 0; i < c->nsess; i++) {
		tp_sess *s = c->sess[i];

		if (!tp_sess_holds(s, vh, vm, t))
			continue;
		if (best == NULL || s->t_start > best->t_start)
			best = s;
	}
	return best;
}

/* A new session, or NULL with *e: TH_ERR_NOMEM, or TH_ERR_LIMIT (MaxSessions[PerVM]). */
static tp_sess *tp_sess_new(tp_core *c, const char *id, const char *vm, double t, int64_t now,
                            th_err *e, char *errbuf)
{
	const tp_limits *l = &c->cfg.limits;
	uint64_t vh = tp_hash(TP_HASH_INIT, vm);
	size_t same = 0;
	tp_sess *s;

	for (size_t i = 0; i < c->nsess && l->sessions_per_vm; i++)
		same += c->sess[i]->vm_hash == vh && strcmp(c->sess[i]->vm, vm) == 0;
	if (l->sessions && c->nsess >= l->sessions) {
		c->hits[TP_HIT_SESSIONS]++;
		*e =
		    th_seterr(errbuf, TH_ERR_LIMIT,
		              "session %s refused: %zu sessions are open (MaxSessions); send again "
		              "once some have ended",
		              id, c->nsess);
		return NULL;
	}
	if (l->sessions_per_vm && same >= l->sessions_per_vm) {
		c->hits[TP_HIT_SESSIONS_PER_VM]++;
		*e =
		    th_seterr(errbuf, TH_ERR_LIMIT,
		              "session %s refused: VM %s has %zu open sessions (MaxSessionsPerVM); "
		              "send again once some have ended",
		              id, vm, same);
		return NULL;
	}
	*e = TH_ERR_NOMEM;
	if (tp_grow((void **)&c->sess, &c->capsess, c->nsess + 1, sizeof *c->sess) ||
	    (s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	snprintf(s->id, sizeof s->id, "%s", id);
	snprintf(s->vm, sizeof s->vm, "%s", vm);
	s->vm_hash = vh;
	s->t_start = t;
	s->first = (int64_t)floor(t);
	s->written = s->first - 1;
	s->max_t = s->first - 1;
	s->loss_from = s->first;
	s->last_data_ns = s->last_marker_ns = now;
	c->sess[c->nsess++] = s;
	return s;
}

static tp_row *tp_row_get(tp_sess *s, int64_t t)
{
	size_t i;

	/* Rows arrive nearly in order: search from the end. */
	for (i = s->nrows; i > 0 && s->rows[i - 1].t > t; i--)
		;
	if (i > 0 && s->rows[i - 1].t == t)
		return &s->rows[i - 1];
	if (tp_grow((void **)&s->rows, &s->caprows, s->nrows + 1, sizeof *s->rows))
		return NULL;
	memmove(&s->rows[i + 1], &s->rows[i], (s->nrows - i) * sizeof *s->rows);
	s->nrows++;
	s->rows[i].t = t;
	s->rows[i].rtt_weight = 0;
	for (size_t k = 0; k < TH_ARCHIVE_NDS; k++)
		s->rows[i].v[k] = NAN;
	return &s->rows[i];
}

static tp_floor *tp_floor_get(tp_sess *s, const char *stream, th_record_kind kind)
{
	tp_floor *f;

	for (size_t i = 0; i < s->nfloors; i++)
		if (s->floors[i].kind == kind && strcmp(s->floors[i].stream, stream) == 0)
			return &s->floors[i];
	if (tp_grow((void **)&s->floors, &s->capfloors, s->nfloors + 1, sizeof *s->floors))
		return NULL;
	f = &s->floors[s->nfloors++];
	snprintf(f->stream, sizeof f->stream, "%s", stream);
	f->kind = kind;
	f->t = INT64_MIN;
	return f;
}

/* Add the probes lost in second t to the session's loss counts (the summary's). */
static int tp_loss_add(tp_sess *s, int64_t t, double up, double down, double unk)
{
	size_t i;

	if (t < s->first || t < s->loss_from || isnan(up))
		return 0;
	if (t - s->first >= TP_LOSS_MAX) {
		s->loss_dropped++;
		return 0;
	}
	i = (size_t)(t - s->first);
	if (i >= s->nloss) {
		if (tp_grow((void **)&s->loss, &s->caploss, i + 1, sizeof *s->loss))
			return -1;
		for (size_t k = s->nloss; k <= i; k++)
			s->loss[k].up = TP_LOSS_NONE;
		s->nloss = i + 1;
	}
	if (s->loss[i].up == TP_LOSS_NONE)
		s->loss[i].up = s->loss[i].down = s->loss[i].unk = 0;
	s->loss[i].up += (uint32_t)up;
	s->loss[i].down += (uint32_t)(isnan(down) ? 0 : down);
	s->loss[i].unk += (uint32_t)(isnan(unk) ? 0 : unk);
	return 0;
}

/* The session's first second moves from old to s->first (earlier): shift the loss counts. */
static void tp_loss_rebase(tp_sess *s, int64_t old)
{
	size_t by = (size_t)(old - s->first), keep;

	if (s->nloss == 0 || by == 0)
		return;
	keep = s->nloss + by > TP_LOSS_MAX ? (by < TP_LOSS_MAX ? TP_LOSS_MAX - by : 0) : s->nloss;
	s->loss_dropped += s->nloss - keep;
	if (tp_grow((void **)&s->loss, &s->caploss, keep + by, sizeof *s->loss)) {
		s->nloss = 0; /* out of memory: the counts are lost, the summary's loss unknown */
		s->loss_from = old;
		return;
	}
	memmove(s->loss + by, s->loss, keep * sizeof *s->loss);
	for (size_t k = 0; k < by; k++)
		s->loss[k].up = TP_LOSS_NONE;
	s->nloss = keep + by;
}

static int tp_row_merge(tp_sess *s, const th_record *r)
{
	int64_t t = r->kind == TH_REC_SECOND ? r->u.second.t : r->u.iperf.t;
	tp_floor *f;
	tp_row *row;

	if (t <= s->written)
		return 0; /* already stored (e.g. before a restart) */
	if ((f = tp_floor_get(s, r->stream, r->kind)) == NULL)
		return -1;
	if (t <= f->t)
		return 0; /* already merged (before a restart, kept in .pending) */
	f->t = t;
	if ((row = tp_row_get(s, t)) == NULL)
		return -1;
	tp_row_add(row, r);
	if (r->kind == TH_REC_SECOND &&
	    tp_loss_add(s, t, r->u.second.lost_up, r->u.second.lost_down, r->u.second.lost_unknown))
		return -1;
	if (t > s->max_t)
		s->max_t = t;
	s->pending_dirty = true;
	return 0;
}

static int tp_sess_outage(tp_core *c, tp_sess *s, const th_record *r)
{
	size_t n = s->noutages;

	if (c->cfg.limits.outages && n >= c->cfg.limits.outages) {
		c->hits[TP_HIT_OUTAGES]++;
		s->outages_dropped++;
		s->json_dirty = true;
		return 0;
	}
	if (n == s->capoutages) {
		size_t cap = s->capoutages ? s->capoutages * 2 : 8;
		th_outage *o = realloc(s->outages, cap * sizeof *o);
		char(*st)[TH_NAME_MAX];

		if (o == NULL)
			return -1;
		s->outages = o;
		if ((st = realloc(s->outage_streams, cap * sizeof *st)) == NULL)
			return -1;
		s->outage_streams = st;
		s->capoutages = cap;
	}
	s->outages[n] = r->u.outage;
	snprintf(s->outage_streams[n], TH_NAME_MAX, "%s", r->stream);
	s->noutages++;
	s->json_dirty = true;
	return 0;
}

static bool tp_sess_has_outage(const tp_sess *s, const char *stream, double start)
{
	for (size_t i = 0; i < s->noutages; i++)
		if (fabs(s->outages[i].start - start) < 1e-7 &&
		    strcmp(s->outage_streams[i], stream) == 0)
			return true;
	return false;
}

/* Give s what its VM's history keeps of the seconds from .. to - 1 (rows not in the session
 * yet) and the kept outages that end at or after `from` and start before `to`, moving those to
 * the "_sessions" figures of the tally. */
static int tp_sess_history(tp_core *c, tp_sess *s, int64_t from, int64_t to, tp_out *out)
{
	tp_vm *v;
	int64_t lo, hi;
	size_t nouts;

	if (!c->cfg.archive || (v = tp_vm_find(c, s->vm)) == NULL || v->ring == NULL ||
	    v->newest == INT64_MIN)
		return 0;
	lo = from > v->newest - v->ring_n + 1 ? from : v->newest - v->ring_n + 1;
	hi = to - 1 < v->newest ? to - 1 : v->newest;
	if (lo <= s->written)
		lo = s->written + 1;
	for (int64_t t = lo; t <= hi; t++) {
		const tp_row *h = &v->ring[((t % v->ring_n) + v->ring_n) % v->ring_n];
		tp_row *row;

		if (h->t != t)
			continue;
		if ((row = tp_row_get(s, t)) == NULL ||
		    tp_loss_add(s, t, h->v[A_LUP], h->v[A_LDOWN], h->v[A_LUNK]))
			return -1;
		*row = *h;
		if (t > s->max_t)
			s->max_t = t;
		s->pending_dirty = true;
	}
	nouts = v->nouts < TP_HIST_OUTAGES ? v->nouts : TP_HIST_OUTAGES;
	for (size_t k = 0; k < nouts; k++) {
		tp_hist_outage *h = &v->outs[k];
		th_record r;

		if (h->o.end < (double)from || h->o.start >= (double)to ||
		    h->o.end <= (double)(v->newest - v->ring_n) ||
		    tp_sess_has_outage(s, h->stream, h->o.start))
			continue;
		memset(&r, 0, sizeof r);
		r.kind = TH_REC_OUTAGE;
		tp_copy(r.vm, sizeof r.vm, s->vm);
		tp_copy(r.stream, sizeof r.stream, h->stream);
		r.u.outage = h->o;
		if (tp_sess_outage(c, s, &r))
			return -1;
		tp_tally_to_session(v, h, &out->availability);
	}
	return 0;
}

/* ------------------------------------------------------------------ records */

static int tp_values_for(const th_record *r, const char *ti, tp_out *out)
{
	tp_value *v;
	char oti[TP_TI_MAX];

	switch (r->kind) {
	case TH_REC_SECOND: {
		const th_second *x = &r->u.second;

		if ((v = tp_out_value(out, r->vm, "themis_probe", ti, (double)x->t, 7)) == NULL)
			return -1;
		v->v[0] = x->sent;
		v->v[1] = x->received;
		v->v[2] = x->lost_up;
		v->v[3] = x->lost_down;
		v->v[4] = x->lost_unknown;
		v->v[5] = x->late;
		v->v[6] = x->dup;
		if ((v = tp_out_value(out, r->vm, "themis_rtt", ti, (double)x->t, 5)) == NULL)
			return -1;
		v->v[0] = x->rtt_min_ms;
		v->v[1] = x->rtt_avg_ms;
		v->v[2] = x->rtt_max_ms;
		v->v[3] = x->jitter_ms;
		v->v[4] = x->max_gap_ms;
		return 0;
	}
	case TH_REC_OUTAGE: {
		const th_outage *x = &r->u.outage;

		snprintf(oti, sizeof oti, "%s%s%s", ti, ti[0] ? "-" : "",
		         th_direction_name(x->direction));
		if ((v = tp_out_value(out, r->vm, "themis_outage", oti, x->start, 3)) == NULL)
			return -1;
		v->v[0] = x->duration_ms;
		v->v[1] = x->bound_ms;
		v->v[2] = x->lost;
		return 0;
	}
	case TH_REC_IPERF: {
		const th_iperf *x = &r->u.iperf;

		if ((v = tp_out_value(out, r->vm, "themis_iperf", ti, (double)x->t, 4)) == NULL)
			return -1;
		v->v[0] = x->bits_per_second;
		v->v[1] = x->lost_packets < 0 ? NAN : (double)x->lost_packets;
		v->v[2] = x->packets < 0 ? NAN : (double)x->packets;
		v->v[3] = x->jitter_ms;
		return 0;
	}
	}
	return 0;
}

th_err tp_core_records(tp_core *c, const th_record *r, size_t n, int64_t now_ns, tp_out *out,
                       size_t *dups, char *errbuf)
{
	th_err e = TH_OK;

	*dups = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].kind == TH_REC_OUTAGE &&
		    (e = tp_window_check(c, "records", i, "start", r[i].u.outage.start, errbuf)))
			return e;
		if ((e = tp_window_check(c, "records", i, r[i].kind == TH_REC_OUTAGE ? "end" : "t",
		                         tp_record_latest(&r[i]), errbuf)))
			return e;
	}
	for (size_t i = 0; i < n; i++) {
		tp_stream *st = tp_stream_get(c, r[i].vm, r[i].stream, r[i].kind, &e);
		int64_t t;
		tp_sess *s;

		if (st == NULL && e == TH_ERR_LIMIT) {
			c->hits[TP_HIT_STREAMS]++;
			return th_seterr(
			    errbuf, TH_ERR_LIMIT,
			    "records[%zu]: stream %s of VM %s refused: %zu streams are "
			    "tracked (MaxStreams); records before it were accepted",
			    i, r[i].stream, r[i].vm, c->nstreams);
		}
		if (st == NULL)
			return th_seterr(errbuf, TH_ERR_NOMEM, "records[%zu]: out of memory", i);
		if (tp_seen(st, &r[i])) {
			(*dups)++;
			continue;
		}
		t = tp_record_second(&r[i]);
		if ((int64_t)tp_record_latest(&r[i]) > st->newest)
			st->newest = (int64_t)tp_record_latest(&r[i]);
		s = tp_sess_for(c, r[i].vm, t);
		tp_vm_take(c, st->vmstate, &r[i], t, s != NULL,
		           r[i].kind != TH_REC_OUTAGE && t <= st->floor_t, out);
		if (r[i].kind != TH_REC_OUTAGE && t <= st->floor_t) {
			/* Dispatched before a restart: only the archive (which knows what it
			 * holds, see tp_row_merge) may still need it. */
			(*dups)++;
		} else if (tp_values_for(&r[i], s ? s->id : "", out)) {
			return th_seterr(errbuf, TH_ERR_NOMEM, "records[%zu]: out of memory", i);
		}
		tp_stream_touch(c, st);
		if (s == NULL || !c->cfg.archive)
			continue;
		/* Sessions of one VM may overlap (a measured run and the watcher's observed
		 * session of the same migration): each keeps the VM's data in its window. */
		uint64_t vh = s->vm_hash;
		for (size_t k = 0; k < c->nsess; k++) {
			tp_sess *o = c->sess[k];

			if (o != s && !tp_sess_holds(o, vh, r[i].vm, t))
				continue;
			o->last_data_ns = now_ns;
			if (r[i].kind == TH_REC_OUTAGE ? tp_sess_outage(c, o, &r[i])
			                               : tp_row_merge(o, &r[i]))
				return th_seterr(errbuf, TH_ERR_NOMEM,
				                 "records[%zu]: out of memory", i);
		}
	}
	return TH_OK;
}

/* ------------------------------------------------------------------ markers */

/* The session ended: rows after its last second (taken from the history, or sent before the
 * session-end marker) are not its own. */
static void tp_sess_trim(tp_sess *s)
{
	int64_t last = (int64_t)floor(s->t_end);

	while (s->nrows > 0 && s->rows[s->nrows - 1].t > last) {
		s->nrows--;
		s->pending_dirty = true;
	}
	if (s->max_t > last)
		s->max_t = last > s->written ? last : s->written;
}

static void tp_summary_values(const tp_sess *s, const th_summary *x, double t, tp_out *out)
{
	tp_value *v = tp_out_value(out, s->vm, "themis_session", s->id, t, 9);

	if (v == NULL)
		return;
	v->v[0] = x->downtime_ms;
	v->v[1] = x->downtime_bound_ms;
	v->v[2] = x->outage_total_ms;
	v->v[3] = x->hv_downtime_ms;
	v->v[4] = x->delta_ms;
	v->v[5] = x->lost_up < 0 ? NAN : (double)x->lost_up;
	v->v[6] = x->lost_down < 0 ? NAN : (double)x->lost_down;
	v->v[7] = x->lost_unknown < 0 ? NAN : (double)x->lost_unknown;
	v->v[8] = x->one_duration_s;
}

/* The notification of a session's close, from its final summary. */
static void tp_notice_add(tp_core *c, const tp_sess *s, bool timed_out, double t, tp_out *out)
{
	const th_summary *x = &s->summary;
	tp_notice *n;
	double dt = x->downtime_ms;
	const char *ocn;
	char differ[96] = "";

	if (tp_grow((void **)&out->notices, &out->capnotices, out->nnotices + 1,
	            sizeof *out->notices))
		return;
	ocn = x->outcome != TH_OUT_NONE ? th_outcome_name(x->outcome) : "outcome unknown";
	n = &out->notices[out->nnotices++];
	memset(n, 0, sizeof *n);
	n->severity = tp_core_severity(&c->cfg, x->outcome, dt, timed_out);
	n->time = t;
	snprintf(n->vm, sizeof n->vm, "%s", s->vm);
	snprintf(n->session, sizeof n->session, "%s", s->id);
	if (s->source == TP_SRC_BOTH)
		snprintf(differ, sizeof differ,
		         "; trigger and plugin differ, plugin: downtime %.3f ms",
		         s->summary_net.downtime_ms);
	if (timed_out && isnan(dt))
		snprintf(n->message, sizeof n->message,
		         "themis: session %.80s of VM %.60s closed by timeout (no session-end)",
		         s->id, s->vm);
	else if (timed_out)
		snprintf(n->message, sizeof n->message,
		         "themis: session %.80s of VM %.60s closed by timeout (no session-end), "
		         "downtime %.3f ms (+/- %.3f ms)",
		         s->id, s->vm, dt, x->downtime_bound_ms);
	else if (isnan(dt))
		snprintf(n->message, sizeof n->message,
		         "themis: session %.80s of VM %.60s ended: %s, downtime unknown", s->id,
		         s->vm, ocn);
	else
		snprintf(
		    n->message, sizeof n->message,
		    "themis: session %.80s of VM %.60s ended: %s, downtime %.3f ms (+/- %.3f ms), "
		    "hypervisor %.3f ms%s",
		    s->id, s->vm, ocn, dt, x->downtime_bound_ms, x->hv_downtime_ms, differ);
}

static bool tp_marker_dup(const tp_sess *s, const th_marker *m)
{
	for (size_t i = 0; i < s->nmarkers; i++)
		if (s->markers[i].event == m->event && fabs(s->markers[i].t - m->t) < 1e-7 &&
		    (!TH_EV_IS_HV(m->event) ||
		     (strcmp(s->markers[i].hv_host, m->hv_host) == 0 &&
		      strcmp(s->markers[i].hv_status, m->hv_status) == 0)))
			return true;
	return false;
}

/* tp_core_markers; window: check AcceptPast/AcceptFuture (not when resuming from the archive). */
static th_err tp_markers_take(tp_core *c, const th_marker *m, size_t n, int64_t now_ns, tp_out *out,
                              size_t *dups, bool window, char *errbuf)
{
	th_err e;

	/* Validate the whole batch first so that a refused batch changes nothing. */
	for (size_t i = 0; i < n; i++) {
		tp_sess *s = tp_sess_find(c, m[i].session);

		if (window && (e = tp_window_check(c, "markers", i, "t", m[i].t, errbuf)))
			return e;
		if (s != NULL && strcmp(s->vm, m[i].vm) != 0)
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "markers[%zu].vm: session %s belongs to VM \"%s\", not \"%s\"", i,
			    s->id, s->vm, m[i].vm);
		if (s != NULL && s->ended && m[i].event == TH_EV_SESSION_END &&
		    fabs(s->t_end - m[i].t) > 1e-7)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "markers[%zu].t: session %s already ended at %.6f", i,
			                 s->id, s->t_end);
	}
	*dups = 0;
	for (size_t i = 0; i < n; i++) {
		tp_sess *s = tp_sess_find(c, m[i].session);

		if (s == NULL && tp_finished(c, m[i].session)) {
			c->hits[TP_HIT_CLOSED]++;
			(*dups)++;
			continue;
		}
		/* The hypervisor's events describe a session, they never open one (nor close
		 * one): without their session they are ignored (counted with the duplicates). */
		if (s == NULL && TH_EV_IS_HV(m[i].event)) {
			(*dups)++;
			continue;
		}
		if (s == NULL) {
			if ((s = tp_sess_new(c, m[i].session, m[i].vm, m[i].t, now_ns, &e,
			                     errbuf)) == NULL)
				return e == TH_ERR_NOMEM
				           ? th_seterr(errbuf, e, "markers[%zu]: out of memory", i)
				           : e;
			/* Opened with a start in the past: what the VM's history keeps of it. */
			if (tp_sess_history(c, s, s->first, INT64_MAX, out))
				return th_seterr(errbuf, TH_ERR_NOMEM,
				                 "markers[%zu]: out of memory", i);
		}
		if (tp_marker_dup(s, &m[i])) {
			(*dups)++;
			continue;
		}
		if (c->cfg.limits.markers && s->nmarkers >= c->cfg.limits.markers) {
			c->hits[TP_HIT_MARKERS]++;
			return th_seterr(errbuf, TH_ERR_STATE,
			                 "markers[%zu]: session %s already holds %zu markers "
			                 "(MaxMarkersPerSession)",
			                 i, s->id, s->nmarkers);
		}
		if (tp_grow((void **)&s->markers, &s->capmarkers, s->nmarkers + 1,
		            sizeof *s->markers))
			return th_seterr(errbuf, TH_ERR_NOMEM, "markers[%zu]: out of memory", i);
		/* Keep markers in time order whatever order they arrive in. */
		size_t at = s->nmarkers;

		while (at > 0 && s->markers[at - 1].t > m[i].t)
			at--;
		memmove(&s->markers[at + 1], &s->markers[at],
		        (s->nmarkers - at) * sizeof *s->markers);
		s->markers[at] = m[i];
		s->nmarkers++;
		s->json_dirty = true;
		/* A session-start that arrives after other markers of its session (re-sent
		 * after a restart) still opens the window, as long as nothing was archived. */
		if (m[i].event == TH_EV_SESSION_START && m[i].t < s->t_start && !s->created) {
			int64_t old = s->first;

			s->t_start = m[i].t;
			s->first = (int64_t)floor(m[i].t);
			s->written = s->first - 1;
			if (s->max_t < s->written)
				s->max_t = s->written;
			if (s->loss_from == old)
				s->loss_from = s->first;
			tp_loss_rebase(s, old);
			if (tp_sess_history(c, s, s->first, old, out))
				return th_seterr(errbuf, TH_ERR_NOMEM,
				                 "markers[%zu]: out of memory", i);
		}
		s->last_marker_ns = s->last_data_ns = now_ns;
		if (m[i].event == TH_EV_SESSION_END && !s->ended) {
			/* its summary and notification go out when the session closes */
			s->ended = true;
			s->t_end = m[i].t;
			s->end_ns = now_ns;
			tp_sess_trim(s);
		}
	}
	return TH_OK;
}

th_err tp_core_markers(tp_core *c, const th_marker *m, size_t n, int64_t now_ns, tp_out *out,
                       size_t *dups, char *errbuf)
{
	return tp_markers_take(c, m, n, now_ns, out, dups, true, errbuf);
}

/* ------------------------------------------------------------------ archive rows */

#define TP_PENDING_MAGIC "THPEND1\n"

/* The rows not written yet and the per-stream floors, as the binary .pending image. */
static char *tp_pending_image(const tp_sess *s, size_t *len)
{
	uint32_t nf = (uint32_t)s->nfloors, nr = (uint32_t)s->nrows;
	size_t n = 8 + 2 * sizeof(uint32_t) + nf * sizeof(tp_floor) + nr * sizeof(tp_row);
	char *out = malloc(n), *p = out;

	if (out == NULL)
		return NULL;
	memcpy(p, TP_PENDING_MAGIC, 8);
	p += 8;
	memcpy(p, &nf, sizeof nf);
	p += sizeof nf;
	memcpy(p, &nr, sizeof nr);
	p += sizeof nr;
	if (nf > 0) /* rows taken from the history come without floors */
		memcpy(p, s->floors, nf * sizeof(tp_floor));
	p += nf * sizeof(tp_floor);
	if (nr > 0)
		memcpy(p, s->rows, nr * sizeof(tp_row));
	*len = n;
	return out;
}

/* Hand rows written+1 .. upto to the writer (missing seconds as U) and the JSON when dirty.
 * Until a record of the session is final there is no row to hand over: a session with markers
 * only never gets an RRD, and one whose data starts late gets U rows from its first second. */
/* One job of rows for the writer, or NULL (out of memory). */
static tp_archive_job *tp_job_new(const tp_sess *s, tp_out *out)
{
	tp_archive_job *j;

	if (tp_grow((void **)&out->jobs, &out->capjobs, out->njobs + 1, sizeof *out->jobs))
		return NULL;
	j = &out->jobs[out->njobs++];
	memset(j, 0, sizeof *j);
	snprintf(j->vm, sizeof j->vm, "%s", s->vm);
	snprintf(j->session, sizeof j->session, "%s", s->id);
	j->first = s->first;
	return j;
}

/* Hand the writer the next run of pending rows at or before upto: consecutive seconds from just
 * before the first pending row (a leading unknown row, so that the RRD's heartbeat rule stores
 * that row's values rather than the gap's) to the last row before a gap longer than the
 * heartbeat, at most TP_RUN_MAX seconds. Missing seconds inside a run are U; the RRD keeps a
 * longer gap unknown by itself. So memory and writes follow the data, never the span between
 * two records. False when there is no such row (or no memory). */
#define TP_RUN_MAX 3600
static bool tp_emit_run(tp_sess *s, int64_t upto, tp_out *out)
{
	int64_t from, to;
	size_t k = 0, n;
	tp_archive_job *j;

	if (s->nrows == 0 || s->rows[0].t > upto)
		return false;
	from = s->written + 1;
	if (s->rows[0].t - 1 > from)
		from = s->rows[0].t - 1;
	to = s->rows[0].t;
	for (size_t i = 1; i < s->nrows && s->rows[i].t <= upto; i++) {
		if (s->rows[i].t - to > TH_ARCHIVE_HEARTBEAT || s->rows[i].t - from >= TP_RUN_MAX)
			break;
		to = s->rows[i].t;
	}
	n = (size_t)(to - from + 1);
	if ((j = tp_job_new(s, out)) == NULL)
		return false;
	if ((j->rows = malloc(n * TH_ARCHIVE_NDS * sizeof *j->rows)) == NULL) {
		out->njobs--;
		return false;
	}
	for (size_t r = 0; r < n; r++) {
		int64_t t = from + (int64_t)r;
		double *dst = &j->rows[r * TH_ARCHIVE_NDS];
		bool have = k < s->nrows && s->rows[k].t == t;

		for (size_t d = 0; d < TH_ARCHIVE_NDS; d++)
			dst[d] = have ? s->rows[k].v[d] : NAN;
		k += have;
	}
	memmove(s->rows, s->rows + k, (s->nrows - k) * sizeof *s->rows);
	s->nrows -= k;
	j->row0 = from;
	j->nrows = n;
	j->need_rows = to - s->first + 1;
	j->create = !s->created;
	s->created = true;
	s->written = to;
	return true;
}

/* Hand the rows final up to upto to the writer, then the .pending image when the rows changed
 * and the JSON when asked. No RRD exists before a session's first record. */
static void tp_emit(tp_core *c, tp_sess *s, int64_t upto, bool json, tp_out *out)
{
	bool rows = false;
	tp_archive_job *j = NULL;

	if (!c->cfg.archive)
		return;
	while (tp_emit_run(s, upto, out))
		rows = true;
	/* The seconds after the last record up to upto stay unknown in the RRD; later records
	 * for them are not archived (as for any second written). */
	if (s->created && s->written < upto) {
		s->written = upto;
		rows = true;
	}
	if (!rows && !json && !s->pending_dirty)
		return;
	if (rows && out->njobs > 0 && strcmp(out->jobs[out->njobs - 1].session, s->id) == 0 &&
	    strcmp(out->jobs[out->njobs - 1].vm, s->vm) == 0)
		j = &out->jobs[out->njobs - 1];
	if (j == NULL && (j = tp_job_new(s, out)) == NULL)
		return;
	if (rows || s->pending_dirty) {
		if (s->closed != TP_OPEN) {
			j->pending = malloc(1);
			j->pending_len = 0;
		} else {
			j->pending = tp_pending_image(s, &j->pending_len);
		}
		s->pending_dirty = false;
	}
	if (json) {
		j->json = tp_session_json(s);
		s->json_dirty = false;
	}
}

/* ------------------------------------------------------------------ summary */

const char *tp_source_name(tp_source src)
{
	return src == TP_SRC_PLUGIN    ? "plugin"
	       : src == TP_SRC_TRIGGER ? "trigger"
	       : src == TP_SRC_BOTH    ? "both"
	                               : NULL;
}

static bool tp_net_known(const th_summary *x)
{
	return !isnan(x->downtime_ms) || !isnan(x->downtime_bound_ms) ||
	       !isnan(x->outage_total_ms) || x->lost_up >= 0 || x->lost_down >= 0 ||
	       x->lost_unknown >= 0;
}

static bool tp_lost_differ(int64_t a, int64_t b)
{
	return a >= 0 && b >= 0 && a != b;
}

tp_source tp_core_merge_summary(const th_summary *marker, const th_summary *plugin, th_summary *out)
{
	bool had, differ = false;
	double bound = 0;

	if (marker != NULL)
		*out = *marker;
	else
		th_summary_init(out);
	had = tp_net_known(out);
	if (had) {
		if (isfinite(out->downtime_bound_ms))
			bound = out->downtime_bound_ms;
		if (isfinite(plugin->downtime_bound_ms) && plugin->downtime_bound_ms > bound)
			bound = plugin->downtime_bound_ms;
		differ = (!isnan(out->downtime_ms) && !isnan(plugin->downtime_ms) &&
		          fabs(out->downtime_ms - plugin->downtime_ms) > bound + 1e-6) ||
		         tp_lost_differ(out->lost_up, plugin->lost_up) ||
		         tp_lost_differ(out->lost_down, plugin->lost_down) ||
		         tp_lost_differ(out->lost_unknown, plugin->lost_unknown);
	}
	if (isnan(out->downtime_ms))
		out->downtime_ms = plugin->downtime_ms;
	if (isnan(out->downtime_bound_ms))
		out->downtime_bound_ms = plugin->downtime_bound_ms;
	if (isnan(out->outage_total_ms))
		out->outage_total_ms = plugin->outage_total_ms;
	if (out->lost_up < 0)
		out->lost_up = plugin->lost_up;
	if (out->lost_down < 0)
		out->lost_down = plugin->lost_down;
	if (out->lost_unknown < 0)
		out->lost_unknown = plugin->lost_unknown;
	if (isnan(out->delta_ms) && isfinite(out->downtime_ms) && isfinite(out->hv_downtime_ms))
		out->delta_ms = out->downtime_ms - out->hv_downtime_ms;
	return !had ? TP_SRC_PLUGIN : differ ? TP_SRC_BOTH : TP_SRC_TRIGGER;
}

static const th_marker *tp_sess_marker(const tp_sess *s, th_event ev)
{
	for (size_t i = 0; i < s->nmarkers; i++)
		if (s->markers[i].event == ev)
			return &s->markers[i];
	return NULL;
}

/* The plugin's network figures of s (th_summary_network, the trigger's function) over its loss
 * counts and outages, window [migration-request t (else migration-start t, else the session's
 * start), migration-end t + SummaryGrace (else session-end t, else the session's last second)].
 * The loss counts go in as one "second" record holding the window's sums: the function only
 * adds them up and notes that the window has a second. */
static void tp_sess_network(const tp_core *c, const tp_sess *s, th_summary *p)
{
	const th_marker *req = tp_sess_marker(s, TH_EV_MIGRATION_REQUEST);
	const th_marker *mst = tp_sess_marker(s, TH_EV_MIGRATION_START);
	const th_marker *mend = tp_sess_marker(s, TH_EV_MIGRATION_END);
	double a = req ? req->t : mst ? mst->t : s->t_start, b;
	int64_t sec0, sec1, up = 0, down = 0, unk = 0;
	bool covered = false;
	th_record *recs;
	size_t n = 0;

	th_summary_init(p);
	if (mend != NULL)
		b = mend->t + c->cfg.summary_grace_s;
	else if (s->ended)
		b = s->t_end;
	else
		b = (double)(s->max_t > s->written ? s->max_t : s->written);
	if (s->nmarkers > 0 && mend == NULL && !s->ended && s->markers[s->nmarkers - 1].t > b)
		b = s->markers[s->nmarkers - 1].t;
	if (b < a)
		b = a;
	if ((recs = calloc(s->noutages + 1, sizeof *recs)) == NULL)
		return; /* out of memory: the figures stay unknown */
	sec0 = (int64_t)floor(a);
	sec1 = (int64_t)floor(b);
	for (int64_t t = sec0 > s->first ? sec0 : s->first;
	     t <= sec1 && t - s->first < (int64_t)s->nloss; t++) {
		const tp_loss *l = &s->loss[t - s->first];

		if (l->up == TP_LOSS_NONE)
			continue;
		covered = true;
		up += l->up;
		down += l->down;
		unk += l->unk;
	}
	if (covered) {
		recs[n].kind = TH_REC_SECOND;
		recs[n].u.second.t = sec0;
		recs[n].u.second.lost_up = (uint32_t)(up > UINT32_MAX ? UINT32_MAX : up);
		recs[n].u.second.lost_down = (uint32_t)(down > UINT32_MAX ? UINT32_MAX : down);
		recs[n].u.second.lost_unknown = (uint32_t)(unk > UINT32_MAX ? UINT32_MAX : unk);
		n++;
	}
	for (size_t i = 0; i < s->noutages; i++) {
		recs[n].kind = TH_REC_OUTAGE;
		recs[n++].u.outage = s->outages[i];
	}
	(void)th_summary_network(p, recs, n, NULL, a, b, NULL); /* a <= b, both finite */
	free(recs);
	/* Seconds of the window whose counts it does not hold (archived before a restart, or past
	 * its first TP_LOSS_MAX seconds): its loss counts are unknown. */
	if (sec0 < s->loss_from || (s->loss_dropped > 0 && sec1 - s->first >= TP_LOSS_MAX))
		p->lost_up = p->lost_down = p->lost_unknown = -1;
}

/* The final summary of s: the session-end marker's, its unknown network figures filled from the
 * plugin's own (with ArchiveDir; without, the plugin keeps no records and sends the marker's). */
static void tp_sess_summarise(const tp_core *c, tp_sess *s)
{
	const th_marker *end = tp_sess_marker(s, TH_EV_SESSION_END);
	th_summary p;

	if (!c->cfg.archive) {
		if (end != NULL)
			s->summary = end->summary;
		else
			th_summary_init(&s->summary);
		return;
	}
	tp_sess_network(c, s, &p);
	s->source = tp_core_merge_summary(end ? &end->summary : NULL, &p, &s->summary);
	/* the plugin's figures beside the other (non-network) figures of the final summary */
	s->summary_net = s->summary;
	s->summary_net.downtime_ms = p.downtime_ms;
	s->summary_net.downtime_bound_ms = p.downtime_bound_ms;
	s->summary_net.outage_total_ms = p.outage_total_ms;
	s->summary_net.lost_up = p.lost_up;
	s->summary_net.lost_down = p.lost_down;
	s->summary_net.lost_unknown = p.lost_unknown;
	th_summary_set_hv(&s->summary_net, s->summary.hv_downtime_ms, s->summary.hv_total_ms);
}

static void tp_finalise(tp_core *c, size_t idx, tp_closed how, int64_t now_ns, tp_out *out)
{
	tp_sess *s = c->sess[idx];
	int64_t last = s->ended ? (int64_t)floor(s->t_end) : s->max_t;
	double t = how == TP_CLOSED_TIMEOUT ? (double)c->cfg.wall_ns() / 1e9 : s->t_end;

	if (last < s->written)
		last = s->written;
	s->closed = how;
	s->pending_dirty = true; /* removes the .pending file */
	tp_sess_summarise(c, s);
	tp_emit(c, s, last, true, out);
	/* The JSON job (the last one of s) carries its summaries.jsonl line. */
	if (c->cfg.archive && !s->summary_logged && out->njobs > 0 &&
	    strcmp(out->jobs[out->njobs - 1].session, s->id) == 0 &&
	    out->jobs[out->njobs - 1].json != NULL)
		out->jobs[out->njobs - 1].summary_line = tp_session_summary_line(s);
	tp_summary_values(s, &s->summary, t, out);
	tp_notice_add(c, s, how == TP_CLOSED_TIMEOUT, t, out);
	(void)tp_core_mark_finished(c, s->id); /* out of memory: only idempotency suffers */
	tp_sess_free(s);
	c->sess[idx] = c->sess[--c->nsess];
	(void)now_ns;
}

void tp_core_tick(tp_core *c, int64_t now_ns, bool final, tp_out *out)
{
	int64_t lag_ns = c->cfg.archive_lag_s * TH_NS_PER_SEC;

	if (c->cfg.limits.accept_past_s > 0 && (final || now_ns >= c->next_sweep_ns)) {
		tp_streams_sweep(c, c->cfg.wall_ns() / TH_NS_PER_SEC, out);
		c->next_sweep_ns = now_ns + TP_SWEEP_NS;
	}
	for (size_t i = c->nsess; i-- > 0;) {
		tp_sess *s = c->sess[i];
		int64_t upto;

		/* At a clean shutdown a session whose end arrived is closed now: nothing after
		 * the grace could change it but late records, which a restart would not keep. */
		if (s->ended && (final || now_ns - s->end_ns >= c->cfg.session_grace_ns)) {
			tp_finalise(c, i, TP_CLOSED_END, now_ns, out);
			continue;
		}
		if (!s->ended && now_ns - s->last_marker_ns >= c->cfg.session_timeout_ns) {
			tp_finalise(c, i, TP_CLOSED_TIMEOUT, now_ns, out);
			continue;
		}
		upto = s->max_t - c->cfg.archive_lag_s;
		if (final || now_ns - s->last_data_ns >= lag_ns)
			upto = s->max_t;
		if (s->ended && upto > (int64_t)floor(s->t_end))
			upto = (int64_t)floor(s->t_end);
		tp_emit(c, s, upto, s->json_dirty || final, out);
	}
	if (c->cfg.archive && (final || now_ns >= c->next_tally_ns)) {
		tp_vms_tally(c, c->cfg.wall_ns() / TH_NS_PER_SEC, final, out);
		c->next_tally_ns = now_ns + TP_TALLY_NS;
	}
}

th_err tp_core_summary_logged(tp_core *c, const char *session)
{
	tp_sess *s = tp_sess_find(c, session);

	if (s == NULL)
		return TH_ERR_NOTFOUND;
	s->summary_logged = true;
	return TH_OK;
}

th_err tp_core_resume(tp_core *c, const th_marker *m, size_t nm, const th_record *outages,
                      size_t no, int64_t first, int64_t last_written, int64_t now_ns, char *errbuf)
{
	size_t dups;
	tp_sess *s;
	tp_out scratch = {0};
	th_err e;

	if (nm == 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "resume: a session needs its markers");
	if (tp_sess_find(c, m[0].session) != NULL)
		return th_seterr(errbuf, TH_ERR_STATE, "resume: session %s already known",
		                 m[0].session);
	/* Replaying the markers rebuilds the session; its values were dispatched before. */
	e = tp_markers_take(c, m, nm, now_ns, &scratch, &dups, false, errbuf);
	tp_out_free(&scratch);
	if (e != TH_OK)
		return e;
	s = tp_sess_find(c, m[0].session);
	s->first = first;
	s->written = last_written;
	s->nloss = 0; /* the loss counts of the seconds stored before are not known */
	s->loss_from = last_written + 1 > first ? last_written + 1 : first;
	if (s->max_t < last_written)
		s->max_t = last_written;
	s->created = last_written >= first;
	for (size_t i = 0; i < no; i++) {
		tp_stream *st =
		    tp_stream_get(c, outages[i].vm, outages[i].stream, TH_REC_OUTAGE, &e);

		if (st == NULL || tp_sess_outage(c, s, &outages[i]))
			return th_seterr(errbuf, TH_ERR_NOMEM, "resume: out of memory");
		(void)tp_seen(st, &outages[i]); /* a re-sent outage is a duplicate */
	}
	s->json_dirty = false;
	return TH_OK;
}

/* ------------------------------------------------------------------ dispatch marks */

/* One mark line ({"vm":..,"stream":..,"kind":..,"t":..}\n) appended to *out; false on failure. */
static bool tp_mark_line(yajl_gen g, const tp_stream *st, char **out, size_t *olen, size_t *ocap)
{
	int64_t t = st->last_t > st->floor_t ? st->last_t : st->floor_t;
	double ot = st->out_newest > st->out_floor ? st->out_newest : st->out_floor;
	const char *kind = th_record_kind_name(st->kind);
	const unsigned char *buf;
	char num[32];
	size_t len;

	if (st->kind == TH_REC_OUTAGE ? isinf(ot) : t == INT64_MIN)
		return true;
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"vm", 2);
	yajl_gen_string(g, (const unsigned char *)st->vm, strlen(st->vm));
	yajl_gen_string(g, (const unsigned char *)"stream", 6);
	yajl_gen_string(g, (const unsigned char *)st->stream, strlen(st->stream));
	yajl_gen_string(g, (const unsigned char *)"kind", 4);
	yajl_gen_string(g, (const unsigned char *)kind, strlen(kind));
	yajl_gen_string(g, (const unsigned char *)"t", 1);
	if (st->kind == TH_REC_OUTAGE)
		snprintf(num, sizeof num, "%.6f", ot);
	else
		snprintf(num, sizeof num, "%lld", (long long)t);
	yajl_gen_number(g, num, strlen(num));
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &buf, &len);
	if (*olen + len + 2 > *ocap) {
		size_t cap = *ocap;
		char *grown;

		while (*olen + len + 2 > cap)
			cap *= 2;
		if ((grown = realloc(*out, cap)) == NULL)
			return false;
		*out = grown;
		*ocap = cap;
	}
	memcpy(*out + *olen, buf, len);
	*olen += len;
	(*out)[(*olen)++] = '\n';
	(*out)[*olen] = '\0';
	yajl_gen_clear(g);
	yajl_gen_reset(g, NULL);
	return true;
}

char *tp_core_marks(tp_core *c, bool all)
{
	size_t olen = 0, ocap = 256;
	bool ok = true;
	yajl_gen g;
	char *out;

	if ((!all && c->ndirty == 0) || (out = malloc(ocap)) == NULL)
		return NULL;
	if ((g = yajl_gen_alloc(NULL)) == NULL) {
		free(out);
		return NULL;
	}
	out[0] = '\0';
	if (all) {
		for (size_t b = 0; b < c->nbuckets && ok; b++)
			for (const tp_stream *st = c->buckets[b]; st != NULL && ok; st = st->next)
				ok = tp_mark_line(g, st, &out, &olen, &ocap);
	} else {
		for (size_t i = 0; i < c->ndirty && ok; i++)
			ok = tp_mark_line(g, c->dirty[i], &out, &olen, &ocap);
	}
	yajl_gen_free(g);
	if (!ok) {
		free(out);
		return NULL; /* stays dirty: tried again next time */
	}
	for (size_t i = 0; i < c->ndirty; i++)
		c->dirty[i]->dirty = false;
	c->ndirty = 0;
	return out;
}

th_err tp_core_load_marks(tp_core *c, const char *text, size_t len, char *errbuf)
{
	size_t pos = 0, lineno = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		char vm[TH_NAME_MAX], stream[TH_NAME_MAX], kind[16], w[32];
		yajl_val v = NULL;
		double t = 0;
		th_record_kind k;
		tp_stream *st;
		th_err e;

		lineno++;
		snprintf(w, sizeof w, "marks line %zu", lineno);
		if (end > pos) {
			if ((e = th_json_parse(text + pos, end - pos, &v, errbuf)) ||
			    (e = th_json_string(v, w, "vm", vm, sizeof vm, errbuf)) ||
			    (e = th_json_string(v, w, "stream", stream, sizeof stream, errbuf)) ||
			    (e = th_json_string(v, w, "kind", kind, sizeof kind, errbuf)) ||
			    (e = th_json_double(v, w, "t", 0, TH_EPOCH_MAX, false, &t, errbuf))) {
				yajl_tree_free(v);
				return e;
			}
			yajl_tree_free(v);
			k = strcmp(kind, "iperf") == 0    ? TH_REC_IPERF
			    : strcmp(kind, "outage") == 0 ? TH_REC_OUTAGE
			                                  : TH_REC_SECOND;
			st = tp_stream_get(c, vm, stream, k, &e);
			if (st == NULL)
				return th_seterr(errbuf, e, "%s: %s", w,
				                 e == TH_ERR_LIMIT ? "more streams than MaxStreams"
				                                   : "out of memory");
			if (k == TH_REC_OUTAGE && t > st->out_floor)
				st->out_floor = t;
			else if (k != TH_REC_OUTAGE && (int64_t)t > st->floor_t)
				st->floor_t = (int64_t)t;
		}
		pos = end + 1;
	}
	return TH_OK;
}

th_err tp_core_resume_rows(tp_core *c, const char *session, const char *data, size_t len,
                           char *errbuf)
{
	tp_sess *s = tp_sess_find(c, session);
	uint32_t nf, nr;
	const char *p = data;

	if (s == NULL)
		return th_seterr(errbuf, TH_ERR_NOTFOUND, "pending rows: no session %s", session);
	if (len < 8 + 2 * sizeof(uint32_t) || memcmp(p, TP_PENDING_MAGIC, 8) != 0)
		return th_seterr(errbuf, TH_ERR_PARSE, "pending rows of %s: not a pending file",
		                 session);
	memcpy(&nf, p + 8, sizeof nf);
	memcpy(&nr, p + 8 + sizeof nf, sizeof nr);
	p += 8 + 2 * sizeof(uint32_t);
	if (len !=
	    8 + 2 * sizeof(uint32_t) + (size_t)nf * sizeof(tp_floor) + (size_t)nr * sizeof(tp_row))
		return th_seterr(errbuf, TH_ERR_PARSE, "pending rows of %s: truncated file",
		                 session);
	for (uint32_t i = 0; i < nf; i++, p += sizeof(tp_floor)) {
		tp_floor fl;
		tp_floor *f;

		memcpy(&fl, p, sizeof fl);
		fl.stream[TH_NAME_MAX - 1] = '\0';
		if ((f = tp_floor_get(s, fl.stream, fl.kind)) == NULL)
			return th_seterr(errbuf, TH_ERR_NOMEM, "pending rows: out of memory");
		if (fl.t > f->t)
			f->t = fl.t;
	}
	for (uint32_t i = 0; i < nr; i++, p += sizeof(tp_row)) {
		tp_row rw, *row;

		memcpy(&rw, p, sizeof rw);
		if (rw.t <= s->written)
			continue;
		if ((row = tp_row_get(s, rw.t)) == NULL)
			return th_seterr(errbuf, TH_ERR_NOMEM, "pending rows: out of memory");
		*row = rw;
		if (rw.t > s->max_t)
			s->max_t = rw.t;
		if (tp_loss_add(s, rw.t, rw.v[A_LUP], rw.v[A_LDOWN], rw.v[A_LUNK]))
			return th_seterr(errbuf, TH_ERR_NOMEM, "pending rows: out of memory");
	}
	return TH_OK;
}
