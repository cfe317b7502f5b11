/* test-oneway.c — the one-way receiver's maths driven with exact arrival times: a paused sender
 * shows as loss in the right seconds and as one outage of the pause's length, sequence gaps
 * wait for the loss timeout so reordering is not loss, duplicates and stragglers are counted,
 * FIN ends a stream without loss, and a long silence is declared while it lasts. */
#include <math.h>
#include <string.h>

#include "oneway-engine.h"
#include "th-check.h"
#include "th-limits.h"

#define MS TH_NS_PER_MS
#define T0 1000 /* the epoch second at monotonic 0 */

static th_record recs[512];
static int nrecs;

static void collect(const th_record *r, void *arg)
{
	if (nrecs < 512)
		recs[nrecs++] = *r;
}

static th_ow *make(void)
{
	th_ow_conf c;
	th_clock clk = {.mono0_ns = 0, .wall0_ns = (int64_t)T0 * TH_NS_PER_SEC};
	th_ow *e;

	th_ow_conf_defaults(&c);
	strcpy(c.vm, "vm1");
	strcpy(c.stream, "oneway/vm1/9000");
	ck_assert_int_eq(th_ow_new(&e, &c, &clk, NULL), TH_OK);
	nrecs = 0;
	return e;
}

/* Deliver a packet and advance time as the receiver loop does (every 10 ms here). */
static void pkt(th_ow *e, uint64_t session, uint64_t seq, int64_t send_ms, int64_t recv_ms,
                uint8_t flags)
{
	th_ow_pkt p = {.flags = flags,
	               .session = session,
	               .seq = seq,
	               .send_ns = send_ms * MS,
	               .interval_ns = 10 * MS};
	th_ow_packet(e, &p, recv_ms * MS, collect, NULL);
}

static void run_until(th_ow *e, int64_t from_ms, int64_t to_ms)
{
	for (int64_t t = from_ms; t <= to_ms; t += 10)
		th_ow_advance(e, t * MS, collect, NULL);
}

static const th_record *second(int64_t t)
{
	for (int i = 0; i < nrecs; i++)
		if (recs[i].kind == TH_REC_SECOND && recs[i].u.second.t == t)
			return &recs[i];
	return NULL;
}

static int count_kind(th_record_kind k)
{
	int n = 0;
	for (int i = 0; i < nrecs; i++)
		n += recs[i].kind == k;
	return n;
}

static const th_record *first_outage(void)
{
	for (int i = 0; i < nrecs; i++)
		if (recs[i].kind == TH_REC_OUTAGE)
			return &recs[i];
	return NULL;
}

START_TEST(steady_stream_has_no_loss)
{
	th_ow *e = make();
	th_ow_counters c;

	for (int i = 0; i < 300; i++) {
		pkt(e, 7, (uint64_t)i + 1, 5000 + i * 10, i * 10 + (i % 3), 0);
		th_ow_advance(e, (i * 10 + 5) * MS, collect, NULL);
	}
	th_ow_finish(e, 3000 * MS, collect, NULL);
	ck_assert_int_eq(count_kind(TH_REC_OUTAGE), 0);
	ck_assert_int_eq(count_kind(TH_REC_SECOND), 3);
	for (int s = 0; s < 3; s++) {
		const th_record *r = second(T0 + s);
		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(r->u.second.sent, 100);
		ck_assert_uint_eq(r->u.second.received, 100);
		ck_assert_uint_eq(r->u.second.lost_down, 0);
		ck_assert(isnan(r->u.second.rtt_avg_ms));
		ck_assert_double_le(r->u.second.jitter_ms, 2.0);
	}
	th_ow_get_counters(e, &c);
	ck_assert_uint_eq(c.received, 300);
	ck_assert_uint_eq(c.lost, 0);
	th_ow_free(e);
}
END_TEST

