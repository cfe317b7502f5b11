/* test-reflector.c — reflector stream state: prev/run/count answers, duplicates not counted, a
 * stream is its id whatever the source, never expired for silence; a full table evicts the
 * least recently active stream only when it is silent for longer than the active window and
 * refuses new streams otherwise; new streams are limited per source address. */
#include <string.h>

#include "reflector.h"
#include "th-time.h"
#include "th-check.h"

#define S(x)  ((int64_t)(x)*TH_NS_PER_SEC)
#define MS(x) ((int64_t)(x)*TH_NS_PER_MS)

static th_refl_src src(uint8_t last, uint16_t port)
{
	th_refl_src s = {.family = 2, .port = port, .addr = {10, 0, 0, last}};
	return s;
}

static th_reflector *make(size_t max, int64_t window_ns, uint32_t per_sec, uint32_t burst)
{
	th_reflector *r;
	th_refl_conf c;

	th_refl_conf_defaults(&c);
	c.max_streams = max;
	c.active_window_ns = window_ns;
	c.new_per_sec = per_sec;
	c.new_burst = burst;
	ck_assert_int_eq(th_reflector_new(&r, &c, NULL), TH_OK);
	return r;
}

static th_refl_counters counters(const th_reflector *r)
{
	th_refl_counters c;

	th_reflector_counters(r, &c);
	return c;
}

START_TEST(defaults_are_documented_values)
{
	th_refl_conf c;
	th_reflector *r;
	char err[TH_ERRLEN];

	th_refl_conf_defaults(&c);
	ck_assert_uint_eq(c.max_streams, 1024);
	ck_assert_int_eq(c.active_window_ns, S(120));
	ck_assert_uint_eq(c.new_per_sec, 8);
	ck_assert_uint_eq(c.new_burst, 32);
	c.max_streams = 0;
	ck_assert_int_eq(th_reflector_new(&r, &c, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "stream table size 0 out of range");
	c.max_streams = 16;
	c.new_burst = 0;
	ck_assert_int_eq(th_reflector_new(&r, &c, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "new-stream limit 8/s with burst 0 out of range");
}
END_TEST

START_TEST(answers_describe_what_came_before)
{
	th_reflector *r = make(16, S(120), 8, 32);
	th_refl_answer a;
	th_refl_src s = src(1, 1000);

	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 1, 0, &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.prev_seq, 0);
	ck_assert_uint_eq(a.run_start, 0);
	ck_assert_uint_eq(a.rx_count, 1);
	th_reflector_receive(r, &s, 7, 2, 0, &a);
	th_reflector_receive(r, &s, 7, 3, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 2);
	ck_assert_uint_eq(a.run_start, 1);
	ck_assert_uint_eq(a.rx_count, 3);
	/* 4..9 never arrive */
	th_reflector_receive(r, &s, 7, 10, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 3);
	ck_assert_uint_eq(a.run_start, 1);
	ck_assert_uint_eq(a.rx_count, 4);
	th_reflector_receive(r, &s, 7, 11, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 10);
	ck_assert_uint_eq(a.run_start, 10);
	ck_assert_uint_eq(a.rx_count, 5);
	/* a late 5 starts its own run */
	th_reflector_receive(r, &s, 7, 5, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 11);
	th_reflector_receive(r, &s, 7, 12, 0, &a);
	ck_assert_uint_eq(a.prev_seq, 5);
	ck_assert_uint_eq(a.run_start, 5);
	ck_assert_uint_eq(a.rx_count, 7);
	th_reflector_free(r);
}
END_TEST

START_TEST(duplicates_and_old_numbers_are_not_counted)
{
	th_reflector *r = make(16, S(120), 8, 32);
	th_refl_answer a;
	th_refl_src s = src(1, 1000);

	for (uint64_t q = 1; q <= 2000; q++)
		ck_assert_int_eq(th_reflector_receive(r, &s, 7, q, 0, &a), TH_REFL_ECHO);
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 2000, 0, &a), TH_REFL_DUP);
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 1500, 0, &a), TH_REFL_DUP);
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 900, 0, &a), TH_REFL_TOO_OLD);
	ck_assert_uint_eq(a.rx_count, 2000);
	/* a jump past the window forgets everything behind it */
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 100000, 0, &a), TH_REFL_ECHO);
	ck_assert_int_eq(th_reflector_receive(r, &s, 7, 99990, 0, &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 2002);
	th_reflector_free(r);
}
END_TEST

