/* report-url.c — spool-backed delivery of records to `POST /v1/records` (see report-url.h).
 *
 * Spool layout (one agent per directory, held with flock on <dir>/lock):
 *   <seq>.open    the segment push() appends to, one JSON object per line
 *   <seq>.batch   sealed segments, sent in increasing <seq> order, removed after a 2xx
 *   rejected/<seq>.batch + <seq>.reason   batches the endpoint refused for good
 * <seq> is a zero-padded decimal so names sort in sending order. At open, leftover .open files
 * (a crashed run) are cut back to their last complete line and sealed. A segment is fsync'd
 * before it is sealed, the directory after every rename, a rejected copy before its batch goes.
 * Every file is read in bounded chunks, never whole. The bytes of all of them are counted
 * (spool_bytes) and kept under spool_max by deleting the oldest batches (see
 * report-url-impl.h). While the spool cannot take records they wait in a bounded ring in memory.
 * The report_url_* functions at the bottom are the agent's front-end contract (report-url.h).
 * libcurl is loaded with dlopen() on the first --report URL: the same binary runs the reflector
 * inside guests, where libcurl and its TLS stack would triple the resident memory.
 */
#include "themis-config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <dlfcn.h>

#include <curl/curl.h>

#include "record-json.h"
#include "report-url-impl.h"
#include "report-url.h"
#include "th-secret.h"
#include "th-time.h"

#define RU_TOKEN_MAX  1024
#define RU_URL_MAX    2048
#define RU_REASON_MAX 512
#define RU_SEQ_FMT    "%020" PRIu64
#define RU_CHUNK_MAX  (4u << 20) /* bytes of a batch file read into memory at a time */

/* The libcurl entry points used here, resolved at run time. */
static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	void (*easy_cleanup)(CURL *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} ru_curl;
static pthread_once_t ru_curl_once = PTHREAD_ONCE_INIT;
static char ru_curl_error[TH_ERRLEN];

