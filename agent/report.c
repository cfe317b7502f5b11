/* report.c — the "--report" outputs of themis-agent: stdout, appended files, and (when the
 * delivery code is built in) the ingest endpoint. */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "record-json.h"
#include "report.h"

typedef enum out_kind { OUT_FD, OUT_URL } out_kind;

typedef struct output {
	out_kind kind;
	int fd;
	char *name;
	report_url *url;
} output;

struct th_report {
	output *o;
	size_t n;
};

th_err th_report_new(th_report **out, char *errbuf)
{
	*out = calloc(1, sizeof **out);
	if (*out == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory for the report outputs");
	return TH_OK;
}

size_t th_report_count(const th_report *r)
{
	return r->n;
}

static bool is_url(const char *spec)
{
	return strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0;
}

th_err th_report_add(th_report *r, const char *spec, const report_url_opts *url_opts, char *errbuf)
{
	output o = {.fd = -1};

	if (spec[0] == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "--report: empty destination");
	if (!is_url(spec) && strstr(spec, "://") != NULL)
		return th_seterr(
		    errbuf, TH_ERR_INVALID,
		    "--report %s: only http:// and https:// URLs are accepted (or - for "
		    "stdout, or a file)",
		    spec);
	if (is_url(spec)) {
#ifdef TH_HAVE_REPORT_URL
		th_err e = report_url_open(&o.url, spec, url_opts, errbuf);
		if (e != TH_OK)
			return e;
		o.kind = OUT_URL;
#else
		(void)url_opts;
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--report %s: this themis-agent is built without HTTP delivery",
		                 spec);
#endif
	} else if (strcmp(spec, "-") == 0) {
		o.kind = OUT_FD;
		o.fd = STDOUT_FILENO;
	} else {
		o.kind = OUT_FD;
		o.fd = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (o.fd < 0)
			return th_seterr(errbuf, TH_ERR_IO, "--report %s: %s", spec,
			                 strerror(errno));
	}
	o.name = strdup(spec);
	output *n = realloc(r->o, (r->n + 1) * sizeof *n);
	if (o.name == NULL || n == NULL) {
		free(o.name);
		if (o.fd > STDOUT_FILENO)
			close(o.fd);
#ifdef TH_HAVE_REPORT_URL
		if (o.url != NULL)
			report_url_close(o.url, NULL);
#endif
		if (n != NULL)
			r->o = n;
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory adding --report %s", spec);
	}
	r->o = n;
	r->o[r->n++] = o;
	return TH_OK;
}

/* The whole line or an error: a short write on a pipe or file is continued. */
static th_err write_all(int fd, const char *buf, size_t len, const char *name, char *errbuf)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return th_seterr(errbuf, TH_ERR_IO, "--report %s: %s", name,
			                 strerror(errno));
		}
		buf += w;
		len -= (size_t)w;
	}
	return TH_OK;
}

th_err th_report_write(th_report *r, const th_record *rec, char *errbuf)
{
	char *json = NULL;
	size_t len = 0;
	th_err first = TH_OK;

	for (size_t i = 0; i < r->n; i++) {
		output *o = &r->o[i];
		th_err e = TH_OK;
		if (o->kind == OUT_FD) {
			if (json == NULL) {
				e = th_record_to_json(rec, &json, &len, errbuf);
				if (e != TH_OK)
					return e;
				char *nl = realloc(json, len + 2);
				if (nl == NULL) {
					free(json);
					return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory");
				}
				json = nl;
				json[len++] = '\n';
				json[len] = '\0';
			}
			e = write_all(o->fd, json, len, o->name, first == TH_OK ? errbuf : NULL);
		}
#ifdef TH_HAVE_REPORT_URL
		else {
			e = report_url_write(o->url, rec, first == TH_OK ? errbuf : NULL);
		}
#endif
		if (first == TH_OK)
			first = e;
	}
	free(json);
	return first;
}

th_err th_report_close(th_report *r, char *errbuf)
{
	th_err first = TH_OK;

	if (r == NULL)
		return TH_OK;
	for (size_t i = 0; i < r->n; i++) {
		output *o = &r->o[i];
		th_err e = TH_OK;
		if (o->kind == OUT_FD && o->fd > STDOUT_FILENO && close(o->fd) != 0)
			e = th_seterr(first == TH_OK ? errbuf : NULL, TH_ERR_IO, "--report %s: %s",
			              o->name, strerror(errno));
#ifdef TH_HAVE_REPORT_URL
		if (o->kind == OUT_URL)
			e = report_url_close(o->url, first == TH_OK ? errbuf : NULL);
#endif
		if (first == TH_OK)
			first = e;
		free(o->name);
	}
	free(r->o);
	free(r);
	return first;
}

bool th_report_opt(int c, const char *arg, report_url_opts *url, th_err *e, char *errbuf)
{
	uint64_t u = 0;

	*e = TH_OK;
	switch (c) {
	case TH_ROPT_TOKEN_FILE:
		url->token_file = arg;
		return true;
	case TH_ROPT_SPOOL_DIR:
		url->spool_dir = arg;
		return true;
	case TH_ROPT_SPOOL_MAX:
		*e =
		    th_arg_size("--spool-max", arg, TH_SPOOL_MAX_MIN, TH_SPOOL_MAX_MAX, &u, errbuf);
		url->spool_max = u;
		return true;
	case TH_ROPT_SPOOL_MEMORY:
		*e = th_arg_uint("--spool-memory", arg, 1, 10000000, &u, errbuf);
		url->spool_memory = (unsigned)u;
		return true;
	case TH_ROPT_CACERT:
		url->cacert = arg;
		return true;
	case TH_ROPT_CERT:
		url->cert = arg;
		return true;
	case TH_ROPT_KEY:
		url->key = arg;
		return true;
	}
	return false;
}
