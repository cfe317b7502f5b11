/* ssh-run.c — test driver for ssh-exec.c: ssh-run HOST PORT USER KEY|- KNOWN_HOSTS TIMEOUT_MS CMD
 * prints the command's stdout, then "status=N" on success or "error=<code>: <message>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssh-exec.h"

int main(int argc, char **argv)
{
	ssh_target t;
	char out[65536], err[TH_ERRLEN];
	int status;
	th_err e;

	if (argc != 8) {
		fprintf(stderr, "usage: ssh-run HOST PORT USER KEY|- KNOWN_HOSTS TIMEOUT_MS CMD\n");
		return 2;
	}
	memset(&t, 0, sizeof t);
	snprintf(t.host, sizeof t.host, "%s", argv[1]);
	t.port = atoi(argv[2]);
	snprintf(t.user, sizeof t.user, "%s", argv[3]);
	if (strcmp(argv[4], "-") != 0)
		snprintf(t.key, sizeof t.key, "%s", argv[4]);
	snprintf(t.known_hosts, sizeof t.known_hosts, "%s", argv[5]);
	t.timeout_ms = atoi(argv[6]);
	if (ssh_global_init(err) != TH_OK) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	e = ssh_exec(&t, argv[7], out, sizeof out, &status, err);
	if (e != TH_OK) {
		printf("error=%s: %s\n", th_strerror(e), err);
		return 1;
	}
	fputs(out, stdout);
	printf("status=%d\n", status);
	return 0;
}
