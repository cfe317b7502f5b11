/* exec-local.h — run a command with /bin/sh on this machine under a hard deadline, capturing
 * stdout (used for "--supervisor local" and a local --hv-command). */
#ifndef TH_TRIGGER_EXEC_LOCAL_H
#define TH_TRIGGER_EXEC_LOCAL_H

#include <stddef.h>

#include "th-error.h"

/* Like ssh_exec: stdout into out, exit status into *status; the command's process group is
 * killed when timeout_ms passes (TH_ERR_TIMEOUT). */
th_err exec_local(const char *cmd, char *out, size_t outsz, int *status, int timeout_ms,
                  char *errbuf);

#endif
