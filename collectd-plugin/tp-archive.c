/* tp-archive.c — per-session RRD + JSON files (see tp-archive.h, lib/th-archive.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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

/* Create path with `rows` rows; with source, prefilled from that RRD (same DS and RRAs). */
static th_err tp_rrd_create(tp_archive *a, const char *path, int64_t last_up, long rows,
                            const char *source, char *errbuf)
{
	char args[TP_ARCHIVE_ARGC][TP_ARCHIVE_ARGLEN];
	const char *argv[TP_ARCHIVE_ARGC], *sources[2] = {source, NULL};
	int rc = -1;

	tp_archive_create_args(rows, args);
	for (int i = 0; i < TP_ARCHIVE_ARGC; i++)
		argv[i] = args[i];
	rrd_clear_error();
	if (a->daemon[0] == '\0') {
		rc = rrd_create_r2(path, TH_ARCHIVE_STEP, (time_t)last_up, 0,
		                   source ? sources : NULL, NULL, TP_ARCHIVE_ARGC, argv);
	} else {
		for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
			if (tp_rrdc_connect(a, attempt > 0) != 0)
				continue;
			/* The daemon reads the source from disk: its queued rows first. */
			if (source != NULL && rrdc_flush(source) != 0)
				continue;
			rc = rrdc_create_r2(path, TH_ARCHIVE_STEP, (time_t)last_up, 0,
			                    source ? sources : NULL, NULL, TP_ARCHIVE_ARGC, argv);
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

/* Re-create path with `rows` rows holding every second it stores: the new file is built
 * beside it from its content and renamed over it, so a crash leaves the old file intact. */
static th_err tp_rrd_grow(tp_archive *a, const char *path, long rows, char *errbuf)
{
	char tmp[1300];
	int64_t last;
	th_err e;

	if ((e = tp_archive_last(a, path, &last, errbuf)))
		return e;
	snprintf(tmp, sizeof tmp, "%s.grow", path);
	if (unlink(tmp) != 0 && errno != ENOENT)
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", tmp, strerror(errno));
	if ((e = tp_rrd_create(a, tmp, last, rows, path, errbuf)))
		return e;
	if (rename(tmp, path) != 0) {
		e = th_seterr(errbuf, TH_ERR_IO, "rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return e;
	}
	a->grown++;
	return TH_OK;
}

double tp_archive_rrd_bytes(long rows)
{
	/* librrd 1.7's layout for 16 DS and 2 RRAs: 6,672 bytes of headers, 8 per value. */
	return 6672.0 + (double)rows * TH_ARCHIVE_NDS * 2 * sizeof(double);
}

th_err tp_archive_rows(tp_archive *a, const char *path, long *rows, char *errbuf)
{
	rrd_info_t *info, *p;

	rrd_clear_error();
	if (a->daemon[0] != '\0' && tp_rrdc_connect(a, false) == 0)
		info = rrdc_info(path);
	else
		info = rrd_info_r(path);
	for (p = info; p != NULL; p = p->next)
		if (strcmp(p->key, "rra[0].rows") == 0 && p->type == RD_I_CNT)
			break;
	if (p == NULL) {
		th_err e = th_seterr(errbuf, TH_ERR_IO, "rows of %s: %s", path,
		                     info ? "no rra[0].rows" : rrd_get_error());

		rrd_info_free(info);
		return e;
	}
	*rows = (long)p->value.u_cnt;
	rrd_info_free(info);
	return TH_OK;
}

static tp_archive_seen *tp_seen_find(tp_archive *a, const tp_archive_job *j)
{
	for (int i = 0; i < TP_ARCHIVE_SEEN; i++)
		if (a->seen[i].rows > 0 && strcmp(a->seen[i].session, j->session) == 0 &&
		    strcmp(a->seen[i].vm, j->vm) == 0)
			return &a->seen[i];
	return NULL;
}

static void tp_seen_set(tp_archive *a, const tp_archive_job *j, long rows)
{
	tp_archive_seen *s = tp_seen_find(a, j);

	if (s == NULL) {
		s = &a->seen[a->next_seen++ % TP_ARCHIVE_SEEN];
		snprintf(s->vm, sizeof s->vm, "%s", j->vm);
		snprintf(s->session, sizeof s->session, "%s", j->session);
	}
	s->rows = rows;
}

th_err tp_archive_room(const tp_archive *a, double extra, char *errbuf)
{
	struct statvfs sv;
	double avail, min;
	th_err e;

	if (statvfs(a->dir, &sv) != 0) {
		if (errno != ENOENT)
			return th_seterr(errbuf, TH_ERR_IO, "ArchiveDir %s: %s", a->dir,
			                 strerror(errno));
		if ((e = tp_mkdir(a->dir, errbuf)))
			return e;
		if (statvfs(a->dir, &sv) != 0)
			return th_seterr(errbuf, TH_ERR_IO, "ArchiveDir %s: %s", a->dir,
			                 strerror(errno));
	}
	avail = (double)sv.f_bavail * (double)sv.f_frsize;
	min = a->min_free_pct ? (double)sv.f_blocks * (double)sv.f_frsize * a->min_free / 100.0
	                      : a->min_free;
	if (avail - extra < min)
		return th_seterr(errbuf, TH_ERR_STATE,
		                 "ArchiveDir %s: %.0f bytes free, %.0f more needed to keep "
		                 "MinFreeSpace (%.0f bytes) free",
		                 a->dir, avail, extra + min - avail, min);
	return TH_OK;
}

th_err tp_archive_parse_min_free(tp_archive *a, const char *text, char *errbuf)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	while (isspace((unsigned char)*end))
		end++;
	if (errno != 0 || end == text || !(v >= 0))
		goto bad;
	a->min_free_pct = false;
	switch (toupper((unsigned char)*end)) {
	case '%':
		if (v > 100)
			goto bad;
		a->min_free_pct = true;
		break;
	case 'T':
		v *= 1024;
		/* fall through */
	case 'G':
		v *= 1024;
		/* fall through */
	case 'M':
		v *= 1024;
		/* fall through */
	case 'K':
		v *= 1024;
		break;
	case '\0':
		break;
	default:
		goto bad;
	}
	if (*end != '\0' && end[1] != '\0')
		goto bad;
	a->min_free = v;
	return TH_OK;
bad:
	return th_seterr(errbuf, TH_ERR_INVALID,
	                 "MinFreeSpace \"%s\": expected <n>%% or <n> bytes with an optional K, "
	                 "M, G or T",
	                 text);
}

#define TP_BATCH 128

/* The RRD part of a job: create or grow as needed (only once the space is there), skip the
 * seconds the file already stores, append the rest. */
static th_err tp_archive_rows_write(tp_archive *a, const tp_archive_job *j, double extra,
                                    char *errbuf)
{
	char path[1200], bufs[TP_BATCH][512];
	const char *argv[TP_BATCH];
	tp_archive_seen *seen = j->retry ? NULL : tp_seen_find(a, j);
	long rows = seen ? seen->rows : 0, want = 0;
	int64_t need = j->need_rows > 0 ? j->need_rows : j->row0 + (int64_t)j->nrows - j->first;
	bool exists = seen != NULL, known;
	struct stat st;
	size_t r = 0;
	th_err e;

	if ((e = tp_archive_path(a, j->vm, j->session, "rrd", path, sizeof path, errbuf)))
		return e;
	if (!exists)
		exists = stat(path, &st) == 0;
	known = seen != NULL;
	if (exists && !known && (e = tp_archive_rows(a, path, &rows, errbuf)))
		return e;
	if (!exists)
		want = need > TP_ARCHIVE_ROWS0 ? (long)need : TP_ARCHIVE_ROWS0;
	else if (need > rows && rows < a->rows)
		want = need > 2 * (int64_t)rows ? (long)need : 2 * rows;
	if (want > a->rows)
		want = a->rows;
	if (want > 0 && (e = tp_archive_room(a, extra + tp_archive_rrd_bytes(want), errbuf)))
		return e;
	if (!exists) {
		if ((e = tp_rrd_create(a, path, j->first - 1, want, NULL, errbuf)))
			return e;
		rows = want;
	} else {
		if (want > 0) {
			if ((e = tp_rrd_grow(a, path, want, errbuf)))
				return e;
			rows = want;
		}
		/* After a restart a session may be rebuilt without its JSON (killed between
		 * the two files), and a retried job may have been applied in part: keep the
		 * RRD and skip the seconds it already stores. */
		if (j->create || j->retry || !known) {
			int64_t last;

			if ((e = tp_archive_last(a, path, &last, errbuf)))
				return e;
			while (r < j->nrows && j->row0 + (int64_t)r <= last)
				r++;
		}
	}
	tp_seen_set(a, j, rows);
	while (r < j->nrows) {
		/* rrdcached takes one command of at most RRD_CMD_MAX (4,096) bytes. */
		size_t room = a->daemon[0] ? 4096 - 64 - strlen(path) : SIZE_MAX;
		int n = 0;

		for (; n < TP_BATCH && r < j->nrows; n++, r++) {
			tp_archive_update_arg(j->row0 + (int64_t)r, &j->rows[r * TH_ARCHIVE_NDS],
			                      bufs[n], sizeof bufs[n]);
			if (n > 0 && strlen(bufs[n]) + 1 > room)
				break;
			room -= strlen(bufs[n]) + 1;
			argv[n] = bufs[n];
		}
		if ((e = tp_rrd_update(a, path, n, argv, errbuf))) {
			/* Look at the file again next time (it may have gone). */
			tp_seen_set(a, j, 0);
			return e;
		}
	}
	return TH_OK;
}

th_err tp_archive_write(tp_archive *a, const tp_archive_job *j, char *errbuf)
{
	char dir[1200], path[1200];
	double extra =
	    (double)(j->pending ? j->pending_len : 0) + (double)(j->json ? strlen(j->json) : 0);
	th_err e;

	if ((e = tp_archive_path(a, j->vm, NULL, NULL, dir, sizeof dir, errbuf)) ||
	    (e = tp_archive_room(a, extra, errbuf)) || (e = tp_mkdir(dir, errbuf)) ||
	    (j->nrows > 0 && (e = tp_archive_rows_write(a, j, extra, errbuf))))
		return e;
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
