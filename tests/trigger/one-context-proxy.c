/* one-context-proxy.c — an OpenNebula endpoint with context variables, for the trigger's tests:
 *   one-context-proxy PORT UPSTREAM-URL CONTEXT-FILE
 * forwards every XML-RPC call to UPSTREAM-URL (the lab endpoint) and, in the reply, puts the
 * text of CONTEXT-FILE (elements like <THEMIS_TYPE>VM</THEMIS_TYPE>, one line) right after each
 * <CONTEXT> of the VM documents, escaped as oned sends them inside the XML-RPC string. The file is
 * read at each call, so a test can change the context between runs. Runs until SIGTERM/SIGINT. */
#include <curl/curl.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct buf {
	char *p;
	size_t len;
} buf;

static const char *upstream, *ctx_file;
static volatile sig_atomic_t done;

static void on_signal(int s)
{
	(void)s;
	done = 1;
}

static void buf_add(buf *b, const char *s, size_t n)
{
	char *q = realloc(b->p, b->len + n + 1);

	if (q == NULL)
		abort();
	b->p = q;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static size_t on_data(char *d, size_t sz, size_t n, void *arg)
{
	buf_add(arg, d, sz * n);
	return sz * n;
}

/* The context elements, escaped ('<' '>' '&' as entities), "" when the file is absent. */
static void ctx_escaped(buf *out)
{
	FILE *f = fopen(ctx_file, "r");
	int ch;

	buf_add(out, "", 0);
	if (f == NULL)
		return;
	while ((ch = fgetc(f)) != EOF) {
		if (ch == '\n')
			continue;
		if (ch == '<')
			buf_add(out, "&lt;", 4);
		else if (ch == '>')
			buf_add(out, "&gt;", 4);
		else if (ch == '&')
			buf_add(out, "&amp;", 5);
		else {
			char c = (char)ch;
			buf_add(out, &c, 1);
		}
	}
	fclose(f);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ptr)
{
	static const char mark[] = "&lt;CONTEXT&gt;";
	buf *req = *ptr, resp = {0}, out = {0}, ctx = {0};
	struct curl_slist *h = NULL;
	struct MHD_Response *r;
	enum MHD_Result ret;
	CURL *cu;
	const char *s, *m;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (req == NULL) {
		*ptr = calloc(1, sizeof(buf));
		return *ptr != NULL ? MHD_YES : MHD_NO;
	}
	if (*size > 0) {
		buf_add(req, data, *size);
		*size = 0;
		return MHD_YES;
	}
	cu = curl_easy_init();
	h = curl_slist_append(h, "Content-Type: text/xml");
	curl_easy_setopt(cu, CURLOPT_URL, upstream);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, req->p != NULL ? req->p : "");
	curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)req->len);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &resp);
	if (curl_easy_perform(cu) != CURLE_OK || resp.p == NULL) {
		curl_easy_cleanup(cu);
		curl_slist_free_all(h);
		free(resp.p);
		return MHD_NO;
	}
	curl_easy_cleanup(cu);
	curl_slist_free_all(h);
	ctx_escaped(&ctx);
	buf_add(&out, "", 0);
	for (s = resp.p; (m = strstr(s, mark)) != NULL; s = m + strlen(mark)) {
		buf_add(&out, s, (size_t)(m - s) + strlen(mark));
		buf_add(&out, ctx.p, ctx.len);
	}
	buf_add(&out, s, strlen(s));
	free(resp.p);
	free(ctx.p);
	r = MHD_create_response_from_buffer(out.len, out.p, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "text/xml");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **ptr,
                      enum MHD_RequestTerminationCode tc)
{
	buf *b = *ptr;

	(void)cls;
	(void)c;
	(void)tc;
	if (b != NULL) {
		free(b->p);
		free(b);
	}
	*ptr = NULL;
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;

	if (argc != 4) {
		fprintf(stderr, "usage: one-context-proxy PORT UPSTREAM-URL CONTEXT-FILE\n");
		return 2;
	}
	upstream = argv[2];
	ctx_file = argv[3];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)atoi(argv[1]), NULL, NULL,
	                     handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                     MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "one-context-proxy: cannot listen on port %s\n", argv[1]);
		return 1;
	}
	while (!done)
		pause();
	MHD_stop_daemon(d);
	curl_global_cleanup();
	return 0;
}
