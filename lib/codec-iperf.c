/* codec-iperf.c — iperf3 --json / --json-stream into "iperf" records (see codec-iperf.h). */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-iperf.h"
#include "codec-json.h"
#include "codec-record.h"
#include "json-stream.h"
#include "th-name.h"

typedef struct th_iperf_acc {
	th_record *recs;
	size_t n, cap;
	const char *vm, *stream;
	int64_t timesec;  /* -1 until the start object was seen */
	size_t intervals; /* intervals met in the body (omitted ones too) */
	/* the top-level object being walked */
	size_t lineno;   /* its line (1 when the body is one value) */
	bool lines;      /* the body is --json-stream lines: only "event" and "data" count */
	bool event_only; /* second pass of an event object whose "event" came late */
	bool has_event, has_data, has_start, has_intervals, has_error, before_event, not_object;
	char event[32];
	char error[160];
} th_iperf_acc;

static th_err th_iperf_start(th_iperf_acc *a, yajl_val start, const char *w, char *errbuf)
{
	char sw[96];
	yajl_val ts = th_json_member(start, "timestamp");

	snprintf(sw, sizeof sw, "%s.timestamp", w);
	if (!YAJL_IS_OBJECT(ts))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: missing or not an object", sw);
	return th_json_int(ts, sw, "timesecs", 1, TH_EPOCH_MAX, &a->timesec, errbuf);
}

static th_err th_iperf_interval(th_iperf_acc *a, yajl_val iv, const char *w, char *errbuf)
{
	char sw[96];
	yajl_val sum = th_json_member(iv, "sum"), om;
	th_record *r;
	double start = 0;
	int64_t bytes = 0;
	th_err e;

	if (a->timesec < 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: interval before the start object", w);
	snprintf(sw, sizeof sw, "%s.sum", w);
	if (!YAJL_IS_OBJECT(sum))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: missing or not an object", sw);
	om = th_json_member(sum, "omitted");
	if (YAJL_IS_TRUE(om))
		return TH_OK;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		th_record *nr = realloc(a->recs, cap * sizeof *nr);

		if (nr == NULL)
			return th_seterr(errbuf, TH_ERR_NOMEM, "%s: out of memory", w);
		a->recs = nr;
		a->cap = cap;
	}
	r = &a->recs[a->n];
	memset(r, 0, sizeof *r);
	r->kind = TH_REC_IPERF;
	snprintf(r->vm, sizeof r->vm, "%s", a->vm);
	snprintf(r->stream, sizeof r->stream, "%s", a->stream);
	r->u.iperf.jitter_ms = NAN;
	r->u.iperf.lost_packets = -1;
	r->u.iperf.packets = -1;
	if ((e = th_json_double(sum, sw, "start", 0, 1e7, false, &start, errbuf)) ||
	    (e = th_json_double(sum, sw, "seconds", 0, 3600, false, &r->u.iperf.seconds, errbuf)) ||
	    (e = th_json_int(sum, sw, "bytes", 0, INT64_MAX, &bytes, errbuf)) ||
	    (e = th_json_double(sum, sw, "bits_per_second", 0, 1e15, false,
	                        &r->u.iperf.bits_per_second, errbuf)) ||
	    (e = th_json_double_opt(sum, sw, "jitter_ms", 0, 1e9, &r->u.iperf.jitter_ms, errbuf)) ||
	    (e = th_json_int_opt(sum, sw, "lost_packets", 0, INT64_MAX, &r->u.iperf.lost_packets,
	                         errbuf)) ||
	    (e = th_json_int_opt(sum, sw, "packets", 0, INT64_MAX, &r->u.iperf.packets, errbuf)))
		return e;
	r->u.iperf.t = a->timesec + (int64_t)floor(start + 0.5);
	r->u.iperf.bytes = (uint64_t)bytes;
	r->u.iperf.blackout = bytes == 0;
	a->n++;
	return TH_OK;
}

static th_err th_iperf_count(th_iperf_acc *a, char *errbuf)
{
	if (a->intervals >= TH_IPERF_INTERVALS_MAX)
		return th_seterr(errbuf, TH_ERR_PARSE, "body: more than %d iperf intervals",
		                 TH_IPERF_INTERVALS_MAX);
	a->intervals++;
	return TH_OK;
}

/* What is built: "event", the "data" of start, interval and error events, "start", "error"
 * and each item of "intervals" (see th_iperf_element); everything else is skipped. */
