/* th-limits.h — the one table of probe settings, their ranges and defaults (DESIGN §5.7). The
 * agent's command line (probe, send) and targets files, the one-way wire, the plugin's <Target>,
 * the trigger's options and the agent command line it writes all check against these figures,
 * and the stream maths (probe-stream.c) enforces them last; a figure changed here changes every
 * part at once (and belongs in themis-agent(1), collectd-themis(5), themis-trigger(1)). */
#ifndef TH_LIMITS_H
#define TH_LIMITS_H

#include "th-time.h"

/* Time between probes, round-trip and one-way: 0.1 ms .. 60 s, default 10 ms. */
#define TH_INTERVAL_MIN_NS     (100 * TH_NS_PER_US)
#define TH_INTERVAL_MAX_NS     (60 * TH_NS_PER_SEC)
#define TH_INTERVAL_DEFAULT_NS (10 * TH_NS_PER_MS)
/* The same range in milliseconds, for the parts that read the interval as a number of ms. */
#define TH_INTERVAL_MIN_MS ((double)TH_INTERVAL_MIN_NS / (double)TH_NS_PER_MS)
#define TH_INTERVAL_MAX_MS ((double)TH_INTERVAL_MAX_NS / (double)TH_NS_PER_MS)

/* How long a round-trip echo may take before its probe is lost: 1 ms .. 1 h, default 1 s. */
#define TH_LOSS_TIMEOUT_MIN_NS     TH_NS_PER_MS
#define TH_LOSS_TIMEOUT_MAX_NS     (3600 * TH_NS_PER_SEC)
#define TH_LOSS_TIMEOUT_DEFAULT_NS TH_NS_PER_SEC

/* Reflector hold from which an answered probe belongs to an outage: 0 (off) .. 60 s; the
 * default (a negative stall_ns) is the larger of the interval and TH_STALL_FLOOR_NS. */
#define TH_STALL_MAX_NS   (60 * TH_NS_PER_SEC)
#define TH_STALL_FLOOR_NS (50 * TH_NS_PER_MS)

/* Longest wait for the direction of a loss: 0 (unbounded) .. 1 day, default 600 s. */
#define TH_HOLD_MAX_MAX_NS     (86400 * TH_NS_PER_SEC)
#define TH_HOLD_MAX_DEFAULT_NS (600 * TH_NS_PER_SEC)

/* Shortest run of lost probes reported as an outage: 1 .. 1000000, default 2. */
#define TH_MIN_LOST_MIN     1
#define TH_MIN_LOST_MAX     1000000
#define TH_MIN_LOST_DEFAULT 2

/* --duration of the agent's probe, send and receive: at most 366 days (0 or absent: until
 * stopped). */
#define TH_DURATION_MAX_NS (366LL * 86400 * TH_NS_PER_SEC)

/* A probe key (HMAC-SHA256): 32 .. 256 bytes, in a key file or a VM's context
 * (THEMIS_REFLECT_KEY; context/themis-context checks the same figures). */
#define TH_KEY_MIN 32
#define TH_KEY_MAX 256

#endif
