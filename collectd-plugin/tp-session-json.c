/* tp-session-json.c — renders a session's <session>.json exactly as th-archive.h lays it out:
 * identity, first/last second, closed_by, every marker as received, every outage, summary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "codec-marker.h"
#include "codec-record.h"
#include "tp-session.h"

static void tp_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void tp_kv_str(yajl_gen g, const char *k, const char *v)
{
	tp_str(g, k);
	tp_str(g, v);
}

static void tp_kv_int(yajl_gen g, const char *k, long long v)
{
	tp_str(g, k);
	yajl_gen_integer(g, v);
}

/* Numbers with enough digits for epoch seconds at sub-microsecond resolution; NaN -> null. */
static void tp_kv_num(yajl_gen g, const char *k, double v)
{
	char buf[64];

	tp_str(g, k);
	if (isnan(v)) {
		yajl_gen_null(g);
		return;
	}
	snprintf(buf, sizeof buf, "%.6f", v);
	yajl_gen_number(g, buf, strlen(buf));
}

static void tp_kv_int_or_null(yajl_gen g, const char *k, long long v, long long unknown)
{
	tp_str(g, k);
	if (v == unknown)
		yajl_gen_null(g);
	else
		yajl_gen_integer(g, v);
}

static void tp_summary(yajl_gen g, const th_summary *s)
{
	const char *o = th_outcome_name(s->outcome);

	yajl_gen_map_open(g);
	tp_str(g, "outcome");
	if (o)
		tp_str(g, o);
	else
		yajl_gen_null(g);
	tp_kv_num(g, "downtime_ms", s->downtime_ms);
	tp_kv_num(g, "downtime_bound_ms", s->downtime_bound_ms);
	tp_kv_num(g, "outage_total_ms", s->outage_total_ms);
	tp_kv_int_or_null(g, "lost_up", s->lost_up, -1);
	tp_kv_int_or_null(g, "lost_down", s->lost_down, -1);
	tp_kv_int_or_null(g, "lost_unknown", s->lost_unknown, -1);
	tp_kv_int_or_null(g, "one_stime", s->one_stime, 0);
	tp_kv_int_or_null(g, "one_rstime", s->one_rstime, 0);
	tp_kv_int_or_null(g, "one_etime", s->one_etime, 0);
	tp_kv_num(g, "one_duration_s", s->one_duration_s);
	tp_kv_num(g, "hv_downtime_ms", s->hv_downtime_ms);
	tp_kv_num(g, "hv_total_ms", s->hv_total_ms);
	tp_kv_num(g, "delta_ms", s->delta_ms);
	yajl_gen_map_close(g);
}

static void tp_marker(yajl_gen g, const th_marker *m)
{
	yajl_gen_map_open(g);
	tp_kv_str(g, "kind", "marker");
	tp_kv_str(g, "session", m->session);
	tp_kv_str(g, "definition", m->definition);
	tp_kv_int_or_null(g, "cycle", m->cycle, -1);
	tp_kv_str(g, "vm", m->vm);
	tp_kv_int_or_null(g, "vm_id", m->vm_id, -1);
	tp_kv_str(g, "src_host", m->src_host);
	tp_kv_str(g, "dst_host", m->dst_host);
	tp_kv_str(g, "event", th_event_name(m->event));
	tp_kv_num(g, "t", m->t);
	if (m->outcome != TH_OUT_NONE)
		tp_kv_str(g, "outcome", th_outcome_name(m->outcome));
	if (m->origin != TH_ORIGIN_NONE)
		tp_kv_str(g, "origin", th_origin_name(m->origin));
	if (m->message[0] != '\0')
		tp_kv_str(g, "message", m->message);
	if (m->event == TH_EV_SESSION_END) {
		tp_str(g, "summary");
		tp_summary(g, &m->summary);
	}
	yajl_gen_map_close(g);
}

char *tp_session_json(const tp_sess *s)
{
	const th_marker *m0 = s->nmarkers ? &s->markers[0] : NULL, *end = NULL;
	const unsigned char *buf;
	size_t len;
	char *out = NULL;
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		return NULL;
	for (size_t i = 0; i < s->nmarkers; i++)
		if (s->markers[i].event == TH_EV_SESSION_END)
			end = &s->markers[i];
	yajl_gen_map_open(g);
	tp_kv_str(g, "session", s->id);
	tp_kv_str(g, "vm", s->vm);
	tp_kv_int_or_null(g, "vm_id", m0 ? m0->vm_id : -1, -1);
	tp_kv_str(g, "definition", m0 ? m0->definition : "");
	tp_kv_int_or_null(g, "cycle", m0 ? m0->cycle : -1, -1);
	tp_kv_str(g, "src_host", m0 ? m0->src_host : "");
	tp_kv_str(g, "dst_host", m0 ? m0->dst_host : "");
	tp_kv_int(g, "first", s->first);
	tp_kv_int(g, "last", s->written >= s->first ? s->written : s->first);
	tp_kv_str(g, "closed_by",
	          s->closed == TP_CLOSED_END       ? "session-end"
	          : s->closed == TP_CLOSED_TIMEOUT ? "timeout"
	                                           : "open");
	tp_str(g, "markers");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < s->nmarkers; i++)
		tp_marker(g, &s->markers[i]);
	yajl_gen_array_close(g);
	tp_str(g, "outages");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < s->noutages; i++) {
		const th_outage *o = &s->outages[i];

		yajl_gen_map_open(g);
		tp_kv_str(g, "kind", "outage");
		tp_kv_str(g, "vm", s->vm);
		tp_kv_str(g, "stream", s->outage_streams[i]);
		tp_kv_str(g, "direction", th_direction_name(o->direction));
		tp_kv_num(g, "start", o->start);
		tp_kv_num(g, "end", o->end);
		tp_kv_num(g, "duration_ms", o->duration_ms);
		tp_kv_num(g, "bound_ms", o->bound_ms);
		tp_kv_int(g, "lost", o->lost);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	if (s->outages_dropped > 0) /* only past MaxOutagesPerSession */
		tp_kv_int(g, "outages_dropped", (long long)s->outages_dropped);
	tp_str(g, "summary");
	if (end != NULL)
		tp_summary(g, &end->summary);
	else
		yajl_gen_null(g);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok && (out = malloc(len + 2))) {
		memcpy(out, buf, len);
		out[len] = '\n';
		out[len + 1] = '\0';
	}
	yajl_gen_free(g);
	return out;
}
