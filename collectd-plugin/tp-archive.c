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

/* rrd_format.h: the on-disk layout, which tp_rrd_copy_grown reads and writes (it checks the
 * file's version, sizes and length against it and leaves anything else to librrd). */
#define RRD_EXPORT_DEPRECATED
#include <rrd.h>

#include "tp-archive.h"
#include "tp-queue.h"
#include "tp-rrdc.h"

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

/* The archive's own rrdcached client (created on first use; librrd's rrdc_* share one global
 * connection with collectd's rrdcached plugin and have no timeouts). */
static tp_rrdc *tp_client(tp_archive *a, char *errbuf)
{
	if (a->client == NULL &&
	    (a->client = tp_rrdc_new(a->daemon, a->timeout_ms > 0 ? a->timeout_ms
	                                                          : TP_ARCHIVE_TIMEOUT_MS)) == NULL)
		th_seterr(errbuf, TH_ERR_NOMEM, "rrdcached %s: out of memory", a->daemon);
	return a->client;
}

void tp_archive_close(tp_archive *a)
{
	tp_rrdc_free(a->client);
	a->client = NULL;
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
	if (a->daemon[0] != '\0') {
		tp_rrdc *c = tp_client(a, errbuf);

		/* the client flushes the source's queued rows first: the daemon reads it from disk
		 */
		return c ? tp_rrdc_create(c, path, TH_ARCHIVE_STEP, (time_t)last_up, source,
		                          TP_ARCHIVE_ARGC, argv, errbuf)
		         : TH_ERR_NOMEM;
	}
	rrd_clear_error();
	rc = rrd_create_r2(path, TH_ARCHIVE_STEP, (time_t)last_up, 0, source ? sources : NULL, NULL,
	                   TP_ARCHIVE_ARGC, argv);
	if (rc != 0)
		return th_seterr(errbuf, TH_ERR_IO, "create %s: %s", path, rrd_get_error());
	return TH_OK;
}

static th_err tp_rrd_update(tp_archive *a, const char *path, int n, const char **argv, char *errbuf)
{
	int rc;

	if (a->daemon[0] != '\0') {
		tp_rrdc *c = tp_client(a, errbuf);

		return c ? tp_rrdc_update(c, path, n, argv, errbuf) : TH_ERR_NOMEM;
	}
	rrd_clear_error();
	rc = rrd_update_r(path, NULL, n, argv);
	if (rc != 0)
		return th_seterr(errbuf, TH_ERR_IO, "update %s: %s", path, rrd_get_error());
	return TH_OK;
}

static th_err tp_write_all(int fd, const void *data, size_t len, const char *path, char *errbuf)
{
	for (ssize_t w, done = 0; (size_t)done < len; done += w)
		if ((w = write(fd, (const char *)data + done, len - (size_t)done)) < 0) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			return th_seterr(errbuf, TH_ERR_IO, "write %s: %s", path, strerror(errno));
		}
	return TH_OK;
}

/* Copy len bytes of in from offset off to the end of out, through buf. */
static th_err tp_copy_range(int in, off_t off, size_t len, int out, char *buf, size_t bufsize,
                            const char *from, const char *to, char *errbuf)
{
	th_err e;

	while (len > 0) {
		ssize_t r = pread(in, buf, len < bufsize ? len : bufsize, off);

		if (r <= 0)
			return th_seterr(errbuf, TH_ERR_IO, "read %s: %s", from,
			                 r < 0 ? strerror(errno) : "file cut short");
		if ((e = tp_write_all(out, buf, (size_t)r, to, errbuf)))
			return e;
		off += r;
		len -= (size_t)r;
	}
	return TH_OK;
}

/* Write path's content into tmp with every RRA resized to `rows` rows: the header with the new
 * row counts, then per RRA its rows from oldest to newest (its current row becomes old rows - 1)
 * followed by unknown rows. Memory stays constant, where librrd's prefill holds both files in
 * memory (1.2 GB for the last growth of a 31-day session). TH_ERR_NOTFOUND, writing nothing,
 * when the file is not in the layout of the rrd_format.h this was built with. */