/* A paused VM: nothing sent for 1.5 s, and its sequence numbers do not even jump. */
START_TEST(paused_sender_without_seq_gap_is_loss_on_the_receiver_clock)
{
	th_ow *e = make();
	const th_record *o, *s1, *s2;

	for (int i = 0; i <= 100; i++) { /* arrivals 0 .. 1000 ms, seq 1 .. 101 */
		pkt(e, 7, (uint64_t)i + 1, i * 10, i * 10, 0);
		run_until(e, i * 10, i * 10);
	}
	run_until(e, 1010, 2500);          /* silence */
	ck_assert_ptr_nonnull(second(T0)); /* emitted while the silence lasts */
	for (int i = 0; i < 100; i++) {    /* back at 2510 ms, seq 102 .. */
		pkt(e, 7, (uint64_t)i + 102, 1010 + i * 10, 2510 + i * 10, 0);
		run_until(e, 2510 + i * 10, 2510 + i * 10);
	}
	th_ow_finish(e, 3600 * MS, collect, NULL);
	o = first_outage();
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(o->u.outage.direction, TH_DIR_DOWN);
	ck_assert_uint_eq(o->u.outage.lost, 150);
	ck_assert_double_eq_tol(o->u.outage.duration_ms, 1500.0, 1e-6);
	ck_assert_double_eq_tol(o->u.outage.start, T0 + 1.010, 1e-6);
	ck_assert_double_eq_tol(o->u.outage.end, T0 + 2.510, 1e-6);
	ck_assert_double_eq_tol(o->u.outage.bound_ms, 10.0, 1e-9);
	s1 = second(T0 + 1);
	s2 = second(T0 + 2);
	ck_assert_uint_eq(s1->u.second.received, 1);   /* the packet at 1000 ms */
	ck_assert_uint_eq(s1->u.second.lost_down, 99); /* slots 1010 .. 1990 */
	ck_assert_uint_eq(s2->u.second.lost_down, 51); /* slots 2000 .. 2500 */
	ck_assert_uint_eq(s2->u.second.received, 49);  /* 2510 .. 2990 */
	ck_assert_uint_eq(s1->u.second.lost_up + s2->u.second.lost_up, 0);
	ck_assert_double_eq_tol(s2->u.second.max_gap_ms, 1510.0, 1e-6);
	th_ow_free(e);
}
END_TEST

/* A sender that skipped its stopped slots: sequence and time agree. */
START_TEST(stopped_sender_with_seq_gap_counts_each_slot_once)
{
	th_ow *e = make();
	const th_record *o;
	th_ow_counters c;

	for (int i = 0; i <= 50; i++)
		pkt(e, 9, (uint64_t)i + 1, i * 10, i * 10, 0);
	/* stopped 500 .. 800 ms: slots 52 .. 81 never sent, slot 82 sent at 810 saying so */
	{
		th_ow_pkt p = {.skipped = 30,
		               .session = 9,
		               .seq = 82,
		               .send_ns = 810 * MS,
		               .interval_ns = 10 * MS};
		th_ow_packet(e, &p, 810 * MS, collect, NULL);
	}
	pkt(e, 9, 83, 820, 820, TH_OW_FLAG_FIN);
	run_until(e, 820, 2000);
	th_ow_finish(e, 2000 * MS, collect, NULL);
	o = first_outage();
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->u.outage.lost, 30);
	ck_assert_double_eq_tol(o->u.outage.duration_ms, 300.0, 1e-6);
	th_ow_get_counters(e, &c);
	ck_assert_uint_eq(c.lost, 30);
	ck_assert_uint_eq(c.received, 52);
	ck_assert_uint_eq(second(T0)->u.second.sent, 82);
	ck_assert_uint_eq(second(T0)->u.second.slips, 30);
	th_ow_free(e);
}
END_TEST

START_TEST(reordered_packet_within_timeout_is_not_loss)
{
	th_ow *e = make();
	th_ow_counters c;

	for (int i = 1; i <= 10; i++)
		pkt(e, 1, (uint64_t)i, i * 10, i * 10, 0);
	pkt(e, 1, 12, 120, 120, 0);
	pkt(e, 1, 11, 110, 121, 0); /* overtaken, arrives 1 ms after 12 */
	pkt(e, 1, 13, 130, 130, 0);
	pkt(e, 1, 13, 130, 131, 0); /* duplicated */
	pkt(e, 1, 15, 150, 150, 0); /* 14 lost in the network */
	for (int i = 16; i <= 150; i++) {
		pkt(e, 1, (uint64_t)i, i * 10, i * 10, 0);
		run_until(e, i * 10, i * 10);
	}
	pkt(e, 1, 14, 140, 1505, 0); /* ... and shows up after the loss timeout */
	pkt(e, 1, 151, 1510, 1510, TH_OW_FLAG_FIN);
	th_ow_finish(e, 3000 * MS, collect, NULL);
	th_ow_get_counters(e, &c);
	ck_assert_uint_eq(c.received, 149);
	ck_assert_uint_eq(c.lost, 1);
	ck_assert_uint_eq(c.dup, 1);
	ck_assert_uint_eq(c.late, 1);
	ck_assert_int_eq(count_kind(TH_REC_OUTAGE), 0); /* one lost slot < min_lost */
	ck_assert_uint_eq(second(T0)->u.second.lost_down, 1);
	ck_assert_uint_eq(second(T0)->u.second.dup, 1);
	ck_assert_uint_eq(second(T0 + 1)->u.second.late, 1);
	th_ow_free(e);
}
END_TEST

