/* th-journal.c — fsync'd JSON-lines journal of markers. */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "th-journal.h"
#include "th-marker-json.h"

th_err th_journal_open(th_journal *j, const char *path, char *errbuf)
{
	j->fd = -1;
	if (snprintf(j->path, sizeof j->path, "%s", path) >= (int)sizeof j->path)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "journal path too long: %.64s…", path);
	j->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (j->fd < 0)
		return th_seterr(errbuf, TH_ERR_IO, "cannot open markers journal %s: %s", path,
		                 strerror(errno));
	return TH_OK;
}

th_err th_journal_append_line(th_journal *j, const char *line, size_t len, char *errbuf)
{
	struct iovec iov[2] = {{(void *)line, len}, {"\n", 1}};
	ssize_t n;

	if (j->fd < 0)
		return th_seterr(errbuf, TH_ERR_STATE, "markers journal %s is not open", j->path);
	if (memchr(line, '\n', len) != NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "journal line contains a newline");
	do
		n = writev(j->fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len + 1)
		return th_seterr(errbuf, TH_ERR_IO, "cannot append to markers journal %s: %s",
		                 j->path, n < 0 ? strerror(errno) : "short write");
	if (fsync(j->fd) != 0)
		return th_seterr(errbuf, TH_ERR_IO, "cannot fsync markers journal %s: %s", j->path,
		                 strerror(errno));
	return TH_OK;
}

th_err th_journal_append(th_journal *j, const th_marker *m, char *errbuf)
{
	char *json;
	size_t len;
	th_err e = th_marker_to_json(m, &json, &len, errbuf);

	if (e != TH_OK)
		return e;
	e = th_journal_append_line(j, json, len, errbuf);
	free(json);
	return e;
}

void th_journal_close(th_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}
