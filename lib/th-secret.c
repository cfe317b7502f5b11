/* th-secret.c — reading token and key files under one set of rules (see th-secret.h). */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "th-secret.h"

/* Read up to cap bytes; *more tells whether the file holds more than that. */
static th_err secret_read_fd(int fd, char *buf, size_t cap, size_t *got, bool *more)
{
	size_t n = 0;
	char extra;

	*more = false;
	for (;;) {
		ssize_t k = n < cap ? read(fd, buf + n, cap - n) : read(fd, &extra, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return TH_ERR_IO;
		if (k == 0)
			break;
		if (n == cap) {
			*more = true;
			break;
		}
		n += (size_t)k;
	}
	*got = n;
	return TH_OK;
}

static th_err secret_text(const char *path, const char *what, char *buf, size_t cap, size_t *len,
                          bool one_word, char *errbuf)
{
	size_t n = *len;

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
	                 buf[n - 1] == '\t'))
		n--;
	if (n == 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s is empty", what, path);
	if (n >= cap)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "%s %s: the text is longer than %zu bytes",
		                 what, path, cap - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 || c == 0x7f)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s %s: control character 0x%02x at byte %zu (one line of "
			                 "printable text expected)",
			                 what, path, c, i + 1);
		if (c == ' ' && one_word)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s %s: space at byte %zu (a token is one word)", what,
			                 path, i + 1);
	}
	buf[n] = '\0';
	*len = n;
	return TH_OK;
}

th_err th_secret_read(const char *path, const char *what, char *buf, size_t cap, size_t *len,
                      unsigned flags, char *errbuf)
{
	struct stat st;
	size_t got;
	bool more;
	th_err e;
	int fd;

	*len = 0;
	if (cap == 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s: no room to read it", what, path);
	/* O_NONBLOCK: a FIFO must not hang the open; it is refused just below */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return th_seterr(errbuf, errno == ENOENT ? TH_ERR_NOTFOUND : TH_ERR_IO, "%s %s: %s",
		                 what, path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		e = th_seterr(errbuf, TH_ERR_IO, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		e = th_seterr(errbuf, TH_ERR_INVALID, "%s %s is not a regular file", what, path);
		goto out;
	}
	if (st.st_mode & S_IROTH) {
		e = th_seterr(errbuf, TH_ERR_AUTH,
		              "%s %s is readable by everyone (mode %04o): chmod o-r %s", what, path,
		              (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if ((unsigned long long)st.st_size > cap) {
		e = th_seterr(errbuf, TH_ERR_TOOBIG, "%s %s has %lld bytes, at most %zu", what,
		              path, (long long)st.st_size, cap);
		goto out;
	}
	if (secret_read_fd(fd, buf, cap, &got, &more) != TH_OK) {
		e = th_seterr(errbuf, TH_ERR_IO, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (more) { /* it grew since fstat */
		e = th_seterr(errbuf, TH_ERR_TOOBIG, "%s %s has more than %zu bytes", what, path,
		              cap);
		goto out;
	}
	*len = got;
	if (flags & TH_SECRET_TEXT)
		e = secret_text(path, what, buf, cap, len,
		                (flags & TH_SECRET_TOKEN) == TH_SECRET_TOKEN, errbuf);
	else
		e = TH_OK;
out:
	close(fd);
	if (e != TH_OK) {
		memset(buf, 0, cap); /* no part of a refused secret stays behind */
		*len = 0;
	}
	return e;
}
