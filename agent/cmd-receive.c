/* cmd-receive.c — `themis-agent receive` (on the supervisor): receives the stream of a
 * `send`, measures it on this host's monotonic clock (oneway-engine.h) and writes `second` and
 * `outage` records to the --report outputs. Malformed packets and, with a key, packets without
 * a valid tag are dropped and counted; replays count as duplicates. receive_parse reads the
 * options, receive_run receives.
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
#include "th-limits.h"
#include "oneway-engine.h"
#include "oneway-io.h"
#include "oneway-wire.h"
#include "report.h"
#include "th-time.h"

#define RECEIVE_MAX_REPORTS 8

static volatile sig_atomic_t receive_quit;

static void receive_on_signal(int sig)
{
	receive_quit = 1;
}

typedef struct receive_out {
	th_report *report;
	unsigned long long errors;
	char last_err[TH_ERRLEN];
} receive_out;

static void receive_emit(const th_record *rec, void *arg)
{
	receive_out *o = arg;
	char err[TH_ERRLEN];

	if (th_report_write(o->report, rec, err) != TH_OK) {
		if (o->errors++ == 0 || strcmp(err, o->last_err) != 0)
			fprintf(stderr, "themis-agent receive: %s\n", err);
		snprintf(o->last_err, sizeof o->last_err, "%s", err);
	}
}

static void receive_usage(FILE *f)
{
	fprintf(f, "usage: themis-agent receive --listen ADDR:PORT --vm NAME [--report "
	           "-|FILE|URL]... " TH_REPORT_USAGE " "
	           "[--stream ID] [--loss-timeout MS] "
	           "[--min-lost N] [--duration S] [--key-file F]\n");
}

typedef struct receive_opts {
	const char *listen_at;      /* --listen, as given */
	struct sockaddr_storage ss; /* ... parsed */
	socklen_t sslen;
	th_ow_conf conf;     /* VM, stream, loss timeout, min lost */
	int64_t duration;    /* 0: until a signal */
	const char *keyfile; /* NULL: packets are not authenticated */
	const char *reports[RECEIVE_MAX_REPORTS];
	size_t nreports;
	report_url_opts url;
	bool help;  /* --help: print the usage, run nothing */
	bool usage; /* on an error: the usage follows the message */
} receive_opts;

/* Read and check the options (argv[0] is "receive"): the listening address, the record names
 * (default stream: <host name>/<vm>/<port>/oneway), the measurement settings and the --report
 * outputs. Opens nothing; TH_ERR_INVALID with errbuf set, or empty when getopt already named an
 * unknown option on stderr. */
