/* record-json.c — th_record → JSON with yajl (keys of DESIGN §5.1, see record-json.h). */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record-json.h"
#include "th-record-names.h"

static int gstr(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) != yajl_gen_status_ok;
}

static int gkey_str(yajl_gen g, const char *k, const char *v)
{
	return gstr(g, k) | gstr(g, v);
}

static int gkey_int(yajl_gen g, const char *k, long long v)
{
	return gstr(g, k) | (yajl_gen_integer(g, v) != yajl_gen_status_ok);
}

/* A number with `decimals` digits after the point; NaN/inf become null. */
static int gkey_num(yajl_gen g, const char *k, double v, int decimals)
{
	char buf[64];
	int n;

	if (gstr(g, k))
		return 1;
	if (!isfinite(v))
		return yajl_gen_null(g) != yajl_gen_status_ok;
	n = snprintf(buf, sizeof buf, "%.*f", decimals, v);
	if (n <= 0 || (size_t)n >= sizeof buf)
		return 1;
	return yajl_gen_number(g, buf, (size_t)n) != yajl_gen_status_ok;
}

static int gen_second(yajl_gen g, const th_second *s)
{
	int e = 0;

	e |= gkey_int(g, "t", s->t);
	e |= gkey_num(g, "interval_ms", s->interval_ms, 3);
	e |= gkey_int(g, "sent", s->sent);
	e |= gkey_int(g, "received", s->received);
	e |= gkey_int(g, "lost_up", s->lost_up);
	e |= gkey_int(g, "lost_down", s->lost_down);
	e |= gkey_int(g, "lost_unknown", s->lost_unknown);
	e |= gkey_int(g, "late", s->late);
	e |= gkey_int(g, "dup", s->dup);
	e |= gkey_num(g, "rtt_min_ms", s->rtt_min_ms, 3);
	e |= gkey_num(g, "rtt_avg_ms", s->rtt_avg_ms, 3);
	e |= gkey_num(g, "rtt_max_ms", s->rtt_max_ms, 3);
	e |= gkey_num(g, "jitter_ms", s->jitter_ms, 3);
	e |= gkey_num(g, "max_gap_ms", s->max_gap_ms, 3);
	e |= gkey_int(g, "stalled", s->stalled);
	e |= gkey_int(g, "slips", s->slips);
	if (s->prober_stall_ms > 0) /* optional: absent in the usual case */
		e |= gkey_int(g, "prober_stall_ms", s->prober_stall_ms);
	return e;
}

static int gen_outage(yajl_gen g, const th_outage *o)
{
	const char *d = th_direction_name(o->direction);
	int e = 0;

	if (d == NULL)
		return 1;
	e |= gkey_str(g, "direction", d);
	e |= gkey_num(g, "start", o->start, 6);
	e |= gkey_num(g, "end", o->end, 6);
	e |= gkey_num(g, "duration_ms", o->duration_ms, 3);
	e |= gkey_num(g, "bound_ms", o->bound_ms, 3);
	e |= gkey_int(g, "lost", o->lost);
	/* per-direction windows: only for a direction that lost probes (NaN, or 0 from a
	 * zeroed record, leaves the pair out) */
	if (isfinite(o->up_start) && isfinite(o->up_end) && o->up_start > 0) {
		e |= gkey_num(g, "up_start", o->up_start, 6);
		e |= gkey_num(g, "up_end", o->up_end, 6);
	}
	if (isfinite(o->down_start) && isfinite(o->down_end) && o->down_start > 0) {
		e |= gkey_num(g, "down_start", o->down_start, 6);
		e |= gkey_num(g, "down_end", o->down_end, 6);
	}
	return e;
}

static int gen_iperf(yajl_gen g, const th_iperf *i)
{
	int e = 0;

	e |= gkey_int(g, "t", i->t);
	e |= gkey_num(g, "seconds", i->seconds, 6);
	e |= gkey_int(g, "bytes", (long long)i->bytes);
	e |= gkey_num(g, "bits_per_second", i->bits_per_second, 3);
	e |= gkey_num(g, "jitter_ms", i->jitter_ms, 3);
	if (i->lost_packets < 0)
		e |= gstr(g, "lost_packets") | (yajl_gen_null(g) != yajl_gen_status_ok);
	else
		e |= gkey_int(g, "lost_packets", i->lost_packets);
	if (i->packets < 0)
		e |= gstr(g, "packets") | (yajl_gen_null(g) != yajl_gen_status_ok);
	else
		e |= gkey_int(g, "packets", i->packets);
	e |= gstr(g, "blackout") | (yajl_gen_bool(g, i->blackout) != yajl_gen_status_ok);
	return e;
}

th_err th_record_json_gen(yajl_gen g, const th_record *rec, char *errbuf)
{
	const char *kind = th_record_kind_name(rec->kind);
	int e = 0;

	if (kind == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "record kind %d is not known",
		                 (int)rec->kind);
	if (memchr(rec->vm, '\0', sizeof rec->vm) == NULL ||
	    memchr(rec->stream, '\0', sizeof rec->stream) == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "record vm or stream name not terminated");
	e |= yajl_gen_map_open(g) != yajl_gen_status_ok;
	e |= gkey_str(g, "kind", kind);
	e |= gkey_str(g, "vm", rec->vm);
	e |= gkey_str(g, "stream", rec->stream);
	if (rec->kind == TH_REC_SECOND)
		e |= gen_second(g, &rec->u.second);
	else if (rec->kind == TH_REC_OUTAGE)
		e |= gen_outage(g, &rec->u.outage);
	else
		e |= gen_iperf(g, &rec->u.iperf);
	e |= yajl_gen_map_close(g) != yajl_gen_status_ok;
	if (e)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s record of stream \"%s\" could not be encoded (invalid value)",
		                 kind, rec->stream);
	return TH_OK;
}

th_err th_record_to_json(const th_record *rec, char **out, size_t *len, char *errbuf)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t n;
	th_err err;

	*out = NULL;
	if (g == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory encoding a record");
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	err = th_record_json_gen(g, rec, errbuf);
	if (err == TH_OK && yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok) {
		*out = malloc(n + 1);
		if (*out == NULL) {
			err = th_seterr(errbuf, TH_ERR_NOMEM, "out of memory encoding a record");
		} else {
			memcpy(*out, buf, n);
			(*out)[n] = '\0';
			if (len != NULL)
				*len = n;
		}
	}
	yajl_gen_free(g);
	return err;
}
