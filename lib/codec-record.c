/* codec-record.c — strict JSON decoding of agent records (see codec-record.h). */
#include "themis-config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "codec-json.h"
#include "codec-record.h"

#define U32 ((int64_t)UINT32_MAX)

static th_err th_u32(yajl_val v, const char *w, const char *key, uint32_t *out, char *errbuf)
{
	int64_t x = 0;
	th_err e = th_json_int(v, w, key, 0, U32, &x, errbuf);

	*out = (uint32_t)x;
	return e;
}

static th_err th_decode_second(yajl_val v, const char *w, th_second *s, char *errbuf)
{
	th_err e;

	if ((e = th_json_int(v, w, "t", 0, TH_EPOCH_MAX, &s->t, errbuf)) ||
	    (e = th_json_double(v, w, "interval_ms", 1e-6, 3.6e6, false, &s->interval_ms,
	                        errbuf)) ||
	    (e = th_u32(v, w, "sent", &s->sent, errbuf)) ||
	    (e = th_u32(v, w, "received", &s->received, errbuf)) ||
	    (e = th_u32(v, w, "lost_up", &s->lost_up, errbuf)) ||
	    (e = th_u32(v, w, "lost_down", &s->lost_down, errbuf)) ||
	    (e = th_u32(v, w, "lost_unknown", &s->lost_unknown, errbuf)) ||
	    (e = th_u32(v, w, "late", &s->late, errbuf)) ||
	    (e = th_u32(v, w, "dup", &s->dup, errbuf)) ||
	    (e = th_json_double(v, w, "rtt_min_ms", 0, 1e9, true, &s->rtt_min_ms, errbuf)) ||
	    (e = th_json_double(v, w, "rtt_avg_ms", 0, 1e9, true, &s->rtt_avg_ms, errbuf)) ||
	    (e = th_json_double(v, w, "rtt_max_ms", 0, 1e9, true, &s->rtt_max_ms, errbuf)) ||
	    (e = th_json_double(v, w, "jitter_ms", 0, 1e9, true, &s->jitter_ms, errbuf)) ||
	    (e = th_json_double(v, w, "max_gap_ms", 0, 1e9, true, &s->max_gap_ms, errbuf)))
		return e;
	/* Later additions to §5.1: optional, 0 when absent. */
	int64_t x = 0;

	if ((e = th_json_int_opt(v, w, "stalled", 0, U32, &x, errbuf)))
		return e;
	s->stalled = (uint32_t)x;
	x = 0;
	if ((e = th_json_int_opt(v, w, "slips", 0, U32, &x, errbuf)))
		return e;
	s->slips = (uint32_t)x;
	x = 0;
	if ((e = th_json_int_opt(v, w, "prober_stall_ms", 0, U32, &x, errbuf)))
		return e;
	s->prober_stall_ms = (uint32_t)x;
	if (s->received > s->sent)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.received: %u exceeds sent %u", w,
		                 s->received, s->sent);
	if (!isnan(s->rtt_min_ms) && !isnan(s->rtt_max_ms) && s->rtt_min_ms > s->rtt_max_ms)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.rtt_min_ms: %g exceeds rtt_max_ms %g",
		                 w, s->rtt_min_ms, s->rtt_max_ms);
	return TH_OK;
}

