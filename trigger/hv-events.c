/* hv-events.c — QMP event lines and virsh lifecycle lines into hv_event lists (see
 * hv-events.h), the choice of a migration's pause and resume, and the command lines that run an
 * event source in the background. */
#include "themis-config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#include "hv-events.h"
#include "hv-view.h"

const char *hv_side_name(hv_side side)
{
	return side == HV_SIDE_SRC ? "src" : "dst";
}

static void hv_copy(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%.*s", (int)(size - 1), s);
}

/* Exactly n decimal digits at s; -1 otherwise. */
static int hv_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD HH:MM:SS.mmm+0000" (28 bytes) → epoch s; false when malformed. */
static bool hv_libvirt_time(const char *s, double *t)
{
	int y = hv_digits(s, 4), mo = hv_digits(s + 5, 2), d = hv_digits(s + 8, 2);
	int h = hv_digits(s + 11, 2), mi = hv_digits(s + 14, 2), se = hv_digits(s + 17, 2);
	int ms = hv_digits(s + 20, 3);
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = se};
	time_t sec;

	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || se < 0 || se > 60 || ms < 0 || s[4] != '-' || s[7] != '-' || s[10] != ' ' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.' || strncmp(s + 23, "+0000", 5) != 0)
		return false;
	sec = timegm(&tm); /* the line is UTC ("+0000") */
	if (sec == (time_t)-1)
		return false;
	*t = (double)sec + ms / 1000.0;
	return true;
}

static void hv_push(hv_events *out, const hv_event *e)
{
	if (out->n < HV_EVENTS_MAX)
		out->ev[out->n++] = *e;
	else
		out->dropped++;
}

/* A virsh event line; false when the line is not one. */
static bool hv_parse_virsh(const char *line, hv_side side, hv_event *e)
{
	static const char life[] = ": event 'lifecycle' for domain '";
	const char *p, *q;
	char what[32];

	if (strlen(line) < 28 + 8 || !hv_libvirt_time(line, &e->t) || line[28] != ':')
		return false;
	hv_copy(e->source, sizeof e->source, "libvirt");
	if (strncmp(line + 28, life, sizeof life - 1) != 0) {
		/* another virsh event ("event 'reboot' for domain ..."): its name */
		if (strncmp(line + 28, ": event '", 9) != 0)
			return false;
		p = line + 37;
		q = strchr(p, '\'');
		if (q == NULL)
			return false;
		snprintf(e->status, sizeof e->status, "%.*s", (int)(q - p < 31 ? q - p : 31), p);
		e->kind = HV_EV_OTHER;
		return true;
	}
	/* the domain name may itself hold "': " only in theory: take the last "': " */
	p = line + 28 + sizeof life - 1;
	q = NULL;
	for (const char *r = strstr(p, "': "); r != NULL; r = strstr(r + 1, "': "))
		q = r;
	if (q == NULL || q[3] == '\0')
		return false;
	hv_copy(e->status, sizeof e->status, q + 3);
	snprintf(what, sizeof what, "%s", q + 3);
	what[strcspn(what, " ")] = '\0';
	e->kind = HV_EV_STATUS;
	if (side == HV_SIDE_SRC && strcmp(what, "Suspended") == 0) {
		e->kind = HV_EV_PAUSE;
	} else if (side == HV_SIDE_SRC && strcmp(what, "Stopped") == 0 &&
	           strcmp(q + 3, "Stopped Migrated") != 0) {
		e->kind = HV_EV_PAUSE;
		e->fallback = true;
	} else if (side == HV_SIDE_DST && strcmp(what, "Resumed") == 0) {
		e->kind = HV_EV_RESUME;
	} else if (side == HV_SIDE_DST && (strcmp(q + 3, "Started Booted") == 0 ||
	                                   strcmp(q + 3, "Started Restored") == 0)) {
		e->kind = HV_EV_RESUME;
		e->fallback = true;
	}
	return true;
}

