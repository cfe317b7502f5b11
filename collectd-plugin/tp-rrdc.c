/* tp-rrdc.c — the rrdcached client of tp-rrdc.h: the protocol's pure part (addresses, command
 * lines, reply framing and parsing), then the connection under a deadline, then the operations. */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tp-rrdc.h"

/* --- pure part ---------------------------------------------------------------------------- */

th_err tp_rrdc_parse_address(const char *address, tp_rrdc_addr *a, char *errbuf)
{
	const char *host = address, *port = NULL, *end;
	size_t hlen;

	memset(a, 0, sizeof *a);
	if (address == NULL || address[0] == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "rrdcached address is empty");
	if (strncmp(address, "unix:", 5) == 0 || address[0] == '/') {
		const char *path = address[0] == '/' ? address : address + 5;

		if (path[0] == '\0' || strlen(path) >= sizeof a->path)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "rrdcached %s: not a unix socket path of 1 to %zu bytes",
			                 address, sizeof a->path - 1);
		a->unix_socket = true;
		memcpy(a->path, path, strlen(path) + 1);
		return TH_OK;
	}
	if (host[0] == '[') {
		host++;
		if ((end = strchr(host, ']')) == NULL || (end[1] != '\0' && end[1] != ':'))
			goto bad;
		if (end[1] == ':')
			port = end + 2;
	} else {
		end = strrchr(host, ':');
		if (end != NULL && strchr(host, ':') != end)
			goto bad; /* a bare IPv6 address: "[v6]" or "[v6]:port" */
		if (end != NULL)
			port = end + 1;
		else
			end = host + strlen(host);
	}
	hlen = (size_t)(end - host);
	if (hlen == 0 || hlen >= sizeof a->host)
		goto bad;
	memcpy(a->host, host, hlen);
	if (port == NULL)
		port = TP_RRDC_PORT;
	if (port[0] == '\0' || strlen(port) >= sizeof a->port ||
	    strspn(port, "0123456789") != strlen(port) || atol(port) < 1 || atol(port) > 65535)
		goto bad;
	memcpy(a->port, port, strlen(port) + 1);
	return TH_OK;
bad:
	return th_seterr(errbuf, TH_ERR_INVALID,
	                 "rrdcached %s: expected unix:/path, /path, host, host:port or [v6]:port",
	                 address);
}

bool tp_rrdc_line_add(char *line, size_t *len, const char *field)
{
	size_t need = 1;

	for (const char *p = field; *p; p++) {
		if (*p == '\n' || *p == '\r')
			return false;
		need += (*p == ' ' || *p == '\\') ? 2 : 1;
	}
	if (*len + need + 1 > TP_RRDC_LINE_MAX) /* + the newline */
		return false;
	line[(*len)++] = ' ';
	for (const char *p = field; *p; p++) {
		if (*p == ' ' || *p == '\\')
			line[(*len)++] = '\\';
		line[(*len)++] = *p;
	}
	return true;
}

long tp_rrdc_reply_length(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len), *p = buf;
	long status, lines;
	char *end;

	if (nl == NULL)
		return len > TP_RRDC_LINE_MAX ? -1 : 0;
	if (*p == '-' || *p == '+')
		p++;
	if (p == nl || *p < '0' || *p > '9')
		return -1;
	errno = 0;
	status = strtol(buf, &end, 10);
	if (errno != 0 || (end != nl && *end != ' ' && *end != '\t' && *end != '\r'))
		return -1;
	p = nl + 1;
	for (lines = status > 0 ? status : 0; lines > 0; lines--) {
		if ((nl = memchr(p, '\n', len - (size_t)(p - buf))) == NULL)
			return 0;
		p = nl + 1;
	}
	return (long)(p - buf);
}

void tp_rrdc_reply_status(const char *reply, long *status, const char **msg, size_t *msg_len)
{
	const char *nl = strchr(reply, '\n');
	char *end;

	*status = strtol(reply, &end, 10);
	while (end < nl && (*end == ' ' || *end == '\t'))
		end++;
	*msg = end;
	*msg_len = (size_t)(nl - end);
	while (*msg_len > 0 &&
	       (end[*msg_len - 1] == '\r' || end[*msg_len - 1] == '.' || end[*msg_len - 1] == ' '))
		(*msg_len)--;
}

