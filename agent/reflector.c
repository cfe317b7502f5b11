/* reflector.c — per-stream reflector state in an open-addressing hash table (see reflector.h). */
#include "themis-config.h"

#include <stdlib.h>
#include <string.h>

#include "reflector.h"

typedef struct rstream {
	bool used;
	th_refl_src src;
	uint32_t id;
	uint64_t last, run_start, rx;
	int64_t seen_ns;
	uint64_t top;                      /* highest sequence seen */
	uint64_t win[TH_REFL_WINDOW / 64]; /* bit (seq % WINDOW) set: seq seen */
} rstream;

struct th_reflector {
	rstream *tab;
	size_t cap, n, max;
	uint64_t evicted;
};

th_err th_reflector_new(th_reflector **out, size_t max_streams, char *errbuf)
{
	th_reflector *r;

	*out = NULL;
	if (max_streams < 1 || max_streams > 1000000)
		return th_seterr(errbuf, TH_ERR_INVALID, "stream table size %zu out of range",
		                 max_streams);
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory for the stream table");
	r->max = max_streams;
	r->cap = 8;
	while (r->cap < 2 * max_streams && r->cap < 64)
		r->cap *= 2;
	r->tab = calloc(r->cap, sizeof *r->tab);
	if (r->tab == NULL) {
		free(r);
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory for the stream table");
	}
	*out = r;
	return TH_OK;
}

void th_reflector_free(th_reflector *r)
{
	if (r == NULL)
		return;
	free(r->tab);
	free(r);
}

size_t th_reflector_streams(const th_reflector *r)
{
	return r->n;
}

uint64_t th_reflector_evicted(const th_reflector *r)
{
	return r->evicted;
}

static size_t hash(const th_refl_src *s, uint32_t id)
{
	uint64_t h = 1469598103934665603ULL;
	const uint8_t *b = (const uint8_t *)s;

	for (size_t i = 0; i < sizeof *s; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	h = (h ^ id) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static bool same(const rstream *e, const th_refl_src *s, uint32_t id)
{
	return e->used && e->id == id && memcmp(&e->src, s, sizeof *s) == 0;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void del(th_reflector *r, size_t i)
{
	size_t j = i;

	r->tab[i].used = false;
	for (;;) {
		j = (j + 1) & (r->cap - 1);
		if (!r->tab[j].used)
			break;
		size_t k = hash(&r->tab[j].src, r->tab[j].id) & (r->cap - 1);
		/* move j to i unless its home k lies cyclically in (i, j] */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		r->tab[i] = r->tab[j];
		r->tab[j].used = false;
		i = j;
	}
	r->n--;
}

static int grow(th_reflector *r)
{
	size_t ncap = r->cap * 2;
	rstream *nt = calloc(ncap, sizeof *nt);

	if (nt == NULL)
		return -1;
	for (size_t i = 0; i < r->cap; i++) {
		if (!r->tab[i].used)
			continue;
		size_t k = hash(&r->tab[i].src, r->tab[i].id) & (ncap - 1);
		while (nt[k].used)
			k = (k + 1) & (ncap - 1);
		nt[k] = r->tab[i];
	}
	free(r->tab);
	r->tab = nt;
	r->cap = ncap;
	return 0;
}

static rstream *lookup(th_reflector *r, const th_refl_src *src, uint32_t id, int64_t now_ns)
{
	size_t i = hash(src, id) & (r->cap - 1);

	while (r->tab[i].used) {
		if (same(&r->tab[i], src, id))
			return &r->tab[i];
		i = (i + 1) & (r->cap - 1);
	}
	if (r->n >= r->max) {
		/* full: the stream silent for longest makes room */
		size_t old = 0;
		for (size_t k = 0; k < r->cap; k++)
			if (r->tab[k].used &&
			    (!r->tab[old].used || r->tab[k].seen_ns < r->tab[old].seen_ns))
				old = k;
		del(r, old);
		r->evicted++;
	} else if (2 * (r->n + 1) > r->cap && grow(r) != 0) {
		return NULL;
	}
	i = hash(src, id) & (r->cap - 1);
	while (r->tab[i].used)
		i = (i + 1) & (r->cap - 1);
	memset(&r->tab[i], 0, sizeof r->tab[i]);
	r->tab[i].used = true;
	r->tab[i].src = *src;
	r->tab[i].id = id;
	r->tab[i].seen_ns = now_ns;
	r->n++;
	return &r->tab[i];
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
	rstream *e = lookup(r, src, id, now_ns);
	th_refl_verdict v = TH_REFL_ECHO;

	if (e == NULL) {
		memset(a, 0, sizeof *a);
		a->rx_count = 1;
		return TH_REFL_TOO_OLD;
	}
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
