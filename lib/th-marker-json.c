/* th-marker-json.c — writes markers and summaries as JSON with yajl's generator, numbers
 * formatted here so that times keep exactly six decimals and NaN becomes null; the summary's
 * keys and types come from th_summary_fields. */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th-marker-json.h"
#include "th-session.h"
#include "th-summary.h"

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

void th_summary_json_gen(yajl_gen g, const th_summary *s, th_outcome fallback)
{
	yajl_gen_map_open(g);
	for (size_t i = 0; i < TH_SUMMARY_NFIELDS; i++) {
		const th_summary_field *f = &th_summary_fields[i];
		const void *p = th_summary_cmember(s, f);

		switch (f->type) {
		case TH_SF_OUTCOME: {
			th_outcome oc = *(const th_outcome *)p;
			const char *o;

			if (oc == TH_OUT_NONE)
				oc = fallback;
			if (oc != TH_OUT_NONE && (o = th_outcome_name(oc)) != NULL)
				th_gen_str(g, f->name, o);
			break;
		}
		case TH_SF_MS:
		case TH_SF_SECONDS:
			th_gen_dbl(g, f->name, *(const double *)p, 3);
			break;
		case TH_SF_COUNT:
			th_gen_key(g, f->name);
			if (*(const int64_t *)p < 0)
				yajl_gen_null(g);
			else
				yajl_gen_integer(g, (long long)*(const int64_t *)p);
			break;
		case TH_SF_EPOCH:
			th_gen_int(g, f->name, (long long)*(const int64_t *)p);
			break;
		case TH_SF_TIME:
			th_gen_dbl(g, f->name, *(const double *)p, 6);
			break;
		}
	}
	yajl_gen_map_close(g);
}

/* params as an object of its present fields (th-marker-json.h). */
static void th_params_json_gen(yajl_gen g, const th_params *p)
{
	yajl_gen_map_open(g);
	if (isfinite(p->interval_ms))
		th_gen_dbl(g, "interval_ms", p->interval_ms, 3);
	if (p->bandwidth[0] != '\0')
		th_gen_str(g, "bandwidth", p->bandwidth);
	if (p->live >= 0) {
		th_gen_key(g, "live");
		yajl_gen_bool(g, p->live != 0);
	}
	if (p->cycles >= 0)
		th_gen_int(g, "cycles", (long long)p->cycles);
	if (p->load[0] != '\0')
		th_gen_str(g, "load", p->load);
	if (p->nmigration > 0) {
		th_gen_key(g, "migration");
		yajl_gen_map_open(g);
		for (size_t i = 0; i < p->nmigration && i < TH_PARAMS_MIGRATION_MAX; i++)
			th_gen_str(g, p->migration[i].key, p->migration[i].value);
		yajl_gen_map_close(g);
	}
	if (p->description[0] != '\0')
		th_gen_str(g, "description", p->description);
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
	th_summary_json_gen(g, s, TH_OUT_NONE);
	return th_gen_finish(g, out, len, errbuf);
}

th_err th_marker_json_gen(yajl_gen g, const th_marker *m, char *errbuf)
{
	const char *ev = th_event_name(m->event), *oc = th_outcome_name(m->outcome);

	if (ev == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "marker: unknown event %d", (int)m->event);
	if (oc == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "marker: unknown outcome %d",
		                 (int)m->outcome);
	if (!th_session_id_valid(m->session))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "marker: session \"%.96s\" is not made of [A-Za-z0-9_.]",
		                 m->session);
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
	if (m->event == TH_EV_MIGRATION_END || m->event == TH_EV_SESSION_END ||
	    m->outcome != TH_OUT_NONE)
		th_gen_str(g, "outcome", oc);
	if (m->origin != TH_ORIGIN_NONE && th_origin_name(m->origin) != NULL)
		th_gen_str(g, "origin", th_origin_name(m->origin));
	if (m->message[0] != '\0')
		th_gen_str(g, "message", m->message);
	if (TH_EV_IS_HV(m->event)) {
		if (m->hv_status[0] != '\0')
			th_gen_str(g, "hv_status", m->hv_status);
		th_gen_str(g, "hv_host", m->hv_host);
		th_gen_str(g, "hv_source", m->hv_source);
		if (isfinite(m->clock_bound_ms))
			th_gen_dbl(g, "clock_bound_ms", m->clock_bound_ms, 3);
	}
	if (m->event == TH_EV_SESSION_START && m->params.present) {
		th_gen_key(g, "params");
		th_params_json_gen(g, &m->params);
	}
	if (m->event == TH_EV_SESSION_END) {
		th_gen_key(g, "summary");
		th_summary_json_gen(g, &m->summary, m->outcome);
	}
	yajl_gen_map_close(g);
	return TH_OK;
}

th_err th_marker_to_json(const th_marker *m, char **out, size_t *len, char *errbuf)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	th_err e;

	if (g == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "marker: out of memory");
	if ((e = th_marker_json_gen(g, m, errbuf)) != TH_OK) {
		yajl_gen_free(g);
		return e;
	}
	return th_gen_finish(g, out, len, errbuf);
}
