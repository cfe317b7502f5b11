/* tp-session-json.c — renders a session's <session>.json exactly as th-archive.h lays it out
 * (identity, first/last second, closed_by, every marker as received, every outage, summary and
 * where it comes from), its summaries.jsonl line, and the lines of availability.jsonl. Markers
 * and summaries go through lib's one encoder (th-marker-json.h), outages through the record
 * encoder (record-json.h): only the archive's own keys are written here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "record-json.h"
#include "th-marker-json.h"
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

/* "summary" (null while there is none), and once finalised "summary_source" and, when the
 * trigger's and the plugin's figures differ, "summary_plugin". */
static void tp_summaries(yajl_gen g, const tp_sess *s, const th_marker *end)
{
	tp_str(g, "summary");
	if (s->source != TP_SRC_NONE)
		th_summary_json_gen(g, &s->summary, TH_OUT_NONE);
	else if (end != NULL)
		th_summary_json_gen(g, &end->summary, TH_OUT_NONE);
	else
		yajl_gen_null(g);
	if (s->source == TP_SRC_NONE)
		return;
	tp_kv_str(g, "summary_source", tp_source_name(s->source));
	if (s->source == TP_SRC_BOTH) {
		tp_str(g, "summary_plugin");
		th_summary_json_gen(g, &s->summary_net, TH_OUT_NONE);
	}
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
	char *out = NULL;
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
		if (th_marker_json_gen(g, &s->markers[i], NULL) != TH_OK)
			goto fail; /* not a decoded marker */
	yajl_gen_array_close(g);
	tp_str(g, "outages");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < s->noutages; i++) {
		th_record r = {.kind = TH_REC_OUTAGE, .u.outage = s->outages[i]};

		snprintf(r.vm, sizeof r.vm, "%s", s->vm);
		snprintf(r.stream, sizeof r.stream, "%s", s->outage_streams[i]);
		if (th_record_json_gen(g, &r, NULL) != TH_OK)
			goto fail;
	}
	yajl_gen_array_close(g);
	if (s->outages_dropped > 0) /* only past MaxOutagesPerSession */
		tp_kv_int(g, "outages_dropped", (long long)s->outages_dropped);
	tp_summaries(g, s, end);
	yajl_gen_map_close(g);
	out = tp_finish(g);
fail:
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
	/* the line's "outcome" is null, not "none", when neither summary nor marker knows it */
	if (s->summary.outcome != TH_OUT_NONE)
		outcome = th_outcome_name(s->summary.outcome);
	else if (mend != NULL && mend->outcome != TH_OUT_NONE)
		outcome = th_outcome_name(mend->outcome);
	else
		outcome = NULL;
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
