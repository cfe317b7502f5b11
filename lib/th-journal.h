/* th-journal.h — the trigger's local markers journal: one JSON marker per line, each append
 * written with a single write() and made durable with fsync() before it returns. */
#ifndef TH_JOURNAL_H
#define TH_JOURNAL_H

#include "th-error.h"
#include "th-marker.h"

typedef struct th_journal {
	int fd;
	char path[512];
} th_journal;

/* Open (create 0644, append) the journal at path. */
th_err th_journal_open(th_journal *j, const char *path, char *errbuf);

/* Append one line (a newline is added) and fsync. */
th_err th_journal_append_line(th_journal *j, const char *line, size_t len, char *errbuf);

/* Encode m (th_marker_to_json) and append it. */
th_err th_journal_append(th_journal *j, const th_marker *m, char *errbuf);

/* Close; safe on a journal that failed to open. */
void th_journal_close(th_journal *j);

#endif
