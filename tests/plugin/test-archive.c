/* test-archive.c — the session archive writer on real files through librrd: a new RRD is small
 * and exactly sized, growth keeps every stored second exactly, the growth stops at ArchiveRows,
 * a session with markers only has no RRD, and MinFreeSpace refuses a write before anything is
 * written. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rrd.h>

#include "th-check.h"
#include "th-time.h"
#include "tp-archive.h"
#include "tp-core.h"
#include "tp-queue.h"

#define T0 1700000000

static char dir[] = "/tmp/themis-archive.XXXXXX";

static tp_archive arch(long rows)
{
	tp_archive a;

	memset(&a, 0, sizeof a);
	snprintf(a.dir, sizeof a.dir, "%s", dir);
	a.rows = rows;
	return a;
}

/* A job of session sess of vm1 (first second T0) with rows row0 .. row0 + n - 1, where second
 * t stores sent = t - T0 and rtt_avg = (t - T0) / 8. */
static tp_archive_job job(const char *sess, int64_t row0, size_t n)
{
	tp_archive_job j;

	memset(&j, 0, sizeof j);
	snprintf(j.vm, sizeof j.vm, "vm1");
	snprintf(j.session, sizeof j.session, "%s", sess);
	j.first = T0;
	j.row0 = row0;
	j.nrows = n;
	j.need_rows = row0 + (int64_t)n - T0;
	j.create = row0 == T0;
	j.rows = malloc(n * TH_ARCHIVE_NDS * sizeof *j.rows);
	for (size_t r = 0; r < n; r++)
		for (int d = 0; d < TH_ARCHIVE_NDS; d++)
			j.rows[r * TH_ARCHIVE_NDS + d] = NAN;
	for (size_t r = 0; r < n; r++) {
		j.rows[r * TH_ARCHIVE_NDS] = (double)(row0 - T0) + (double)r;
		j.rows[r * TH_ARCHIVE_NDS + 8] = ((double)(row0 - T0) + (double)r) / 8;
	}
	return j;
}