th_err tp_rrdc_reply_err(const char *msg, size_t msg_len)
{
	static const char *const missing[] = {"No such file", "No such file or directory"};

	for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
		if (memmem(msg, msg_len, missing[i], strlen(missing[i])) != NULL)
			return TH_ERR_NOTFOUND;
	return TH_ERR_REMOTE;
}

th_err tp_rrdc_info_rows(const char *lines, size_t len, long *rows)
{
	static const char key[] = "rra[0].rows ";

	for (const char *p = lines, *end = lines + len, *nl; p < end; p = nl + 1) {
		char *e;
		long type, v;

		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) <= sizeof key - 1 || memcmp(p, key, sizeof key - 1) != 0)
			continue;
		type = strtol(p + sizeof key - 1, &e, 10);
		errno = 0;
		v = strtol(e, &e, 10);
		if (type < 0 || errno != 0 || v <= 0 || (e != nl && *e != '\r'))
			return TH_ERR_PARSE;
		*rows = v;
		return TH_OK;
	}
	return TH_ERR_NOTFOUND;
}

th_err tp_rrdc_parse_last(const char *msg, size_t msg_len, time_t *last)
{
	long long t = 0;

	if (msg_len == 0 || msg_len > 19)
		return TH_ERR_PARSE;
	for (size_t i = 0; i < msg_len; i++) {
		if (msg[i] < '0' || msg[i] > '9')
			return TH_ERR_PARSE;
		t = t * 10 + (msg[i] - '0');
	}
	if (t <= 0)
		return TH_ERR_PARSE;
	*last = (time_t)t;
	return TH_OK;
}

/* --- the connection ----------------------------------------------------------------------- */

struct tp_rrdc {
	char *address;
	tp_rrdc_addr addr;
	th_err addr_err; /* TH_OK, or why the address is no address */
	char addr_msg[TH_ERRLEN];
	int timeout_ms;
	int fd;            /* -1: not connected */
	char *rbuf;        /* reply being read */
	size_t rlen, rcap; /* bytes in rbuf, its size */
	char line[TP_RRDC_LINE_MAX];
	size_t len; /* bytes of the command in line, without the newline */
};

/* Microseconds on the monotonic clock. */
static int64_t tp_rrdc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* What is left of the deadline (microseconds) for poll(): >= 0, in milliseconds rounded up so
 * that a wake-up is never early. */
