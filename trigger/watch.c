/* watch.c — the watcher's I/O around watch-core.c: the ZeroMQ subscription, the polls, the
 * tracked-VM table, the markers journal and the plugin queue, the log lines, shutdown.
 *
 * Which documents are fetched: a poll reads one.vmpool.info (short bodies: no times, no custom
 * template keys), then one.vm.info for a tracked VM only when its state, LCM state or newest
 * history record differs from the last full document, or while one of its sessions is open;
 * an untracked VM's THEMIS_TYPE is read (one.vm.info) when it first appears and again every
 * WATCH_RECHECK_S. An event's <VM> document is used as it is when it holds every history
 * record the state machine needs, else it prompts a one.vm.info. */
#include "themis-config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "hook-msg.h"
#include "marker-post.h"
#include "one-names.h"
#include "th-journal.h"
#include "th-marker-json.h"
#include "th-name.h"
#include "th-session.h"
#include "th-time.h"
#include "watch-core.h"
#include "watch.h"

#define WATCH_ZMQ_MAXMSG ((int64_t)HOOK_MSG_B64_MAX * 2) /* libzmq drops a peer beyond this */
#define WATCH_SLICE_MS   200

typedef struct wt_vm {
	wc_vm core;
	bool known;     /* a full document was seen: tracked is decided */
	bool tracked;   /* sessions are made for it */
	bool listed;    /* named by --vm */
	bool in_pool;   /* seen in the last pool */
	double checked; /* wall time of the last full document */
	wc_sig sig;     /* of the last full document */
} wt_vm;

typedef struct watch {
	const trig_opts *o;
	one_client *one;
	volatile sig_atomic_t *stop;
	wc_conf conf;
	wt_vm *vms;
	size_t n, cap;
	bool listed_only;
	th_journal journal;
	marker_post *mp;
	bool mp_failing, queue_full;
	size_t not_queued;
	bool one_failing;
	/* refused events: counted, and said at most every 10 s */
	size_t ev_bad;
	double ev_bad_said;
	size_t events, polls;
	size_t opened, closed;
} watch;

static void wt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void wt_log(const char *fmt, ...)
{
	va_list ap;

	fputs("themis-trigger: watch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static double wt_now(void)
{
	return (double)th_wall_ns() / TH_NS_PER_SEC;
}

static void wt_stamp(double t, char *buf, size_t size)
{
	time_t s = (time_t)floor(t);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static wt_vm *wt_find(watch *w, int id)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->vms[i].core.id == id)
			return &w->vms[i];
	return NULL;
}

static wt_vm *wt_add(watch *w, int id, const char *name)
{
	wt_vm *v = wt_find(w, id);

	if (v != NULL)
		return v;
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 16;
		wt_vm *nv = realloc(w->vms, ncap * sizeof *nv);
		if (nv == NULL)
			return NULL;
		w->vms = nv;
		w->cap = ncap;
	}
	v = &w->vms[w->n++];
	memset(v, 0, sizeof *v);
	wc_vm_init(&v->core, id, name);
	v->sig.seq = v->sig.hid = -1;
	return v;
}

/* Say when delivery to the plugin starts or stops failing. */
static void wt_plugin_check(watch *w)
{
	char why[TH_ERRLEN];
	bool failing = false;
	size_t pending;

	if (w->mp == NULL)
		return;
	pending = marker_post_pending(w->mp, &failing, why);
	if (failing && !w->mp_failing)
		wt_log("plugin unreachable (%s): %zu markers queued, retrying in the background",
		       why, pending);
	else if (!failing && w->mp_failing)
		wt_log("plugin reachable again: queued markers delivered");
	w->mp_failing = failing;
	if (w->queue_full && pending < WATCH_QUEUE_MAX / 2) {
		wt_log("plugin queue below %d markers again; %zu markers were not queued (they are "
		       "in the journal%s%s)",
		       WATCH_QUEUE_MAX / 2, w->not_queued, w->o->markers[0] ? " " : "",
		       w->o->markers);
		w->queue_full = false;
		w->not_queued = 0;
	}
}

