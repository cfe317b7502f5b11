/* themis-deliver.c — dispatch of the plugin's values and notifications, and the values followed
 * through collectd's write threads so that none is lost to a shutdown (see below). */
#include "themis-glue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "th-time.h"

/* collectd stops its write threads before it calls any shutdown function and drops what is still
 * in its write queue, so values dispatched just before (or during) a shutdown would reach no
 * writer while a re-send after the restart counts as a duplicate. So the plugin follows its own
 * values through collectd: each dispatched value waits in tp_unseen until the plugin's own write
 * callback sees it pass (a write thread hands a value to every writer in one go, so seen means
 * written). At shutdown what was not seen is saved to <ArchiveDir>/undispatched.values and
 * dispatched again at the next start: once, never twice. Values no writer sees within 30 s
 * (a filter chain that routes them elsewhere) are let go; when none is ever seen the tracking
 * turns itself off. */
#define TP_UNSEEN_MAX         16384
#define TP_UNSEEN_KEEP        (30 * TH_NS_PER_SEC)
#define TP_UNSEEN_LOOK        256 /* how far from the oldest a seen value is looked for */
#define TP_UNDISPATCHED_MAGIC "THUND1\n"
typedef struct tp_sent {
	uint64_t key; /* 0: seen */
	int64_t at_ns;
	tp_value v;
} tp_sent;
static pthread_mutex_t tp_unseen_lock = PTHREAD_MUTEX_INITIALIZER;
static tp_sent *tp_unseen; /* ring */
static size_t tp_unseen_head, tp_unseen_n, tp_unseen_cap;
static bool tp_track = true;
static unsigned long long tp_seen_total, tp_untracked;

static uint64_t tp_value_key(const char *vm, const char *type, const char *ti, cdtime_t t)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[3] = {vm, type, ti};

	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i];; p++) {
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
			if (*p == '\0')
				break;
		}
	}
	h = (h ^ (uint64_t)t) * 0x100000001b3ULL;
	return h ? h : 1;
}

/* Remember v until it is seen (lock held; tracking on). */
static void tp_unseen_add(const tp_value *v, int64_t now_ns)
{
	tp_sent *e;

	if (tp_unseen_n == tp_unseen_cap) {
		size_t cap = tp_unseen_cap ? tp_unseen_cap * 2 : 1024;
		tp_sent *n = cap <= TP_UNSEEN_MAX ? malloc(cap * sizeof *n) : NULL;

		if (n == NULL) { /* full: the oldest goes untracked */
			tp_unseen_head = (tp_unseen_head + 1) % tp_unseen_cap;
			tp_unseen_n--;
			tp_untracked++;
		} else {
			for (size_t i = 0; i < tp_unseen_n; i++)
				n[i] = tp_unseen[(tp_unseen_head + i) % tp_unseen_cap];
			free(tp_unseen);
			tp_unseen = n;
			tp_unseen_cap = cap;
			tp_unseen_head = 0;
		}
	}
	e = &tp_unseen[(tp_unseen_head + tp_unseen_n++) % tp_unseen_cap];
	e->v = *v;
	e->at_ns = now_ns;
	e->key = tp_value_key(v->vm, v->type, v->type_instance, DOUBLE_TO_CDTIME_T(v->time));
}

/* Drop seen entries at the front, and those older than TP_UNSEEN_KEEP. Lock held. */
static void tp_unseen_trim(int64_t now_ns)
{
	while (tp_unseen_n > 0) {
		tp_sent *e = &tp_unseen[tp_unseen_head];

		if (e->key != 0 && now_ns - e->at_ns < TP_UNSEEN_KEEP)
			break;
		if (e->key != 0 && tp_seen_total == 0 && tp_track) {
			tp_track = false; /* nothing ever came back: the writers are elsewhere */
			INFO(TP_NAME
			     " plugin: no write thread hands this plugin's values to its own "
			     "write callback (a filter chain?): values in flight at a shutdown "
			     "are not kept for the next start.");
		}
		tp_unseen_head = (tp_unseen_head + 1) % tp_unseen_cap;
		tp_unseen_n--;
	}
	if (!tp_track)
		tp_unseen_n = 0;
}

