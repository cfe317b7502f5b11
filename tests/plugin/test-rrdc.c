/* test-rrdc.c — the rrdcached client (tp-rrdc) against real rrdcached daemons started here on a
 * unix socket and on 127.0.0.1 TCP: files created (also from a source), many rows in one call,
 * LAST, FLUSH and INFO, values read back exactly with librrd; the daemon's refusals, what a
 * refused update leaves applied, unknown files and bad addresses; each call bounded by its
 * timeout against a stopped daemon and a connect that never completes (in a network namespace
 * of its own), and working again once the daemon runs; two clients of two daemons in one
 * process that do not disturb each other. The protocol's pure part is tested without daemon. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "th-check.h"
#include "tp-archive.h"
#include "tp-rrdc.h"

#define T0      1700000000L
#define TIMEOUT 2000

static char base[] = "/tmp/th-rrdc.XXXXXX";

/* --- daemons ------------------------------------------------------------------------------ */

typedef struct daemon {
	pid_t pid;
	char dir[256];
	char unix_addr[320];
	char tcp_addr[64];
	int port;
} daemon_t;

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static bool can_connect(int family, const void *sa, socklen_t len)
{
	int fd = socket(family, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, sa, len) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Run rrdcached in the foreground, confined to d->dir, listening on its socket there and on
 * d->port, and wait until both answer; false when it exits first (the port was taken). It dies
 * with the process that started it (a failed test included). */
static bool daemon_spawn(daemon_t *d)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char pidf[300], log[300];
	const char *sock = d->unix_addr + 5;
	pid_t parent = getpid();
	int status;

	snprintf(pidf, sizeof pidf, "%s/rrdcached.pid", d->dir);
	snprintf(log, sizeof log, "%s/rrdcached.log", d->dir);
	unlink(sock);
	unlink(pidf);
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("rrdcached", "rrdcached", "-g", "-B", "-b", d->dir, "-l", d->unix_addr, "-l",
		       d->tcp_addr, "-p", pidf, "-w", "3600", "-f", "7200", (char *)NULL);
		_exit(127);
	}
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	sin.sin_port = htons((uint16_t)d->port);
	for (int i = 0; i < 500; i++) {
		if (can_connect(AF_UNIX, &sun, sizeof sun) &&
		    can_connect(AF_INET, &sin, sizeof sin))
			return true;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			return false;
		usleep(10000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	return false;
}

/* A daemon of its own directory under base and a free port. */
static void daemon_start(daemon_t *d, const char *name)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		snprintf(d->dir, sizeof d->dir, "%s/%s%d-%d", base, name, (int)getpid(), attempt);
		ck_assert_int_eq(mkdir(d->dir, 0755), 0);
		d->port = free_port();
		snprintf(d->unix_addr, sizeof d->unix_addr, "unix:%s/sock", d->dir);
		snprintf(d->tcp_addr, sizeof d->tcp_addr, "127.0.0.1:%d", d->port);
		if (daemon_spawn(d))
			return;
	}
	ck_abort_msg("rrdcached did not start (see %s/rrdcached.log)", d->dir);
}

static void daemon_stop(daemon_t *d)
{
	int status;

	kill(d->pid, SIGCONT);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
}

/* SIGSTOP, and wait until every thread of the daemon has stopped (a thread busy on another CPU
 * finishes what it does first). */
static void daemon_pause(daemon_t *d)
{
	char path[64], stat[512];

	ck_assert_int_eq(kill(d->pid, SIGSTOP), 0);
	snprintf(path, sizeof path, "/proc/%d/task", (int)d->pid);
	for (int i = 0; i < 200; i++) {
		DIR *dir = opendir(path);
		struct dirent *e;
		bool all = dir != NULL;

		while (all && (e = readdir(dir)) != NULL) {
			char f[384];
			FILE *fp;
			char *p;

			if (e->d_name[0] == '.')
				continue;
			snprintf(f, sizeof f, "%s/%s/stat", path, e->d_name);
			if ((fp = fopen(f, "r")) == NULL)
				continue;
			if (fgets(stat, sizeof stat, fp) != NULL &&
			    (p = strrchr(stat, ')')) != NULL)
				all = p[1] == ' ' && p[2] == 'T';
			fclose(fp);
		}
		if (dir != NULL)
			closedir(dir);
		if (all)
			return;
		usleep(5000);
	}
	ck_abort_msg("rrdcached %d did not stop", (int)d->pid);
}

static void rm_tree(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	char sub[1024];

	if (dir == NULL) {
		unlink(path);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		rm_tree(sub);
	}
	closedir(dir);
	rmdir(path);
}

