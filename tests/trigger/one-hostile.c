/* one-hostile.c — an OpenNebula XML-RPC endpoint that answers badly, for the trigger's limits:
 *   one-hostile PORT MODE [N]
 * one.system.version is answered as OpenNebula does; every other call gets, by MODE:
 *   pool             a small VM pool (one VM): the well-behaved case
 *   envelope-laughs  a methodResponse whose own DOCTYPE declares N levels of entities, ten
 *                    references each (30·10^N bytes when expanded), the document item made of
 *                    the last one
 *   vm-laughs        a plain methodResponse whose document item (escaped, as oned sends it) is
 *                    a <VM_POOL> with such a DOCTYPE of N levels
 *   doctype          a well-formed methodResponse with an empty <!DOCTYPE methodResponse>
 *   stream           a methodResponse of N MiB whose string never ends, sent chunked (no
 *                    length announced): the reader must stop on its own
 *   declared         the same with Content-Length: N MiB announced
 * Runs until SIGTERM/SIGINT. */
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

static const char *mode;
static long arg_n;
static volatile sig_atomic_t done;

static const char resp_head[] = "<?xml version=\"1.0\"?>\n<methodResponse><params><param><value>"
                                "<array><data><value><boolean>1</boolean></value><value><string>";
static const char resp_tail[] = "</string></value><value><i4>0</i4></value></data></array></value>"
                                "</param></params></methodResponse>\n";

static void on_signal(int s)
{
	(void)s;
	done = 1;
}

/* "<!DOCTYPE root [<!ENTITY a0 "lol…">" and n levels of ten references each "]>"; lt and amp:
 * how '<' and '&' are written. */
static size_t laughs_dtd(char *out, size_t size, const char *root, long n, const char *lt,
                         const char *amp)
{
	size_t k = 0;

	k += (size_t)snprintf(out + k, size - k, "%s!DOCTYPE %s [%s!ENTITY a0 \"%s\">", lt, root,
	                      lt, "lollollollollollollollollollol");
	for (long i = 1; i <= n; i++) {
		k += (size_t)snprintf(out + k, size - k, "%s!ENTITY a%ld \"", lt, i);
		for (int r = 0; r < 10; r++)
			k += (size_t)snprintf(out + k, size - k, "%sa%ld;", amp, i - 1);
		k += (size_t)snprintf(out + k, size - k, "\">");
	}
	k += (size_t)snprintf(out + k, size - k, "]>");
	return k;
}

static char *body_for(size_t *len)
{
	size_t cap = 64 * 1024, k = 0;
	char *b = malloc(cap);

	if (b == NULL)
		return NULL;
	if (strcmp(mode, "envelope-laughs") == 0) {
		k += (size_t)snprintf(b + k, cap - k, "<?xml version=\"1.0\"?>\n");
		k += laughs_dtd(b + k, cap - k, "methodResponse", arg_n, "<", "&");
		k += (size_t)snprintf(b + k, cap - k, "%s&a%ld;%s", resp_head + 22, arg_n,
		                      resp_tail);
	} else if (strcmp(mode, "vm-laughs") == 0) {
		k += (size_t)snprintf(b + k, cap - k, "%s", resp_head);
		k += laughs_dtd(b + k, cap - k, "VM_POOL", arg_n, "&lt;", "&amp;");
		k += (size_t)snprintf(b + k, cap - k, "&lt;VM_POOL&gt;&amp;a%ld;&lt;/VM_POOL&gt;%s",
		                      arg_n, resp_tail);
	} else if (strcmp(mode, "doctype") == 0) {
		k += (size_t)snprintf(b + k, cap - k,
		                      "<?xml version=\"1.0\"?>\n<!DOCTYPE methodResponse>\n%s"
		                      "&lt;VM_POOL/&gt;%s",
		                      resp_head + 22, resp_tail);
	} else {
		k += (size_t)snprintf(
		    b + k, cap - k,
		    "%s&lt;VM_POOL&gt;&lt;VM&gt;&lt;ID&gt;0&lt;/ID&gt;&lt;NAME&gt;vm0&lt;/NAME&gt;"
		    "&lt;STATE&gt;3&lt;/STATE&gt;&lt;LCM_STATE&gt;3&lt;/LCM_STATE&gt;&lt;/VM&gt;"
		    "&lt;/VM_POOL&gt;%s",
		    resp_head, resp_tail);
	}
	*len = k;
	return b;
}

/* The endless reply: the head, then 'x' up to arg_n MiB. */
static ssize_t stream_part(void *cls, uint64_t pos, char *buf, size_t max)
{
	uint64_t total = (uint64_t)arg_n * 1024 * 1024, n;

	(void)cls;
	if (pos >= total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = total - pos < max ? total - pos : max;
	memset(buf, 'x', (size_t)n);
	if (pos < sizeof resp_head - 1) {
		size_t h = sizeof resp_head - 1 - (size_t)pos;
		memcpy(buf, resp_head + pos, h < n ? h : (size_t)n);
	}
	return (ssize_t)n;
}

static enum MHD_Result reply(struct MHD_Connection *c, struct MHD_Response *r)
{
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "text/xml");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ptr)
{
	conn *k = *ptr;
	char *b;
	size_t len;

	(void)cls;
	(void)url;
	(void)method;
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
	if (k->buf != NULL && strstr(k->buf, "<methodName>one.system.version<") != NULL) {
		static char v[512];
		snprintf(v, sizeof v, "%s6.10.0%s", resp_head, resp_tail);
		return reply(c,
		             MHD_create_response_from_buffer(strlen(v), v, MHD_RESPMEM_PERSISTENT));
	}
	if (strcmp(mode, "stream") == 0 || strcmp(mode, "declared") == 0)
		return reply(c, MHD_create_response_from_callback(
		                    strcmp(mode, "stream") == 0 ? MHD_SIZE_UNKNOWN
		                                                : (uint64_t)arg_n * 1024 * 1024,
		                    64 * 1024, stream_part, NULL, NULL));
	if ((b = body_for(&len)) == NULL)
		return MHD_NO;
	return reply(c, MHD_create_response_from_buffer(len, b, MHD_RESPMEM_MUST_FREE));
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
		fprintf(stderr, "usage: one-hostile PORT MODE [N]\n");
		return 2;
	}
	mode = argv[2];
	arg_n = argc > 3 ? atol(argv[3]) : 0;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)atoi(argv[1]), NULL, NULL,
	                     handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                     MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "one-hostile: cannot listen on port %s\n", argv[1]);
		return 1;
	}
	while (!done)
		pause();
	MHD_stop_daemon(d);
	return 0;
}