static th_err tp_rrd_copy_grown(const char *path, const char *tmp, long rows, char *errbuf)
{
	static char buf[65536]; /* only the worker thread grows files */
	unsigned char *hdr = NULL;
	unsigned long old_rows[TH_ARCHIVE_NDS], old_cur[TH_ARCHIVE_NDS];
	stat_head_t sh;
	rra_def_t *rra;
	rra_ptr_t *ptr;
	size_t hlen, row_bytes;
	off_t data, total;
	struct stat st;
	int in, out = -1;
	th_err e = TH_ERR_NOTFOUND;

	if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(in, &st) != 0 || pread(in, &sh, sizeof sh, 0) != (ssize_t)sizeof sh ||
	    memcmp(sh.cookie, RRD_COOKIE, 4) != 0 || sh.float_cookie != FLOAT_COOKIE ||
	    strncmp(sh.version, "000", 3) != 0 || sh.version[3] < '3' || sh.version[3] > '5' ||
	    sh.ds_cnt != TH_ARCHIVE_NDS || sh.rra_cnt < 1 || sh.rra_cnt > TH_ARCHIVE_NDS)
		goto out;
	hlen = sizeof(stat_head_t) + sh.ds_cnt * sizeof(ds_def_t) + sh.rra_cnt * sizeof(rra_def_t) +
	       sizeof(live_head_t) + sh.ds_cnt * sizeof(pdp_prep_t) +
	       sh.rra_cnt * sh.ds_cnt * sizeof(cdp_prep_t) + sh.rra_cnt * sizeof(rra_ptr_t);
	if ((hdr = malloc(hlen)) == NULL || pread(in, hdr, hlen, 0) != (ssize_t)hlen)
		goto out;
	rra = (rra_def_t *)(void *)(hdr + sizeof(stat_head_t) + sh.ds_cnt * sizeof(ds_def_t));
	ptr = (rra_ptr_t *)(void *)(hdr + hlen - sh.rra_cnt * sizeof(rra_ptr_t));
	row_bytes = sh.ds_cnt * sizeof(rrd_value_t);
	total = (off_t)hlen;
	for (unsigned long i = 0; i < sh.rra_cnt; i++) {
		if (rra[i].pdp_cnt != 1 || rra[i].row_cnt == 0 ||
		    rra[i].row_cnt > (unsigned long)rows || ptr[i].cur_row >= rra[i].row_cnt)
			goto out;
		old_rows[i] = rra[i].row_cnt;
		old_cur[i] = ptr[i].cur_row;
		total += (off_t)(rra[i].row_cnt * row_bytes);
		rra[i].row_cnt = (unsigned long)rows;
		ptr[i].cur_row = old_rows[i] - 1;
	}
	if (st.st_size != total)
		goto out;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		e = th_seterr(errbuf, TH_ERR_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((e = tp_write_all(out, hdr, hlen, tmp, errbuf)))
		goto out;
	data = (off_t)hlen;
	for (unsigned long i = 0; i < sh.rra_cnt; i++) {
		unsigned long r = old_rows[i], c = old_cur[i];
		size_t unknown = ((size_t)rows - r) * row_bytes;

		/* oldest first: the rows after the current one, then those up to it */
		if ((e = tp_copy_range(in, data + (off_t)((c + 1) * row_bytes),
		                       (r - c - 1) * row_bytes, out, buf, sizeof buf, path, tmp,
		                       errbuf)) ||
		    (e = tp_copy_range(in, data, (c + 1) * row_bytes, out, buf, sizeof buf, path,
		                       tmp, errbuf)))
			goto out;
		for (size_t k = 0; k < sizeof buf / sizeof(rrd_value_t); k++)
			((rrd_value_t *)(void *)buf)[k] = NAN;
		for (size_t n; unknown > 0; unknown -= n) {
			n = unknown < sizeof buf ? unknown : sizeof buf;
			if ((e = tp_write_all(out, buf, n, tmp, errbuf)))
				goto out;
		}
		data += (off_t)(r * row_bytes);
	}
	if (fsync(out) != 0)
		e = th_seterr(errbuf, TH_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
out:
	if (out >= 0 && close(out) != 0 && e == TH_OK)
		e = th_seterr(errbuf, TH_ERR_IO, "%s: %s", tmp, strerror(errno));
	if (e != TH_OK && out >= 0)
		unlink(tmp);
	close(in);
	free(hdr);
	return e;
}

/* Re-create path with `rows` rows holding every second it stores: the new file is built
 * beside it from its content and renamed over it, so a crash leaves the old file intact.
 * Written directly by tp_rrd_copy_grown; through rrdcached (which owns the files), or for a file
 * in a layout it does not know, by librrd's prefill from the old file. */
static th_err tp_rrd_grow(tp_archive *a, const char *path, long rows, char *errbuf)
{
	char tmp[1300];
	int64_t last;
	th_err e = TH_ERR_NOTFOUND;

	snprintf(tmp, sizeof tmp, "%s.grow", path);
	if (unlink(tmp) != 0 && errno != ENOENT)
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", tmp, strerror(errno));
	if (a->daemon[0] == '\0' && (e = tp_rrd_copy_grown(path, tmp, rows, errbuf)) != TH_OK &&
	    e != TH_ERR_NOTFOUND)
		return e;
	if (e == TH_ERR_NOTFOUND && ((e = tp_archive_last(a, path, &last, errbuf)) ||
	                             (e = tp_rrd_create(a, tmp, last, rows, path, errbuf))))
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

	if (a->daemon[0] != '\0') {
		tp_rrdc *c = tp_client(a, errbuf);

		return c ? tp_rrdc_rows(c, path, rows, errbuf) : TH_ERR_NOMEM;
	}
	rrd_clear_error();
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
		int n = 0; /* the rrdcached client splits into commands of at most 4,096 bytes */

		for (; n < TP_BATCH && r < j->nrows; n++, r++) {
			tp_archive_update_arg(j->row0 + (int64_t)r, &j->rows[r * TH_ARCHIVE_NDS],
			                      bufs[n], sizeof bufs[n]);
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

/* The .pending and JSON files of a job. */
static th_err tp_archive_files(tp_archive *a, const tp_archive_job *j, char *errbuf)
{
	char path[1200];
	th_err e;

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

th_err tp_archive_write(tp_archive *a, const tp_archive_job *j, char *errbuf)
{
	char dir[1200];
	double extra =
	    (double)(j->pending ? j->pending_len : 0) + (double)(j->json ? strlen(j->json) : 0);
	th_err e;

	if ((e = tp_archive_path(a, j->vm, NULL, NULL, dir, sizeof dir, errbuf)) ||
	    (e = tp_archive_room(a, extra, errbuf)) || (e = tp_mkdir(dir, errbuf)) ||
	    (j->nrows > 0 && (e = tp_archive_rows_write(a, j, extra, errbuf))))
		return e;
	return tp_archive_files(a, j, errbuf);
}

th_err tp_archive_write_local(tp_archive *a, const tp_archive_job *j, char *errbuf)
{
	char dir[1200], path[1200];
	double extra = (double)(j->pending ? j->pending_len : 0) +
	               (double)(j->json ? strlen(j->json) : 0) + (double)j->nrows * TP_QUEUE_ROW;
	th_err e;

	if ((e = tp_archive_path(a, j->vm, NULL, NULL, dir, sizeof dir, errbuf)) ||
	    (e = tp_archive_room(a, extra, errbuf)) || (e = tp_mkdir(dir, errbuf)))
		return e;
	if (j->nrows > 0 &&
	    ((e = tp_archive_path(a, j->vm, j->session, "queue", path, sizeof path, errbuf)) ||
	     (e = tp_queue_append(path, j->first, j->row0, j->nrows, j->rows, errbuf))))
		return e;
	return tp_archive_files(a, j, errbuf);
}

th_err tp_archive_store_queue(tp_archive *a, const char *vm, const char *session, off_t *offset,
                              off_t end, size_t max, bool *done, char *errbuf)
{
	char path[1200];
	tp_queue_rows q;
	th_err e;
	size_t i = 0;

	*done = false;
	if ((e = tp_archive_path(a, vm, session, "queue", path, sizeof path, errbuf)))
		return e;
	if ((e = tp_queue_read(path, *offset, end, max, &q, errbuf)) == TH_ERR_NOTFOUND) {
		*done = true;
		return TH_OK;
	}
	if (e != TH_OK)
		return e;
	/* one job per run of consecutive seconds; rows the RRD already holds are skipped */
	while (i < q.n && e == TH_OK) {
		tp_archive_job j = {.first = q.first, .row0 = q.t[i], .retry = true};
		size_t k = i + 1;

		while (k < q.n && q.t[k] == q.t[k - 1] + 1)
			k++;
		tp_copy(j.vm, sizeof j.vm, vm);
		tp_copy(j.session, sizeof j.session, session);
		j.nrows = k - i;
		j.rows = &q.v[i * TH_ARCHIVE_NDS];
		j.need_rows = q.t[k - 1] - q.first + 1;
		e = tp_archive_rows_write(a, &j, 0, errbuf);
		i = k;
	}
	if (e == TH_OK) {
		*offset = q.next;
		*done = q.n < max;
	}
	tp_queue_rows_free(&q);
	return e;
}

th_err tp_archive_last(tp_archive *a, const char *path, int64_t *last, char *errbuf)
{
	time_t t;
	th_err e;

	if (a->daemon[0] != '\0') {
		tp_rrdc *c = tp_client(a, errbuf);

		if (c == NULL)
			return TH_ERR_NOMEM;
		if ((e = tp_rrdc_last(c, path, &t, errbuf)) != TH_OK)
			return e;
		*last = (int64_t)t;
		return TH_OK;
	}
	rrd_clear_error();
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
