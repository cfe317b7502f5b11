/* test-iperf.c — iperf3 3.12 text output captured from real runs (TCP and UDP, client and
 * server, reverse mode, 1 s / 0.5 s / 0.1 s intervals, with a 2 s nftables drop in the middle;
 * files iperf-cap-*.txt) becomes the right `iperf` records, with the zero-byte intervals flagged
 * as blackout and each blackout run as one outage of its real length. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iperf-parse.h"
#include "th-check.h"

static th_record recs[256];
static int nrecs;

static void collect(const th_record *r, void *arg)
{
	if (nrecs < 256)
		recs[nrecs++] = *r;
}

/* Feed a captured file; now <= 0 makes the converter anchor on the --timestamps stamps. */
static th_iperf_conv feed(const char *name, th_direction dir)
{
	char path[1024], line[512];
	const char *src = getenv("top_srcdir");
	th_iperf_conv c;
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/agent/%s", src ? src : "../..", name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open fixture %s", path);
	th_iperf_conv_init(&c, "vm1", "sup/vm1/iperf", dir, false);
	nrecs = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		th_iperf_conv_line(&c, line, 0, collect, NULL);
	}
	fclose(f);
	th_iperf_conv_finish(&c, collect, NULL);
	return c;
}

static int count(th_record_kind k)
{
	int n = 0;
	for (int i = 0; i < nrecs; i++)
		n += recs[i].kind == k;
	return n;
}

static const th_record *nth(th_record_kind k, int n)
{
	for (int i = 0; i < nrecs; i++)
		if (recs[i].kind == k && n-- == 0)
			return &recs[i];
	return NULL;
}

START_TEST(parses_tcp_sender_line)
{
	th_iperf_cols cols = TH_IPERF_COLS_NONE;
	th_iperf_line l;

	ck_assert_int_eq(th_iperf_parse_line("1795613085 [ ID] Interval           Transfer     "
	                                     "Bitrate         Retr  Cwnd",
	                                     &cols, &l),
	                 TH_IPERF_HEADER);
	ck_assert_int_eq(cols, TH_IPERF_COLS_RETR);
	ck_assert_int_eq(th_iperf_parse_line("1795613087 [  5]   2.00-3.00   sec   640 KBytes  "
	                                     "5243 Kbits/sec    3   1.41 KBytes       ",
	                                     &cols, &l),
	                 TH_IPERF_INTERVAL);
	ck_assert_int_eq(l.stamp, 1795613087);
	ck_assert_int_eq(l.id, 5);
	ck_assert_double_eq(l.start, 2.0);
	ck_assert_double_eq(l.end, 3.0);
	ck_assert_double_eq(l.bytes, 640.0 * 1024);
	ck_assert_double_eq(l.bits_per_second, 5243000.0);
	ck_assert_int_eq(l.retransmits, 3);
	ck_assert_int_eq(l.lost, -1);
	ck_assert(isnan(l.jitter_ms));
}
END_TEST

START_TEST(parses_udp_receiver_and_sender_lines)
{
	th_iperf_cols cols = TH_IPERF_COLS_LOSS;
	th_iperf_line l;

	ck_assert_int_eq(th_iperf_parse_line("1795613076 [  5]   4.00-5.00   sec   184 KBytes  "
	                                     "1507 Kbits/sec  0.117 ms  349/479 (73%)  ",
	                                     &cols, &l),
	                 TH_IPERF_INTERVAL);
	ck_assert_double_eq_tol(l.jitter_ms, 0.117, 1e-9);
	ck_assert_int_eq(l.lost, 349);
	ck_assert_int_eq(l.packets, 479);
	ck_assert_int_eq(th_iperf_parse_line("1795613075 [  5]   3.00-4.00   sec  0.00 Bytes  "
	                                     "0.00 Kbits/sec  0.079 ms  0/0 (0%)  ",
	                                     &cols, &l),
	                 TH_IPERF_INTERVAL);
	ck_assert_double_eq(l.bytes, 0.0);
	ck_assert_int_eq(l.packets, 0);
	cols = TH_IPERF_COLS_TOTAL;
	ck_assert_int_eq(th_iperf_parse_line("1795613072 [  5]   0.00-0.50   sec   123 KBytes  "
	                                     "2015 Kbits/sec  87  ",
	                                     &cols, &l),
	                 TH_IPERF_INTERVAL);
	ck_assert_int_eq(l.packets, 87);
	ck_assert_int_eq(l.lost, -1);
	ck_assert_double_eq(l.bytes, 123.0 * 1024);
}
END_TEST

