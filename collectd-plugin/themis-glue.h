/* themis-glue.h — what the collectd-aware files of the plugin share. Only these include
 * collectd's headers; everything else lives in collectd-free files (tp-*.c, lib/):
 *   themis.c          configuration, ingest callbacks, the worker, life cycle, module_register
 *   themis-deliver.c  dispatch, and the values followed through collectd's write threads
 *   themis-archive.c  the worker's archive writes (local files) and the archive thread (RRDs)
 *   themis-probe.c    background probing of <Target>s
 *
 * Threads: libmicrohttpd's pool decodes requests and, under tp_lock, feeds tp_core, which
 * appends to the pending output. The worker swaps it out under the lock and does every slow
 * thing (dispatch, local files) outside it; the archive thread writes the RRDs; each probe
 * group has a prober thread (and the engine's output thread, which feeds tp_take_records). */
#ifndef TH_PLUGIN_THEMIS_GLUE_H
#define TH_PLUGIN_THEMIS_GLUE_H

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_time.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe-engine.h"
#include "tp-archive.h"
#include "tp-core.h"

#define TP_NAME "themis"

/* Shared state (themis.c); tp_lock guards the counters. */
extern pthread_mutex_t tp_lock;
extern tp_config tp_cfg;
extern tp_archive tp_arch;
extern int64_t tp_store_stop_ns;       /* ArchiveStopTimeout */
extern int64_t tp_archive_retention_s; /* ArchiveRetention (0: keep sessions forever) */
extern th_target *tp_targets;
extern size_t tp_ntargets;
extern unsigned long long tp_dispatched;     /* value lists handed to collectd */
extern unsigned long long tp_archive_errors; /* failed archive writes */
/* Archive paused for want of free space (MinFreeSpace), counts of those pauses, archive writes
 * waiting and writes dropped. */
extern bool tp_archive_paused;
extern unsigned long long tp_archive_low_space, tp_archive_dropped;
extern size_t tp_archive_waiting;

/* themis.c */
/* Take records (ctx NULL: from a prober, no ticket). */
th_err tp_take_records(void *ctx, const th_record *r, size_t n, size_t *dups, uint64_t *ticket,
                       char *errbuf);
/* Make c wait on CLOCK_MONOTONIC (before any thread waits on it). */
void tp_cond_monotonic(pthread_cond_t *c);

/* themis-deliver.c */
/* Dispatch v[0..n) (after collectd stopped its write threads, stopped: only keep them). */
void tp_dispatch(const tp_value *v, size_t n, bool stopped);
void tp_notify(const tp_notice *n);
/* Values not followed for want of room (TP_UNSEEN_MAX followed at once), for /v1/health. */
unsigned long long tp_deliver_untracked(void);
/* Let go of the values seen (or unseen for too long); the worker calls it each round. */
void tp_deliver_trim(void);
/* The write callback that sees the plugin's own values pass collectd's write threads. */
int tp_write_seen(const data_set_t *ds, const value_list_t *vl, user_data_t *ud);
/* At shutdown, keep what no writer saw; at start, dispatch what the last shutdown kept. */
void tp_undispatched_save(void);
void tp_undispatched_load(void);

/* themis-archive.c */
/* The worker's archive part of a round: the local files of each job, in order per session,
 * failed or postponed ones kept and retried (every 5 s, or now with last). */
void tp_archive_jobs(tp_out *work, bool last);
/* Append the round's availability.jsonl lines (fsync'd; a failure is logged, the lines lost). */
void tp_archive_availability(const tp_out *work);
/* At start, after resuming: the resumed sessions whose summaries.jsonl line was written just
 * before a crash (found in the file's last 64 KiB) do not write it again. */
void tp_summaries_known(tp_core *c);
/* Archive writes waiting (local ones and sessions whose rows wait for the RRD) and dropped. */
void tp_archive_counts(size_t *waiting, unsigned long long *dropped);
/* At the worker's end: report and free what still waits (its rows are lost). */
void tp_archive_jobs_free(void);
/* The archive thread: start; stop (after the worker) within ArchiveStopTimeout. */
int tp_store_start(void);
void tp_store_shutdown(void);

/* themis-probe.c */
/* Probe the <Target>s in the background (none: nothing); stop and join. */
int tp_probe_start(void);
void tp_probe_shutdown(void);

#endif
