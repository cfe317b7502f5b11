/* themis-archive.c — the archive's writers: the worker's part of each job (local files only:
 * the session's summaries.jsonl line, rows into the session's queue file, .pending, JSON; in
 * order per session, kept and retried when they fail or while ArchiveDir lacks MinFreeSpace),
 * the availability.jsonl lines, and the archive thread that copies the queue files into the
 * RRDs and removes sessions older than ArchiveRetention. */
#include "themis-glue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec-json.h"
#include "codec-marker.h"
#include "th-name.h"
#include "th-time.h"
#include "tp-queue.h"

/* Archive jobs that failed (rrdcached down, a write error) wait here, in order per session,
 * and are retried every few seconds; only the worker thread touches this list. While ArchiveDir
 * has less free space than MinFreeSpace the archive is paused: every new job joins the list
 * unattempted and each retry round stops at the first job still short of space, so rows are
 * written in order, exactly once, when space returns. Values are dispatched all along. */
#define TP_RETRY_MAX     100000
#define TP_RETRY_EVERY_S 5
static tp_archive_job *tp_retry;
static size_t tp_nretry, tp_capretry;
static unsigned long long tp_retry_dropped;
static time_t tp_retry_next, tp_last_complaint;

typedef enum tp_wrote { TP_WROTE, TP_WRITE_FAILED, TP_NO_ROOM } tp_wrote;

static bool tp_same_session(const tp_archive_job *a, const tp_archive_job *b)
{
	return strcmp(a->session, b->session) == 0 && strcmp(a->vm, b->vm) == 0;
}

static void tp_archive_notify(tp_severity severity, const char *message)
{
	notification_t n = {.severity = (int)severity,
	                    .time = DOUBLE_TO_CDTIME_T((double)th_wall_ns() / 1e9)};

	snprintf(n.message, sizeof n.message, "%s", message);
	snprintf(n.host, sizeof n.host, "%s", hostname_g);
	snprintf(n.plugin, sizeof n.plugin, "%s", TP_NAME);
	snprintf(n.type, sizeof n.type, "themis_archive");
	plugin_dispatch_notification(&n);
}

/* Enter or leave the paused state: one ERROR and a FAILURE notification on entry, an OKAY
 * notification on exit. */
static void tp_archive_pause(bool paused, const char *why)
{
	char msg[NOTIF_MAX_MSG_LEN];

	pthread_mutex_lock(&tp_lock);
	tp_archive_paused = paused;
	if (paused)
		tp_archive_low_space++;
	pthread_mutex_unlock(&tp_lock);
	if (paused) {
		snprintf(msg, sizeof msg, "archive paused: %.200s", why);
		ERROR(TP_NAME " plugin: %s (values are still dispatched; archive rows wait in "
		              "memory, up to %d writes, until space returns)",
		      msg, TP_RETRY_MAX);
		tp_archive_notify(TP_SEV_FAILURE, msg);
	} else {
		snprintf(msg, sizeof msg,
		         "archive resumed: ArchiveDir %.160s has MinFreeSpace again", tp_arch.dir);
		INFO(TP_NAME " plugin: %s.", msg);
		tp_archive_notify(TP_SEV_OKAY, msg);
	}
}

static void tp_store_note(const char *vm, const char *session);
static size_t tp_store_backlog(void);
static pthread_mutex_t tp_store_lock;

/* Append text to <ArchiveDir>/name and fsync it (a crash keeps every line written before). */
static th_err tp_append(const char *name, const char *text, size_t len, char *errbuf)
{
	char path[1100];
	size_t done = 0;
	int fd;

	snprintf(path, sizeof path, "%s/%s", tp_arch.dir, name);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
			close(fd);
			return TH_ERR_IO;
		}
		done += (size_t)n;
	}
	if (fsync(fd) != 0) {
		th_seterr(errbuf, TH_ERR_IO, "%s: fsync: %s", path, strerror(errno));
		close(fd);
		return TH_ERR_IO;
	}
	close(fd);
	return TH_OK;
}

