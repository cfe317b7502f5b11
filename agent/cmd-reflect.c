/* cmd-reflect.c — "themis-agent reflect": echo probes on the VM, adding what the reflector
 * knows about each stream (reflector.h). One socket, batched receive and send, kernel receive
 * timestamps to measure how long a probe waited before being echoed. Only a probe that decoded
 * as this wire version (and, with a key, authenticated) can cause an echo, and an echo is never
 * longer than that probe (probe-wire.h). The counters go to standard error on SIGUSR1 and when
 * it stops. refl_parse reads the options, refl_run echoes. */
#include "themis-config.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "probe-engine.h"
#include "probe-wire.h"
#include "reflector.h"
#include "th-time.h"

#define BATCH 32

static volatile sig_atomic_t refl_stop, refl_report;

static void refl_on_signal(int sig)
{
	if (sig == SIGUSR1)
		refl_report = 1;
	else
		refl_stop = 1;
}

typedef struct refl_counts {
	uint64_t received, echoed, duplicates, too_old, replayed;
	uint64_t malformed, unauth, forged, old_version, send_errors;
} refl_counts;

static void refl_usage(FILE *f)
{
	fprintf(f, "usage: themis-agent reflect --listen ADDR:PORT [--key-file FILE] "
	           "[--max-streams N]\n"
	           "       [--active-window S] [--new-streams-rate N] [--new-streams-burst N]\n");
}

/* The first probe of another wire version: say why nothing is measured (once). */
static void refl_old_version(unsigned version)
{
	fprintf(stderr,
	        "themis-agent reflect: probe of wire version %u dropped (update the prober: this "
	        "reflector speaks version %d)\n",
	        version, TH_WIRE_VERSION);
}

/* One line with every counter, on standard error. */
static void refl_print(const refl_counts *c, const th_reflector *r)
{
	th_refl_counters rc;

	th_reflector_counters(r, &rc);
	fprintf(stderr,
	        "themis-agent reflect: received %llu echoed %llu streams %zu evicted %llu "
	        "refused %llu rate-limited %llu duplicates %llu too-old %llu replayed %llu "
	        "malformed %llu unauthenticated %llu forged %llu old-version %llu "
	        "send-errors %llu\n",
	        (unsigned long long)c->received, (unsigned long long)c->echoed, rc.streams,
	        (unsigned long long)rc.evicted, (unsigned long long)rc.refused,
	        (unsigned long long)rc.rate_limited, (unsigned long long)c->duplicates,
	        (unsigned long long)c->too_old, (unsigned long long)c->replayed,
	        (unsigned long long)c->malformed, (unsigned long long)c->unauth,
	        (unsigned long long)c->forged, (unsigned long long)c->old_version,
	        (unsigned long long)c->send_errors);
}

static int refl_open(const char *listen_spec, char *errbuf)
{
	th_target t;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
	                         .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *res;
	int fd = -1, on = 1, rc;

	if (th_target_set_addr(&t, listen_spec, errbuf) != TH_OK)
		return -1;
	rc = getaddrinfo(t.host, t.port, &hints, &res);
	if (rc != 0) {
		th_seterr(errbuf, TH_ERR_NET, "--listen %s: %s", listen_spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && res->ai_family == AF_INET6) {
		int off = 0;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
	}
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		th_seterr(errbuf, TH_ERR_NET, "--listen %s: %s", listen_spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
	/* room for bursts from many probers (kernel memory, not the process's); as root beyond
	 * net.core.rmem_max */
	int sz = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	return fd;
}

static void refl_src(const struct sockaddr_storage *ss, th_refl_src *s)
{
	memset(s, 0, sizeof *s);
	s->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		s->port = a->sin_port;
		memcpy(s->addr, &a->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		s->port = a->sin6_port;
		memcpy(s->addr, &a->sin6_addr, 16);
	}
}

/* Kernel receive time of a message (CLOCK_REALTIME), 0 when absent. */
static int64_t refl_rx_time(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			return (int64_t)ts.tv_sec * TH_NS_PER_SEC + ts.tv_nsec;
		}
	}
	return 0;
}

