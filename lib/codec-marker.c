/* codec-marker.c — strict JSON decoding of session markers (see codec-marker.h). */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-json.h"
#include "codec-marker.h"
#include "codec-record.h"
#include "json-stream.h"
#include "th-name.h"
#include "th-summary.h"

bool th_codec_session_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.'))
			return false;
	}
	/* "." and ".." would be directory names, not files. */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return n > 0 && n < TH_SESSION_MAX;
}

/* "outcome": one of the names, or "none" (explicitly unknown). *present tells whether the key
 * was there at all. */
static th_err th_decode_outcome(yajl_val v, const char *w, th_outcome *out, bool *present,
                                char *errbuf)
{
	yajl_val o = th_json_member(v, "outcome");
	int oc;

	*present = o != NULL;
	if (o == NULL)
		return TH_OK;
	if (!YAJL_IS_STRING(o) || (oc = th_outcome_parse(o->u.string)) < 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.outcome: expected \"success\", \"failed\", \"timeout\", "
		                 "\"lost\", \"aborted\" or \"none\"",
		                 w);
	*out = (th_outcome)oc;
	return TH_OK;
}

/* Every key of th_summary_fields, optional, by its type; absent or null = unknown. */
static th_err th_decode_summary(yajl_val v, const char *w, th_summary *s, char *errbuf)
{
	bool present;
	th_err e = TH_OK;

	th_summary_init(s);
	if (!YAJL_IS_OBJECT(v))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: expected an object", w);
	for (size_t i = 0; i < TH_SUMMARY_NFIELDS && e == TH_OK; i++) {
		const th_summary_field *f = &th_summary_fields[i];
		void *p = th_summary_member(s, f);

		switch (f->type) {
		case TH_SF_OUTCOME:
			e = th_decode_outcome(v, w, p, &present, errbuf);
			break;
		case TH_SF_MS:
		case TH_SF_SECONDS:
			e = th_json_double_opt(v, w, f->name, f->min, f->max, p, errbuf);
			break;
		case TH_SF_COUNT:
			e = th_json_int_opt(v, w, f->name, 0, INT64_MAX, p, errbuf);
			break;
		case TH_SF_EPOCH:
			e = th_json_int_opt(v, w, f->name, 0, TH_EPOCH_MAX, p, errbuf);
			break;
		case TH_SF_TIME:
			e = th_json_double_opt(v, w, f->name, f->min, f->max, p, errbuf);
			break;
		}
	}
	return e;
}

/* A params.migration key: [a-z0-9-]{1,31}. */
static bool th_param_key_ok(const char *k)
{
	size_t n = 0;

	for (; k[n] != '\0'; n++)
		if (!((k[n] >= 'a' && k[n] <= 'z') || (k[n] >= '0' && k[n] <= '9') || k[n] == '-'))
			return false;
	return n > 0 && n < TH_PARAMS_KEY_MAX;
}

/* "params" of a session-start (codec-marker.h); unknown keys are ignored. */
static th_err th_decode_params(yajl_val v, const char *w, th_params *p, char *errbuf)
{
	yajl_val mv;
	bool live;
	th_err e;

	th_params_init(p);
	if (!YAJL_IS_OBJECT(v))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: expected an object", w);
	p->present = true;
	if ((e = th_json_double_opt(v, w, "interval_ms", 1e-6, 3.6e6, &p->interval_ms, errbuf)) ||
	    (e = th_json_string_opt(v, w, "bandwidth", p->bandwidth, sizeof p->bandwidth,
	                            errbuf)) ||
	    (e = th_json_int_opt(v, w, "cycles", 0, INT32_MAX, &p->cycles, errbuf)) ||
	    (e = th_json_string_opt(v, w, "load", p->load, sizeof p->load, errbuf)) ||
	    (e = th_json_string_opt(v, w, "description", p->description, sizeof p->description,
	                            errbuf)))
		return e;
	if (th_json_member(v, "live") != NULL) {
		if ((e = th_json_bool_opt(v, w, "live", &live, errbuf)))
			return e;
		p->live = live ? 1 : 0;
	}
	if ((mv = th_json_member(v, "migration")) == NULL)
		return TH_OK;
	if (!YAJL_IS_OBJECT(mv))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.migration: expected an object of strings", w);
	if (mv->u.object.len > TH_PARAMS_MIGRATION_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.migration: %zu entries, at most %d", w,
		                 mv->u.object.len, TH_PARAMS_MIGRATION_MAX);
	for (size_t i = 0; i < mv->u.object.len; i++) {
		const char *k = mv->u.object.keys[i];
		yajl_val x = mv->u.object.values[i];
		size_t len;

		if (!th_param_key_ok(k))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s.migration: key \"%.40s\" is not [a-z0-9-]{1,31}", w,
			                 k);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->migration[j].key, k) == 0)
				return th_seterr(errbuf, TH_ERR_INVALID,
				                 "%s.migration.%s: given twice", w, k);
		if (!YAJL_IS_STRING(x))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s.migration.%s: expected a string", w, k);
		if ((len = strlen(x->u.string)) >= TH_PARAMS_VALUE_MAX)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s.migration.%s: %zu bytes, at most %d", w, k, len,
			                 TH_PARAMS_VALUE_MAX - 1);
		memcpy(p->migration[i].key, k, strlen(k) + 1);
		memcpy(p->migration[i].value, x->u.string, len + 1);
		p->nmigration = i + 1;
	}
	return TH_OK;
}

