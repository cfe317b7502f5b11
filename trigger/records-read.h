/* records-read.h — reads the prober's report file (JSON lines, DESIGN §5.1) back into th_record
 * values with the shared strict decoder (lib/codec-record.h). */
#ifndef TH_TRIGGER_RECORDS_READ_H
#define TH_TRIGGER_RECORDS_READ_H

#include <stddef.h>

#include "th-error.h"
#include "th-record.h"

/* Decode every line of text; lines that are not valid records (unknown kinds, garbage, a cut
 * last line) are skipped and counted in *skipped. *recs is malloc'd (free()). */
th_err records_read(const char *text, th_record **recs, size_t *n, size_t *skipped, char *errbuf);

#endif
