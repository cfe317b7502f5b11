/* tp-resume.h — after a restart, reopen the sessions the archive still records as "open": their
 * markers and outages come from <session>.json, the seconds already stored from the RRD's last
 * update, so re-sent records change nothing and later ones continue the same files. */
#ifndef TH_PLUGIN_TP_RESUME_H
#define TH_PLUGIN_TP_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "th-error.h"
#include "tp-archive.h"
#include "tp-core.h"

/* Resume one session from the text of its JSON file (rrd_path may not exist yet). */
th_err tp_resume_session(tp_core *c, tp_archive *a, const char *json, size_t len,
                         const char *rrd_path, int64_t now_ns, char *errbuf);

/* Walk <ArchiveDir>/<vm>/<session>.json; *resumed counts sessions reopened. Per-file problems
 * are reported through warn() and skipped. */
th_err tp_resume_dir(tp_core *c, tp_archive *a, int64_t now_ns, size_t *resumed,
                     void (*warn)(const char *msg), char *errbuf);

#endif