static int tp_rrdc_left(int64_t deadline)
{
	int64_t left = deadline - tp_rrdc_now();

	return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

tp_rrdc *tp_rrdc_new(const char *address, int timeout_ms)
{
	tp_rrdc *c = calloc(1, sizeof *c);

	if (c == NULL || (c->address = strdup(address ? address : "")) == NULL) {
		free(c);
		return NULL;
	}
	c->addr_err = tp_rrdc_parse_address(c->address, &c->addr, c->addr_msg);
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	c->fd = -1;
	return c;
}

static void tp_rrdc_close(tp_rrdc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rlen = 0;
}

void tp_rrdc_free(tp_rrdc *c)
{
	if (c == NULL)
		return;
	tp_rrdc_close(c);
	free(c->rbuf);
	free(c->address);
	free(c);
}

const char *tp_rrdc_address(const tp_rrdc *c)
{
	return c->address;
}

/* A request in progress, for messages: "UPDATE /x.rrd" and, for updates, the rows it holds. */
typedef struct tp_rrdc_op {
	const char *verb, *file;
	char rows[48];
	int64_t deadline; /* microseconds, monotonic */
} tp_rrdc_op;

static th_err tp_rrdc_fail(tp_rrdc *c, const tp_rrdc_op *op, th_err e, const char *what,
                           char *errbuf)
{
	tp_rrdc_close(c);
	if (e == TH_ERR_TIMEOUT)
		return th_seterr(errbuf, e, "rrdcached %s: %s within %d ms to %s %s%s", c->address,
		                 what, c->timeout_ms, op->verb, op->file, op->rows);
	return th_seterr(errbuf, e, "rrdcached %s: %s %s%s: %s", c->address, op->verb, op->file,
	                 op->rows, what);
}

/* Wait for events on c->fd until the deadline: 1 ready, 0 timed out, -1 error (errno). */
static int tp_rrdc_wait(tp_rrdc *c, short events, int64_t deadline)
{
	struct pollfd p = {.fd = c->fd, .events = events};
	int rc;

	do
		rc = poll(&p, 1, tp_rrdc_left(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc > 0 && (p.revents & (POLLERR | POLLNVAL)) && !(p.revents & events)) {
		errno = ECONNRESET;
		return -1;
	}
	return rc;
}

/* Non-blocking connect of a fresh socket to sa, waited for until the deadline. */
static th_err tp_rrdc_connect_one(tp_rrdc *c, int family, const struct sockaddr *sa,
                                  socklen_t salen, const tp_rrdc_op *op, char *errbuf)
{
	int err = 0, soerr = 0, one = 1;
	socklen_t elen = sizeof soerr;
	char what[160];

	c->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(what, sizeof what, "socket: %s", strerror(errno));
		return tp_rrdc_fail(c, op, TH_ERR_NET, what, errbuf);
	}
	if (family != AF_UNIX)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, sa, salen) == 0)
		return TH_OK;
	if (errno != EINPROGRESS) {
		snprintf(what, sizeof what, "connect: %s", strerror(errno));
		return tp_rrdc_fail(c, op, TH_ERR_NET, what, errbuf);
	}
	switch (tp_rrdc_wait(c, POLLOUT, op->deadline)) {
	case 0:
		return tp_rrdc_fail(c, op, TH_ERR_TIMEOUT, "no connection", errbuf);
	case -1:
		err = errno; /* unless the socket tells why */
		             /* fall through */
	default:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) != 0)
			err = errno;
		else if (soerr != 0)
			err = soerr;
	}
	if (err != 0) {
		snprintf(what, sizeof what, "connect: %s", strerror(err));
		return tp_rrdc_fail(c, op, TH_ERR_NET, what, errbuf);
	}
	return TH_OK;
}

/* A connection that is open and idle: reused when it has nothing to read (a daemon that went
 * away has closed it: it would be readable, at its end). */
static bool tp_rrdc_idle_ok(tp_rrdc *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	return poll(&p, 1, 0) == 0;
}

static th_err tp_rrdc_connect(tp_rrdc *c, const tp_rrdc_op *op, char *errbuf)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	th_err e = TH_ERR_NET;
	int rc;

	if (c->addr_err != TH_OK)
		return th_seterr(errbuf, c->addr_err, "%s", c->addr_msg);
	if (c->fd >= 0 && tp_rrdc_idle_ok(c))
		return TH_OK;
	tp_rrdc_close(c);
	if (c->addr.unix_socket) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		memcpy(sun.sun_path, c->addr.path, strlen(c->addr.path) + 1);
		return tp_rrdc_connect_one(c, AF_UNIX, (struct sockaddr *)&sun, sizeof sun, op,
		                           errbuf);
	}
	/* A numeric address as it is (AI_ADDRCONFIG would refuse 127.0.0.1 where loopback is the
	 * only interface); a name, only in the families configured here. */
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(c->addr.host, c->addr.port, &hints, &res)) == EAI_NONAME) {
		hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
		rc = getaddrinfo(c->addr.host, c->addr.port, &hints, &res);
	}
	if (rc != 0) {
		char what[TH_ERRLEN];

		snprintf(what, sizeof what, "cannot resolve %.64s: %.80s", c->addr.host,
		         gai_strerror(rc));
		return tp_rrdc_fail(c, op, TH_ERR_NET, what, errbuf);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if ((e = tp_rrdc_connect_one(c, ai->ai_family, ai->ai_addr, ai->ai_addrlen, op,
		                             errbuf)) == TH_OK ||
		    e == TH_ERR_TIMEOUT)
			break;
	freeaddrinfo(res);
	return e;
}

