/* guest-load.c — themis-guest-load, the lab guests' workload: dirties memory at a paced rate
 * (one byte written per 4 KiB page, pages taken in turn across a working set, so the hypervisor's
 * dirty page rate is the requested rate as long as the working set is not exhausted between two
 * of its dirty-bitmap syncs) and optionally keeps N threads busy. It reports what it achieved on
 * SIGUSR1 and when it ends (SIGTERM, SIGINT, or --duration). Linked statically when configure
 * can (the STATIC_REFLECTOR conditional), so it is copied alone into the guests' initramfs.
 *
 * Units: --dirty-rate in MB/s with MB = 2^20 bytes (256 pages of 4 KiB), --wss in MiB. The
 * working set must fit in the guest's available memory (MemAvailable of /proc/meminfo, less
 * 16 MiB for the rest of the guest); a larger one is refused, not swapped (guests have no swap).
 */
#include "themis-config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "th-error.h"

#define GL_PAGE         4096L
#define GL_PAGES_PER_MB 256.0 /* MB = 2^20 bytes */
#define GL_HEADROOM_MIB 16L
#define GL_MAX_THREADS  64
#define GL_TICK_NS      1000000L /* pacing step: 1 ms */

typedef struct gl_opts {
	double rate_mb;  /* MB/s, >= 0 */
	long wss_mib;    /* >= 1 */
	int cpu_threads; /* 0..GL_MAX_THREADS */
	double duration; /* seconds, 0 = until a signal */
} gl_opts;

typedef struct gl_state {
	unsigned char *mem;
	long pages;
	long next;        /* next page to write */
	uint64_t written; /* pages written since start */
	double t0;        /* start, monotonic s */
	uint64_t last_written;
	double last_t;
} gl_state;

static volatile sig_atomic_t gl_stop, gl_report;
static volatile int gl_spin = 1;

static double gl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void gl_on_signal(int sig)
{
	if (sig == SIGUSR1)
		gl_report = 1;
	else
		gl_stop = 1;
}

static th_err gl_number(const char *opt, const char *s, double lo, double hi, double *out,
                        char *errbuf)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s: a number from %g to %g", opt, s,
		                 lo, hi);
	*out = v;
	return TH_OK;
}

/* Parses the command line into o. */
static th_err gl_parse(int argc, char **argv, gl_opts *o, char *errbuf)
{
	double v;
	th_err e = TH_OK;
	int i, have_rate = 0, have_wss = 0;

	memset(o, 0, sizeof *o);
	for (i = 1; i < argc && e == TH_OK; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			return th_seterr(errbuf, TH_ERR_INVALID, "%s: unknown or missing its value",
			                 a);
		if (strcmp(a, "--dirty-rate") == 0) {
			e = gl_number(a, argv[++i], 0, 100000, &o->rate_mb, errbuf);
			have_rate = 1;
		} else if (strcmp(a, "--wss") == 0) {
			e = gl_number(a, argv[++i], 1, 1048576, &v, errbuf);
			o->wss_mib = (long)v;
			if (e == TH_OK && (double)o->wss_mib != v)
				e = th_seterr(errbuf, TH_ERR_INVALID, "--wss %s: whole MiB",
				              argv[i]);
			have_wss = 1;
		} else if (strcmp(a, "--cpu-threads") == 0) {
			e = gl_number(a, argv[++i], 0, GL_MAX_THREADS, &v, errbuf);
			o->cpu_threads = (int)v;
		} else if (strcmp(a, "--duration") == 0) {
			e = gl_number(a, argv[++i], 0, 864000, &o->duration, errbuf);
		} else {
			return th_seterr(errbuf, TH_ERR_INVALID, "%s: unknown option", a);
		}
	}
	if (e == TH_OK && (!have_rate || !have_wss))
		e = th_seterr(errbuf, TH_ERR_INVALID,
		              "--dirty-rate MB_PER_S and --wss MIB are required");
	return e;
}

/* MemAvailable of /proc/meminfo in MiB, or -1. */
static long gl_mem_available_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