/* The worker's part of a job: local files only (the summaries.jsonl line, rows into the
 * session's queue, .pending, JSON); the archive thread copies the queue into the RRD. The line
 * goes first and only once: a crash before the JSON that closes the session leaves the session
 * open, and the next start finds its line (tp_summaries_known). */
static tp_wrote tp_job_write(tp_archive_job *j)
{
	char err[TH_ERRLEN];
	th_err e = TH_OK;

	/* the line obeys MinFreeSpace like the rest (a full disk must not cut it in half) */
	if (j->summary_line != NULL &&
	    (e = tp_archive_room(&tp_arch, (double)strlen(j->summary_line), err)) == TH_OK &&
	    (e = tp_append("summaries.jsonl", j->summary_line, strlen(j->summary_line), err)) ==
	        TH_OK) {
		free(j->summary_line);
		j->summary_line = NULL;
	}
	if (e == TH_OK) {
		pthread_mutex_lock(
		    &tp_store_lock); /* appends are ordered against emptying a queue */
		e = tp_archive_write_local(&tp_arch, j, err);
		pthread_mutex_unlock(&tp_store_lock);
	}
	if (e == TH_OK) {
		if (j->nrows > 0)
			tp_store_note(j->vm, j->session);
		if (tp_archive_paused)
			tp_archive_pause(false, NULL);
		return TP_WROTE;
	}
	if (e == TH_ERR_STATE) {
		if (!tp_archive_paused)
			tp_archive_pause(true, err);
		return TP_NO_ROOM;
	}
	pthread_mutex_lock(&tp_lock);
	tp_archive_errors++;
	pthread_mutex_unlock(&tp_lock);
	if (time(NULL) - tp_last_complaint >= 10) {
		tp_last_complaint = time(NULL);
		ERROR(TP_NAME " plugin: archive: %s (will retry every %d s)", err,
		      TP_RETRY_EVERY_S);
	}
	return TP_WRITE_FAILED;
}

static void tp_job_free(tp_archive_job *j)
{
	free(j->rows);
	free(j->json);
	free(j->pending);
	free(j->summary_line);
}

/* Keep a failed job (its buffers move into the retry list). */
static void tp_job_keep(tp_archive_job *j)
{
	if (tp_nretry == TP_RETRY_MAX) {
		ERROR(TP_NAME " plugin: archive: %d writes pending, dropping the oldest (%s/%s): "
		              "its rows are lost.",
		      TP_RETRY_MAX, tp_retry[0].vm, tp_retry[0].session);
		tp_job_free(&tp_retry[0]);
		memmove(tp_retry, tp_retry + 1, --tp_nretry * sizeof *tp_retry);
		tp_retry_dropped++;
	}
	if (tp_nretry == tp_capretry) {
		size_t cap = tp_capretry ? tp_capretry * 2 : 16;
		tp_archive_job *n = realloc(tp_retry, cap * sizeof *n);

		if (n == NULL) {
			ERROR(TP_NAME " plugin: archive: out of memory, %s/%s rows lost.", j->vm,
			      j->session);
			tp_retry_dropped++;
			return;
		}
		tp_retry = n;
		tp_capretry = cap;
	}
	tp_retry[tp_nretry] = *j;
	tp_retry[tp_nretry++].retry = true;
	j->rows = NULL;
	j->json = NULL;
	j->pending = NULL;
	j->summary_line = NULL;
}

static bool tp_job_blocked(const tp_archive_job *j)
{
	for (size_t k = 0; k < tp_nretry; k++)
		if (tp_same_session(&tp_retry[k], j))
			return true;
	return false;
}

static void tp_retry_pending(bool force)
{
	size_t keep = 0, k;

	if (tp_nretry == 0 || (!force && time(NULL) < tp_retry_next))
		return;
	tp_retry_next = time(NULL) + TP_RETRY_EVERY_S;
	for (k = 0; k < tp_nretry; k++) {
		bool behind = false;
		tp_wrote w = TP_WRITE_FAILED;

		for (size_t e = 0; e < keep && !behind; e++)
			behind = tp_same_session(&tp_retry[e], &tp_retry[k]);
		if (!behind && (w = tp_job_write(&tp_retry[k])) == TP_WROTE) {
			tp_job_free(&tp_retry[k]);
			continue;
		}
		tp_retry[keep++] = tp_retry[k];
		if (w == TP_NO_ROOM) {
			k++;
			break; /* still short of space: the rest waits, in order */
		}
	}
	memmove(tp_retry + keep, tp_retry + k, (tp_nretry - k) * sizeof *tp_retry);
	tp_nretry = keep + (tp_nretry - k);
}

