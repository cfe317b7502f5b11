/* tp-archive.h — the per-session archive on disk (layout: lib/th-archive.h): RRD creation and
 * row arguments, file names, the free-space guard, and the writer that applies tp_archive_job
 * items through librrd or rrdcached (its own client with a deadline on every operation,
 * tp-rrdc.h). One thread at a time uses a tp_archive; the functions are not reentrant.
 *
 * Sizes: a session's RRD is created with TP_ARCHIVE_ROWS0 rows (more when the first job
 * already needs more, never more than rows) and grown when a job's last second would not fit:
 * re-created with max(2 x rows, needed) rows, prefilled from the old file (every stored second
 * kept), under a temporary name renamed over the old one. Past `rows` the file stops growing and
 * its ring keeps the newest `rows` seconds. */
#ifndef TH_PLUGIN_TP_ARCHIVE_H
#define TH_PLUGIN_TP_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "th-archive.h"
#include "th-error.h"
#include "tp-core.h"

#define TP_ARCHIVE_ARGC       (TH_ARCHIVE_NDS + 2)
#define TP_ARCHIVE_ARGLEN     64
#define TP_ARCHIVE_ROWS0      128L           /* rows of a new session RRD */
#define TP_ARCHIVE_ROWS       (31L * 86400L) /* default bound of rows per RRA: 31 days */
#define TP_ARCHIVE_SEEN       32             /* sessions whose RRD row count the writer remembers */
#define TP_ARCHIVE_MIN_FREE   (256.0 * 1024 * 1024) /* default MinFreeSpace, bytes */
#define TP_ARCHIVE_TIMEOUT_MS 5000                  /* default RRDCachedTimeout */

/* Row count of one session's RRD, as last created, grown or read. */
typedef struct tp_archive_seen {
	char vm[TH_NAME_MAX];
	char session[TH_SESSION_MAX];
	long rows;
} tp_archive_seen;

struct tp_rrdc;

typedef struct tp_archive {
	char dir[1024];
	char daemon[512];       /* rrdcached address, "" = write files directly */
	int timeout_ms;         /* of every rrdcached operation (0: TP_ARCHIVE_TIMEOUT_MS) */
	struct tp_rrdc *client; /* the archive's own rrdcached connection (tp-rrdc.h) */
	long rows;              /* bound of rows per RRA (the longest session kept whole) */
	double min_free;        /* MinFreeSpace: bytes, or percent of the file system when ... */
	bool min_free_pct;      /* ... this is true */
	tp_archive_seen seen[TP_ARCHIVE_SEEN]; /* writer's cache, a ring */
	unsigned next_seen;
	unsigned long long grown; /* RRD files grown */
} tp_archive;

/* "vm" -> a file name component: '/' and leading '.' become '_'. */
void tp_archive_safe_name(const char *in, char *out, size_t size);

/* <dir>/<vm> and <dir>/<vm>/<session>.<ext> (ext "rrd" or "json"). */
th_err tp_archive_path(const tp_archive *a, const char *vm, const char *session, const char *ext,
                       char *out, size_t size, char *errbuf);

/* The rrd_create argument list (DS and RRA definitions), TP_ARCHIVE_ARGC entries. */
void tp_archive_create_args(long rows, char argv[TP_ARCHIVE_ARGC][TP_ARCHIVE_ARGLEN]);

/* "<t>:<v1>:...:<v16>" for one row (NaN -> U), into out (size >= 512). */
void tp_archive_update_arg(int64_t t, const double *v, char *out, size_t size);

/* Apply one job: mkdir, create (last_up = first - 1) when the RRD is missing, grow it when
 * j->need_rows exceeds its rows, append rows, replace the .pending and JSON files. Fails with
 * TH_ERR_STATE, writing nothing, when the job would leave less than MinFreeSpace free. */
th_err tp_archive_write(tp_archive *a, const tp_archive_job *j, char *errbuf);

/* The worker's part of a job, all local files: its rows appended to <session>.queue (see
 * tp-queue.h), the .pending and JSON files. Fails with TH_ERR_STATE, writing nothing, when it
 * would leave less than MinFreeSpace free. */
th_err tp_archive_write_local(tp_archive *a, const tp_archive_job *j, char *errbuf);

/* The archive thread's part: copy at most max rows of vm/session's queue, from *offset (start
 * with TP_QUEUE_HEADER) up to end (see tp_queue_read), into its RRD (created or grown as needed,
 * seconds it already stores skipped) and advance *offset; *done when the queue holds nothing more
 * (or does not exist). */
th_err tp_archive_store_queue(tp_archive *a, const char *vm, const char *session, off_t *offset,
                              off_t end, size_t max, bool *done, char *errbuf);

/* TH_ERR_STATE when ArchiveDir has less than MinFreeSpace + extra bytes free (the message
 * gives both figures), TH_OK otherwise; the directory is created if missing. */
th_err tp_archive_room(const tp_archive *a, double extra, char *errbuf);

/* MinFreeSpace "<n>%" (of the file system) or "<n>[KMGT]" (bytes, binary multiples) into a. */
th_err tp_archive_parse_min_free(tp_archive *a, const char *text, char *errbuf);

/* Bytes of a session RRD of `rows` rows (what creating or growing to it takes on disk). */
double tp_archive_rrd_bytes(long rows);

/* Close the rrdcached connection (the writer's thread, once it is done). */
void tp_archive_close(tp_archive *a);

/* Rows of each RRA of an existing RRD. */
th_err tp_archive_rows(tp_archive *a, const char *path, long *rows, char *errbuf);

/* Last second stored in an existing session RRD (for resuming after a restart). */
th_err tp_archive_last(tp_archive *a, const char *path, int64_t *last, char *errbuf);

/* Read a whole file into *out (malloc'd, NUL-terminated). */
th_err tp_read_file(const char *path, char **out, size_t *len, char *errbuf);

/* Write a file atomically (temporary file + rename); with sync, fsync it first (survives a power
 * loss, not only a crash of the process). */
th_err tp_write_file(const char *path, const char *data, size_t len, bool sync, char *errbuf);

#endif