static void wt_say(watch *w, const th_marker *m)
{
	char when[32];

	switch (m->event) {
	case TH_EV_SESSION_START:
		wt_stamp(m->t + w->conf.lead_s, when, sizeof when);
		wt_log("VM %s (%d): session %s opened: %s -> %s, migrating since %s", m->vm,
		       m->vm_id, m->session, m->src_host, m->dst_host, when);
		w->opened++;
		break;
	case TH_EV_MIGRATION_END:
		wt_log("VM %s (%d): migration %s -> %s ended: %s%s%s", m->vm, m->vm_id, m->src_host,
		       m->dst_host, th_outcome_name(m->outcome), m->message[0] ? ": " : "",
		       m->message);
		break;
	case TH_EV_SESSION_END:
		wt_log("VM %s (%d): session %s closed: %s%s%s", m->vm, m->vm_id, m->session,
		       th_outcome_name(m->outcome), m->message[0] ? ": " : "", m->message);
		w->closed++;
		break;
	default:
		break;
	}
}

/* Journal every marker, then queue them for the plugin in one batch. */
static void wt_emit(watch *w, wc_out *out)
{
	char *json[WC_OUT_MAX];
	size_t nj = 0;
	char err[TH_ERRLEN];

	for (size_t i = 0; i < out->n; i++) {
		size_t len;

		wt_say(w, &out->m[i]);
		if (th_marker_to_json(&out->m[i], &json[nj], &len, err) != TH_OK) {
			wt_log("marker not written: %s", err);
			continue;
		}
		if (w->journal.fd >= 0 &&
		    th_journal_append_line(&w->journal, json[nj], len, err) != TH_OK)
			wt_log("%s", err);
		nj++;
	}
	out->n = 0;
	if (w->mp != NULL && nj > 0) {
		size_t pending = marker_post_pending(w->mp, NULL, NULL);

		if (pending + nj > WATCH_QUEUE_MAX) {
			if (!w->queue_full)
				wt_log(
				    "plugin queue full (%d markers): new markers go to the journal "
				    "only until it drains",
				    WATCH_QUEUE_MAX);
			w->queue_full = true;
			w->not_queued += nj;
		} else if (marker_post_enqueue_batch(w->mp, (const char *const *)json, nj, err) !=
		           TH_OK) {
			wt_log("%s", err);
		}
	}
	for (size_t i = 0; i < nj; i++)
		free(json[i]);
	wt_plugin_check(w);
}

/* A full document of VM v: decide tracking, feed the state machine. */
static void wt_feed(watch *w, wt_vm *v, const one_vm *doc)
{
	double now = wt_now();
	const one_history *last = one_vm_last(doc);
	wc_out out;

	v->checked = now;
	if (!v->tracked) {
		bool want = w->o->all || v->listed || strcmp(doc->themis_type, "VM") == 0;

		if (w->listed_only && !v->listed)
			want = false;
		if (want && !th_name_ok(doc->name)) {
			if (!v->known)
				wt_log(
				    "VM %d: its name \"%.64s\" is not a valid name (th-name rule): "
				    "not watched (rename it)",
				    doc->id, doc->name);
			want = false;
		}
		v->known = true;
		if (!want)
			return;
		v->tracked = true;
		wt_log("watching VM %s (%d), %s on %s", doc->name, doc->id,
		       one_vm_display_state(doc->state, doc->lcm_state),
		       last != NULL ? last->hostname : "no host");
	}
	v->known = true;
	wc_sig_of(&v->sig, doc);
	out.n = 0;
	while (wc_observe(&v->core, &w->conf, doc, now, th_session_random(), &out))
		wt_emit(w, &out);
	wc_tick(&v->core, &w->conf, now, &out);
	wt_emit(w, &out);
}

