/* cmd-send.c — `themis-agent send` (on the VM): a paced stream of numbered UDP packets to a
 * `receive` on the supervisor. Slot n is due at start + (n - 1) * interval on this host's
 * monotonic clock; when the process falls more than one interval behind (it was stopped, or
 * the VM paused) it does not burst: it skips to the current slot, so the skipped numbers are
 * missing at the receiver. On exit it sends FIN so the receiver knows the silence is the end.
 * send_parse reads the options, send_run sends.
 */
#include "themis-config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "args.h"
#include "commands.h"
#include "th-limits.h"
#include "oneway-io.h"
#include "oneway-wire.h"
#include "th-time.h"

static volatile sig_atomic_t send_quit;

static void send_on_signal(int sig)
{
	send_quit = 1;
}

static void send_usage(FILE *f)
{
	fprintf(f, "usage: themis-agent send --target ADDR:PORT [--interval MS] [--duration S] "
	           "[--key-file F]\n");
}

typedef struct send_opts {
	const char *target;          /* --target, as given */
	struct sockaddr_storage dst; /* ... parsed */
	socklen_t dstlen;
	int64_t interval;    /* ns between slots */
	int64_t duration;    /* ns; 0: until a signal */
	const char *keyfile; /* NULL: packets are not signed */
	bool help;           /* --help: print the usage, run nothing */
	bool usage;          /* on an error: the usage follows the message */
} send_opts;

/* Read and check the options (argv[0] is "send"): the target address, the pace, the duration.
 * Opens nothing; TH_ERR_INVALID with errbuf set, or empty when getopt already named an unknown
 * option on stderr. */
static th_err send_parse(int argc, char **argv, send_opts *o, char *errbuf)
{
	static const struct option opts[] = {
	    {"target", required_argument, NULL, 't'},   {"interval", required_argument, NULL, 'i'},
	    {"duration", required_argument, NULL, 'd'}, {"key-file", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
	int c;

	memset(o, 0, sizeof *o);
	o->interval = 10 * TH_NS_PER_MS;
	errbuf[0] = '\0';
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		th_err e = TH_OK;
		switch (c) {
		case 't':
			o->target = optarg;
			break;
		case 'i':
			e = th_arg_ms("--interval", optarg, TH_INTERVAL_MIN_NS, TH_INTERVAL_MAX_NS,
			              &o->interval, errbuf);
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
			o->usage = true; /* getopt said what is wrong */
			return TH_ERR_INVALID;
		}
		if (e != TH_OK)
			return e;
	}
	if (optind < argc || o->target == NULL) {
		o->usage = true;
		return th_seterr(errbuf, TH_ERR_INVALID, "%s",
		                 o->target ? "unexpected argument"
		                           : "--target ADDR:PORT is required");
	}
	return th_ow_parse_addr("--target", o->target, &o->dst, &o->dstlen, errbuf);
}

/* Send the paced stream with the parsed options until a signal or --duration, then FIN; the
 * exit status. */
static int send_run(const send_opts *o)
{
	int64_t start, now;
	th_hmac hmac;
	bool keyed = false;
	char err[TH_ERRLEN];
	uint8_t buf[TH_OW_MAX_LEN];
	th_ow_pkt p = {0};
	uint64_t sent = 0, skipped = 0, send_errors = 0, n = 1;
	int send_errno = 0; /* the last send error, for the summary */
	/* the last slot scheduled before the end of --duration (0: none) */
	uint64_t last = o->duration > 0 ? (uint64_t)((o->duration - 1) / o->interval) + 1 : 0;
	struct sigaction sa = {0};
	int fd;

	if (o->keyfile) {
		if (sodium_init() < 0 || th_ow_load_key(o->keyfile, &hmac, err) != TH_OK) {
			fprintf(stderr, "themis-agent send: %s\n", err);
			return TH_EXIT_FAIL;
		}
		keyed = true;
	}
	fd = socket(o->dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&o->dst, o->dstlen) != 0) {
		fprintf(stderr, "themis-agent send: cannot reach %s: %s\n", o->target,
		        strerror(errno));
		return TH_EXIT_FAIL;
	}
	sa.sa_handler = send_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	randombytes_buf(&p.session, sizeof p.session);
	p.session |= 1; /* never 0 */
	p.interval_ns = o->interval;
	start = th_mono_ns();
	while (!send_quit) {
		int64_t due = start + (int64_t)(n - 1) * o->interval;
		size_t len = TH_OW_HDR_LEN;

		if (o->duration > 0 && due - start >= o->duration)
			break;
		th_sleep_until_ns(due);
		if (send_quit)
			break;
		now = th_mono_ns();
		p.skipped = 0;
		if (now - due > o->interval) {
			/* stopped or starved: no burst, jump to the slot due now, but never past
			 * the last slot of --duration (the FIN then tells the skipped ones) */
			uint64_t cur = (uint64_t)((now - start) / o->interval) + 1;
			if (last != 0 && cur > last) {
				skipped += last + 1 - n;
				n = last + 1;
				break;
			}
			skipped += cur - n;
			p.skipped = (uint16_t)(cur - n > 65535 ? 65535 : cur - n);
			n = cur;
		}
		p.flags = keyed ? TH_OW_FLAG_AUTH : 0;
		p.seq = n;
		p.send_ns = now;
		th_ow_encode(&p, buf);
		if (keyed) {
			th_ow_sign(&hmac, buf);
			len = TH_OW_MAX_LEN;
		}
		if (send(fd, buf, len, 0) == (ssize_t)len)
			sent++;
		else {
			send_errors++; /* e.g. unreachable during an outage: the slot is simply lost
			                */
			send_errno = errno;
		}
		n++;
	}
	/* FIN, three times 1 ms apart: one may be lost */
	p.flags = (uint8_t)(TH_OW_FLAG_FIN | (keyed ? TH_OW_FLAG_AUTH : 0));
	p.skipped = 0;
	p.seq = n;
	for (int i = 0; i < 3; i++) {
		p.send_ns = th_mono_ns();
		th_ow_encode(&p, buf);
		if (keyed)
			th_ow_sign(&hmac, buf);
		if (send(fd, buf, keyed ? TH_OW_MAX_LEN : TH_OW_HDR_LEN, 0) < 0) {
			send_errors++;
			send_errno = errno;
		}
		th_sleep_until_ns(th_mono_ns() + TH_NS_PER_MS);
	}
	close(fd);
	if (keyed)
		th_hmac_clear(&hmac);
	fprintf(stderr,
	        "themis-agent send: %llu packets sent, %llu slots skipped (sender stalled), %llu "
	        "send errors%s%s%s\n",
	        (unsigned long long)sent, (unsigned long long)skipped,
	        (unsigned long long)send_errors, send_errno ? " (last: " : "",
	        send_errno ? strerror(send_errno) : "", send_errno ? ")" : "");
	return TH_EXIT_OK;
}

int cmd_send(int argc, char **argv)
{
	send_opts o;
	char err[TH_ERRLEN] = "";
	th_err e = send_parse(argc, argv, &o, err);
	int rc = th_cmd_parsed("send", e, err, o.usage, o.help, send_usage);

	return rc >= 0 ? rc : send_run(&o);
}
