/* test-probe-wire.c — probe/echo packets round-trip; truncated, corrupted, wrong-magic,
 * unauthenticated and forged packets are refused, byte by byte, never accepted; a probe is as
 * long as its echo, its padding must be zero, and other wire versions are refused apart. */
#include <string.h>

#include "probe-wire.h"
#include "th-check.h"

static const uint8_t key_a[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t key_b[32] = "0123456789abcdef0123456789abcdeX";

static void same_echo(const th_echo_pkt *a, const th_echo_pkt *b)
{
	ck_assert_uint_eq(a->probe.stream_id, b->probe.stream_id);
	ck_assert_uint_eq(a->probe.seq, b->probe.seq);
	ck_assert_uint_eq(a->probe.send_ns, b->probe.send_ns);
	ck_assert_uint_eq(a->prev_seq, b->prev_seq);
	ck_assert_uint_eq(a->run_start, b->run_start);
	ck_assert_uint_eq(a->rx_count, b->rx_count);
	ck_assert_uint_eq(a->refl_ns, b->refl_ns);
	ck_assert_uint_eq(a->hold_ns, b->hold_ns);
}

static th_echo_pkt sample_echo(void)
{
	th_echo_pkt e = {
	    .probe = {.stream_id = 0xdeadbeef, .seq = 1234567890123ULL, .send_ns = 987654321},
	    .prev_seq = 1234567890120ULL,
	    .run_start = 1000,
	    .rx_count = 42,
	    .refl_ns = 5555,
	    .hold_ns = 77,
	};
	return e;
}

START_TEST(probe_and_echo_round_trip)
{
	uint8_t buf[TH_WIRE_MAX];
	th_probe_pkt p = {.stream_id = 7, .seq = 1, .send_ns = 99}, q;
	th_echo_pkt e = sample_echo(), f;

	ck_assert_uint_eq(th_wire_encode_probe(buf, &p, NULL), 72);
	ck_assert_int_eq(th_wire_decode_probe(buf, 72, &q, NULL), TH_WIRE_OK);
	ck_assert_uint_eq(q.stream_id, 7);
	ck_assert_uint_eq(q.seq, 1);
	ck_assert_uint_eq(q.send_ns, 99);
	ck_assert_mem_eq(buf, "THMS\x02\x01\x00\x00\x00\x00\x00\x07", 12);
	for (size_t i = 32; i < 72; i++)
		ck_assert_uint_eq(buf[i], 0);
	ck_assert_uint_eq(th_wire_encode_echo(buf, &e, NULL), 72);
	ck_assert_int_eq(th_wire_decode_echo(buf, 72, &f, NULL), TH_WIRE_OK);
	same_echo(&f, &e);
	/* the layout is fixed: magic first, big-endian sequence at offset 16 */
	ck_assert_mem_eq(buf, "THMS\x02\x02\x00\x00", 8);
	ck_assert_uint_eq(buf[23], (uint8_t)(1234567890123ULL & 0xff));
}
END_TEST

START_TEST(every_truncation_and_extension_is_malformed)
{
	uint8_t buf[TH_WIRE_MAX + 8] = {0};
	th_echo_pkt e = sample_echo(), f;
	th_probe_pkt q;

	size_t n = th_wire_encode_echo(buf, &e, NULL);
	for (size_t len = 0; len < n + 8; len++) {
		if (len == n)
			continue;
		ck_assert_int_eq(th_wire_decode_echo(buf, len, &f, NULL), TH_WIRE_MALFORMED);
	}
	/* an echo is never a probe and the other way round */
	ck_assert_int_eq(th_wire_decode_probe(buf, n, &q, NULL), TH_WIRE_MALFORMED);
	n = th_wire_encode_probe(buf, &e.probe, NULL);
	ck_assert_int_eq(th_wire_decode_echo(buf, n, &f, NULL), TH_WIRE_MALFORMED);
	for (size_t len = 0; len < n; len++)
		ck_assert_int_eq(th_wire_decode_probe(buf, len, &q, NULL), TH_WIRE_MALFORMED);
}
END_TEST

START_TEST(header_corruption_is_malformed)
{
	uint8_t buf[TH_WIRE_MAX];
	th_echo_pkt e = sample_echo(), f;

	/* any bit flip in magic, version, type, flags, reserved: refused */
	size_t n = th_wire_encode_echo(buf, &e, NULL);
	for (size_t byte = 0; byte < 16; byte++) {
		if (byte >= 8 && byte < 12)
			continue; /* stream id: any value is valid on the wire */
		for (int bit = 0; bit < 8; bit++) {
			buf[byte] ^= (uint8_t)(1u << bit);
			th_wire_status st = th_wire_decode_echo(buf, n, &f, NULL);
			ck_assert_msg(st != TH_WIRE_OK, "byte %zu bit %d accepted", byte, bit);
			buf[byte] ^= (uint8_t)(1u << bit);
		}
	}
	/* impossible field combinations */
	e = sample_echo();
	e.rx_count = 0;
	th_wire_encode_echo(buf, &e, NULL);
	ck_assert_int_eq(th_wire_decode_echo(buf, n, &f, NULL), TH_WIRE_MALFORMED);
	e = sample_echo();
	e.run_start = e.prev_seq + 1;
	th_wire_encode_echo(buf, &e, NULL);
	ck_assert_int_eq(th_wire_decode_echo(buf, n, &f, NULL), TH_WIRE_MALFORMED);
	e = sample_echo();
	e.probe.seq = 0;
	th_wire_encode_echo(buf, &e, NULL);
	ck_assert_int_eq(th_wire_decode_echo(buf, n, &f, NULL), TH_WIRE_MALFORMED);
}
END_TEST

START_TEST(authenticated_packets_detect_every_bit_flip)
{
	uint8_t buf[TH_WIRE_MAX];
	th_hmac ka, kb;
	th_echo_pkt e = sample_echo(), f;
	th_probe_pkt q;

	ck_assert_int_eq(th_hmac_init(&ka, key_a, sizeof key_a, NULL), TH_OK);
	ck_assert_int_eq(th_hmac_init(&kb, key_b, sizeof key_b, NULL), TH_OK);
	size_t n = th_wire_encode_echo(buf, &e, &ka);
	ck_assert_uint_eq(n, TH_WIRE_ECHO_LEN + TH_HMAC_LEN);
	ck_assert_int_eq(th_wire_decode_echo(buf, n, &f, &ka), TH_WIRE_OK);
	same_echo(&f, &e);
	ck_assert_int_eq(th_wire_decode_echo(buf, n, &f, &kb), TH_WIRE_FORGED);
	ck_assert_int_eq(th_wire_decode_echo(buf, n, &f, NULL), TH_WIRE_UNAUTH);
	for (size_t byte = 0; byte < n; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[byte] ^= (uint8_t)(1u << bit);
			th_wire_status st = th_wire_decode_echo(buf, n, &f, &ka);
			ck_assert_msg(st != TH_WIRE_OK, "byte %zu bit %d accepted", byte, bit);
			buf[byte] ^= (uint8_t)(1u << bit);
		}
	}
	/* an unauthenticated packet to a keyed receiver */
	n = th_wire_encode_probe(buf, &e.probe, NULL);
	ck_assert_int_eq(th_wire_decode_probe(buf, n, &q, &ka), TH_WIRE_UNAUTH);
	/* a probe's tag does not make it an echo */
	n = th_wire_encode_probe(buf, &e.probe, &ka);
	buf[5] = TH_WIRE_ECHO;
	ck_assert_int_ne(th_wire_decode_echo(buf, n, &f, &ka), TH_WIRE_OK);
	ck_assert_str_eq(th_wire_status_name(TH_WIRE_FORGED), "forged");
}
END_TEST

