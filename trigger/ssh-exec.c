/* ssh-exec.c — libssh2 in non-blocking mode: every step loops on EAGAIN and waits with poll()
 * for the direction libssh2 asks for, never past the caller's deadline. After a timeout the
 * session is freed without a graceful close (it may be mid-packet). */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libssh2.h>

#include "ssh-exec.h"
#include "th-time.h"

th_err ssh_global_init(char *errbuf)
{
	if (libssh2_init(0) != 0)
		return th_seterr(errbuf, TH_ERR_IO, "libssh2_init failed");
	return TH_OK;
}

static int ssh_ms_left(int64_t deadline)
{
	int64_t left = (deadline - th_mono_ns()) / TH_NS_PER_MS;

	return left <= 0 ? 0 : left > 1000000 ? 1000000 : (int)left;
}

/* Wait until the socket is ready in the direction libssh2 is blocked on. */
static th_err ssh_wait(int fd, LIBSSH2_SESSION *s, int64_t deadline, const ssh_target *t,
                       const char *what, char *errbuf)
{
	struct pollfd p = {.fd = fd, .events = 0};
	int dir = s != NULL ? libssh2_session_block_directions(s) : LIBSSH2_SESSION_BLOCK_OUTBOUND;
	int ms = ssh_ms_left(deadline), rc;

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	if (p.events == 0)
		p.events = POLLIN;
	if (ms == 0)
		goto timeout;
	do
		rc = poll(&p, 1, ms);
	while (rc < 0 && errno == EINTR && (ms = ssh_ms_left(deadline)) > 0);
	if (rc > 0)
		return TH_OK;
	if (rc < 0)
		return th_seterr(errbuf, TH_ERR_IO, "ssh %s:%d: poll: %s", t->host, t->port,
		                 strerror(errno));
timeout:
	return th_seterr(errbuf, TH_ERR_TIMEOUT, "ssh %s@%s:%d: timed out after %d ms (%s)",
	                 t->user, t->host, t->port, t->timeout_ms, what);
}

static th_err ssh_connect(const ssh_target *t, int64_t deadline, int *fdp, char *errbuf)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	char port[16];
	int rc, fd = -1, soerr;
	socklen_t sl = sizeof soerr;
	th_err e = TH_ERR_NET;

	snprintf(port, sizeof port, "%d", t->port);
	rc = getaddrinfo(t->host, port, &hints, &res);
	if (rc != 0)
		return th_seterr(errbuf, TH_ERR_NET, "ssh: cannot resolve %s: %s", t->host,
		                 gai_strerror(rc));
	th_seterr(errbuf, TH_ERR_NET, "ssh: no address for %s", t->host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			e = ssh_wait(fd, NULL, deadline, t, "connecting", errbuf);
			if (e == TH_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0)
				break;
			if (e == TH_OK)
				e = th_seterr(errbuf, TH_ERR_NET,
				              "ssh: cannot connect to %s:%d: %s", t->host, t->port,
				              strerror(soerr));
		} else {
			e = th_seterr(errbuf, TH_ERR_NET, "ssh: cannot connect to %s:%d: %s",
			              t->host, t->port, strerror(errno));
		}
		close(fd);
		fd = -1;
		if (e == TH_ERR_TIMEOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return e;
	*fdp = fd;
	return TH_OK;
}

static int ssh_kh_type(int hostkey_type)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default:
		return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

static th_err ssh_check_hostkey(LIBSSH2_SESSION *s, const ssh_target *t, char *errbuf)
{
	LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(s);
	struct libssh2_knownhost *entry = NULL;
	const char *key;
	size_t len;
	int type, rc;

	if (kh == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "ssh: cannot allocate known_hosts");
	if (libssh2_knownhost_readfile(kh, t->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		libssh2_knownhost_free(kh);
		return th_seterr(errbuf, TH_ERR_AUTH,
		                 "ssh %s:%d: cannot read known_hosts file %s: refusing to connect "
		                 "without a host key to check",
		                 t->host, t->port, t->known_hosts);
	}
	key = libssh2_session_hostkey(s, &len, &type);
	if (key == NULL) {
		libssh2_knownhost_free(kh);
		return th_seterr(errbuf, TH_ERR_AUTH, "ssh %s:%d: server sent no host key", t->host,
		                 t->port);
	}
	rc = libssh2_knownhost_checkp(kh, t->host, t->port, key, len,
	                              LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	                                  ssh_kh_type(type),
	                              &entry);
	libssh2_knownhost_free(kh);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return TH_OK;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		return th_seterr(errbuf, TH_ERR_AUTH,
		                 "ssh %s:%d: host key CHANGED — it does not match %s; refusing to "
		                 "connect",
		                 t->host, t->port, t->known_hosts);
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		return th_seterr(errbuf, TH_ERR_AUTH,
		                 "ssh %s:%d: host key unknown — not in %s; refusing to connect "
		                 "(verify it, then add it with ssh-keyscan)",
		                 t->host, t->port, t->known_hosts);
	default:
		return th_seterr(errbuf, TH_ERR_AUTH, "ssh %s:%d: cannot check host key against %s",
		                 t->host, t->port, t->known_hosts);
	}
}