static th_err tp_rrdc_send(tp_rrdc *c, const char *data, size_t len, const tp_rrdc_op *op,
                           char *errbuf)
{
	char what[160];

	while (len > 0) {
		ssize_t w = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			data += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(what, sizeof what, "send: %s", strerror(errno));
			return tp_rrdc_fail(c, op, TH_ERR_NET, what, errbuf);
		}
		switch (tp_rrdc_wait(c, POLLOUT, op->deadline)) {
		case 0:
			return tp_rrdc_fail(c, op, TH_ERR_TIMEOUT, "command not taken", errbuf);
		case -1:
			snprintf(what, sizeof what, "send: %s", strerror(errno));
			return tp_rrdc_fail(c, op, TH_ERR_NET, what, errbuf);
		}
	}
	return TH_OK;
}

/* Read one whole reply into c->rbuf (NUL-terminated); its length in *rlen. */
static th_err tp_rrdc_read(tp_rrdc *c, const tp_rrdc_op *op, long *rlen, char *errbuf)
{
	char what[160];

	c->rlen = 0;
	for (;;) {
		ssize_t r;

		if (c->rcap - c->rlen < 4096 + 1) {
			size_t cap = c->rcap ? 2 * c->rcap : 8192;
			char *p;

			if (cap > (size_t)TP_RRDC_REPLY_MAX + 8192)
				return tp_rrdc_fail(c, op, TH_ERR_TOOBIG, "reply too long", errbuf);
			if ((p = realloc(c->rbuf, cap)) == NULL)
				return tp_rrdc_fail(c, op, TH_ERR_NOMEM, "out of memory", errbuf);
			c->rbuf = p;
			c->rcap = cap;
		}
		r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen - 1, MSG_DONTWAIT);
		if (r > 0) {
			c->rlen += (size_t)r;
			c->rbuf[c->rlen] = '\0';
			if ((*rlen = tp_rrdc_reply_length(c->rbuf, c->rlen)) > 0)
				break;
			if (*rlen < 0)
				return tp_rrdc_fail(c, op, TH_ERR_PARSE, "unreadable reply",
				                    errbuf);
			continue;
		}
		if (r == 0)
			return tp_rrdc_fail(c, op, TH_ERR_NET, "connection closed before the reply",
			                    errbuf);
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(what, sizeof what, "recv: %s", strerror(errno));
			return tp_rrdc_fail(c, op, TH_ERR_NET, what, errbuf);
		}
		switch (tp_rrdc_wait(c, POLLIN, op->deadline)) {
		case 0:
			return tp_rrdc_fail(c, op, TH_ERR_TIMEOUT, "no reply", errbuf);
		case -1:
			snprintf(what, sizeof what, "recv: %s", strerror(errno));
			return tp_rrdc_fail(c, op, TH_ERR_NET, what, errbuf);
		}
	}
	if ((size_t)*rlen != c->rlen)
		return tp_rrdc_fail(c, op, TH_ERR_PARSE, "more than one reply", errbuf);
	return TH_OK;
}

/* Send the command in c->line and read its reply: TH_OK with the status line's message (and
 * the lines after it in *body) when the status is >= 0; the daemon's message otherwise. */
static th_err tp_rrdc_request(tp_rrdc *c, const tp_rrdc_op *op, const char **msg, size_t *msg_len,
                              const char **body, char *errbuf)
{
	long status, rlen;
	th_err e;

	c->line[c->len++] = '\n';
	e = tp_rrdc_connect(c, op, errbuf);
	if (e == TH_OK)
		e = tp_rrdc_send(c, c->line, c->len, op, errbuf);
	if (e == TH_OK)
		e = tp_rrdc_read(c, op, &rlen, errbuf);
	if (e != TH_OK)
		return e;
	tp_rrdc_reply_status(c->rbuf, &status, msg, msg_len);
	if (body != NULL)
		*body = strchr(c->rbuf, '\n') + 1;
	if (status < 0)
		return th_seterr(errbuf, tp_rrdc_reply_err(*msg, *msg_len),
		                 "rrdcached %s: %s %s%s: %ld %.*s", c->address, op->verb, op->file,
		                 op->rows, status, (int)*msg_len, *msg);
	return TH_OK;
}

