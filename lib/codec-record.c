/* codec-record.c — strict JSON decoding of agent records (see codec-record.h). */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-json.h"
#include "codec-record.h"
#include "json-stream.h"
#include "th-name.h"
#include "th-record-names.h"

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

/* An optional per-direction window (DESIGN §4.4): both keys or neither, start <= end, inside
 * the outage (1 us of rounding allowed). */
static th_err th_decode_window(yajl_val v, const char *w, const char *dir, const th_outage *o,
                               double *a, double *b, char *errbuf)
{
	char ka[16], kb[16];
	th_err e;

	snprintf(ka, sizeof ka, "%s_start", dir);
	snprintf(kb, sizeof kb, "%s_end", dir);
	*a = *b = NAN;
	if ((th_json_member(v, ka) == NULL) != (th_json_member(v, kb) == NULL))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: %s and %s go together", w,
		                 th_json_member(v, ka) == NULL ? ka : kb, ka, kb);
	if (th_json_member(v, ka) == NULL)
		return TH_OK;
	if ((e = th_json_double(v, w, ka, 0, TH_EPOCH_MAX, false, a, errbuf)) ||
	    (e = th_json_double(v, w, kb, 0, TH_EPOCH_MAX, false, b, errbuf)))
		return e;
	if (*b < *a)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: %.6f is before %s %.6f", w, kb, *b,
		                 ka, *a);
	if (*a < o->start - 1e-6 || *b > o->end + 1e-6)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.%s: [%.6f, %.6f] is not inside the outage [%.6f, %.6f]", w, ka,
		                 *a, *b, o->start, o->end);
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
	if ((o->direction = th_direction_parse(dir)) == 0)
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
	if ((e = th_decode_window(v, w, "up", o, &o->up_start, &o->up_end, errbuf)) ||
	    (e = th_decode_window(v, w, "down", o, &o->down_start, &o->down_end, errbuf)))
		return e;
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
	char kind[16], field[48];
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
	if (!th_name_ok(r->vm)) {
		snprintf(field, sizeof field, "%s.vm", where);
		return th_name_check(field, r->vm, errbuf);
	}
	if (!th_stream_id_ok(r->stream)) {
		snprintf(field, sizeof field, "%s.stream", where);
		return th_stream_id_check(field, r->stream, errbuf);
	}
	switch ((r->kind = th_record_kind_parse(kind))) {
	case TH_REC_SECOND:
		return th_decode_second(v, where, &r->u.second, errbuf);
	case TH_REC_OUTAGE:
		return th_decode_outage(v, where, &r->u.outage, errbuf);
	case TH_REC_IPERF:
		return th_decode_iperf(v, where, &r->u.iperf, errbuf);
	}
	return th_seterr(errbuf, TH_ERR_INVALID,
	                 "%s.kind: \"%s\" is not \"second\", \"outage\" or \"iperf\"", where, kind);
}

/* POST bodies are decoded as a stream (json-stream.h): each record object is built alone in
 * reusable storage and checked by th_record_decode_value(), so a batch costs one pass and no
 * tree of the whole document. */
typedef struct th_rec_acc {
	th_record *recs;
	size_t n, cap;
} th_rec_acc;

static th_err th_records_select(void *ctx, const th_js_pos *pos, th_js_action *act, char *errbuf)
{
	(void)ctx;
	*act = TH_JS_BUILD;
	if (pos->depth == 1 && pos->type == yajl_t_array)
		*act = TH_JS_DESCEND;
	else if (pos->depth == 1 && pos->type != yajl_t_object)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "body: expected a JSON array of records or one record object");
	else if (pos->index >= TH_RECORDS_MAX)
		return th_seterr(errbuf, TH_ERR_PARSE, "body: more than %d records",
		                 TH_RECORDS_MAX);
	return TH_OK;
}

static th_err th_records_element(void *ctx, yajl_val v, const th_js_pos *pos, char *errbuf)
{
	th_rec_acc *a = ctx;
	char where[32];

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		th_record *nr = realloc(a->recs, cap * sizeof *nr);

		if (nr == NULL)
			return th_seterr(errbuf, TH_ERR_NOMEM,
			                 "body: out of memory for %zu records", cap);
		a->recs = nr;
		a->cap = cap;
	}
	if (pos->depth == 1) /* the body is one record object */
		snprintf(where, sizeof where, "records[0]");
	return th_record_decode_value(v, pos->depth == 1 ? where : pos->where, &a->recs[a->n++],
	                              errbuf);
}

th_err th_records_decode(const char *body, size_t len, th_record **out, size_t *n, char *errbuf)
{
	th_rec_acc a = {0};
	th_js_handler h = {.select = th_records_select, .element = th_records_element, .ctx = &a};
	th_js *js;
	th_err e;

	*out = NULL;
	*n = 0;
	if ((js = th_js_new()) == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "body: out of memory");
	e = th_js_decode(js, body, len, "records", &h, errbuf);
	th_js_free(js);
	if (e != TH_OK) {
		free(a.recs);
		return e;
	}
	*out = a.recs;
	*n = a.n;
	return TH_OK;
}
