/* codec-iperf.c — iperf3 --json / --json-stream into "iperf" records (see codec-iperf.h). */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-iperf.h"
#include "codec-json.h"
#include "codec-record.h"

typedef struct th_iperf_acc {
	th_record *recs;
	size_t n, cap;
	const char *vm, *stream;
	int64_t timesec; /* -1 until the start object was seen */
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

static th_err th_iperf_document(th_iperf_acc *a, yajl_val doc, char *errbuf)
{
	yajl_val err = th_json_member(doc, "error"), ivs;
	char w[48];
	th_err e;

	if (YAJL_IS_STRING(err) && th_json_member(doc, "intervals") == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "iperf.error: iperf3 reported \"%.150s\"",
		                 err->u.string);
	if ((e = th_iperf_start(a, th_json_member(doc, "start"), "iperf.start", errbuf)))
		return e;
	ivs = th_json_member(doc, "intervals");
	if (!YAJL_IS_ARRAY(ivs))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "iperf.intervals: missing or not an array");
	for (size_t i = 0; i < ivs->u.array.len; i++) {
		snprintf(w, sizeof w, "iperf.intervals[%zu]", i);
		if ((e = th_iperf_interval(a, ivs->u.array.values[i], w, errbuf)))
			return e;
	}
	return TH_OK;
}

/* One --json-stream line (already parsed). */
static th_err th_iperf_event(th_iperf_acc *a, yajl_val line, size_t lineno, char *errbuf)
{
	yajl_val ev = th_json_member(line, "event"), data = th_json_member(line, "data");
	char w[48];

	snprintf(w, sizeof w, "line %zu", lineno);
	if (!YAJL_IS_STRING(ev))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.event: missing or not a string", w);
	if (strcmp(ev->u.string, "error") == 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: iperf3 reported \"%.150s\"", w,
		                 YAJL_IS_STRING(data) ? data->u.string : "an error");
	if (strcmp(ev->u.string, "start") == 0) {
		snprintf(w, sizeof w, "line %zu.data", lineno);
		return th_iperf_start(a, data, w, errbuf);
	}
	if (strcmp(ev->u.string, "interval") == 0) {
		snprintf(w, sizeof w, "line %zu.data", lineno);
		return th_iperf_interval(a, data, w, errbuf);
	}
	return TH_OK; /* "end", "server_output_json", ...: nothing per interval */
}

static th_err th_iperf_lines(th_iperf_acc *a, const char *body, size_t len, char *errbuf)
{
	size_t pos = 0, lineno = 0;
	char lw[48], sub[TH_ERRLEN];
	th_err e;

	while (pos < len) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - body) : len, k;
		yajl_val v = NULL;

		lineno++;
		for (k = pos; k < end && (body[k] == ' ' || body[k] == '\t' || body[k] == '\r');
		     k++)
			;
		if (k < end) {
			if (th_json_parse(body + pos, end - pos, &v, sub) != TH_OK) {
				snprintf(lw, sizeof lw, "line %zu", lineno);
				return th_seterr(errbuf, TH_ERR_PARSE, "%s: %s", lw, sub);
			}
			e = YAJL_IS_OBJECT(v) ? th_iperf_event(a, v, lineno, errbuf)
			                      : th_seterr(errbuf, TH_ERR_INVALID,
			                                  "line %zu: expected an object", lineno);
			yajl_tree_free(v);
			if (e)
				return e;
		}
		pos = end + 1;
	}
	return TH_OK;
}

th_err th_iperf_decode(const char *body, size_t len, const char *vm, const char *stream,
                       th_record **out, size_t *n, char *errbuf)
{
	th_iperf_acc a = {.vm = vm, .stream = stream, .timesec = -1};
	yajl_val doc = NULL;
	char sub[TH_ERRLEN];
	th_err e;

	*out = NULL;
	*n = 0;
	if (vm == NULL || vm[0] == '\0' || strlen(vm) >= TH_NAME_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "vm: missing or too long (query ?vm=NAME)");
	if (stream == NULL || stream[0] == '\0' || strlen(stream) >= TH_NAME_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "stream: missing or too long (query &stream=NAME)");
	if (th_json_parse(body, len, &doc, sub) == TH_OK) {
		if (!YAJL_IS_OBJECT(doc))
			e = th_seterr(errbuf, TH_ERR_INVALID,
			              "body: expected an iperf3 JSON object");
		else if (th_json_member(doc, "event") != NULL)
			e = th_iperf_event(&a, doc, 1, errbuf);
		else
			e = th_iperf_document(&a, doc, errbuf);
		yajl_tree_free(doc);
	} else {
		e = th_iperf_lines(&a, body, len, errbuf);
	}
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