/* The name of file to send: with a unix socket its real path, as librrd's client sends it
 * (the daemon compares it with its base directory); as given otherwise or when it cannot be
 * resolved. */
static void tp_rrdc_file(const tp_rrdc *c, const char *file, char *out, size_t size)
{
	char *real, *slash, dir[PATH_MAX];

	snprintf(out, size, "%s", file);
	if (!c->addr.unix_socket)
		return;
	if ((real = realpath(file, NULL)) != NULL) {
		snprintf(out, size, "%s", real);
		free(real);
		return;
	}
	snprintf(dir, sizeof dir, "%s", file);
	if ((slash = strrchr(dir, '/')) == NULL) {
		snprintf(dir, sizeof dir, ".");
		slash = dir + 1;
	} else if (slash == dir) {
		return;
	}
	*slash = '\0';
	if ((real = realpath(dir, NULL)) != NULL) {
		const char *base = strrchr(file, '/');

		snprintf(out, size, "%s/%s", real, base ? base + 1 : file);
		free(real);
	}
}

/* Start the command "<verb> <file>" in c->line. */
static th_err tp_rrdc_begin(tp_rrdc *c, tp_rrdc_op *op, const char *verb, const char *file,
                            const char *path, char *errbuf)
{
	op->verb = verb;
	op->file = file;
	op->rows[0] = '\0';
	c->len = strlen(verb);
	memcpy(c->line, verb, c->len);
	if (!tp_rrdc_line_add(c->line, &c->len, path))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "rrdcached %s: %s %s: file name too long or with a line break",
		                 c->address, verb, file);
	return TH_OK;
}

/* --- the operations ----------------------------------------------------------------------- */

th_err tp_rrdc_update(tp_rrdc *c, const char *file, int n, const char *const *values, char *errbuf)
{
	char path[PATH_MAX];
	tp_rrdc_op op = {.deadline = tp_rrdc_now() + (int64_t)c->timeout_ms * 1000};
	const char *msg;
	size_t msg_len, head;
	th_err e;

	tp_rrdc_file(c, file, path, sizeof path);
	if ((e = tp_rrdc_begin(c, &op, "UPDATE", file, path, errbuf)))
		return e;
	head = c->len;
	for (int i = 0; i < n; i++) {
		c->len = head;
		if (!tp_rrdc_line_add(c->line, &c->len, values[i]))
			return th_seterr(
			    errbuf, TH_ERR_TOOBIG,
			    "rrdcached %s: UPDATE %s: row %d of %d (\"%.24s...\") does "
			    "not fit a command line of %d bytes",
			    c->address, file, i + 1, n, values[i], TP_RRDC_LINE_MAX);
	}
	for (int i = 0; i < n;) {
		int first = i;

		c->len = head;
		while (i < n && tp_rrdc_line_add(c->line, &c->len, values[i]))
			i++;
		snprintf(op.rows, sizeof op.rows, " rows %d-%d of %d", first + 1, i, n);
		if ((e = tp_rrdc_request(c, &op, &msg, &msg_len, NULL, errbuf)))
			return e;
	}
	return TH_OK;
}