static void ru_curl_load_once(void)
{
	static const char *names[] = {"libcurl.so.4", "libcurl-gnutls.so.4"};
	void *h = NULL;

	for (size_t i = 0; h == NULL && i < sizeof names / sizeof names[0]; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(ru_curl_error, sizeof ru_curl_error,
		         "--report URL needs libcurl (Debian package libcurl4): %s", dlerror());
		return;
	}
#define RU_SYM(field, name)                                                                        \
	do {                                                                                       \
		*(void **)&ru_curl.field = dlsym(h, name);                                         \
		if (ru_curl.field == NULL) {                                                       \
			snprintf(ru_curl_error, sizeof ru_curl_error, "libcurl lacks %s", name);   \
			return;                                                                    \
		}                                                                                  \
	} while (0)
	RU_SYM(global_init, "curl_global_init");
	RU_SYM(easy_init, "curl_easy_init");
	RU_SYM(easy_setopt, "curl_easy_setopt");
	RU_SYM(easy_perform, "curl_easy_perform");
	RU_SYM(easy_getinfo, "curl_easy_getinfo");
	RU_SYM(easy_strerror, "curl_easy_strerror");
	RU_SYM(easy_cleanup, "curl_easy_cleanup");
	RU_SYM(slist_append, "curl_slist_append");
	RU_SYM(slist_free_all, "curl_slist_free_all");
#undef RU_SYM
	if (ru_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		snprintf(ru_curl_error, sizeof ru_curl_error, "libcurl initialisation failed");
}

static th_err ru_curl_load(char *errbuf)
{
	pthread_once(&ru_curl_once, ru_curl_load_once);
	if (ru_curl_error[0])
		return th_seterr(errbuf, TH_ERR_STATE, "%s", ru_curl_error);
	return TH_OK;
}

struct th_report_url {
	char url[RU_URL_MAX];
	char token_file[PATH_MAX];
	char token[RU_TOKEN_MAX];
	char cacert[PATH_MAX], cert[PATH_MAX], key[PATH_MAX]; /* "" when not given */
	char dir[PATH_MAX];
	int lock_fd;
	unsigned batch_max, flush_ms, timeout_ms, retry_max_ms, mem_max, auth_retry_ms;
	unsigned long long spool_max;
	th_report_log_fn *log;
	void *log_ctx;

	pthread_mutex_t mu; /* guards everything below; never held across I/O to the network */
	pthread_cond_t cv;
	int cur_fd;           /* open segment, -1 when none */
	uint64_t cur_seq;     /* seq of the open segment (or of the next one) */
	unsigned cur_count;   /* records in the open segment */
	off_t cur_size;       /* bytes in the open segment */
	int64_t cur_first_ns; /* when its first record was pushed */
	uint64_t send_seq;    /* oldest sealed batch not yet acknowledged; all < cur_seq sealed */
	bool stop;            /* delivery thread must return */
	/* records the spool could not take, oldest first; the first mem_inflight are being
	 * POSTed by the delivery thread */
	char **mem;
	size_t *mem_len;
	size_t mem_head, mem_n, mem_inflight;
	bool spool_failing, mem_full; /* a warning was logged for this episode */
	bool cap_full;                /* the spool reached spool_max: warned, deleting */
	uint64_t drop_next;           /* no queue batch below this is left to delete */
	bool inflight;                /* the delivery thread is sending batch inflight_seq */
	uint64_t inflight_seq;
	bool inflight_dropped; /* ... which was deleted to make room meanwhile */
	uint64_t part_seq;     /* batch whose first part_done records are settled (0: none) */
	size_t part_done;
	off_t part_off; /* where record part_done starts in that batch file */
	bool thread_started;
	pthread_t thread;
	th_report_url_stats st;

	/* delivery thread only */
	int64_t auth_since_ns; /* first 401/403 of the current episode; 0: none */
	bool auth_given_up;    /* auth_retry_ms passed: 401/403 now reject */
	CURL *curl;
	char curl_error[CURL_ERROR_SIZE]; /* libcurl's detailed reason for a transport failure */
	bool tls_failed;                  /* the last transport failure was a TLS one */
	char reason[RU_REASON_MAX];
	size_t reason_len;
	bool endpoint_down;
	int64_t down_since_ns;
};

/* ------------------------------------------------------------------ pure helpers */

th_report_verdict th_report_classify(long s, bool auth_given_up)
{
	if (s >= 200 && s < 300)
		return TH_REPORT_DONE;
	if (s == 413)
		return TH_REPORT_SPLIT;
	/* 401 and 403 (bearer token, client certificate) wait a while for the operator */
	if ((s == 401 || s == 403) && !auth_given_up)
		return TH_REPORT_RETRY;
	if (s == 408 || s == 429)
		return TH_REPORT_RETRY;
	if (s >= 400 && s < 500)
		return TH_REPORT_REJECT;
	return TH_REPORT_RETRY;
}

static th_report_verdict deliver_rec(th_report_post_fn *post, th_report_keep_fn *keep, void *ctx,
                                     size_t lo, size_t hi, bool auth_given_up,
                                     th_report_progress *pr)
{
	long st = post(ctx, lo, hi);
	th_report_verdict v = th_report_classify(st, auth_given_up);

	pr->status = st;
	if (v == TH_REPORT_SPLIT && hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		v = deliver_rec(post, keep, ctx, lo, mid, auth_given_up, pr);
		if (v == TH_REPORT_DONE)
			v = deliver_rec(post, keep, ctx, mid, hi, auth_given_up, pr);
		return v;
	}
	if (v == TH_REPORT_SPLIT)
		v = TH_REPORT_REJECT;
	if (v == TH_REPORT_REJECT) {
		if (!keep(ctx, lo, hi, st))
			return TH_REPORT_RETRY; /* not stored anywhere: the batch must stay */
		pr->rejected += hi - lo;
		pr->done = hi;
		return TH_REPORT_DONE;
	}
	if (v == TH_REPORT_DONE) {
		pr->delivered += hi - lo;
		pr->done = hi;
	}
	return v;
}

th_report_verdict th_report_deliver_range(th_report_post_fn *post, th_report_keep_fn *keep,
                                          void *ctx, size_t lo, size_t hi, bool auth_given_up,
                                          th_report_progress *pr)
{
	memset(pr, 0, sizeof *pr);
	pr->done = lo;
	if (hi <= lo)
		return TH_REPORT_DONE;
	return deliver_rec(post, keep, ctx, lo, hi, auth_given_up, pr);
}

th_err th_report_url_endpoint(const char *arg, char *out, size_t len, char *errbuf)
{
	const char *rest;
	const char *slash;
	int n;

	if (arg == NULL || *arg == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "report URL is empty");
	if (strncmp(arg, "http://", 7) == 0)
		rest = arg + 7;
	else if (strncmp(arg, "https://", 8) == 0)
		rest = arg + 8;
	else
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "report URL \"%s\" must start with http:// or https://", arg);
	for (const char *p = arg; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "report URL \"%s\" contains a space or control character",
			                 arg);
	if (*rest == '\0' || *rest == '/')
		return th_seterr(errbuf, TH_ERR_INVALID, "report URL \"%s\" has no host", arg);
	slash = strchr(rest, '/');
	if (slash == NULL || strcmp(slash, "/") == 0)
		n = snprintf(out, len, "%.*s/v1/records",
		             (int)(slash ? (size_t)(slash - arg) : strlen(arg)), arg);
	else
		n = snprintf(out, len, "%s", arg);
	if (n < 0 || (size_t)n >= len)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "report URL \"%.64s...\" is too long", arg);
	return TH_OK;
}

th_err th_report_parse_token(const char *text, size_t n, char *out, size_t len, char *errbuf)
{
	size_t end = 0;

	while (end < n && text[end] != '\n')
		end++;
	while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r'))
		end--;
	if (end == 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "token is empty");
	if (end >= len)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "token is longer than %zu bytes", len - 1);
	for (size_t i = 0; i < end; i++)
		if ((unsigned char)text[i] <= ' ' || text[i] == 0x7f)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "token contains a space or control character at byte %zu",
			                 i + 1);
	memcpy(out, text, end);
	out[end] = '\0';
	return TH_OK;
}

