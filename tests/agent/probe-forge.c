/* probe-forge.c — test helper that produces bad packets for themis-agent.
 *
 *   probe-forge junk ADDR PORT
 *       sends one of each kind of malformed probe (empty, short, truncated, wrong magic, wrong
 *       type, reserved bits, sequence 0, non-zero padding, oversized,
 *       unauthenticated-with-tag) and prints how many it sent, then two of another wire
 *       version (a version-1 probe and a version-3 one) and prints how many of those.
 *   probe-forge send ADDR PORT KIND COUNT [KEYFILE]
 *       sends COUNT packets of one KIND from one UDP socket (signed with KEYFILE when given):
 *       probe (sequence 1..COUNT of one stream), new (sequence 1 of COUNT new streams),
 *       replay (sequence 1 COUNT times), echo (a
 *       well-formed echo), malformed (the junk kinds in turn), v1 (a version-1 probe, every
 *       other one with a tag), forged (signed with a key of its own), unsigned (no tag); then
 *       reads what comes back for 300 ms and prints "sent N bytes B received M bytes C".
 *   probe-forge flood ADDR PORT PROBER_ADDR KEYFILE COUNT SECONDS
 *       run in the reflector's network namespace (raw sockets, root): waits for a probe from
 *       PROBER_ADDR, then for SECONDS sends COUNT probes of new random stream ids (every 8th
 *       unsigned, the others signed with KEYFILE) from random source addresses in
 *       198.18.0.0/15, and replays every probe PROBER_ADDR sends twice, each from another
 *       random source, when it has seen the second probe after it (about two intervals
 *       later: a copy sent at once could, on a host whose CPU is taken away between the
 *       kernel's raw and UDP delivery of the original, reach the reflector first and be the
 *       one echoed, which is the on-path race of doc/DESIGN.md, not what this flood is
 *       for); prints "flood F unsigned U replays R real-id ID".
 *   probe-forge relay LISTEN_PORT ADDR PORT [OPTION=N]...
 *       a UDP relay between a prober and a reflector that treats packets by their number in
 *       each direction, deterministically: drop_probe/drop_echo=N drops every N-th,
 *       mutate_probe/mutate_echo=N replaces every N-th by a corrupted copy (cycling through
 *       truncation, bad magic, an unknown flag bit, a wrong tag or version) followed by a
 *       replay of the previous intact packet (probes: only with key=1), reorder_*=N holds
 *       every N-th back behind the next one, dup_*=N sends every N-th twice; key=1 makes the
 *       corruption re-sign with a key of its own. On SIGTERM prints one line per direction:
 *       "probes|echoes: packets P dropped D mutated M reordered R duplicated U replays Y
 *       forwarded F".
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "probe-wire.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int dest(const char *addr, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -1;
}

static int junk(const char *addr, const char *port)
{
	struct sockaddr_in sa;
	uint8_t good[TH_WIRE_MAX], buf[2048];
	th_probe_pkt p = {.stream_id = 99, .seq = 1, .send_ns = 1};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), n = 0;

	if (fd < 0 || dest(addr, port, &sa) != 0)
		return 1;
	size_t len = th_wire_encode_probe(good, &p, NULL);
#define SEND(b, l)                                                                                 \
	do {                                                                                       \
		sendto(fd, (b), (l), 0, (struct sockaddr *)&sa, sizeof sa);                        \
		n++;                                                                               \
	} while (0)
	SEND(good, 0);
	SEND(good, 1);
	SEND(good, 8);
	SEND(good, len - 1);
	memcpy(buf, good, len);
	buf[0] ^= 0x20; /* magic */
	SEND(buf, len);
	memcpy(buf, good, len);
	buf[5] = TH_WIRE_ECHO; /* type */
	SEND(buf, len);
	memcpy(buf, good, len);
	buf[7] = 1; /* reserved */
	SEND(buf, len);
	memcpy(buf, good, len);
	buf[19] = 0, buf[16] = buf[17] = buf[18] = buf[20] = buf[21] = buf[22] = buf[23] = 0;
	SEND(buf, len); /* sequence 0 */
	memcpy(buf, good, len);
	buf[len - 1] = 1;
	SEND(buf, len); /* padding not zero */
	memset(buf, 0xa5, sizeof buf);
	memcpy(buf, good, len);
	SEND(buf, sizeof buf); /* oversized */
	memcpy(buf, good, len);
	buf[6] = TH_WIRE_FLAG_AUTH; /* a tag the keyless reflector can not check */
	SEND(buf, len + TH_HMAC_LEN);
	printf("%d\n", n);
	n = 0;
	memcpy(buf, good, TH_WIRE_HDR_LEN);
	buf[4] = 1;
	SEND(buf, TH_WIRE_HDR_LEN); /* version 1: a 32-byte probe */
	memcpy(buf, good, len);
	buf[4] = 3;
	SEND(buf, len);
	close(fd);
	printf("%d\n", n);
	return 0;
}