th_err tp_rrdc_create(tp_rrdc *c, const char *file, unsigned long step, time_t last_up,
                      const char *source, int argc, const char *const *argv, char *errbuf)
{
	char path[PATH_MAX], src[PATH_MAX], num[32];
	tp_rrdc_op op = {.deadline = tp_rrdc_now() + (int64_t)c->timeout_ms * 1000};
	const char *msg;
	size_t msg_len;
	bool fits = true;
	th_err e;

	if (argc < 1 || argc > TP_RRDC_ARGC_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "rrdcached %s: CREATE %s: %d definitions, expected 1 to %d",
		                 c->address, file, argc, TP_RRDC_ARGC_MAX);
	if (source != NULL) {
		tp_rrdc_file(c, source, src, sizeof src);
		if ((e = tp_rrdc_begin(c, &op, "FLUSH", source, src, errbuf)))
			return e;
		snprintf(op.rows, sizeof op.rows, " before CREATE");
		if ((e = tp_rrdc_request(c, &op, &msg, &msg_len, NULL, errbuf)))
			return e;
	}
	tp_rrdc_file(c, file, path, sizeof path);
	if ((e = tp_rrdc_begin(c, &op, "CREATE", file, path, errbuf)))
		return e;
	snprintf(num, sizeof num, "%lld", (long long)last_up);
	if (last_up >= 0)
		fits = tp_rrdc_line_add(c->line, &c->len, "-b") &&
		       tp_rrdc_line_add(c->line, &c->len, num);
	snprintf(num, sizeof num, "%lu", step);
	fits = fits && tp_rrdc_line_add(c->line, &c->len, "-s") &&
	       tp_rrdc_line_add(c->line, &c->len, num);
	if (source != NULL)
		fits = fits && tp_rrdc_line_add(c->line, &c->len, "-r") &&
		       tp_rrdc_line_add(c->line, &c->len, src);
	for (int i = 0; i < argc && fits; i++)
		fits = tp_rrdc_line_add(c->line, &c->len, argv[i]);
	if (!fits)
		return th_seterr(errbuf, TH_ERR_TOOBIG,
		                 "rrdcached %s: CREATE %s: the command does not fit a line of %d "
		                 "bytes",
		                 c->address, file, TP_RRDC_LINE_MAX);
	return tp_rrdc_request(c, &op, &msg, &msg_len, NULL, errbuf);
}

th_err tp_rrdc_last(tp_rrdc *c, const char *file, time_t *last, char *errbuf)
{
	char path[PATH_MAX];
	tp_rrdc_op op = {.deadline = tp_rrdc_now() + (int64_t)c->timeout_ms * 1000};
	const char *msg;
	size_t msg_len;
	th_err e;

	tp_rrdc_file(c, file, path, sizeof path);
	if ((e = tp_rrdc_begin(c, &op, "LAST", file, path, errbuf)) ||
	    (e = tp_rrdc_request(c, &op, &msg, &msg_len, NULL, errbuf)))
		return e;
	if (tp_rrdc_parse_last(msg, msg_len, last) != TH_OK)
		return th_seterr(errbuf, TH_ERR_PARSE, "rrdcached %s: LAST %s: not a time: %.*s",
		                 c->address, file, (int)(msg_len > 40 ? 40 : msg_len), msg);
	return TH_OK;
}

th_err tp_rrdc_flush(tp_rrdc *c, const char *file, char *errbuf)
{
	char path[PATH_MAX];
	tp_rrdc_op op = {.deadline = tp_rrdc_now() + (int64_t)c->timeout_ms * 1000};
	const char *msg;
	size_t msg_len;
	th_err e;

	tp_rrdc_file(c, file, path, sizeof path);
	if ((e = tp_rrdc_begin(c, &op, "FLUSH", file, path, errbuf)))
		return e;
	return tp_rrdc_request(c, &op, &msg, &msg_len, NULL, errbuf);
}

th_err tp_rrdc_rows(tp_rrdc *c, const char *file, long *rows, char *errbuf)
{
	char path[PATH_MAX];
	tp_rrdc_op op = {.deadline = tp_rrdc_now() + (int64_t)c->timeout_ms * 1000};
	const char *msg, *body;
	size_t msg_len;
	th_err e;

	tp_rrdc_file(c, file, path, sizeof path);
	if ((e = tp_rrdc_begin(c, &op, "INFO", file, path, errbuf)) ||
	    (e = tp_rrdc_request(c, &op, &msg, &msg_len, &body, errbuf)))
		return e;
	if ((e = tp_rrdc_info_rows(body, c->rlen - (size_t)(body - c->rbuf), rows)) != TH_OK)
		return th_seterr(errbuf, e, "rrdcached %s: INFO %s: %s", c->address, file,
		                 e == TH_ERR_NOTFOUND ? "no rra[0].rows"
		                                      : "unreadable rra[0].rows");
	return TH_OK;
}