/* one.vm.info of v, fed; a VM gone from OpenNebula ends its migrating session lost. */
static void wt_fetch(watch *w, wt_vm *v)
{
	one_vm doc;
	char err[TH_ERRLEN];
	th_err e = one_vm_info(w->one, v->core.id, &doc, err);
	wc_out out;

	if (e == TH_ERR_NOTFOUND) {
		out.n = 0;
		wc_gone(&v->core, &w->conf, wt_now(), &out);
		wt_emit(w, &out);
		v->in_pool = false;
		return;
	}
	if (e != TH_OK) {
		if (!w->one_failing)
			wt_log("%s (will retry)", err);
		w->one_failing = true;
		return;
	}
	wt_feed(w, v, &doc);
	one_vm_free(&doc);
}

static void wt_poll(watch *w)
{
	one_vm *pool = NULL;
	size_t n = 0;
	char err[TH_ERRLEN];
	double now = wt_now();

	w->polls++;
	if (one_vm_pool(w->one, &pool, &n, err) != TH_OK) {
		if (!w->one_failing)
			wt_log("%s (will retry)", err);
		w->one_failing = true;
		return;
	}
	if (w->one_failing)
		wt_log("OpenNebula answers again");
	w->one_failing = false;
	for (size_t i = 0; i < w->n; i++)
		w->vms[i].in_pool = false;
	for (size_t i = 0; i < n && !*w->stop; i++) {
		wt_vm *v = wt_find(w, pool[i].id);

		if (v == NULL && w->listed_only)
			continue;
		if (v == NULL && (v = wt_add(w, pool[i].id, pool[i].name)) == NULL) {
			wt_log("out of memory for VM %d", pool[i].id);
			continue;
		}
		v->in_pool = true;
		if (!v->known ||
		    (v->tracked &&
		     (!v->core.primed || wc_busy(&v->core) || wc_sig_changed(&v->sig, &pool[i]))) ||
		    (!v->tracked && !v->listed && !w->listed_only &&
		     now - v->checked >= WATCH_RECHECK_S))
			wt_fetch(w, v);
	}
	one_vm_array_free(pool, n);
	/* tracked VMs the pool no longer lists (DONE or purged) */
	for (size_t i = 0; i < w->n && !*w->stop; i++)
		if (!w->vms[i].in_pool && w->vms[i].tracked && wc_busy(&w->vms[i].core))
			wt_fetch(w, &w->vms[i]);
}

/* Every history record the state machine will look at is in doc. */
static bool wt_doc_complete(const wt_vm *v, const one_vm *doc)
{
	const one_history *last = one_vm_last(doc);
	int from;

	if (!v->core.primed || last == NULL)
		return false;
	from = v->core.phase == WC_MIGRATING ? v->core.s0 : v->core.next_seq;
	for (int s = from; s <= last->seq; s++)
		if (one_vm_seq(doc, s) == NULL)
			return false;
	return true;
}

static void wt_bad_event(watch *w, const char *what)
{
	double now = wt_now();

	w->ev_bad++;
	if (now - w->ev_bad_said >= 10) {
		wt_log("event skipped (%zu so far; polls catch up): %s", w->ev_bad, what);
		w->ev_bad_said = now;
	}
}

/* One message (key + body) from the socket. */
static void wt_event(watch *w, const char *key, size_t klen, const char *body, size_t blen)
{
	hook_key k;
	hook_msg m;
	char err[TH_ERRLEN];
	th_err e = hook_key_parse(key, klen, &k, err);
	wt_vm *v;

	if (e == TH_ERR_NOTFOUND)
		return; /* another object's event */
	if (e != TH_OK) {
		wt_bad_event(w, err);
		return;
	}
	w->events++;
	v = wt_find(w, k.vm_id);
	if (v != NULL && v->known && !v->tracked &&
	    (w->listed_only || wt_now() - v->checked < WATCH_RECHECK_S))
		return; /* not watched, and its template was read lately */
	if (v == NULL && w->listed_only)
		return;
	e = hook_msg_parse(body, blen, &m, err);
	if (e != TH_OK) {
		char what[TH_ERRLEN + 32];

		snprintf(what, sizeof what, "VM %d: %s", k.vm_id, err);
		wt_bad_event(w, what);
		return;
	}
	if (m.vm.id != k.vm_id) {
		char what[128];

		snprintf(what, sizeof what, "key names VM %d, message VM %d", k.vm_id, m.vm.id);
		wt_bad_event(w, what);
		hook_msg_free(&m);
		return;
	}
	if (v == NULL && (v = wt_add(w, m.vm.id, m.vm.name)) == NULL) {
		hook_msg_free(&m);
		return;
	}
	if (v->tracked && !wt_doc_complete(v, &m.vm))
		wt_fetch(w, v);
	else if (!v->tracked && !v->known)
		wt_fetch(w, v); /* the first look: the full record, not the event's copy */
	else
		wt_feed(w, v, &m.vm);
	hook_msg_free(&m);
}

