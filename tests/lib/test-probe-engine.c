/* test-probe-engine.c — the prober (lib/probe-engine.h) against a reflector thread on loopback,
 * stalled on purpose for 3 s, longer than its 1 s loss timeout: a record callback that blocks
 * (as a full stdout pipe, a spool write or the collectd plugin's lock would) holds up records,
 * never probes; the prober's own thread stopped by a signal handler that sleeps is reported as
 * the prober's stall, with no probe lost; a queue too small for the stall drops records and
 * counts them, probing goes on. And a seccomp filter that refuses epoll_pwait2 with EPERM: the
 * prober falls back to its timer file and measures as before, instead of spinning. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe-engine.h"
#include "probe-wire.h"
#include "reflector.h"
#include "th-check.h"

/* ------------------------------------------------------------------ a reflector thread */

typedef struct refl {
	int fd;
	int port;
	volatile int stop;
	bool old_too; /* also answer every probe with a copy of the echo marked version 1 */
	pthread_t th;
} refl;

static void *refl_main(void *arg)
{
	refl *r = arg;
	th_reflector *t;
	uint8_t in[TH_WIRE_MAX + 1], out[TH_WIRE_MAX];
	th_refl_conf rc;

	th_refl_conf_defaults(&rc);
	rc.max_streams = 16;
	ck_assert_int_eq(th_reflector_new(&t, &rc, NULL), TH_OK);
	while (!r->stop) {
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(r->fd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
		th_probe_pkt p;
		if (n <= 0 || th_wire_decode_probe(in, (size_t)n, &p, NULL) != TH_WIRE_OK)
			continue;
		th_refl_src src = {.family = AF_INET, .port = from.sin_port};
		memcpy(src.addr, &from.sin_addr, 4);
		th_refl_answer a;
		th_reflector_receive(t, &src, p.stream_id, p.seq, th_mono_ns(), &a);
		th_echo_pkt e = {.probe = p,
		                 .prev_seq = a.prev_seq,
		                 .run_start = a.run_start,
		                 .rx_count = a.rx_count,
		                 .refl_ns = (uint64_t)th_mono_ns()};
		size_t len = th_wire_encode_echo(out, &e, NULL);
		sendto(r->fd, out, len, 0, (struct sockaddr *)&from, fl);
		if (r->old_too) {
			out[4] = 1;
			sendto(r->fd, out, len, 0, (struct sockaddr *)&from, fl);
		}
	}
	th_reflector_free(t);
	return NULL;
}

static void refl_start_opt(refl *r, bool old_too)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof a;

	memset(r, 0, sizeof *r);
	r->old_too = old_too;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(r->fd, 0);
	ck_assert_int_eq(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(getsockname(r->fd, (struct sockaddr *)&a, &al), 0);
	r->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&r->th, NULL, refl_main, r), 0);
}

static void refl_start(refl *r)
{
	refl_start_opt(r, false);
}

static void refl_stop(refl *r)
{
	r->stop = 1;
	pthread_join(r->th, NULL);
	close(r->fd);
}

/* ------------------------------------------------------------------ the records */

typedef struct got {
	pthread_mutex_t mu;
	th_record *recs;
	size_t n;
	int64_t block_ns; /* the first record's callback blocks this long */
	pthread_t cb_thread;
	int log_lines;
	char logs[4096]; /* every log line, one per line (as far as they fit) */
} got;

static void sleep_ns(int64_t ns)
{
	th_sleep_until_ns(th_mono_ns() + ns);
}

static void on_record(const th_record *r, void *arg)
{
	got *g = arg;

	pthread_mutex_lock(&g->mu);
	bool block = g->n == 0 && g->block_ns > 0;
	g->cb_thread = pthread_self();
	pthread_mutex_unlock(&g->mu);
	if (block)
		sleep_ns(g->block_ns);
	pthread_mutex_lock(&g->mu);
	g->recs = realloc(g->recs, (g->n + 1) * sizeof *g->recs);
	g->recs[g->n++] = *r;
	pthread_mutex_unlock(&g->mu);
}

static void on_log(int level, const char *msg, void *arg)
{
	got *g = arg;

	(void)level;
	pthread_mutex_lock(&g->mu);
	g->log_lines++;
	size_t n = strlen(g->logs);
	snprintf(g->logs + n, sizeof g->logs - n, "%s\n", msg);
	pthread_mutex_unlock(&g->mu);
	fprintf(stderr, "prober: %s\n", msg);
}

