/* report-spool.c — the on-disk spool of the delivery engine (report-url-impl.h).
 *
 * Layout (one agent per directory, held with flock on <dir>/lock):
 *   <seq>.open    the segment push() appends to, one JSON object per line
 *   <seq>.batch   sealed segments, sent in increasing <seq> order, removed after a 2xx
 *   rejected/<seq>.<k>.batch + .reason   batches the endpoint refused for good
 * <seq> is a zero-padded decimal so names sort in sending order. At open, leftover .open files
 * (a crashed run) are cut back to their last complete line and sealed. A segment is fsync'd
 * before it is sealed, the directory after every rename, a rejected copy before its batch goes.
 * Every file is read in bounded chunks, never whole. The bytes of all of them are counted
 * (spool_bytes) and kept under spool_max by deleting the oldest batches. While the spool cannot
 * take records they wait in a bounded ring in memory. The sender (report-send.c) reads batches
 * from here and removes them once settled.
 */
#include "themis-config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "report-url-impl.h"
#include "report-url-int.h"
#include "th-time.h"

size_t th_report_complete_len(const char *buf, size_t n)
{
	while (n > 0 && buf[n - 1] != '\n')
		n--;
	return n;
}

/* ------------------------------------------------------------------ small I/O helpers */

/* Read fd from its start in bounded chunks: its complete lines, the length up to and including
 * its last newline, its size. */
static th_err ru_scan_fd(int fd, unsigned long long *lines, off_t *complete, off_t *size)
{
	char buf[16384];
	off_t off = 0;

	*lines = 0;
	*complete = 0;
	for (;;) {
		ssize_t k = pread(fd, buf, sizeof buf, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return TH_ERR_IO;
		if (k == 0)
			break;
		for (ssize_t i = 0; i < k; i++) {
			if (buf[i] == '\n') {
				(*lines)++;
				*complete = off + i + 1;
			}
		}
		off += k;
	}
	*size = off;
	return TH_OK;
}

/* ru_scan_fd of a file by name; TH_ERR_NOTFOUND when it is not there. */
static th_err ru_scan_path(const char *path, unsigned long long *lines, off_t *complete,
                           off_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	th_err e;

	if (fd < 0)
		return errno == ENOENT ? TH_ERR_NOTFOUND : TH_ERR_IO;
	e = ru_scan_fd(fd, lines, complete, size);
	close(fd);
	return e;
}

static th_err ru_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return TH_ERR_IO;
		p += k;
		n -= (size_t)k;
	}
	return TH_OK;
}

static th_err ru_mkdir_p(const char *path, char *errbuf)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof tmp)
		return th_seterr(errbuf, TH_ERR_INVALID, "spool directory \"%s\" is not usable",
		                 path);
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return th_seterr(errbuf, TH_ERR_IO, "cannot create %s: %s", tmp,
			                 strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return th_seterr(errbuf, TH_ERR_IO, "cannot create spool directory %s: %s", tmp,
		                 strerror(errno));
	return TH_OK;
}

void ru_path(const th_report_url *r, char *out, size_t len, uint64_t seq, const char *ext)
{
	snprintf(out, len, "%s/" RU_SEQ_FMT ".%s", r->dir, seq, ext);
}

th_err th_report_url_spool_base(char *buf, size_t len, char *errbuf)
{
	const char *env = getenv("THEMIS_SPOOL_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/var/spool/themis");
	else if ((env = getenv("XDG_STATE_HOME")) && *env)
		n = snprintf(buf, len, "%s/themis/spool", env);
	else if ((env = getenv("HOME")) && *env)
		n = snprintf(buf, len, "%s/.local/state/themis/spool", env);
	else
		return th_seterr(
		    errbuf, TH_ERR_INVALID,
		    "no spool directory: give --spool-dir, or set THEMIS_SPOOL_DIR or HOME");
	if (n < 0 || (size_t)n >= len)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "spool base directory path is too long");
	return TH_OK;
}

