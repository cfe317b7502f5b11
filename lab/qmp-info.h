/* qmp-info.h — reading QEMU's figures out of QMP replies (pure): the query-migrate result and
 * the key=value line the lab prints for a migration (`themis-lab migrate-info`). */
#ifndef TH_LAB_QMP_INFO_H
#define TH_LAB_QMP_INFO_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "th-error.h"

typedef struct qmp_migration {
	char status[32];           /* none, setup, active, completed, failed, cancelled, ... */
	long total_ms;             /* total-time, -1 if absent */
	long downtime_ms;          /* downtime, -1 if absent */
	long setup_ms;             /* setup-time, -1 if absent */
	long long ram_transferred; /* ram.transferred bytes, -1 if absent */
	char error[256];           /* error-desc, "" if absent */
} qmp_migration;

/* Reads the "return" object of query-migrate. */
th_err qmp_migration_parse(yajl_val ret, qmp_migration *m, char *errbuf);

/* 1 when m holds a migration's final figures: status failed or cancelled, or completed with
 * its total-time computed. QEMU (7.2 and older) sets "completed" before it computes total-time
 * and downtime (migration_completion, then migration_iteration_finish): a query-migrate in
 * between reads "completed" with total-time 0 and downtime 0, figures that are not yet set. */
int qmp_migration_final(const qmp_migration *m);

/* The "status" string of a query-status "return" object, or NULL. */
const char *qmp_run_status(yajl_val ret);

/* "status=completed total_ms=518 downtime_ms=15 setup_ms=3 ram_bytes=..." plus the caller's
 * extra text; absent figures are left out. */
void qmp_migration_format(char *out, size_t outlen, const qmp_migration *m);

#endif