static int refl_loop(int fd, th_reflector *r, const th_hmac *key, refl_counts *c)
{
	static uint8_t in[BATCH][TH_WIRE_MAX + 1], out[BATCH][TH_WIRE_MAX];
	static struct sockaddr_storage from[BATCH];
	static char ctl[BATCH][CMSG_SPACE(sizeof(struct timespec)) + 64];
	struct mmsghdr rx[BATCH], tx[BATCH];
	struct iovec riov[BATCH], tiov[BATCH];

	sigset_t block, waitmask;

	/* signals are taken only inside ppoll, so a stop request can never be missed */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGUSR1);
	while (!refl_stop) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (refl_report) {
			refl_report = 0;
			refl_print(c, r);
		}
		if (ppoll(&pfd, 1, NULL, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "themis-agent reflect: poll: %s\n", strerror(errno));
			return TH_EXIT_FAIL;
		}
		for (int i = 0; i < BATCH; i++) {
			riov[i] = (struct iovec){in[i], sizeof in[i]};
			rx[i].msg_hdr = (struct msghdr){
			    .msg_name = &from[i],
			    .msg_namelen = sizeof from[i],
			    .msg_iov = &riov[i],
			    .msg_iovlen = 1,
			    .msg_control = ctl[i],
			    .msg_controllen = sizeof ctl[i],
			};
		}
		int n = recvmmsg(fd, rx, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNREFUSED)
				continue;
			fprintf(stderr, "themis-agent reflect: receive: %s\n", strerror(errno));
			return TH_EXIT_FAIL;
		}
		struct timespec now_rt;
		clock_gettime(CLOCK_REALTIME, &now_rt);
		int64_t now_wall = (int64_t)now_rt.tv_sec * TH_NS_PER_SEC + now_rt.tv_nsec;
		int64_t now_mono = th_mono_ns();
		int m = 0;
		for (int i = 0; i < n; i++) {
			th_probe_pkt p;
			size_t len = rx[i].msg_len;
			c->received++;
			if (rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
				c->malformed++;
				continue;
			}
			th_wire_status ws = th_wire_decode_probe(in[i], len, &p, key);
			if (ws != TH_WIRE_OK) {
				if (ws == TH_WIRE_MALFORMED)
					c->malformed++;
				else if (ws == TH_WIRE_UNAUTH)
					c->unauth++;
				else if (ws == TH_WIRE_FORGED)
					c->forged++;
				else if (c->old_version++ == 0)
					refl_old_version(in[i][4]);
				continue;
			}
			th_refl_src src;
			th_refl_answer a;
			refl_src(&from[i], &src);
			th_refl_verdict v =
			    th_reflector_receive(r, &src, p.stream_id, p.seq, now_mono, &a);
			if (v == TH_REFL_REFUSED || v == TH_REFL_RATE_LIMITED)
				continue; /* counted by the reflector; no state, no echo */
			if (v == TH_REFL_DUP)
				c->duplicates++;
			else if (v == TH_REFL_TOO_OLD)
				c->too_old++;
			if (v != TH_REFL_ECHO && key != NULL) {
				c->replayed++; /* from any source: the stream is its id */
				continue;
			}
			int64_t rxt = refl_rx_time(&rx[i].msg_hdr);
			th_echo_pkt e = {
			    .probe = p,
			    .prev_seq = a.prev_seq,
			    .run_start = a.run_start,
			    .rx_count = a.rx_count,
			    .refl_ns = (uint64_t)now_mono,
			    .hold_ns = rxt > 0 && now_wall > rxt ? (uint64_t)(now_wall - rxt) : 0,
			};
			tiov[m] = (struct iovec){out[m], th_wire_encode_echo(out[m], &e, key)};
			tx[m].msg_hdr = (struct msghdr){
			    .msg_name = &from[i],
			    .msg_namelen = rx[i].msg_hdr.msg_namelen,
			    .msg_iov = &tiov[m],
			    .msg_iovlen = 1,
			};
			m++;
		}
		for (int done = 0; done < m;) {
			int s = sendmmsg(fd, tx + done, (unsigned)(m - done), 0);
			if (s < 0) {
				if (errno == EINTR)
					continue;
				/* this datagram failed (e.g. no route back): count it, go on */
				c->send_errors++;
				done++;
				continue;
			}
			c->echoed += (uint64_t)s;
			done += s;
		}
	}
	return TH_EXIT_OK;
}

