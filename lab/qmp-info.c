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