unsigned long long tp_deliver_untracked(void)
{
	unsigned long long n;

	pthread_mutex_lock(&tp_unseen_lock);
	n = tp_untracked;
	pthread_mutex_unlock(&tp_unseen_lock);
	return n;
}

void tp_deliver_trim(void)
{
	pthread_mutex_lock(&tp_unseen_lock);
	tp_unseen_trim(th_mono_ns());
	pthread_mutex_unlock(&tp_unseen_lock);
}

/* The write callback: note our own values as they pass the write threads. */
int tp_write_seen(const data_set_t *ds, const value_list_t *vl, user_data_t *ud)
{
	uint64_t key;

	if (strcmp(vl->plugin, TP_NAME) != 0)
		return 0;
	key = tp_value_key(vl->plugin_instance, vl->type, vl->type_instance, vl->time);
	pthread_mutex_lock(&tp_unseen_lock);
	for (size_t i = 0; i < tp_unseen_n && i < TP_UNSEEN_LOOK; i++) {
		tp_sent *e = &tp_unseen[(tp_unseen_head + i) % tp_unseen_cap];

		if (e->key == key) {
			e->key = 0;
			tp_seen_total++;
			break;
		}
	}
	/* the seen ones at the front go now (the search starts there); the worker lets go of
	 * the old unseen ones, once a round */
	while (tp_unseen_n > 0 && tp_unseen[tp_unseen_head].key == 0) {
		tp_unseen_head = (tp_unseen_head + 1) % tp_unseen_cap;
		tp_unseen_n--;
	}
	pthread_mutex_unlock(&tp_unseen_lock);
	return 0;
}

static void tp_dispatch_now(const tp_value *v)
{
	value_list_t vl = VALUE_LIST_INIT;
	value_t values[TP_MAX_VALUES];

	for (size_t i = 0; i < v->n; i++)
		values[i].gauge = v->v[i];
	vl.values = values;
	vl.values_len = v->n;
	vl.time = DOUBLE_TO_CDTIME_T(v->time);
	vl.interval = DOUBLE_TO_CDTIME_T(v->interval);
	tp_copy(vl.plugin, sizeof vl.plugin, TP_NAME);
	tp_copy(vl.plugin_instance, sizeof vl.plugin_instance, v->vm);
	tp_copy(vl.type, sizeof vl.type, v->type);
	tp_copy(vl.type_instance, sizeof vl.type_instance, v->type_instance);
	plugin_dispatch_values(&vl);
}

/* Dispatch v[0..n) (one lock for all: the write threads take it for every value); after
 * collectd stopped its write threads (stopped), only remember them. */
void tp_dispatch(const tp_value *v, size_t n, bool stopped)
{
	int64_t now = th_mono_ns();

	pthread_mutex_lock(&tp_unseen_lock);
	for (size_t i = 0; i < n && tp_track; i++)
		tp_unseen_add(&v[i], now);
	pthread_mutex_unlock(&tp_unseen_lock);
	for (size_t i = 0; i < n && !stopped; i++)
		tp_dispatch_now(&v[i]);
}

static void tp_undispatched_path(char *out, size_t size)
{
	snprintf(out, size, "%s/undispatched.values", tp_arch.dir);
}

/* At shutdown: save what no writer saw (binary image of tp_value, this machine's layout) and
 * empty the ring. */