typedef struct refl_opts {
	const char *listen_spec; /* --listen ADDR:PORT */
	const char *key_file;    /* NULL: probes are not authenticated */
	th_refl_conf rconf;      /* stream table limits */
	bool help;               /* --help: print the usage, run nothing */
	bool usage;              /* on an error: the usage follows the message */
} refl_opts;

/* Read and check the options (argv[0] is "reflect"). Opens nothing; TH_ERR_INVALID with errbuf
 * set. */
static th_err refl_parse(int argc, char **argv, refl_opts *o, char *errbuf)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"key-file", required_argument, NULL, 'k'},
	    {"max-streams", required_argument, NULL, 'm'},
	    {"active-window", required_argument, NULL, 'a'},
	    {"new-streams-rate", required_argument, NULL, 'r'},
	    {"new-streams-burst", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t v;
	th_err e = TH_OK;
	int c;

	memset(o, 0, sizeof *o);
	th_refl_conf_defaults(&o->rconf);
	optind = 1;
	opterr = 0;
	while (e == TH_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen_spec = optarg;
			break;
		case 'k':
			o->key_file = optarg;
			break;
		case 'm':
			e = th_arg_uint("--max-streams", optarg, 1, TH_REFL_MAX_STREAMS, &v,
			                errbuf);
			o->rconf.max_streams = (size_t)v;
			break;
		case 'a':
			e = th_arg_s("--active-window", optarg, 0, 86400 * TH_NS_PER_SEC,
			             &o->rconf.active_window_ns, errbuf);
			break;
		case 'r':
			e = th_arg_uint("--new-streams-rate", optarg, 0, 1000000, &v, errbuf);
			o->rconf.new_per_sec = (uint32_t)v;
			break;
		case 'b':
			e = th_arg_uint("--new-streams-burst", optarg, 1, 1000000, &v, errbuf);
			o->rconf.new_burst = (uint32_t)v;
			break;
		case 'h':
			o->help = true;
			return TH_OK;
		default:
			o->usage = true;
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "unknown option or missing value: %s", argv[optind - 1]);
		}
	}
	if (e != TH_OK)
		return e;
	if (optind < argc)
		return th_seterr(errbuf, TH_ERR_INVALID, "unexpected argument \"%s\"",
		                 argv[optind]);
	if (o->listen_spec == NULL) {
		o->usage = true;
		return th_seterr(errbuf, TH_ERR_INVALID, "--listen ADDR:PORT is required");
	}
	return TH_OK;
}

/* Echo probes with the parsed options until SIGINT or SIGTERM; the exit status. */
static int refl_run(const refl_opts *o)
{
	char err[TH_ERRLEN];

	th_hmac hmac, *key = NULL;
	if (o->key_file != NULL) {
		uint8_t k[TH_KEY_MAX];
		size_t klen;
		if (th_key_load(o->key_file, k, &klen, err) != TH_OK ||
		    th_hmac_init(&hmac, k, klen, err) != TH_OK) {
			fprintf(stderr, "themis-agent reflect: %s\n", err);
			return TH_EXIT_USAGE;
		}
		memset(k, 0, sizeof k);
		key = &hmac;
	}
	int fd = refl_open(o->listen_spec, err);
	if (fd < 0) {
		fprintf(stderr, "themis-agent reflect: %s\n", err);
		return TH_EXIT_FAIL;
	}
	th_reflector *r;
	if (th_reflector_new(&r, &o->rconf, err) != TH_OK) {
		fprintf(stderr, "themis-agent reflect: %s\n", err);
		close(fd);
		return TH_EXIT_FAIL;
	}
	struct sigaction sa = {.sa_handler = refl_on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	fprintf(stderr, "themis-agent reflect: listening on %s%s\n", o->listen_spec,
	        key != NULL ? " (authenticated)" : "");

	refl_counts c = {0};
	int rc = refl_loop(fd, r, key, &c);
	refl_print(&c, r);
	th_reflector_free(r);
	if (key != NULL)
		th_hmac_clear(key);
	close(fd);
	return rc;
}

int cmd_reflect(int argc, char **argv)
{
	refl_opts o;
	char err[TH_ERRLEN] = "";
	th_err e = refl_parse(argc, argv, &o, err);
	int rc = th_cmd_parsed("reflect", e, err, o.usage, o.help, refl_usage);

	return rc >= 0 ? rc : refl_run(&o);
}
