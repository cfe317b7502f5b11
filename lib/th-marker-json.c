/* th-marker-json.c — writes markers and summaries as JSON with yajl's generator, numbers
 * formatted here so that times keep exactly six decimals and NaN becomes null. */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "codec-marker.h"
#include "th-marker-json.h"
#include "th-session.h"

static const char *const th_event_names[] = {
    [TH_EV_SESSION_START] = "session-start",     [TH_EV_MIGRATION_REQUEST] = "migration-request",
    [TH_EV_MIGRATION_START] = "migration-start", [TH_EV_MIGRATION_END] = "migration-end",
    [TH_EV_SESSION_END] = "session-end",
};

static const char *const th_outcome_names[] = {
    [TH_OUT_NONE] = "none",       [TH_OUT_SUCCESS] = "success", [TH_OUT_FAILED] = "failed",
    [TH_OUT_TIMEOUT] = "timeout", [TH_OUT_LOST] = "lost",       [TH_OUT_ABORTED] = "aborted",
};

const char *th_marker_event_name(th_event e)
{
	if ((unsigned)e >= sizeof th_event_names / sizeof th_event_names[0])
		return NULL;
	return th_event_names[e];
}

const char *th_marker_outcome_name(th_outcome o)
{
	if ((unsigned)o >= sizeof th_outcome_names / sizeof th_outcome_names[0])
		return NULL;
	return th_outcome_names[o];
}

static void th_gen_key(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

static void th_gen_str(yajl_gen g, const char *k, const char *v)
{
	th_gen_key(g, k);
	yajl_gen_string(g, (const unsigned char *)v, strlen(v));
}

static void th_gen_int(yajl_gen g, const char *k, long long v)
{
	th_gen_key(g, k);
	yajl_gen_integer(g, v);
}

/* A double with a fixed number of decimals; NaN/inf as null. */
static void th_gen_dbl(yajl_gen g, const char *k, double v, int decimals)
{
	char buf[64];
	int n;

	th_gen_key(g, k);
	if (!isfinite(v)) {
		yajl_gen_null(g);
		return;
	}
	n = snprintf(buf, sizeof buf, "%.*f", decimals, v);
	yajl_gen_number(g, buf, (size_t)n);
}

static void th_gen_count(yajl_gen g, const char *k, int64_t v)
{
	th_gen_key(g, k);
	if (v < 0)
		yajl_gen_null(g);
	else
		yajl_gen_integer(g, (long long)v);
}

/* The summary's outcome, else the marker's (fallback); left out when neither is known. */
static void th_gen_summary(yajl_gen g, const th_summary *s, th_outcome fallback)
{
	th_outcome oc = s->outcome != TH_OUT_NONE ? s->outcome : fallback;
	const char *o = th_marker_outcome_name(oc);

	yajl_gen_map_open(g);
	if (oc != TH_OUT_NONE && o != NULL)
		th_gen_str(g, "outcome", o);
	th_gen_dbl(g, "downtime_ms", s->downtime_ms, 3);
	th_gen_dbl(g, "downtime_bound_ms", s->downtime_bound_ms, 3);
	th_gen_dbl(g, "outage_total_ms", s->outage_total_ms, 3);
	th_gen_count(g, "lost_up", s->lost_up);
	th_gen_count(g, "lost_down", s->lost_down);
	th_gen_count(g, "lost_unknown", s->lost_unknown);
	th_gen_int(g, "one_stime", (long long)s->one_stime);
	th_gen_int(g, "one_rstime", (long long)s->one_rstime);
	th_gen_int(g, "one_etime", (long long)s->one_etime);
	th_gen_dbl(g, "one_duration_s", s->one_duration_s, 0);
	th_gen_dbl(g, "hv_downtime_ms", s->hv_downtime_ms, 3);
	th_gen_dbl(g, "hv_total_ms", s->hv_total_ms, 3);
	th_gen_dbl(g, "delta_ms", s->delta_ms, 3);
	yajl_gen_map_close(g);
}

static th_err th_gen_finish(yajl_gen g, char **out, size_t *len, char *errbuf)
{
	const unsigned char *buf;
	size_t n;

	if (yajl_gen_get_buf(g, &buf, &n) != yajl_gen_status_ok) {
		yajl_gen_free(g);
		return th_seterr(errbuf, TH_ERR_INVALID, "marker: JSON generation failed");
	}
	*out = malloc(n + 1);
	if (*out == NULL) {
		yajl_gen_free(g);
		return th_seterr(errbuf, TH_ERR_NOMEM, "marker: out of memory (%zu bytes)", n);
	}
	memcpy(*out, buf, n);
	(*out)[n] = '\0';
	if (len != NULL)
		*len = n;
	yajl_gen_free(g);
	return TH_OK;
}

th_err th_summary_to_json(const th_summary *s, char **out, size_t *len, char *errbuf)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "summary: out of memory");
	th_gen_summary(g, s, TH_OUT_NONE);
	return th_gen_finish(g, out, len, errbuf);
}

th_err th_marker_to_json(const th_marker *m, char **out, size_t *len, char *errbuf)
{
	const char *ev = th_marker_event_name(m->event);
	const char *oc;
	yajl_gen g;

	if (ev == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "marker: unknown event %d", (int)m->event);
	if (!th_session_id_valid(m->session))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "marker: session \"%.96s\" is not made of [A-Za-z0-9_.]",
		                 m->session);
	g = yajl_gen_alloc(NULL);
	if (g == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "marker: out of memory");
	yajl_gen_map_open(g);
	th_gen_str(g, "kind", "marker");
	th_gen_str(g, "session", m->session);
	th_gen_str(g, "definition", m->definition);
	th_gen_int(g, "cycle", m->cycle);
	th_gen_str(g, "vm", m->vm);
	th_gen_int(g, "vm_id", m->vm_id);
	th_gen_str(g, "src_host", m->src_host);
	th_gen_str(g, "dst_host", m->dst_host);
	th_gen_str(g, "event", ev);
	th_gen_dbl(g, "t", m->t, 6);
	if (m->event == TH_EV_MIGRATION_END || m->event == TH_EV_SESSION_END) {
		oc = th_marker_outcome_name(m->outcome);
		th_gen_str(g, "outcome", oc != NULL ? oc : "none");
	}
	if (m->origin != TH_ORIGIN_NONE)
		th_gen_str(g, "origin", th_origin_name(m->origin));
	if (m->message[0] != '\0')
		th_gen_str(g, "message", m->message);
	if (m->event == TH_EV_SESSION_END) {
		th_gen_key(g, "summary");
		th_gen_summary(g, &m->summary, m->outcome);
	}
	yajl_gen_map_close(g);
	return th_gen_finish(g, out, len, errbuf);
}