void tp_undispatched_save(void)
{
	char path[1100], err[TH_ERRLEN], *buf = NULL, *p;
	size_t n = 0;

	pthread_mutex_lock(&tp_unseen_lock);
	tp_unseen_trim(th_mono_ns());
	for (size_t i = 0; i < tp_unseen_n; i++)
		n += tp_unseen[(tp_unseen_head + i) % tp_unseen_cap].key != 0;
	if (n > 0 && tp_cfg.archive && (buf = malloc(16 + n * sizeof(tp_value))) != NULL) {
		memcpy(buf, TP_UNDISPATCHED_MAGIC, 8);
		memcpy(buf + 8, &n, 8);
		p = buf + 16;
		for (size_t i = 0; i < tp_unseen_n; i++) {
			const tp_sent *e = &tp_unseen[(tp_unseen_head + i) % tp_unseen_cap];

			if (e->key != 0) {
				memcpy(p, &e->v, sizeof e->v);
				p += sizeof e->v;
			}
		}
	}
	tp_unseen_head = tp_unseen_n = 0;
	pthread_mutex_unlock(&tp_unseen_lock);
	if (n == 0)
		return;
	if (buf == NULL) {
		ERROR(TP_NAME " plugin: %zu value list(s) dispatched after collectd stopped its "
		              "write threads are lost (%s).",
		      n, tp_cfg.archive ? "out of memory" : "no ArchiveDir to keep them in");
		return;
	}
	tp_undispatched_path(path, sizeof path);
	if (tp_write_file(path, buf, 16 + n * sizeof(tp_value), true, err) != TH_OK)
		ERROR(TP_NAME " plugin: %s: %zu value list(s) lost", err, n);
	else
		INFO(TP_NAME " plugin: %zu value list(s) reached no writer before the shutdown; "
		             "kept in %s for the next start.",
		     n, path);
	free(buf);
}

/* At start (collectd starts its write threads after the init functions): dispatch what the
 * last shutdown kept, once. */
void tp_undispatched_load(void)
{
	char path[1100], err[TH_ERRLEN], *text = NULL;
	size_t len = 0, n;

	tp_undispatched_path(path, sizeof path);
	if (access(path, F_OK) != 0)
		return;
	if (tp_read_file(path, &text, &len, err) != TH_OK || len < 16 ||
	    memcmp(text, TP_UNDISPATCHED_MAGIC, 8) != 0 ||
	    (memcpy(&n, text + 8, 8), len != 16 + n * sizeof(tp_value))) {
		WARNING(TP_NAME " plugin: %s: not a file of undispatched values; left alone", path);
		free(text);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		tp_value v;

		memcpy(&v, text + 16 + i * sizeof v, sizeof v);
		v.vm[sizeof v.vm - 1] = v.type[sizeof v.type - 1] = '\0';
		v.type_instance[sizeof v.type_instance - 1] = '\0';
		if (v.n > TP_MAX_VALUES)
			continue;
		tp_dispatch(&v, 1, false);
	}
	free(text);
	if (unlink(path) != 0)
		ERROR(TP_NAME " plugin: %s: %s (its values may be dispatched again)", path,
		      strerror(errno));
	INFO(TP_NAME " plugin: dispatched %zu value list(s) kept by the last shutdown.", n);
	pthread_mutex_lock(&tp_lock);
	tp_dispatched += n;
	pthread_mutex_unlock(&tp_lock);
}

void tp_notify(const tp_notice *n)
{
	notification_t notif = {.severity = (int)n->severity, .time = DOUBLE_TO_CDTIME_T(n->time)};

	snprintf(notif.message, sizeof notif.message, "%s", n->message);
	snprintf(notif.host, sizeof notif.host, "%s", hostname_g);
	snprintf(notif.plugin, sizeof notif.plugin, "%s", TP_NAME);
	snprintf(notif.plugin_instance, sizeof notif.plugin_instance, "%s", n->vm);
	snprintf(notif.type, sizeof notif.type, "themis_session");
	snprintf(notif.type_instance, sizeof notif.type_instance, "%s", n->session);
	plugin_dispatch_notification(&notif);
}
