/* iperf-parse.c — iperf3 3.12 text lines to `iperf` and `outage` records (see iperf-parse.h). */
#include "themis-config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iperf-parse.h"

static const char *ip_skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A number followed by a unit word; *scale gets bytes or bits per unit. */
static bool ip_number_unit(const char **pp, double *val, char *unit, size_t ulen)
{
	const char *p = ip_skip_ws(*pp);
	char *end;
	size_t n = 0;

	*val = strtod(p, &end);
	if (end == p)
		return false;
	p = ip_skip_ws(end);
	while (*p && !isspace((unsigned char)*p) && n < ulen - 1)
		unit[n++] = *p++;
	unit[n] = '\0';
	*pp = p;
	return n > 0;
}

/* Bytes for Transfer units: Bytes, KBytes, MBytes, GBytes, TBytes (1024-based). */
static bool ip_scale_bytes(const char *u, double *scale)
{
	static const char *names[] = {"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"};
	double s = 1;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++, s *= 1024)
		if (strcmp(u, names[i]) == 0) {
			*scale = s;
			return true;
		}
	return false;
}

/* Bits per second for Bitrate units: bits/sec .. Tbits/sec (1000-based) or Bytes/sec ..
 * TBytes/sec (-f K/M/G: 1024-based bytes). */
static bool ip_scale_rate(const char *u, double *scale)
{
	static const char *bits[] = {"bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec",
	                             "Tbits/sec"};
	static const char *bytes[] = {"Bytes/sec", "KBytes/sec", "MBytes/sec", "GBytes/sec",
	                              "TBytes/sec"};
	double s = 1;

	for (size_t i = 0; i < 5; i++, s *= 1000)
		if (strcmp(u, bits[i]) == 0) {
			*scale = s;
			return true;
		}
	s = 8;
	for (size_t i = 0; i < 5; i++, s *= 1024)
		if (strcmp(u, bytes[i]) == 0) {
			*scale = s;
			return true;
		}
	return false;
}

static bool ip_is_int(const char *tok)
{
	if (*tok == '\0')
		return false;
	for (; *tok; tok++)
		if (!isdigit((unsigned char)*tok))
			return false;
	return true;
}

th_iperf_kind th_iperf_parse_line(const char *line, th_iperf_cols *cols, th_iperf_line *out)
{
	const char *p = line, *q;
	char *end;
	char unit[32], rest[256];
	char *tok[8];
	int ntok = 0;
	double scale;

	memset(out, 0, sizeof *out);
	out->stamp = -1;
	out->jitter_ms = NAN;
	out->lost = out->packets = out->retransmits = -1;
	out->id = -1;

	/* --timestamps='%s ' prefix */
	if (isdigit((unsigned char)*p)) {
		long long s = strtoll(p, &end, 10);
		if (*end == ' ') {
			out->stamp = s;
			p = end + 1;
		}
	}
	if ((q = strstr(p, "iperf3: error - ")) != NULL) {
		out->message = q + strlen("iperf3: error - ");
		return TH_IPERF_ERROR;
	}
	p = ip_skip_ws(p);
	if (strncmp(p, "- - -", 5) == 0)
		return TH_IPERF_SEPARATOR;
	if (*p != '[')
		return TH_IPERF_OTHER;
	q = strchr(p, ']');
	if (q == NULL)
		return TH_IPERF_OTHER;
	{
		char id[16];
		size_t n = (size_t)(q - p - 1);
		const char *a = p + 1;
		while (n > 0 && *a == ' ') {
			a++;
			n--;
		}
		if (n == 0 || n >= sizeof id)
			return TH_IPERF_OTHER;
		memcpy(id, a, n);
		id[n] = '\0';
		if (strcmp(id, "ID") == 0) {
			if (strstr(q, "Lost/Total"))
				*cols = TH_IPERF_COLS_LOSS;
			else if (strstr(q, "Total Datagrams"))
				*cols = TH_IPERF_COLS_TOTAL;
			else if (strstr(q, "Retr"))
				*cols = TH_IPERF_COLS_RETR;
			else
				*cols = TH_IPERF_COLS_NONE;
			return TH_IPERF_HEADER;
		}
		if (strcmp(id, "SUM") == 0)
			out->sum = true;
		else if (ip_is_int(id))
			out->id = atoi(id);
		else
			return TH_IPERF_OTHER;
	}
	p = ip_skip_ws(q + 1);
	/* "0.00-1.00   sec" */
	out->start = strtod(p, &end);
	if (end == p || *end != '-')
		return TH_IPERF_OTHER; /* e.g. "[  5] local ... connected to ..." */
	p = end + 1;
	out->end = strtod(p, &end);
	if (end == p)
		return TH_IPERF_OTHER;
	p = ip_skip_ws(end);
	if (strncmp(p, "sec", 3) != 0)
		return TH_IPERF_OTHER;
	p += 3;
	if (!ip_number_unit(&p, &out->bytes, unit, sizeof unit) || !ip_scale_bytes(unit, &scale))
		return TH_IPERF_OTHER;
	out->bytes *= scale;
	if (!ip_number_unit(&p, &out->bits_per_second, unit, sizeof unit) ||
	    !ip_scale_rate(unit, &scale))
		return TH_IPERF_OTHER;
	out->bits_per_second *= scale;

	/* the remaining columns, then an optional role word */
	snprintf(rest, sizeof rest, "%s", p);
	for (char *s = strtok(rest, " \t"); s && ntok < 8; s = strtok(NULL, " \t"))
		tok[ntok++] = s;
	{
		bool summary = ntok > 0 && (strcmp(tok[ntok - 1], "sender") == 0 ||
		                            strcmp(tok[ntok - 1], "receiver") == 0);
		int n = summary ? ntok - 1 : ntok;

		if (n >= 3 && strcmp(tok[1], "ms") == 0) {
			/* "0.073 ms  0/39 (0%)" */
			long long lost, total;
			out->jitter_ms = strtod(tok[0], NULL);
			if (sscanf(tok[2], "%lld/%lld", &lost, &total) == 2) {
				out->lost = lost;
				out->packets = total;
			}
		} else if (n >= 1 && ip_is_int(tok[0])) {
			if (*cols == TH_IPERF_COLS_TOTAL)
				out->packets = atoll(tok[0]);
			else if (*cols == TH_IPERF_COLS_RETR)
				out->retransmits = atoll(tok[0]);
		}
		return summary ? TH_IPERF_SUMMARY : TH_IPERF_INTERVAL;
	}
}

