/* qmp-events.c — themis-qmp-events SOCKET [--wait S]: connects to a QEMU QMP monitor (waiting up
 * to S seconds, default 30, for the socket to accept), negotiates capabilities (qmp.h) and prints
 * every event line as QEMU sent it (with its "timestamp"), flushed per line, until QEMU closes
 * the monitor or SIGTERM/SIGINT arrives (exit 0 either way). themis-lab starts one per QEMU for
 * its whole life and appends its output to the QEMU's events log (themis-lab(1) hv-events). */
#include "themis-config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp.h"

#define QEV_POLL_MS 200 /* how often a wait for the next event looks at the stop flag */

static volatile sig_atomic_t qev_stop;

static void qev_on_signal(int sig)
{
	(void)sig;
	qev_stop = 1;
}

static int qev_usage(void)
{
	fputs("usage: themis-qmp-events SOCKET [--wait SECONDS]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	char err[TH_ERRLEN];
	struct sigaction sa;
	double wait_s = 30;
	const char *path = NULL;
	qmp *q = NULL;
	th_err e;

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
	signal(SIGPIPE, SIG_IGN);
	/* until connected a signal ends the process as by default; then it ends the loop */
	if ((e = qmp_open(path, (long)(wait_s * 1000), &q, err)) != TH_OK) {
		fprintf(stderr, "themis-qmp-events: %s\n", err);
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = qev_on_signal; /* no SA_RESTART: poll returns on the signal */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!qev_stop) {
		char *line = NULL;

		e = qmp_next_line(q, QEV_POLL_MS, &line, err);
		if (e == TH_ERR_TIMEOUT)
			continue;
		if (e != TH_OK)
			break;
		if (strstr(line, "\"event\"") != NULL) {
			fputs(line, stdout);
			fputc('\n', stdout);
			fflush(stdout);
		}
		free(line);
	}
	qmp_close(q);
	if (e != TH_OK && e != TH_ERR_TIMEOUT && e != TH_ERR_NET) {
		fprintf(stderr, "themis-qmp-events: %s\n", err);
		return 1;
	}
	return 0;
}
