/* codec-record.c — strict JSON decoding of agent records (see codec-record.h). */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-json.h"
#include "codec-record.h"

#define U32 ((int64_t)UINT32_MAX)

const char *th_record_kind_name(th_record_kind k)
{
	switch (k) {
	case TH_REC_SECOND:
		return "second";
	case TH_REC_OUTAGE:
		return "outage";
	case TH_REC_IPERF:
		return "iperf";
	}
	return NULL;
}

const char *th_direction_name(th_direction d)
{
	switch (d) {
	case TH_DIR_UP:
		return "up";
	case TH_DIR_DOWN:
		return "down";
	case TH_DIR_BOTH:
		return "both";
	case TH_DIR_UNKNOWN:
		return "unknown";
	}
	return NULL;
}

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

th_err th_records_decode(const char *body, size_t len, th_record **out, size_t *n, char *errbuf)
{
	yajl_val root = NULL;
	th_record *recs = NULL;
	size_t count, i;
	char where[32];
	th_err e;

	*out = NULL;
	*n = 0;
	if ((e = th_json_parse(body, len, &root, errbuf)) != TH_OK)
		return e;
	if (YAJL_IS_OBJECT(root))
		count = 1;
	else if (YAJL_IS_ARRAY(root))
		count = root->u.array.len;
	else {
		yajl_tree_free(root);
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "body: expected a JSON array of records or one record object");
	}
	if (count > 0 && (recs = calloc(count, sizeof *recs)) == NULL) {
		yajl_tree_free(root);
		return th_seterr(errbuf, TH_ERR_NOMEM, "body: out of memory for %zu records",
		                 count);
	}
	for (i = 0; i < count; i++) {
		yajl_val v = YAJL_IS_ARRAY(root) ? root->u.array.values[i] : root;

		snprintf(where, sizeof where, "records[%zu]", i);
		if ((e = th_record_decode_value(v, where, &recs[i], errbuf)) != TH_OK) {
			free(recs);
			yajl_tree_free(root);
			return e;
		}
	}
	yajl_tree_free(root);
	*out = recs;
	*n = count;
	return TH_OK;
}
