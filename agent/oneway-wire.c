/* oneway-wire.c — encoding and decoding of one-way packets (see oneway-wire.h). */
#include "themis-config.h"

#include <string.h>

#include "oneway-wire.h"
#include "th-limits.h"

static void ow_put64(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static uint64_t ow_get64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

void th_ow_encode(const th_ow_pkt *p, uint8_t buf[TH_OW_HDR_LEN])
{
	memcpy(buf, "THOW", 4);
	buf[4] = TH_OW_VERSION;
	buf[5] = p->flags;
	buf[6] = (uint8_t)(p->skipped >> 8);
	buf[7] = (uint8_t)p->skipped;
	ow_put64(buf + 8, p->session);
	ow_put64(buf + 16, p->seq);
	ow_put64(buf + 24, (uint64_t)p->send_ns);
	ow_put64(buf + 32, (uint64_t)p->interval_ns);
}

th_err th_ow_decode(const uint8_t *buf, size_t len, th_ow_pkt *p, char *errbuf)
{
	size_t want;

	if (len < TH_OW_HDR_LEN)
		return th_seterr(errbuf, TH_ERR_PARSE, "one-way packet of %zu bytes is truncated",
		                 len);
	if (memcmp(buf, "THOW", 4) != 0)
		return th_seterr(errbuf, TH_ERR_PARSE, "not a one-way packet (bad magic)");
	if (buf[4] != TH_OW_VERSION)
		return th_seterr(errbuf, TH_ERR_PARSE, "one-way packet version %u is not %u",
		                 buf[4], TH_OW_VERSION);
	p->flags = buf[5];
	want = TH_OW_HDR_LEN + ((p->flags & TH_OW_FLAG_AUTH) ? TH_OW_TAG_LEN : 0);
	if (len != want)
		return th_seterr(errbuf, TH_ERR_PARSE,
		                 "one-way packet of %zu bytes, %zu expected for its flags", len,
		                 want);
	p->skipped = (uint16_t)(buf[6] << 8 | buf[7]);
	p->session = ow_get64(buf + 8);
	p->seq = ow_get64(buf + 16);
	p->send_ns = (int64_t)ow_get64(buf + 24);
	p->interval_ns = (int64_t)ow_get64(buf + 32);
	if (p->seq == 0)
		return th_seterr(errbuf, TH_ERR_PARSE, "one-way packet with sequence number 0");
	if (p->interval_ns < TH_INTERVAL_MIN_NS || p->interval_ns > TH_INTERVAL_MAX_NS)
		return th_seterr(errbuf, TH_ERR_PARSE,
		                 "one-way packet announces interval %lld ns (%g .. %g ms)",
		                 (long long)p->interval_ns, TH_INTERVAL_MIN_MS, TH_INTERVAL_MAX_MS);
	return TH_OK;
}
