/* tp-archive.c — per-session RRD + JSON files (see tp-archive.h, lib/th-archive.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rrd.h>
#include <rrd_client.h>

#include "tp-archive.h"

static const char *const tp_ds_names[TH_ARCHIVE_NDS] = {TH_ARCHIVE_DS_LIST};

void tp_archive_safe_name(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < size; i++)
		out[i] = (in[i] == '/' || (i == 0 && in[i] == '.')) ? '_' : in[i];
	out[i] = '\0';
}

th_err tp_archive_path(const tp_archive *a, const char *vm, const char *session, const char *ext,
                       char *out, size_t size, char *errbuf)
{
	char safe[TH_NAME_MAX];
	int n;

	tp_archive_safe_name(vm, safe, sizeof safe);
	if (session == NULL)
		n = snprintf(out, size, "%s/%s", a->dir, safe);
	else
		n = snprintf(out, size, "%s/%s/%s.%s", a->dir, safe, session, ext);
	if (n < 0 || (size_t)n >= size)
		return th_seterr(errbuf, TH_ERR_INVALID, "archive path for %s/%s: too long", vm,
		                 session ? session : "");
	return TH_OK;
}

void tp_archive_create_args(long rows, char argv[TP_ARCHIVE_ARGC][TP_ARCHIVE_ARGLEN])
{
	for (int i = 0; i < TH_ARCHIVE_NDS; i++)
		snprintf(argv[i], TP_ARCHIVE_ARGLEN, "DS:%s:GAUGE:%d:0:U", tp_ds_names[i],
		         TH_ARCHIVE_HEARTBEAT);
	snprintf(argv[TH_ARCHIVE_NDS], TP_ARCHIVE_ARGLEN, "RRA:AVERAGE:0.5:1:%ld", rows);
	snprintf(argv[TH_ARCHIVE_NDS + 1], TP_ARCHIVE_ARGLEN, "RRA:MAX:0.5:1:%ld", rows);
}

void tp_archive_update_arg(int64_t t, const double *v, char *out, size_t size)
{
	size_t pos = (size_t)snprintf(out, size, "%lld", (long long)t);

	for (int i = 0; i < TH_ARCHIVE_NDS && pos < size; i++) {
		if (isnan(v[i]))
			pos += (size_t)snprintf(out + pos, size - pos, ":U");
		else
			pos += (size_t)snprintf(out + pos, size - pos, ":%.17g", v[i]);
	}
}

static th_err tp_mkdir(const char *path, char *errbuf)
{
	char tmp[1200];

	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return th_seterr(errbuf, TH_ERR_IO, "mkdir %s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		return th_seterr(errbuf, TH_ERR_IO, "mkdir %s: %s", tmp, strerror(errno));
	return TH_OK;
}

th_err tp_write_file(const char *path, const char *data, size_t len, bool sync, char *errbuf)
{
	char tmp[1200];
	int fd;
	ssize_t w;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", tmp, strerror(errno));
	for (size_t off = 0; off < len; off += (size_t)w) {
		if ((w = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			close(fd);
			unlink(tmp);
			return th_seterr(errbuf, TH_ERR_IO, "%s: %s", tmp, strerror(errno));
		}
	}
	if ((sync && fsync(fd) != 0) || close(fd) != 0) {
		unlink(tmp);
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", tmp, strerror(errno));
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return th_seterr(errbuf, TH_ERR_IO, "rename %s: %s", path, strerror(errno));
	}
	return TH_OK;
}

/* The rrdcached client cannot tell a dead connection: reconnect once and retry. */
static int tp_rrdc_connect(tp_archive *a, bool force)
{
	if (force)
		rrdc_disconnect();
	else if (rrdc_is_connected(a->daemon))
		return 0;
	return rrdc_connect(a->daemon);
}