/* Create dir and take its lock. TH_ERR_STATE when another agent holds it. */
th_err ru_take_dir(th_report_url *r, const char *dir, char *errbuf)
{
	char path[PATH_MAX + 16];
	th_err e;
	int fd;

	if (snprintf(r->dir, sizeof r->dir, "%s", dir) >= (int)sizeof r->dir)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "spool directory path is too long");
	e = ru_mkdir_p(r->dir, errbuf);
	if (e != TH_OK)
		return e;
	snprintf(path, sizeof path, "%s/lock", r->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return th_seterr(errbuf, TH_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return th_seterr(errbuf, TH_ERR_STATE,
		                 "spool directory %s is in use by another themis-agent "
		                 "(give each agent its own --spool-dir)",
		                 r->dir);
	}
	{
		char pid[32];
		int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) == 0)
			ru_write_all(fd, pid, (size_t)n);
	}
	r->lock_fd = fd;
	return TH_OK;
}

/* Without --spool-dir: the first free slot "<base>/<url>.<n>". */
th_err ru_take_default_dir(th_report_url *r, char *errbuf)
{
	char base[PATH_MAX], dir[PATH_MAX + 96], name[64];
	size_t i, k = 0;
	const char *u = strstr(r->url, "://");
	th_err e;

	e = th_report_url_spool_base(base, sizeof base, errbuf);
	if (e != TH_OK)
		return e;
	for (i = u ? 3 : 0, u = u ? u : r->url; u[i] && k < sizeof name - 1; i++) {
		char c = u[i];
		name[k++] = (isalnum((unsigned char)c) || c == '.' || c == '-') ? c : '_';
	}
	name[k] = '\0';
	for (int n = 0; n < 64; n++) {
		snprintf(dir, sizeof dir, "%s/%s.%d", base, name, n);
		e = ru_take_dir(r, dir, errbuf);
		if (e != TH_ERR_STATE)
			return e;
	}
	return th_seterr(errbuf, TH_ERR_STATE,
	                 "all 64 default spool directories %s/%s.* are in use: give --spool-dir",
	                 base, name);
}

/* ------------------------------------------------------------------ spool */

/* Make the directory's entries (renames, new files) durable. */
static void ru_sync_dir(th_report_url *r)
{
	int fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0)
		ru_log(r, 1, "cannot fsync spool directory %s: %s", r->dir, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Close the open segment and rename it to .batch. Caller holds mu. */
th_err ru_seal_locked(th_report_url *r)
{
	char from[PATH_MAX + 32], to[PATH_MAX + 32];

	if (r->cur_fd < 0)
		return TH_OK;
	if (fsync(r->cur_fd) != 0)
		ru_log(r, 1, "cannot fsync spool segment " RU_SEQ_FMT " in %s: %s", r->cur_seq,
		       r->dir, strerror(errno));
	close(r->cur_fd);
	r->cur_fd = -1;
	ru_path(r, from, sizeof from, r->cur_seq, "open");
	ru_path(r, to, sizeof to, r->cur_seq, "batch");
	if (rename(from, to) != 0) {
		/* the records stay in the .open segment; the next push appends to it and the
		 * next seal (or the next run's recovery) tries again */
		ru_log(r, 0, "cannot seal %s: %s", from, strerror(errno));
		r->cur_count = 0;
		return TH_ERR_IO;
	}
	ru_sync_dir(r);
	r->cur_seq++;
	r->cur_count = 0;
	r->cur_size = 0;
	pthread_cond_broadcast(&r->cv);
	return TH_OK;
}

/* Bytes of the files in <dir>/rejected (they count towards spool_max). A ".tmp" left by a crash
 * while a rejected batch was being written is removed: that batch is still in the spool. */
static unsigned long long ru_rejected_bytes(th_report_url *r)
{
	char path[PATH_MAX + 16], f[PATH_MAX + 300];
	unsigned long long sum = 0;
	struct dirent *de;
	struct stat sb;
	DIR *d;

	snprintf(path, sizeof path, "%s/rejected", r->dir);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		snprintf(f, sizeof f, "%s/%s", path, de->d_name);
		if (de->d_name[0] == '.' && len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0)
			unlink(f);
		else if (de->d_name[0] != '.' && stat(f, &sb) == 0 && S_ISREG(sb.st_mode))
			sum += (unsigned long long)sb.st_size;
	}
	closedir(d);
	return sum;
}

/* Find what an earlier run left: seal .open segments, set send_seq/cur_seq, count the records
 * waiting and the bytes on disk. Files are scanned in bounded chunks, never read whole. */
