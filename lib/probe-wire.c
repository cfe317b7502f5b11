/* probe-wire.c — encoding and strict decoding of probe and echo packets (see probe-wire.h). */
#include "themis-config.h"

#include <string.h>

#include "probe-wire.h"

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static void put64(uint8_t *b, uint64_t v)
{
	put32(b, (uint32_t)(v >> 32));
	put32(b + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t get64(const uint8_t *b)
{
	return (uint64_t)get32(b) << 32 | get32(b + 4);
}

static void put_header(uint8_t *b, uint8_t type, const th_probe_pkt *p, const th_hmac *key)
{
	put32(b, TH_WIRE_MAGIC);
	b[4] = TH_WIRE_VERSION;
	b[5] = type;
	b[6] = key != NULL ? TH_WIRE_FLAG_AUTH : 0;
	b[7] = 0;
	put32(b + 8, p->stream_id);
	put32(b + 12, 0);
	put64(b + 16, p->seq);
	put64(b + 24, p->send_ns);
}

static size_t finish(uint8_t *b, size_t len, const th_hmac *key)
{
	if (key == NULL)
		return len;
	th_hmac_tag(key, b, len, b + len);
	return len + TH_HMAC_LEN;
}

size_t th_wire_encode_probe(uint8_t *buf, const th_probe_pkt *p, const th_hmac *key)
{
	put_header(buf, TH_WIRE_PROBE, p, key);
	memset(buf + TH_WIRE_HDR_LEN, 0, TH_WIRE_PROBE_LEN - TH_WIRE_HDR_LEN);
	return finish(buf, TH_WIRE_PROBE_LEN, key);
}

size_t th_wire_encode_echo(uint8_t *buf, const th_echo_pkt *e, const th_hmac *key)
{
	put_header(buf, TH_WIRE_ECHO, &e->probe, key);
	put64(buf + 32, e->prev_seq);
	put64(buf + 40, e->run_start);
	put64(buf + 48, e->rx_count);
	put64(buf + 56, e->refl_ns);
	put64(buf + 64, e->hold_ns);
	return finish(buf, TH_WIRE_ECHO_LEN, key);
}

/* Check the common header and the tag; body_len is the length without tag. */
static th_wire_status check(const uint8_t *b, size_t len, uint8_t type, size_t body_len,
                            th_probe_pkt *p, const th_hmac *key)
{
	if (len < 8 || get32(b) != TH_WIRE_MAGIC)
		return TH_WIRE_MALFORMED;
	if (b[4] != TH_WIRE_VERSION)
		return TH_WIRE_OLD_VERSION;
	if (b[5] != type || (b[6] & ~TH_WIRE_FLAG_AUTH) != 0 || b[7] != 0)
		return TH_WIRE_MALFORMED;
	bool tagged = (b[6] & TH_WIRE_FLAG_AUTH) != 0;
	if (len != body_len + (tagged ? TH_HMAC_LEN : 0))
		return TH_WIRE_MALFORMED;
	if (tagged != (key != NULL))
		return TH_WIRE_UNAUTH;
	if (key != NULL && !th_hmac_verify(key, b, body_len, b + body_len))
		return TH_WIRE_FORGED;
	p->stream_id = get32(b + 8);
	p->seq = get64(b + 16);
	p->send_ns = get64(b + 24);
	if (get32(b + 12) != 0 || p->seq == 0 || p->send_ns > INT64_MAX)
		return TH_WIRE_MALFORMED;
	return TH_WIRE_OK;
}

th_wire_status th_wire_decode_probe(const uint8_t *buf, size_t len, th_probe_pkt *p,
                                    const th_hmac *key)
{
	th_wire_status st = check(buf, len, TH_WIRE_PROBE, TH_WIRE_PROBE_LEN, p, key);

	if (st != TH_WIRE_OK)
		return st;
	for (size_t i = TH_WIRE_HDR_LEN; i < TH_WIRE_PROBE_LEN; i++)
		if (buf[i] != 0)
			return TH_WIRE_MALFORMED; /* padding carries nothing */
	return TH_WIRE_OK;
}

th_wire_status th_wire_decode_echo(const uint8_t *buf, size_t len, th_echo_pkt *e,
                                   const th_hmac *key)
{
	th_wire_status st = check(buf, len, TH_WIRE_ECHO, TH_WIRE_ECHO_LEN, &e->probe, key);

	if (st != TH_WIRE_OK)
		return st;
	e->prev_seq = get64(buf + 32);
	e->run_start = get64(buf + 40);
	e->rx_count = get64(buf + 48);
	e->refl_ns = get64(buf + 56);
	e->hold_ns = get64(buf + 64);
	if (e->rx_count == 0 || e->run_start > e->prev_seq ||
	    (e->prev_seq == 0) != (e->run_start == 0) || e->hold_ns > INT64_MAX ||
	    e->refl_ns > INT64_MAX)
		return TH_WIRE_MALFORMED;
	return TH_WIRE_OK;
}

const char *th_wire_status_name(th_wire_status s)
{
	switch (s) {
	case TH_WIRE_OK:
		return "ok";
	case TH_WIRE_MALFORMED:
		return "malformed";
	case TH_WIRE_UNAUTH:
		return "unauthenticated";
	case TH_WIRE_FORGED:
		return "forged";
	case TH_WIRE_OLD_VERSION:
		return "old-version";
	}
	return "?";
}
