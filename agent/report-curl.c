/* report-curl.c — libcurl for the delivery engine (report-url-impl.h): loaded with dlopen() on
 * the first --report URL (the same binary runs the reflector inside guests, where libcurl and its
 * TLS stack would triple the resident memory), one easy handle per channel with bounded timeouts
 * and certificate verification always on, and one POST of records as a JSON array. Only this file
 * includes <curl/curl.h>.
 */
#include "themis-config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>

#include <curl/curl.h>

#include "report-url-int.h"

_Static_assert(RU_CURL_ERROR_SIZE >= CURL_ERROR_SIZE, "curl_error must hold CURL_ERROR_SIZE");

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

/* ------------------------------------------------------------------ one handle, one POST */

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

th_err ru_curl_setup(th_report_url *r, char *errbuf)
{
	th_err e;

	e = ru_curl_load(errbuf);
	if (e != TH_OK)
		return e;
	r->curl = ru_curl.easy_init();
	if (r->curl == NULL) {
		return th_seterr(errbuf, TH_ERR_NOMEM, "no memory for a libcurl handle");
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
	return TH_OK;
}

void ru_curl_free(th_report_url *r)
{
	if (r->curl)
		ru_curl.easy_cleanup(r->curl);
	r->curl = NULL;
}

/* POST lines[lo, hi) as one JSON array. Returns the HTTP status, 0 on transport failure
 * (message in r->reason). */
long ru_post(th_report_url *r, const char **lines, const size_t *lens, size_t lo, size_t hi)
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
