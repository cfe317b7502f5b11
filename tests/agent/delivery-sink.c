/* delivery-sink.c — a minimal ingest endpoint for the delivery tests: accepts
 * `POST /v1/records` (a JSON array of records), checks the bearer token, and appends one key per
 * record to a log file ("second <stream> <t>", "outage <stream> <start>", "iperf <stream> <t>")
 * so a test can count how often each record arrived. Options make it misbehave on purpose:
 *   --status N     answer every POST with HTTP N (and record nothing)
 *   --max-body B   answer 413 to bodies larger than B bytes
 * Usage: delivery-sink --port P --log FILE [--token T] [--status N] [--max-body B]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>
#include <yajl/yajl_tree.h>

static const char *sk_token;
static long sk_status;
static size_t sk_max_body = 4 << 20;
static FILE *sk_log;
static volatile sig_atomic_t sk_quit;

struct sk_req {
	char *body;
	size_t len;
	int too_big;
};

static enum MHD_Result sk_reply(struct MHD_Connection *c, unsigned code, const char *text)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Key of one record, or NULL when it lacks what a key needs. */
static int sk_key(yajl_val rec, char *out, size_t len)
{
	const char *pk[] = {"kind", NULL}, *ps[] = {"stream", NULL}, *pt[] = {"t", NULL},
	           *pst[] = {"start", NULL};
	yajl_val kind = yajl_tree_get(rec, pk, yajl_t_string);
	yajl_val stream = yajl_tree_get(rec, ps, yajl_t_string);
	yajl_val t;
	const char *k = kind ? YAJL_GET_STRING(kind) : NULL;

	if (!k || !stream)
		return -1;
	if (strcmp(k, "outage") == 0)
		t = yajl_tree_get(rec, pst, yajl_t_number);
	else
		t = yajl_tree_get(rec, pt, yajl_t_number);
	if (!t)
		return -1;
	snprintf(out, len, "%s %s %s", k, YAJL_GET_STRING(stream), YAJL_GET_NUMBER(t));
	return 0;
}

static enum MHD_Result sk_handle(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **ctx)
{
	struct sk_req *rq = *ctx;
	char err[256], key[512], msg[128];
	yajl_val doc;
	const char *auth;

	if (rq == NULL) {
		rq = calloc(1, sizeof *rq);
		if (rq == NULL)
			return MHD_NO;
		*ctx = rq;
		return MHD_YES;
	}
	if (*size > 0) {
		if (rq->len + *size > sk_max_body) {
			rq->too_big = 1;
		} else {
			char *nb = realloc(rq->body, rq->len + *size + 1);
			if (nb == NULL)
				return MHD_NO;
			rq->body = nb;
			memcpy(rq->body + rq->len, data, *size);
			rq->len += *size;
			rq->body[rq->len] = '\0';
		}
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") != 0 || strcmp(url, "/v1/records") != 0)
		return sk_reply(c, 404, "{\"error\":\"only POST /v1/records\"}");
	if (sk_token) {
		char want[600];
		snprintf(want, sizeof want, "Bearer %s", sk_token);
		auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		if (auth == NULL || strcmp(auth, want) != 0)
			return sk_reply(c, 401, "{\"error\":\"bad or missing bearer token\"}");
	}
	if (rq->too_big)
		return sk_reply(c, 413, "{\"error\":\"body too large\"}");
	if (sk_status)
		return sk_reply(c, (unsigned)sk_status, "{\"error\":\"told to refuse\"}");
	doc = yajl_tree_parse(rq->body ? rq->body : "", err, sizeof err);
	if (doc == NULL || !YAJL_IS_ARRAY(doc)) {
		yajl_tree_free(doc);
		return sk_reply(c, 400, "{\"error\":\"body is not a JSON array\"}");
	}
	for (size_t i = 0; i < doc->u.array.len; i++) {
		if (sk_key(doc->u.array.values[i], key, sizeof key) != 0) {
			yajl_tree_free(doc);
			snprintf(msg, sizeof msg, "{\"error\":\"record %zu has no kind/stream/t\"}",
			         i);
			return sk_reply(c, 400, msg);
		}
	}
	for (size_t i = 0; i < doc->u.array.len; i++) {
		sk_key(doc->u.array.values[i], key, sizeof key);
		fprintf(sk_log, "%s\n", key);
	}
	fflush(sk_log);
	snprintf(msg, sizeof msg, "{\"accepted\":%zu}", doc->u.array.len);
	yajl_tree_free(doc);
	return sk_reply(c, 200, msg);
}

static void sk_done(void *cls, struct MHD_Connection *c, void **ctx,
                    enum MHD_RequestTerminationCode toe)
{
	struct sk_req *rq = *ctx;

	if (rq) {
		free(rq->body);
		free(rq);
	}
	*ctx = NULL;
}

static void sk_on_signal(int sig)
{
	sk_quit = 1;
}

int main(int argc, char **argv)
{
	unsigned port = 0;
	const char *log = NULL;
	struct MHD_Daemon *d;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--log") == 0)
			log = argv[i + 1];
		else if (strcmp(argv[i], "--token") == 0)
			sk_token = argv[i + 1];
		else if (strcmp(argv[i], "--status") == 0)
			sk_status = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--max-body") == 0)
			sk_max_body = (size_t)atol(argv[i + 1]);
	}
	if (port == 0 || log == NULL) {
		fprintf(stderr, "usage: delivery-sink --port P --log FILE [--token T] [--status N] "
		                "[--max-body B]\n");
		return 2;
	}
	sk_log = fopen(log, "a");
	if (sk_log == NULL) {
		perror(log);
		return 1;
	}
	signal(SIGTERM, sk_on_signal);
	signal(SIGINT, sk_on_signal);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, sk_handle,
	                     NULL, MHD_OPTION_NOTIFY_COMPLETED, sk_done, NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "delivery-sink: cannot listen on port %u\n", port);
		return 1;
	}
	printf("listening %u\n", port);
	fflush(stdout);
	while (!sk_quit)
		pause();
	MHD_stop_daemon(d);
	fclose(sk_log);
	return 0;
}
