/* qmp-info.c — QEMU migration figures from QMP replies (see qmp-info.h). */
#include "themis-config.h"

#include <stdio.h>
#include <string.h>

#include "qmp-info.h"

static long qmp_num(yajl_val obj, const char *key)
{
	const char *path[] = {key, NULL};
	yajl_val v = yajl_tree_get(obj, path, yajl_t_number);

	return v != NULL && YAJL_IS_INTEGER(v) ? (long)YAJL_GET_INTEGER(v) : -1;
}

th_err qmp_migration_parse(yajl_val ret, qmp_migration *m, char *errbuf)
{
	const char *status_path[] = {"status", NULL};
	const char *err_path[] = {"error-desc", NULL};
	const char *ram_path[] = {"ram", "transferred", NULL};
	yajl_val v;

	memset(m, 0, sizeof *m);
	m->total_ms = m->downtime_ms = m->setup_ms = -1;
	m->ram_transferred = -1;
	if (ret == NULL || !YAJL_IS_OBJECT(ret))
		return th_seterr(errbuf, TH_ERR_PARSE,
		                 "query-migrate: return value is not an object");
	v = yajl_tree_get(ret, status_path, yajl_t_string);
	/* before any migration QEMU answers {} : status "none" */
	snprintf(m->status, sizeof m->status, "%s", v != NULL ? YAJL_GET_STRING(v) : "none");
	m->total_ms = qmp_num(ret, "total-time");
	m->downtime_ms = qmp_num(ret, "downtime");
	m->setup_ms = qmp_num(ret, "setup-time");
	v = yajl_tree_get(ret, ram_path, yajl_t_number);
	if (v != NULL && YAJL_IS_INTEGER(v))
		m->ram_transferred = YAJL_GET_INTEGER(v);
	v = yajl_tree_get(ret, err_path, yajl_t_string);
	if (v != NULL)
		snprintf(m->error, sizeof m->error, "%s", YAJL_GET_STRING(v));
	return TH_OK;
}

int qmp_migration_final(const qmp_migration *m)
{
	if (strcmp(m->status, "failed") == 0 || strcmp(m->status, "cancelled") == 0)
		return 1;
	/* a completed migration took time: total-time 0 is the value before QEMU computed it */
	return strcmp(m->status, "completed") == 0 && m->total_ms != 0;
}

const char *qmp_run_status(yajl_val ret)
{
	const char *path[] = {"status", NULL};
	yajl_val v = yajl_tree_get(ret, path, yajl_t_string);

	return v != NULL ? YAJL_GET_STRING(v) : NULL;
}

void qmp_migration_format(char *out, size_t outlen, const qmp_migration *m)
{
	size_t n = 0;

	n += (size_t)snprintf(out + n, outlen - n, "status=%s", m->status);
	if (n < outlen && m->downtime_ms >= 0)
		n += (size_t)snprintf(out + n, outlen - n, " downtime_ms=%ld", m->downtime_ms);
	if (n < outlen && m->total_ms >= 0)
		n += (size_t)snprintf(out + n, outlen - n, " total_ms=%ld", m->total_ms);
	if (n < outlen && m->setup_ms >= 0)
		n += (size_t)snprintf(out + n, outlen - n, " setup_ms=%ld", m->setup_ms);
	if (n < outlen && m->ram_transferred >= 0)
		n += (size_t)snprintf(out + n, outlen - n, " ram_bytes=%lld", m->ram_transferred);
}

th_err qmp_params_read(const char *text, qmp_mig_params *p, char *errbuf)
{
	const char *s = text;
	int line = 0;

	p->max_bandwidth = -1;
	p->downtime_limit = -1;
	p->timeout_s = -1;
	while (*s != '\0') {
		size_t len = strcspn(s, "\n"), klen;
		const char *eq = memchr(s, '=', len);
		long long v = 0;
		size_t i;

		line++;
		if (len == 0 || s[0] == '#') {
			s += len + (s[len] == '\n');
			continue;
		}
		if (eq == NULL || eq + 1 == s + len || (size_t)(s + len - eq - 1) > 15)
			return th_seterr(errbuf, TH_ERR_PARSE,
			                 "migrate-params line %d: not KEY=NUMBER", line);
		for (i = 0; eq + 1 + i < s + len; i++) {
			char ch = eq[1 + i];

			if (ch < '0' || ch > '9')
				return th_seterr(
				    errbuf, TH_ERR_PARSE,
				    "migrate-params line %d: value is not a whole number", line);
			v = v * 10 + (ch - '0');
		}
		klen = (size_t)(eq - s);
		if (klen == 13 && strncmp(s, "max-bandwidth", klen) == 0 && p->max_bandwidth < 0)
			p->max_bandwidth = v;
		else if (klen == 14 && strncmp(s, "downtime-limit", klen) == 0 &&
		         p->downtime_limit < 0 && v <= 2000000)
			p->downtime_limit = (long)v;
		else if (klen == 7 && strncmp(s, "timeout", klen) == 0 && p->timeout_s < 0 &&
		         v >= 1 && v <= 86400)
			p->timeout_s = (long)v;
		else
			return th_seterr(
			    errbuf, TH_ERR_PARSE,
			    "migrate-params line %d: unknown, repeated or out-of-range "
			    "\"%.*s\"",
			    line, (int)(len > 60 ? 60 : len), s);
		s += len + (s[len] == '\n');
	}
	return TH_OK;
}

void qmp_params_args(char *out, size_t outlen, const qmp_mig_params *p)
{
	snprintf(out, outlen, "{\"max-bandwidth\":%lld,\"downtime-limit\":%ld}",
	         p->max_bandwidth >= 0 ? p->max_bandwidth : QMP_DEFAULT_MAX_BANDWIDTH,
	         p->downtime_limit >= 0 ? p->downtime_limit : QMP_DEFAULT_DOWNTIME_LIMIT);
}

th_err qmp_params_parse(yajl_val ret, qmp_mig_params *p, char *errbuf)
{
	const char *bw_path[] = {"max-bandwidth", NULL};
	yajl_val v;

	p->max_bandwidth = -1;
	p->downtime_limit = -1;
	p->timeout_s = -1;
	if (ret == NULL || !YAJL_IS_OBJECT(ret))
		return th_seterr(errbuf, TH_ERR_PARSE,
		                 "query-migrate-parameters: return value is not an object");
	v = yajl_tree_get(ret, bw_path, yajl_t_number);
	if (v != NULL && YAJL_IS_INTEGER(v))
		p->max_bandwidth = YAJL_GET_INTEGER(v);
	p->downtime_limit = qmp_num(ret, "downtime-limit");
	return TH_OK;
}