/* Read what the socket holds (at most 256 messages per call). */
static void wt_drain(watch *w, void *sub)
{
	for (int i = 0; i < 256 && !*w->stop; i++) {
		zmq_msg_t key, body;
		int more = 0;
		size_t ml = sizeof more;

		zmq_msg_init(&key);
		if (zmq_msg_recv(&key, sub, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&key);
			return;
		}
		zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
		if (!more) {
			wt_bad_event(w, "a message of one frame (expected key and body)");
			zmq_msg_close(&key);
			continue;
		}
		zmq_msg_init(&body);
		zmq_msg_recv(&body, sub, 0);
		zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
		if (more) {
			/* more frames than oned sends: drop the rest of the message */
			while (more) {
				zmq_msg_t extra;
				zmq_msg_init(&extra);
				zmq_msg_recv(&extra, sub, 0);
				zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
				zmq_msg_close(&extra);
			}
			wt_bad_event(w, "a message of more than two frames");
		} else {
			wt_event(w, zmq_msg_data(&key), zmq_msg_size(&key), zmq_msg_data(&body),
			         zmq_msg_size(&body));
		}
		zmq_msg_close(&key);
		zmq_msg_close(&body);
	}
}

static int wt_subscribe(watch *w, void **ctx, void **sub)
{
	int64_t maxmsg = WATCH_ZMQ_MAXMSG;
	int linger = 0;

	*ctx = NULL;
	*sub = NULL;
	if (strcmp(w->o->events, "none") == 0)
		return 0;
	*ctx = zmq_ctx_new();
	*sub = *ctx != NULL ? zmq_socket(*ctx, ZMQ_SUB) : NULL;
	if (*sub == NULL ||
	    zmq_setsockopt(*sub, ZMQ_SUBSCRIBE, HOOK_VM_PREFIX, strlen(HOOK_VM_PREFIX)) != 0 ||
	    zmq_setsockopt(*sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
	    zmq_setsockopt(*sub, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    zmq_connect(*sub, w->o->events) != 0) {
		fprintf(stderr, "themis-trigger: --events %s: %s\n", w->o->events,
		        zmq_strerror(zmq_errno()));
		if (*sub != NULL)
			zmq_close(*sub);
		if (*ctx != NULL)
			zmq_ctx_term(*ctx);
		*ctx = *sub = NULL;
		return -1;
	}
	return 0;
}

/* --vm ID|NAME, each: resolved now; an unknown VM is a setup error. */
static int wt_listed(watch *w)
{
	char list[sizeof w->o->vm_list], *save = NULL, err[TH_ERRLEN], name[TH_NAME_MAX];

	snprintf(list, sizeof list, "%s", w->o->vm_list);
	for (char *s = strtok_r(list, "\n", &save); s != NULL; s = strtok_r(NULL, "\n", &save)) {
		int id;
		wt_vm *v;

		if (one_vm_lookup(w->one, s, &id, name, sizeof name, err) != TH_OK) {
			fprintf(stderr, "themis-trigger: %s\n", err);
			return -1;
		}
		if ((v = wt_add(w, id, name)) == NULL) {
			fprintf(stderr, "themis-trigger: out of memory\n");
			return -1;
		}
		v->listed = true;
		w->listed_only = true;
	}
	return 0;
}

static void wt_wait(watch *w, void *sub, int64_t until_ns)
{
	int64_t now = th_mono_ns(), slice = now + WATCH_SLICE_MS * TH_NS_PER_MS;
	int64_t end = until_ns < slice ? until_ns : slice;
	long ms = (long)((end - now + TH_NS_PER_MS - 1) / TH_NS_PER_MS);

	if (ms < 0)
		ms = 0;
	if (sub != NULL) {
		zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
		int rc = zmq_poll(&it, 1, ms);
		if (rc > 0 && (it.revents & ZMQ_POLLIN))
			wt_drain(w, sub);
	} else if (end > now) {
		th_sleep_until_ns(end);
	}
}

static void wt_shutdown(watch *w)
{
	double now = wt_now();
	size_t open = 0;

	for (size_t i = 0; i < w->n; i++) {
		wc_out out;

		out.n = 0;
		open += wc_busy(&w->vms[i].core);
		wc_shutdown(&w->vms[i].core, now, &out);
		wt_emit(w, &out);
	}
	if (open > 0)
		wt_log("%zu open sessions closed at shutdown", open);
}

int watch_run(const trig_opts *o, one_client *one, const char *token, volatile sig_atomic_t *stop)
{
	watch w;
	char err[TH_ERRLEN];
	void *ctx = NULL, *sub = NULL;
	int64_t next_poll;
	int rc = 0;

	memset(&w, 0, sizeof w);
	w.o = o;
	w.one = one;
	w.stop = stop;
	w.journal.fd = -1;
	w.conf.lead_s = o->lead_s;
	w.conf.cooldown_s = o->cooldown_s;
	w.conf.timeout_s = o->timeout_s;
	w.conf.t_start = wt_now();
	if (wt_listed(&w) != 0)
		goto setup;
	if (o->markers[0] != '\0' && th_journal_open(&w.journal, o->markers, err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		goto setup;
	}
	if (o->plugin_url[0] != '\0') {
		marker_post_tls tls = {o->cacert, o->cert, o->key};

		if (marker_post_start(&w.mp, o->plugin_url, token, &tls, err) != TH_OK) {
			fprintf(stderr, "themis-trigger: %s\n", err);
			goto setup;
		}
	}
	if (!o->once && wt_subscribe(&w, &ctx, &sub) != 0)
		goto setup;
	snprintf(err, sizeof err,
	         o->once         ? "once"
	         : o->poll_s > 0 ? "every %.0f s"
	                         : "at start only",
	         o->poll_s);
	wt_log("%s; events %s, poll %s, lead %.0f s, cool-down %.0f s, timeout %.0f s",
	       o->all          ? "every VM"
	       : w.listed_only ? "the VMs named by --vm"
	                       : "VMs with THEMIS_TYPE=VM",
	       o->once ? "off (--once)" : o->events, err, o->lead_s, o->cooldown_s, o->timeout_s);
	next_poll = th_mono_ns();
	while (!*stop) {
		if (th_mono_ns() >= next_poll) {
			wt_poll(&w);
			if (o->once)
				break;
			next_poll = o->poll_s > 0
			                ? th_mono_ns() + (int64_t)(o->poll_s * TH_NS_PER_SEC)
			                : INT64_MAX;
		}
		for (size_t i = 0; i < w.n; i++) {
			wc_out out;
			out.n = 0;
			wc_tick(&w.vms[i].core, &w.conf, wt_now(), &out);
			wt_emit(&w, &out);
		}
		wt_plugin_check(&w);
		wt_wait(&w, sub, next_poll);
	}
	wt_shutdown(&w);
	goto out;
setup:
	rc = 2;
out:
	if (sub != NULL)
		zmq_close(sub);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	if (w.mp != NULL) {
		size_t left = marker_post_stop(w.mp, *stop ? 3000 : 5000);
		if (left > 0)
			wt_log(
			    "%zu markers not delivered to the plugin (they are in the journal%s%s)",
			    left, o->markers[0] ? " " : "", o->markers);
	}
	if (rc == 0)
		wt_log("stopped: %zu polls, %zu events (%zu skipped), %zu sessions opened, %zu "
		       "closed",
		       w.polls, w.events, w.ev_bad, w.opened, w.closed);
	th_journal_close(&w.journal);
	free(w.vms);
	return rc;
}
