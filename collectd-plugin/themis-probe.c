/* themis-probe.c — background probing of the <Target>s: groups of targets, one prober thread
 * each, so that a target that cannot be set up never disturbs the others. */
#include "themis-glue.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "th-time.h"

static bool tp_probe_stop;
static bool tp_probe_running;
static pthread_t tp_probe_tid;
static pthread_cond_t tp_probe_cond = PTHREAD_COND_INITIALIZER;

/* Targets are measured in groups, one prober and thread each. At start every target that can be
 * added (its name resolves, its socket opens) joins the first group; the others are retried every
 * 30 s and those that can be added then start a group of their own. A group whose prober fails
 * rebuilds itself after a second. So a bad target never disturbs the healthy ones. */
typedef struct tp_group {
	size_t *idx; /* indexes into tp_targets */
	size_t n;
	th_prober *prober; /* running, under tp_lock */
	pthread_t tid;
} tp_group;
static tp_group *tp_groups; /* at most one per target */
static size_t tp_ngroups;
static pthread_mutex_t tp_complaint_lock = PTHREAD_MUTEX_INITIALIZER;

static void tp_on_record(const th_record *r, void *arg)
{
	static time_t last_complaint;
	char err[TH_ERRLEN];
	size_t dups;
	bool say;

	if (tp_take_records(NULL, r, 1, &dups, NULL, err) == TH_OK)
		return;
	pthread_mutex_lock(&tp_complaint_lock);
	say = time(NULL) - last_complaint > 60;
	if (say)
		last_complaint = time(NULL);
	pthread_mutex_unlock(&tp_complaint_lock);
	if (say)
		WARNING(TP_NAME " plugin: probe record of %s dropped: %s", r->vm, err);
}

/* The prober's own lines (its stalls, wall-clock steps, dropped records) into collectd's log. */
static void tp_prober_log(int level, const char *msg, void *arg)
{
	if (level == 0)
		ERROR(TP_NAME " plugin: prober: %s", msg);
	else if (level == 1)
		WARNING(TP_NAME " plugin: prober: %s", msg);
	else
		INFO(TP_NAME " plugin: prober: %s", msg);
}

/* Sleep up to `seconds`, waking early on shutdown. Returns true when stopping. */
static bool tp_probe_pause(int seconds)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&tp_lock);
	if (!tp_probe_stop)
		pthread_cond_timedwait(&tp_probe_cond, &tp_lock, &ts);
	stop = tp_probe_stop;
	pthread_mutex_unlock(&tp_lock);
	return stop;
}

/* A prober with those of idx[0..n) that can be added now; their indexes are moved to the front
 * of idx and counted in *added. NULL when none could be (or no prober). */
static th_prober *tp_prober_with(size_t *idx, size_t n, size_t *added, bool complain)
{
	th_prober *p = NULL;
	char err[TH_ERRLEN];

	*added = 0;
	if (th_prober_new(&p, tp_on_record, NULL, err) != TH_OK) {
		ERROR(TP_NAME " plugin: prober: %s", err);
		return NULL;
	}
	th_prober_set_log(p, tp_prober_log, NULL);
	for (size_t i = 0; i < n; i++) {
		size_t k = idx[i];

		if (th_prober_add(p, &tp_targets[k], err) != TH_OK) {
			if (complain)
				WARNING(TP_NAME " plugin: Target %s: %s (retrying every 30 s)",
				        tp_targets[k].probe.vm, err);
			continue;
		}
		idx[i] = idx[*added];
		idx[(*added)++] = k;
	}
	if (*added == 0) {
		th_prober_free(p);
		return NULL;
	}
	return p;
}

static void *tp_group_thread(void *arg)
{
	tp_group *g = arg;
	char err[TH_ERRLEN];

	for (;;) {
		th_prober *p = g->prober;
		bool stop;

		if (p != NULL && th_prober_run(p, 0, err) != TH_OK)
			WARNING(TP_NAME " plugin: prober of %zu target(s) stopped: %s (restarting)",
			        g->n, err);
		pthread_mutex_lock(&tp_lock);
		g->prober = NULL;
		stop = tp_probe_stop;
		pthread_mutex_unlock(&tp_lock);
		th_prober_free(p);
		if (stop || tp_probe_pause(1))
			break;
		size_t added;

		p = tp_prober_with(g->idx, g->n, &added, true);
		pthread_mutex_lock(&tp_lock);
		if (tp_probe_stop) {
			th_prober_free(p);
			p = NULL;
		}
		g->prober = p;
		pthread_mutex_unlock(&tp_lock);
	}
	return NULL;
}