static int load_key(const char *path, th_hmac *h)
{
	uint8_t k[256];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, k, sizeof k) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 32 || th_hmac_init(h, k, (size_t)n, NULL) != TH_OK) {
		fprintf(stderr, "probe-forge: key file %s unusable\n", path);
		return -1;
	}
	return 0;
}

/* One packet of KIND number k (from 0) into b; its length. */
static size_t make_kind(const char *kind, unsigned k, uint32_t id, const th_hmac *key,
                        const th_hmac *other, uint8_t *b)
{
	th_probe_pkt p = {.stream_id = id, .seq = k + 1, .send_ns = 1000 + k};
	size_t len;

	if (strcmp(kind, "probe") == 0)
		return th_wire_encode_probe(b, &p, key);
	if (strcmp(kind, "new") == 0) {
		p.stream_id = id + k;
		p.seq = 1;
		return th_wire_encode_probe(b, &p, key);
	}
	if (strcmp(kind, "unsigned") == 0)
		return th_wire_encode_probe(b, &p, NULL);
	if (strcmp(kind, "forged") == 0)
		return th_wire_encode_probe(b, &p, other);
	if (strcmp(kind, "replay") == 0) {
		p.seq = 1;
		p.send_ns = 1000;
		return th_wire_encode_probe(b, &p, key);
	}
	if (strcmp(kind, "echo") == 0) {
		th_echo_pkt e = {.probe = p, .rx_count = 1};
		return th_wire_encode_echo(b, &e, key);
	}
	if (strcmp(kind, "v1") == 0) {
		len = th_wire_encode_probe(b, &p, NULL);
		b[4] = 1;
		if (k % 2 == 0)
			return TH_WIRE_HDR_LEN;
		b[6] = TH_WIRE_FLAG_AUTH;
		th_hmac_tag(key != NULL ? key : other, b, TH_WIRE_HDR_LEN, b + TH_WIRE_HDR_LEN);
		return TH_WIRE_HDR_LEN + TH_HMAC_LEN;
	}
	if (strcmp(kind, "malformed") == 0) {
		len = th_wire_encode_probe(b, &p, key);
		switch (k % 6) {
		case 0:
			return len - 1; /* truncated */
		case 1:
			b[0] ^= 0x20; /* magic */
			return len;
		case 2:
			b[5] = 7; /* type */
			return len;
		case 3:
			memset(b + len, 0xa5, 200);
			return len + 200; /* oversized */
		case 4:
			b[40] = 1; /* padding */
			if (key != NULL)
				th_hmac_tag(key, b, TH_WIRE_PROBE_LEN, b + TH_WIRE_PROBE_LEN);
			return len;
		default:
			return 5;
		}
	}
	return 0;
}

static int send_kind(const char *addr, const char *port, const char *kind, unsigned count,
                     const char *keyfile)
{
	struct sockaddr_in sa;
	th_hmac key, other;
	const th_hmac *kp = NULL;
	uint8_t b[512], in[4096];
	uint8_t okey[32];
	unsigned long long sent = 0, sbytes = 0, got = 0, gbytes = 0;
	uint32_t id;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(okey, 0x77, sizeof okey);
	if (fd < 0 || dest(addr, port, &sa) != 0 || sodium_init() < 0 ||
	    th_hmac_init(&other, okey, sizeof okey, NULL) != TH_OK)
		return 1;
	if (keyfile != NULL) {
		if (load_key(keyfile, &key) != 0)
			return 1;
		kp = &key;
	}
	randombytes_buf(&id, sizeof id);
	for (unsigned k = 0; k < count; k++) {
		memset(b, 0, sizeof b);
		size_t len = make_kind(kind, k, id, kp, &other, b);
		if (len == 0) {
			fprintf(stderr, "probe-forge send: unknown kind %s\n", kind);
			return 2;
		}
		if (sendto(fd, b, len, 0, (struct sockaddr *)&sa, sizeof sa) == (ssize_t)len) {
			sent++;
			sbytes += len;
		}
		usleep(1000);
	}
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, 300) <= 0)
			break;
		ssize_t n = recv(fd, in, sizeof in, 0);
		if (n >= 0) {
			got++;
			gbytes += (unsigned long long)n;
		}
	}
	close(fd);
	printf("sent %llu bytes %llu received %llu bytes %llu\n", sent, sbytes, got, gbytes);
	return 0;
}