START_TEST(classifies_other_lines)
{
	th_iperf_cols cols = TH_IPERF_COLS_NONE;
	th_iperf_line l;

	ck_assert_int_eq(th_iperf_parse_line("1795613090 [  5]   0.00-6.00   sec  14.4 MBytes  "
	                                     "20097 Kbits/sec   95             sender",
	                                     &cols, &l),
	                 TH_IPERF_SUMMARY);
	ck_assert_int_eq(
	    th_iperf_parse_line("1795613090 - - - - - - - - - - - - - - - - - -", &cols, &l),
	    TH_IPERF_SEPARATOR);
	ck_assert_int_eq(th_iperf_parse_line("1795613084 [  5] local 10.88.0.1 port 41018 "
	                                     "connected to 10.88.0.2 port 5201",
	                                     &cols, &l),
	                 TH_IPERF_OTHER);
	ck_assert_int_eq(
	    th_iperf_parse_line("1795613084 Connecting to host 10.88.0.2, port 5201", &cols, &l),
	    TH_IPERF_OTHER);
	ck_assert_int_eq(th_iperf_parse_line("Wed Nov 25 13:24:43 2026 iperf3: error - control "
	                                     "socket has closed unexpectedly",
	                                     &cols, &l),
	                 TH_IPERF_ERROR);
	ck_assert_str_eq(l.message, "control socket has closed unexpectedly");
	ck_assert_int_eq(th_iperf_parse_line("", &cols, &l), TH_IPERF_OTHER);
	ck_assert_int_eq(th_iperf_parse_line("[  5]   1.00-x sec", &cols, &l), TH_IPERF_OTHER);
	ck_assert_int_eq(
	    th_iperf_parse_line("[  5]   1.00-2.00 sec 12 Parsecs 1 bits/sec", &cols, &l),
	    TH_IPERF_OTHER);
}
END_TEST

START_TEST(udp_server_blackout_is_flagged_and_is_one_outage)
{
	th_iperf_conv c = feed("iperf-cap-srv-udp.txt", TH_DIR_UP);
	const th_record *o, *r;

	ck_assert_int_eq(count(TH_REC_IPERF), 6);
	ck_assert_uint_eq(c.blackouts, 1);
	for (int i = 0; i < 6; i++) {
		r = nth(TH_REC_IPERF, i);
		ck_assert_int_eq(r->u.iperf.blackout, i == 3);
		ck_assert_double_eq(r->u.iperf.seconds, 1.0);
		if (i > 0)
			ck_assert_int_eq(r->u.iperf.t, nth(TH_REC_IPERF, 0)->u.iperf.t + i);
	}
	r = nth(TH_REC_IPERF, 4);
	ck_assert_int_eq(r->u.iperf.lost_packets, 348); /* iperf3's late booking, kept as is */
	ck_assert_int_eq(r->u.iperf.packets, 483);
	ck_assert_int_eq(count(TH_REC_OUTAGE), 1);
	o = nth(TH_REC_OUTAGE, 0);
	ck_assert_int_eq(o->u.outage.direction, TH_DIR_UP);
	ck_assert_double_eq_tol(o->u.outage.duration_ms, 1000.0, 1e-6);
	ck_assert_double_eq_tol(o->u.outage.bound_ms, 1000.0, 1e-6);
	ck_assert_uint_eq(o->u.outage.lost, 348);
	ck_assert_double_eq_tol(o->u.outage.start - (double)nth(TH_REC_IPERF, 0)->u.iperf.t, 3.0,
	                        1e-6);
}
END_TEST

START_TEST(udp_tenth_second_intervals_locate_the_blackout)
{
	th_iperf_conv c = feed("iperf-cap-cli-udp01.txt", TH_DIR_DOWN);
	const th_record *o = nth(TH_REC_OUTAGE, 0);

	ck_assert_int_eq(count(TH_REC_IPERF), 50);
	ck_assert_uint_eq(c.blackouts, 19); /* 2.30 .. 4.20 */
	ck_assert_int_eq(count(TH_REC_OUTAGE), 1);
	ck_assert_double_eq_tol(o->u.outage.duration_ms, 1900.0, 1e-6);
	ck_assert_double_eq_tol(o->u.outage.bound_ms, 100.0, 1e-6);
	ck_assert_uint_eq(o->u.outage.lost, 175);
	ck_assert_int_eq(o->u.outage.direction, TH_DIR_DOWN);
	ck_assert_double_eq_tol(nth(TH_REC_IPERF, 7)->u.iperf.seconds, 0.13, 1e-9);
}
END_TEST