static th_js_action th_iperf_member(th_iperf_acc *a, const char *k, yajl_type type)
{
	bool event_mode = a->lines || a->event_only || a->has_event;

	if (strcmp(k, "event") == 0)
		return a->event_only ? TH_JS_SKIP : TH_JS_BUILD;
	if (strcmp(k, "data") == 0) {
		a->has_data = true;
		if (!a->has_event && !a->event_only) {
			a->before_event = true; /* walked again once "event" is known */
			return TH_JS_SKIP;
		}
		return strcmp(a->event, "start") == 0 || strcmp(a->event, "interval") == 0 ||
		               strcmp(a->event, "error") == 0
		           ? TH_JS_BUILD
		           : TH_JS_SKIP;
	}
	if (event_mode)
		return TH_JS_SKIP;
	if (strcmp(k, "start") == 0 || strcmp(k, "error") == 0) {
		a->before_event = true;
		return TH_JS_BUILD;
	}
	if (strcmp(k, "intervals") == 0) {
		a->before_event = true;
		a->has_intervals = true;
		return type == yajl_t_array ? TH_JS_DESCEND : TH_JS_BUILD; /* refused when built */
	}
	return TH_JS_SKIP; /* "end", "server_output_json", ... */
}

static th_err th_iperf_select(void *ctx, const th_js_pos *pos, th_js_action *act, char *errbuf)
{
	th_iperf_acc *a = ctx;

	if (pos->depth == 1) { /* not an object: skipped (depth stays bounded), refused after */
		a->not_object = pos->type != yajl_t_object;
		*act = a->not_object ? TH_JS_SKIP : TH_JS_DESCEND;
		return TH_OK;
	}
	if (pos->depth == 3) { /* an item of "intervals" */
		*act = TH_JS_BUILD;
		return th_iperf_count(a, errbuf);
	}
	*act = th_iperf_member(a, pos->key, pos->type);
	if (*act != TH_JS_BUILD)
		return TH_OK;
	if (strcmp(pos->key, "event") == 0 && pos->type != yajl_t_string)
		return th_seterr(errbuf, TH_ERR_INVALID, "line %zu.event: missing or not a string",
		                 a->lineno);
	if (strcmp(pos->key, "intervals") == 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "iperf.intervals: missing or not an array");
	if (strcmp(pos->key, "data") == 0 && strcmp(a->event, "interval") == 0)
		return th_iperf_count(a, errbuf);
	return TH_OK;
}

static th_err th_iperf_element(void *ctx, yajl_val v, const th_js_pos *pos, char *errbuf)
{
	th_iperf_acc *a = ctx;
	char w[48];

	if (pos->depth == 3) {
		snprintf(w, sizeof w, "iperf.intervals[%zu]", pos->index);
		return th_iperf_interval(a, v, w, errbuf);
	}
	if (strcmp(pos->key, "event") == 0) {
		a->has_event = true;
		snprintf(a->event, sizeof a->event, "%s", v->u.string);
		return TH_OK;
	}
	if (strcmp(pos->key, "error") == 0) {
		if (YAJL_IS_STRING(v)) {
			a->has_error = true;
			snprintf(a->error, sizeof a->error, "%s", v->u.string);
		}
		return TH_OK;
	}
	if (strcmp(pos->key, "start") == 0) {
		a->has_start = true;
		return th_iperf_start(a, v, "iperf.start", errbuf);
	}
	/* "data" of a start, interval or error event */
	snprintf(w, sizeof w, "line %zu.data", a->lineno);
	if (strcmp(a->event, "start") == 0)
		return th_iperf_start(a, v, w, errbuf);
	if (strcmp(a->event, "interval") == 0)
		return th_iperf_interval(a, v, w, errbuf);
	if (YAJL_IS_STRING(v)) {
		a->has_error = true;
		snprintf(a->error, sizeof a->error, "%s", v->u.string);
	}
	return TH_OK;
}

