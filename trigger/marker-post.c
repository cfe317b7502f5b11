/* marker-post.c — a queue of JSON markers and one libcurl sender thread. The lock guards only
 * the queue; the HTTP request runs outside it. */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "marker-post.h"
#include "th-secret.h"
#include "th-time.h"

typedef struct mp_item {
	char *json;
	struct mp_item *next;
} mp_item;

struct marker_post {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	mp_item *head, *tail;
	size_t pending, delivered, dropped;
	bool stop, failing;
	int64_t flush_deadline; /* mono ns; 0 = none */
	char url[1024];
	char auth[TH_TOKEN_MAX + 32]; /* "Authorization: Bearer " and the token */
	char cacert[PATH_MAX], cert[PATH_MAX], key[PATH_MAX]; /* "" when not given */
	char why[TH_ERRLEN];
};

th_err marker_post_url(const char *base, const char *path, char *out, size_t size, char *errbuf)
{
	/* the path goes before a query string ("http://c:8741/?tenant=a" keeps "?tenant=a") */
	size_t bl = strcspn(base, "?#"), pl = strlen(path);

	if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "plugin URL \"%s\" must start with http:// or https://", base);
	if (bl >= pl && strncmp(base + bl - pl, path, pl) == 0)
		path = "";
	else if (bl > 0 && base[bl - 1] == '/')
		path++;
	if ((size_t)snprintf(out, size, "%.*s%s%s", (int)bl, base, path, base + bl) >= size)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "plugin URL too long");
	return TH_OK;
}

static size_t mp_discard(char *p, size_t sz, size_t n, void *u)
{
	(void)p;
	(void)u;
	return sz * n;
}

