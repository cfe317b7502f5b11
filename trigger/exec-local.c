/* exec-local.c — run a command with /bin/sh -c in its own process group (th_exec). */
#include "themis-config.h"

#include "exec-local.h"
#include "th-exec.h"

th_err exec_local(const char *cmd, char *out, size_t outsz, int *status, int timeout_ms,
                  char *errbuf)
{
	char *const argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	th_err e = th_exec(argv, TH_EXEC_OWN_GROUP | TH_EXEC_QUIET, timeout_ms, out, outsz, status,
	                   errbuf);

	if (e == TH_ERR_TIMEOUT)
		th_seterr(errbuf, e, "command timed out after %d ms: %.80s", timeout_ms, cmd);
	return e;
}