/* The hypervisor fields: required hv_host and hv_source (and hv_status on hv-status) on hv-*
 * events, refused on the others. */
static th_err th_decode_hv(yajl_val v, const char *w, th_marker *m, char *errbuf)
{
	static const char *const keys[] = {"hv_status", "hv_host", "hv_source", "clock_bound_ms"};
	char sw[64];
	th_err e;

	if (!TH_EV_IS_HV(m->event)) {
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (th_json_member(v, keys[i]) != NULL)
				return th_seterr(
				    errbuf, TH_ERR_INVALID,
				    "%s.%s: only hv-status, hv-pause and hv-resume carry "
				    "one",
				    w, keys[i]);
		return TH_OK;
	}
	if (m->event == TH_EV_HV_STATUS)
		e = th_json_string(v, w, "hv_status", m->hv_status, sizeof m->hv_status, errbuf);
	else
		e = th_json_string_opt(v, w, "hv_status", m->hv_status, sizeof m->hv_status,
		                       errbuf);
	if (e)
		return e;
	snprintf(sw, sizeof sw, "%s.hv_host", w);
	if ((e = th_json_string(v, w, "hv_host", m->hv_host, sizeof m->hv_host, errbuf)) ||
	    (e = th_name_check(sw, m->hv_host, errbuf)))
		return e;
	if (th_json_string(v, w, "hv_source", m->hv_source, sizeof m->hv_source, NULL) != TH_OK ||
	    (strcmp(m->hv_source, "qmp") != 0 && strcmp(m->hv_source, "libvirt") != 0))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.hv_source: expected \"qmp\" or \"libvirt\"", w);
	if (th_json_member(v, "clock_bound_ms") != NULL &&
	    YAJL_IS_NULL(th_json_member(v, "clock_bound_ms")))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.clock_bound_ms: expected a number >= 0 (leave it out when "
		                 "unknown)",
		                 w);
	return th_json_double_opt(v, w, "clock_bound_ms", 0, 1e9, &m->clock_bound_ms, errbuf);
}