static void setup(void)
{
	memcpy(base + sizeof base - 7, "XXXXXX", 6);
	ck_assert_ptr_nonnull(mkdtemp(base));
}

static void teardown(void)
{
	rm_tree(base);
}

/* --- rows --------------------------------------------------------------------------------- */

/* The value of data source ds at second T0 + k: an exact binary fraction, unknown for ds 3. */
static double value(long k, int ds)
{
	return ds == 3 ? NAN : (double)k * 16 + ds + 0.125 * (ds % 4);
}

typedef struct rows {
	int n;
	char (*buf)[512];
	const char **argv;
} rows_t;

/* Rows for seconds T0 + from .. T0 + to, in the archive's row format. */
static rows_t rows_make(long from, long to)
{
	rows_t r = {.n = (int)(to - from + 1)};
	double v[TH_ARCHIVE_NDS];

	r.buf = malloc((size_t)r.n * sizeof *r.buf);
	r.argv = malloc((size_t)r.n * sizeof *r.argv);
	for (int i = 0; i < r.n; i++) {
		for (int d = 0; d < TH_ARCHIVE_NDS; d++)
			v[d] = value(from + i, d);
		tp_archive_update_arg(T0 + from + i, v, r.buf[i], sizeof r.buf[i]);
		r.argv[i] = r.buf[i];
	}
	return r;
}

static void rows_free(rows_t *r)
{
	free(r->buf);
	free(r->argv);
}

static th_err create(tp_rrdc *c, const char *file, long rows, const char *source, time_t last_up,
                     char *err)
{
	char args[TP_ARCHIVE_ARGC][TP_ARCHIVE_ARGLEN];
	const char *argv[TP_ARCHIVE_ARGC];

	tp_archive_create_args(rows, args);
	for (int i = 0; i < TP_ARCHIVE_ARGC; i++)
		argv[i] = args[i];
	return tp_rrdc_create(c, file, TH_ARCHIVE_STEP, last_up, source, TP_ARCHIVE_ARGC, argv,
	                      err);
}