/* A QMP event line; false when the line is not one. */
static bool hv_parse_qmp(const char *line, hv_side side, hv_event *e)
{
	const char *p_ev[] = {"event", NULL}, *p_s[] = {"timestamp", "seconds", NULL};
	const char *p_us[] = {"timestamp", "microseconds", NULL};
	const char *p_st[] = {"data", "status", NULL};
	yajl_val v = yajl_tree_parse(line, NULL, 0), ev, s, us, st;
	const char *name;
	bool ok = false;

	if (v == NULL)
		return false;
	ev = yajl_tree_get(v, p_ev, yajl_t_string);
	s = yajl_tree_get(v, p_s, yajl_t_number);
	us = yajl_tree_get(v, p_us, yajl_t_number);
	if (ev == NULL || s == NULL || us == NULL || !YAJL_IS_INTEGER(s) || !YAJL_IS_INTEGER(us))
		goto out;
	/* QEMU sends -1/-1 when it could not read the clock: such an event has no time */
	if (YAJL_GET_INTEGER(s) < 0 || YAJL_GET_INTEGER(s) > (1LL << 40) ||
	    YAJL_GET_INTEGER(us) < 0 || YAJL_GET_INTEGER(us) > 999999)
		goto out;
	name = YAJL_GET_STRING(ev);
	if (name == NULL)
		goto out;
	e->t = (double)YAJL_GET_INTEGER(s) + (double)YAJL_GET_INTEGER(us) / 1e6;
	hv_copy(e->source, sizeof e->source, "qmp");
	hv_copy(e->status, sizeof e->status, name);
	e->kind = HV_EV_OTHER;
	if (strcmp(name, "MIGRATION") == 0) {
		st = yajl_tree_get(v, p_st, yajl_t_string);
		if (st == NULL || YAJL_GET_STRING(st) == NULL)
			goto out;
		name = YAJL_GET_STRING(st);
		hv_copy(e->status, sizeof e->status, name);
		e->kind = HV_EV_STATUS;
	} else if (side == HV_SIDE_SRC && strcmp(name, "STOP") == 0) {
		e->kind = HV_EV_PAUSE;
	} else if (side == HV_SIDE_DST && strcmp(name, "RESUME") == 0) {
		e->kind = HV_EV_RESUME;
	}
	ok = true;
out:
	yajl_tree_free(v);
	return ok;
}

th_err hv_events_parse(const char *text, size_t len, hv_side side, hv_events *out, char *errbuf)
{
	char *line = malloc(HV_EVENTS_LINE_MAX + 1);
	size_t i = 0;

	memset(out, 0, sizeof *out);
	if (line == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "hypervisor events: out of memory");
	while (i < len) {
		const char *s = text + i, *nl = memchr(s, '\n', len - i);
		size_t l = nl != NULL ? (size_t)(nl - s) : len - i;
		hv_event e;

		i += l + (nl != NULL);
		if (l > 0 && s[l - 1] == '\r')
			l--;
		if (l == 0)
			continue;
		if (l > HV_EVENTS_LINE_MAX) {
			out->long_lines++;
			continue;
		}
		memcpy(line, s, l);
		line[l] = '\0';
		if (strlen(line) != l) { /* a NUL inside: not text */
			out->skipped++;
			continue;
		}
		memset(&e, 0, sizeof e);
		if (line[0] == '{' ? hv_parse_qmp(line, side, &e) : hv_parse_virsh(line, side, &e))
			hv_push(out, &e);
		else
			out->skipped++;
	}
	free(line);
	if (out->n == 0 && out->dropped == 0) {
		char head[64];
		size_t n = 0;

		for (size_t k = 0; k < len && n < sizeof head - 1; k++)
			head[n++] =
			    (text[k] == '\n' || text[k] == '\r' || text[k] == '\0') ? ' ' : text[k];
		head[n] = '\0';
		return th_seterr(errbuf, TH_ERR_NOTFOUND,
		                 "no hypervisor event in %zu bytes (%zu lines skipped, %zu too "
		                 "long): \"%s\"",
		                 len, out->skipped, out->long_lines, head);
	}
	return TH_OK;
}

/* The first event of kind in l not before t0: a primary one if any, else a fallback. */
static const hv_event *hv_first(const hv_events *l, hv_ev_kind kind, double t0)
{
	const hv_event *fb = NULL;

	if (l == NULL)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		const hv_event *e = &l->ev[i];

		if (e->kind != kind || !(e->t >= t0))
			continue;
		if (!e->fallback)
			return e;
		if (fb == NULL)
			fb = e;
	}
	return fb;
}

