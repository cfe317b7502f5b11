/* hook-pub.c — a stand-in for oned's hook-manager publisher, for the watcher's tests: binds a
 * ZeroMQ PUB socket at argv[1] and publishes each line read from stdin as one message of two
 * frames, "KEY<TAB>BODY" → frame 1 KEY (with the trailing space oned writes, if the line has
 * it), frame 2 BODY (base64, as oned sends it). A line without a tab is sent as a single frame
 * (a malformed message). Prints "ready" once bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int main(int argc, char **argv)
{
	void *ctx, *pub;
	size_t cap = 4 << 20;
	char *line = malloc(cap);
	int linger = 2000;

	if (argc != 2 || line == NULL) {
		fprintf(stderr, "usage: hook-pub tcp://ADDR:PORT < lines\n");
		return 2;
	}
	ctx = zmq_ctx_new();
	pub = zmq_socket(ctx, ZMQ_PUB);
	zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger);
	if (zmq_bind(pub, argv[1]) != 0) {
		fprintf(stderr, "hook-pub: bind %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, (int)cap, stdin) != NULL) {
		char *tab;

		line[strcspn(line, "\n")] = '\0';
		tab = strchr(line, '\t');
		if (tab == NULL) {
			zmq_send(pub, line, strlen(line), 0);
			continue;
		}
		zmq_send(pub, line, (size_t)(tab - line), ZMQ_SNDMORE);
		zmq_send(pub, tab + 1, strlen(tab + 1), 0);
	}
	zmq_close(pub);
	zmq_ctx_term(ctx);
	free(line);
	return 0;
}