static th_err th_decode_outage(yajl_val v, const char *w, th_outage *o, char *errbuf)
{
	char dir[8];
	int64_t lost = 0;
	th_err e;

	if ((e = th_json_string(v, w, "direction", dir, sizeof dir, errbuf)) != TH_OK)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.direction: expected \"up\", \"down\", \"both\" or \"unknown\"",
		                 w);
	if (strcmp(dir, "up") == 0)
		o->direction = TH_DIR_UP;
	else if (strcmp(dir, "down") == 0)
		o->direction = TH_DIR_DOWN;
	else if (strcmp(dir, "both") == 0)
		o->direction = TH_DIR_BOTH;
	else if (strcmp(dir, "unknown") == 0)
		o->direction = TH_DIR_UNKNOWN;
	else
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.direction: \"%s\" is not \"up\", \"down\", \"both\" or "
		                 "\"unknown\"",
		                 w, dir);
	if ((e = th_json_double(v, w, "start", 0, TH_EPOCH_MAX, false, &o->start, errbuf)) ||
	    (e = th_json_double(v, w, "end", 0, TH_EPOCH_MAX, false, &o->end, errbuf)) ||
	    (e = th_json_double(v, w, "duration_ms", 0, 1e12, false, &o->duration_ms, errbuf)) ||
	    (e = th_json_double(v, w, "bound_ms", 0, 1e12, false, &o->bound_ms, errbuf)) ||
	    (e = th_json_int(v, w, "lost", 0, U32, &lost, errbuf)))
		return e;
	o->lost = (uint32_t)lost;
	if (o->end < o->start)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.end: %.6f is before start %.6f", w,
		                 o->end, o->start);
	return TH_OK;
}

static th_err th_decode_iperf(yajl_val v, const char *w, th_iperf *p, char *errbuf)
{
	int64_t bytes = 0;
	th_err e;

	p->jitter_ms = NAN;
	p->lost_packets = -1;
	p->packets = -1;
	p->blackout = false;
	if ((e = th_json_int(v, w, "t", 0, TH_EPOCH_MAX, &p->t, errbuf)) ||
	    (e = th_json_double(v, w, "seconds", 1e-6, 3600, false, &p->seconds, errbuf)) ||
	    (e = th_json_int(v, w, "bytes", 0, INT64_MAX, &bytes, errbuf)) ||
	    (e = th_json_double(v, w, "bits_per_second", 0, 1e15, false, &p->bits_per_second,
	                        errbuf)) ||
	    (e = th_json_double_opt(v, w, "jitter_ms", 0, 1e9, &p->jitter_ms, errbuf)) ||
	    (e = th_json_int_opt(v, w, "lost_packets", 0, INT64_MAX, &p->lost_packets, errbuf)) ||
	    (e = th_json_int_opt(v, w, "packets", 0, INT64_MAX, &p->packets, errbuf)) ||
	    (e = th_json_bool_opt(v, w, "blackout", &p->blackout, errbuf)))
		return e;
	p->bytes = (uint64_t)bytes;
	if (bytes == 0)
		p->blackout = true;
	return TH_OK;
}

th_err th_record_decode_value(yajl_val v, const char *where, th_record *r, char *errbuf)
{
	char kind[16];
	th_err e;

	memset(r, 0, sizeof *r);
	if (!YAJL_IS_OBJECT(v))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: expected an object", where);
	if ((e = th_json_string(v, where, "kind", kind, sizeof kind, errbuf)) != TH_OK)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.kind: expected \"second\", \"outage\" or \"iperf\"", where);
	if ((e = th_json_string(v, where, "vm", r->vm, sizeof r->vm, errbuf)) ||
	    (e = th_json_string(v, where, "stream", r->stream, sizeof r->stream, errbuf)))
		return e;
	if (strcmp(kind, "second") == 0) {
		r->kind = TH_REC_SECOND;
		return th_decode_second(v, where, &r->u.second, errbuf);
	}
	if (strcmp(kind, "outage") == 0) {
		r->kind = TH_REC_OUTAGE;
		return th_decode_outage(v, where, &r->u.outage, errbuf);
	}
	if (strcmp(kind, "iperf") == 0) {
		r->kind = TH_REC_IPERF;
		return th_decode_iperf(v, where, &r->u.iperf, errbuf);
	}
	return th_seterr(errbuf, TH_ERR_INVALID,
	                 "%s.kind: \"%s\" is not \"second\", \"outage\" or \"iperf\"", where, kind);
}

/* POST bodies are decoded as a stream: each record object is gathered into a small flat yajl
 * tree in reusable storage (no allocation per value) and checked by th_record_decode_value(),
 * so a batch costs one pass and no tree of the whole document. */
#define TH_REC_MEMBERS 64
#define TH_REC_ARENA   16384

