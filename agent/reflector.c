/* reflector.c — per-stream reflector state (see reflector.h): a fixed array of streams, a
 * chained hash over stream ids, an LRU list through the same array, and a table of per-source
 * token buckets (GCRA form: one theoretical arrival time each). */
#include "themis-config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "reflector.h"
#include "th-time.h"

/* Entries are numbered from 1; 0 means "none" in chains and LRU links. */
typedef struct rstream {
	uint32_t id;
	uint32_t chain;        /* next entry in the same hash bucket */
	uint32_t newer, older; /* LRU neighbours */
	uint64_t last, run_start, rx;
	int64_t seen_ns;
	uint64_t top;                      /* highest sequence seen */
	uint64_t win[TH_REFL_WINDOW / 64]; /* bit (seq % WINDOW) set: seq seen */
} rstream;

struct th_reflector {
	th_refl_conf conf;
	rstream *s;          /* s[1..conf.max_streams] */
	uint32_t *bucket;    /* first entry of each hash chain */
	size_t mask;         /* buckets - 1 */
	uint32_t n;          /* entries in use: 1..n */
	uint32_t head, tail; /* most and least recently active */
	int64_t *tat;        /* per-source theoretical arrival time of the next new stream */
	int64_t emit_ns;     /* 1 s / new_per_sec */
	unsigned char id_key[crypto_shorthash_KEYBYTES], src_key[crypto_shorthash_KEYBYTES];
	th_refl_counters c;
};

void th_refl_conf_defaults(th_refl_conf *c)
{
	c->max_streams = 1024;
	c->active_window_ns = 120 * TH_NS_PER_SEC;
	c->new_per_sec = 8;
	c->new_burst = 32;
}

th_err th_reflector_new(th_reflector **out, const th_refl_conf *c, char *errbuf)
{
	th_reflector *r;
	size_t nb = 8;

	*out = NULL;
	if (c->max_streams < 1 || c->max_streams > TH_REFL_MAX_STREAMS)
		return th_seterr(errbuf, TH_ERR_INVALID, "stream table size %zu out of range",
		                 c->max_streams);
	if (c->active_window_ns < 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "active window %lld ns is negative",
		                 (long long)c->active_window_ns);
	if (c->new_per_sec > 1000000 || (c->new_per_sec > 0 && c->new_burst < 1))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "new-stream limit %u/s with burst %u out of range", c->new_per_sec,
		                 c->new_burst);
	if (sodium_init() < 0)
		return th_seterr(errbuf, TH_ERR_STATE, "libsodium could not be initialised");
	while (nb < 2 * c->max_streams)
		nb *= 2;
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory for the stream table");
	r->conf = *c;
	r->mask = nb - 1;
	r->s = calloc(c->max_streams + 1, sizeof *r->s);
	r->bucket = calloc(nb, sizeof *r->bucket);
	r->tat = calloc(TH_REFL_SOURCES, sizeof *r->tat);
	if (r->s == NULL || r->bucket == NULL || r->tat == NULL) {
		th_reflector_free(r);
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory for a table of %zu streams",
		                 c->max_streams);
	}
	r->emit_ns = c->new_per_sec > 0 ? TH_NS_PER_SEC / c->new_per_sec : 0;
	crypto_shorthash_keygen(r->id_key);
	crypto_shorthash_keygen(r->src_key);
	*out = r;
	return TH_OK;
}

void th_reflector_free(th_reflector *r)
{
	if (r == NULL)
		return;
	free(r->s);
	free(r->bucket);
	free(r->tat);
	sodium_memzero(r, sizeof *r);
	free(r);
}

void th_reflector_counters(const th_reflector *r, th_refl_counters *out)
{
	*out = r->c;
	out->streams = r->n;
}

static uint64_t keyed_hash(const unsigned char *key, const void *in, size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, in, len, key);
	memcpy(&v, h, sizeof v);
	return v;
}

static uint32_t *bucket_of(th_reflector *r, uint32_t id)
{
	return &r->bucket[keyed_hash(r->id_key, &id, sizeof id) & r->mask];
}

static void unhash(th_reflector *r, uint32_t i)
{
	uint32_t *p = bucket_of(r, r->s[i].id);

	while (*p != i)
		p = &r->s[*p].chain;
	*p = r->s[i].chain;
}

static void lru_unlink(th_reflector *r, uint32_t i)
{
	rstream *e = &r->s[i];

	if (e->newer != 0)
		r->s[e->newer].older = e->older;
	else
		r->head = e->older;
	if (e->older != 0)
		r->s[e->older].newer = e->newer;
	else
		r->tail = e->newer;
	e->newer = e->older = 0;
}