/* POST body; returns HTTP status or 0 on transport failure (why filled). */
static long mp_post(marker_post *mp, const char *body, char *why)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	long status = 0;
	CURLcode rc;
	char cerr[CURL_ERROR_SIZE] = "";

	if (c == NULL) {
		snprintf(why, TH_ERRLEN, "cannot create an HTTP handle");
		return 0;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	if (mp->auth[0] != '\0')
		h = curl_slist_append(h, mp->auth);
	curl_easy_setopt(c, CURLOPT_URL, mp->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mp_discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (mp->cacert[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, mp->cacert);
	if (mp->cert[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_SSLCERT, mp->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, mp->key);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(why, TH_ERRLEN, "POST %.160s: %s", mp->url,
		         cerr[0] ? cerr : curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static void *mp_run(void *arg)
{
	marker_post *mp = arg;
	int64_t pause_ns = 250 * TH_NS_PER_MS;

	pthread_mutex_lock(&mp->lock);
	for (;;) {
		while (mp->head == NULL && !mp->stop)
			pthread_cond_wait(&mp->cond, &mp->lock);
		if (mp->head == NULL && mp->stop)
			break;
		if (mp->stop && mp->flush_deadline != 0 && th_mono_ns() >= mp->flush_deadline)
			break;
		/* batch everything queued now into one JSON array */
		size_t count = 0, len = 2;
		for (mp_item *it = mp->head; it != NULL; it = it->next, count++)
			len += strlen(it->json) + 1;
		char *body = malloc(len + 1);
		if (body == NULL)
			break;
		size_t off = 0;
		body[off++] = '[';
		for (mp_item *it = mp->head; it != NULL; it = it->next) {
			size_t l = strlen(it->json);
			memcpy(body + off, it->json, l);
			off += l;
			if (it->next != NULL)
				body[off++] = ',';
		}
		body[off++] = ']';
		body[off] = '\0';
		pthread_mutex_unlock(&mp->lock);

		char why[TH_ERRLEN] = "";
		long status = mp_post(mp, body, why);
		free(body);

		pthread_mutex_lock(&mp->lock);
		bool ok = status >= 200 && status < 300;
		bool refused = status == 400 || status == 413;
		if (ok || refused) {
			for (size_t i = 0; i < count && mp->head != NULL; i++) {
				mp_item *it = mp->head;
				mp->head = it->next;
				free(it->json);
				free(it);
				mp->pending--;
			}
			if (mp->head == NULL)
				mp->tail = NULL;
			if (ok)
				mp->delivered += count;
			else
				mp->dropped += count;
			mp->failing = refused;
			if (refused)
				snprintf(mp->why, sizeof mp->why,
				         "POST %.160s refused %zu markers (HTTP %ld); they stay in "
				         "the journal",
				         mp->url, count, status);
			pause_ns = 250 * TH_NS_PER_MS;
			continue;
		}
		mp->failing = true;
		if (status != 0)
			snprintf(mp->why, sizeof mp->why, "POST %.160s: HTTP %ld", mp->url, status);
		else
			snprintf(mp->why, sizeof mp->why, "%s", why);
		/* wait before retrying; stop and flush deadlines cut the pause short */
		int64_t until = th_mono_ns() + pause_ns;
		if (mp->stop && mp->flush_deadline != 0 && mp->flush_deadline < until)
			until = mp->flush_deadline;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t wait = until - th_mono_ns();
		if (wait > 0) {
			ts.tv_sec += (time_t)(wait / TH_NS_PER_SEC);
			ts.tv_nsec += (long)(wait % TH_NS_PER_SEC);
			if (ts.tv_nsec >= TH_NS_PER_SEC) {
				ts.tv_sec++;
				ts.tv_nsec -= TH_NS_PER_SEC;
			}
			pthread_cond_timedwait(&mp->cond, &mp->lock, &ts);
		}
		pause_ns = pause_ns * 2 > 5 * TH_NS_PER_SEC ? 5 * TH_NS_PER_SEC : pause_ns * 2;
	}
	pthread_mutex_unlock(&mp->lock);
	return NULL;
}

/* Copy one TLS file option, which must name a readable file. */
static th_err mp_tls_file(const char *opt, const char *path, char *out, size_t size, char *errbuf)
{
	int fd;

	if (path == NULL || path[0] == '\0')
		return TH_OK;
	if (strlen(path) >= size)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "%s: path too long", opt);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return th_seterr(errbuf, TH_ERR_IO, "%s %s: %s", opt, path, strerror(errno));
	close(fd);
	memcpy(out, path, strlen(path) + 1);
	return TH_OK;
}

static th_err mp_tls_files(marker_post *mp, const marker_post_tls *t, char *errbuf)
{
	bool cert, key;
	th_err e;

	if (t == NULL)
		return TH_OK;
	cert = t->cert != NULL && t->cert[0] != '\0';
	key = t->key != NULL && t->key[0] != '\0';
	if (cert != key)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s needs %s as well",
		                 cert ? "--cert" : "--key", cert ? t->cert : t->key,
		                 cert ? "--key" : "--cert");
	if ((e = mp_tls_file("--cacert", t->cacert, mp->cacert, sizeof mp->cacert, errbuf)) !=
	        TH_OK ||
	    (e = mp_tls_file("--cert", t->cert, mp->cert, sizeof mp->cert, errbuf)) != TH_OK ||
	    (e = mp_tls_file("--key", t->key, mp->key, sizeof mp->key, errbuf)) != TH_OK)
		return e;
	return TH_OK;
}

th_err marker_post_start(marker_post **mpp, const char *url, const char *token,
                         const marker_post_tls *tls, char *errbuf)
{
	marker_post *mp = calloc(1, sizeof *mp);
	pthread_condattr_t ca;
	th_err e;

	*mpp = NULL;
	if (mp == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory");
	e = marker_post_url(url, "/v1/markers", mp->url, sizeof mp->url, errbuf);
	if (e == TH_OK)
		e = mp_tls_files(mp, tls, errbuf);
	if (e != TH_OK) {
		free(mp);
		return e;
	}
	if (token != NULL && token[0] != '\0')
		snprintf(mp->auth, sizeof mp->auth, "Authorization: Bearer %s", token);
	pthread_mutex_init(&mp->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mp->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&mp->thread, NULL, mp_run, mp) != 0) {
		free(mp);
		return th_seterr(errbuf, TH_ERR_IO, "cannot start the marker delivery thread");
	}
	*mpp = mp;
	return TH_OK;
}

th_err marker_post_enqueue(marker_post *mp, const char *json, char *errbuf)
{
	return marker_post_enqueue_batch(mp, &json, 1, errbuf);
}

th_err marker_post_enqueue_batch(marker_post *mp, const char *const *json, size_t n, char *errbuf)
{
	mp_item *first = NULL, *last = NULL;

	for (size_t i = 0; i < n; i++) {
		mp_item *it = calloc(1, sizeof *it);

		if (it == NULL || (it->json = strdup(json[i])) == NULL) {
			free(it);
			while (first != NULL) {
				it = first->next;
				free(first->json);
				free(first);
				first = it;
			}
			return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory queueing a marker");
		}
		if (last != NULL)
			last->next = it;
		else
			first = it;
		last = it;
	}
	if (first == NULL)
		return TH_OK;
	pthread_mutex_lock(&mp->lock);
	if (mp->tail != NULL)
		mp->tail->next = first;
	else
		mp->head = first;
	mp->tail = last;
	mp->pending += n;
	pthread_cond_signal(&mp->cond);
	pthread_mutex_unlock(&mp->lock);
	return TH_OK;
}

size_t marker_post_pending(marker_post *mp, bool *failing, char *why)
{
	size_t n;

	pthread_mutex_lock(&mp->lock);
	n = mp->pending;
	if (failing != NULL)
		*failing = mp->failing;
	if (why != NULL)
		snprintf(why, TH_ERRLEN, "%s", mp->why);
	pthread_mutex_unlock(&mp->lock);
	return n;
}

size_t marker_post_delivered(marker_post *mp)
{
	size_t n;

	pthread_mutex_lock(&mp->lock);
	n = mp->delivered;
	pthread_mutex_unlock(&mp->lock);
	return n;
}

size_t marker_post_dropped(marker_post *mp)
{
	size_t n;

	pthread_mutex_lock(&mp->lock);
	n = mp->dropped;
	pthread_mutex_unlock(&mp->lock);
	return n;
}

size_t marker_post_stop(marker_post *mp, int flush_ms)
{
	size_t left;

	if (mp == NULL)
		return 0;
	pthread_mutex_lock(&mp->lock);
	mp->stop = true;
	mp->flush_deadline = th_mono_ns() + (int64_t)(flush_ms > 0 ? flush_ms : 1) * TH_NS_PER_MS;
	pthread_cond_signal(&mp->cond);
	pthread_mutex_unlock(&mp->lock);
	pthread_join(mp->thread, NULL);
	left = mp->pending;
	while (mp->head != NULL) {
		mp_item *it = mp->head;
		mp->head = it->next;
		free(it->json);
		free(it);
	}
	pthread_mutex_destroy(&mp->lock);
	pthread_cond_destroy(&mp->cond);
	free(mp);
	return left;
}
