/* probe-engine.h — the prober: sends round-trip probes to one or more reflectors on a fixed
 * schedule, reads their echoes and turns them into records (DESIGN §4, §5.1).
 *
 * Embedding (themis-agent probe, the collectd plugin's background targets):
 *
 *   th_prober *p;
 *   th_prober_new(&p, on_record, ctx, err);
 *   th_target t;
 *   th_target_defaults(&t);
 *   th_target_set_addr(&t, "192.0.2.7:7300", err);
 *   snprintf(t.probe.vm, sizeof t.probe.vm, "%s", "web-1");
 *   th_prober_add(p, &t, err);            // resolves the address, opens the socket
 *   ... in the measuring thread:
 *   th_prober_run(p, 0, err);             // blocks; returns after th_prober_stop()
 *   ... from any thread or a signal handler:
 *   th_prober_stop(p);
 *   ... after run returned (records all delivered):
 *   th_prober_free(p);
 *
 * The callback runs on an output thread of the prober's own (started and joined by
 * th_prober_run()), one record at a time, in emission order: "second" records once the loss
 * timeout of their last probe has passed and every loss in them has a direction, "outage"
 * records when the outage ends. The probing thread only queues records (at most
 * th_prober_set_queue() of them, default TH_PROBER_QUEUE_DEFAULT): a callback that blocks holds
 * up the records, never the probes; when the queue is full further records are dropped and
 * counted (th_prober_get_health()), probing goes on. On stop the prober stops sending, waits up
 * to one loss timeout for the echoes still on their way (a second th_prober_stop() ends that
 * wait), emits everything pending, and returns once the callback has had every queued record.
 *
 * The prober never turns its own delays into loss: echoes carry the kernel's receive time
 * (SO_TIMESTAMPNS), and no probe is declared lost before every socket has been read. When the
 * loop itself did not run for more than TH_PROBER_STALL_NS (CPU starvation, a stopped thread),
 * the seconds it covers carry the time as prober_stall_ms, the stall is counted and logged.
 *
 * All timing and waiting is CLOCK_MONOTONIC; epoch times in records come from an anchor taken
 * when th_prober_run() starts and checked every second: a wall-clock step of more than
 * TH_CLOCK_STEP_NS re-anchors the records (counted, logged); durations never move.
 */
#ifndef TH_PROBE_ENGINE_H
#define TH_PROBE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "probe-stream.h"
#include "th-addr.h"
#include "th-error.h"
#include "th-limits.h"
#include "th-record.h"


/* One reflector to probe: where it is, the settings of its stream (vm, stream id, interval,
 * loss timeout, stall, min_lost, hold_max: probe-stream.h and th-limits.h; probe.stream "" =
 * "<this host's name>/<vm>/<port>"), its key. */
typedef struct th_target {
	char host[TH_HOST_MAX];  /* name or literal address, IPv6 without brackets */
	char port[TH_PORT_MAX];  /* number */
	th_stream_conf probe;    /* the stream's settings, checked by th_prober_add() */
	uint8_t key[TH_KEY_MAX]; /* HMAC-SHA256 key, key_len = 0: no authentication */
	size_t key_len;
} th_target;

/* Fill t with the defaults (th_stream_conf_defaults(); empty host/vm, no key). */
void th_target_defaults(th_target *t);

/* Parse "ADDR:PORT" or "[IPv6]:PORT" into t->host/t->port (th_addr_parse(), what "address"). */
th_err th_target_set_addr(th_target *t, const char *addrport, char *errbuf);

/* Read a key file (at least TH_KEY_MIN bytes, at most TH_KEY_MAX) into key/len. */
th_err th_key_load(const char *path, uint8_t *key, size_t *len, char *errbuf);

/* Per-target totals for summaries (the stream's maths plus what the socket saw). */
typedef struct th_target_stats {
	th_stream_counters s;
	uint64_t malformed;   /* echoes dropped: truncated, bad magic/type, bad fields */
	uint64_t forged;      /* echoes dropped: authentication tag wrong or missing */
	uint64_t old_version; /* echoes dropped: another wire version (probe-wire.h) */
	uint64_t foreign;     /* echoes dropped: belong to another stream */
	uint64_t replayed;    /* authenticated echoes dropped: already seen or outside the window */
	uint64_t send_errors;
} th_target_stats;

typedef struct th_prober th_prober;

#define TH_PROBER_STALL_NS      (100 * TH_NS_PER_MS) /* loop or output late by more: a stall */
#define TH_CLOCK_STEP_NS        (100 * TH_NS_PER_MS) /* wall-clock jump that re-anchors */
#define TH_PROBER_QUEUE_DEFAULT 4096                 /* records waiting for the callback */

/* The prober's view of itself (not of the targets). */
typedef struct th_prober_health {
	uint64_t stalls;          /* times the loop did not run for more than TH_PROBER_STALL_NS */
	int64_t stall_max_ns;     /* the longest of them */
	int64_t stall_total_ns;   /* their sum */
	uint64_t clock_steps;     /* wall-clock re-anchorings */
	int64_t last_step_ns;     /* size of the last step (new - old) */
	uint64_t records_dropped; /* records not delivered because the queue was full */
	uint64_t output_stalls; /* callback (or log) calls that took more than TH_PROBER_STALL_NS */
	int64_t output_stall_max_ns;
} th_prober_health;

/* Log lines of the prober (stalls, clock steps, dropped records); level 0 error, 1 warning,
 * 2 info. Called on the output thread, like the record callback. */
typedef void th_prober_log_fn(int level, const char *msg, void *arg);

/* New prober with no targets; cb receives every record (arg passed through). */
th_err th_prober_new(th_prober **out, th_record_cb cb, void *arg, char *errbuf);

/* Add a target (resolve, open a UDP socket connected to it). Only before th_prober_run(). */
th_err th_prober_add(th_prober *p, const th_target *t, char *errbuf);

size_t th_prober_count(const th_prober *p);

/* Probe every target until th_prober_stop() is called or, when duration_ns > 0, for that long;
 * then drain and flush (see above). Returns TH_OK after a clean stop. */
th_err th_prober_run(th_prober *p, int64_t duration_ns, char *errbuf);

/* Ask a running (or about to run) prober to stop. Safe from any thread and signal handler. */
void th_prober_stop(th_prober *p);

/* Totals of target i (in the order added), name of its stream. Any time after add. The values
 * are a snapshot taken without locking: exact once run returned. */
void th_prober_stats(const th_prober *p, size_t i, th_target_stats *out);
const char *th_prober_stream_name(const th_prober *p, size_t i);
const char *th_prober_vm_name(const th_prober *p, size_t i);

/* Where log lines go (default: nowhere). Only before th_prober_run(). */
void th_prober_set_log(th_prober *p, th_prober_log_fn *fn, void *arg);

/* Most records waiting for the callback (> 0). Only before th_prober_run(). */
void th_prober_set_queue(th_prober *p, size_t records);

/* Snapshot of the prober's own counters; exact once run returned. */
void th_prober_get_health(th_prober *p, th_prober_health *out);

void th_prober_free(th_prober *p);

#endif
