/* tp-queue.h — the write-ahead file of a session's archive rows. <session>.queue holds the rows
 * handed to the archive writer and not yet known to be in the session's RRD: the worker appends
 * them (a local write, before the request that brought them is answered), the archive thread
 * copies them into the RRD (or rrdcached) at its own pace and empties the file once all of it
 * is stored. A stuck rrdcached, a stop or a crash therefore loses nothing: the next start finds
 * the file and writes what the RRD does not hold yet (seconds after its last update).
 *
 * Format (this machine's byte order; it only carries rows across a restart of the same plugin):
 *   "THQUE1\n" NUL (8 bytes), the session's first second (int64),
 *   then rows of TP_QUEUE_ROW bytes: the second (int64) and TH_ARCHIVE_NDS doubles (NaN = U).
 * Only appended to, and truncated back to its header by the archive thread.
 */
#ifndef TH_PLUGIN_TP_QUEUE_H
#define TH_PLUGIN_TP_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "th-archive.h"
#include "th-error.h"

#define TP_QUEUE_HEADER 16
#define TP_QUEUE_ROW    (8 + 8 * TH_ARCHIVE_NDS)

/* Append nrows consecutive seconds row0.. (rows: nrows * TH_ARCHIVE_NDS values) to path,
 * writing the header (with first) when the file is new or empty. */
th_err tp_queue_append(const char *path, int64_t first, int64_t row0, size_t nrows,
                       const double *rows, char *errbuf);

/* Rows read from a queue file: times t[i] and values v[i * TH_ARCHIVE_NDS ..]. */
typedef struct tp_queue_rows {
	int64_t first; /* the session's first second, from the header */
	size_t n;
	int64_t *t;
	double *v;
	off_t next; /* offset after the last row read */
} tp_queue_rows;

/* Read at most max rows of path from offset `from` (TP_QUEUE_HEADER or a previous .next) up to
 * offset `end` (bytes known complete: appends in progress lie beyond; 0: the whole file) into r
 * (buffers malloc'd; free with tp_queue_rows_free). A partial last row (a crash in the middle of
 * an append) is not read. TH_ERR_NOTFOUND when the file does not exist. */
th_err tp_queue_read(const char *path, off_t from, off_t end, size_t max, tp_queue_rows *r,
                     char *errbuf);
void tp_queue_rows_free(tp_queue_rows *r);

/* Size of path in bytes (0 when missing). */
off_t tp_queue_size(const char *path);

/* Empty path back to its header (what it held is stored). */
th_err tp_queue_clear(const char *path, char *errbuf);

#endif