size_t th_report_complete_len(const char *buf, size_t n)
{
	while (n > 0 && buf[n - 1] != '\n')
		n--;
	return n;
}

/* ------------------------------------------------------------------ small I/O helpers */

static void ru_log(th_report_url *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ru_log(th_report_url *r, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (r->log)
		r->log(r->log_ctx, level, msg);
	else
		fprintf(stderr, "themis-agent: report: %s\n", msg);
}

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

static void ru_path(const th_report_url *r, char *out, size_t len, uint64_t seq, const char *ext)
{
	snprintf(out, len, "%s/" RU_SEQ_FMT ".%s", r->dir, seq, ext);
}

/* The token file is read under the rules of every secret file (lib/th-secret.h), then held to
 * what an Authorization header can carry (no spaces). r->token changes only on success. */
static th_err ru_load_token(th_report_url *r, char *errbuf)
{
	char text[RU_TOKEN_MAX];
	size_t n;
	th_err e;

	if (r->token_file[0] == '\0')
		return TH_OK;
	e = th_secret_read(r->token_file, "token file", text, sizeof text, &n, TH_SECRET_TEXT,
	                   errbuf);
	if (e != TH_OK)
		return e;
	e = th_report_parse_token(text, n, r->token, sizeof r->token, errbuf);
	memset(text, 0, sizeof text);
	if (e != TH_OK) {
		char why[TH_ERRLEN];
		snprintf(why, sizeof why, "%s", errbuf ? errbuf : th_strerror(e));
		return th_seterr(errbuf, e, "token file %s: %s", r->token_file, why);
	}
	return TH_OK;
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
static th_err ru_take_dir(th_report_url *r, const char *dir, char *errbuf)
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
static th_err ru_take_default_dir(th_report_url *r, char *errbuf)
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
static th_err ru_seal_locked(th_report_url *r)
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

/* Bytes of the files in <dir>/rejected (they count towards spool_max). */
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
		snprintf(f, sizeof f, "%s/%s", path, de->d_name);
		if (de->d_name[0] != '.' && stat(f, &sb) == 0 && S_ISREG(sb.st_mode))
			sum += (unsigned long long)sb.st_size;
	}
	closedir(d);
	return sum;
}

/* Find what an earlier run left: seal .open segments, set send_seq/cur_seq, count the records
 * waiting and the bytes on disk. Files are scanned in bounded chunks, never read whole. */
static th_err ru_recover(th_report_url *r, char *errbuf)
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
static void ru_cap_check_locked(th_report_url *r)
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

static void ru_mem_pop_locked(th_report_url *r)
{
	free(r->mem[r->mem_head]);
	r->mem[r->mem_head] = NULL;
	r->mem_head = (r->mem_head + 1) % r->mem_max;
	r->mem_n--;
	r->st.in_memory = r->mem_n;
}

/* Move the records held in memory to the spool, oldest first, while it takes them. Returns
 * true when memory is empty. Caller holds mu. */
static bool ru_mem_flush_locked(th_report_url *r)
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

/* ------------------------------------------------------------------ HTTP */

static size_t ru_on_body(char *p, size_t sz, size_t nm, void *ud)
{
	th_report_url *r = ud;
	size_t n = sz * nm, room = sizeof r->reason - 1 - r->reason_len;

	if (n < room)
		room = n;
	memcpy(r->reason + r->reason_len, p, room);
	r->reason_len += room;
	r->reason[r->reason_len] = '\0';
	return n;
}

static int ru_on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	th_report_url *r = ud;
	bool stop;

	pthread_mutex_lock(&r->mu);
	stop = r->stop;
	pthread_mutex_unlock(&r->mu);
	return stop ? 1 : 0;
}

/* A failure of the TLS layer (certificate, handshake, key files), as opposed to the network. */
static bool ru_tls_error(CURLcode cc)
{
	switch (cc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

/* POST lines[lo, hi) as one JSON array. Returns the HTTP status, 0 on transport failure
 * (message in r->reason). */
static long ru_post(th_report_url *r, const char **lines, const size_t *lens, size_t lo, size_t hi)
{
	size_t total = 2;
	char *body, *p;
	struct curl_slist *hdr = NULL;
	char auth[RU_TOKEN_MAX + 32];
	CURLcode cc;
	long status = 0;

	for (size_t i = lo; i < hi; i++)
		total += lens[i] + 1;
	body = malloc(total);
	if (body == NULL) {
		snprintf(r->reason, sizeof r->reason, "no memory for a %zu-byte body", total);
		return 0;
	}
	p = body;
	*p++ = '[';
	for (size_t i = lo; i < hi; i++) {
		if (i > lo)
			*p++ = ',';
		memcpy(p, lines[i], lens[i]);
		p += lens[i];
	}
	*p++ = ']';

	hdr = ru_curl.slist_append(hdr, "Content-Type: application/json");
	hdr = ru_curl.slist_append(hdr, "Expect:");
	if (r->token[0]) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", r->token);
		hdr = ru_curl.slist_append(hdr, auth);
	}
	r->reason[0] = '\0';
	r->reason_len = 0;
	r->curl_error[0] = '\0';
	ru_curl.easy_setopt(r->curl, CURLOPT_URL, r->url);
	ru_curl.easy_setopt(r->curl, CURLOPT_POST, 1L);
	ru_curl.easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
	ru_curl.easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(p - body));
	ru_curl.easy_setopt(r->curl, CURLOPT_HTTPHEADER, hdr);
	cc = ru_curl.easy_perform(r->curl);
	pthread_mutex_lock(&r->mu);
	r->st.posts++;
	pthread_mutex_unlock(&r->mu);
	r->tls_failed = cc != CURLE_OK && ru_tls_error(cc);
	if (cc == CURLE_OK)
		ru_curl.easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(r->reason, sizeof r->reason, "%s",
		         r->curl_error[0] ? r->curl_error : ru_curl.easy_strerror(cc));
	ru_curl.easy_setopt(r->curl, CURLOPT_HTTPHEADER, NULL);
	ru_curl.slist_free_all(hdr);
	free(body);
	return status;
}

