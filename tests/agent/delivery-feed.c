/* delivery-feed.c — drives th_report_url like the probe engine does, with synthetic `second`
 * records whose t counts up from --start at --rate records per second. After each push returns
 * (the record is in the spool), its t is printed on stdout: the list of records the agent took
 * responsibility for, which the tests compare with what the endpoint received.
 * On SIGTERM/SIGINT it closes the channel (drain up to --drain-ms) and exits 0 when everything
 * was delivered, 3 when records stay spooled. Last on stderr: "feed: stats spool_dropped N
 * rejected N pending N" (counters when the pushing ended) and "feed: vmhwm_kb N" (the peak
 * resident memory of the whole run, from /proc/self/status).
 * Usage: delivery-feed --url U --spool DIR [--token-file F] [--rate N] [--start K] [--count C]
 *        [--stream S] [--batch N] [--flush-ms MS] [--drain-ms MS] [--spool-max BYTES]
 *        [--auth-retry-ms MS]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report-url-impl.h"
#include "th-time.h"

static volatile sig_atomic_t fd_quit;

static void fd_on_signal(int sig)
{
	fd_quit = 1;
}

/* The peak resident memory of this process (VmHWM), in KiB; -1 when unknown. */
static long fd_vmhwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	th_report_url_opts o = {0};
	th_report_url *r;
	char err[TH_ERRLEN], rec[512];
	long long start = 1000000, count = 0;
	double rate = 20;
	const char *stream = "feed/vm1/1";
	unsigned drain_ms = 10000;
	struct sigaction sa = {0};
	int64_t t0;
	th_report_url_stats st;
	int rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (strcmp(k, "--url") == 0)
			o.url = v;
		else if (strcmp(k, "--spool") == 0)
			o.spool_dir = v;
		else if (strcmp(k, "--token-file") == 0)
			o.token_file = v;
		else if (strcmp(k, "--rate") == 0)
			rate = atof(v);
		else if (strcmp(k, "--start") == 0)
			start = atoll(v);
		else if (strcmp(k, "--count") == 0)
			count = atoll(v);
		else if (strcmp(k, "--stream") == 0)
			stream = v;
		else if (strcmp(k, "--batch") == 0)
			o.batch_max = (unsigned)atoi(v);
		else if (strcmp(k, "--flush-ms") == 0)
			o.flush_ms = (unsigned)atoi(v);
		else if (strcmp(k, "--drain-ms") == 0)
			drain_ms = (unsigned)atoi(v);
		else if (strcmp(k, "--spool-max") == 0)
			o.spool_max = strtoull(v, NULL, 10);
		else if (strcmp(k, "--auth-retry-ms") == 0)
			o.auth_retry_ms = (unsigned)atoi(v);
		else {
			fprintf(stderr, "delivery-feed: unknown option %s\n", k);
			return 2;
		}
	}
	sa.sa_handler = fd_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	o.timeout_ms = 2000;
	o.retry_max_ms = 1000;
	if (th_report_url_open(&r, &o, err) != TH_OK) {
		fprintf(stderr, "delivery-feed: %s\n", err);
		return 1;
	}
	t0 = th_mono_ns();
	for (long long i = 0; !fd_quit && (count == 0 || i < count); i++) {
		int n = snprintf(rec, sizeof rec,
		                 "{\"kind\":\"second\",\"vm\":\"vm1\",\"stream\":\"%s\",\"t\":%lld,"
		                 "\"interval_ms\":10,\"sent\":100,\"received\":100,\"lost_up\":0,"
		                 "\"lost_down\":0,\"lost_unknown\":0,\"late\":0,\"dup\":0,"
		                 "\"rtt_min_ms\":0.1,\"rtt_avg_ms\":0.2,\"rtt_max_ms\":0.3,"
		                 "\"jitter_ms\":0.01,\"max_gap_ms\":10}",
		                 stream, start + i);
		if (th_report_url_push_json(r, rec, (size_t)n, err) != TH_OK) {
			fprintf(stderr, "delivery-feed: %s\n", err);
			break;
		}
		printf("%lld\n", start + i);
		fflush(stdout);
		th_sleep_until_ns(t0 + (int64_t)((double)(i + 1) * 1e9 / rate));
	}
	th_report_url_get_stats(r, &st);
	fprintf(stderr, "feed: stats spool_dropped %llu rejected %llu pending %llu\n",
	        st.spool_dropped, st.rejected, st.pending);
	rc = th_report_url_close(r, drain_ms, err) == TH_OK ? 0 : 3;
	if (rc != 0)
		fprintf(stderr, "delivery-feed: %s\n", err);
	fprintf(stderr, "feed: vmhwm_kb %ld\n", fd_vmhwm_kb());
	return rc;
}