/* The file on disk holds exactly the values of seconds T0 + from .. T0 + to. */
static void assert_rows(const char *file, long from, long to)
{
	time_t start = T0 + from - 1, end = T0 + to;
	unsigned long step, ds_cnt;
	char **names;
	rrd_value_t *data;

	rrd_clear_error();
	ck_assert_msg(rrd_fetch_r(file, "AVERAGE", &start, &end, &step, &ds_cnt, &names, &data) ==
	                  0,
	              "fetch %s: %s", file, rrd_get_error());
	ck_assert_int_eq(step, 1);
	ck_assert_int_eq(ds_cnt, TH_ARCHIVE_NDS);
	for (long k = from; k <= to; k++) {
		long row = (T0 + k) - start - 1;

		ck_assert_int_ge(row, 0);
		ck_assert_int_lt(row, end - start);
		for (int d = 0; d < TH_ARCHIVE_NDS; d++) {
			double got = data[row * TH_ARCHIVE_NDS + d], want = value(k, d);

			ck_assert_msg((isnan(want) && isnan(got)) || got == want,
			              "%s second T0+%ld ds %d: %.17g, expected %.17g", file, k, d,
			              got, want);
		}
	}
	for (unsigned long i = 0; i < ds_cnt; i++)
		free(names[i]);
	free(names);
	free(data);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* --- pure part ---------------------------------------------------------------------------- */

START_TEST(addresses_are_split_as_librrd_splits_them)
{
	tp_rrdc_addr a;
	char err[TH_ERRLEN];

	ck_assert_int_eq(tp_rrdc_parse_address("unix:/run/r.sock", &a, err), TH_OK);
	ck_assert(a.unix_socket);
	ck_assert_str_eq(a.path, "/run/r.sock");
	ck_assert_int_eq(tp_rrdc_parse_address("/run/r.sock", &a, err), TH_OK);
	ck_assert(a.unix_socket);
	ck_assert_str_eq(a.path, "/run/r.sock");
	ck_assert_int_eq(tp_rrdc_parse_address("db.example", &a, err), TH_OK);
	ck_assert(!a.unix_socket);
	ck_assert_str_eq(a.host, "db.example");
	ck_assert_str_eq(a.port, "42217");
	ck_assert_int_eq(tp_rrdc_parse_address("127.0.0.1:4000", &a, err), TH_OK);
	ck_assert_str_eq(a.host, "127.0.0.1");
	ck_assert_str_eq(a.port, "4000");
	ck_assert_int_eq(tp_rrdc_parse_address("[::1]:4000", &a, err), TH_OK);
	ck_assert_str_eq(a.host, "::1");
	ck_assert_str_eq(a.port, "4000");
	ck_assert_int_eq(tp_rrdc_parse_address("[fe80::1]", &a, err), TH_OK);
	ck_assert_str_eq(a.host, "fe80::1");
	ck_assert_str_eq(a.port, "42217");
	static const char *const bad[] = {"",        "[::1",  "[::1]x", "::1",   "h:",     "h:0",
	                                  "h:65536", "h:42x", ":42",    "unix:", "[]:4000"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(tp_rrdc_parse_address(bad[i], &a, err), TH_ERR_INVALID);
		ck_assert_msg(strstr(err, bad[i]) != NULL, "%s: %s", bad[i], err);
	}
}
END_TEST

START_TEST(a_command_line_holds_4096_bytes_with_its_newline)
{
	char line[TP_RRDC_LINE_MAX], field[TP_RRDC_LINE_MAX];
	size_t len = 6;

	memcpy(line, "UPDATE", 6);
	ck_assert(tp_rrdc_line_add(line, &len, "/a b\\c"));
	ck_assert_int_eq(len, 6 + 1 + 8); /* "/a\\ b\\\\c" */
	ck_assert(memcmp(line, "UPDATE /a\\ b\\\\c", len) == 0);
	ck_assert(!tp_rrdc_line_add(line, &len, "a\nb"));
	ck_assert(!tp_rrdc_line_add(line, &len, "a\r"));
	ck_assert_int_eq(len, 15);
	/* 15 + ' ' + 4079 + '\n' = 4096 fits; one byte more does not */
	memset(field, 'x', 4080);
	field[4080] = '\0';
	ck_assert(!tp_rrdc_line_add(line, &len, field));
	ck_assert_int_eq(len, 15);
	field[4079] = '\0';
	ck_assert(tp_rrdc_line_add(line, &len, field));
	ck_assert_int_eq(len, 4095);
}
END_TEST

START_TEST(replies_are_framed_by_their_status)
{
	const char *msg;
	size_t msg_len;
	long status;
	time_t t;
	long rows;

	ck_assert_int_eq(tp_rrdc_reply_length("0 PONG", 6), 0);
	ck_assert_int_eq(tp_rrdc_reply_length("0 PONG\n", 7), 7);
	ck_assert_int_eq(tp_rrdc_reply_length("2 follow\na\n", 11), 0);
	ck_assert_int_eq(tp_rrdc_reply_length("2 follow\na\nb\n", 13), 13);
	ck_assert_int_eq(tp_rrdc_reply_length("-1 No such file: /x.rrd.\n", 25), 25);
	ck_assert_int_eq(tp_rrdc_reply_length("PONG\n", 5), -1);
	ck_assert_int_eq(tp_rrdc_reply_length("12x\n", 4), -1);
	tp_rrdc_reply_status("-1 No such file: /x.rrd.\n", &status, &msg, &msg_len);
	ck_assert_int_eq(status, -1);
	ck_assert_int_eq(msg_len, strlen("No such file: /x.rrd"));
	ck_assert(memcmp(msg, "No such file: /x.rrd", msg_len) == 0);
	ck_assert_int_eq(tp_rrdc_reply_err(msg, msg_len), TH_ERR_NOTFOUND);
	ck_assert_int_eq(tp_rrdc_reply_err("illegal attempt", 15), TH_ERR_REMOTE);
	tp_rrdc_reply_status("0 1700000123\n", &status, &msg, &msg_len);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(tp_rrdc_parse_last(msg, msg_len, &t), TH_OK);
	ck_assert_int_eq(t, 1700000123);
	ck_assert_int_eq(tp_rrdc_parse_last("17x", 3, &t), TH_ERR_PARSE);
	ck_assert_int_eq(tp_rrdc_parse_last("0", 1, &t), TH_ERR_PARSE);
	static const char info[] = "filename 2 /x.rrd\nrra[0].cf 2 AVERAGE\n"
	                           "rra[0].rows 1 4000\nrra[1].rows 1 4000\n";
	ck_assert_int_eq(tp_rrdc_info_rows(info, strlen(info), &rows), TH_OK);
	ck_assert_int_eq(rows, 4000);
	ck_assert_int_eq(tp_rrdc_info_rows(info, 18, &rows), TH_ERR_NOTFOUND);
	ck_assert_int_eq(tp_rrdc_info_rows("rra[0].rows 1 x\n", 16, &rows), TH_ERR_PARSE);
}
END_TEST

/* --- against a daemon --------------------------------------------------------------------- */

static daemon_t dm;

static void one_daemon(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* the figures printed survive a failed test */
	daemon_start(&dm, "d");
}

static void one_daemon_stop(void)
{
	daemon_stop(&dm);
}

/* Create, write 1000 rows in one call, LAST, FLUSH, INFO, read back: through addr. */
static void round_trip(const char *addr, const char *name)
{
	char file[400], err[TH_ERRLEN];
	tp_rrdc *c = tp_rrdc_new(addr, TIMEOUT);
	rows_t r = rows_make(1, 1000);
	size_t bytes = 0;
	time_t last;
	long rows;

	for (int i = 0; i < r.n; i++)
		bytes += strlen(r.argv[i]) + 1;
	ck_assert_int_gt(bytes, 20 * TP_RRDC_LINE_MAX); /* many commands */
	snprintf(file, sizeof file, "%s/%s.rrd", dm.dir, name);
	ck_assert_msg(create(c, file, 4000, NULL, T0, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_update(c, file, r.n, r.argv, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_last(c, file, &last, err) == TH_OK, "%s", err);
	ck_assert_int_eq(last, T0 + 1000);
	ck_assert_msg(tp_rrdc_flush(c, file, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_rows(c, file, &rows, err) == TH_OK, "%s", err);
	ck_assert_int_eq(rows, 4000);
	assert_rows(file, 1, 1000);
	/* flushing a file with nothing queued succeeds */
	ck_assert_msg(tp_rrdc_flush(c, file, err) == TH_OK, "%s", err);
	rows_free(&r);
	tp_rrdc_free(c);
}

START_TEST(many_rows_round_trip_over_a_unix_socket)
{
	round_trip(dm.unix_addr, "unix");
	/* the plain-path form of the address */
	round_trip(dm.unix_addr + 5, "path");
}
END_TEST

START_TEST(many_rows_round_trip_over_tcp)
{
	round_trip(dm.tcp_addr, "tcp");
}
END_TEST

START_TEST(a_file_created_from_a_source_holds_its_rows_queued_ones_included)
{
	char a[400], b[400], err[TH_ERRLEN];
	tp_rrdc *c = tp_rrdc_new(dm.unix_addr, TIMEOUT);
	rows_t r = rows_make(1, 100);
	time_t last;
	long rows;

	snprintf(a, sizeof a, "%s/a.rrd", dm.dir);
	snprintf(b, sizeof b, "%s/b.rrd", dm.dir);
	ck_assert_msg(create(c, a, 128, NULL, T0, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_update(c, a, r.n, r.argv, err) == TH_OK, "%s", err);
	/* a's rows are still queued in the daemon: create flushes them first */
	ck_assert_msg(tp_rrdc_last(c, a, &last, err) == TH_OK, "%s", err);
	ck_assert_int_eq(last, T0 + 100);
	ck_assert_msg(create(c, b, 1000, a, last, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_rows(c, b, &rows, err) == TH_OK, "%s", err);
	ck_assert_int_eq(rows, 1000);
	ck_assert_msg(tp_rrdc_last(c, b, &last, err) == TH_OK, "%s", err);
	ck_assert_int_eq(last, T0 + 100);
	assert_rows(b, 1, 100);
	rows_free(&r);
	/* b goes on where a stopped */
	r = rows_make(101, 300);
	ck_assert_msg(tp_rrdc_update(c, b, r.n, r.argv, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_flush(c, b, err) == TH_OK, "%s", err);
	assert_rows(b, 1, 300);
	rows_free(&r);
	tp_rrdc_free(c);
}
END_TEST

START_TEST(a_refused_update_names_the_rows_and_keeps_those_before)
{
	char file[400], err[TH_ERRLEN], want[1024];
	tp_rrdc *c = tp_rrdc_new(dm.unix_addr, TIMEOUT);
	rows_t r = rows_make(1, 10), old = rows_make(5, 15), big = rows_make(11, 600);
	time_t last;

	snprintf(file, sizeof file, "%s/x.rrd", dm.dir);
	ck_assert_msg(create(c, file, 1000, NULL, T0, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_update(c, file, r.n, r.argv, err) == TH_OK, "%s", err);
	/* an old time: the daemon's message, nothing taken */
	ck_assert_int_eq(tp_rrdc_update(c, file, old.n, old.argv, err), TH_ERR_REMOTE);
	snprintf(want, sizeof want,
	         "rrdcached %s: UPDATE %s rows 1-11 of 11: -1 illegal attempt to update using "
	         "time %ld.000000 when last update time is %ld.000000 (minimum one second step)",
	         dm.unix_addr, file, T0 + 5, T0 + 10);
	want[TH_ERRLEN - 1] = '\0'; /* what fits the message */
	ck_assert_str_eq(err, want);
	ck_assert_msg(tp_rrdc_last(c, file, &last, err) == TH_OK, "%s", err);
	ck_assert_int_eq(last, T0 + 10);
	/* row 400 of 590 (second T0+410) repeats second T0+409: the commands before the one
	 * holding it are taken whole, that one up to the row before, none after it */
	memcpy(big.buf[399], big.buf[398], sizeof big.buf[399]);
	ck_assert_int_eq(tp_rrdc_update(c, file, big.n, big.argv, err), TH_ERR_REMOTE);
	ck_assert_msg(strstr(err, "illegal attempt to update using time 1700000409.000000 when "
	                          "last update time is 1700000409.000000") != NULL,
	              "%s", err);
	ck_assert_msg(strstr(err, " of 590: -1 ") != NULL, "%s", err);
	ck_assert_msg(tp_rrdc_last(c, file, &last, err) == TH_OK, "%s", err);
	ck_assert_int_eq(last, T0 + 409);
	/* the caller goes on after LAST */
	rows_free(&big);
	big = rows_make(410, 600);
	ck_assert_msg(tp_rrdc_update(c, file, big.n, big.argv, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_flush(c, file, err) == TH_OK, "%s", err);
	assert_rows(file, 1, 600);
	rows_free(&r);
	rows_free(&old);
	rows_free(&big);
	tp_rrdc_free(c);
}
END_TEST

/* What the daemon does with a row of the wrong number of values: takes it, and loses it with
 * the rows after it when it writes the file, without telling. */
START_TEST(a_malformed_row_is_taken_and_lost_with_the_rows_after_it)
{
	char file[400], err[TH_ERRLEN];
	tp_rrdc *c = tp_rrdc_new(dm.unix_addr, TIMEOUT);
	rows_t r = rows_make(1, 5);
	time_t last;

	snprintf(file, sizeof file, "%s/bad.rrd", dm.dir);
	ck_assert_msg(create(c, file, 100, NULL, T0, err) == TH_OK, "%s", err);
	snprintf(r.buf[2], sizeof r.buf[2], "%ld:1:2", T0 + 3);
	ck_assert_msg(tp_rrdc_update(c, file, r.n, r.argv, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_flush(c, file, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_last(c, file, &last, err) == TH_OK, "%s", err);
	ck_assert_int_eq(last, T0 + 5);
	assert_rows(file, 1, 2);
	rrd_clear_error();
	ck_assert_int_eq(rrd_last_r(file), T0 + 2);
	rows_free(&r);
	tp_rrdc_free(c);
}
END_TEST

START_TEST(an_unknown_file_is_named)
{
	char file[400], err[TH_ERRLEN];
	tp_rrdc *c = tp_rrdc_new(dm.unix_addr, TIMEOUT);
	rows_t r = rows_make(1, 3);
	time_t last;
	long rows;

	snprintf(file, sizeof file, "%s/missing.rrd", dm.dir);
	ck_assert_int_eq(tp_rrdc_update(c, file, r.n, r.argv, err), TH_ERR_NOTFOUND);
	ck_assert_msg(strstr(err, "UPDATE") && strstr(err, "No such file") &&
	                  strstr(err, "missing.rrd"),
	              "%s", err);
	ck_assert_int_eq(tp_rrdc_last(c, file, &last, err), TH_ERR_NOTFOUND);
	ck_assert_msg(strstr(err, "LAST") && strstr(err, "missing.rrd"), "%s", err);
	ck_assert_int_eq(tp_rrdc_flush(c, file, err), TH_ERR_NOTFOUND);
	ck_assert_msg(strstr(err, "FLUSH") && strstr(err, "missing.rrd"), "%s", err);
	ck_assert_int_eq(tp_rrdc_rows(c, file, &rows, err), TH_ERR_NOTFOUND);
	ck_assert_msg(strstr(err, "INFO") && strstr(err, "missing.rrd"), "%s", err);
	/* a CREATE the daemon refuses */
	snprintf(file, sizeof file, "%s/early.rrd", dm.dir);
	ck_assert_int_eq(create(c, file, 200, NULL, 1000, err), TH_ERR_REMOTE);
	ck_assert_msg(strstr(err, "CREATE") && strstr(err, "early.rrd: -1 The first entry must be "
	                                                   "after 1980"),
	              "%s", err);
	/* a file outside the daemon's base directory (-B) */
	ck_assert_int_eq(tp_rrdc_last(c, "/etc/passwd", &last, err), TH_ERR_REMOTE);
	ck_assert_msg(strstr(err, "/etc/passwd") != NULL, "%s", err);
	/* the connection is still good after error replies */
	snprintf(file, sizeof file, "%s/y.rrd", dm.dir);
	ck_assert_msg(create(c, file, 200, NULL, T0, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_update(c, file, r.n, r.argv, err) == TH_OK, "%s", err);
	rows_free(&r);
	tp_rrdc_free(c);
}
END_TEST

START_TEST(a_bad_address_is_named)
{
	char err[TH_ERRLEN], addr[64];
	tp_rrdc *c = tp_rrdc_new("[::1", TIMEOUT);
	time_t last;

	ck_assert_int_eq(tp_rrdc_last(c, "/x.rrd", &last, err), TH_ERR_INVALID);
	ck_assert_msg(strstr(err, "rrdcached [::1: expected") == err, "%s", err);
	tp_rrdc_free(c);
	c = tp_rrdc_new("unix:/nonexistent/rrdcached.sock", TIMEOUT);
	ck_assert_int_eq(tp_rrdc_last(c, "/x.rrd", &last, err), TH_ERR_NET);
	ck_assert_str_eq(err, "rrdcached unix:/nonexistent/rrdcached.sock: LAST /x.rrd: "
	                      "connect: No such file or directory");
	tp_rrdc_free(c);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
	c = tp_rrdc_new(addr, TIMEOUT);
	ck_assert_int_eq(tp_rrdc_flush(c, "/x.rrd", err), TH_ERR_NET);
	ck_assert_msg(strstr(err, addr) && strstr(err, "FLUSH /x.rrd: connect: Connection refused"),
	              "%s", err);
	tp_rrdc_free(c);
}
END_TEST

/* A daemon that went away closed the connection: the next call connects anew, no error. */
START_TEST(a_restarted_daemon_is_reconnected_to_without_an_error)
{
	char file[400], err[TH_ERRLEN];
	tp_rrdc *u = tp_rrdc_new(dm.unix_addr, TIMEOUT), *t = tp_rrdc_new(dm.tcp_addr, TIMEOUT);
	rows_t r = rows_make(1, 10), more = rows_make(11, 20);
	time_t last;
	int status;

	snprintf(file, sizeof file, "%s/restart.rrd", dm.dir);
	ck_assert_msg(create(u, file, 100, NULL, T0, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_update(u, file, r.n, r.argv, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_flush(t, file, err) == TH_OK, "%s", err);
	kill(dm.pid, SIGTERM);
	waitpid(dm.pid, &status, 0);
	ck_assert(daemon_spawn(&dm));
	ck_assert_msg(tp_rrdc_last(u, file, &last, err) == TH_OK, "%s", err);
	ck_assert_int_eq(last, T0 + 10);
	ck_assert_msg(tp_rrdc_update(t, file, more.n, more.argv, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_flush(u, file, err) == TH_OK, "%s", err);
	assert_rows(file, 1, 20);
	rows_free(&r);
	rows_free(&more);
	tp_rrdc_free(u);
	tp_rrdc_free(t);
}
END_TEST

/* Each call against a stopped daemon returns TH_ERR_TIMEOUT within timeout + 200 ms. */
static void assert_timeout(th_err e, const struct timespec *t0, int timeout, const char *err,
                           const char *what)
{
	double ms = ms_since(t0);

	printf("stopped daemon, %s: %.1f ms: %s\n", what, ms, err);
	ck_assert_msg(e == TH_ERR_TIMEOUT, "%s: %s", what, err);
	ck_assert_msg(ms >= timeout && ms <= timeout + 200, "%s took %.1f ms", what, ms);
}

static void stopped_daemon(const char *addr, const char *name, long taken)
{
	char file[400], err[TH_ERRLEN], want[1024];
	tp_rrdc *c = tp_rrdc_new(addr, 500), *fresh = tp_rrdc_new(addr, 500);
	rows_t r = rows_make(1, 10), more = rows_make(11, 20), after;
	struct timespec t0;
	time_t last;
	long rows;

	snprintf(file, sizeof file, "%s/%s.rrd", dm.dir, name);
	ck_assert_msg(create(c, file, 200, NULL, T0, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_update(c, file, r.n, r.argv, err) == TH_OK, "%s", err);
	daemon_pause(&dm);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_timeout(tp_rrdc_last(c, file, &last, err), &t0, 500, err, "LAST");
	snprintf(want, sizeof want, "rrdcached %s: no reply within 500 ms to LAST %s", addr, file);
	ck_assert_str_eq(err, want);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_timeout(tp_rrdc_update(c, file, more.n, more.argv, err), &t0, 500, err, "UPDATE");
	snprintf(want, sizeof want,
	         "rrdcached %s: no reply within 500 ms to UPDATE %s rows 1-10 of 10", addr, file);
	ck_assert_str_eq(err, want);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_timeout(tp_rrdc_flush(c, file, err), &t0, 500, err, "FLUSH");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_timeout(tp_rrdc_rows(c, file, &rows, err), &t0, 500, err, "INFO");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_timeout(create(c, file, 200, file, T0, err), &t0, 500, err, "CREATE -r");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_timeout(tp_rrdc_last(fresh, file, &last, err), &t0, 500, err, "LAST, new client");
	ck_assert_int_eq(kill(dm.pid, SIGCONT), 0);
	/* The commands that timed out were sent on connections closed since. Once it runs again
	 * rrdcached 1.7 drops what a closed unix connection holds unread (it sees the hang-up
	 * first) but reads and applies what a closed TCP connection holds: the UPDATE is lost
	 * over a unix socket, taken over TCP. Either way the caller asks LAST and goes on. */
	usleep(200000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(tp_rrdc_last(c, file, &last, err) == TH_OK, "%s", err);
	printf("running again, LAST: %.1f ms\n", ms_since(&t0));
	ck_assert_int_eq(last, T0 + taken);
	after = rows_make(taken + 1, 30);
	ck_assert_msg(tp_rrdc_update(c, file, after.n, after.argv, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_flush(fresh, file, err) == TH_OK, "%s", err);
	assert_rows(file, 1, 30);
	rows_free(&r);
	rows_free(&more);
	rows_free(&after);
	tp_rrdc_free(c);
	tp_rrdc_free(fresh);
}

START_TEST(a_stopped_daemon_costs_the_timeout_over_a_unix_socket)
{
	stopped_daemon(dm.unix_addr, "stop-unix", 10);
}
END_TEST

START_TEST(a_stopped_daemon_costs_the_timeout_over_tcp)
{
	stopped_daemon(dm.tcp_addr, "stop-tcp", 20);
}
END_TEST

/* A TCP handshake that never completes: in a network namespace of this test's own, nftables
 * drops the SYNs to 127.0.0.1:9. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN). */
START_TEST(a_connect_that_never_completes_costs_the_timeout)
{
	char err[TH_ERRLEN];
	struct timespec t0;
	tp_rrdc *c;
	time_t last;
	double ms;

	if (unshare(CLONE_NEWNET) != 0) {
		printf("connect timeout: skipped, unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return;
	}
	ck_assert_int_eq(system("ip link set lo up && nft -f - <<'EOF'\n"
	                        "table ip themis_rrdc {\n"
	                        "  chain out { type filter hook output priority 0;\n"
	                        "    ip daddr 127.0.0.1 tcp dport 9 drop; }\n"
	                        "}\n"
	                        "EOF"),
	                 0);
	c = tp_rrdc_new("127.0.0.1:9", 300);
	for (int i = 0; i < 2; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ck_assert_int_eq(tp_rrdc_last(c, "/x.rrd", &last, err), TH_ERR_TIMEOUT);
		ms = ms_since(&t0);
		printf("connect never completes: %.1f ms: %s\n", ms, err);
		ck_assert_str_eq(err, "rrdcached 127.0.0.1:9: no connection within 300 ms to LAST "
		                      "/x.rrd");
		ck_assert_msg(ms >= 300 && ms <= 500, "took %.1f ms", ms);
	}
	tp_rrdc_free(c);
}
END_TEST

/* --- two clients, two daemons ------------------------------------------------------------- */

static daemon_t dm2;

static void two_daemons(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	daemon_start(&dm, "a");
	daemon_start(&dm2, "b");
}

static void two_daemons_stop(void)
{
	daemon_stop(&dm);
	daemon_stop(&dm2);
}

typedef struct writer {
	tp_rrdc *c;
	char file[400];
	long upto; /* seconds T0 + 1 .. T0 + upto, 10 rows a call */
	int fails;
	double worst_ms;
	char err[TH_ERRLEN];
} writer_t;

static void *writer_run(void *arg)
{
	writer_t *w = arg;

	for (long k = 1; k <= w->upto; k += 10) {
		rows_t r = rows_make(k, k + 9);
		struct timespec t0;
		double ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (tp_rrdc_update(w->c, w->file, r.n, r.argv, w->err) != TH_OK)
			w->fails++;
		ms = ms_since(&t0);
		if (ms > w->worst_ms)
			w->worst_ms = ms;
		rows_free(&r);
	}
	return NULL;
}

START_TEST(two_clients_of_two_daemons_do_not_disturb_each_other)
{
	writer_t wa = {.upto = 2000}, wb = {.upto = 2000};
	char err[TH_ERRLEN];
	pthread_t ta, tb;
	time_t last;

	wa.c = tp_rrdc_new(dm.unix_addr, TIMEOUT);
	wb.c = tp_rrdc_new(dm2.tcp_addr, TIMEOUT);
	snprintf(wa.file, sizeof wa.file, "%s/w.rrd", dm.dir);
	snprintf(wb.file, sizeof wb.file, "%s/w.rrd", dm2.dir);
	ck_assert_msg(create(wa.c, wa.file, 4000, NULL, T0, err) == TH_OK, "%s", err);
	ck_assert_msg(create(wb.c, wb.file, 4000, NULL, T0, err) == TH_OK, "%s", err);
	/* both at once, 200 calls each */
	ck_assert_int_eq(pthread_create(&ta, NULL, writer_run, &wa), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, writer_run, &wb), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	printf("together: worst call a %.1f ms, b %.1f ms\n", wa.worst_ms, wb.worst_ms);
	ck_assert_msg(wa.fails == 0 && wb.fails == 0, "%s %s", wa.err, wb.err);
	ck_assert_msg(tp_rrdc_flush(wa.c, wa.file, err) == TH_OK, "%s", err);
	ck_assert_msg(tp_rrdc_flush(wb.c, wb.file, err) == TH_OK, "%s", err);
	assert_rows(wa.file, 1, 2000);
	assert_rows(wb.file, 1, 2000);
	/* a stopped: its client waits out its timeout while b's goes on at full speed */
	tp_rrdc_free(wa.c);
	wa.c = tp_rrdc_new(dm.unix_addr, 1000);
	wa.upto = 20; /* 2 calls of 1 s */
	wb.upto = 200;
	wb.worst_ms = 0;
	daemon_pause(&dm);
	ck_assert_int_eq(pthread_create(&ta, NULL, writer_run, &wa), 0);
	usleep(100000);
	/* b writes seconds 2001.. */
	for (long k = 2001; k <= 2200; k += 10) {
		rows_t r = rows_make(k, k + 9);
		struct timespec t0;
		double ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		ck_assert_msg(tp_rrdc_update(wb.c, wb.file, r.n, r.argv, err) == TH_OK, "%s", err);
		ms = ms_since(&t0);
		if (ms > wb.worst_ms)
			wb.worst_ms = ms;
		rows_free(&r);
	}
	pthread_join(ta, NULL);
	printf("a stopped: %d of 2 calls of a timed out (%s); worst call of b %.1f ms\n", wa.fails,
	       wa.err, wb.worst_ms);
	ck_assert_int_eq(wa.fails, 2);
	ck_assert_int_lt(wb.worst_ms, 100);
	ck_assert_msg(tp_rrdc_last(wb.c, wb.file, &last, err) == TH_OK, "%s", err);
	ck_assert_int_eq(last, T0 + 2200);
	ck_assert_int_eq(kill(dm.pid, SIGCONT), 0);
	tp_rrdc_free(wa.c);
	tp_rrdc_free(wb.c);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("rrdc");
	TCase *pure = tcase_create("protocol"), *one = tcase_create("daemon"),
	      *two = tcase_create("two daemons");

	tcase_add_test(pure, addresses_are_split_as_librrd_splits_them);
	tcase_add_test(pure, a_command_line_holds_4096_bytes_with_its_newline);
	tcase_add_test(pure, replies_are_framed_by_their_status);
	suite_add_tcase(s, pure);

	tcase_add_unchecked_fixture(one, setup, teardown);
	tcase_add_checked_fixture(one, one_daemon, one_daemon_stop);
	tcase_set_timeout(one, 60);
	tcase_add_test(one, many_rows_round_trip_over_a_unix_socket);
	tcase_add_test(one, many_rows_round_trip_over_tcp);
	tcase_add_test(one, a_file_created_from_a_source_holds_its_rows_queued_ones_included);
	tcase_add_test(one, a_refused_update_names_the_rows_and_keeps_those_before);
	tcase_add_test(one, a_malformed_row_is_taken_and_lost_with_the_rows_after_it);
	tcase_add_test(one, an_unknown_file_is_named);
	tcase_add_test(one, a_bad_address_is_named);
	tcase_add_test(one, a_restarted_daemon_is_reconnected_to_without_an_error);
	tcase_add_test(one, a_stopped_daemon_costs_the_timeout_over_a_unix_socket);
	tcase_add_test(one, a_stopped_daemon_costs_the_timeout_over_tcp);
	tcase_add_test(one, a_connect_that_never_completes_costs_the_timeout);
	suite_add_tcase(s, one);

	tcase_add_unchecked_fixture(two, setup, teardown);
	tcase_add_checked_fixture(two, two_daemons, two_daemons_stop);
	tcase_set_timeout(two, 60);
	tcase_add_test(two, two_clients_of_two_daemons_do_not_disturb_each_other);
	suite_add_tcase(s, two);
	return s;
}
