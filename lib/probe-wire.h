/* probe-wire.h — the UDP packets between prober and reflector, and their strict decoding.
 *
 * All integers big-endian. Common header (32 bytes):
 *   0  magic "THMS"        4  version (2)      5  type (1 probe, 2 echo)
 *   6  flags (bit 0: a 32-byte HMAC-SHA256 tag follows the body)      7  reserved, 0
 *   8  stream id (u32, random per prober stream)      12  reserved, 0 (u32)
 *   16 sequence number (u64, first probe is 1)        24  prober send time (u64, its ns clock)
 * Probe body: 40 zero bytes (72 in all). A probe is as long as the echo it causes, so the
 * reflector never sends more bytes than it received: a spoofed source gains nothing.
 * Echo body (40 more bytes, 72 in all), written by the reflector:
 *   32 prev_seq  (u64) sequence it received before this one from the stream, 0 = none
 *   40 run_start (u64) first sequence of the contiguous run ending at prev_seq, 0 = none
 *   48 rx_count  (u64) probes of the stream it has received, this one included
 *   56 refl_ns   (u64) the reflector's own monotonic clock when echoing (informative only)
 *   64 hold_ns   (u64) how long the probe waited in the reflector before being echoed
 * With flags bit 0 the tag covers every byte before it, type included, so a probe can not be
 * passed off as an echo. Decoding refuses any other length, magic, type, flag or non-zero
 * reserved field or padding, and field combinations that can not happen (malformed); a packet
 * with the magic and another version (version 1 had 32-byte probes) is refused on its own
 * (old version), so an old peer is told apart from garbage.
 */
#ifndef TH_PROBE_WIRE_H
#define TH_PROBE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "probe-hmac.h"

#define TH_WIRE_MAGIC     0x54484d53u /* "THMS" */
#define TH_WIRE_VERSION   2
#define TH_WIRE_PROBE     1
#define TH_WIRE_ECHO      2
#define TH_WIRE_FLAG_AUTH 0x01
#define TH_WIRE_HDR_LEN   32
#define TH_WIRE_PROBE_LEN 72 /* header + 40 zero bytes: as long as an echo */
#define TH_WIRE_ECHO_LEN  72
#define TH_WIRE_MAX       (TH_WIRE_ECHO_LEN + TH_HMAC_LEN)

typedef struct th_probe_pkt {
	uint32_t stream_id;
	uint64_t seq;
	uint64_t send_ns;
} th_probe_pkt;

typedef struct th_echo_pkt {
	th_probe_pkt probe; /* the probe being answered, as received */
	uint64_t prev_seq, run_start, rx_count;
	uint64_t refl_ns, hold_ns;
} th_echo_pkt;

typedef enum th_wire_status {
	TH_WIRE_OK = 0,
	TH_WIRE_MALFORMED,   /* wrong length, magic, type, reserved bits, padding or fields */
	TH_WIRE_UNAUTH,      /* no tag although a key is configured, or a tag without a key */
	TH_WIRE_FORGED,      /* tag does not match */
	TH_WIRE_OLD_VERSION, /* the magic with a version other than TH_WIRE_VERSION */
} th_wire_status;

/* Encode into buf (TH_WIRE_MAX bytes); tag with key when key != NULL. Returns the length. */
size_t th_wire_encode_probe(uint8_t *buf, const th_probe_pkt *p, const th_hmac *key);
size_t th_wire_encode_echo(uint8_t *buf, const th_echo_pkt *e, const th_hmac *key);

/* Decode a packet of len bytes; key != NULL requires a valid tag, key == NULL refuses tags. */
th_wire_status th_wire_decode_probe(const uint8_t *buf, size_t len, th_probe_pkt *p,
                                    const th_hmac *key);
th_wire_status th_wire_decode_echo(const uint8_t *buf, size_t len, th_echo_pkt *e,
                                   const th_hmac *key);

/* "ok", "malformed", "unauthenticated", "forged", "old-version". */
const char *th_wire_status_name(th_wire_status s);

#endif
