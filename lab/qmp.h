/* qmp.h — a small QMP (QEMU Machine Protocol) client over a unix socket: greeting, capability
 * negotiation, one command at a time with a deadline (asynchronous events arriving meanwhile are
 * skipped), or a stream of events read as lines (qmp_next_event). Replies are yajl trees. */
#ifndef TH_LAB_QMP_H
#define TH_LAB_QMP_H

#include <yajl/yajl_tree.h>

#include "th-error.h"

typedef struct qmp qmp;

/* Connects to the socket at path (retrying until timeout_ms while it does not exist yet) and
 * negotiates capabilities. */
th_err qmp_open(const char *path, long timeout_ms, qmp **out, char *errbuf);

/* Sends {"execute":name[,"arguments":args_json]} and waits up to timeout_ms for its reply. On
 * success *ret (may be NULL) receives the "return" value's whole reply tree: free it with
 * yajl_tree_free; read the value with qmp_return(). A QMP error reply gives TH_ERR_REMOTE with
 * its "desc". */
th_err qmp_exec(qmp *q, const char *name, const char *args_json, long timeout_ms, yajl_val *ret,
                char *errbuf);

/* The next line QEMU sends (an event, once capabilities are negotiated and no command is under
 * way) as a NUL-terminated string for the caller to free, waiting up to timeout_ms:
 * TH_ERR_TIMEOUT when none came, TH_ERR_NET when QEMU closed the monitor, TH_ERR_TOOBIG for a
 * line over 64 KiB. */
th_err qmp_next_line(qmp *q, long timeout_ms, char **line, char *errbuf);

/* The "return" member of a reply tree. */
yajl_val qmp_return(yajl_val reply);

void qmp_close(qmp *q);

#endif