/* ------------------------------------------------------------------ records */

void th_iperf_conv_init(th_iperf_conv *c, const char *vm, const char *stream,
                        th_direction direction, bool sum_only)
{
	memset(c, 0, sizeof *c);
	snprintf(c->vm, sizeof c->vm, "%s", vm);
	snprintf(c->stream, sizeof c->stream, "%s", stream);
	c->direction = direction;
	c->sum_only = sum_only;
	c->id = -2;
}

static void ip_outage(th_iperf_conv *c, double end, uint32_t lost, th_iperf_record_cb cb, void *arg)
{
	th_record r;

	memset(&r, 0, sizeof r);
	r.kind = TH_REC_OUTAGE;
	memcpy(r.vm, c->vm, sizeof r.vm);
	memcpy(r.stream, c->stream, sizeof r.stream);
	r.u.outage.direction = c->direction;
	r.u.outage.start = c->anchor + c->dark_start;
	r.u.outage.end = c->anchor + end;
	r.u.outage.duration_ms = (end - c->dark_start) * 1000.0;
	r.u.outage.bound_ms = c->dark_len * 1000.0;
	r.u.outage.lost = lost;
	c->outages++;
	c->dark = false;
	cb(&r, arg);
}

th_iperf_kind th_iperf_conv_line(th_iperf_conv *c, const char *line, double now,
                                 th_iperf_record_cb cb, void *arg)
{
	th_iperf_line l;
	th_iperf_kind k = th_iperf_parse_line(line, &c->cols, &l);
	th_record r;

	switch (k) {
	case TH_IPERF_ERROR:
		c->errors++;
		snprintf(c->last_error, sizeof c->last_error, "%s", l.message);
		return k;
	case TH_IPERF_SEPARATOR:
		if (c->dark)
			ip_outage(c, c->last_end, 0, cb, arg);
		c->in_summary = true;
		return k;
	case TH_IPERF_INTERVAL:
		break;
	default:
		return k;
	}
	if (c->sum_only != l.sum)
		return k;
	if (c->in_summary || (c->anchored && l.start + 1e-6 < c->last_end - 0.5)) {
		/* a new run (a server's next client) */
		if (c->dark)
			ip_outage(c, c->last_end, 0, cb, arg);
		c->anchored = false;
		c->in_summary = false;
		c->id = -2;
	}
	if (c->id == -2)
		c->id = l.id;
	if (l.id != c->id || l.end <= l.start)
		return k; /* another stream of a -P run, or the server's zero-length tail */
	if (!c->anchored) {
		double at = now > 0 ? now : (l.stamp >= 0 ? (double)l.stamp : 0);
		c->anchor = at - l.end;
		c->anchored = true;
	}
	memset(&r, 0, sizeof r);
	r.kind = TH_REC_IPERF;
	memcpy(r.vm, c->vm, sizeof r.vm);
	memcpy(r.stream, c->stream, sizeof r.stream);
	r.u.iperf.t = (int64_t)floor(c->anchor + l.start + 1e-6);
	r.u.iperf.seconds = l.end - l.start;
	r.u.iperf.bytes = (uint64_t)llround(l.bytes);
	r.u.iperf.bits_per_second = l.bits_per_second;
	r.u.iperf.jitter_ms = l.jitter_ms;
	r.u.iperf.lost_packets = l.lost;
	r.u.iperf.packets = l.packets;
	r.u.iperf.blackout = l.bytes == 0;
	c->intervals++;
	if (r.u.iperf.blackout) {
		c->blackouts++;
		if (!c->dark) {
			c->dark = true;
			c->dark_start = l.start;
		}
		c->dark_len = l.end - l.start;
	} else if (c->dark) {
		/* traffic is back: iperf3 books the blackout's loss here */
		ip_outage(c, l.start, l.lost > 0 ? (uint32_t)l.lost : 0, cb, arg);
	}
	c->last_end = l.end;
	cb(&r, arg);
	return k;
}

void th_iperf_conv_finish(th_iperf_conv *c, th_iperf_record_cb cb, void *arg)
{
	if (c->dark)
		ip_outage(c, c->last_end, 0, cb, arg);
}