START_TEST(a_stream_is_its_id_from_any_source)
{
	th_reflector *r = make(16, S(120), 8, 32);
	th_refl_answer a;
	th_refl_src s1 = src(1, 1000), s2 = src(2, 1000), s3 = src(1, 1001);

	ck_assert_int_eq(th_reflector_receive(r, &s1, 7, 1, 0, &a), TH_REFL_ECHO);
	ck_assert_int_eq(th_reflector_receive(r, &s1, 7, 2, 0, &a), TH_REFL_ECHO);
	/* the same probes from another address or port: duplicates of stream 7 */
	ck_assert_int_eq(th_reflector_receive(r, &s2, 7, 2, 0, &a), TH_REFL_DUP);
	ck_assert_uint_eq(a.rx_count, 2);
	ck_assert_int_eq(th_reflector_receive(r, &s3, 7, 1, 0, &a), TH_REFL_DUP);
	/* and the stream goes on where it was, whoever sends next */
	ck_assert_int_eq(th_reflector_receive(r, &s2, 7, 3, 0, &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.prev_seq, 2);
	ck_assert_uint_eq(a.run_start, 1);
	ck_assert_uint_eq(a.rx_count, 3);
	ck_assert_uint_eq(counters(r).streams, 1);
	ck_assert_uint_eq(counters(r).created, 1);
	/* another id from the same source is another stream */
	ck_assert_int_eq(th_reflector_receive(r, &s1, 8, 1, 0, &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 1);
	ck_assert_uint_eq(counters(r).streams, 2);
	th_reflector_free(r);
}
END_TEST

START_TEST(a_full_table_evicts_only_streams_silent_past_the_window)
{
	th_reflector *r = make(3, S(120), 0, 1);
	th_refl_answer a;
	th_refl_src s = src(1, 1000);

	th_reflector_receive(r, &s, 1, 1, S(0), &a);
	th_reflector_receive(r, &s, 2, 1, S(10), &a);
	th_reflector_receive(r, &s, 3, 1, S(20), &a);
	/* full, and the least recently active (1, seen at 0 s) was seen 100 s ago: refused */
	ck_assert_int_eq(th_reflector_receive(r, &s, 4, 1, S(100), &a), TH_REFL_REFUSED);
	ck_assert_uint_eq(a.rx_count, 0);
	/* exactly the window: still active */
	ck_assert_int_eq(th_reflector_receive(r, &s, 4, 1, S(120), &a), TH_REFL_REFUSED);
	/* 1 speaks again at 121 s: now 2 (seen at 10 s) is the least recently active */
	ck_assert_int_eq(th_reflector_receive(r, &s, 1, 2, S(121), &a), TH_REFL_ECHO);
	ck_assert_int_eq(th_reflector_receive(r, &s, 4, 1, S(131), &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 1);
	th_refl_counters c = counters(r);
	ck_assert_uint_eq(c.evicted, 1);
	ck_assert_uint_eq(c.refused, 2);
	ck_assert_uint_eq(c.streams, 3);
	/* 2 is gone (a new stream if it comes back, refused while the others are active); 1
	 * and 3 kept their state */
	ck_assert_int_eq(th_reflector_receive(r, &s, 2, 2, S(132), &a), TH_REFL_REFUSED);
	ck_assert_int_eq(th_reflector_receive(r, &s, 1, 3, S(132), &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 3);
	ck_assert_int_eq(th_reflector_receive(r, &s, 3, 2, S(132), &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 2);
	/* a day of silence later, 4 is still there when nobody needs its place */
	ck_assert_int_eq(th_reflector_receive(r, &s, 4, 2, S(86400), &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 2);
	ck_assert_uint_eq(counters(r).evicted, 1);
	ck_assert_uint_eq(counters(r).refused, 3);
	th_reflector_free(r);
}
END_TEST

START_TEST(a_silent_stream_survives_a_flood_of_new_ones)
{
	/* a prober whose VM is migrating is silent for 60 s while 10000 new ids arrive from
	 * many sources: it keeps its place and its state */
	th_reflector *r = make(64, S(120), 8, 32);
	th_refl_answer a;
	th_refl_src real = src(200, 7300);

	for (uint64_t q = 1; q <= 100; q++)
		th_reflector_receive(r, &real, 0xabcd, q, MS(10 * q), &a);
	for (uint32_t k = 0; k < 10000; k++) {
		th_refl_src f = {
		    .family = 2, .port = 1, .addr = {172, 16, (uint8_t)(k >> 8), (uint8_t)k}};
		th_reflector_receive(r, &f, 0x10000 + k, 1, S(2) + MS(6 * k), &a);
	}
	th_refl_counters c = counters(r);
	ck_assert_uint_eq(c.streams, 64);
	ck_assert_uint_eq(c.evicted, 0);
	ck_assert_uint_eq(c.refused, 10000 - 63);
	ck_assert_int_eq(th_reflector_receive(r, &real, 0xabcd, 6101, S(62), &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.prev_seq, 100);
	ck_assert_uint_eq(a.run_start, 1);
	ck_assert_uint_eq(a.rx_count, 101);
	th_reflector_free(r);
}
END_TEST

START_TEST(new_streams_are_limited_per_source_address)
{
	th_reflector *r = make(1000, S(120), 8, 32);
	th_refl_answer a;
	th_refl_src s = src(1, 1000), other_port = src(1, 2000), t = src(2, 1000);
	uint32_t id = 1;

	/* a burst of 32 at once, then one per 125 ms */
	for (int k = 0; k < 32; k++)
		ck_assert_int_eq(th_reflector_receive(r, &s, id++, 1, S(10), &a), TH_REFL_ECHO);
	ck_assert_int_eq(th_reflector_receive(r, &s, id++, 1, S(10), &a), TH_REFL_RATE_LIMITED);
	/* the port does not make another source */
	ck_assert_int_eq(th_reflector_receive(r, &other_port, id++, 1, S(10), &a),
	                 TH_REFL_RATE_LIMITED);
	ck_assert_int_eq(th_reflector_receive(r, &s, id++, 1, S(10) + MS(124), &a),
	                 TH_REFL_RATE_LIMITED);
	ck_assert_int_eq(th_reflector_receive(r, &s, id++, 1, S(10) + MS(125), &a), TH_REFL_ECHO);
	ck_assert_int_eq(th_reflector_receive(r, &s, id++, 1, S(10) + MS(125), &a),
	                 TH_REFL_RATE_LIMITED);
	/* streams that exist are not limited: 1000 probes of stream 1 in the same instant */
	for (uint64_t q = 2; q < 1002; q++)
		ck_assert_int_eq(th_reflector_receive(r, &s, 1, q, S(10) + MS(125), &a),
		                 TH_REFL_ECHO);
	th_refl_counters c = counters(r);
	ck_assert_uint_eq(c.rate_limited, 4);
	ck_assert_uint_eq(c.streams, 33);
	/* a rate-limited id left no state: it is new when it comes back in time */
	ck_assert_int_eq(th_reflector_receive(r, &s, 33, 5, S(20), &a), TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 1);
	ck_assert_uint_eq(a.prev_seq, 0);
	/* another address has its own bucket (unless the keyed hash puts both in one of 8192:
	 * then the first of these would be refused; try a second address too) */
	th_refl_src u = src(3, 1000);
	ck_assert(th_reflector_receive(r, &t, 5000, 1, S(10), &a) == TH_REFL_ECHO ||
	          th_reflector_receive(r, &u, 5001, 1, S(10), &a) == TH_REFL_ECHO);
	th_reflector_free(r);
}
END_TEST

START_TEST(many_streams_stay_consistent)
{
	/* 300 streams through a table of 100, in rounds, with an active window of 1 ns: each new
	 * stream evicts the least recently active one; lookups must stay right throughout */
	th_reflector *r = make(100, 1, 0, 1);
	th_refl_answer a;

	for (int round = 1; round <= 3; round++) {
		for (uint32_t id = 0; id < 300; id++) {
			th_refl_src s = src((uint8_t)(id % 250), (uint16_t)id);
			ck_assert_int_eq(
			    th_reflector_receive(r, &s, id, (uint64_t)round, round * 1000 + id, &a),
			    TH_REFL_ECHO);
		}
	}
	ck_assert_uint_eq(counters(r).streams, 100);
	/* the last 100 streams are present with their own counts */
	for (uint32_t id = 200; id < 300; id++) {
		th_refl_src s = src((uint8_t)(id % 250), (uint16_t)id);
		ck_assert_int_eq(th_reflector_receive(r, &s, id, 3, 5000, &a), TH_REFL_DUP);
		ck_assert_uint_eq(a.rx_count, 1);
	}
	ck_assert_uint_eq(counters(r).evicted, 800);
	ck_assert_uint_eq(counters(r).created, 900);
	/* the LRU order follows activity, not creation: touch 200..249, then 50 new streams
	 * evict 250..299 */
	for (uint32_t id = 200; id < 250; id++)
		th_reflector_receive(r, &(th_refl_src){0}, id, 4, 6000 + id, &a);
	for (uint32_t id = 1000; id < 1050; id++)
		th_reflector_receive(r, &(th_refl_src){0}, id, 1, 7000 + id, &a);
	for (uint32_t id = 200; id < 250; id++) {
		ck_assert_int_eq(th_reflector_receive(r, &(th_refl_src){0}, id, 4, 9000, &a),
		                 TH_REFL_DUP);
		ck_assert_uint_eq(a.rx_count, 2);
	}
	ck_assert_int_eq(th_reflector_receive(r, &(th_refl_src){0}, 250, 3, 9001, &a),
	                 TH_REFL_ECHO);
	ck_assert_uint_eq(a.rx_count, 1);
	th_reflector_free(r);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("reflector");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults_are_documented_values);
	tcase_add_test(tc, answers_describe_what_came_before);
	tcase_add_test(tc, duplicates_and_old_numbers_are_not_counted);
	tcase_add_test(tc, a_stream_is_its_id_from_any_source);
	tcase_add_test(tc, a_full_table_evicts_only_streams_silent_past_the_window);
	tcase_add_test(tc, a_silent_stream_survives_a_flood_of_new_ones);
	tcase_add_test(tc, new_streams_are_limited_per_source_address);
	tcase_add_test(tc, many_streams_stay_consistent);
	suite_add_tcase(s, tc);
	return s;
}