/* A UDP datagram from src to dst:dport in an IPv4 header of our own (the kernel fills the
 * header checksum; the UDP checksum is left 0, allowed over IPv4). */
static void raw_send(int fd, uint32_t src, const struct sockaddr_in *dst, const uint8_t *pl,
                     size_t len)
{
	uint8_t pkt[20 + 8 + TH_WIRE_MAX];
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *u = (struct udphdr *)(pkt + 20);
	uint16_t sport;

	memset(pkt, 0, 28);
	randombytes_buf(&sport, sizeof sport);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = src;
	ip->daddr = dst->sin_addr.s_addr;
	ip->tot_len = htons((uint16_t)(28 + len));
	sport = (uint16_t)(1024 + sport % 60000);
	if (sport == ntohs(dst->sin_port))
		sport++; /* the reflector's port: the outage rules would match it */
	u->source = htons(sport);
	u->dest = dst->sin_port;
	u->len = htons((uint16_t)(8 + len));
	memcpy(pkt + 28, pl, len);
	sendto(fd, pkt, 28 + len, 0, (const struct sockaddr *)dst, sizeof *dst);
}

/* A random address in 198.18.0.0/15 (network byte order). */
static uint32_t spoofed(void)
{
	return htonl(0xc6120000u | (randombytes_random() & 0x1ffffu));
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int flood(char **argv)
{
	struct sockaddr_in dst;
	struct in_addr prober;
	th_hmac key;
	unsigned long count = strtoul(argv[4], NULL, 10);
	double secs = strtod(argv[5], NULL);
	unsigned long sent = 0, unsig = 0, replays = 0;
	uint32_t real_id = 0, base;
	bool have_real = false;
	uint8_t in[2048], b[TH_WIRE_MAX];
	uint8_t held[2][TH_WIRE_MAX]; /* the last two real probes, oldest first */
	size_t held_len[2] = {0, 0};
	int sn = socket(AF_INET, SOCK_RAW, IPPROTO_UDP),
	    tx = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);

	if (sn < 0 || tx < 0 || dest(argv[0], argv[1], &dst) != 0 ||
	    inet_pton(AF_INET, argv[2], &prober) != 1 || sodium_init() < 0 ||
	    load_key(argv[3], &key) != 0 || count == 0 || secs <= 0) {
		perror("probe-forge flood");
		return 1;
	}
	signal(SIGTERM, on_term);
	printf("ready\n");
	fflush(stdout);
	randombytes_buf(&base, sizeof base);
	int64_t start = 0, end = 0, limit = now_ns() + 10000000000LL;
	while (!stop) {
		int64_t now = now_ns(), next = 0;
		if (have_real) {
			if (start == 0) {
				start = now;
				end = start + (int64_t)(secs * 1e9);
			}
			next =
			    start + (int64_t)((double)(end - start) * (double)sent / (double)count);
			while (sent < count && next <= now) {
				th_probe_pkt p = {
				    .stream_id = base + (uint32_t)sent, .seq = 1, .send_ns = 1};
				if (p.stream_id == real_id)
					p.stream_id = base - 1;
				bool sign = sent % 8 != 7;
				unsig += !sign;
				raw_send(tx, spoofed(), &dst, b,
				         th_wire_encode_probe(b, &p, sign ? &key : NULL));
				sent++;
				next = start + (int64_t)((double)(end - start) * (double)sent /
				                         (double)count);
			}
			if (now >= end)
				break; /* every packet was due by now: all sent */
		} else if (now > limit) {
			fprintf(stderr, "probe-forge flood: no probe from %s in 10 s\n", argv[2]);
			return 1;
		}
		int wait_ms = sent < count && have_real ? (int)((next - now) / 1000000) : 5;
		if (wait_ms < 1)
			wait_ms = 1; /* due packets go out in small bursts, no busy loop */
		struct pollfd pf = {sn, POLLIN, 0};
		if (poll(&pf, 1, wait_ms) <= 0)
			continue;
		ssize_t n = recv(sn, in, sizeof in, MSG_DONTWAIT);
		if (n < 28)
			continue;
		const struct iphdr *ip = (const struct iphdr *)in;
		size_t hl = (size_t)ip->ihl * 4;
		const struct udphdr *u = (const struct udphdr *)(in + hl);
		if (ip->saddr != prober.s_addr || u->dest != dst.sin_port || (size_t)n < hl + 8)
			continue;
		const uint8_t *pl = in + hl + 8;
		size_t plen = (size_t)n - hl - 8;
		th_probe_pkt p;
		if (th_wire_decode_probe(pl, plen, &p, &key) != TH_WIRE_OK)
			continue;
		real_id = p.stream_id;
		have_real = true;
		if (plen > sizeof held[0])
			continue;
		for (int r = 0; r < 2 && held_len[0] > 0; r++) {
			raw_send(tx, spoofed(), &dst, held[0], held_len[0]);
			replays++;
		}
		memcpy(held[0], held[1], held_len[1]);
		held_len[0] = held_len[1];
		memcpy(held[1], pl, plen);
		held_len[1] = plen;
	}
	printf("flood %lu unsigned %lu replays %lu real-id %lu\n", sent, unsig, replays,
	       (unsigned long)real_id);
	return 0;
}