th_err ru_recover(th_report_url *r, char *errbuf)
{
	DIR *d = opendir(r->dir);
	struct dirent *de;
	uint64_t lo = UINT64_MAX, hi = 0;
	bool any = false;

	if (d == NULL)
		return th_seterr(errbuf, TH_ERR_IO, "cannot read spool directory %s: %s", r->dir,
		                 strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX + 32], to[PATH_MAX + 32];
		unsigned long long lines;
		off_t complete, size;
		char *end;
		uint64_t seq;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		seq = strtoull(de->d_name, &end, 10);
		if (strcmp(end, ".batch") != 0 && strcmp(end, ".open") != 0)
			continue;
		if (strcmp(end, ".open") == 0) {
			ru_path(r, path, sizeof path, seq, "open");
			if (ru_scan_path(path, &lines, &complete, &size) == TH_OK &&
			    complete < size && truncate(path, complete) != 0) {
				closedir(d);
				return th_seterr(errbuf, TH_ERR_IO, "cannot repair %s: %s", path,
				                 strerror(errno));
			}
			ru_path(r, to, sizeof to, seq, "batch");
			if (rename(path, to) != 0) {
				closedir(d);
				return th_seterr(errbuf, TH_ERR_IO, "cannot seal %s: %s", path,
				                 strerror(errno));
			}
		}
		ru_path(r, path, sizeof path, seq, "batch");
		if (ru_scan_path(path, &lines, &complete, &size) == TH_OK) {
			r->st.pending += lines;
			r->st.spool_bytes += (unsigned long long)size;
		}
		any = true;
		if (seq < lo)
			lo = seq;
		if (seq > hi)
			hi = seq;
	}
	closedir(d);
	ru_sync_dir(r);
	r->st.spool_bytes += ru_rejected_bytes(r);
	if (any) {
		r->send_seq = lo;
		r->cur_seq = hi + 1;
		ru_log(r, 2,
		       "%llu records from an earlier run wait in %s (%llu bytes); sending them "
		       "first",
		       r->st.pending, r->dir, r->st.spool_bytes);
	} else {
		r->send_seq = r->cur_seq = 1;
	}
	return TH_OK;
}

/* Delete the oldest batch kept in rejected/ (the earliest written, then the lowest <seq>.<k>:
 * seqs start again when an earlier run emptied the spool). false when none. Caller holds mu. */
static bool ru_drop_rejected_locked(th_report_url *r)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 300];
	unsigned long long best_seq = 0, best_lo = 0, lines;
	struct timespec best_t = {0, 0};
	bool found = false;
	struct dirent *de;
	off_t complete, size;
	struct stat sb;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/rejected", r->dir);
	if ((d = opendir(dir)) == NULL)
		return false;
	while ((de = readdir(d)) != NULL) {
		char *e1, *e2;
		unsigned long long seq, lo;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		seq = strtoull(de->d_name, &e1, 10);
		if (*e1 != '.' || !isdigit((unsigned char)e1[1]))
			continue;
		lo = strtoull(e1 + 1, &e2, 10);
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (strcmp(e2, ".batch") != 0 || stat(path, &sb) != 0)
			continue;
		if (!found || sb.st_mtim.tv_sec < best_t.tv_sec ||
		    (sb.st_mtim.tv_sec == best_t.tv_sec &&
		     (sb.st_mtim.tv_nsec < best_t.tv_nsec ||
		      (sb.st_mtim.tv_nsec == best_t.tv_nsec &&
		       (seq < best_seq || (seq == best_seq && lo < best_lo)))))) {
			best_t = sb.st_mtim;
			best_seq = seq;
			best_lo = lo;
			found = true;
		}
	}
	closedir(d);
	if (!found)
		return false;
	snprintf(path, sizeof path, "%s/" RU_SEQ_FMT ".%llu.batch", dir, (uint64_t)best_seq,
	         best_lo);
	if (ru_scan_path(path, &lines, &complete, &size) != TH_OK || unlink(path) != 0) {
		ru_log(r, 0, "cannot delete %s to stay under --spool-max: %s", path,
		       strerror(errno));
		return false;
	}
	r->st.spool_dropped += lines;
	r->st.spool_bytes -= (unsigned long long)size < r->st.spool_bytes ? (unsigned long long)size
	                                                                  : r->st.spool_bytes;
	snprintf(path, sizeof path, "%s/" RU_SEQ_FMT ".%llu.reason", dir, (uint64_t)best_seq,
	         best_lo);
	if (stat(path, &sb) == 0 && unlink(path) == 0)
		r->st.spool_bytes -= (unsigned long long)sb.st_size < r->st.spool_bytes
		                         ? (unsigned long long)sb.st_size
		                         : r->st.spool_bytes;
	return true;
}

