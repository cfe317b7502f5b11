/* reflector.h — what the reflector remembers per probe stream, free of sockets: the sequence
 * it received last, where that contiguous run started, how many probes it received, and a
 * window of recently seen sequence numbers (duplicates are not counted; with a key they are
 * replays and dropped). Streams are identified by source address and stream id and are never
 * expired for silence; only when the table is full does a new stream replace the one silent
 * for longest.
 */
#ifndef TH_AGENT_REFLECTOR_H
#define TH_AGENT_REFLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-error.h"

#define TH_REFL_WINDOW 1024 /* sequence numbers remembered for duplicate detection */

/* Source of a stream: address family, port and address bytes (IPv4 in the first 4). */
typedef struct th_refl_src {
	uint16_t family, port;
	uint8_t addr[16];
} th_refl_src;

typedef enum th_refl_verdict {
	TH_REFL_ECHO = 0, /* new probe: echo with the answer filled in */
	TH_REFL_DUP,      /* seen before: echo (unauthenticated mode) without counting it */
	TH_REFL_TOO_OLD,  /* older than the window: can not tell, echo without counting */
} th_refl_verdict;

typedef struct th_refl_answer {
	uint64_t prev_seq, run_start, rx_count;
} th_refl_answer;

typedef struct th_reflector th_reflector;

/* A table for at most max_streams streams. */
th_err th_reflector_new(th_reflector **out, size_t max_streams, char *errbuf);
void th_reflector_free(th_reflector *r);

/* Probe seq of stream (src, id) arrived at now_ns: update the stream, fill *a. */
th_refl_verdict th_reflector_receive(th_reflector *r, const th_refl_src *src, uint32_t id,
                                     uint64_t seq, int64_t now_ns, th_refl_answer *a);

size_t th_reflector_streams(const th_reflector *r);
uint64_t th_reflector_evicted(const th_reflector *r);

#endif