static th_err tp_rrd_create(tp_archive *a, const char *path, int64_t first, char *errbuf)
{
	char args[TP_ARCHIVE_ARGC][TP_ARCHIVE_ARGLEN];
	const char *argv[TP_ARCHIVE_ARGC];
	int rc = -1;

	tp_archive_create_args(a->rows, args);
	for (int i = 0; i < TP_ARCHIVE_ARGC; i++)
		argv[i] = args[i];
	rrd_clear_error();
	if (a->daemon[0] == '\0') {
		rc = rrd_create_r2(path, TH_ARCHIVE_STEP, (time_t)(first - 1), 0, NULL, NULL,
		                   TP_ARCHIVE_ARGC, argv);
	} else {
		for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
			if (tp_rrdc_connect(a, attempt > 0) != 0)
				continue;
			rc = rrdc_create_r2(path, TH_ARCHIVE_STEP, (time_t)(first - 1), 0, NULL,
			                    NULL, TP_ARCHIVE_ARGC, argv);
		}
	}
	if (rc != 0)
		return th_seterr(errbuf, TH_ERR_IO, "create %s: %s", path, rrd_get_error());
	return TH_OK;
}

static th_err tp_rrd_update(tp_archive *a, const char *path, int n, const char **argv, char *errbuf)
{
	int rc = -1;

	rrd_clear_error();
	if (a->daemon[0] == '\0') {
		rc = rrd_update_r(path, NULL, n, argv);
	} else {
		for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
			if (tp_rrdc_connect(a, attempt > 0) != 0)
				continue;
			rc = rrdc_update(path, n, argv);
		}
	}
	if (rc != 0)
		return th_seterr(errbuf, TH_ERR_IO, "update %s: %s", path, rrd_get_error());
	return TH_OK;
}

#define TP_BATCH 128

th_err tp_archive_write(tp_archive *a, const tp_archive_job *j, char *errbuf)
{
	char dir[1200], path[1200], bufs[TP_BATCH][512];
	const char *argv[TP_BATCH];
	struct stat st;
	th_err e;

	if ((e = tp_archive_path(a, j->vm, NULL, NULL, dir, sizeof dir, errbuf)) ||
	    (e = tp_mkdir(dir, errbuf)))
		return e;
	if (j->nrows > 0) {
		if ((e = tp_archive_path(a, j->vm, j->session, "rrd", path, sizeof path, errbuf)))
			return e;
		size_t r = 0;

		/* After a restart a session may be rebuilt without its JSON (killed between the
		 * two files), and a retried job may have been applied in part: keep the RRD and
		 * skip the seconds it already stores. */
		if ((j->create || j->retry) && stat(path, &st) == 0) {
			int64_t last;

			if ((e = tp_archive_last(a, path, &last, errbuf)))
				return e;
			while (r < j->nrows && j->row0 + (int64_t)r <= last)
				r++;
		} else if (j->create && (e = tp_rrd_create(a, path, j->first, errbuf))) {
			return e;
		}
		while (r < j->nrows) {
			int n = 0;

			for (; n < TP_BATCH && r < j->nrows; n++, r++) {
				tp_archive_update_arg(j->row0 + (int64_t)r,
				                      &j->rows[r * TH_ARCHIVE_NDS], bufs[n],
				                      sizeof bufs[n]);
				argv[n] = bufs[n];
			}
			if ((e = tp_rrd_update(a, path, n, argv, errbuf)))
				return e;
		}
	}
	if (j->pending != NULL) {
		if ((e = tp_archive_path(a, j->vm, j->session, "pending", path, sizeof path,
		                         errbuf)))
			return e;
		if (j->pending_len == 0) {
			if (unlink(path) != 0 && errno != ENOENT)
				return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path,
				                 strerror(errno));
		} else if ((e = tp_write_file(path, j->pending, j->pending_len, false, errbuf))) {
			return e;
		}
	}
	if (j->json != NULL) {
		if ((e = tp_archive_path(a, j->vm, j->session, "json", path, sizeof path,
		                         errbuf)) ||
		    (e = tp_write_file(path, j->json, strlen(j->json), true, errbuf)))
			return e;
	}
	return TH_OK;
}

th_err tp_archive_last(tp_archive *a, const char *path, int64_t *last, char *errbuf)
{
	time_t t;

	rrd_clear_error();
	if (a->daemon[0] != '\0' && tp_rrdc_connect(a, false) == 0)
		t = rrdc_last(path);
	else
		t = rrd_last_r(path);
	if (t == (time_t)-1)
		return th_seterr(errbuf, TH_ERR_IO, "last update of %s: %s", path, rrd_get_error());
	*last = (int64_t)t;
	return TH_OK;
}

th_err tp_read_file(const char *path, char **out, size_t *len, char *errbuf)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return th_seterr(errbuf, TH_ERR_IO, "%s: cannot read", path);
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return TH_OK;
}