static th_err ssh_auth_agent(LIBSSH2_SESSION *s, int fd, const ssh_target *t, int64_t deadline,
                             char *errbuf)
{
	LIBSSH2_AGENT *ag = libssh2_agent_init(s);
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	th_err e = TH_ERR_AUTH;
	int rc;

	if (ag == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "ssh: cannot allocate agent");
	if (libssh2_agent_connect(ag) != 0 || libssh2_agent_list_identities(ag) != 0) {
		libssh2_agent_free(ag);
		return th_seterr(errbuf, TH_ERR_AUTH,
		                 "ssh %s@%s:%d: no key file given and no usable ssh-agent "
		                 "(SSH_AUTH_SOCK)",
		                 t->user, t->host, t->port);
	}
	th_seterr(errbuf, TH_ERR_AUTH, "ssh %s@%s:%d: no key in ssh-agent was accepted", t->user,
	          t->host, t->port);
	while (libssh2_agent_get_identity(ag, &id, prev) == 0) {
		while ((rc = libssh2_agent_userauth(ag, t->user, id)) == LIBSSH2_ERROR_EAGAIN) {
			if ((e = ssh_wait(fd, s, deadline, t, "agent authentication", errbuf)) !=
			    TH_OK)
				goto out;
		}
		if (rc == 0) {
			e = TH_OK;
			goto out;
		}
		e = TH_ERR_AUTH;
		prev = id;
	}
out:
	libssh2_agent_disconnect(ag);
	libssh2_agent_free(ag);
	return e;
}

/* Write the whole of in to the command's standard input, then end it (EOF). */
static th_err ssh_send_input(LIBSSH2_CHANNEL *ch, LIBSSH2_SESSION *s, int fd, const ssh_target *t,
                             int64_t deadline, const void *in, size_t inlen, char *errbuf)
{
	size_t sent = 0;
	ssize_t n;
	th_err e;
	int rc;

	while (sent < inlen) {
		n = libssh2_channel_write(ch, (const char *)in + sent, inlen - sent);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			if ((e = ssh_wait(fd, s, deadline, t, "sending input", errbuf)) != TH_OK)
				return e;
			continue;
		}
		if (n < 0)
			return th_seterr(errbuf, TH_ERR_NET, "ssh %s:%d: write failed (%zd)",
			                 t->host, t->port, n);
		sent += (size_t)n;
	}
	while ((rc = libssh2_channel_send_eof(ch)) == LIBSSH2_ERROR_EAGAIN) {
		if ((e = ssh_wait(fd, s, deadline, t, "sending input", errbuf)) != TH_OK)
			return e;
	}
	if (rc != 0)
		return th_seterr(errbuf, TH_ERR_NET, "ssh %s:%d: cannot end the input (%d)",
		                 t->host, t->port, rc);
	return TH_OK;
}

th_err ssh_exec(const ssh_target *t, const char *cmd, char *out, size_t outsz, int *status,
                char *errbuf)
{
	return ssh_exec_in(t, cmd, NULL, 0, out, outsz, status, errbuf);
}