/* The worker's archive part of a round (themis-glue.h). */
void tp_archive_jobs(tp_out *work, bool last)
{
	tp_retry_pending(last);
	for (size_t i = 0; i < work->njobs; i++) {
		tp_archive_job *j = &work->jobs[i];

		if (tp_archive_paused || tp_job_blocked(j) || tp_job_write(j) != TP_WROTE)
			tp_job_keep(j);
	}
}

/* availability.jsonl lines not written yet: they wait, in order, while the archive is paused
 * for want of space or a write fails, and go with the next round that can write them. */
#define TP_AVAIL_MAX (4u << 20)
static char *tp_avail;
static size_t tp_avail_len, tp_avail_cap;
static time_t tp_avail_complaint;

void tp_archive_availability(const tp_out *work)
{
	char err[TH_ERRLEN];
	size_t add = work->availability.len;
	th_err e;

	if (add > 0) {
		if (tp_avail_len + add > TP_AVAIL_MAX) {
			/* lines of whole hours: losing them loses coverage, never invents it */
			ERROR(TP_NAME
			      " plugin: archive: %u bytes of availability lines wait already; "
			      "%zu more bytes of them are lost.",
			      TP_AVAIL_MAX, add);
			pthread_mutex_lock(&tp_lock);
			tp_archive_errors++;
			pthread_mutex_unlock(&tp_lock);
			add = 0;
		} else if (tp_avail_len + add > tp_avail_cap) {
			size_t cap = tp_avail_cap ? tp_avail_cap : 4096;
			char *grown;

			while (cap < tp_avail_len + add)
				cap *= 2;
			if ((grown = realloc(tp_avail, cap)) == NULL) {
				ERROR(TP_NAME
				      " plugin: archive: out of memory: availability lines lost.");
				add = 0;
			} else {
				tp_avail = grown;
				tp_avail_cap = cap;
			}
		}
		if (add > 0) {
			memcpy(tp_avail + tp_avail_len, work->availability.buf, add);
			tp_avail_len += add;
		}
	}
	if (tp_avail_len == 0 || tp_archive_paused)
		return; /* with the other writes, until space returns */
	if ((e = tp_archive_room(&tp_arch, (double)tp_avail_len, err)) == TH_OK &&
	    (e = tp_append("availability.jsonl", tp_avail, tp_avail_len, err)) == TH_OK) {
		tp_avail_len = 0;
		return;
	}
	if (e != TH_ERR_STATE) {
		pthread_mutex_lock(&tp_lock);
		tp_archive_errors++;
		pthread_mutex_unlock(&tp_lock);
	}
	/* short of MinFreeSpace: they wait (no pause of their own: the next round looks again) */
	if (time(NULL) - tp_avail_complaint >= 10) {
		tp_avail_complaint = time(NULL);
		ERROR(TP_NAME " plugin: archive: %s (%zu bytes of availability lines wait, retried "
		              "with every round)",
		      err, tp_avail_len);
	}
}

