/* probe-forge.c — test helper that produces bad packets for themis-agent.
 *
 *   probe-forge junk ADDR PORT
 *       sends one of each kind of malformed probe (empty, short, truncated, wrong magic, wrong
 *       version, wrong type, reserved bits, oversized, unauthenticated-with-tag) and prints how
 *       many it sent.
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
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
	buf[4] = 2; /* version */
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
	memset(buf, 0xa5, sizeof buf);
	memcpy(buf, good, len);
	SEND(buf, sizeof buf); /* oversized */
	memcpy(buf, good, len);
	buf[6] = TH_WIRE_FLAG_AUTH; /* a tag the keyless reflector can not check */
	SEND(buf, len + TH_HMAC_LEN);
	close(fd);
	printf("%d\n", n);
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
	if (argc >= 5 && strcmp(argv[1], "relay") == 0)
		return relay(argv + 2, argc - 2);
	fprintf(stderr, "usage: probe-forge junk ADDR PORT | relay LISTEN_PORT ADDR PORT "
	                "[OPTION=N]...\n");
	return 2;
}
