/* tp-archive.h — the per-session archive on disk (layout: lib/th-archive.h): RRD creation and
 * row arguments, file names, and the writer that applies tp_archive_job items through librrd
 * or rrdcached. Only the plugin's worker thread writes; the functions are not reentrant with
 * respect to one tp_archive. */
#ifndef TP_ARCHIVE_H
#define TP_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-archive.h"
#include "th-error.h"
#include "tp-core.h"

#define TP_ARCHIVE_ARGC   (TH_ARCHIVE_NDS + 2)
#define TP_ARCHIVE_ARGLEN 64

typedef struct tp_archive {
	char dir[1024];
	char daemon[512]; /* rrdcached address, "" = write files directly */
	long rows;        /* rows of each RRA: the longest session kept at full resolution */
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

/* Apply one job: mkdir, create (last_up = first - 1), append rows, replace the JSON file. */
th_err tp_archive_write(tp_archive *a, const tp_archive_job *j, char *errbuf);

/* Last second stored in an existing session RRD (for resuming after a restart). */
th_err tp_archive_last(tp_archive *a, const char *path, int64_t *last, char *errbuf);

/* Read a whole file into *out (malloc'd, NUL-terminated). */
th_err tp_read_file(const char *path, char **out, size_t *len, char *errbuf);

/* Write a file atomically (temporary file + rename); with sync, fsync it first (survives a power
 * loss, not only a crash of the process). */
th_err tp_write_file(const char *path, const char *data, size_t len, bool sync, char *errbuf);

#endif