/* One batch on its way: record i (counted from the start of the batch) is lines[i - base] of
 * lens[i - base] bytes; seq 0 = records straight from memory. */
typedef struct ru_batch {
	th_report_url *r;
	uint64_t seq;
	size_t base;
	const char **lines;
	const size_t *lens;
} ru_batch;

static long ru_post_cb(void *ctx, size_t lo, size_t hi)
{
	ru_batch *b = ctx;
	long st = ru_post(b->r, b->lines - b->base, b->lens - b->base, lo, hi);

	if (st == 413 && hi - lo > 1)
		ru_log(b->r, 1,
		       "batch " RU_SEQ_FMT " (%zu records) too large for %s (HTTP 413): "
		       "sending it in halves",
		       b->seq, hi - lo, b->r->url);
	return st;
}

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
static bool ru_keep_cb(void *ctx, size_t lo, size_t hi, long status)
{
	ru_batch *b = ctx;
	th_report_url *r = b->r;
	char path[PATH_MAX + 48], rpath[PATH_MAX + 48], head[64];
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
	if (!ru_write_durable(path, b->lines + (lo - b->base), b->lens + (lo - b->base), hi - lo,
	                      true, &err))
		goto fail;
	if (!ru_write_durable(rpath, rparts, rlens, 2, false, &err)) {
		unlink(path);
		goto fail;
	}
	{
		unsigned long long bytes = (unsigned long long)n + r->reason_len;
		for (size_t i = lo; i < hi; i++)
			bytes += b->lens[i - b->base] + 1;
		pthread_mutex_lock(&r->mu);
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

/* Count what a delivery settled, once. Caller holds mu. */
static void ru_settled_locked(th_report_url *r, const th_report_progress *pr, bool spooled)
{
	unsigned long long n = pr->delivered + pr->rejected;

	r->st.delivered += pr->delivered;
	r->st.rejected += pr->rejected;
	if (spooled)
		r->st.pending -= n <= r->st.pending ? n : r->st.pending;
}

/* Send batch seq, a chunk at a time: the records not yet settled, at most batch_max of them and
 * about RU_CHUNK_MAX bytes. DONE and !*more: the batch is gone from the spool (or was deleted to
 * make room while it was sent); DONE and *more: this chunk is settled, more follow. RETRY: keep
 * it; the records already settled are remembered (part_seq/part_done) and neither sent nor
 * counted again. */
static th_report_verdict ru_send_batch(th_report_url *r, uint64_t seq, bool auth_given_up,
                                       long *status, bool *more)
{
	char path[PATH_MAX + 32];
	char **lines = NULL;
	size_t *lens = NULL, from, m = 0, bytes = 0;
	off_t start;
	th_report_verdict v = TH_REPORT_DONE;
	th_report_progress pr = {0};
	bool eof = false, dropped;
	struct stat sb;
	ssize_t k;
	FILE *f;
	int fd;

	*status = 0;
	*more = false;
	r->tls_failed = false;
	ru_path(r, path, sizeof path, seq, "batch");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return TH_REPORT_DONE; /* a gap left by an earlier run, or deleted to make room */
	if (fd < 0 || fstat(fd, &sb) != 0 || (f = fdopen(fd, "r")) == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(r->reason, sizeof r->reason, "cannot read batch " RU_SEQ_FMT ": %s", seq,
		         strerror(errno));
		return TH_REPORT_RETRY;
	}
	pthread_mutex_lock(&r->mu);
	from = r->part_seq == seq ? r->part_done : 0;
	start = r->part_seq == seq ? r->part_off : 0;
	pthread_mutex_unlock(&r->mu);
	lines = calloc(r->batch_max, sizeof *lines);
	lens = calloc(r->batch_max, sizeof *lens);
	if (lines == NULL || lens == NULL) {
		fclose(f);
		free(lines);
		free(lens);
		snprintf(r->reason, sizeof r->reason, "no memory for batch " RU_SEQ_FMT, seq);
		return TH_REPORT_RETRY;
	}
	/* from where the settled records end, the next chunk of complete lines (a torn tail is not
	 * a record) */
	if (start > 0 && fseeko(f, start, SEEK_SET) != 0)
		eof = true;
	while (!eof && m < r->batch_max && bytes < RU_CHUNK_MAX) {
		char *line = NULL;
		size_t cap = 0;
		k = getline(&line, &cap, f);
		if (k <= 0 || line[k - 1] != '\n') {
			free(line);
			eof = true;
			break;
		}
		lines[m] = line;
		lens[m] = (size_t)k - 1;
		bytes += (size_t)k;
		m++;
	}
	if (!eof) {
		int c = fgetc(f);
		eof = c == EOF;
	}
	fclose(f);
	if (m > 0) {
		ru_batch b = {r, seq, from, (const char **)lines, lens};
		v = th_report_deliver_range(ru_post_cb, ru_keep_cb, &b, from, from + m,
		                            auth_given_up, &pr);
		*status = pr.status;
	}
	pthread_mutex_lock(&r->mu);
	dropped = r->inflight_dropped;
	if (dropped) {
		/* deleted to make room while it was sent: what this attempt settled was counted as
		 * dropped, and is not */
		unsigned long long back = pr.delivered + pr.rejected;
		ru_settled_locked(r, &pr, false);
		r->st.spool_dropped -= back < r->st.spool_dropped ? back : r->st.spool_dropped;
		r->part_seq = 0;
	} else {
		ru_settled_locked(r, &pr, true);
		if (v == TH_REPORT_DONE && eof) {
			r->part_seq = 0;
			if (unlink(path) != 0)
				ru_log(r, 0, "cannot remove delivered batch %s: %s", path,
				       strerror(errno));
			else
				r->st.spool_bytes -=
				    (unsigned long long)sb.st_size < r->st.spool_bytes
				        ? (unsigned long long)sb.st_size
				        : r->st.spool_bytes;
			ru_cap_check_locked(r);
		} else {
			r->part_seq = seq;
			r->part_done = m > 0 ? pr.done : from;
			r->part_off = start;
			for (size_t i = 0; i < r->part_done - from; i++)
				r->part_off += (off_t)lens[i] + 1;
			*more = v == TH_REPORT_DONE;
		}
	}
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < m; i++)
		free(lines[i]);
	free(lines);
	free(lens);
	return v;
}

/* POST the oldest records held in memory (nothing older waits in the spool). Called with mu
 * held; releases it during the request. */
static th_report_verdict ru_send_memory_locked(th_report_url *r, bool auth_given_up, long *status)
{
	size_t n = r->mem_n < r->batch_max ? r->mem_n : r->batch_max;
	const char **lines = calloc(n, sizeof *lines);
	size_t *lens = calloc(n, sizeof *lens);
	th_report_progress pr;
	th_report_verdict v;

	*status = 0;
	if (lines == NULL || lens == NULL) {
		free(lines);
		free(lens);
		return TH_REPORT_RETRY;
	}
	for (size_t i = 0; i < n; i++) {
		lines[i] = r->mem[(r->mem_head + i) % r->mem_max];
		lens[i] = r->mem_len[(r->mem_head + i) % r->mem_max];
	}
	r->mem_inflight = n; /* pushes only add at the tail: these pointers stay valid */
	pthread_mutex_unlock(&r->mu);
	ru_batch b = {r, 0, 0, lines, lens};
	v = th_report_deliver_range(ru_post_cb, ru_keep_cb, &b, 0, n, auth_given_up, &pr);
	pthread_mutex_lock(&r->mu);
	*status = pr.status;
	ru_settled_locked(r, &pr, false);
	for (size_t i = pr.done; i > 0; i--)
		ru_mem_pop_locked(r);
	r->mem_inflight = 0;
	free(lines);
	free(lens);
	return v;
}

/* Wait on cv until the monotonic time wake_ns (or a signal). Caller holds mu. */
static void ru_wait_until(th_report_url *r, int64_t wake_ns)
{
	struct timespec ts;

	if (wake_ns <= th_mono_ns())
		return;
	ts.tv_sec = (time_t)(wake_ns / TH_NS_PER_SEC);
	ts.tv_nsec = (long)(wake_ns % TH_NS_PER_SEC);
	pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

/* After a failed attempt: log the first failure of an outage, pick the next retry time. */
static int64_t ru_after_failure(th_report_url *r, long status)
{
	int64_t down, b = 250;

	r->st.failures++;
	if (!r->endpoint_down) {
		unsigned long long pending = r->st.pending + r->mem_n;
		char what[64];

		r->endpoint_down = true;
		r->down_since_ns = th_mono_ns();
		if (status)
			snprintf(what, sizeof what, "HTTP %ld", status);
		pthread_mutex_unlock(&r->mu);
		if (status == 401)
			ru_log(
			    r, 0,
			    "%s refused the bearer token%s%s (HTTP 401): keeping %llu records in "
			    "%s and retrying for %u s, then rejecting",
			    r->url, r->token_file[0] ? " from " : "", r->token_file, pending,
			    r->dir, r->auth_retry_ms / 1000);
		else if (status == 403)
			ru_log(r, 0,
			       "%s refused this agent (HTTP 403: %.200s): keeping %llu records "
			       "in %s and retrying for %u s, then rejecting",
			       r->url, r->reason[0] ? r->reason : "no reason given", pending,
			       r->dir, r->auth_retry_ms / 1000);
		else if (status == 0 && r->tls_failed)
			ru_log(r, 0, "%s: %s: keeping %llu records in %s and retrying", r->url,
			       r->reason, pending, r->dir);
		else
			ru_log(r, 1,
			       "%s unavailable (%s): spooling %llu records in %s and retrying",
			       r->url, status ? what : r->reason, pending, r->dir);
		pthread_mutex_lock(&r->mu);
	}
	/* exponential backoff from 250 ms, doubling while the outage lasts, up to retry_max_ms */
	down = th_mono_ns() - r->down_since_ns;
	while (b < (int64_t)r->retry_max_ms && b * TH_NS_PER_MS * 2 <= down)
		b *= 2;
	if (b > (int64_t)r->retry_max_ms)
		b = r->retry_max_ms;
	return th_mono_ns() + b * TH_NS_PER_MS;
}

/* After an answer: track how long 401/403 last (a 2xx ends the episode) and read the token
 * file again after a 401, the operator may have fixed it. Caller holds mu. */
static void ru_after_answer(th_report_url *r, long status)
{
	if (status >= 200 && status < 300) {
		r->auth_since_ns = 0;
		r->auth_given_up = false;
		return;
	}
	if (status != 401 && status != 403)
		return;
	if (r->auth_since_ns == 0)
		r->auth_since_ns = th_mono_ns();
	pthread_mutex_unlock(&r->mu);
	if (status == 401)
		ru_load_token(r, NULL);
	pthread_mutex_lock(&r->mu);
}

/* Whether 401/403 reject now: they have lasted auth_retry_ms. Logged once per episode. Caller
 * holds mu. */
static bool ru_auth_given_up(th_report_url *r)
{
	if (r->auth_given_up || r->auth_since_ns == 0 ||
	    th_mono_ns() - r->auth_since_ns < (int64_t)r->auth_retry_ms * TH_NS_PER_MS)
		return r->auth_given_up;
	r->auth_given_up = true;
	pthread_mutex_unlock(&r->mu);
	ru_log(r, 0,
	       "%s has refused this agent (HTTP 401/403) for %u s: batches it refuses now go to "
	       "%s/rejected/ (counted) until it accepts records again",
	       r->url, r->auth_retry_ms / 1000, r->dir);
	pthread_mutex_lock(&r->mu);
	return true;
}

static void *ru_thread(void *arg)
{
	th_report_url *r = arg;
	int64_t retry_at = 0; /* while the endpoint fails: no attempt before this time */

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		int64_t now = th_mono_ns();
		int64_t seal_at = r->cur_first_ns + (int64_t)r->flush_ms * TH_NS_PER_MS;

		if (r->cur_count > 0 && now >= seal_at)
			ru_seal_locked(r);
		if (retry_at != 0 && now >= retry_at)
			retry_at = 0;
		/* records held in memory: to the spool when it takes them again, else straight to
		 * the endpoint once nothing older waits in the spool */
		if (r->mem_n > 0 && !ru_mem_flush_locked(r) && retry_at == 0 &&
		    r->send_seq >= r->cur_seq && r->cur_count == 0) {
			long status;
			th_report_verdict v =
			    ru_send_memory_locked(r, ru_auth_given_up(r), &status);
			ru_after_answer(r, status);
			if (v != TH_REPORT_DONE)
				retry_at = ru_after_failure(r, status);
			continue;
		}
		if (retry_at == 0 && r->send_seq < r->cur_seq) {
			uint64_t seq = r->send_seq;
			bool given_up = ru_auth_given_up(r), more, dropped;
			th_report_verdict v;
			long status;

			r->inflight = true;
			r->inflight_seq = seq;
			r->inflight_dropped = false;
			pthread_mutex_unlock(&r->mu);
			v = ru_send_batch(r, seq, given_up, &status, &more);
			pthread_mutex_lock(&r->mu);
			dropped = r->inflight_dropped;
			r->inflight = r->inflight_dropped = false;
			ru_after_answer(r, status);
			if (dropped && r->send_seq <= seq) { /* deleted meanwhile: move on */
				r->send_seq = seq + 1;
				pthread_cond_broadcast(&r->cv);
			}
			if (v != TH_REPORT_DONE) {
				retry_at = ru_after_failure(r, status);
				continue;
			}
			if (!more && !dropped) {
				r->send_seq = seq + 1;
				pthread_cond_broadcast(&r->cv);
			}
			if (r->endpoint_down && status >= 200 && status < 300) {
				double secs = (double)(th_mono_ns() - r->down_since_ns) / 1e9;
				r->endpoint_down = false;
				pthread_mutex_unlock(&r->mu);
				ru_log(r, 2, "%s answers again after %.1f s; sending the spool",
				       r->url, secs);
				pthread_mutex_lock(&r->mu);
			}
			continue;
		}
		/* sleep until the open segment is due for sealing, the retry time, a push that
		 * sealed a segment, or close() */
		{
			int64_t wake = now + TH_NS_PER_SEC;
			if (retry_at != 0 && retry_at < wake)
				wake = retry_at;
			if (r->cur_count > 0 && seal_at < wake)
				wake = seal_at;
			ru_wait_until(r, wake);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* ------------------------------------------------------------------ open / close */

/* Copy one TLS file option, which must name a readable file. */
static th_err ru_tls_file(const char *opt, const char *path, char *out, size_t size, char *errbuf)
{
	int fd;

	if (path == NULL)
		return TH_OK;
	if (path[0] == '\0' || strlen(path) >= size)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s: empty or too long path", opt);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return th_seterr(errbuf, TH_ERR_IO, "%s %s: %s", opt, path, strerror(errno));
	close(fd);
	strcpy(out, path);
	return TH_OK;
}

static th_err ru_tls_files(th_report_url *r, const th_report_url_opts *o, char *errbuf)
{
	th_err e;

	if ((o->cert == NULL) != (o->key == NULL))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s needs %s as well",
		                 o->cert ? "--cert" : "--key", o->cert ? o->cert : o->key,
		                 o->cert ? "--key" : "--cert");
	if ((e = ru_tls_file("--cacert", o->cacert, r->cacert, sizeof r->cacert, errbuf)) !=
	        TH_OK ||
	    (e = ru_tls_file("--cert", o->cert, r->cert, sizeof r->cert, errbuf)) != TH_OK ||
	    (e = ru_tls_file("--key", o->key, r->key, sizeof r->key, errbuf)) != TH_OK)
		return e;
	return TH_OK;
}

th_err th_report_url_open(th_report_url **out, const th_report_url_opts *o, char *errbuf)
{
	th_report_url *r;
	pthread_condattr_t ca;
	th_err e;

	*out = NULL;
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "no memory for the report channel");
	r->lock_fd = -1;
	r->cur_fd = -1;
	r->log = o->log;
	r->log_ctx = o->log_ctx;
	r->batch_max = o->batch_max ? o->batch_max : 200;
	r->flush_ms = o->flush_ms ? o->flush_ms : 1000;
	r->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
	r->retry_max_ms = o->retry_max_ms ? o->retry_max_ms : 5000;
	r->mem_max = o->mem_max ? o->mem_max : 10000;
	r->spool_max = o->spool_max ? o->spool_max : TH_REPORT_SPOOL_MAX;
	r->auth_retry_ms = o->auth_retry_ms ? o->auth_retry_ms : TH_REPORT_AUTH_RETRY_MS;
	if (r->spool_max < TH_SPOOL_MAX_MIN) {
		e = th_seterr(errbuf, TH_ERR_INVALID, "--spool-max %llu: at least %llu bytes",
		              r->spool_max, TH_SPOOL_MAX_MIN);
		goto fail;
	}
	e = th_report_url_endpoint(o->url, r->url, sizeof r->url, errbuf);
	if (e != TH_OK)
		goto fail;
	if (o->token_file) {
		if (strlen(o->token_file) >= sizeof r->token_file) {
			e = th_seterr(errbuf, TH_ERR_TOOBIG, "token file path is too long");
			goto fail;
		}
		strcpy(r->token_file, o->token_file);
		e = ru_load_token(r, errbuf);
		if (e != TH_OK)
			goto fail;
	}
	e = ru_tls_files(r, o, errbuf);
	if (e != TH_OK)
		goto fail;
	e = o->spool_dir ? ru_take_dir(r, o->spool_dir, errbuf) : ru_take_default_dir(r, errbuf);
	if (e != TH_OK)
		goto fail;
	e = ru_recover(r, errbuf);
	if (e != TH_OK)
		goto fail;

	e = ru_curl_load(errbuf);
	if (e != TH_OK)
		goto fail;
	r->curl = ru_curl.easy_init();
	if (r->curl == NULL) {
		e = th_seterr(errbuf, TH_ERR_NOMEM, "no memory for a libcurl handle");
		goto fail;
	}
	ru_curl.easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	ru_curl.easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	ru_curl.easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS,
	                    (long)(r->timeout_ms < 2000 ? r->timeout_ms : 2000));
	ru_curl.easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, ru_on_body);
	ru_curl.easy_setopt(r->curl, CURLOPT_WRITEDATA, r);
	ru_curl.easy_setopt(r->curl, CURLOPT_XFERINFOFUNCTION, ru_on_progress);
	ru_curl.easy_setopt(r->curl, CURLOPT_XFERINFODATA, r);
	ru_curl.easy_setopt(r->curl, CURLOPT_NOPROGRESS, 0L);
	ru_curl.easy_setopt(r->curl, CURLOPT_USERAGENT, "themis-agent/" THEMIS_VERSION);
	ru_curl.easy_setopt(r->curl, CURLOPT_ERRORBUFFER, r->curl_error);
	/* verification stays on whatever libcurl's defaults are */
	ru_curl.easy_setopt(r->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	ru_curl.easy_setopt(r->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->cacert[0])
		ru_curl.easy_setopt(r->curl, CURLOPT_CAINFO, r->cacert);
	if (r->cert[0]) {
		ru_curl.easy_setopt(r->curl, CURLOPT_SSLCERT, r->cert);
		ru_curl.easy_setopt(r->curl, CURLOPT_SSLKEY, r->key);
	}

	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&r->thread, NULL, ru_thread, r) != 0) {
		e = th_seterr(errbuf, TH_ERR_STATE, "cannot start the delivery thread");
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		goto fail;
	}
	r->thread_started = true;
	*out = r;
	return TH_OK;