/* Maps and touches the working set (so its pages exist before the paced writes start). */
static th_err gl_map(const gl_opts *o, gl_state *s, char *errbuf)
{
	long avail = gl_mem_available_mib(), i;

	if (avail >= 0 && o->wss_mib > avail - GL_HEADROOM_MIB)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--wss %ld MiB: more than this guest's available memory (%ld MiB "
		                 "MemAvailable, less %ld MiB headroom)",
		                 o->wss_mib, avail, GL_HEADROOM_MIB);
	s->pages = o->wss_mib * (1048576L / GL_PAGE);
	s->mem = mmap(NULL, (size_t)s->pages * GL_PAGE, PROT_READ | PROT_WRITE,
	              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->mem == MAP_FAILED)
		return th_seterr(errbuf, TH_ERR_NOMEM, "--wss %ld MiB: mmap: %s", o->wss_mib,
		                 strerror(errno));
	/* 4 KiB pages: the working set's granularity is the hypervisor's dirty-page granularity */
	madvise(s->mem, (size_t)s->pages * GL_PAGE, MADV_NOHUGEPAGE);
	for (i = 0; i < s->pages; i++)
		s->mem[i * GL_PAGE] = 1;
	return TH_OK;
}

static void *gl_busy(void *arg)
{
	volatile uint64_t x = 0;

	(void)arg;
	while (gl_spin)
		x++;
	return NULL;
}

/* Writes the pages due by now (rate × elapsed), at most one pass of the working set per call. */
static void gl_dirty_due(const gl_opts *o, gl_state *s, double now)
{
	double due = o->rate_mb * GL_PAGES_PER_MB * (now - s->t0);
	uint64_t target = due > 0 ? (uint64_t)due : 0;
	long n = 0;

	while (s->written < target && n < s->pages) {
		s->mem[s->next * GL_PAGE]++;
		if (++s->next == s->pages)
			s->next = 0;
		s->written++;
		n++;
	}
	/* a guest that cannot keep up does not catch up in a burst later */
	if (s->written < target && target - s->written > (uint64_t)s->pages)
		s->written = target - (uint64_t)s->pages;
}

static void gl_print(const char *what, const gl_opts *o, gl_state *s, double now)
{
	double el = now - s->t0, iv = now - s->last_t;
	double all = el > 0 ? (double)s->written / GL_PAGES_PER_MB / el : 0;
	double recent = iv > 0 ? (double)(s->written - s->last_written) / GL_PAGES_PER_MB / iv : 0;

	printf("themis-guest-load: %s target_mb_s=%.1f achieved_mb_s=%.1f recent_mb_s=%.1f "
	       "pages=%" PRIu64 " elapsed_s=%.1f wss_mib=%ld cpu_threads=%d\n",
	       what, o->rate_mb, all, recent, s->written, el, o->wss_mib, o->cpu_threads);
	fflush(stdout);
	s->last_written = s->written;
	s->last_t = now;
}

int main(int argc, char **argv)
{
	char err[TH_ERRLEN];
	gl_opts o;
	gl_state s;
	pthread_t th[GL_MAX_THREADS];
	struct sigaction sa;
	struct timespec tick = {0, GL_TICK_NS};
	int i, nth = 0;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts("usage: themis-guest-load --dirty-rate MB_PER_S --wss MIB [--cpu-threads N] "
		     "[--duration S]\n(MB = 2^20 bytes; SIGUSR1 prints the achieved rate, SIGTERM "
		     "ends)");
		return 0;
	}
	if (gl_parse(argc, argv, &o, err) != TH_OK) {
		fprintf(stderr, "themis-guest-load: %s\n", err);
		return 2;
	}
	memset(&s, 0, sizeof s);
	if (gl_map(&o, &s, err) != TH_OK) {
		fprintf(stderr, "themis-guest-load: %s\n", err);
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = gl_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	for (i = 0; i < o.cpu_threads; i++)
		if (pthread_create(&th[nth], NULL, gl_busy, NULL) == 0)
			nth++;
	s.t0 = s.last_t = gl_now();
	gl_print("started", &o, &s, s.t0);
	while (!gl_stop) {
		double now = gl_now();

		if (o.duration > 0 && now - s.t0 >= o.duration)
			break;
		if (o.rate_mb > 0)
			gl_dirty_due(&o, &s, now);
		if (gl_report) {
			gl_report = 0;
			gl_print("report", &o, &s, now);
		}
		nanosleep(&tick, NULL);
	}
	gl_print("end", &o, &s, gl_now());
	gl_spin = 0;
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	return 0;
}