th_err th_marker_decode_value(yajl_val v, const char *w, th_marker *m, char *errbuf)
{
	char kind[16], event[32], sw[64];
	bool has_outcome;
	int64_t x;
	yajl_val sv;
	th_err e;

	th_marker_init(m);
	if (!YAJL_IS_OBJECT(v))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: expected an object", w);
	if (th_json_string(v, w, "kind", kind, sizeof kind, NULL) != TH_OK ||
	    strcmp(kind, "marker") != 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.kind: expected \"marker\"", w);
	if ((e = th_json_string(v, w, "session", m->session, sizeof m->session, errbuf)))
		return e;
	if (!th_codec_session_ok(m->session))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.session: \"%s\" may hold only letters, digits, '_' and '.'", w,
		                 m->session);
	snprintf(sw, sizeof sw, "%s.vm", w);
	if ((e = th_json_string(v, w, "vm", m->vm, sizeof m->vm, errbuf)) ||
	    (e = th_name_check(sw, m->vm, errbuf)) ||
	    (e = th_json_double(v, w, "t", 0, TH_EPOCH_MAX, false, &m->t, errbuf)) ||
	    (e = th_json_string_opt(v, w, "definition", m->definition, sizeof m->definition,
	                            errbuf)) ||
	    (e = th_json_string_opt(v, w, "src_host", m->src_host, sizeof m->src_host, errbuf)) ||
	    (e = th_json_string_opt(v, w, "dst_host", m->dst_host, sizeof m->dst_host, errbuf)) ||
	    (e = th_json_string_opt(v, w, "message", m->message, sizeof m->message, errbuf)))
		return e;
	/* -1 (or null) = not known */
	x = m->cycle;
	if ((e = th_json_int_opt(v, w, "cycle", -1, INT32_MAX, &x, errbuf)))
		return e;
	m->cycle = (int)x;
	x = m->vm_id;
	if ((e = th_json_int_opt(v, w, "vm_id", -1, INT32_MAX, &x, errbuf)))
		return e;
	m->vm_id = (int)x;
	if (th_json_string(v, w, "event", event, sizeof event, NULL) != TH_OK)
		event[0] = '\0';
	m->event = th_event_parse(event);
	if (m->event == 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.event: expected \"session-start\", \"migration-request\", "
		                 "\"migration-start\", \"migration-end\", \"session-end\", "
		                 "\"hv-status\", \"hv-pause\" or \"hv-resume\"",
		                 w);
	if ((e = th_decode_hv(v, w, m, errbuf)))
		return e;
	sv = th_json_member(v, "params");
	if (m->event == TH_EV_SESSION_START && sv != NULL && !YAJL_IS_NULL(sv)) {
		snprintf(sw, sizeof sw, "%s.params", w);
		if ((e = th_decode_params(sv, sw, &m->params, errbuf)))
			return e;
	} else if (sv != NULL && !YAJL_IS_NULL(sv)) {
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s.params: only session-start carries one", w);
	}
	if ((e = th_decode_outcome(v, w, &m->outcome, &has_outcome, errbuf)))
		return e;
	if (th_json_member(v, "origin") != NULL) {
		char origin[16];

		if (th_json_string(v, w, "origin", origin, sizeof origin, NULL) != TH_OK)
			origin[0] = '\0';
		m->origin = th_origin_parse(origin);
		if (m->origin == TH_ORIGIN_NONE)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s.origin: expected \"run\" or \"observed\"", w);
	}
	if (m->event == TH_EV_MIGRATION_END && !has_outcome)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.outcome: missing (migration-end)", w);
	sv = th_json_member(v, "summary");
	if (m->event == TH_EV_SESSION_END) {
		if (sv == NULL)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s.summary: missing (session-end)", w);
		snprintf(sw, sizeof sw, "%s.summary", w);
		if ((e = th_decode_summary(sv, sw, &m->summary, errbuf)))
			return e;
		if (m->summary.outcome == TH_OUT_NONE)
			m->summary.outcome = m->outcome;
		if (m->outcome == TH_OUT_NONE)
			m->outcome = m->summary.outcome;
		/* Both may stay unknown ("none"): a session that ended before any migration. */
	} else if (sv != NULL && !YAJL_IS_NULL(sv)) {
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.summary: only session-end carries one",
		                 w);
	}
	return TH_OK;
}

/* The body walk: the top-level array's items, or the one top-level object, are elements. */
typedef struct th_marker_acc {
	th_marker *ms;
	size_t n, cap;
} th_marker_acc;

static th_err th_markers_select(void *ctx, const th_js_pos *pos, th_js_action *act, char *errbuf)
{
	(void)ctx;
	*act = TH_JS_BUILD;
	if (pos->depth == 1 && pos->type == yajl_t_array)
		*act = TH_JS_DESCEND;
	else if (pos->depth == 1 && pos->type != yajl_t_object)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "body: expected a JSON array of markers or one marker object");
	else if (pos->index >= TH_MARKERS_MAX)
		return th_seterr(errbuf, TH_ERR_PARSE, "body: more than %d markers",
		                 TH_MARKERS_MAX);
	return TH_OK;
}

static th_err th_markers_element(void *ctx, yajl_val v, const th_js_pos *pos, char *errbuf)
{
	th_marker_acc *a = ctx;
	char where[32];
	th_err e;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		th_marker *nm = realloc(a->ms, cap * sizeof *nm);

		if (nm == NULL)
			return th_seterr(errbuf, TH_ERR_NOMEM,
			                 "body: out of memory for %zu markers", cap);
		a->ms = nm;
		a->cap = cap;
	}
	snprintf(where, sizeof where, "markers[%zu]", pos->index);
	if ((e = th_marker_decode_value(v, where, &a->ms[a->n], errbuf)) != TH_OK)
		return e;
	a->n++;
	return TH_OK;
}

th_err th_markers_decode(const char *body, size_t len, th_marker **out, size_t *n, char *errbuf)
{
	th_marker_acc a = {0};
	th_js_handler h = {.select = th_markers_select, .element = th_markers_element, .ctx = &a};
	th_js *js;
	th_err e;

	*out = NULL;
	*n = 0;
	if ((js = th_js_new()) == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "body: out of memory");
	e = th_js_decode(js, body, len, "markers", &h, errbuf);
	th_js_free(js);
	if (e != TH_OK) {
		free(a.ms);
		return e;
	}
	*out = a.ms;
	*n = a.n;
	return TH_OK;
}