void hv_events_pick(const hv_events *src, const hv_events *dst, const hv_event **pause,
                    const hv_event **resume)
{
	*pause = hv_first(src, HV_EV_PAUSE, -INFINITY);
	*resume = hv_first(dst, HV_EV_RESUME, *pause != NULL ? (*pause)->t : -INFINITY);
}

th_err hv_events_expand(const char *tmpl, char *out, size_t size, const char *vm, int vm_id,
                        const char *host, hv_side side, char *errbuf)
{
	static const char *const names[] = {"{vm}", "{vm_id}", "{host}", "{side}"};
	char idbuf[16];

	snprintf(idbuf, sizeof idbuf, "%d", vm_id);
	const char *const vals[] = {vm, idbuf, host, hv_side_name(side)};
	return hv_expand_vars("--hv-events", tmpl, out, size, names, vals, 4, errbuf);
}

/* <dir>/themis-hvev-<side>[.<tag>]<ext>, single-quoted. */
static th_err hv_file(char *out, size_t size, const agent_paths *p, hv_side side, const char *ext,
                      char *errbuf)
{
	char path[600];

	if (!agent_path_ok(p->dir) || (p->tag[0] != '\0' && !agent_name_ok(p->tag)))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "remote directory \"%s\" or VM \"%s\" not usable in a file name",
		                 p->dir, p->tag);
	snprintf(path, sizeof path, "%s/themis-hvev-%s%s%s%s", p->dir, hv_side_name(side),
	         p->tag[0] ? "." : "", p->tag, ext);
	if (agent_quote(out, size, path) >= size)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "file name too long: %s", path);
	return TH_OK;
}

th_err hv_events_cmd_start(char *out, size_t size, const agent_paths *p, hv_side side,
                           const char *cmd, char *errbuf)
{
	char o[700], e[700], pid[700], q[4200];
	th_err err;

	if ((err = hv_file(o, sizeof o, p, side, ".out", errbuf)) != TH_OK ||
	    (err = hv_file(e, sizeof e, p, side, ".err", errbuf)) != TH_OK ||
	    (err = hv_file(pid, sizeof pid, p, side, ".pid", errbuf)) != TH_OK)
		return err;
	if (agent_quote(q, sizeof q, cmd) >= sizeof q)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "--hv-events command too long");
	/* a non-interactive shell starts the background job in its own group, so setsid does
	 * not fork: $! is the new session's leader and its process group */
	if ((size_t)snprintf(out, size,
	                     "rm -f %s %s %s; setsid /bin/sh -c %s >%s 2>%s </dev/null & "
	                     "echo $! >%s",
	                     o, e, pid, q, o, e, pid) >= size)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "--hv-events command too long");
	return TH_OK;
}

th_err hv_events_cmd_stop(char *out, size_t size, const agent_paths *p, hv_side side, int wait_s,
                          char *errbuf)
{
	char o[700], e[700], pid[700];
	th_err err;

	if ((err = hv_file(o, sizeof o, p, side, ".out", errbuf)) != TH_OK ||
	    (err = hv_file(e, sizeof e, p, side, ".err", errbuf)) != TH_OK ||
	    (err = hv_file(pid, sizeof pid, p, side, ".pid", errbuf)) != TH_OK)
		return err;
	if ((size_t)snprintf(
	        out, size,
	        "f=%s; if [ -f \"$f\" ]; then p=$(cat \"$f\"); case $p in ''|*[!0-9]*) ;; *) "
	        "kill -TERM -- -$p >/dev/null 2>&1 || kill -TERM $p >/dev/null 2>&1; i=0; "
	        "while kill -0 $p >/dev/null 2>&1 && [ $i -lt %d ]; do sleep 0.1; i=$((i+1)); "
	        "done; kill -KILL -- -$p >/dev/null 2>&1;; esac; rm -f \"$f\"; fi; "
	        "[ -f %s ] && head -c %d %s; echo; echo '%s'; [ -f %s ] && head -c 1024 %s; "
	        "rm -f %s %s; exit 0",
	        pid, wait_s * 10, o, HV_EVENTS_OUT_MAX, o, HV_EVENTS_ERR_SEP, e, e, o, e) >= size)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "--hv-events stop command too long");
	return TH_OK;
}