START_TEST(fin_ends_the_stream_without_loss)
{
	th_ow *e = make();
	th_ow_counters c;

	for (int i = 1; i <= 20; i++)
		pkt(e, 3, (uint64_t)i, i * 10, i * 10, 0);
	pkt(e, 3, 21, 210, 210, TH_OW_FLAG_FIN);
	run_until(e, 210, 5000);
	th_ow_finish(e, 5000 * MS, collect, NULL);
	th_ow_get_counters(e, &c);
	ck_assert_uint_eq(c.lost, 0);
	ck_assert_int_eq(count_kind(TH_REC_OUTAGE), 0);
	ck_assert_int_eq(count_kind(TH_REC_SECOND), 1);
	th_ow_free(e);
}
END_TEST

/* A sender stopped across the end of its --duration skips its last slots and says so with its
 * FIN: they are lost, one outage, and the silence the FIN ended is the second's max_gap_ms. */
START_TEST(fin_after_skipped_last_slots_ends_their_silence)
{
	th_ow *e = make();
	th_ow_counters c;

	for (int i = 1; i <= 20; i++)
		pkt(e, 3, (uint64_t)i, i * 10, i * 10, 0);
	run_until(e, 210, 340);
	pkt(e, 3, 31, 350, 350, TH_OW_FLAG_FIN); /* slots 21..30 skipped */
	run_until(e, 350, 5000);
	th_ow_finish(e, 5000 * MS, collect, NULL);
	th_ow_get_counters(e, &c);
	ck_assert_uint_eq(c.lost, 14); /* a silence of 150 ms is 14 slots (at least the 10 skipped) */
	ck_assert_int_eq(count_kind(TH_REC_OUTAGE), 1);
	const th_record *o = first_outage();
	ck_assert_double_eq_tol(o->u.outage.duration_ms, 140.0, 1e-6);
	ck_assert_double_eq_tol(second(T0)->u.second.max_gap_ms, 150.0, 1e-6);
	ck_assert_double_ge(second(T0)->u.second.max_gap_ms, o->u.outage.duration_ms);
	th_ow_free(e);
}
END_TEST

START_TEST(long_silence_is_declared_while_it_lasts)
{
	th_ow *e = make();
	const th_record *s;

	for (int i = 1; i <= 100; i++)
		pkt(e, 3, (uint64_t)i, i * 10, i * 10 - 10, 0); /* arrivals 0 .. 990 ms */
	run_until(e, 1000, 120000);                             /* two minutes of silence, no FIN */
	s = second(T0 + 100);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->u.second.lost_down, 100);
	ck_assert_uint_eq(s->u.second.received, 0);
	ck_assert_int_eq(count_kind(TH_REC_OUTAGE), 0); /* not over yet */
	th_ow_finish(e, 120000 * MS, collect, NULL);
	ck_assert_int_eq(count_kind(TH_REC_OUTAGE), 1);
	/* declared: slots 1000 .. 119000 ms; younger ones were not yet older than the timeout */
	ck_assert_uint_eq(first_outage()->u.outage.lost, 11801);
	ck_assert_double_eq_tol(first_outage()->u.outage.duration_ms, 118010.0, 1e-6);
	th_ow_free(e);
}
END_TEST

START_TEST(restarted_sender_silence_between_runs_is_loss)
{
	th_ow *e = make();
	const th_record *o;
	th_ow_counters c;

	for (int i = 1; i <= 10; i++)
		pkt(e, 100, (uint64_t)i, i * 10, i * 10, 0);
	pkt(e, 200, 1, 0, 600, 0); /* new session 500 ms later, its seq starts again */
	pkt(e, 200, 2, 10, 610, 0);
	th_ow_finish(e, 2000 * MS, collect, NULL);
	o = first_outage();
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->u.outage.lost, 49);
	th_ow_get_counters(e, &c);
	ck_assert_uint_eq(c.sessions, 2);
	ck_assert_uint_eq(c.received, 12);
	th_ow_free(e);
}
END_TEST

