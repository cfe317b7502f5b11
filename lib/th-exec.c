/* th-exec.c — fork/exec with stdout on a pipe read by poll() until a deadline (see th-exec.h). */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "th-exec.h"
#include "th-time.h"

th_err th_exec(char *const argv[], int flags, int timeout_ms, char *out, size_t outsz, int *status,
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
		if (flags & TH_EXEC_OWN_GROUP)
			setpgid(0, 0);
		dup2(pfd[1], STDOUT_FILENO);
		if (flags & TH_EXEC_QUIET) {
			int devnull = open("/dev/null", O_RDWR);

			if (devnull >= 0) {
				dup2(devnull, STDIN_FILENO);
				dup2(devnull, STDERR_FILENO);
				if (devnull > STDERR_FILENO)
					close(devnull);
			}
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		int64_t left = (deadline - th_mono_ns()) / TH_NS_PER_MS;
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		ssize_t n;

		if (left <= 0) {
			e = th_seterr(errbuf, TH_ERR_TIMEOUT, "timed out after %d ms", timeout_ms);
			break;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(pfd[0], buf, sizeof buf);
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
		kill((flags & TH_EXEC_OWN_GROUP) ? -pid : pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return e;
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (status != NULL)
		*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	return TH_OK;
}
