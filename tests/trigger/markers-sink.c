/* markers-sink.c — a stand-in for the plugin's marker endpoint in tests:
 *   markers-sink PORT OUTFILE [TOKEN]
 * accepts POST /v1/markers (and /v1/records), appends each body as one line to OUTFILE
 * (records bodies go to OUTFILE.records), answers 200, or 401 when TOKEN is set and the bearer
 * token differs; a request with a query string adds "PATH KEY=VALUE ..." to OUTFILE.query. Runs
 * until SIGTERM/SIGINT. */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct conn {
	char *buf;
	size_t len;
} conn;

static const char *out_path;
static const char *token;
static volatile sig_atomic_t done;

static void on_signal(int s)
{
	(void)s;
	done = 1;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret = MHD_queue_response(c, code, r);

	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
	(void)kind;
	fprintf(cls, " %s=%s", key, value != NULL ? value : "");
	return MHD_YES;
}

/* "PATH KEY=VALUE ..." of a request with a query string, to OUTFILE.query. */
static void log_query(struct MHD_Connection *c, const char *url)
{
	char path[1024];
	FILE *f;

	if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) <= 0)
		return;
	snprintf(path, sizeof path, "%s.query", out_path);
	if ((f = fopen(path, "a")) == NULL)
		return;
	fputs(url, f);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, f);
	fputc('\n', f);
	fclose(f);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ptr)
{
	conn *k = *ptr;

	(void)cls;
	(void)version;
	if (k == NULL) {
		k = calloc(1, sizeof *k);
		*ptr = k;
		return MHD_YES;
	}
	if (*size > 0) {
		k->buf = realloc(k->buf, k->len + *size + 1);
		memcpy(k->buf + k->len, data, *size);
		k->len += *size;
		k->buf[k->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") != 0)
		return reply(c, 405, "POST only\n");
	if (token != NULL) {
		const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		char want[512];
		snprintf(want, sizeof want, "Bearer %s", token);
		if (a == NULL || strcmp(a, want) != 0)
			return reply(c, 401, "bad token\n");
	}
	log_query(c, url);
	char path[1024];
	snprintf(path, sizeof path, "%s%s", out_path,
	         strcmp(url, "/v1/markers") == 0 ? "" : ".records");
	FILE *f = fopen(path, "a");
	if (f != NULL) {
		fprintf(f, "%s\n", k->buf != NULL ? k->buf : "");
		fclose(f);
	}
	return reply(c, 200, "{\"accepted\":true}\n");
}

static void completed(void *cls, struct MHD_Connection *c, void **ptr,
                      enum MHD_RequestTerminationCode tc)
{
	conn *k = *ptr;

	(void)cls;
	(void)c;
	(void)tc;
	if (k != NULL) {
		free(k->buf);
		free(k);
	}
	*ptr = NULL;
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;

	if (argc < 3) {
		fprintf(stderr, "usage: markers-sink PORT OUTFILE [TOKEN]\n");
		return 2;
	}
	out_path = argv[2];
	token = argc > 3 ? argv[3] : NULL;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)atoi(argv[1]), NULL, NULL,
	                     handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                     MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "markers-sink: cannot listen on port %s\n", argv[1]);
		return 1;
	}
	while (!done)
		pause();
	MHD_stop_daemon(d);
	return 0;
}