/* Delete the oldest sealed batch of the sending queue (the one being sent included: the delivery
 * thread is told). false when none is left. Caller holds mu. */
static bool ru_drop_queued_locked(th_report_url *r)
{
	uint64_t s = r->drop_next > r->send_seq ? r->drop_next : r->send_seq;

	for (; s < r->cur_seq; s++) {
		char path[PATH_MAX + 32];
		unsigned long long lines, settled, lost;
		off_t complete, size;
		th_err e;

		ru_path(r, path, sizeof path, s, "batch");
		e = ru_scan_path(path, &lines, &complete, &size);
		if (e == TH_ERR_NOTFOUND)
			continue; /* a gap */
		if (e != TH_OK || unlink(path) != 0) {
			ru_log(r, 0, "cannot delete %s to stay under --spool-max: %s", path,
			       strerror(errno));
			return false;
		}
		settled = r->part_seq == s ? r->part_done : 0;
		lost = lines > settled ? lines - settled : 0;
		r->st.spool_dropped += lost;
		r->st.pending -= lost < r->st.pending ? lost : r->st.pending;
		r->st.spool_bytes -= (unsigned long long)size < r->st.spool_bytes
		                         ? (unsigned long long)size
		                         : r->st.spool_bytes;
		if (r->inflight && r->inflight_seq == s) {
			r->inflight_dropped = true;
		} else {
			if (r->part_seq == s)
				r->part_seq = 0;
			if (r->send_seq == s)
				r->send_seq = s + 1;
		}
		r->drop_next = s + 1;
		return true;
	}
	return false;
}

/* Make room for want more bytes under spool_max: delete the oldest batches, rejected ones first,
 * sealing the open segment when it is all that is left. false when no room can be made. Caller
 * holds mu. */
static bool ru_make_room_locked(th_report_url *r, unsigned long long want)
{
	while (r->st.spool_bytes + want > r->spool_max) {
		if (!r->cap_full) {
			r->cap_full = true;
			ru_log(r, 1,
			       "spool %s reached --spool-max (%llu bytes): deleting the oldest "
			       "batches to keep the newest records (counted as spool_dropped)",
			       r->dir, r->spool_max);
		}
		if (ru_drop_rejected_locked(r) || ru_drop_queued_locked(r))
			continue;
		if (r->cur_fd >= 0 && r->cur_count > 0 && ru_seal_locked(r) == TH_OK)
			continue;
		return false;
	}
	return true;
}

/* The end of a full-spool episode: below half the cap again. Caller holds mu. */
void ru_cap_check_locked(th_report_url *r)
{
	if (r->cap_full && r->st.spool_bytes < r->spool_max / 2) {
		r->cap_full = false;
		ru_log(r, 2,
		       "spool %s is below half its --spool-max again (%llu bytes); %llu records "
		       "deleted to stay under it so far",
		       r->dir, r->st.spool_bytes, r->st.spool_dropped);
	}
}

/* Append one line to the open segment (opened when needed). Caller holds mu. On failure the
 * segment is left as it was and *err says why. */