typedef struct th_rec_parse {
	th_record *recs;
	size_t n, cap;
	int depth;   /* 0 outside, 1 in the array, 2 in a record, >2 nested (ignored) */
	bool single; /* the body is one record object, not an array */
	struct yajl_val_s obj;
	struct yajl_val_s nodes[TH_REC_MEMBERS];
	const char *keys[TH_REC_MEMBERS];
	yajl_val vals[TH_REC_MEMBERS];
	char arena[TH_REC_ARENA];
	size_t used;
	const char *key; /* pending member name */
	th_err err;
	char *errbuf;
} th_rec_parse;

static const char *th_rp_where(th_rec_parse *p, char *buf, size_t size)
{
	snprintf(buf, size, "records[%zu]", p->n);
	return buf;
}

static int th_rp_fail(th_rec_parse *p, th_err e, const char *what)
{
	char w[32];

	p->err = th_seterr(p->errbuf, e, "%s: %s", th_rp_where(p, w, sizeof w), what);
	return 0;
}

static char *th_rp_store(th_rec_parse *p, const unsigned char *s, size_t len)
{
	char *dst;

	if (p->used + len + 1 > sizeof p->arena)
		return NULL;
	dst = p->arena + p->used;
	memcpy(dst, s, len);
	dst[len] = '\0';
	p->used += len + 1;
	return dst;
}

/* A new member value node of the record being gathered (depth 2), or NULL. */
static yajl_val th_rp_member(th_rec_parse *p, yajl_type type)
{
	size_t i = p->obj.u.object.len;

	if (p->key == NULL)
		return NULL;
	if (i >= TH_REC_MEMBERS) {
		th_rp_fail(p, TH_ERR_TOOBIG, "more than 64 members");
		return NULL;
	}
	memset(&p->nodes[i], 0, sizeof p->nodes[i]);
	p->nodes[i].type = type;
	p->keys[i] = p->key;
	p->vals[i] = &p->nodes[i];
	p->obj.u.object.len++;
	p->key = NULL;
	return &p->nodes[i];
}

/* Scalars: only members of a record matter; anything else at depth <= 1 is misplaced. */
static int th_rp_scalar(th_rec_parse *p, yajl_type type, const unsigned char *s, size_t len)
{
	yajl_val v;

	if (p->depth > 2)
		return 1;
	if (p->depth == 0) {
		p->err = th_seterr(p->errbuf, TH_ERR_INVALID,
		                   "body: expected a JSON array of records or one record object");
		return 0;
	}
	if (p->depth == 1)
		return th_rp_fail(p, TH_ERR_INVALID, "expected an object");
	if ((v = th_rp_member(p, type)) == NULL)
		return p->err ? 0 : 1;
	if (type == yajl_t_string) {
		if ((v->u.string = th_rp_store(p, s, len)) == NULL)
			return th_rp_fail(p, TH_ERR_TOOBIG, "record larger than 16384 bytes");
	} else if (type == yajl_t_number) {
		char *end;

		if ((v->u.number.r = th_rp_store(p, s, len)) == NULL)
			return th_rp_fail(p, TH_ERR_TOOBIG, "record larger than 16384 bytes");
		errno = 0;
		v->u.number.i = strtoll(v->u.number.r, &end, 10);
		if (errno == 0 && *end == '\0')
			v->u.number.flags |= YAJL_NUMBER_INT_VALID;
		errno = 0;
		v->u.number.d = strtod(v->u.number.r, &end);
		if (errno == 0 && *end == '\0')
			v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	}
	return 1;
}

static int th_rp_null(void *ctx)
{
	return th_rp_scalar(ctx, yajl_t_null, NULL, 0);
}

static int th_rp_bool(void *ctx, int b)
{
	return th_rp_scalar(ctx, b ? yajl_t_true : yajl_t_false, NULL, 0);
}

static int th_rp_number(void *ctx, const char *s, size_t len)
{
	return th_rp_scalar(ctx, yajl_t_number, (const unsigned char *)s, len);
}

static int th_rp_string(void *ctx, const unsigned char *s, size_t len)
{
	return th_rp_scalar(ctx, yajl_t_string, s, len);
}

