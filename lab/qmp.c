/* qmp.c — QMP client over a unix socket (see qmp.h). */
#include "themis-config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"
#include "th-time.h"

struct qmp {
	int fd;
	char path[108];
	char buf[65536];
	size_t len;
};

/* Reads one line (one JSON object) into a fresh string before deadline_ns. */
static th_err qmp_read_line(qmp *q, int64_t deadline_ns, char **line, char *errbuf)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = {q->fd, POLLIN, 0};
		int64_t left;
		ssize_t n;
		int rc;

		if (nl != NULL) {
			size_t l = (size_t)(nl - q->buf);

			*line = malloc(l + 1);
			if (*line == NULL)
				return th_seterr(errbuf, TH_ERR_NOMEM, "qmp %s: out of memory",
				                 q->path);
			memcpy(*line, q->buf, l);
			(*line)[l] = '\0';
			memmove(q->buf, nl + 1, q->len - l - 1);
			q->len -= l + 1;
			return TH_OK;
		}
		if (q->len == sizeof q->buf)
			return th_seterr(errbuf, TH_ERR_TOOBIG, "qmp %s: reply line over %zu bytes",
			                 q->path, sizeof q->buf);
		left = (deadline_ns - th_mono_ns()) / TH_NS_PER_MS;
		if (left <= 0)
			return th_seterr(errbuf, TH_ERR_TIMEOUT, "qmp %s: no reply in time",
			                 q->path);
		rc = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
		if (rc < 0 && errno != EINTR)
			return th_seterr(errbuf, TH_ERR_IO, "qmp %s: poll: %s", q->path,
			                 strerror(errno));
		if (rc <= 0)
			continue;
		n = read(q->fd, q->buf + q->len, sizeof q->buf - q->len);
		if (n == 0)
			return th_seterr(errbuf, TH_ERR_NET, "qmp %s: QEMU closed the connection",
			                 q->path);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return th_seterr(errbuf, TH_ERR_IO, "qmp %s: read: %s", q->path,
			                 strerror(errno));
		}
		q->len += (size_t)n;
	}
}

/* Reads lines until one that is not an event; returns its tree. */
static th_err qmp_read_reply(qmp *q, int64_t deadline_ns, yajl_val *out, char *errbuf)
{
	for (;;) {
		const char *ev[] = {"event", NULL};
		char *line = NULL, perr[128];
		yajl_val v;
		th_err e = qmp_read_line(q, deadline_ns, &line, errbuf);

		if (e != TH_OK)
			return e;
		v = yajl_tree_parse(line, perr, sizeof perr);
		if (v == NULL) {
			th_seterr(errbuf, TH_ERR_PARSE, "qmp %s: bad JSON \"%.80s\": %s", q->path,
			          line, perr);
			free(line);
			return TH_ERR_PARSE;
		}
		free(line);
		if (yajl_tree_get(v, ev, yajl_t_any) != NULL) {
			yajl_tree_free(v);
			continue;
		}
		*out = v;
		return TH_OK;
	}
}

static th_err qmp_send(qmp *q, const char *s, char *errbuf)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = send(q->fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return th_seterr(errbuf, TH_ERR_IO, "qmp %s: write: %s", q->path,
			                 strerror(errno));
		}
		off += (size_t)n;
	}
	return TH_OK;
}

th_err qmp_next_line(qmp *q, long timeout_ms, char **line, char *errbuf)
{
	return qmp_read_line(q, th_mono_ns() + (int64_t)timeout_ms * TH_NS_PER_MS, line, errbuf);
}

yajl_val qmp_return(yajl_val reply)
{
	const char *path[] = {"return", NULL};

	return yajl_tree_get(reply, path, yajl_t_any);
}

th_err qmp_exec(qmp *q, const char *name, const char *args_json, long timeout_ms, yajl_val *ret,
                char *errbuf)
{
	const char *desc_path[] = {"error", "desc", NULL};
	int64_t deadline = th_mono_ns() + (int64_t)timeout_ms * TH_NS_PER_MS;
	char cmd[2048];
	yajl_val v = NULL, d;
	th_err e;

	if (args_json != NULL)
		snprintf(cmd, sizeof cmd, "{\"execute\":\"%s\",\"arguments\":%s}\n", name,
		         args_json);
	else
		snprintf(cmd, sizeof cmd, "{\"execute\":\"%s\"}\n", name);
	e = qmp_send(q, cmd, errbuf);
	if (e == TH_OK)
		e = qmp_read_reply(q, deadline, &v, errbuf);
	if (e != TH_OK)
		return e;
	d = yajl_tree_get(v, desc_path, yajl_t_string);
	if (d != NULL) {
		th_seterr(errbuf, TH_ERR_REMOTE, "qmp %s: %s: %s", q->path, name,
		          YAJL_GET_STRING(d));
		yajl_tree_free(v);
		return TH_ERR_REMOTE;
	}
	if (qmp_return(v) == NULL) {
		yajl_tree_free(v);
		return th_seterr(errbuf, TH_ERR_PARSE, "qmp %s: %s: reply without \"return\"",
		                 q->path, name);
	}
	if (ret != NULL)
		*ret = v;
	else
		yajl_tree_free(v);
	return TH_OK;
}

th_err qmp_open(const char *path, long timeout_ms, qmp **out, char *errbuf)
{
	int64_t deadline = th_mono_ns() + (int64_t)timeout_ms * TH_NS_PER_MS;
	struct sockaddr_un sa;
	yajl_val greeting = NULL;
	qmp *q;
	th_err e;

	if (strlen(path) >= sizeof sa.sun_path)
		return th_seterr(errbuf, TH_ERR_INVALID, "qmp socket path too long: %s", path);
	q = calloc(1, sizeof *q);
	if (q == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "qmp %s: out of memory", path);
	snprintf(q->path, sizeof q->path, "%s", path);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		int err;

		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->fd < 0) {
			free(q);
			return th_seterr(errbuf, TH_ERR_IO, "qmp %s: socket: %s", path,
			                 strerror(errno));
		}
		if (connect(q->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			break;
		err = errno;
		e = th_seterr(errbuf, TH_ERR_NET, "qmp %s: connect: %s", path, strerror(err));
		close(q->fd);
		if (th_mono_ns() >= deadline || (err != ENOENT && err != ECONNREFUSED)) {
			free(q);
			return e;
		}
		usleep(50000);
	}
	e = qmp_read_reply(q, deadline, &greeting, errbuf);
	if (e == TH_OK) {
		yajl_tree_free(greeting);
		e = qmp_exec(q, "qmp_capabilities", NULL, timeout_ms, NULL, errbuf);
	}
	if (e != TH_OK) {
		qmp_close(q);
		return e;
	}
	*out = q;
	return TH_OK;
}

void qmp_close(qmp *q)
{
	if (q == NULL)
		return;
	close(q->fd);
	free(q);
}
