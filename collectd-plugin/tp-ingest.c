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

static int tp_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool tp_query_get(const char *query, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *p = query;

	while (p != NULL && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t o = 0;

			for (p += klen + 1; *p && *p != '&' && o + 1 < size; p++) {
				if (*p == '%' && tp_hexval(p[1]) >= 0 && tp_hexval(p[2]) >= 0) {
					out[o++] = (char)(tp_hexval(p[1]) * 16 + tp_hexval(p[2]));
					p += 2;
				} else {
					out[o++] = *p;
				}
			}
			out[o] = '\0';
			return true;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return false;
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

static void tp_accepted(tp_reply *rep, th_err e, size_t n, size_t dups, const char *msg)
{
	if (e == TH_ERR_TOOBIG) {
		tp_error(rep, 503, msg);
		return;
	}
	if (e != TH_OK) {
		tp_error(rep, e == TH_ERR_NOMEM ? 503 : 400, msg);
		return;
	}
	rep->status = 200;
	snprintf(rep->body, sizeof rep->body, "{\"accepted\":%zu,\"duplicates\":%zu}\n", n - dups,
	         dups);
}

void tp_ingest_handle(const tp_ingest *in, const char *method, const char *path, const char *query,
                      const char *auth, const char *body, size_t len, bool too_big, tp_reply *rep)
{
	char msg[TH_ERRLEN], vm[TH_NAME_MAX + 1], stream[TH_NAME_MAX + 1], extra[256];
	bool post = strcmp(method, "POST") == 0;
	size_t n = 0, dups = 0;
	th_err e;

	msg[0] = '\0';
	if (strcmp(path, "/v1/health") == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
			tp_error(rep, 405, "/v1/health: use GET");
			return;
		}
		extra[0] = '\0';
		if (in->health)
			in->health(in->ctx, extra, sizeof extra);
		rep->status = 200;
		snprintf(rep->body, sizeof rep->body,
		         "{\"status\":\"ok\",\"version\":\"%s\"%s%s}\n", THEMIS_VERSION,
		         extra[0] ? "," : "", extra);
		return;
	}
	if (strcmp(path, "/v1/records") != 0 && strcmp(path, "/v1/markers") != 0 &&
	    strcmp(path, "/v1/iperf") != 0) {
		snprintf(msg, sizeof msg, "%.200s: no such endpoint", path);
		tp_error(rep, 404, msg);
		return;
	}
	if (!post) {
		snprintf(msg, sizeof msg, "%.200s: use POST", path);
		tp_error(rep, 405, msg);
		return;
	}
	if (!tp_auth_ok(in->token, auth)) {
		tp_error(rep, 401, "Authorization: missing or wrong bearer token");
		return;
	}
	if (too_big) {
		snprintf(msg, sizeof msg, "body: larger than the limit of %zu bytes", in->max_body);
		tp_error(rep, 413, msg);
		return;
	}
	if (strcmp(path, "/v1/markers") == 0) {
		th_marker *m = NULL;

		if ((e = th_markers_decode(body, len, &m, &n, msg)) == TH_OK)
			e = in->markers(in->ctx, m, n, &dups, msg);
		free(m);
		tp_accepted(rep, e, n, dups, msg);
		return;
	}
	th_record *r = NULL;

	if (strcmp(path, "/v1/records") == 0) {
		e = th_records_decode(body, len, &r, &n, msg);
	} else {
		if (!tp_query_get(query, "vm", vm, sizeof vm))
			vm[0] = '\0';
		if (!tp_query_get(query, "stream", stream, sizeof stream))
			snprintf(stream, sizeof stream, "iperf");
		e = th_iperf_decode(body, len, vm, stream, &r, &n, msg);
	}
	if (e == TH_OK)
		e = in->records(in->ctx, r, n, &dups, msg);
	free(r);
	tp_accepted(rep, e, n, dups, msg);
}
