/* watch.h — `themis-trigger watch`: every migration of the tracked VMs, whoever started it,
 * becomes a session (contract C2). Two sources run together: oned's hook events on ZeroMQ
 * (hook-msg.c) for promptness, and one.vmpool.info / one.vm.info polls for what PUB/SUB
 * dropped; both feed the same per-VM state machine (watch-core.c). Markers go to the journal
 * and to the plugin, origin "observed". */
#ifndef TH_TRIGGER_WATCH_H
#define TH_TRIGGER_WATCH_H

#include <signal.h>

#include "one-client.h"
#include "options.h"

#define WATCH_QUEUE_MAX 10000 /* markers waiting for the plugin, at most */
#define WATCH_RECHECK_S 600   /* an untracked VM's THEMIS_TYPE is read again after this */

/* Run until *stop (SIGTERM/SIGINT) or, with --once, after one poll. token: the plugin's bearer
 * token ("" for none). Returns the exit status: 0, or 2 for a setup error (message printed). */
int watch_run(const trig_opts *o, one_client *one, const char *token, volatile sig_atomic_t *stop);

#endif
