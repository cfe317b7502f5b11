/* probe-stream.h — the measurement maths of one probe stream, free of sockets and clocks.
 *
 * A stream sends probe number n (n = 1, 2, ...) at the scheduled monotonic time
 *   start_ns + (n - 1) * interval_ns
 * and is driven entirely by explicit times, so unit tests feed exact sequences:
 *   th_stream_due()     which slot to send now (stale slots are skipped and counted as slips)
 *   th_stream_sent()    the slot went out at sent_ns
 *   th_stream_echo()    an echo arrived at recv_ns
 *   th_stream_advance() time passed: probes older than the loss timeout become lost, finished
 *                       seconds and outages are handed to the callback
 *   th_stream_finish()  the run is over: everything still pending is settled and emitted
 *
 * Semantics (DESIGN §4):
 * - Loss by schedule: a probe is lost when no echo came within loss_timeout_ns of its send; it
 *   is counted in the epoch second in which it was *scheduled*.
 * - Direction: every echo says which sequence number the reflector received before this one
 *   (prev_seq), where that contiguous run of receptions started (run_start) and how many probes
 *   of the stream it has received (rx_count). The run tells which probes reached the VM and
 *   their arrival numbers (lost "down" if their echo never came). Once a gap between two
 *   answered probes j < m is final (every probe in it past its loss timeout), the reflector
 *   received rx(m) - rx(j) - 1 probes between them; when the probes known to have reached it
 *   (runs, late echoes, reordered echoes whose rx falls in between) account for all of them,
 *   every other probe of the gap never reached it (lost "up"). This holds for gaps of any
 *   length and under reordering and duplication; when the counts cannot be matched, and for
 *   losses after the last echo of a run, the direction is "unknown".
 * - A probe the reflector held longer than stall_ns before echoing (the VM was not running its
 *   reflector, e.g. paused) belongs to an outage like a lost probe, direction "up", although
 *   its echo counts as received in its second when it came in time.
 * - Outage: a maximal run of consecutive lost (or stalled) probes, at least min_lost long;
 *   start = send time of its first probe, end = send time of the first answered probe after it
 *   plus the time the reflector held that probe (microseconds normally; for a reflector that
 *   was stopped, the wait until it resumed), bound = one interval (the true start lies within
 *   one interval before the reported one, the true end within one interval of it). An outage
 *   still open at th_stream_finish() ends one interval after its last probe.
 * - A second is emitted once every probe scheduled in it is answered or lost with its direction
 *   settled. During a long outage the direction is only known when echoes come back, so seconds
 *   wait (at most hold_max_ns, then the unsettled losses are emitted as "unknown").
 * - RTT min/avg/max of the echoes of probes scheduled in the second, RFC 3550 interarrival
 *   jitter (J += (|D| - J) / 16 over consecutive echo arrivals) as it stands after the last echo
 *   of the second, max_gap = longest silence between consecutive echo arrivals, counted in the
 *   second of the echo that ended it. Late = echoes that came after the probe was declared lost
 *   (counted in the probe's own second when still open, else in the oldest open second); dup =
 *   further echoes of an already answered probe.
 */
#ifndef TH_PROBE_STREAM_H
#define TH_PROBE_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "th-error.h"
#include "th-limits.h"
#include "th-record.h"
#include "th-time.h"

/* Receives every finished record; rec is valid only during the call. */
typedef void (*th_record_cb)(const th_record *rec, void *arg);

/* The settings of one stream; ranges and defaults are th-limits.h's. */
typedef struct th_stream_conf {
	char vm[TH_NAME_MAX];     /* VM name in the records */
	char stream[TH_NAME_MAX]; /* stream id in the records */
	int64_t interval_ns;      /* TH_INTERVAL_MIN_NS .. TH_INTERVAL_MAX_NS */
	int64_t loss_timeout_ns;  /* TH_LOSS_TIMEOUT_MIN_NS .. TH_LOSS_TIMEOUT_MAX_NS */
	int64_t stall_ns;    /* reflector hold that makes a probe part of an outage; 0 = off, < 0 =
	                        max(interval, TH_STALL_FLOOR_NS); at most TH_STALL_MAX_NS */
	uint32_t min_lost;   /* shortest run reported as an outage, TH_MIN_LOST_MIN .. _MAX */
	int64_t hold_max_ns; /* longest wait for a direction before "unknown"; 0 = unbounded,
	                        at most TH_HOLD_MAX_MAX_NS */
} th_stream_conf;

/* Defaults: interval 10 ms, loss timeout 1 s, stall = max(interval, 50 ms) (set by
 * th_stream_new when stall_ns < 0), min_lost 2, hold_max 600 s (th-limits.h). */