#define TP_SUMMARIES_TAIL 65536
void tp_summaries_known(tp_core *c)
{
	char path[1100], *buf, *p;
	ssize_t n;
	off_t size;
	int fd;

	snprintf(path, sizeof path, "%s/summaries.jsonl", tp_arch.dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size < 0 || (buf = malloc(TP_SUMMARIES_TAIL + 1)) == NULL) {
		close(fd);
		return;
	}
	n = pread(fd, buf, TP_SUMMARIES_TAIL,
	          size > TP_SUMMARIES_TAIL ? size - TP_SUMMARIES_TAIL : 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	/* Each line starts with {"session":"<id>" (ids are [A-Za-z0-9_.]+, never escaped). */
	for (p = buf; (p = strstr(p, "{\"session\":\"")) != NULL;) {
		char id[TH_SESSION_MAX];
		size_t k = 0;

		p += 12;
		while (p[k] != '\0' && p[k] != '"' && k + 1 < sizeof id) {
			id[k] = p[k];
			k++;
		}
		id[k] = '\0';
		if (p[k] == '"' && tp_core_summary_logged(c, id) == TH_OK)
			INFO(TP_NAME
			     " plugin: session %s: its summaries.jsonl line exists already.",
			     id);
		p += k;
	}
	free(buf);
}

void tp_archive_counts(size_t *waiting, unsigned long long *dropped)
{
	*waiting = tp_nretry + tp_store_backlog();
	*dropped = tp_retry_dropped;
}

void tp_archive_jobs_free(void)
{
	if (tp_nretry > 0)
		ERROR(TP_NAME " plugin: archive: %zu writes could not be done before shutdown.",
		      tp_nretry);
	for (size_t k = 0; k < tp_nretry; k++)
		tp_job_free(&tp_retry[k]);
	free(tp_retry);
	tp_retry = NULL;
	tp_nretry = tp_capretry = 0;
	if (tp_avail_len > 0)
		ERROR(TP_NAME
		      " plugin: archive: %zu bytes of availability.jsonl lines could not be "
		      "written before shutdown.",
		      tp_avail_len);
	free(tp_avail);
	tp_avail = NULL;
	tp_avail_len = tp_avail_cap = 0;
}

/* ------------------------------------------------------------------ archive thread */

/* The RRDs of the archive are written by a thread of their own, from the sessions' queue files
 * (tp-queue.h): a slow, stuck or unreachable rrdcached delays only the RRDs, never ingest,
 * dispatch, replies or /v1/health. Sessions with queued rows wait in tp_store (under
 * tp_store_lock, which also orders the worker's appends against this thread's clearing of a
 * file); a failing one is retried with a backoff of up to 30 s. At shutdown the thread gets
 * ArchiveStopTimeout to catch up; what it leaves stays in the queue files for the next start. */
#define TP_STORE_MAX     4096 /* sessions tracked; beyond, the directory is scanned again */
#define TP_STORE_CHUNK   4096 /* rows read from a queue at a time */
#define TP_STORE_BACKOFF (30 * TH_NS_PER_SEC)
typedef struct tp_store_item {
	char vm[TH_NAME_MAX];
	char session[TH_SESSION_MAX];
	off_t offset;     /* in its queue file: what comes before is stored */
	int64_t retry_ns; /* not before (monotonic) */
	int64_t backoff_ns;
} tp_store_item;
static pthread_mutex_t tp_store_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tp_store_cond = PTHREAD_COND_INITIALIZER;
static tp_store_item tp_store[TP_STORE_MAX];
static size_t tp_nstore;
static bool tp_store_rescan;   /* an item did not fit: look at the directory again */
static bool tp_store_stop;     /* shutting down: catch up until the deadline, then leave */
static bool tp_store_finished; /* the thread has left its loop */
static bool tp_store_running;
static pthread_t tp_store_tid;

/* Note that vm/session has queued rows (any thread). */
static void tp_store_note(const char *vm, const char *session)
{
	pthread_mutex_lock(&tp_store_lock);
	for (size_t i = 0; i < tp_nstore; i++)
		if (strcmp(tp_store[i].session, session) == 0 && strcmp(tp_store[i].vm, vm) == 0)
			goto out;
	if (tp_nstore == TP_STORE_MAX) {
		tp_store_rescan = true;
		goto out;
	}
	memset(&tp_store[tp_nstore], 0, sizeof tp_store[0]);
	tp_copy(tp_store[tp_nstore].vm, sizeof tp_store[0].vm, vm);
	tp_copy(tp_store[tp_nstore].session, sizeof tp_store[0].session, session);
	tp_store[tp_nstore++].offset = TP_QUEUE_HEADER;
out:
	pthread_cond_signal(&tp_store_cond);
	pthread_mutex_unlock(&tp_store_lock);
}

/* Sessions whose queued rows are not all in their RRD yet. */
static size_t tp_store_backlog(void)
{
	size_t n;

	pthread_mutex_lock(&tp_store_lock);
	n = tp_nstore;
	pthread_mutex_unlock(&tp_store_lock);
	return n;
}

/* Every <ArchiveDir>/<vm>/<session>.queue holding rows (at start, or after an overflow). */
static void tp_store_scan(void)
{
	DIR *top = opendir(tp_arch.dir), *sub;
	struct dirent *vd, *sd;
	char path[1400];

	if (top == NULL)
		return;
	while ((vd = readdir(top)) != NULL) {
		if (vd->d_name[0] == '.' || !th_name_ok(vd->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", tp_arch.dir, vd->d_name);
		if ((sub = opendir(path)) == NULL)
			continue;
		while ((sd = readdir(sub)) != NULL) {
			size_t nl = strlen(sd->d_name);
			char session[TH_SESSION_MAX];

			if (nl < 7 || nl - 6 >= sizeof session ||
			    strcmp(sd->d_name + nl - 6, ".queue") != 0)
				continue;
			snprintf(session, sizeof session, "%.*s", (int)(nl - 6), sd->d_name);
			snprintf(path, sizeof path, "%s/%s/%s", tp_arch.dir, vd->d_name,
			         sd->d_name);
			if (th_codec_session_ok(session) && tp_queue_size(path) > TP_QUEUE_HEADER)
				tp_store_note(vd->d_name, session);
		}
		closedir(sub);
	}
	closedir(top);
}

/* Copy one session's queue into its RRD; true when it is all stored (and the file emptied). */
static bool tp_store_one(tp_store_item *it)
{
	char path[1200], err[TH_ERRLEN];
	bool done = false;
	th_err e;
	off_t end;

	/* What the worker appended so far is complete (appends hold tp_store_lock): read up to
	 * there, never a row being written. */
	if ((e = tp_archive_path(&tp_arch, it->vm, it->session, "queue", path, sizeof path, err)) !=
	    TH_OK)
		return true;
	pthread_mutex_lock(&tp_store_lock);
	end = tp_queue_size(path);
	pthread_mutex_unlock(&tp_store_lock);
	while (!done && e == TH_OK)
		e = tp_archive_store_queue(&tp_arch, it->vm, it->session, &it->offset, end,
		                           TP_STORE_CHUNK, &done, err);
	if (e != TH_OK) {
		pthread_mutex_lock(&tp_lock);
		tp_archive_errors++;
		pthread_mutex_unlock(&tp_lock);
		if (e == TH_ERR_STATE && !tp_archive_paused)
			tp_archive_pause(true, err);
		if (it->backoff_ns == 0 || time(NULL) - tp_last_complaint >= 60) {
			tp_last_complaint = time(NULL);
			ERROR(TP_NAME
			      " plugin: archive: %s (rows wait in the session's queue file; "
			      "retrying)",
			      err);
		}
		it->backoff_ns = it->backoff_ns ? it->backoff_ns * 2 : TH_NS_PER_SEC;
		if (it->backoff_ns > TP_STORE_BACKOFF)
			it->backoff_ns = TP_STORE_BACKOFF;
		it->retry_ns = th_mono_ns() + it->backoff_ns;
		return false;
	}
	it->backoff_ns = 0;
	/* Everything read is stored: empty the file unless the worker appended meanwhile. */
	pthread_mutex_lock(&tp_store_lock);
	done = tp_queue_size(path) <= it->offset;
	if (done && tp_queue_clear(path, err) != TH_OK)
		ERROR(TP_NAME " plugin: archive: %s", err);
	pthread_mutex_unlock(&tp_store_lock);
	if (done)
		it->offset = TP_QUEUE_HEADER;
	return done;
}

/* ------------------------------------------------------------------ retention */

/* ArchiveRetention: at most once a minute the archive thread looks at up to TP_PRUNE_FILES
 * session files (going on where the last pass stopped) and removes the closed sessions whose
 * last second is older, at most TP_PRUNE_MAX of them per pass: bounded work between two
 * batches of RRD writes. summaries.jsonl and availability.jsonl are never touched. */
int64_t tp_archive_retention_s;
#define TP_PRUNE_EVERY_S 60
#define TP_PRUNE_FILES   1000
#define TP_PRUNE_MAX     200
static time_t tp_prune_next;
static size_t tp_prune_skip; /* session files passed over at the last pass */

/* True when vm/session's queue still has rows for the RRD. */
static bool tp_store_has(const char *vm, const char *session)
{
	bool found = false;

	pthread_mutex_lock(&tp_store_lock);
	for (size_t i = 0; i < tp_nstore && !found; i++)
		found =
		    strcmp(tp_store[i].session, session) == 0 && strcmp(tp_store[i].vm, vm) == 0;
	pthread_mutex_unlock(&tp_store_lock);
	return found;
}

/* True when the session file at path is closed with its last second before horizon. */
static bool tp_prune_due(const char *path, int64_t horizon)
{
	char *text = NULL, err[TH_ERRLEN];
	size_t len = 0;
	yajl_val root = NULL, cb, last;
	bool due = false;

	if (tp_read_file(path, &text, &len, err) != TH_OK ||
	    th_json_parse(text, len, &root, err) != TH_OK) {
		free(text);
		return false;
	}
	cb = th_json_member(root, "closed_by");
	last = th_json_member(root, "last");
	due = YAJL_IS_STRING(cb) && strcmp(cb->u.string, "open") != 0 && YAJL_IS_INTEGER(last) &&
	      YAJL_GET_INTEGER(last) < horizon;
	yajl_tree_free(root);
	free(text);
	return due;
}

/* Remove one session's files, its JSON last (a pass cut short finds it again). */
static bool tp_prune_session(const char *dir, const char *session)
{
	static const char *const ext[] = {"rrd", "rrd.grow", "pending", "queue", "json"};
	char path[1500];

	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		snprintf(path, sizeof path, "%s/%s.%s", dir, session, ext[i]);
		if (unlink(path) != 0 && errno != ENOENT) {
			ERROR(TP_NAME " plugin: ArchiveRetention: %s: %s", path, strerror(errno));
			return false;
		}
	}
	return true;
}

static void tp_prune(void)
{
	DIR *top, *sub;
	struct dirent *vd, *sd;
	char dir[1300], path[1600];
	size_t seen = 0, looked = 0, removed = 0;
	int64_t horizon;
	bool whole = true;

	if (tp_archive_retention_s <= 0 || time(NULL) < tp_prune_next)
		return;
	tp_prune_next = time(NULL) + TP_PRUNE_EVERY_S;
	horizon = th_wall_ns() / TH_NS_PER_SEC - tp_archive_retention_s;
	if ((top = opendir(tp_arch.dir)) == NULL)
		return;
	while (whole && (vd = readdir(top)) != NULL) {
		if (vd->d_name[0] == '.' || !th_name_ok(vd->d_name))
			continue;
		snprintf(dir, sizeof dir, "%s/%s", tp_arch.dir, vd->d_name);
		if ((sub = opendir(dir)) == NULL)
			continue;
		while ((sd = readdir(sub)) != NULL) {
			size_t nl = strlen(sd->d_name);
			char session[TH_SESSION_MAX];

			if (nl < 6 || nl - 5 >= sizeof session ||
			    strcmp(sd->d_name + nl - 5, ".json") != 0)
				continue;
			if (seen++ < tp_prune_skip)
				continue;
			if (looked == TP_PRUNE_FILES || removed == TP_PRUNE_MAX) {
				whole = false;
				break;
			}
			looked++;
			snprintf(session, sizeof session, "%.*s", (int)(nl - 5), sd->d_name);
			snprintf(path, sizeof path, "%s/%s", dir, sd->d_name);
			if (th_codec_session_ok(session) && tp_prune_due(path, horizon) &&
			    !tp_store_has(vd->d_name, session) && tp_prune_session(dir, session))
				removed++;
		}
		closedir(sub);
		if (whole)
			(void)rmdir(dir); /* only when it became empty */
	}
	closedir(top);
	/* the next pass goes on after the files kept (a whole pass starts again from the top) */
	tp_prune_skip = whole ? 0 : tp_prune_skip + looked - removed;
	if (removed > 0)
		INFO(TP_NAME " plugin: ArchiveRetention: removed %zu session(s) older than %lld s.",
		     removed, (long long)tp_archive_retention_s);
}

static void *tp_store_thread(void *arg)
{
	int64_t deadline = 0;

	tp_store_scan();
	for (;;) {
		tp_store_item it;
		bool found = false, stop;
		int64_t now = th_mono_ns();
		struct timespec ts;

		pthread_mutex_lock(&tp_store_lock);
		if (tp_store_stop && deadline == 0)
			deadline = now + tp_store_stop_ns;
		stop = tp_store_stop;
		for (size_t i = 0; i < tp_nstore && !found; i++)
			if (tp_store[i].retry_ns <= now || stop) {
				it = tp_store[i];
				found = true;
			}
		if (!found && (stop || deadline)) {
			pthread_mutex_unlock(&tp_store_lock);
			break;
		}
		if (!found) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&tp_store_cond, &tp_store_lock, &ts);
			pthread_mutex_unlock(&tp_store_lock);
			if (tp_store_rescan) {
				tp_store_rescan = false;
				tp_store_scan();
			}
			tp_prune();
			continue;
		}
		pthread_mutex_unlock(&tp_store_lock);
		if (deadline && now >= deadline)
			break;
		bool all = tp_store_one(&it);

		pthread_mutex_lock(&tp_store_lock);
		for (size_t i = 0; i < tp_nstore; i++) {
			if (strcmp(tp_store[i].session, it.session) != 0 ||
			    strcmp(tp_store[i].vm, it.vm) != 0)
				continue;
			if (all)
				tp_store[i] = tp_store[--tp_nstore];
			else
				tp_store[i] = it;
			break;
		}
		pthread_mutex_unlock(&tp_store_lock);
		if (!all && stop)
			break; /* failing while stopping: the queue files keep the rest */
	}
	pthread_mutex_lock(&tp_store_lock);
	tp_store_finished = true;
	pthread_cond_broadcast(&tp_store_cond);
	pthread_mutex_unlock(&tp_store_lock);
	return NULL;
}

