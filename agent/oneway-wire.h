/* oneway-wire.h — the packet of the one-way mode (`send` on the VM → `receive` on the
 * supervisor). Big-endian, 40 bytes, or 72 with an HMAC-SHA256 tag over the first 40:
 *   0 "THOW"  4 version (1)  5 flags (FIN, AUTH)  6 skipped (slots the sender skipped right
 *   before this one because it fell behind, saturating at 65535)
 *   8 session (random per sender run)  16 seq (sender slot number, from 1; skipped slots leave
 *   gaps)  24 send_ns (sender's CLOCK_MONOTONIC)  32 interval_ns (the sender's schedule)
 * Pure encoding/decoding; authentication is the caller's (probe-hmac.h).
 */
#ifndef TH_AGENT_ONEWAY_WIRE_H
#define TH_AGENT_ONEWAY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-error.h"

#define TH_OW_HDR_LEN   40
#define TH_OW_TAG_LEN   32
#define TH_OW_MAX_LEN   (TH_OW_HDR_LEN + TH_OW_TAG_LEN)
#define TH_OW_VERSION   1
#define TH_OW_FLAG_FIN  0x01 /* the sender stops: silence after this is not loss */
#define TH_OW_FLAG_AUTH 0x02 /* a tag follows the header */

typedef struct th_ow_pkt {
	uint8_t flags;
	uint16_t skipped;
	uint64_t session;
	uint64_t seq;
	int64_t send_ns;
	int64_t interval_ns;
} th_ow_pkt;

/* Write the 40-byte header of p into buf. */
void th_ow_encode(const th_ow_pkt *p, uint8_t buf[TH_OW_HDR_LEN]);

/* Parse a datagram of len bytes. Refuses (TH_ERR_PARSE, naming the defect) wrong magic or
 * version, a length that does not match the AUTH flag, seq 0 and intervals outside
 * TH_INTERVAL_MIN_NS .. TH_INTERVAL_MAX_NS (0.1 ms .. 60 s, th-limits.h). */
th_err th_ow_decode(const uint8_t *buf, size_t len, th_ow_pkt *p, char *errbuf);

#endif