th_err ssh_exec_in(const ssh_target *t, const char *cmd, const void *in, size_t inlen, char *out,
                   size_t outsz, int *status, char *errbuf)
{
	int64_t deadline = th_mono_ns() + (int64_t)t->timeout_ms * TH_NS_PER_MS;
	LIBSSH2_SESSION *s = NULL;
	LIBSSH2_CHANNEL *ch = NULL;
	int fd = -1, rc;
	size_t used = 0;
	char buf[4096];
	th_err e;
	bool graceful = true;

	if (status != NULL)
		*status = -1;
	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if ((e = ssh_connect(t, deadline, &fd, errbuf)) != TH_OK)
		return e;
	s = libssh2_session_init();
	if (s == NULL) {
		close(fd);
		return th_seterr(errbuf, TH_ERR_NOMEM, "ssh: cannot allocate session");
	}
	libssh2_session_set_blocking(s, 0);
#define SSH_LOOP(call, what)                                                                       \
	while ((rc = (call)) == LIBSSH2_ERROR_EAGAIN) {                                            \
		if ((e = ssh_wait(fd, s, deadline, t, what, errbuf)) != TH_OK)                     \
			goto fail;                                                                 \
	}
	SSH_LOOP(libssh2_session_handshake(s, fd), "handshake");
	if (rc != 0) {
		char *msg = NULL;

		libssh2_session_last_error(s, &msg, NULL, 0);
		e = th_seterr(errbuf, TH_ERR_NET, "ssh %s:%d: SSH handshake failed: %s", t->host,
		              t->port, msg != NULL && msg[0] ? msg : "is it an SSH server?");
		goto fail;
	}
	if ((e = ssh_check_hostkey(s, t, errbuf)) != TH_OK)
		goto fail;
	if (t->key[0] != '\0') {
		SSH_LOOP(libssh2_userauth_publickey_fromfile_ex(
		             s, t->user, (unsigned)strlen(t->user), NULL, t->key, NULL),
		         "authentication");
		if (rc != 0) {
			char *msg = NULL;
			libssh2_session_last_error(s, &msg, NULL, 0);
			e = th_seterr(errbuf, TH_ERR_AUTH, "ssh %s@%s:%d: key %s refused: %s",
			              t->user, t->host, t->port, t->key, msg != NULL ? msg : "?");
			goto fail;
		}
	} else if ((e = ssh_auth_agent(s, fd, t, deadline, errbuf)) != TH_OK) {
		goto fail;
	}
	do {
		ch = libssh2_channel_open_session(s);
		if (ch == NULL && libssh2_session_last_errno(s) == LIBSSH2_ERROR_EAGAIN) {
			if ((e = ssh_wait(fd, s, deadline, t, "opening a channel", errbuf)) !=
			    TH_OK)
				goto fail;
		}
	} while (ch == NULL && libssh2_session_last_errno(s) == LIBSSH2_ERROR_EAGAIN);
	if (ch == NULL) {
		e = th_seterr(errbuf, TH_ERR_REMOTE, "ssh %s:%d: cannot open a channel", t->host,
		              t->port);
		goto fail;
	}
	SSH_LOOP(libssh2_channel_exec(ch, cmd), "starting the command");
	if (rc != 0) {
		e = th_seterr(errbuf, TH_ERR_REMOTE,
		              "ssh %s:%d: the server refused to run a command", t->host, t->port);
		goto fail;
	}
	if (in != NULL && (e = ssh_send_input(ch, s, fd, t, deadline, in, inlen, errbuf)) != TH_OK)
		goto fail;
	for (;;) {
		ssize_t n = libssh2_channel_read(ch, buf, sizeof buf);

		if (n > 0) {
			if (out != NULL && used + 1 < outsz) {
				size_t k =
				    (size_t)n < outsz - 1 - used ? (size_t)n : outsz - 1 - used;
				memcpy(out + used, buf, k);
				used += k;
				out[used] = '\0';
			}
			continue;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			e = th_seterr(errbuf, TH_ERR_NET, "ssh %s:%d: read failed (%zd)", t->host,
			              t->port, n);
			goto fail;
		}
		/* drain stderr so the remote side never blocks on it */
		while (libssh2_channel_read_stderr(ch, buf, sizeof buf) > 0)
			;
		if (libssh2_channel_eof(ch))
			break;
		if ((e = ssh_wait(fd, s, deadline, t, "running the command", errbuf)) != TH_OK)
			goto fail;
	}
	SSH_LOOP(libssh2_channel_close(ch), "closing the channel");
	SSH_LOOP(libssh2_channel_wait_closed(ch), "closing the channel");
	if (status != NULL)
		*status = libssh2_channel_get_exit_status(ch);
	libssh2_channel_free(ch);
	ch = NULL;
	while (libssh2_session_disconnect(s, "done") == LIBSSH2_ERROR_EAGAIN &&
	       ssh_wait(fd, s, deadline, t, "disconnecting", NULL) == TH_OK)
		;
	libssh2_session_free(s);
	close(fd);
	return TH_OK;
#undef SSH_LOOP
fail:
	graceful = e != TH_ERR_TIMEOUT;
	if (ch != NULL && graceful)
		libssh2_channel_free(ch);
	if (graceful)
		libssh2_session_disconnect(s, "error");
	/* after a timeout the session may be mid-packet: drop the socket, then free */
	close(fd);
	libssh2_session_free(s);
	return e;
}
