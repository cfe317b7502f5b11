/* cmd-receive.c — `themis-agent receive` (on the supervisor): receives the stream of a
 * `send`, measures it on this host's monotonic clock (oneway-engine.h) and writes `second` and
 * `outage` records to the --report outputs. Malformed packets and, with a key, packets without
 * a valid tag are dropped and counted; replays count as duplicates.
 */
#include "themis-config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "args.h"
#include "commands.h"
#include "oneway-engine.h"
#include "oneway-io.h"
#include "oneway-wire.h"
#include "report.h"
#include "th-time.h"

#define OWR_MAX_REPORTS 8

static volatile sig_atomic_t owr_quit;

static void owr_on_signal(int sig)
{
	owr_quit = 1;
}

typedef struct owr_out {
	th_report *report;
	unsigned long long errors;
	char last_err[TH_ERRLEN];
} owr_out;

static void owr_emit(const th_record *rec, void *arg)
{
	owr_out *o = arg;
	char err[TH_ERRLEN];

	if (th_report_write(o->report, rec, err) != TH_OK) {
		if (o->errors++ == 0 || strcmp(err, o->last_err) != 0)
			fprintf(stderr, "themis-agent receive: %s\n", err);
		snprintf(o->last_err, sizeof o->last_err, "%s", err);
	}
}

static void owr_usage(FILE *f)
{
	fprintf(f,
	        "usage: themis-agent receive --listen ADDR:PORT --vm NAME [--report -|FILE|URL]... "
	        "[--token-file F] [--spool-dir D] [--cacert F] [--cert F --key F] "
	        "[--stream ID] [--loss-timeout MS] "
	        "[--min-lost N] [--duration S] [--key-file F]\n");
}