static th_err receive_parse(int argc, char **argv, receive_opts *o, char *errbuf)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
	                                     {"vm", required_argument, NULL, 'v'},
	                                     {"report", required_argument, NULL, 'r'},
	                                     {"stream", required_argument, NULL, 's'},
	                                     {"loss-timeout", required_argument, NULL, 'L'},
	                                     {"min-lost", required_argument, NULL, 'm'},
	                                     {"duration", required_argument, NULL, 'd'},
	                                     {"key-file", required_argument, NULL, 'k'},
	                                     TH_REPORT_LONGOPTS,
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	uint64_t min_lost = 2;
	char host[64];
	int c;

	memset(o, 0, sizeof *o);
	th_ow_conf_defaults(&o->conf);
	errbuf[0] = '\0';
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		th_err e = TH_OK;
		switch (c) {
		case 'l':
			o->listen_at = optarg;
			break;
		case 'v':
			e = th_arg_name("--vm", optarg, o->conf.vm, errbuf);
			break;
		case 'r':
			if (o->nreports == RECEIVE_MAX_REPORTS) {
				e = th_seterr(errbuf, TH_ERR_INVALID, "at most %d --report outputs",
				              RECEIVE_MAX_REPORTS);
				break;
			}
			o->reports[o->nreports++] = optarg;
			break;
		case 's':
			e = th_arg_name("--stream", optarg, o->conf.stream, errbuf);
			break;
		case 'L':
			e = th_arg_ms("--loss-timeout", optarg, TH_NS_PER_MS, 10 * TH_NS_PER_SEC,
			              &o->conf.loss_timeout_ns, errbuf);
			break;
		case 'm':
			e = th_arg_uint("--min-lost", optarg, TH_MIN_LOST_MIN, TH_MIN_LOST_MAX,
			                &min_lost, errbuf);
			break;
		case 'd':
			e = th_arg_s("--duration", optarg, 0, TH_DURATION_MAX_NS, &o->duration,
			             errbuf);
			break;
		case 'k':
			o->keyfile = optarg;
			break;
		case 'h':
			o->help = true;
			return TH_OK;
		default:
			if (th_report_opt(c, optarg, &o->url, &e, errbuf))
				break;
			o->usage = true; /* getopt said what is wrong */
			return TH_ERR_INVALID;
		}
		if (e != TH_OK)
			return e;
	}
	o->conf.min_lost = (uint32_t)min_lost;
	if (optind < argc || o->listen_at == NULL || o->conf.vm[0] == '\0') {
		o->usage = true;
		return th_seterr(errbuf, TH_ERR_INVALID, "%s",
		                 optind < argc ? "unexpected argument"
		                               : "--listen ADDR:PORT and --vm NAME are required");
	}
	th_err e = th_ow_parse_addr("--listen", o->listen_at, &o->ss, &o->sslen, errbuf);
	if (e != TH_OK)
		return e;
	if (o->conf.stream[0] == '\0') {
		const char *port = strrchr(o->listen_at, ':') + 1;
		if (gethostname(host, sizeof host) != 0)
			strcpy(host, "supervisor");
		host[sizeof host - 1] = '\0';
		int n = snprintf(o->conf.stream, sizeof o->conf.stream, "%s/%s/%s/oneway", host,
		                 o->conf.vm, port);
		if (n < 0 || (size_t)n >= sizeof o->conf.stream)
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "stream name \"%s/%s/%s/oneway\" is too long: give --stream", host,
			    o->conf.vm, port);
	}
	if (o->nreports == 0)
		o->reports[o->nreports++] = "-";
	return TH_OK;
}

/* Receive and measure with the parsed options until a signal or --duration; the exit status. */
static int receive_run(const receive_opts *o)
{
	th_clock clk;
	th_ow *eng = NULL;
	receive_out out = {0};
	int64_t t_end = 0;
	th_hmac hmac;
	bool keyed = false;
	char err[TH_ERRLEN];
	unsigned long long malformed = 0, forged = 0;
	struct sigaction sa = {0};
	th_ow_counters cnt;
	int fd = -1, rc = TH_EXIT_FAIL, one = 1;

	if (o->keyfile) {
		if (sodium_init() < 0 || th_ow_load_key(o->keyfile, &hmac, err) != TH_OK) {
			fprintf(stderr, "themis-agent receive: %s\n", err);
			return TH_EXIT_FAIL;
		}
		keyed = true;
	}
	if (th_report_new(&out.report, err) != TH_OK) {
		fprintf(stderr, "themis-agent receive: %s\n", err);
		return TH_EXIT_FAIL;
	}
	for (size_t i = 0; i < o->nreports; i++) {
		if (th_report_add(out.report, o->reports[i], &o->url, err) != TH_OK) {
			fprintf(stderr, "themis-agent receive: --report %s: %s\n", o->reports[i],
			        err);
			goto done;
		}
	}
	fd = socket(o->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&o->ss, o->sslen) != 0) {
		fprintf(stderr, "themis-agent receive: cannot listen on %s: %s\n", o->listen_at,
		        strerror(errno));
		goto done;
	}
	th_clock_init(&clk);
	if (th_ow_new(&eng, &o->conf, &clk, err) != TH_OK) {
		fprintf(stderr, "themis-agent receive: %s\n", err);
		goto done;
	}
	sa.sa_handler = receive_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (o->duration > 0)
		t_end = th_mono_ns() + o->duration;

	while (!receive_quit) {
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
			th_ow_packet(eng, &p, at, receive_emit, &out);
		}
		th_ow_advance(eng, th_mono_ns(), receive_emit, &out);
	}
	th_ow_finish(eng, th_mono_ns(), receive_emit, &out);
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

int cmd_receive(int argc, char **argv)
{
	receive_opts o;
	char err[TH_ERRLEN] = "";
	th_err e = receive_parse(argc, argv, &o, err);
	int rc = th_cmd_parsed("receive", e, err, o.usage, o.help, receive_usage);

	return rc >= 0 ? rc : receive_run(&o);
}
