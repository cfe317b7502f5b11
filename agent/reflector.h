/* reflector.h — what the reflector remembers per probe stream, free of sockets: the sequence
 * it received last, where that contiguous run started, how many probes it received, and a
 * window of recently seen sequence numbers (duplicates are not counted; with a key they are
 * replays and dropped).
 *
 * Streams are identified by stream id alone: the source address is not part of the key, so a
 * probe replayed from any other address is a duplicate of the stream it was taken from. Lookup
 * is one keyed hash (libsodium crypto_shorthash under a random key drawn at creation, so
 * colliding ids can not be chosen from outside). Streams are never expired for silence. When
 * the table is full, the least recently active stream (kept at the tail of an LRU list, found
 * without a scan) makes room for a new one only if it has been silent for longer than the
 * active window; otherwise the new stream is refused: a stream that is silent because its VM
 * is migrating is never given up in favour of a newcomer. New streams are also limited per
 * source address (a token bucket per keyed hash of the address, port ignored), so one sender
 * can not fill the table by itself.
 */
#ifndef TH_AGENT_REFLECTOR_H
#define TH_AGENT_REFLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-error.h"

#define TH_REFL_WINDOW      1024    /* sequence numbers remembered for duplicate detection */
#define TH_REFL_MAX_STREAMS 1000000 /* largest table accepted */
#define TH_REFL_SOURCES     8192    /* token buckets for the per-source limit */

/* Source of a probe: address family, port and address bytes (IPv4 in the first 4). Only the
 * family and the address count for the per-source limit. */
typedef struct th_refl_src {
	uint16_t family, port;
	uint8_t addr[16];
} th_refl_src;

typedef struct th_refl_conf {
	size_t max_streams;       /* streams in the table, 1..TH_REFL_MAX_STREAMS; default 1024 */
	int64_t active_window_ns; /* a stream silent for less is never evicted; default 120 s */
	uint32_t new_per_sec;     /* new streams per second per source address, 0 = no limit;
	                           * default 8 */
	uint32_t new_burst;       /* ... of which at most this many at once; default 32 */
} th_refl_conf;

typedef enum th_refl_verdict {
	TH_REFL_ECHO = 0,     /* new probe: echo with the answer filled in */
	TH_REFL_DUP,          /* seen before: echo (unauthenticated mode) without counting it */
	TH_REFL_TOO_OLD,      /* older than the window: can not tell, echo without counting */
	TH_REFL_REFUSED,      /* new stream, table full of active streams: no state, no echo */
	TH_REFL_RATE_LIMITED, /* new stream over its source's limit: no state, no echo */
} th_refl_verdict;

typedef struct th_refl_answer {
	uint64_t prev_seq, run_start, rx_count;
} th_refl_answer;

typedef struct th_refl_counters {
	size_t streams;        /* streams in the table now */
	uint64_t created;      /* streams ever created */
	uint64_t evicted;      /* streams that made room for a new one */
	uint64_t refused;      /* new streams refused: table full of active streams */
	uint64_t rate_limited; /* new streams refused: over their source's limit */
} th_refl_counters;

typedef struct th_reflector th_reflector;

/* Fill c with the defaults above. */
void th_refl_conf_defaults(th_refl_conf *c);

/* A table as c says (copied); the hash keys are drawn from libsodium's random generator. */
th_err th_reflector_new(th_reflector **out, const th_refl_conf *c, char *errbuf);
void th_reflector_free(th_reflector *r);

/* Probe seq of stream id from src arrived at now_ns (a monotonic clock): update the stream,
 * fill *a (for ECHO, DUP and TOO_OLD). */
th_refl_verdict th_reflector_receive(th_reflector *r, const th_refl_src *src, uint32_t id,
                                     uint64_t seq, int64_t now_ns, th_refl_answer *a);

/* The counters as they are now. */
void th_reflector_counters(const th_reflector *r, th_refl_counters *out);

#endif