static th_err ru_append_locked(th_report_url *r, const char *json, size_t len, int *err)
{
	struct iovec iov[2];
	size_t want = len + 1, done = 0;

	if (!ru_make_room_locked(r, want)) {
		*err = EDQUOT; /* the cap, not the disk */
		return TH_ERR_IO;
	}
	if (r->cur_fd < 0) {
		char path[PATH_MAX + 32];
		ru_path(r, path, sizeof path, r->cur_seq, "open");
		r->cur_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (r->cur_fd < 0) {
			*err = errno;
			return TH_ERR_IO;
		}
		r->cur_count = 0;
		r->cur_size = lseek(r->cur_fd, 0, SEEK_END); /* > 0 after a failed seal */
		if (r->cur_size < 0)
			r->cur_size = 0;
	}
	iov[0].iov_base = (void *)json;
	iov[0].iov_len = len;
	iov[1].iov_base = (void *)"\n";
	iov[1].iov_len = 1;
	while (done < want) {
		ssize_t k;
		if (done == 0) {
			k = writev(r->cur_fd, iov, 2);
		} else if (done < len) {
			struct iovec rest[2] = {{(char *)json + done, len - done},
			                        {(void *)"\n", 1}};
			k = writev(r->cur_fd, rest, 2);
		} else {
			k = write(r->cur_fd, "\n", 1);
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			*err = errno;
			/* cut a half-written line so the segment stays one record per line */
			if (done > 0 && ftruncate(r->cur_fd, r->cur_size) != 0)
				ru_log(r, 0, "cannot repair the spool segment: %s",
				       strerror(errno));
			return TH_ERR_IO;
		}
		done += (size_t)k;
	}
	r->cur_size += (off_t)want;
	r->st.spool_bytes += want;
	if (r->cur_count++ == 0)
		r->cur_first_ns = th_mono_ns();
	r->st.pending++;
	if (r->cur_count >= r->batch_max)
		ru_seal_locked(r);
	return TH_OK;
}

void ru_mem_pop_locked(th_report_url *r)
{
	free(r->mem[r->mem_head]);
	r->mem[r->mem_head] = NULL;
	r->mem_head = (r->mem_head + 1) % r->mem_max;
	r->mem_n--;
	r->st.in_memory = r->mem_n;
}

/* Move the records held in memory to the spool, oldest first, while it takes them. Returns
 * true when memory is empty. Caller holds mu. */
bool ru_mem_flush_locked(th_report_url *r)
{
	size_t moved = 0;
	int err = 0;

	if (r->mem_n == 0)
		return true;
	if (r->mem_inflight > 0)
		return false; /* the oldest are being POSTed: they go first */
	while (r->mem_n > 0) {
		if (ru_append_locked(r, r->mem[r->mem_head], r->mem_len[r->mem_head], &err) !=
		    TH_OK)
			break;
		ru_mem_pop_locked(r);
		moved++;
	}
	if (r->mem_n == 0 && r->spool_failing) {
		r->spool_failing = r->mem_full = false;
		ru_log(r, 2, "spool %s takes records again (%zu moved there from memory)", r->dir,
		       moved);
	}
	return r->mem_n == 0;
}

th_err th_report_url_push_json(th_report_url *r, const char *json, size_t len, char *errbuf)
{
	th_err e = TH_OK;
	int err = 0;

	if (len == 0 || memchr(json, '\n', len) != NULL || memchr(json, '\0', len) != NULL)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "record \"%.40s\" is empty or contains a newline or NUL", json);
	pthread_mutex_lock(&r->mu);
	if (ru_mem_flush_locked(r) && ru_append_locked(r, json, len, &err) == TH_OK) {
		r->st.pushed++;
		goto out;
	}
	/* the spool does not take records (disk full, I/O error): memory, bounded; the record
	 * is accepted all the same, so whatever produces records goes on */
	if (err != 0) {
		r->st.spool_errors++;
		if (!r->spool_failing) {
			r->spool_failing = true;
			ru_log(r, 1,
			       "cannot write to spool %s: %s; keeping up to %u records in memory "
			       "until it takes records again",
			       r->dir, strerror(err), r->mem_max);
		}
	}
	if (r->mem == NULL) {
		r->mem = calloc(r->mem_max, sizeof *r->mem);
		r->mem_len = calloc(r->mem_max, sizeof *r->mem_len);
	}
	char *copy =
	    r->mem != NULL && r->mem_len != NULL && r->mem_n < r->mem_max ? malloc(len + 1) : NULL;
	if (copy == NULL) {
		r->st.dropped++;
		if (!r->mem_full) {
			r->mem_full = true;
			ru_log(r, 0,
			       "spool %s failing and %zu records held in memory: dropping records "
			       "(counted) until it recovers",
			       r->dir, r->mem_n);
		}
		goto out;
	}
	memcpy(copy, json, len);
	copy[len] = '\0';
	size_t at = (r->mem_head + r->mem_n) % r->mem_max;
	r->mem[at] = copy;
	r->mem_len[at] = len;
	r->mem_n++;
	r->st.in_memory = r->mem_n;
	r->st.pushed++;
	pthread_cond_broadcast(&r->cv);