static void lru_push(th_reflector *r, uint32_t i)
{
	r->s[i].older = r->head;
	r->s[i].newer = 0;
	if (r->head != 0)
		r->s[r->head].newer = i;
	r->head = i;
	if (r->tail == 0)
		r->tail = i;
}

/* One more new stream from src at now_ns within its source's limit? Takes the token if so. */
static bool source_allows(th_reflector *r, const th_refl_src *src, int64_t now_ns)
{
	uint8_t a[18];

	if (r->emit_ns == 0)
		return true;
	memcpy(a, &src->family, 2);
	memcpy(a + 2, src->addr, 16);
	int64_t *tat = &r->tat[keyed_hash(r->src_key, a, sizeof a) % TH_REFL_SOURCES];
	int64_t t = *tat > now_ns ? *tat : now_ns;
	if (t - now_ns > (int64_t)(r->conf.new_burst - 1) * r->emit_ns)
		return false;
	*tat = t + r->emit_ns;
	return true;
}

/* The entry of stream id, a new one, or 0 with *v saying why there is none. */
static uint32_t lookup(th_reflector *r, const th_refl_src *src, uint32_t id, int64_t now_ns,
                       th_refl_verdict *v)
{
	uint32_t *b = bucket_of(r, id), i;

	for (i = *b; i != 0; i = r->s[i].chain)
		if (r->s[i].id == id)
			break;
	if (i != 0) {
		if (r->head != i) {
			lru_unlink(r, i);
			lru_push(r, i);
		}
		return i;
	}
	bool full = r->n >= r->conf.max_streams;
	if (full && now_ns - r->s[r->tail].seen_ns <= r->conf.active_window_ns) {
		r->c.refused++;
		*v = TH_REFL_REFUSED;
		return 0;
	}
	if (!source_allows(r, src, now_ns)) {
		r->c.rate_limited++;
		*v = TH_REFL_RATE_LIMITED;
		return 0;
	}
	if (full) {
		i = r->tail;
		unhash(r, i);
		lru_unlink(r, i);
		r->c.evicted++;
	} else {
		i = ++r->n;
	}
	memset(&r->s[i], 0, sizeof r->s[i]);
	r->s[i].id = id;
	r->s[i].chain = *b;
	*b = i;
	lru_push(r, i);
	r->c.created++;
	return i;
}

static bool bit(const rstream *e, uint64_t seq)
{
	uint64_t b = seq % TH_REFL_WINDOW;

	return (e->win[b / 64] >> (b % 64)) & 1;
}

static void set_bit(rstream *e, uint64_t seq, bool on)
{
	uint64_t b = seq % TH_REFL_WINDOW;

	if (on)
		e->win[b / 64] |= 1ULL << (b % 64);
	else
		e->win[b / 64] &= ~(1ULL << (b % 64));
}

th_refl_verdict th_reflector_receive(th_reflector *r, const th_refl_src *src, uint32_t id,
                                     uint64_t seq, int64_t now_ns, th_refl_answer *a)
{
	th_refl_verdict v = TH_REFL_ECHO;
	uint32_t i = lookup(r, src, id, now_ns, &v);

	memset(a, 0, sizeof *a);
	if (i == 0)
		return v;
	rstream *e = &r->s[i];
	e->seen_ns = now_ns;
	if (e->top != 0 && seq + TH_REFL_WINDOW <= e->top)
		v = TH_REFL_TOO_OLD;
	else if (seq <= e->top && bit(e, seq))
		v = TH_REFL_DUP;
	if (v != TH_REFL_ECHO) {
		a->prev_seq = e->last;
		a->run_start = e->last != 0 ? e->run_start : 0;
		a->rx_count = e->rx != 0 ? e->rx : 1;
		return v;
	}
	if (seq > e->top) {
		/* slide the window: forget the numbers that fall out of it */
		uint64_t from = e->top + 1;
		if (seq - e->top >= TH_REFL_WINDOW)
			memset(e->win, 0, sizeof e->win);
		else
			for (uint64_t q = from; q < seq; q++)
				set_bit(e, q, false);
		e->top = seq;
	}
	set_bit(e, seq, true);
	a->prev_seq = e->last;
	a->run_start = e->last != 0 ? e->run_start : 0;
	a->rx_count = ++e->rx;
	if (e->last == 0 || seq != e->last + 1)
		e->run_start = seq;
	e->last = seq;
	return TH_REFL_ECHO;
}