/* Start a group with idx[0..n) (copied), which tp_prober_with() just gave prober p. */
static void tp_group_start(const size_t *idx, size_t n, th_prober *p)
{
	tp_group *g = &tp_groups[tp_ngroups];

	if ((g->idx = malloc(n * sizeof *g->idx)) == NULL) {
		th_prober_free(p);
		return;
	}
	memcpy(g->idx, idx, n * sizeof *idx);
	g->n = n;
	pthread_mutex_lock(&tp_lock);
	if (tp_probe_stop) {
		pthread_mutex_unlock(&tp_lock);
		th_prober_free(p);
		free(g->idx);
		return;
	}
	g->prober = p;
	pthread_mutex_unlock(&tp_lock);
	if (plugin_thread_create(&g->tid, tp_group_thread, g, "themis probe") != 0) {
		ERROR(TP_NAME " plugin: cannot start a probe thread.");
		th_prober_free(p);
		free(g->idx);
		return;
	}
	tp_ngroups++;
}

/* The retry loop: targets not yet in a group are tried every 30 s until all are. */
static void *tp_probe_thread(void *arg)
{
	size_t *wait = malloc(tp_ntargets * sizeof *wait), nwait = tp_ntargets;
	bool first = true;

	if (wait == NULL)
		return NULL;
	for (size_t i = 0; i < nwait; i++)
		wait[i] = i;
	while (nwait > 0) {
		size_t added;
		th_prober *p = tp_prober_with(wait, nwait, &added, first);

		first = false;
		if (p != NULL) {
			tp_group_start(wait, added, p);
			memmove(wait, wait + added, (nwait - added) * sizeof *wait);
			nwait -= added;
			if (nwait > 0)
				INFO(TP_NAME " plugin: %zu target(s) probing, %zu still retried.",
				     tp_ntargets - nwait, nwait);
		}
		if (nwait > 0 && tp_probe_pause(30))
			break;
	}
	free(wait);
	return NULL;
}

void tp_probe_shutdown(void)
{
	if (!tp_probe_running)
		return;
	pthread_mutex_lock(&tp_lock);
	tp_probe_stop = true;
	pthread_cond_broadcast(&tp_probe_cond);
	pthread_mutex_unlock(&tp_lock);
	pthread_join(tp_probe_tid, NULL); /* no group starts after this */
	pthread_mutex_lock(&tp_lock);
	for (size_t i = 0; i < tp_ngroups; i++)
		if (tp_groups[i].prober != NULL)
			th_prober_stop(tp_groups[i].prober);
	pthread_cond_broadcast(&tp_probe_cond);
	pthread_mutex_unlock(&tp_lock);
	for (size_t i = 0; i < tp_ngroups; i++) {
		pthread_join(tp_groups[i].tid, NULL);
		free(tp_groups[i].idx);
	}
	free(tp_groups);
	tp_groups = NULL;
	tp_ngroups = 0;
	tp_probe_running = false;
}

int tp_probe_start(void)
{
	if (tp_ntargets == 0)
		return 0;
	tp_cond_monotonic(&tp_probe_cond);
	tp_probe_stop = false;
	tp_ngroups = 0;
	if ((tp_groups = calloc(tp_ntargets, sizeof *tp_groups)) == NULL) {
		ERROR(TP_NAME " plugin: out of memory.");
		return -1;
	}
	if (plugin_thread_create(&tp_probe_tid, tp_probe_thread, NULL, "themis probe") != 0) {
		ERROR(TP_NAME " plugin: cannot start the probe thread.");
		return -1;
	}
	tp_probe_running = true;
	INFO(TP_NAME " plugin: probing %zu target(s) in the background.", tp_ntargets);
	return 0;
}
