/* hv-view.c — scans command output for key/value pairs naming a downtime or total time. */
#include "themis-config.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hv-view.h"

/* Find key (case-insensitive) followed by optional quotes/blanks, then '=' or ':', then a
 * number. Keys must start at a word boundary. */
static bool hv_find(const char *text, const char *key, double *v)
{
	size_t kl = strlen(key);

	for (const char *p = text; *p; p++) {
		const char *q;
		char *end;
		double x;

		if (strncasecmp(p, key, kl) != 0)
			continue;
		if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-'))
			continue;
		q = p + kl;
		if (*q == '"')
			q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=' && *q != ':')
			continue;
		q++;
		while (*q == ' ' || *q == '\t' || *q == '"')
			q++;
		x = strtod(q, &end);
		if (end == q || !isfinite(x) || x < 0)
			continue;
		*v = x;
		return true;
	}
	return false;
}

th_err hv_parse(const char *text, double *downtime_ms, double *total_ms, char *errbuf)
{
	static const char *const dkeys[] = {"downtime_ms", "total downtime", "downtime"};
	static const char *const tkeys[] = {"total_ms", "total_time_ms", "total-time",
	                                    "time elapsed"};

	*downtime_ms = NAN;
	*total_ms = NAN;
	for (size_t i = 0; i < sizeof tkeys / sizeof tkeys[0]; i++) {
		if (hv_find(text, tkeys[i], total_ms))
			break;
	}
	for (size_t i = 0; i < sizeof dkeys / sizeof dkeys[0]; i++) {
		if (hv_find(text, dkeys[i], downtime_ms))
			return TH_OK;
	}
	char head[64];
	size_t n = 0;
	for (const char *p = text; *p && n < sizeof head - 1; p++)
		head[n++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
	head[n] = '\0';
	return th_seterr(errbuf, TH_ERR_NOTFOUND,
	                 "hypervisor command printed no downtime figure (want downtime_ms=N): "
	                 "\"%s\"",
	                 head);
}

/* A value the shell cannot read as anything but one word, inside or outside quotes. */
static bool hv_value_ok(const char *v)
{
	if (v[0] == '\0')
		return false;
	for (const char *q = v; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '.' || *q == '_' || *q == '-'))
			return false;
	return true;
}

th_err hv_expand_vars(const char *what, const char *tmpl, char *out, size_t size,
                      const char *const *names, const char *const *vals, size_t nvars, char *errbuf)
{
	size_t n = 0;

	for (const char *p = tmpl; *p;) {
		const char *val = NULL;
		size_t skip = 0;

		if (*p == '{') {
			for (size_t i = 0; i < nvars; i++) {
				if (strncmp(p, names[i], strlen(names[i])) == 0) {
					val = vals[i];
					skip = strlen(names[i]);
				}
			}
			if (val == NULL) {
				char known[128] = "";
				for (size_t i = 0; i < nvars; i++)
					snprintf(known + strlen(known),
					         sizeof known - strlen(known), "%s%s", i ? " " : "",
					         names[i]);
				return th_seterr(errbuf, TH_ERR_INVALID,
				                 "%s: unknown placeholder at \"%.20s\" (known: %s)",
				                 what, p, known);
			}
		}
		if (val == NULL) {
			val = p;
			skip = 1;
		} else if (!hv_value_ok(val)) {
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s: %.*s would be \"%s\": only letters, digits, "
			                 "'.', '_' and '-' are substituted",
			                 what, (int)skip, p, val);
		}
		size_t l = val == p ? 1 : strlen(val);
		if (n + l + 1 > size)
			return th_seterr(errbuf, TH_ERR_TOOBIG, "%s too long after expansion",
			                 what);
		memcpy(out + n, val, l);
		n += l;
		p += skip;
	}
	out[n] = '\0';
	return TH_OK;
}

th_err hv_expand(const char *tmpl, char *out, size_t size, const char *vm, int vm_id,
                 const char *src, const char *dst, const char *session, char *errbuf)
{
	static const char *const names[] = {"{vm}", "{vm_id}", "{src}", "{dst}", "{session}"};
	char idbuf[16];

	snprintf(idbuf, sizeof idbuf, "%d", vm_id);
	const char *const vals[] = {vm, idbuf, src, dst, session};
	return hv_expand_vars("--hv-command", tmpl, out, size, names, vals, 5, errbuf);
}