static void write_jobs(tp_archive *a, const char *sess, int64_t from, int64_t to, size_t chunk)
{
	char err[TH_ERRLEN];

	for (int64_t t = from; t <= to; t += (int64_t)chunk) {
		size_t n = (size_t)(to - t + 1) < chunk ? (size_t)(to - t + 1) : chunk;
		tp_archive_job j = job(sess, t, n);
		th_err e = tp_archive_write(a, &j, err);

		if (e != TH_OK)
			ck_abort_msg("write %s @%lld: %s", sess, (long long)t, err);
		free(j.rows);
	}
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static long file_rows(tp_archive *a, const char *path)
{
	long rows = -1;

	ck_assert_int_eq(tp_archive_rows(a, path, &rows, NULL), TH_OK);
	return rows;
}

/* Every second from..to is stored once with its exact values (AVERAGE and MAX alike). */
static void assert_exact(const char *path, int64_t from, int64_t to)
{
	const char *cfs[2] = {"AVERAGE", "MAX"};

	for (int c = 0; c < 2; c++) {
		time_t start = (time_t)(from - 1), end = (time_t)to;
		unsigned long step = 1, nds = 0;
		char **names = NULL;
		rrd_value_t *data = NULL;

		ck_assert_int_eq(
		    rrd_fetch_r(path, cfs[c], &start, &end, &step, &nds, &names, &data), 0);
		ck_assert_uint_eq(step, 1);
		ck_assert_uint_eq(nds, TH_ARCHIVE_NDS);
		/* rrd_fetch's first row is start + step */
		for (int64_t t = from; t <= to; t++) {
			rrd_value_t *row = data + (size_t)(t - (int64_t)start - 1) * nds;

			if (row[0] != (double)(t - T0) || row[8] != (double)(t - T0) / 8 ||
			    !isnan(row[1]))
				ck_abort_msg("%s %s @%lld: sent %g rtt_avg %g received %g", path,
				             cfs[c], (long long)t, row[0], row[8], row[1]);
		}
		for (unsigned long i = 0; i < nds; i++)
			rrd_freemem(names[i]);
		rrd_freemem(names);
		rrd_freemem(data);
	}
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(dir, sizeof dir, "/tmp/themis-archive.XXXXXX");
}

START_TEST(a_short_session_gets_a_small_rrd)
{
	tp_archive a = arch(TP_ARCHIVE_ROWS);
	char path[1200];

	write_jobs(&a, "short.1", T0, T0 + 9, 3);
	snprintf(path, sizeof path, "%s/vm1/short.1.rrd", dir);
	ck_assert_int_eq(file_rows(&a, path), 128);
	ck_assert_int_eq(file_size(path), 39440); /* 6,672 + 128 rows x 16 DS x 2 RRAs x 8 */
	ck_assert_double_eq(tp_archive_rrd_bytes(128), 39440);
	ck_assert_uint_eq(a.grown, 0);
	assert_exact(path, T0, T0 + 9);
}
END_TEST

START_TEST(growth_keeps_every_second_exactly)
{
	tp_archive a = arch(TP_ARCHIVE_ROWS);
	char path[1200];

	snprintf(path, sizeof path, "%s/vm1/long.1.rrd", dir);
	write_jobs(&a, "long.1", T0, T0 + 255, 50);
	ck_assert_int_eq(file_rows(&a, path), 256); /* 128 -> 256 */
	ck_assert_uint_eq(a.grown, 1);
	write_jobs(&a, "long.1", T0 + 256, T0 + 256, 1);
	ck_assert_int_eq(file_rows(&a, path), 512);
	ck_assert_uint_eq(a.grown, 2);
	write_jobs(&a, "long.1", T0 + 257, T0 + 1099, 50);
	ck_assert_int_eq(file_rows(&a, path), 2048); /* 512 -> 1024 -> 2048 */
	ck_assert_uint_eq(a.grown, 4);
	ck_assert_int_eq(file_size(path), (off_t)tp_archive_rrd_bytes(2048));
	assert_exact(path, T0, T0 + 1099);
	/* no temporary file is left beside it */
	snprintf(path, sizeof path, "%s/vm1/long.1.rrd.grow", dir);
	ck_assert_int_eq(access(path, F_OK), -1);

	/* a first job that already needs more than the initial rows gets what it needs */
	write_jobs(&a, "big.1", T0, T0 + 299, 300);
	snprintf(path, sizeof path, "%s/vm1/big.1.rrd", dir);
	ck_assert_int_eq(file_rows(&a, path), 300);
	assert_exact(path, T0, T0 + 299);
}
END_TEST

START_TEST(growth_resumes_from_the_file_after_a_restart)
{
	tp_archive a = arch(TP_ARCHIVE_ROWS), b = arch(TP_ARCHIVE_ROWS);
	char path[1200];

	snprintf(path, sizeof path, "%s/vm1/r.1.rrd", dir);
	write_jobs(&a, "r.1", T0, T0 + 199, 100);
	/* a new writer knows nothing of the file: it reads its rows and skips stored seconds */
	write_jobs(&b, "r.1", T0 + 150, T0 + 399, 125);
	ck_assert_int_eq(file_rows(&b, path), 512);
	assert_exact(path, T0, T0 + 399);
}
END_TEST

START_TEST(growth_stops_at_archive_rows)
{
	tp_archive a = arch(600);
	char path[1200];

	snprintf(path, sizeof path, "%s/vm1/cap.1.rrd", dir);
	write_jobs(&a, "cap.1", T0, T0 + 899, 100);
	ck_assert_int_eq(file_rows(&a, path), 600); /* 128 -> 256 -> 512 -> 600, then a ring */
	assert_exact(path, T0 + 300, T0 + 899);     /* the newest 600 seconds */
}
END_TEST

START_TEST(a_wrapped_rrd_grows_keeping_its_newest_seconds)
{
	tp_archive a = arch(300), b = arch(TP_ARCHIVE_ROWS);
	char path[1200];
	time_t start = T0 + 148, end = T0 + 150; /* rows from start + 1 */
	unsigned long step = 1, nds = 0;
	char **names = NULL;
	rrd_value_t *data = NULL;

	/* a file whose ring went round (as with a smaller ArchiveRows, or a file of an earlier
	 * version): its current row is in the middle */
	snprintf(path, sizeof path, "%s/vm1/wrap.1.rrd", dir);
	write_jobs(&a, "wrap.1", T0, T0 + 449, 100);
	ck_assert_int_eq(file_rows(&a, path), 300);
	write_jobs(&b, "wrap.1", T0 + 450, T0 + 600, 151);
	ck_assert_int_eq(file_rows(&b, path), 601);
	assert_exact(path, T0 + 150, T0 + 600);
	ck_assert_int_eq(rrd_fetch_r(path, "AVERAGE", &start, &end, &step, &nds, &names, &data), 0);
	ck_assert(isnan(data[0])); /* T0 + 149: overwritten before the growth */
	for (unsigned long i = 0; i < nds; i++)
		rrd_freemem(names[i]);
	rrd_freemem(names);
	rrd_freemem(data);
}
END_TEST

START_TEST(a_session_with_markers_only_has_no_rrd)
{
	tp_config c = {.archive_lag_s = 0,
	               .session_grace_ns = 0,
	               .session_timeout_ns = 60 * TH_NS_PER_SEC,
	               .downtime_warning_ms = NAN,
	               .downtime_failure_ms = NAN,
	               .archive = true};
	tp_core *core = tp_core_new(&c);
	tp_archive a = arch(TP_ARCHIVE_ROWS);
	tp_out out = {0};
	th_marker m[2];
	char path[1200];
	size_t dups;

	memset(m, 0, sizeof m);
	for (int i = 0; i < 2; i++) {
		snprintf(m[i].session, sizeof m[i].session, "empty.1");
		snprintf(m[i].vm, sizeof m[i].vm, "vm1");
		m[i].vm_id = m[i].cycle = -1;
		m[i].summary.one_duration_s = NAN;
	}
	m[0].event = TH_EV_SESSION_START;
	m[0].t = T0 + 0.5;
	m[1].event = TH_EV_SESSION_END;
	m[1].t = T0 + 9.5;
	ck_assert_int_eq(tp_core_markers(core, m, 2, 0, &out, &dups, NULL), TH_OK);
	tp_core_tick(core, TH_NS_PER_SEC, false, &out);
	ck_assert_uint_eq(tp_core_sessions_open(core), 0);
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_uint_eq(out.jobs[0].nrows, 0);
	ck_assert_ptr_nonnull(strstr(out.jobs[0].json, "\"closed_by\":\"session-end\""));
	ck_assert_int_eq(tp_archive_write(&a, &out.jobs[0], NULL), TH_OK);
	snprintf(path, sizeof path, "%s/vm1/empty.1.json", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/vm1/empty.1.rrd", dir);
	ck_assert_int_eq(access(path, F_OK), -1);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(the_rrd_starts_at_the_first_second_once_a_record_is_final)
{
	tp_config c = {.archive_lag_s = 2,
	               .session_grace_ns = 0,
	               .session_timeout_ns = 60 * TH_NS_PER_SEC,
	               .downtime_warning_ms = NAN,
	               .downtime_failure_ms = NAN,
	               .archive = true};
	tp_core *core = tp_core_new(&c);
	tp_out out = {0};
	th_marker m;
	th_record r[2];
	size_t dups;

	memset(&m, 0, sizeof m);
	snprintf(m.session, sizeof m.session, "late.1");
	snprintf(m.vm, sizeof m.vm, "vm1");
	m.event = TH_EV_SESSION_START;
	m.t = T0;
	memset(r, 0, sizeof r);
	for (int i = 0; i < 2; i++) {
		r[i].kind = TH_REC_SECOND;
		snprintf(r[i].vm, sizeof r[i].vm, "vm1");
		snprintf(r[i].stream, sizeof r[i].stream, "s");
		r[i].u.second.t = T0 + 20 + i;
		r[i].u.second.sent = 100;
		r[i].u.second.rtt_min_ms = r[i].u.second.rtt_avg_ms = NAN;
		r[i].u.second.rtt_max_ms = r[i].u.second.jitter_ms = NAN;
		r[i].u.second.max_gap_ms = NAN;
	}
	ck_assert_int_eq(tp_core_markers(core, &m, 1, 0, &out, &dups, NULL), TH_OK);
	tp_core_tick(core, 30 * TH_NS_PER_SEC, false, &out); /* markers only: JSON, no rows */
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert_uint_eq(out.jobs[0].nrows, 0);
	tp_out_reset(&out);
	ck_assert_int_eq(tp_core_records(core, r, 2, 30 * TH_NS_PER_SEC, &out, &dups, NULL), TH_OK);
	tp_out_reset(&out);
	tp_core_tick(core, 40 * TH_NS_PER_SEC, false, &out); /* silent for the lag: all final */
	ck_assert_uint_eq(out.njobs, 1);
	ck_assert(out.jobs[0].create);
	ck_assert_int_eq(out.jobs[0].first, T0); /* the RRD starts at the session's start */
	/* the rows start one unknown second before the first record: the RRD keeps the gap
	 * before it unknown by itself (heartbeat), so none of it is handed over */
	ck_assert_int_eq(out.jobs[0].row0, T0 + 19);
	ck_assert_uint_eq(out.jobs[0].nrows, 3);
	ck_assert_int_eq(out.jobs[0].need_rows, 22);
	ck_assert(isnan(out.jobs[0].rows[0]));
	ck_assert_double_eq(out.jobs[0].rows[1 * TH_ARCHIVE_NDS], 100);
	ck_assert_double_eq(out.jobs[0].rows[2 * TH_ARCHIVE_NDS], 100);
	tp_out_free(&out);
	tp_core_free(core);
}
END_TEST

START_TEST(min_free_space_refuses_before_writing)
{
	tp_archive a = arch(TP_ARCHIVE_ROWS);
	tp_archive_job j = job("full.1", T0, 5);
	char err[TH_ERRLEN], path[1200];

	ck_assert_int_eq(tp_archive_parse_min_free(&a, "100%", err), TH_OK);
	ck_assert(a.min_free_pct);
	ck_assert_int_eq(tp_archive_write(&a, &j, err), TH_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(err, "MinFreeSpace"));
	snprintf(path, sizeof path, "%s/vm1/full.1.rrd", dir);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(tp_archive_parse_min_free(&a, "0", err), TH_OK);
	ck_assert_int_eq(tp_archive_write(&a, &j, err), TH_OK);
	free(j.rows);

	ck_assert_int_eq(tp_archive_parse_min_free(&a, "256M", err), TH_OK);
	ck_assert(!a.min_free_pct);
	ck_assert_double_eq(a.min_free, 268435456);
	ck_assert_int_eq(tp_archive_parse_min_free(&a, "1.5k", err), TH_OK);
	ck_assert_double_eq(a.min_free, 1536);
	ck_assert_int_eq(tp_archive_parse_min_free(&a, "2 %", err), TH_OK);
	ck_assert(a.min_free_pct);
	ck_assert_double_eq(a.min_free, 2);
	ck_assert_int_eq(tp_archive_parse_min_free(&a, "101%", err), TH_ERR_INVALID);
	ck_assert_int_eq(tp_archive_parse_min_free(&a, "5MB", err), TH_ERR_INVALID);
	ck_assert_str_eq(err,
	                 "MinFreeSpace \"5MB\": expected <n>% or <n> bytes with an optional K, "
	                 "M, G or T");
	ck_assert_int_eq(tp_archive_parse_min_free(&a, "-1", err), TH_ERR_INVALID);
}
END_TEST

/* The worker's local part queues rows; the archive thread's part copies them into the RRD
 * exactly once, empties nothing itself, and skips what the RRD already holds (a queue read again
 * after a crash between the RRD write and the clearing). */
START_TEST(queued_rows_reach_the_rrd_once)
{
	tp_archive a = arch(TP_ARCHIVE_ROWS);
	/* a gap of 50 s, then a run led by an unknown row, as tp-core hands them over */
	tp_archive_job j1 = job("q.1", T0, 100), j2 = job("q.1", T0 + 100, 50),
	               j3 = job("q.1", T0 + 199, 11);
	char path[1200], rrd[1200], err[TH_ERRLEN];
	off_t off = TP_QUEUE_HEADER;
	bool done = false;
	tp_queue_rows q;
	int64_t last;
	FILE *f;

	snprintf(path, sizeof path, "%s/vm1/q.1.queue", dir);
	snprintf(rrd, sizeof rrd, "%s/vm1/q.1.rrd", dir);
	ck_assert_int_eq(tp_archive_write_local(&a, &j1, err), TH_OK);
	ck_assert_int_eq(tp_archive_write_local(&a, &j2, err), TH_OK);
	ck_assert_int_eq(file_size(rrd), -1); /* nothing in an RRD yet */
	ck_assert_int_eq(file_size(path), TP_QUEUE_HEADER + 150 * TP_QUEUE_ROW);
	/* a row cut short by a crash is not read, and the next append drops it */
	f = fopen(path, "a");
	fwrite("crash", 1, 5, f);
	fclose(f);
	ck_assert_int_eq(tp_queue_read(path, TP_QUEUE_HEADER, 0, 1000, &q, err), TH_OK);
	ck_assert_uint_eq(q.n, 150);
	ck_assert_int_eq(q.first, T0);
	ck_assert_int_eq(q.t[149], T0 + 149);
	tp_queue_rows_free(&q);
	for (int d = 0; d < TH_ARCHIVE_NDS; d++)
		j3.rows[d] = NAN;
	ck_assert_int_eq(tp_archive_write_local(&a, &j3, err), TH_OK);
	ck_assert_int_eq(file_size(path), TP_QUEUE_HEADER + 161 * TP_QUEUE_ROW);

	/* in chunks of 64 rows */
	while (!done)
		ck_assert_int_eq(tp_archive_store_queue(&a, "vm1", "q.1", &off, 0, 64, &done, err),
		                 TH_OK);
	ck_assert_int_eq(off, TP_QUEUE_HEADER + 161 * TP_QUEUE_ROW);
	assert_exact(rrd, T0, T0 + 149);
	assert_exact(rrd, T0 + 200, T0 + 209);
	ck_assert_int_eq(tp_archive_last(&a, rrd, &last, err), TH_OK);
	ck_assert_int_eq(last, T0 + 209);
	/* read again from the start (no clearing happened): nothing is stored twice */
	off = TP_QUEUE_HEADER;
	ck_assert_int_eq(tp_archive_store_queue(&a, "vm1", "q.1", &off, 0, 1000, &done, err),
	                 TH_OK);
	ck_assert(done);
	assert_exact(rrd, T0, T0 + 149);
	ck_assert_int_eq(tp_queue_clear(path, err), TH_OK);
	ck_assert_int_eq(file_size(path), TP_QUEUE_HEADER);
	off = TP_QUEUE_HEADER;
	ck_assert_int_eq(tp_archive_store_queue(&a, "vm1", "q.1", &off, 0, 1000, &done, err),
	                 TH_OK);
	ck_assert(done);
	free(j1.rows);
	free(j2.rows);
	free(j3.rows);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("archive");
	TCase *tc = tcase_create("archive");

	/* One directory for the whole run (each test its own sessions), removed by the parent
	 * process even when a test fails. */
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_short_session_gets_a_small_rrd);
	tcase_add_test(tc, growth_keeps_every_second_exactly);
	tcase_add_test(tc, growth_resumes_from_the_file_after_a_restart);
	tcase_add_test(tc, growth_stops_at_archive_rows);
	tcase_add_test(tc, a_wrapped_rrd_grows_keeping_its_newest_seconds);
	tcase_add_test(tc, a_session_with_markers_only_has_no_rrd);
	tcase_add_test(tc, the_rrd_starts_at_the_first_second_once_a_record_is_final);
	tcase_add_test(tc, min_free_space_refuses_before_writing);
	tcase_add_test(tc, queued_rows_reach_the_rrd_once);
	suite_add_tcase(s, tc);
	return s;
}