typedef struct totals {
	uint64_t seconds, outages, sent, received, lost, slips, stall_ms;
} totals;

static totals sum(const got *g)
{
	totals t = {0};

	for (size_t i = 0; i < g->n; i++) {
		const th_record *r = &g->recs[i];
		if (r->kind == TH_REC_OUTAGE) {
			t.outages++;
			continue;
		}
		const th_second *s = &r->u.second;
		t.seconds++;
		t.sent += s->sent;
		t.received += s->received;
		t.lost += s->lost_up + s->lost_down + s->lost_unknown;
		t.slips += s->slips;
		t.stall_ms += s->prober_stall_ms;
	}
	return t;
}

static th_prober *new_prober(refl *r, got *g)
{
	th_prober *p;
	th_target t;
	char addr[64], err[TH_ERRLEN];

	memset(g, 0, sizeof *g);
	pthread_mutex_init(&g->mu, NULL);
	ck_assert_int_eq(th_prober_new(&p, on_record, g, err), TH_OK);
	th_prober_set_log(p, on_log, g);
	th_target_defaults(&t);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", r->port);
	ck_assert_int_eq(th_target_set_addr(&t, addr, err), TH_OK);
	snprintf(t.probe.vm, sizeof t.probe.vm, "vm1");
	ck_assert_int_eq(th_prober_add(p, &t, err), TH_OK);
	return p;
}

static void free_got(got *g)
{
	free(g->recs);
	pthread_mutex_destroy(&g->mu);
}

/* ------------------------------------------------------------------ tests */

/* The callback blocks 3 s on the first record (1 s loss timeout): every probe is answered, no
 * outage, every second arrives afterwards, and the blocked output is reported as such. */
START_TEST(blocking_callback_holds_up_records_not_probes)
{
	refl r;
	got g;
	char err[TH_ERRLEN];

	refl_start(&r);
	th_prober *p = new_prober(&r, &g);
	g.block_ns = 3 * TH_NS_PER_SEC;
	ck_assert_int_eq(th_prober_run(p, 7 * TH_NS_PER_SEC, err), TH_OK);
	refl_stop(&r);

	totals t = sum(&g);
	th_target_stats st;
	th_prober_health h;
	th_prober_stats(p, 0, &st);
	th_prober_get_health(p, &h);
	fprintf(stderr, "blocking callback: %llu seconds, sent %llu received %llu lost %llu\n",
	        (unsigned long long)t.seconds, (unsigned long long)t.sent,
	        (unsigned long long)t.received, (unsigned long long)t.lost);
	ck_assert_uint_eq(t.outages, 0);
	ck_assert_uint_eq(t.lost, 0);
	ck_assert_uint_eq(st.s.lost_up + st.s.lost_down + st.s.lost_unknown, 0);
	ck_assert_uint_eq(st.s.late, 0);
	ck_assert_uint_eq(t.sent, st.s.sent);
	ck_assert_uint_eq(t.received, st.s.sent);
	/* 7 s at 10 ms: 700 probes in 7 or 8 epoch seconds, all of them delivered */
	ck_assert_uint_eq(st.s.sent, 700);
	ck_assert_uint_ge(t.seconds, 7);
	ck_assert_uint_le(t.seconds, 8);
	ck_assert_uint_eq(h.records_dropped, 0);
	ck_assert_uint_ge(h.output_stalls, 1);
	ck_assert_int_ge(h.output_stall_max_ns, 3 * TH_NS_PER_SEC);
	ck_assert(!pthread_equal(g.cb_thread, pthread_self())); /* not on the probing thread */
	th_prober_free(p);
	free_got(&g);
}
END_TEST

/* A reflector that also sends a version-1 copy of every echo: the copies are counted as
 * old-version, never as echoes, and the measurement is exact. */
START_TEST(echoes_of_another_version_are_counted_apart)
{
	refl r;
	got g;
	char err[TH_ERRLEN];

	refl_start_opt(&r, true);
	th_prober *p = new_prober(&r, &g);
	ck_assert_int_eq(th_prober_run(p, 2 * TH_NS_PER_SEC, err), TH_OK);
	refl_stop(&r);

	th_target_stats st;
	th_prober_stats(p, 0, &st);
	ck_assert_uint_eq(st.s.sent, 200);
	ck_assert_uint_eq(st.s.received, 200);
	ck_assert_uint_eq(st.old_version, 200);
	/* said once, in the log */
	ck_assert_int_eq(g.log_lines, 1);
	ck_assert_ptr_nonnull(strstr(g.logs, "vm1 (127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(g.logs, "): echo of wire version 1 dropped (update the "
	                                     "reflector: this prober speaks version 2)\n"));
	ck_assert_uint_eq(st.malformed, 0);
	ck_assert_uint_eq(st.forged, 0);
	ck_assert_uint_eq(st.s.dup, 0);
	ck_assert_uint_eq(st.s.lost_up + st.s.lost_down + st.s.lost_unknown, 0);
	th_prober_free(p);
	free_got(&g);
}
END_TEST