int tp_store_start(void)
{
	tp_cond_monotonic(&tp_store_cond);
	tp_store_stop = tp_store_finished = false;
	if (plugin_thread_create(&tp_store_tid, tp_store_thread, NULL, "themis archive") != 0) {
		ERROR(TP_NAME " plugin: cannot start the archive thread.");
		return -1;
	}
	tp_store_running = true;
	return 0;
}

/* Ask the archive thread to catch up and stop; wait ArchiveStopTimeout (+1 s) for it. A thread
 * stuck in a call to an unresponsive rrdcached is left behind (it touches only state that is
 * never freed); its rows stay queued for the next start. */
void tp_store_shutdown(void)
{
	struct timespec ts;
	bool finished;

	if (!tp_store_running)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* the deadline, plus one rrdcached operation under way, plus a second */
	ts.tv_sec += (time_t)(tp_store_stop_ns / TH_NS_PER_SEC) +
	             (tp_arch.timeout_ms > 0 ? tp_arch.timeout_ms : TP_ARCHIVE_TIMEOUT_MS) / 1000 +
	             1;
	pthread_mutex_lock(&tp_store_lock);
	tp_store_stop = true;
	pthread_cond_broadcast(&tp_store_cond);
	while (!tp_store_finished &&
	       pthread_cond_timedwait(&tp_store_cond, &tp_store_lock, &ts) == 0)
		;
	finished = tp_store_finished;
	pthread_mutex_unlock(&tp_store_lock);
	if (finished) {
		pthread_join(tp_store_tid, NULL);
		tp_archive_close(&tp_arch);
	} else {
		ERROR(TP_NAME
		      " plugin: archive: the archive writer did not finish within %lld s "
		      "(rrdcached not answering?); its rows stay in the queue files for the "
		      "next start.",
		      (long long)(tp_store_stop_ns / TH_NS_PER_SEC));
		pthread_detach(tp_store_tid);
	}
	tp_store_running = false;
}
