/* tp-session-json.c — renders a session's <session>.json exactly as th-archive.h lays it out
 * (identity, first/last second, closed_by, every marker as received, every outage, summary and
 * where it comes from), its summaries.jsonl line, and the lines of availability.jsonl. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "codec-marker.h"
#include "codec-record.h"
#include "tp-session.h"
#include "tp-vm.h"

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

/* Milliseconds with microsecond digits. */
static void tp_kv_ms(yajl_gen g, const char *k, double v)
{
	char buf[64];

	tp_str(g, k);
	snprintf(buf, sizeof buf, "%.3f", v);
	yajl_gen_number(g, buf, strlen(buf));
}

/* The generated text, newline-terminated, malloc'd (NULL: out of memory). */
static char *tp_finish(yajl_gen g)
{
	const unsigned char *buf;
	size_t len;
	char *out = NULL;

	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok && (out = malloc(len + 2))) {
		memcpy(out, buf, len);
		out[len] = '\n';
		out[len + 1] = '\0';
	}
	return out;
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

/* "summary" (null while there is none), and once finalised "summary_source" and, when the
 * trigger's and the plugin's figures differ, "summary_plugin". */
static void tp_summaries(yajl_gen g, const tp_sess *s, const th_marker *end)
{
	tp_str(g, "summary");
	if (s->source != TP_SRC_NONE)
		tp_summary(g, &s->summary);
	else if (end != NULL)
		tp_summary(g, &end->summary);
	else
		yajl_gen_null(g);
	if (s->source == TP_SRC_NONE)
		return;
	tp_kv_str(g, "summary_source", tp_source_name(s->source));
	if (s->source == TP_SRC_BOTH) {
		tp_str(g, "summary_plugin");
		tp_summary(g, &s->summary_net);
	}
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

static void tp_kv_str_or_null(yajl_gen g, const char *k, const char *v)
{
	tp_str(g, k);
	if (v != NULL)
		tp_str(g, v);
	else
		yajl_gen_null(g);
}

/* The keys naming a session and its span, as <session>.json and its summaries line begin
 * (the line has "origin" after "vm_id"; NULL there writes null). */
static void tp_identity(yajl_gen g, const tp_sess *s, const th_marker *m0, bool with_origin,
                        const char *origin)
{
	tp_kv_str(g, "session", s->id);
	tp_kv_str(g, "vm", s->vm);
	tp_kv_int_or_null(g, "vm_id", m0 ? m0->vm_id : -1, -1);
	if (with_origin)
		tp_kv_str_or_null(g, "origin", origin);
	tp_kv_str(g, "definition", m0 ? m0->definition : "");
	tp_kv_int_or_null(g, "cycle", m0 ? m0->cycle : -1, -1);
	tp_kv_str(g, "src_host", m0 ? m0->src_host : "");
	tp_kv_str(g, "dst_host", m0 ? m0->dst_host : "");
	tp_kv_int(g, "first", s->first);
	tp_kv_int(g, "last", s->written >= s->first ? s->written : s->first);
}

char *tp_session_json(const tp_sess *s)
{
	const th_marker *m0 = s->nmarkers ? &s->markers[0] : NULL, *end = NULL;
	char *out;
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		return NULL;
	for (size_t i = 0; i < s->nmarkers; i++)
		if (s->markers[i].event == TH_EV_SESSION_END)
			end = &s->markers[i];
	yajl_gen_map_open(g);
	tp_identity(g, s, m0, false, NULL);
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
	tp_summaries(g, s, end);
	yajl_gen_map_close(g);
	out = tp_finish(g);
	yajl_gen_free(g);
	return out;
}

static const th_marker *tp_first(const tp_sess *s, th_event ev)
{
	for (size_t i = 0; i < s->nmarkers; i++)
		if (s->markers[i].event == ev)
			return &s->markers[i];
	return NULL;
}

static void tp_kv_time(yajl_gen g, const char *k, const th_marker *m)
{
	tp_kv_num(g, k, m ? m->t : NAN);
}

char *tp_session_summary_line(const tp_sess *s)
{
	const th_marker *m0 = s->nmarkers ? &s->markers[0] : NULL;
	const th_marker *mend = tp_first(s, TH_EV_MIGRATION_END);
	const char *origin = NULL, *outcome, *message = NULL;
	char *out;
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		return NULL;
	for (size_t i = 0; i < s->nmarkers && origin == NULL; i++)
		if (s->markers[i].origin != TH_ORIGIN_NONE)
			origin = th_origin_name(s->markers[i].origin);
	outcome = th_outcome_name(s->summary.outcome);
	if (outcome == NULL && mend != NULL)
		outcome = th_outcome_name(mend->outcome);
	if (mend != NULL && mend->message[0] != '\0')
		message = mend->message;
	for (size_t i = 0; i < s->nmarkers && message == NULL; i++)
		if (s->markers[i].message[0] != '\0')
			message = s->markers[i].message;
	yajl_gen_map_open(g);
	tp_identity(g, s, m0, true, origin);
	tp_kv_str(g, "closed_by", s->closed == TP_CLOSED_TIMEOUT ? "timeout" : "session-end");
	tp_kv_time(g, "t_request", tp_first(s, TH_EV_MIGRATION_REQUEST));
	tp_kv_time(g, "t_migration_start", tp_first(s, TH_EV_MIGRATION_START));
	tp_kv_time(g, "t_migration_end", mend);
	tp_kv_str_or_null(g, "outcome", outcome);
	tp_kv_str_or_null(g, "message", message);
	tp_summaries(g, s, tp_first(s, TH_EV_SESSION_END));
	yajl_gen_map_close(g);
	out = tp_finish(g);
	yajl_gen_free(g);
	return out;
}

bool tp_tally_line(const char *vm, const tp_tally *t, tp_text *lines)
{
	const unsigned char *buf;
	size_t len;
	bool ok = false;
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		return false;
	yajl_gen_map_open(g);
	tp_kv_str(g, "vm", vm);
	tp_kv_int(g, "hour", t->hour);
	tp_kv_int(g, "covered_s", t->covered_s);
	tp_kv_ms(g, "outage_ms", t->outage_ms);
	tp_kv_ms(g, "outage_ms_sessions", t->outage_ms_sessions);
	tp_kv_int(g, "outages", t->outages);
	tp_kv_int(g, "outages_sessions", t->outages_sessions);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
		size_t need = lines->len + len + 2, cap = lines->cap ? lines->cap : 256;
		char *grown = lines->buf;

		while (cap < need)
			cap *= 2;
		if (cap != lines->cap)
			grown = realloc(lines->buf, cap);
		if (grown != NULL) {
			lines->buf = grown;
			lines->cap = cap;
			memcpy(lines->buf + lines->len, buf, len);
			lines->len += len;
			lines->buf[lines->len++] = '\n';
			lines->buf[lines->len] = '\0';
			ok = true;
		}
	}
	yajl_gen_free(g);
	return ok;
}
