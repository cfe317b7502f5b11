/* fuzz-wire.c — libFuzzer harness for the probe wire format: th_wire_decode_probe and
 * th_wire_decode_echo, without a key and with one. The first byte picks the case:
 *   bit 0  decode as an echo (else as a probe)
 *   bit 1  decode with a key
 *   bit 2  with a key: append the valid tag of the rest first, so the field checks behind the
 *          authentication are reached too (a fuzzer can not forge HMAC-SHA256)
 * Whatever decodes must encode back to exactly the same bytes. */
#include "themis-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static th_hmac fw_key;
static int fw_ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pkt[TH_WIRE_MAX + 64], again[TH_WIRE_MAX];
	const th_hmac *key;
	size_t len, elen;
	th_wire_status st;
	int mode;

	if (!fw_ready) {
		static const uint8_t k[] = "themis fuzz key: 32 bytes or more";

		if (th_hmac_init(&fw_key, k, sizeof k - 1, NULL) != TH_OK)
			abort();
		fw_ready = 1;
	}
	if (size < 1 || size - 1 > TH_WIRE_MAX + 32)
		return 0;
	mode = data[0];
	len = size - 1;
	memcpy(pkt, data + 1, len);
	key = mode & 2 ? &fw_key : NULL;
	if (key != NULL && (mode & 4)) {
		th_hmac_tag(key, pkt, len, pkt + len);
		len += TH_HMAC_LEN;
	}
	if (mode & 1) {
		th_echo_pkt e;

		st = th_wire_decode_echo(pkt, len, &e, key);
		if (st == TH_WIRE_OK)
			elen = th_wire_encode_echo(again, &e, key);
	} else {
		th_probe_pkt p;

		st = th_wire_decode_probe(pkt, len, &p, key);
		if (st == TH_WIRE_OK)
			elen = th_wire_encode_probe(again, &p, key);
	}
	if (th_wire_status_name(st)[0] == '?')
		abort();
	if (st == TH_WIRE_OK && (elen != len || memcmp(again, pkt, len) != 0))
		abort(); /* accepted bytes that do not round-trip */
	return 0;
}