START_TEST(tcp_client_and_server_blackouts)
{
	th_iperf_conv c = feed("iperf-cap-cli-tcp.txt", TH_DIR_UNKNOWN);

	ck_assert_int_eq(count(TH_REC_IPERF), 6);
	ck_assert_uint_eq(c.blackouts, 2);
	ck_assert_int_eq(count(TH_REC_OUTAGE), 1);
	ck_assert_double_eq_tol(nth(TH_REC_OUTAGE, 0)->u.outage.duration_ms, 2000.0, 1e-6);
	ck_assert_int_eq(nth(TH_REC_IPERF, 0)->u.iperf.bytes, 2621440); /* 2.50 MBytes */
	ck_assert_double_eq(nth(TH_REC_IPERF, 0)->u.iperf.bits_per_second, 20968000.0);
	ck_assert_int_eq(nth(TH_REC_IPERF, 0)->u.iperf.lost_packets, -1);

	c = feed("iperf-cap-srv-tcp.txt", TH_DIR_UNKNOWN);
	ck_assert_int_eq(count(TH_REC_IPERF),
	                 6); /* the zero-length 3.00-3.00 tail is no interval */
	ck_assert_uint_eq(c.blackouts, 2);
	ck_assert_int_eq(count(TH_REC_OUTAGE), 1);
}
END_TEST

START_TEST(udp_sender_side_sees_no_blackout)
{
	th_iperf_conv c = feed("iperf-cap-cli-udp.txt", TH_DIR_UP);

	ck_assert_int_eq(count(TH_REC_IPERF), 12);
	ck_assert_uint_eq(c.blackouts, 0);
	ck_assert_int_eq(count(TH_REC_OUTAGE), 0);
	ck_assert_int_eq(nth(TH_REC_IPERF, 0)->u.iperf.packets, 87);
	ck_assert_int_eq(nth(TH_REC_IPERF, 0)->u.iperf.lost_packets, -1);
	ck_assert(isnan(nth(TH_REC_IPERF, 0)->u.iperf.jitter_ms));
}
END_TEST

START_TEST(anchor_comes_from_the_arrival_of_the_first_interval)
{
	th_iperf_conv c;
	const char *lines[] = {
	    "1700000000 [ ID] Interval           Transfer     Bitrate",
	    "1700000001 [  5]   0.00-1.00   sec  2.50 MBytes  20970 Kbits/sec",
	    "1700000002 [  5]   1.00-2.00   sec  0.00 Bytes  0.00 Kbits/sec",
	    "1700000003 [  5]   2.00-3.00   sec  2.50 MBytes  20970 Kbits/sec",
	};
	double at[] = {1700000000.2, 1700000001.7, 1700000002.7, 1700000003.7};

	th_iperf_conv_init(&c, "vm1", "s", TH_DIR_DOWN, false);
	nrecs = 0;
	for (int i = 0; i < 4; i++)
		th_iperf_conv_line(&c, lines[i], at[i], collect, NULL);
	th_iperf_conv_finish(&c, collect, NULL);
	ck_assert_int_eq(nth(TH_REC_IPERF, 0)->u.iperf.t, 1700000000); /* 1.7 - 1.0 */
	ck_assert_double_eq_tol(nth(TH_REC_OUTAGE, 0)->u.outage.start, 1700000001.7, 1e-6);
	ck_assert_double_eq_tol(nth(TH_REC_OUTAGE, 0)->u.outage.end, 1700000002.7, 1e-6);
}
END_TEST

START_TEST(a_blackout_at_the_end_is_closed_by_finish)
{
	th_iperf_conv c = feed("iperf-cap-srv-udpR.txt", TH_DIR_UP);

	ck_assert_uint_eq(c.blackouts, 0);
	th_iperf_conv_init(&c, "vm1", "s", TH_DIR_UP, false);
	nrecs = 0;
	th_iperf_conv_line(&c, "1 [ ID] Interval           Transfer     Bitrate", 0, collect, NULL);
	th_iperf_conv_line(&c, "2 [  5]   0.00-1.00   sec  1.00 KBytes  8.19 Kbits/sec", 0, collect,
	                   NULL);
	th_iperf_conv_line(&c, "3 [  5]   1.00-2.00   sec  0.00 Bytes  0.00 Kbits/sec", 0, collect,
	                   NULL);
	th_iperf_conv_finish(&c, collect, NULL);
	ck_assert_int_eq(count(TH_REC_OUTAGE), 1);
	ck_assert_double_eq_tol(nth(TH_REC_OUTAGE, 0)->u.outage.duration_ms, 1000.0, 1e-6);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("iperf");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parses_tcp_sender_line);
	tcase_add_test(tc, parses_udp_receiver_and_sender_lines);
	tcase_add_test(tc, classifies_other_lines);
	tcase_add_test(tc, udp_server_blackout_is_flagged_and_is_one_outage);
	tcase_add_test(tc, udp_tenth_second_intervals_locate_the_blackout);
	tcase_add_test(tc, tcp_client_and_server_blackouts);
	tcase_add_test(tc, udp_sender_side_sees_no_blackout);
	tcase_add_test(tc, anchor_comes_from_the_arrival_of_the_first_interval);
	tcase_add_test(tc, a_blackout_at_the_end_is_closed_by_finish);
	suite_add_tcase(s, tc);
	return s;
}
