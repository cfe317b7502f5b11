/* tp-ingest.c — request routing, authentication and decoding (see tp-ingest.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-iperf.h"
#include "codec-marker.h"
#include "codec-record.h"
#include "tp-ingest.h"

#ifndef THEMIS_VERSION
#define THEMIS_VERSION "unknown"
#endif

static void tp_json_escape(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 7 < size; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

static void tp_error(tp_reply *rep, int status, const char *msg)
{
	char esc[TH_ERRLEN * 2];

	tp_json_escape(msg, esc, sizeof esc);
	rep->status = status;
	snprintf(rep->body, sizeof rep->body, "{\"error\":\"%.300s\"}\n", esc);
}

/* Constant-time comparison of the Authorization header with "Bearer <token>". */
static bool tp_auth_ok(const char *token, const char *auth)
{
	size_t tl, al;
	unsigned char diff = 0;

	if (token == NULL || token[0] == '\0')
		return true;
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0)
		return false;
	auth += 7;
	tl = strlen(token);
	al = strlen(auth);
	for (size_t i = 0; i < tl; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < al ? auth[i] : 0);
	return diff == 0 && al == tl;
}

/* Status of an error from the state behind the API (tp-ingest.h lists them). */
static int tp_status_of(th_err e)
{
	switch (e) {
	case TH_ERR_TOOBIG:
	case TH_ERR_NOMEM:
		return 503;
	case TH_ERR_LIMIT:
		return 429;
	case TH_ERR_STATE:
		return 409;
	default:
		return 400;
	}
}

static void tp_accepted(tp_reply *rep, th_err e, size_t n, size_t dups, uint64_t ticket,
                        const char *msg)
{
	if (e != TH_OK) {
		tp_error(rep, tp_status_of(e), msg);
		return;
	}
	rep->status = 200;
	rep->ticket = ticket;
	snprintf(rep->body, sizeof rep->body, "{\"accepted\":%zu,\"duplicates\":%zu}\n", n - dups,
	         dups);
}

/* A body the decoders refused: 413 for a bound (the client may split it), else 400. */
static void tp_refused(tp_reply *rep, th_err e, const char *msg)
{
	tp_error(rep, e == TH_ERR_TOOBIG ? 413 : e == TH_ERR_NOMEM ? 503 : 400, msg);
}

static bool tp_is_ingest(const char *path)
{
	return strcmp(path, "/v1/records") == 0 || strcmp(path, "/v1/markers") == 0 ||
	       strcmp(path, "/v1/iperf") == 0;
}

bool tp_ingest_precheck(const tp_ingest *in, const char *method, const char *path, const char *auth,
                        long long content_length, tp_reply *rep)
{
	char msg[TH_ERRLEN];

	if (strcmp(path, "/v1/health") == 0) {
		if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
			return true;
		tp_error(rep, 405, "/v1/health: use GET");
		return false;
	}
	if (!tp_is_ingest(path)) {
		snprintf(msg, sizeof msg, "%.200s: no such endpoint", path);
		tp_error(rep, 404, msg);
		return false;
	}
	if (strcmp(method, "POST") != 0) {
		snprintf(msg, sizeof msg, "%.200s: use POST", path);
		tp_error(rep, 405, msg);
		return false;
	}
	if (!tp_auth_ok(in->token, auth)) {
		tp_error(rep, 401, "Authorization: missing or wrong bearer token");
		return false;
	}
	if (content_length >= 0 && (unsigned long long)content_length > in->max_body) {
		snprintf(msg, sizeof msg,
		         "body: Content-Length %lld is larger than the limit of %zu bytes "
		         "(MaxBodySize)",
		         content_length, in->max_body);
		tp_error(rep, 413, msg);
		return false;
	}
	return true;
}

void tp_ingest_handle(const tp_ingest *in, const char *method, const char *path, const char *vm,
                      const char *stream, const char *auth, const char *body, size_t len,
                      bool too_big, tp_reply *rep)
{
	char msg[TH_ERRLEN], extra[1024];
	size_t n = 0, dups = 0;
	uint64_t ticket = 0;
	th_err e;

	msg[0] = '\0';
	rep->ticket = 0;
	if (!tp_ingest_precheck(in, method, path, auth, -1, rep))
		return;
	if (strcmp(path, "/v1/health") == 0) {
		/* Without the token: a bare liveness answer, no counters. */
		extra[0] = '\0';
		if (in->health && tp_auth_ok(in->token, auth))
			in->health(in->ctx, extra, sizeof extra);
		rep->status = 200;
		snprintf(rep->body, sizeof rep->body,
		         "{\"status\":\"ok\",\"version\":\"%s\"%s%s}\n", THEMIS_VERSION,
		         extra[0] ? "," : "", extra);
		return;
	}
	if (too_big) {
		snprintf(msg, sizeof msg, "body: larger than the limit of %zu bytes (MaxBodySize)",
		         in->max_body);
		tp_error(rep, 413, msg);
		return;
	}
	if (strcmp(path, "/v1/markers") == 0) {
		th_marker *m = NULL;

		if ((e = th_markers_decode(body, len, &m, &n, msg)) != TH_OK) {
			tp_refused(rep, e, msg);
		} else {
			e = in->markers(in->ctx, m, n, &dups, &ticket, msg);
			tp_accepted(rep, e, n, dups, ticket, msg);
		}
		free(m);
		return;
	}
	th_record *r = NULL;

	if (strcmp(path, "/v1/records") == 0)
		e = th_records_decode(body, len, &r, &n, msg);
	else
		e = th_iperf_decode(body, len, vm ? vm : "", stream ? stream : "iperf", &r, &n,
		                    msg);
	if (e != TH_OK) {
		tp_refused(rep, e, msg);
	} else {
		e = in->records(in->ctx, r, n, &dups, &ticket, msg);
		tp_accepted(rep, e, n, dups, ticket, msg);
	}
	free(r);
}