static void sleep_on_signal(int sig)
{
	struct timespec ts = {3, 0};

	(void)sig;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

typedef struct staller {
	pthread_t target;
	pid_t tid;      /* the target's thread id, for its state in /proc */
	bool working;   /* signal it only once it is seen running (not asleep in its wait) */
	int64_t after_ns;
	bool seen_running;
} staller;

/* Is the thread running (R) rather than asleep? The third field of /proc/self/task/T/stat,
 * after the command in parentheses. */
static bool thread_running(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *rp = strrchr(buf, ')');
	return rp != NULL && rp[1] == ' ' && rp[2] == 'R';
}

static void *stall_later(void *arg)
{
	staller *s = arg;

	sleep_ns(s->after_ns);
	/* the loop sleeps most of each 10 ms: catch it between two waits, at work, for up to 2 s */
	for (int64_t end = th_mono_ns() + 2 * TH_NS_PER_SEC; s->working && th_mono_ns() < end;)
		if (thread_running(s->tid)) {
			s->seen_running = true;
			break;
		}
	pthread_kill(s->target, SIGUSR1);
	return NULL;
}

/* The probing thread itself is held for 3 s (a signal handler that sleeps, wherever the loop
 * is): the echoes of the probes sent before wait in the socket with their kernel receive time,
 * so nothing is lost; the missed slots are skipped (slips) and the 3 s are reported as the
 * prober's own stall, in its counters and in the seconds it covers. Held while it waits for
 * the next slot (where it spends most of its time) or while it works between two waits: a
 * stall is measured from when the loop meant to run on, wherever it was held. */
static void check_stalled_prober(bool working)
{
	refl r;
	got g;
	char err[TH_ERRLEN];
	struct sigaction sa = {.sa_handler = sleep_on_signal}, old;
	pthread_t th;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	refl_start(&r);
	th_prober *p = new_prober(&r, &g);
	staller s = {.target = pthread_self(),
	             .tid = (pid_t)syscall(SYS_gettid),
	             .working = working,
	             .after_ns = 2500 * TH_NS_PER_MS};
	ck_assert_int_eq(pthread_create(&th, NULL, stall_later, &s), 0);
	ck_assert_int_eq(th_prober_run(p, 8 * TH_NS_PER_SEC, err), TH_OK);
	pthread_join(th, NULL);
	refl_stop(&r);
	sigaction(SIGUSR1, &old, NULL);

	totals t = sum(&g);
	th_target_stats st;
	th_prober_health h;
	th_prober_stats(p, 0, &st);
	th_prober_get_health(p, &h);
	fprintf(stderr,
	        "stalled prober%s: sent %llu received %llu lost %llu skipped %llu slips %llu, "
	        "stall %.3f s in %llu, marked %llu ms\n",
	        !working ? "" : s.seen_running ? " (at work)" : " (not seen at work)",
	        (unsigned long long)st.s.sent, (unsigned long long)st.s.received,
	        (unsigned long long)t.lost, (unsigned long long)st.s.skipped,
	        (unsigned long long)st.s.slips, (double)h.stall_max_ns / 1e9,
	        (unsigned long long)h.stalls, (unsigned long long)t.stall_ms);
	ck_assert_uint_eq(t.outages, 0);
	ck_assert_uint_eq(t.lost, 0);
	ck_assert_uint_eq(st.s.lost_up + st.s.lost_down + st.s.lost_unknown, 0);
	ck_assert_uint_eq(st.s.received, st.s.sent);
	ck_assert_uint_ge(h.stalls, 1);
	/* measured from when the loop meant to wake: the signal may come a little after that */
	ck_assert_int_ge(h.stall_max_ns, 2950 * TH_NS_PER_MS);
	ck_assert_int_lt(h.stall_max_ns, 3 * TH_NS_PER_SEC + 500 * TH_NS_PER_MS);
	/* the marked time is the stall (plus any other stall of a loaded machine) */
	ck_assert_uint_ge(t.stall_ms, 2950);
	ck_assert_uint_le(t.stall_ms, (uint64_t)(h.stall_total_ns / TH_NS_PER_MS) + 2);
	/* 8 s at 10 ms: about 290 of the 300 slots of the stall skipped, the rest sent late */
	ck_assert_uint_ge(st.s.skipped, 285);
	ck_assert_uint_le(st.s.skipped, 300);
	ck_assert_uint_eq(st.s.sent + st.s.skipped, 800);
	ck_assert_uint_eq(t.sent, st.s.sent);
	ck_assert_int_ge(g.log_lines, 1); /* the stall was logged */
	th_prober_free(p);
	free_got(&g);
}

START_TEST(stalled_prober_thread_is_its_own_stall_not_loss)
{
	check_stalled_prober(false);
}
END_TEST

START_TEST(prober_stalled_at_work_is_its_own_stall_too)
{
	check_stalled_prober(true);
}
END_TEST

/* A queue of 2 records and an output blocked 3 s: records beyond the queue are dropped and
 * counted, the probes are not affected. */
START_TEST(full_queue_drops_and_counts_records_never_probes)
{
	refl r;
	got g;
	char err[TH_ERRLEN];

	refl_start(&r);
	th_prober *p = new_prober(&r, &g);
	th_prober_set_queue(p, 2);
	g.block_ns = 4 * TH_NS_PER_SEC;
	ck_assert_int_eq(th_prober_run(p, 7 * TH_NS_PER_SEC, err), TH_OK);
	refl_stop(&r);

	totals t = sum(&g);
	th_target_stats st;
	th_prober_health h;
	th_prober_stats(p, 0, &st);
	th_prober_get_health(p, &h);
	fprintf(stderr, "small queue: %llu seconds delivered, %llu dropped\n",
	        (unsigned long long)t.seconds, (unsigned long long)h.records_dropped);
	ck_assert_uint_eq(st.s.sent, 700);
	ck_assert_uint_eq(st.s.received, 700);
	ck_assert_uint_ge(h.records_dropped, 1);
	/* every second was emitted once: delivered or dropped */
	ck_assert_uint_ge(t.seconds + h.records_dropped, 7);
	ck_assert_uint_le(t.seconds + h.records_dropped, 8);
	ck_assert_uint_eq(t.lost, 0);
	th_prober_free(p);
	free_got(&g);
}
END_TEST

/* Only this test's process (Check forks one per test) gets the filter. */
START_TEST(epoll_pwait2_refused_falls_back_to_the_timer)
{
#ifdef __NR_epoll_pwait2
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_epoll_pwait2, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
	refl r;
	got g;
	char err[TH_ERRLEN];

	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
	refl_start(&r);
	th_prober *p = new_prober(&r, &g);
	int64_t t0 = th_mono_ns();
	ck_assert_int_eq(th_prober_run(p, 3 * TH_NS_PER_SEC, err), TH_OK);
	int64_t took = th_mono_ns() - t0;
	refl_stop(&r);

	totals t = sum(&g);
	th_target_stats st;
	th_prober_stats(p, 0, &st);
	fprintf(stderr, "epoll_pwait2 refused: sent %llu received %llu lost %llu in %.3f s\n",
	        (unsigned long long)st.s.sent, (unsigned long long)st.s.received,
	        (unsigned long long)t.lost, (double)took / 1e9);
	ck_assert_uint_eq(st.s.sent, 300);
	ck_assert_uint_eq(st.s.received, 300);
	ck_assert_uint_eq(t.lost, 0);
	ck_assert_uint_eq(t.sent, 300);
	ck_assert_ptr_nonnull(strstr(g.logs, "epoll_pwait2: Operation not permitted"));
	th_prober_free(p);
	free_got(&g);
#endif
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("probe-engine");
	TCase *tc = tcase_create("stalls");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, blocking_callback_holds_up_records_not_probes);
	tcase_add_test(tc, echoes_of_another_version_are_counted_apart);
	tcase_add_test(tc, stalled_prober_thread_is_its_own_stall_not_loss);
	tcase_add_test(tc, prober_stalled_at_work_is_its_own_stall_too);
	tcase_add_test(tc, full_queue_drops_and_counts_records_never_probes);
	tcase_add_test(tc, epoll_pwait2_refused_falls_back_to_the_timer);
	suite_add_tcase(s, tc);
	return s;
}