static size_t mutate(uint8_t *b, size_t len, unsigned k, const th_hmac *wrong)
{
	switch (k % 4) {
	case 0:
		return len / 2; /* truncated */
	case 1:
		b[1] ^= 0x01; /* bad magic */
		return len;
	case 2:
		b[6] ^= 0x02; /* unknown flag bit */
		return len;
	default:
		if (wrong != NULL && len > TH_HMAC_LEN) /* re-signed with another key */
			th_hmac_tag(wrong, b, len - TH_HMAC_LEN, b + len - TH_HMAC_LEN);
		else
			b[4] ^= 0x80; /* bad version */
		return len;
	}
}

/* Packets of one direction through the relay. */
typedef struct lane {
	const char *name;
	unsigned long every_drop, every_mutate, every_reorder, every_dup;
	unsigned long n, dropped, mutated, reordered, duplicated, replays, forwarded;
	uint8_t last[4096], held[4096];
	size_t lastlen, heldlen;
} lane;

static void lane_send(int fd, const struct sockaddr_in *to, const uint8_t *b, size_t l, lane *ln)
{
	if (to != NULL)
		sendto(fd, b, l, 0, (const struct sockaddr *)to, sizeof *to);
	else
		send(fd, b, l, 0);
	ln->forwarded++;
}

/* One packet through a lane: drop, corrupt (then replay the previous intact one when
 * replay is set), hold back behind the next one, or duplicate, by its number. */
static void lane_pass(lane *ln, uint8_t *b, size_t l, int fd, const struct sockaddr_in *to,
                      const th_hmac *wk, bool replay)
{
	ln->n++;
	if (ln->every_drop && ln->n % ln->every_drop == 0) {
		ln->dropped++;
	} else if (ln->every_mutate && ln->n % ln->every_mutate == 0) {
		l = mutate(b, l, (unsigned)ln->mutated++, wk);
		lane_send(fd, to, b, l, ln);
		if (replay && ln->lastlen > 0) {
			lane_send(fd, to, ln->last, ln->lastlen, ln);
			ln->replays++;
		}
	} else if (ln->every_reorder && ln->n % ln->every_reorder == 0 && ln->heldlen == 0) {
		memcpy(ln->held, b, l);
		ln->heldlen = l;
		ln->reordered++;
		return; /* sent after the next packet (or after a short idle time) */
	} else {
		memcpy(ln->last, b, l);
		ln->lastlen = l;
		lane_send(fd, to, b, l, ln);
		if (ln->every_dup && ln->n % ln->every_dup == 0) {
			lane_send(fd, to, b, l, ln);
			ln->duplicated++;
		}
	}
	if (ln->heldlen > 0 && ln->n % ln->every_reorder != 0) {
		lane_send(fd, to, ln->held, ln->heldlen, ln);
		ln->heldlen = 0;
	}
}

