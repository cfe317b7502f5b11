/* qmp-info.h — reading QEMU's figures out of QMP replies (pure): the query-migrate result and
 * the key=value line the lab prints for a migration (`themis-lab migrate-info`); the migration
 * parameters a VM's runs use (`themis-lab migrate-params` file, migrate-set-parameters
 * arguments, query-migrate-parameters result). */
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

/* QEMU's defaults, applied when a parameter is not set for the VM (QEMU 7.2: MAX_THROTTLE,
 * DEFAULT_MIGRATE_SET_DOWNTIME) */
#define QMP_DEFAULT_MAX_BANDWIDTH  134217728LL /* bytes/s */
#define QMP_DEFAULT_DOWNTIME_LIMIT 300L        /* ms */

typedef struct qmp_mig_params {
	long long max_bandwidth; /* max-bandwidth, bytes/s; -1 = not set / absent */
	long downtime_limit;     /* downtime-limit, ms; -1 = not set / absent */
	long timeout_s;          /* the lab's own: cancel a migration still running after this; -1 */
} qmp_mig_params;

/* Reads the text of a migrate-params file: "max-bandwidth=N", "downtime-limit=N" and
 * "timeout=N" lines (decimal, each at most once, empty lines and # comments allowed); a key not
 * given stays -1. */
th_err qmp_params_read(const char *text, qmp_mig_params *p, char *errbuf);

/* The JSON arguments of migrate-set-parameters for p: both parameters, QEMU's defaults for the
 * ones not set (so a reset VM's next source gets the defaults back). */
void qmp_params_args(char *out, size_t outlen, const qmp_mig_params *p);

/* Reads max-bandwidth and downtime-limit from the "return" object of query-migrate-parameters
 * (timeout_s is left -1). */
th_err qmp_params_parse(yajl_val ret, qmp_mig_params *p, char *errbuf);

#endif
