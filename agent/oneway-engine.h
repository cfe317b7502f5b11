/* oneway-engine.h — the receiver's maths of the one-way mode, free of sockets and clocks.
 *
 * The sender (on the VM) numbers its schedule slots; the receiver (on the supervisor) cannot
 * trust that numbering alone: a paused VM sends nothing and may not even skip sequence numbers.
 * So loss is derived from the receiver's own monotonic clock (DESIGN §4.6):
 * - Between two in-order packets arriving at a and b, the missing slots are the larger of the
 *   sequence gap and the silence measured in announced intervals (round((b-a)/I) - 1, counted
 *   only when b - a exceeds I + max(2 I, 5 ms), so arrival jitter alone is never loss).
 * - While the sender is silent, every slot a + j I older than the loss timeout is declared lost
 *   as time passes, so a long outage is visible while it lasts and never expires the stream.
 *   A packet with the FIN flag ends the stream: silence after it is not loss.
 * - Sequence gaps wait for the loss timeout before they count: a reordered packet that fills a
 *   gap in time is received, not lost; one that comes later is "late", a repeated one "dup".
 * - Every loss is in direction "down" (VM → supervisor) and lands in the epoch second of its
 *   slot on the receiver's clock; received packets count in the second they arrived.
 * - Outage: a run of at least min_lost missing slots, start = a + I (the first missing slot),
 *   end = b (the arrival that ended it), bound = I. RTT fields are null (no round trip); jitter
 *   is RFC 3550 interarrival jitter of transit times (sender clock offsets cancel out).
 * - `slips` counts the slots the sender says it skipped because it fell behind (its process or
 *   VM did not run); they are also lost, since nothing was sent for them.
 */
#ifndef TH_AGENT_ONEWAY_ENGINE_H
#define TH_AGENT_ONEWAY_ENGINE_H

#include <stdint.h>

#include "oneway-wire.h"
#include "th-error.h"
#include "th-record.h"
#include "th-time.h"

typedef void (*th_ow_record_cb)(const th_record *rec, void *arg);

typedef struct th_ow_conf {
	char vm[TH_NAME_MAX];
	char stream[TH_NAME_MAX];
	int64_t loss_timeout_ns; /* 1 ms .. 10 s */
	uint32_t min_lost;       /* shortest run reported as an outage, >= 1 */
} th_ow_conf;

/* Defaults: loss timeout 1 s, min_lost 2 (vm and stream left empty). */
void th_ow_conf_defaults(th_ow_conf *c);

typedef struct th_ow_counters {
	uint64_t received, lost, late, dup, outages;
	uint64_t sessions; /* sender runs seen (a restarted sender starts a new session) */
} th_ow_counters;

typedef struct th_ow th_ow;

/* clock converts receiver monotonic times to epoch for the records. */
th_err th_ow_new(th_ow **out, const th_ow_conf *conf, const th_clock *clock, char *errbuf);
void th_ow_free(th_ow *e);

/* A decoded (and, when keys are used, authenticated) packet arrived at recv_ns. */
void th_ow_packet(th_ow *e, const th_ow_pkt *p, int64_t recv_ns, th_ow_record_cb cb, void *arg);

/* Time is now now_ns: declare losses, emit finished seconds. Call at least every 100 ms. */
void th_ow_advance(th_ow *e, int64_t now_ns, th_ow_record_cb cb, void *arg);

/* The receiver stops: settle everything, emit the open seconds and an outage in progress
 * (ending one interval after its last declared slot). */
void th_ow_finish(th_ow *e, int64_t now_ns, th_ow_record_cb cb, void *arg);

void th_ow_get_counters(const th_ow *e, th_ow_counters *out);

#endif
