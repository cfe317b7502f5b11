/* th-exec.h — run a program on this machine under a hard deadline and capture its stdout
 * (the trigger's local commands, the lab's QEMU hook). */
#ifndef TH_EXEC_H
#define TH_EXEC_H

#include <stddef.h>

#include "th-error.h"

enum {
	/* the child leads its own process group; a timeout kills the group */
	TH_EXEC_OWN_GROUP = 1,
	/* the child's stdin and stderr are /dev/null */
	TH_EXEC_QUIET = 2,
};

/* Runs argv[0] (a path) with argv (NULL-terminated). Its stdout goes into out (NUL-terminated,
 * cut at outsz - 1 bytes, the rest read and dropped; out may be NULL), its exit status into
 * *status (-1 when it did not exit normally; status may be NULL). When timeout_ms passes the
 * child (or its group) is killed and TH_ERR_TIMEOUT returned, "timed out after <ms> ms". */
th_err th_exec(char *const argv[], int flags, int timeout_ms, char *out, size_t outsz, int *status,
               char *errbuf);

#endif