START_TEST(wire_round_trip_and_refusals)
{
	th_ow_pkt p = {.flags = TH_OW_FLAG_FIN,
	               .skipped = 300,
	               .session = 0x0102030405060708ULL,
	               .seq = 42,
	               .send_ns = 123456789,
	               .interval_ns = 10 * MS},
	          q;
	uint8_t buf[TH_OW_MAX_LEN];
	char err[TH_ERRLEN];

	th_ow_encode(&p, buf);
	ck_assert_int_eq(th_ow_decode(buf, TH_OW_HDR_LEN, &q, err), TH_OK);
	ck_assert_uint_eq(q.session, p.session);
	ck_assert_uint_eq(q.seq, 42);
	ck_assert_uint_eq(q.skipped, 300);
	ck_assert_int_eq(q.send_ns, 123456789);
	ck_assert_int_eq(q.interval_ns, 10 * MS);
	ck_assert_uint_eq(q.flags, TH_OW_FLAG_FIN);
	ck_assert_int_eq(th_ow_decode(buf, 39, &q, err), TH_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err, "39 bytes"));
	ck_assert_int_eq(th_ow_decode(buf, TH_OW_MAX_LEN, &q, err), TH_ERR_PARSE); /* no AUTH */
	buf[0] = 'X';
	ck_assert_int_eq(th_ow_decode(buf, TH_OW_HDR_LEN, &q, err), TH_ERR_PARSE);
	p.seq = 0;
	th_ow_encode(&p, buf);
	ck_assert_int_eq(th_ow_decode(buf, TH_OW_HDR_LEN, &q, err), TH_ERR_PARSE);
	p.seq = 1;
	p.interval_ns = 5;
	th_ow_encode(&p, buf);
	ck_assert_int_eq(th_ow_decode(buf, TH_OW_HDR_LEN, &q, err), TH_ERR_PARSE);
}
END_TEST

/* The one-way wire takes the probes' interval range (th-limits.h): 0.1 ms .. 60 s. */
static const struct {
	int64_t interval_ns;
	const char *msg; /* NULL: accepted */
} ow_intervals[] = {
    {10 * TH_NS_PER_US,
     "one-way packet announces interval 10000 ns (0.1 .. 60000 ms)"}, /* the old lower bound */
    {TH_INTERVAL_MIN_NS - 1, "one-way packet announces interval 99999 ns (0.1 .. 60000 ms)"},
    {TH_INTERVAL_MIN_NS, NULL},
    {TH_INTERVAL_MAX_NS, NULL},
    {TH_INTERVAL_MAX_NS + 1, "one-way packet announces interval 60000000001 ns (0.1 .. 60000 ms)"},
};

START_TEST(wire_interval_range_is_the_probes)
{
	th_ow_pkt p = {.seq = 1, .interval_ns = ow_intervals[_i].interval_ns}, q;
	uint8_t buf[TH_OW_MAX_LEN];
	char err[TH_ERRLEN];

	th_ow_encode(&p, buf);
	if (ow_intervals[_i].msg == NULL) {
		ck_assert_int_eq(th_ow_decode(buf, TH_OW_HDR_LEN, &q, err), TH_OK);
		ck_assert_int_eq(q.interval_ns, ow_intervals[_i].interval_ns);
	} else {
		ck_assert_int_eq(th_ow_decode(buf, TH_OW_HDR_LEN, &q, err), TH_ERR_PARSE);
		ck_assert_str_eq(err, ow_intervals[_i].msg);
	}
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("oneway");
	TCase *tc = tcase_create("engine");

	tcase_add_test(tc, steady_stream_has_no_loss);
	tcase_add_test(tc, paused_sender_without_seq_gap_is_loss_on_the_receiver_clock);
	tcase_add_test(tc, stopped_sender_with_seq_gap_counts_each_slot_once);
	tcase_add_test(tc, reordered_packet_within_timeout_is_not_loss);
	tcase_add_test(tc, fin_ends_the_stream_without_loss);
	tcase_add_test(tc, fin_after_skipped_last_slots_ends_their_silence);
	tcase_add_test(tc, long_silence_is_declared_while_it_lasts);
	tcase_add_test(tc, restarted_sender_silence_between_runs_is_loss);
	tcase_add_test(tc, wire_round_trip_and_refusals);
	tcase_add_loop_test(tc, wire_interval_range_is_the_probes, 0,
	                    (int)(sizeof ow_intervals / sizeof ow_intervals[0]));
	suite_add_tcase(s, tc);
	return s;
}