START_TEST(an_echo_is_never_longer_than_its_probe)
{
	uint8_t buf[TH_WIRE_MAX];
	th_hmac k;
	th_echo_pkt e = sample_echo();

	ck_assert_int_eq(th_hmac_init(&k, key_a, sizeof key_a, NULL), TH_OK);
	ck_assert_uint_eq(th_wire_encode_probe(buf, &e.probe, NULL), 72);
	ck_assert_uint_eq(th_wire_encode_echo(buf, &e, NULL), 72);
	ck_assert_uint_eq(th_wire_encode_probe(buf, &e.probe, &k), 104);
	ck_assert_uint_eq(th_wire_encode_echo(buf, &e, &k), 104);
	ck_assert_uint_eq(TH_WIRE_MAX, 104);
}
END_TEST

START_TEST(probe_padding_must_be_zero)
{
	uint8_t buf[TH_WIRE_MAX];
	th_hmac k;
	th_probe_pkt p = {.stream_id = 7, .seq = 3, .send_ns = 99}, q;

	ck_assert_int_eq(th_hmac_init(&k, key_a, sizeof key_a, NULL), TH_OK);
	for (size_t i = 32; i < 72; i++) {
		size_t n = th_wire_encode_probe(buf, &p, NULL);
		buf[i] = 0x01;
		ck_assert_int_eq(th_wire_decode_probe(buf, n, &q, NULL), TH_WIRE_MALFORMED);
		/* with a key, and a valid tag over the non-zero padding: still refused */
		n = th_wire_encode_probe(buf, &p, &k);
		buf[i] = 0x80;
		th_hmac_tag(&k, buf, 72, buf + 72);
		ck_assert_int_eq(th_wire_decode_probe(buf, n, &q, &k), TH_WIRE_MALFORMED);
	}
	/* the unpadded probe of version 1's length, as version 2: malformed */
	th_wire_encode_probe(buf, &p, NULL);
	ck_assert_int_eq(th_wire_decode_probe(buf, 32, &q, NULL), TH_WIRE_MALFORMED);
}
END_TEST