void th_stream_conf_defaults(th_stream_conf *c);

/* What an echo told us (decoded and authenticated by the caller). */
typedef struct th_echo_info {
	uint64_t seq;       /* the probe being answered */
	int64_t send_ns;    /* the probe's send time as carried back (must match ours) */
	uint64_t prev_seq;  /* last sequence the reflector received before this one (0 = none) */
	uint64_t run_start; /* first sequence of the contiguous run that ends at prev_seq */
	uint64_t rx_count;  /* probes of this stream the reflector received, this one included */
	int64_t hold_ns;    /* how long the reflector held this probe before echoing it */
} th_echo_info;

typedef enum th_echo_verdict {
	TH_ECHO_OK = 0,  /* answered in time */
	TH_ECHO_LATE,    /* after the loss timeout: the probe stays lost */
	TH_ECHO_DUP,     /* the probe was already answered */
	TH_ECHO_INVALID, /* unknown sequence number, or send time does not match: dropped */
} th_echo_verdict;

/* Totals since the start of the stream. */
typedef struct th_stream_counters {
	uint64_t sent, received, lost_up, lost_down, lost_unknown, late, dup, invalid;
	uint64_t stalled; /* answered in time but held by the reflector longer than stall_ns */
	uint64_t slips;   /* slots sent more than one interval after schedule, or skipped */
	uint64_t skipped; /* slots never sent because the sender fell too far behind */
	uint64_t outages; /* outage records emitted */
	int64_t max_slip_ns;
} th_stream_counters;

typedef struct th_stream th_stream;

/* Create a stream whose slot 1 is scheduled at start_ns; clock converts monotonic times to
 * epoch for the records. Fails with TH_ERR_INVALID naming the bad field. */
th_err th_stream_new(th_stream **out, const th_stream_conf *conf, const th_clock *clock,
                     int64_t start_ns, char *errbuf);
void th_stream_free(th_stream *s);

/* Monotonic time at which the next unsent slot is scheduled. */
int64_t th_stream_next_send_ns(const th_stream *s);

/* No slot scheduled at or after end_ns is ever due (sent or skipped): a run of a given length.
 * Default: no end. */
void th_stream_set_end(th_stream *s, int64_t end_ns);

/* The slot to send at now_ns, or 0 if none is due. Slots more than max(10 intervals, 10 ms)
 * behind schedule are skipped (not sent, not lost, counted as slips). Call until it returns 0;
 * after each non-zero answer call th_stream_sent() (also when the send itself failed: the probe
 * then simply gets no echo). */
uint64_t th_stream_due(th_stream *s, int64_t now_ns);

/* Slot seq went out at sent_ns (>= its schedule). */
void th_stream_sent(th_stream *s, uint64_t seq, int64_t sent_ns);

/* Send time recorded for seq (for the echo check), or -1 when seq is not in the window. */
int64_t th_stream_send_time(const th_stream *s, uint64_t seq);

/* An echo arrived at recv_ns. */
th_echo_verdict th_stream_echo(th_stream *s, const th_echo_info *e, int64_t recv_ns);

/* Time is now now_ns: declare losses, emit finished seconds and outages through cb. */
void th_stream_advance(th_stream *s, int64_t now_ns, th_record_cb cb, void *arg);

/* Earliest monotonic time at which th_stream_advance() may have something to do. */
int64_t th_stream_next_deadline_ns(const th_stream *s);

/* True when every sent probe is answered or lost (nothing waits for its loss timeout). */
bool th_stream_idle(const th_stream *s);

/* No more sending: settle every pending probe as lost (direction unknown unless known), emit
 * every remaining second and the outage in progress (ending at the last probe's send time plus
 * one interval). The stream can not be used for sending afterwards. */
void th_stream_finish(th_stream *s, int64_t now_ns, th_record_cb cb, void *arg);

/* The wall clock was re-anchored at monotonic from_ns: slots not yet sent are numbered into
 * epoch seconds with clock from now on, outage times from from_ns on are converted with it.
 * Durations do not change (they are monotonic). After a backward step epoch seconds repeat:
 * their records come out again, in order, after the ones numbered before the step. */
void th_stream_set_clock(th_stream *s, const th_clock *clock, int64_t from_ns);

/* The prober did not run from from_ns to to_ns: the seconds of the slots scheduled in that time
 * carry it as prober_stall_ms (their missing or late probes are the prober's, not the VM's). */
void th_stream_prober_stall(th_stream *s, int64_t from_ns, int64_t to_ns);

void th_stream_get_counters(const th_stream *s, th_stream_counters *out);
const th_stream_conf *th_stream_get_conf(const th_stream *s);

#endif
