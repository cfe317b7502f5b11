/* tp-queue.c — the write-ahead file of archive rows (see tp-queue.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp-queue.h"

#define TP_QUEUE_MAGIC "THQUE1\n"

static th_err tp_queue_write_all(int fd, const void *buf, size_t len, const char *path,
                                 char *errbuf)
{
	for (size_t done = 0; done < len;) {
		ssize_t w = write(fd, (const char *)buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
		done += (size_t)w;
	}
	return TH_OK;
}

th_err tp_queue_append(const char *path, int64_t first, int64_t row0, size_t nrows,
                       const double *rows, char *errbuf)
{
	unsigned char rec[TP_QUEUE_ROW * 64];
	struct stat st;
	size_t fill = 0;
	off_t start;
	th_err e = TH_OK;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		e = th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	start = st.st_size;
	if (st.st_size < TP_QUEUE_HEADER) {
		unsigned char hdr[TP_QUEUE_HEADER];

		/* a header cut short by a crash is written anew */
		if (st.st_size > 0 && ftruncate(fd, 0) != 0) {
			e = th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		memcpy(hdr, TP_QUEUE_MAGIC, 8);
		memcpy(hdr + 8, &first, 8);
		if ((e = tp_queue_write_all(fd, hdr, sizeof hdr, path, errbuf)))
			goto out;
		start = TP_QUEUE_HEADER;
	} else if ((st.st_size - TP_QUEUE_HEADER) % TP_QUEUE_ROW != 0) {
		/* a row cut short by a crash: drop it (its request was never answered) */
		start = st.st_size - (st.st_size - TP_QUEUE_HEADER) % TP_QUEUE_ROW;
		if (ftruncate(fd, start) != 0) {
			e = th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
	}
	for (size_t r = 0; r < nrows && e == TH_OK; r++) {
		int64_t t = row0 + (int64_t)r;

		memcpy(rec + fill, &t, 8);
		memcpy(rec + fill + 8, rows + r * TH_ARCHIVE_NDS, 8 * TH_ARCHIVE_NDS);
		fill += TP_QUEUE_ROW;
		if (fill == sizeof rec || r + 1 == nrows) {
			e = tp_queue_write_all(fd, rec, fill, path, errbuf);
			fill = 0;
		}
	}
	/* A failed append leaves no partial rows behind: the request is not answered 200, and
	 * the job is kept and written again. */
	if (e != TH_OK && ftruncate(fd, start) != 0)
		e = th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
out:
	if (close(fd) != 0 && e == TH_OK)
		e = th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
	return e;
}

void tp_queue_rows_free(tp_queue_rows *r)
{
	free(r->t);
	free(r->v);
	r->t = NULL;
	r->v = NULL;
	r->n = 0;
}

th_err tp_queue_read(const char *path, off_t from, off_t end, size_t max, tp_queue_rows *r,
                     char *errbuf)
{
	unsigned char hdr[TP_QUEUE_HEADER], rec[TP_QUEUE_ROW];
	struct stat st;
	size_t n;
	th_err e = TH_OK;
	int fd;

	memset(r, 0, sizeof *r);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT
		           ? TH_ERR_NOTFOUND
		           : th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
	    memcmp(hdr, TP_QUEUE_MAGIC, 8) != 0) {
		close(fd);
		return th_seterr(errbuf, TH_ERR_PARSE, "%s: not a queue of archive rows", path);
	}
	memcpy(&r->first, hdr + 8, 8);
	if (from < TP_QUEUE_HEADER)
		from = TP_QUEUE_HEADER;
	if (end <= 0 || end > st.st_size)
		end = st.st_size;
	n = end > from ? (size_t)(end - from) / TP_QUEUE_ROW : 0;
	if (n > max)
		n = max;
	if (n > 0 && ((r->t = malloc(n * sizeof *r->t)) == NULL ||
	              (r->v = malloc(n * TH_ARCHIVE_NDS * sizeof *r->v)) == NULL)) {
		close(fd);
		tp_queue_rows_free(r);
		return th_seterr(errbuf, TH_ERR_NOMEM, "%s: out of memory", path);
	}
	for (size_t i = 0; i < n; i++) {
		if (pread(fd, rec, sizeof rec, from + (off_t)(i * TP_QUEUE_ROW)) !=
		    (ssize_t)sizeof rec) {
			e = th_seterr(errbuf, TH_ERR_IO, "%s: cannot read", path);
			break;
		}
		memcpy(&r->t[i], rec, 8);
		memcpy(&r->v[i * TH_ARCHIVE_NDS], rec + 8, 8 * TH_ARCHIVE_NDS);
	}
	close(fd);
	if (e != TH_OK) {
		tp_queue_rows_free(r);
		return e;
	}
	r->n = n;
	r->next = from + (off_t)(n * TP_QUEUE_ROW);
	return TH_OK;
}

off_t tp_queue_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

th_err tp_queue_clear(const char *path, char *errbuf)
{
	if (truncate(path, TP_QUEUE_HEADER) != 0 && errno != ENOENT)
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
	return TH_OK;
}