static int th_rp_start_map(void *ctx)
{
	th_rec_parse *p = ctx;

	if (p->depth == 0) {
		p->single = true;
		p->depth = 1;
	}
	if (p->depth == 1) {
		p->obj.type = yajl_t_object;
		p->obj.u.object.keys = p->keys;
		p->obj.u.object.values = p->vals;
		p->obj.u.object.len = 0;
		p->used = 0;
		p->key = NULL;
	} else if (p->depth == 2 && th_rp_member(p, yajl_t_object) == NULL && p->err) {
		return 0;
	}
	p->depth++;
	return 1;
}

static int th_rp_key(void *ctx, const unsigned char *s, size_t len)
{
	th_rec_parse *p = ctx;

	if (p->depth != 2)
		return 1;
	if ((p->key = th_rp_store(p, s, len)) == NULL)
		return th_rp_fail(p, TH_ERR_TOOBIG, "record larger than 16384 bytes");
	return 1;
}

static int th_rp_end_map(void *ctx)
{
	th_rec_parse *p = ctx;
	char w[32];

	p->depth--;
	if (p->depth != 1)
		return 1;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		th_record *nr = realloc(p->recs, cap * sizeof *nr);

		if (nr == NULL)
			return th_rp_fail(p, TH_ERR_NOMEM, "out of memory");
		p->recs = nr;
		p->cap = cap;
	}
	p->err =
	    th_record_decode_value(&p->obj, th_rp_where(p, w, sizeof w), &p->recs[p->n], p->errbuf);
	if (p->err != TH_OK)
		return 0;
	p->n++;
	if (p->single)
		p->depth = 0;
	return 1;
}

static int th_rp_start_array(void *ctx)
{
	th_rec_parse *p = ctx;

	if (p->depth == 1)
		return th_rp_fail(p, TH_ERR_INVALID, "expected an object");
	if (p->depth == 2 && th_rp_member(p, yajl_t_array) == NULL && p->err)
		return 0;
	p->depth++;
	return 1;
}

static int th_rp_end_array(void *ctx)
{
	((th_rec_parse *)ctx)->depth--;
	return 1;
}

static const yajl_callbacks th_rp_callbacks = {
    .yajl_null = th_rp_null,
    .yajl_boolean = th_rp_bool,
    .yajl_number = th_rp_number,
    .yajl_string = th_rp_string,
    .yajl_start_map = th_rp_start_map,
    .yajl_map_key = th_rp_key,
    .yajl_end_map = th_rp_end_map,
    .yajl_start_array = th_rp_start_array,
    .yajl_end_array = th_rp_end_array,
};

th_err th_records_decode(const char *body, size_t len, th_record **out, size_t *n, char *errbuf)
{
	th_rec_parse *p;
	yajl_handle h;
	yajl_status st;
	th_err e;

	*out = NULL;
	*n = 0;
	if (memchr(body, '\0', len) != NULL)
		return th_seterr(errbuf, TH_ERR_PARSE, "body: contains a NUL byte");
	if ((p = calloc(1, sizeof *p)) == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "body: out of memory");
	p->errbuf = errbuf;
	if ((h = yajl_alloc(&th_rp_callbacks, NULL, p)) == NULL) {
		free(p);
		return th_seterr(errbuf, TH_ERR_NOMEM, "body: out of memory");
	}
	st = yajl_parse(h, (const unsigned char *)body, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st == yajl_status_client_canceled) {
		e = p->err;
	} else if (st != yajl_status_ok) {
		unsigned char *msg = yajl_get_error(h, 0, NULL, 0);

		e = th_seterr(errbuf, TH_ERR_PARSE, "body: malformed JSON: %s",
		              msg ? (const char *)msg : "parse error");
		yajl_free_error(h, msg);
	} else if (p->n == 0 && p->single) {
		e = th_seterr(errbuf, TH_ERR_PARSE, "body: malformed JSON: empty");
	} else {
		e = TH_OK;
	}
	yajl_free(h);
	if (e != TH_OK) {
		free(p->recs);
		free(p);
		return e;
	}
	*out = p->recs;
	*n = p->n;
	free(p);
	return TH_OK;
}