fail:
	if (r->curl)
		ru_curl.easy_cleanup(r->curl);
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	free(r);
	return e;
}

void th_report_url_get_stats(th_report_url *r, th_report_url_stats *st)
{
	pthread_mutex_lock(&r->mu);
	*st = r->st;
	pthread_mutex_unlock(&r->mu);
}

th_err th_report_url_close(th_report_url *r, unsigned drain_ms, char *errbuf)
{
	int64_t deadline;
	unsigned long long pending;
	th_err e = TH_OK;

	if (r == NULL)
		return TH_OK;
	deadline = th_mono_ns() + (int64_t)drain_ms * TH_NS_PER_MS;
	pthread_mutex_lock(&r->mu);
	ru_mem_flush_locked(r);
	ru_seal_locked(r);
	while ((r->send_seq < r->cur_seq || r->mem_n > 0) && th_mono_ns() < deadline) {
		struct timespec ts;
		int64_t left = deadline - th_mono_ns();
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (left > 100 * TH_NS_PER_MS)
			left = 100 * TH_NS_PER_MS;
		ts.tv_nsec += left;
		while (ts.tv_nsec >= TH_NS_PER_SEC) {
			ts.tv_sec++;
			ts.tv_nsec -= TH_NS_PER_SEC;
		}
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
	}
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	/* the last chance for records held in memory: the spool, sealed for the next run */
	ru_mem_flush_locked(r);
	ru_seal_locked(r);
	unsigned long long lost = r->mem_n;
	r->st.dropped += lost;
	while (r->mem_n > 0)
		ru_mem_pop_locked(r);
	pending = r->st.pending;
	if (r->st.spool_dropped > 0)
		ru_log(r, 1,
		       "%llu records were deleted from spool %s to stay under --spool-max (%llu "
		       "bytes)",
		       r->st.spool_dropped, r->dir, r->spool_max);
	if (lost > 0)
		e = th_seterr(errbuf, TH_ERR_IO,
		              "%llu records held in memory are lost: spool %s does not take them "
		              "and %s did not either (%llu dropped in all)",
		              lost, r->dir, r->url, r->st.dropped);
	else if (r->st.dropped > 0)
		e = th_seterr(errbuf, TH_ERR_IO,
		              "%llu records were dropped while spool %s failed and memory was full",
		              r->st.dropped, r->dir);
	else if (pending > 0)
		e = th_seterr(errbuf, TH_ERR_TIMEOUT,
		              "%llu records not yet delivered to %s stay in %s for the next run",
		              pending, r->url, r->dir);
	else if (r->st.spool_dropped > 0)
		e = th_seterr(errbuf, TH_ERR_IO,
		              "%llu records were deleted from spool %s to stay under --spool-max; "
		              "the others were delivered",
		              r->st.spool_dropped, r->dir);
	ru_curl.easy_cleanup(r->curl);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	close(r->lock_fd);
	free(r->mem);
	free(r->mem_len);
	free(r);
	return e;
}

