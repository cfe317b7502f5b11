/* qmp-events.c — themis-qmp-events SOCKET [--wait S]: connects to a QEMU QMP monitor (waiting up
 * to S seconds, default 30, for the socket to accept), negotiates capabilities and prints every
 * event line as QEMU sent it (QMP JSON with its "timestamp") on standard output, one per line,
 * flushed per line, until QEMU closes the monitor or SIGTERM/SIGINT arrives (exit 0 either way).
 * Lines longer than QEV_LINE_MAX bytes are skipped and counted on standard error. Exit 1 when
 * the monitor never answered, 2 on bad usage. Its own client (not qmp.c's): qmp.c skips events,
 * this program lives for them. */
#include "themis-config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "th-time.h"

/* One QMP event is well under 1 KiB; anything past this is not an event worth keeping. */
#define QEV_LINE_MAX 8192
#define QEV_POLL_MS                                                                                \
	10 /* retry period while the socket is absent: the incoming QEMU appears                   \
	    * only after the request, and its RESUME may follow soon after */

static volatile sig_atomic_t qev_stop;

static void qev_on_signal(int sig)
{
	(void)sig;
	qev_stop = 1;
}

typedef struct qev {
	int fd;
	char buf[QEV_LINE_MAX + 1];
	size_t len;
	bool skipping; /* inside a line longer than QEV_LINE_MAX */
	long skipped;
} qev;

/* Connect before deadline_ns; -1 (message on stderr) when the socket never accepted. */
static int qev_connect(const char *path, int64_t deadline_ns)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	while (!qev_stop) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

		if (fd < 0) {
			fprintf(stderr, "themis-qmp-events: socket: %s\n", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
		err = errno;
		close(fd);
		if ((err != ENOENT && err != ECONNREFUSED) || th_mono_ns() >= deadline_ns) {
			fprintf(stderr, "themis-qmp-events: %s: connect: %s\n", path,
			        strerror(err));
			return -1;
		}
		usleep(QEV_POLL_MS * 1000);
	}
	return -1;
}

/* Next complete line into *line (NUL-terminated, in q->buf, valid until the next call): 1, or 0
 * at the end of the stream / on a stop, -1 on a read error. Over-long lines are dropped. */
static int qev_line(qev *q, char **line, size_t *consumed)
{
	if (*consumed > 0) {
		memmove(q->buf, q->buf + *consumed, q->len - *consumed);
		q->len -= *consumed;
		*consumed = 0;
	}
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = {q->fd, POLLIN, 0};
		ssize_t n;

		if (nl != NULL) {
			*nl = '\0';
			*consumed = (size_t)(nl - q->buf) + 1;
			if (q->skipping) {
				q->skipping = false;
				memmove(q->buf, q->buf + *consumed, q->len - *consumed);
				q->len -= *consumed;
				*consumed = 0;
				continue;
			}
			*line = q->buf;
			return 1;
		}
		if (q->len == QEV_LINE_MAX) {
			/* too long: drop what we have and the rest of the line */
			if (!q->skipping)
				q->skipped++;
			q->skipping = true;
			q->len = 0;
		}
		if (qev_stop)
			return 0;
		if (poll(&p, 1, 200) <= 0)
			continue; /* EINTR from the signal: qev_stop is checked above */
		n = read(q->fd, q->buf + q->len, QEV_LINE_MAX - q->len);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "themis-qmp-events: read: %s\n", strerror(errno));
			return -1;
		}
		q->len += (size_t)n;
	}
}

static bool qev_send(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

static int qev_usage(void)
{
	fputs("usage: themis-qmp-events SOCKET [--wait SECONDS]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	double wait_s = 30;
	const char *path = NULL;
	qev *q;
	char *line = NULL;
	size_t consumed = 0;
	bool negotiated = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			char *end;
			wait_s = strtod(argv[++i], &end);
			if (*end != '\0' || !(wait_s >= 0 && wait_s <= 86400))
				return qev_usage();
		} else if (path == NULL && argv[i][0] != '-') {
			path = argv[i];
		} else {
			return qev_usage();
		}
	}
	if (path == NULL)
		return qev_usage();
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "themis-qmp-events: socket path too long: %s\n", path);
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = qev_on_signal; /* no SA_RESTART: poll and read return on the signal */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	q = calloc(1, sizeof *q);
	if (q == NULL)
		return 1;
	q->fd = qev_connect(path, th_mono_ns() + (int64_t)(wait_s * TH_NS_PER_SEC));
	if (q->fd < 0) {
		free(q);
		return qev_stop ? 0 : 1;
	}
	/* the greeting first; events flow only once qmp_capabilities was accepted */
	while ((rc = qev_line(q, &line, &consumed)) == 1) {
		if (!negotiated) {
			if (strstr(line, "\"QMP\"") == NULL)
				continue;
			if (!qev_send(q->fd, "{\"execute\":\"qmp_capabilities\"}\n")) {
				fprintf(stderr, "themis-qmp-events: %s: write: %s\n", path,
				        strerror(errno));
				rc = -1;
				break;
			}
			negotiated = true;
			continue;
		}
		if (strstr(line, "\"event\"") == NULL)
			continue; /* the capabilities' {"return": {}} */
		fputs(line, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	if (q->skipped > 0)
		fprintf(stderr, "themis-qmp-events: %s: %ld lines over %d bytes skipped\n", path,
		        q->skipped, QEV_LINE_MAX);
	close(q->fd);
	free(q);
	return rc < 0 ? 1 : 0;
}