/* After the top-level object: what only its end can tell. */
static th_err th_iperf_finish(th_iperf_acc *a, char *errbuf)
{
	char w[48];

	if (a->not_object)
		return a->lines ? th_seterr(errbuf, TH_ERR_INVALID, "line %zu: expected an object",
		                            a->lineno)
		                : th_seterr(errbuf, TH_ERR_INVALID,
		                            "body: expected an iperf3 JSON object");
	if (a->has_event || a->event_only) {
		snprintf(w, sizeof w, "line %zu.data", a->lineno);
		if (strcmp(a->event, "error") == 0)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "line %zu: iperf3 reported \"%.150s\"", a->lineno,
			                 a->has_error ? a->error : "an error");
		if (!a->has_data && strcmp(a->event, "start") == 0)
			return th_iperf_start(a, NULL, w, errbuf);
		if (!a->has_data && strcmp(a->event, "interval") == 0)
			return th_iperf_interval(a, NULL, w, errbuf);
		return TH_OK;
	}
	if (a->lines)
		return th_seterr(errbuf, TH_ERR_INVALID, "line %zu.event: missing or not a string",
		                 a->lineno);
	if (a->has_error && !a->has_intervals)
		return th_seterr(errbuf, TH_ERR_INVALID, "iperf.error: iperf3 reported \"%.150s\"",
		                 a->error);
	if (!a->has_start)
		return th_iperf_start(a, NULL, "iperf.start", errbuf);
	if (!a->has_intervals)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "iperf.intervals: missing or not an array");
	return TH_OK;
}

/* Walk one top-level value (the body, or one line of it). An event object whose "data" came
 * before its "event" is walked a second time, from the same state, with the event known. */
static th_err th_iperf_value(th_iperf_acc *a, th_js *js, const char *buf, size_t len,
                             const char *root, char *errbuf)
{
	static const th_js_handler proto = {.select = th_iperf_select, .element = th_iperf_element};
	th_js_handler h = proto;
	size_t n = a->n, intervals = a->intervals;
	int64_t timesec = a->timesec;
	th_err e;

	h.ctx = a;
	a->event_only = a->has_event = a->has_data = a->has_start = false;
	a->has_intervals = a->has_error = a->before_event = a->not_object = false;
	a->event[0] = '\0';
	if ((e = th_js_decode(js, buf, len, root, &h, errbuf)) != TH_OK)
		return e;
	if (a->has_event && a->before_event) {
		a->n = n;
		a->intervals = intervals;
		a->timesec = timesec;
		a->has_data = a->has_error = false;
		a->event_only = true;
		if ((e = th_js_decode(js, buf, len, root, &h, errbuf)) != TH_OK)
			return e;
	}
	return th_iperf_finish(a, errbuf);
}

static th_err th_iperf_lines(th_iperf_acc *a, th_js *js, const char *body, size_t len, char *errbuf)
{
	size_t pos = 0;
	char root[32], sub[TH_ERRLEN];
	th_err e;

	a->lines = true;
	a->lineno = 0;
	while (pos < len) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - body) : len, k;

		a->lineno++;
		for (k = pos; k < end && (body[k] == ' ' || body[k] == '\t' || body[k] == '\r');
		     k++)
			;
		if (k < end) {
			snprintf(root, sizeof root, "line %zu", a->lineno);
			e = th_iperf_value(a, js, body + pos, end - pos, root, sub);
			if (e != TH_OK && th_js_malformed(js))
				return th_seterr(errbuf, e, "%s: %s", root, sub);
			if (e != TH_OK)
				return th_seterr(errbuf, e, "%s", sub);
		}
		pos = end + 1;
	}
	return TH_OK;
}

th_err th_iperf_decode(const char *body, size_t len, const char *vm, const char *stream,
                       th_record **out, size_t *n, char *errbuf)
{
	th_iperf_acc a = {.vm = vm, .stream = stream, .timesec = -1, .lineno = 1};
	th_js *js;
	th_err e;

	*out = NULL;
	*n = 0;
	if (vm == NULL || vm[0] == '\0' || strlen(vm) >= TH_NAME_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "vm: missing or too long (query ?vm=NAME)");
	if (stream == NULL || stream[0] == '\0' || strlen(stream) >= TH_NAME_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "stream: missing or too long (query &stream=NAME)");
	if ((e = th_name_check("vm", vm, errbuf)) ||
	    (e = th_stream_id_check("stream", stream, errbuf)))
		return e;
	if ((js = th_js_new()) == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "body: out of memory");
	/* One value: a document or a single event. Else --json-stream lines, from scratch. */
	e = th_iperf_value(&a, js, body, len, "iperf", errbuf);
	if (e != TH_OK && th_js_malformed(js)) {
		a.n = 0;
		a.intervals = 0;
		a.timesec = -1;
		e = th_iperf_lines(&a, js, body, len, errbuf);
	}
	th_js_free(js);
	if (e == TH_OK && a.n == 0 && a.timesec < 0)
		e = th_seterr(errbuf, TH_ERR_INVALID, "body: no iperf3 start object or interval");
	if (e != TH_OK) {
		free(a.recs);
		return e;
	}
	*out = a.recs;
	*n = a.n;
	return TH_OK;
}