START_TEST(other_versions_are_refused_apart)
{
	uint8_t buf[TH_WIRE_MAX];
	th_hmac k;
	th_echo_pkt e = sample_echo(), f;
	th_probe_pkt q;
	/* a version-1 probe as a version-1 prober sent it: 32 bytes */
	static const uint8_t v1[32] = {'T', 'H', 'M', 'S', 1, 1, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0,
	                               0,   0,   0,   0,   0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 99};

	ck_assert_int_eq(th_hmac_init(&k, key_a, sizeof key_a, NULL), TH_OK);
	ck_assert_int_eq(th_wire_decode_probe(v1, sizeof v1, &q, NULL), TH_WIRE_OLD_VERSION);
	ck_assert_int_eq(th_wire_decode_probe(v1, sizeof v1, &q, &k), TH_WIRE_OLD_VERSION);
	ck_assert_str_eq(th_wire_status_name(TH_WIRE_OLD_VERSION), "old-version");
	/* a version-1 echo (72 bytes, version byte 1) and any other version byte */
	for (unsigned v = 0; v < 256; v++) {
		size_t n = th_wire_encode_echo(buf, &e, NULL);
		buf[4] = (uint8_t)v;
		th_wire_status want = v == 2 ? TH_WIRE_OK : TH_WIRE_OLD_VERSION;
		ck_assert_int_eq(th_wire_decode_echo(buf, n, &f, NULL), want);
		n = th_wire_encode_probe(buf, &e.probe, &k);
		buf[4] = (uint8_t)v;
		if (v != 2)
			ck_assert_int_eq(th_wire_decode_probe(buf, n, &q, &k), TH_WIRE_OLD_VERSION);
	}
	/* without the magic it is garbage, whatever the version byte */
	memcpy(buf, v1, sizeof v1);
	buf[0] = 'X';
	ck_assert_int_eq(th_wire_decode_probe(buf, sizeof v1, &q, NULL), TH_WIRE_MALFORMED);
}
END_TEST

START_TEST(short_keys_are_refused)
{
	th_hmac k;
	char err[TH_ERRLEN];

	ck_assert_int_eq(th_hmac_init(&k, key_a, 31, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "key has 31 bytes, at least 32 needed");
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("probe-wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, probe_and_echo_round_trip);
	tcase_add_test(tc, every_truncation_and_extension_is_malformed);
	tcase_add_test(tc, header_corruption_is_malformed);
	tcase_add_test(tc, authenticated_packets_detect_every_bit_flip);
	tcase_add_test(tc, an_echo_is_never_longer_than_its_probe);
	tcase_add_test(tc, probe_padding_must_be_zero);
	tcase_add_test(tc, other_versions_are_refused_apart);
	tcase_add_test(tc, short_keys_are_refused);
	suite_add_tcase(s, tc);
	return s;
}