static void lane_report(const lane *ln)
{
	fprintf(stderr,
	        "%s: packets %lu dropped %lu mutated %lu reordered %lu duplicated %lu replays %lu "
	        "forwarded %lu\n",
	        ln->name, ln->n, ln->dropped, ln->mutated, ln->reordered, ln->duplicated,
	        ln->replays, ln->forwarded);
}

static int relay(char **argv, int argc)
{
	struct sockaddr_in lsa = {0}, rsa, client = {0};
	socklen_t clen;
	lane lp = {.name = "probes"}, le = {.name = "echoes"};
	uint8_t buf[4096];
	th_hmac wrong, *wk = NULL;
	bool have_client = false;

	struct {
		const char *name;
		unsigned long *v;
	} opts[] = {
	    {"drop_probe", &lp.every_drop},       {"mutate_probe", &lp.every_mutate},
	    {"reorder_probe", &lp.every_reorder}, {"dup_probe", &lp.every_dup},
	    {"drop_echo", &le.every_drop},        {"mutate_echo", &le.every_mutate},
	    {"reorder_echo", &le.every_reorder},  {"dup_echo", &le.every_dup},
	};
	for (int i = 3; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t k, nlen = eq != NULL ? (size_t)(eq - argv[i]) : 0;
		unsigned long v = eq != NULL ? strtoul(eq + 1, NULL, 10) : 0;
		if (nlen == 3 && strncmp(argv[i], "key", 3) == 0) {
			uint8_t key[32];
			memset(key, 0x5a, sizeof key);
			th_hmac_init(&wrong, key, sizeof key, NULL);
			wk = v ? &wrong : NULL;
			continue;
		}
		for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
			if (strlen(opts[k].name) == nlen &&
			    strncmp(argv[i], opts[k].name, nlen) == 0)
				break;
		if (k == sizeof opts / sizeof opts[0]) {
			fprintf(stderr, "probe-forge relay: unknown option %s\n", argv[i]);
			return 2;
		}
		*opts[k].v = v;
	}
	int lfd = socket(AF_INET, SOCK_DGRAM, 0), rfd = socket(AF_INET, SOCK_DGRAM, 0);
	lsa.sin_family = AF_INET;
	lsa.sin_port = htons((uint16_t)atoi(argv[0]));
	if (lfd < 0 || rfd < 0 || bind(lfd, (struct sockaddr *)&lsa, sizeof lsa) != 0 ||
	    dest(argv[1], argv[2], &rsa) != 0 ||
	    connect(rfd, (struct sockaddr *)&rsa, sizeof rsa) != 0) {
		perror("probe-forge relay");
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd pf[2] = {{lfd, POLLIN, 0}, {rfd, POLLIN, 0}};
		if (poll(pf, 2, 20) <= 0) {
			/* idle: let held packets go */
			if (lp.heldlen > 0) {
				lane_send(rfd, NULL, lp.held, lp.heldlen, &lp);
				lp.heldlen = 0;
			}
			if (le.heldlen > 0 && have_client) {
				lane_send(lfd, &client, le.held, le.heldlen, &le);
				le.heldlen = 0;
			}
			continue;
		}
		if (pf[0].revents & POLLIN) {
			clen = sizeof client;
			ssize_t n =
			    recvfrom(lfd, buf, sizeof buf, 0, (struct sockaddr *)&client, &clen);
			if (n > 0) {
				have_client = true;
				lane_pass(&lp, buf, (size_t)n, rfd, NULL, wk, wk != NULL);
			}
		}
		if ((pf[1].revents & POLLIN) && have_client) {
			ssize_t n = recv(rfd, buf, sizeof buf, 0);
			if (n > 0)
				lane_pass(&le, buf, (size_t)n, lfd, &client, wk, true);
		}
	}
	lane_report(&lp);
	lane_report(&le);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "junk") == 0)
		return junk(argv[2], argv[3]);
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "send") == 0)
		return send_kind(argv[2], argv[3], argv[4], (unsigned)strtoul(argv[5], NULL, 10),
		                 argc == 7 ? argv[6] : NULL);
	if (argc == 8 && strcmp(argv[1], "flood") == 0)
		return flood(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "relay") == 0)
		return relay(argv + 2, argc - 2);
	fprintf(stderr, "usage: probe-forge junk ADDR PORT | relay LISTEN_PORT ADDR PORT "
	                "[OPTION=N]... | send ADDR PORT KIND COUNT [KEYFILE] | flood ADDR PORT "
	                "PROBER_ADDR KEYFILE COUNT SECONDS\n");
	return 2;
}