th_err th_report_url_push(th_report_url *r, const th_record *rec, char *errbuf)
{
	char *json;
	size_t len;
	th_err e = th_record_to_json(rec, &json, &len, errbuf);

	if (e != TH_OK)
		return e;
	e = th_report_url_push_json(r, json, len, errbuf);
	free(json);
	return e;
}

/* ------------------------------------------------------------------ report-url.h contract */

struct report_url {
	th_report_url *impl;
	unsigned close_timeout_ms;
};

th_err report_url_open(report_url **out, const char *url, const report_url_opts *opts, char *errbuf)
{
	th_report_url_opts o = {0};
	report_url *r = calloc(1, sizeof *r);
	th_err e;

	*out = NULL;
	if (r == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "no memory for --report %s", url);
	o.url = url;
	if (opts) {
		o.token_file = opts->token_file;
		o.spool_dir = opts->spool_dir;
		o.cacert = opts->cacert;
		o.cert = opts->cert;
		o.key = opts->key;
		o.mem_max = opts->spool_memory;
		o.spool_max = opts->spool_max;
	}
	r->close_timeout_ms =
	    opts && opts->close_timeout_ms > 0 ? (unsigned)opts->close_timeout_ms : 5000;
	e = th_report_url_open(&r->impl, &o, errbuf);
	if (e != TH_OK) {
		free(r);
		return e;
	}
	*out = r;
	return TH_OK;
}

th_err report_url_write(report_url *r, const th_record *rec, char *errbuf)
{
	return th_report_url_push(r->impl, rec, errbuf);
}

th_err report_url_close(report_url *r, char *errbuf)
{
	th_err e;

	if (r == NULL)
		return TH_OK;
	e = th_report_url_close(r->impl, r->close_timeout_ms, errbuf);
	free(r);
	return e;
}