int cmd_receive(int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
	                                     {"vm", required_argument, NULL, 'v'},
	                                     {"report", required_argument, NULL, 'r'},
	                                     {"token-file", required_argument, NULL, 'T'},
	                                     {"spool-dir", required_argument, NULL, 'S'},
	                                     {"cacert", required_argument, NULL, 'a'},
	                                     {"cert", required_argument, NULL, 'c'},
	                                     {"key", required_argument, NULL, 'K'},
	                                     {"stream", required_argument, NULL, 's'},
	                                     {"loss-timeout", required_argument, NULL, 'L'},
	                                     {"min-lost", required_argument, NULL, 'm'},
	                                     {"duration", required_argument, NULL, 'd'},
	                                     {"key-file", required_argument, NULL, 'k'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *listen_at = NULL, *keyfile = NULL, *reports[OWR_MAX_REPORTS];
	size_t nreports = 0;
	report_url_opts uopts = {0};
	th_ow_conf conf;
	th_clock clk;
	th_ow *eng = NULL;
	owr_out out = {0};
	struct sockaddr_storage ss;
	socklen_t sslen;
	int64_t duration = 0, t_end = 0;
	uint64_t min_lost = 2;
	th_hmac hmac;
	bool keyed = false;
	char err[TH_ERRLEN], host[64];
	unsigned long long malformed = 0, forged = 0;
	struct sigaction sa = {0};
	th_ow_counters cnt;
	int c, fd = -1, rc = TH_EXIT_FAIL, one = 1;

	th_ow_conf_defaults(&conf);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		th_err e = TH_OK;
		switch (c) {
		case 'l':
			listen_at = optarg;
			break;
		case 'v':
			e = th_arg_name("--vm", optarg, conf.vm, err);
			break;
		case 'r':
			if (nreports == OWR_MAX_REPORTS) {
				e = th_seterr(err, TH_ERR_INVALID, "at most %d --report outputs",
				              OWR_MAX_REPORTS);
				break;
			}
			reports[nreports++] = optarg;
			break;
		case 'T':
			uopts.token_file = optarg;
			break;
		case 'S':
			uopts.spool_dir = optarg;
			break;
		case 'a':
			uopts.cacert = optarg;
			break;
		case 'c':
			uopts.cert = optarg;
			break;
		case 'K':
			uopts.key = optarg;
			break;
		case 's':
			e = th_arg_name("--stream", optarg, conf.stream, err);
			break;
		case 'L':
			e = th_arg_ms("--loss-timeout", optarg, TH_NS_PER_MS, 10 * TH_NS_PER_SEC,
			              &conf.loss_timeout_ns, err);
			break;
		case 'm':
			e = th_arg_uint("--min-lost", optarg, 1, 1000000, &min_lost, err);
			break;
		case 'd':
			e = th_arg_s("--duration", optarg, 0, 365LL * 86400 * TH_NS_PER_SEC,
			             &duration, err);
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'h':
			owr_usage(stdout);
			return TH_EXIT_OK;
		default:
			owr_usage(stderr);
			return TH_EXIT_USAGE;
		}
		if (e != TH_OK) {
			fprintf(stderr, "themis-agent receive: %s\n", err);
			return TH_EXIT_USAGE;
		}
	}
	conf.min_lost = (uint32_t)min_lost;
	if (optind < argc || listen_at == NULL || conf.vm[0] == '\0') {
		fprintf(stderr, "themis-agent receive: %s\n",
		        optind < argc ? "unexpected argument"
		                      : "--listen ADDR:PORT and --vm NAME are required");
		owr_usage(stderr);
		return TH_EXIT_USAGE;
	}
	if (th_ow_parse_addr("--listen", listen_at, &ss, &sslen, err) != TH_OK) {
		fprintf(stderr, "themis-agent receive: %s\n", err);
		return TH_EXIT_USAGE;
	}
	if (conf.stream[0] == '\0') {
		const char *port = strrchr(listen_at, ':') + 1;
		if (gethostname(host, sizeof host) != 0)
			strcpy(host, "supervisor");
		host[sizeof host - 1] = '\0';
		int n = snprintf(conf.stream, sizeof conf.stream, "%s/%s/%s/oneway", host, conf.vm,
		                 port);
		if (n < 0 || (size_t)n >= sizeof conf.stream) {
			fprintf(stderr,
			        "themis-agent receive: stream name \"%s/%s/%s/oneway\" is "
			        "too long: give --stream\n",
			        host, conf.vm, port);
			return TH_EXIT_USAGE;
		}
	}
	if (keyfile) {
		if (sodium_init() < 0 || th_ow_load_key(keyfile, &hmac, err) != TH_OK) {
			fprintf(stderr, "themis-agent receive: %s\n", err);
			return TH_EXIT_FAIL;
		}
		keyed = true;
	}
	if (nreports == 0)
		reports[nreports++] = "-";
	if (th_report_new(&out.report, err) != TH_OK) {
		fprintf(stderr, "themis-agent receive: %s\n", err);
		return TH_EXIT_FAIL;
	}
	for (size_t i = 0; i < nreports; i++) {
		if (th_report_add(out.report, reports[i], &uopts, err) != TH_OK) {
			fprintf(stderr, "themis-agent receive: --report %s: %s\n", reports[i], err);
			goto done;
		}
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
		fprintf(stderr, "themis-agent receive: cannot listen on %s: %s\n", listen_at,
		        strerror(errno));
		goto done;
	}
	th_clock_init(&clk);
	if (th_ow_new(&eng, &conf, &clk, err) != TH_OK) {
		fprintf(stderr, "themis-agent receive: %s\n", err);
		goto done;
	}
	sa.sa_handler = owr_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (duration > 0)
		t_end = th_mono_ns() + duration;

	while (!owr_quit) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t now = th_mono_ns();

		if (t_end && now >= t_end)
			break;
		if (poll(&pfd, 1, 20) < 0 && errno != EINTR)
			break;
		for (int burst = 0; burst < 256; burst++) {
			uint8_t buf[TH_OW_MAX_LEN + 1];
			ssize_t n = recv(fd, buf, sizeof buf, 0);
			int64_t at = th_mono_ns();
			th_ow_pkt p;

			if (n < 0)
				break;
			if (th_ow_decode(buf, (size_t)n, &p, NULL) != TH_OK) {
				malformed++;
				continue;
			}
			if (keyed && (!(p.flags & TH_OW_FLAG_AUTH) || !th_ow_verify(&hmac, buf))) {
				forged++;
				continue;
			}
			th_ow_packet(eng, &p, at, owr_emit, &out);
		}
		th_ow_advance(eng, th_mono_ns(), owr_emit, &out);
	}
	th_ow_finish(eng, th_mono_ns(), owr_emit, &out);
	th_ow_get_counters(eng, &cnt);
	fprintf(stderr,
	        "themis-agent receive: %llu received, %llu lost, %llu late, %llu duplicate, "
	        "%llu outages, %llu malformed, %llu forged\n",
	        (unsigned long long)cnt.received, (unsigned long long)cnt.lost,
	        (unsigned long long)cnt.late, (unsigned long long)cnt.dup,
	        (unsigned long long)cnt.outages, malformed, forged);
	rc = out.errors ? TH_EXIT_FAIL : TH_EXIT_OK;
done:
	if (fd >= 0)
		close(fd);
	th_ow_free(eng);
	if (out.report && th_report_close(out.report, err) != TH_OK) {
		fprintf(stderr, "themis-agent receive: %s\n", err);
		rc = TH_EXIT_FAIL;
	}
	if (keyed)
		th_hmac_clear(&hmac);
	return rc;
}
