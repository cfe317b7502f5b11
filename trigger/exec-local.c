/* exec-local.c — fork/exec /bin/sh -c in its own process group, read stdout with poll(). */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec-local.h"
#include "th-time.h"

th_err exec_local(const char *cmd, char *out, size_t outsz, int *status, int timeout_ms,
                  char *errbuf)
{
	int64_t deadline = th_mono_ns() + (int64_t)timeout_ms * TH_NS_PER_MS;
	int pfd[2], ws;
	size_t used = 0;
	pid_t pid;
	char buf[4096];
	th_err e = TH_OK;

	if (status != NULL)
		*status = -1;
	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return th_seterr(errbuf, TH_ERR_IO, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return th_seterr(errbuf, TH_ERR_IO, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		setpgid(0, 0);
		dup2(pfd[1], 1);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 2);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		int64_t left = (deadline - th_mono_ns()) / TH_NS_PER_MS;
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int rc;

		if (left <= 0) {
			e = th_seterr(errbuf, TH_ERR_TIMEOUT,
			              "command timed out after %d ms: %.80s", timeout_ms, cmd);
			break;
		}
		rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		ssize_t n = read(pfd[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out != NULL && used + 1 < outsz) {
			size_t k = (size_t)n < outsz - 1 - used ? (size_t)n : outsz - 1 - used;
			memcpy(out + used, buf, k);
			used += k;
			out[used] = '\0';
		}
	}
	close(pfd[0]);
	if (e != TH_OK) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return e;
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (status != NULL)
		*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	return TH_OK;
}