out:
	pthread_mutex_unlock(&r->mu);
	return e;
}

/* ------------------------------------------------------------------ rejected/ */

/* Write a whole file and make it durable; false (file removed) on any failure. */
static bool ru_write_durable(const char *path, const char *const *parts, const size_t *lens,
                             size_t n, bool newline, int *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0;

	for (size_t i = 0; ok && i < n; i++)
		ok = ru_write_all(fd, parts[i], lens[i]) == TH_OK &&
		     (!newline || ru_write_all(fd, "\n", 1) == TH_OK);
	if (ok)
		ok = fsync(fd) == 0;
	*err = ok ? 0 : errno;
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = false;
		*err = errno;
	}
	if (!ok)
		unlink(path);
	return ok;
}

/* Keep lines[lo, hi) and the endpoint's answer in rejected/; false when they could not be
 * stored (then the batch stays in the spool and is tried again later). */
bool ru_keep_cb(void *ctx, size_t lo, size_t hi, long status)
{
	ru_batch *b = ctx;
	th_report_url *r = b->r;
	char path[PATH_MAX + 48], rpath[PATH_MAX + 48], tmp[PATH_MAX + 48], head[64];
	int err = 0;

	snprintf(path, sizeof path, "%s/rejected", r->dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		err = errno;
		goto fail;
	}
	/* <seq>.<k>: k is the first record's place in its batch, made unique when a name is taken
	 * (a spool emptied by an earlier run starts its seqs again; memory batches have seq 0) */
	size_t k = lo;
	for (;; k++) {
		snprintf(path, sizeof path, "%s/rejected/" RU_SEQ_FMT ".%zu.batch", r->dir, b->seq,
		         k);
		snprintf(rpath, sizeof rpath, "%s/rejected/" RU_SEQ_FMT ".%zu.reason", r->dir,
		         b->seq, k);
		if (access(path, F_OK) != 0 && errno == ENOENT && access(rpath, F_OK) != 0 &&
		    errno == ENOENT)
			break;
	}
	int n = snprintf(head, sizeof head, "HTTP %ld\n", status);
	const char *rparts[] = {head, r->reason};
	size_t rlens[] = {(size_t)n, r->reason_len};
	/* The batch is written under a dot name the cap's scan ignores and renamed into place
	 * under the lock, together with counting its bytes: the scan never sees (and deletes) a
	 * batch half written, or one whose bytes are not counted yet. */
	snprintf(tmp, sizeof tmp, "%s/rejected/." RU_SEQ_FMT ".%zu.batch.tmp", r->dir, b->seq, k);
	if (!ru_write_durable(rpath, rparts, rlens, 2, false, &err))
		goto fail;
	if (!ru_write_durable(tmp, b->lines + (lo - b->base), b->lens + (lo - b->base), hi - lo,
	                      true, &err)) {
		unlink(rpath);
		goto fail;
	}
	{
		unsigned long long bytes = (unsigned long long)n + r->reason_len;
		for (size_t i = lo; i < hi; i++)
			bytes += b->lens[i - b->base] + 1;
		pthread_mutex_lock(&r->mu);
		if (rename(tmp, path) != 0) {
			err = errno;
			pthread_mutex_unlock(&r->mu);
			unlink(tmp);
			unlink(rpath);
			goto fail;
		}
		r->st.spool_bytes += bytes;
		ru_make_room_locked(r, 0);
		pthread_mutex_unlock(&r->mu);
	}
	snprintf(path, sizeof path, "%s/rejected", r->dir);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0)
			ru_log(r, 1, "cannot fsync %s: %s", path, strerror(errno));
		close(dfd);
	}
	ru_log(r, 0,
	       "%s rejected %zu records with HTTP %ld: %.200s — kept in "
	       "%s/rejected/" RU_SEQ_FMT ".%zu.batch, not retried",
	       r->url, hi - lo, status, r->reason[0] ? r->reason : "(no message)", r->dir, b->seq,
	       k);
	return true;
fail:
	ru_log(r, 0,
	       "%s rejected %zu records with HTTP %ld, but they cannot be kept in %s/rejected "
	       "(%s): leaving them in the spool and retrying",
	       r->url, hi - lo, status, r->dir, strerror(err));
	return false;
}
