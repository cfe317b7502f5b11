/* watch-core.c — sessions from history records (contract C2, notes §3.5–3.7 and §4.5). The
 * verdict on the newest migration of a document is vm-state.c's (mig_observe), the same rules
 * `run` applies; an older migration, one the document shows already followed by more records,
 * is judged from its records alone (RSTIME set: success; closed without running: failed). */
#include "themis-config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "one-names.h"
#include "th-session.h"
#include "th-summary.h"
#include "vm-state.h"
#include "watch-core.h"

#define WC_ROOM_PER_PAIR 5 /* a cooling session closed + four markers of a new one */

void wc_vm_init(wc_vm *w, int id, const char *name)
{
	memset(w, 0, sizeof *w);
	w->id = id;
	snprintf(w->name, sizeof w->name, "%s", name != NULL ? name : "");
}

void wc_sig_of(wc_sig *s, const one_vm *vm)
{
	const one_history *last = one_vm_last(vm);

	memset(s, 0, sizeof *s);
	s->state = vm->state;
	s->lcm = vm->lcm_state;
	s->seq = s->hid = -1;
	if (last != NULL) {
		s->seq = last->seq;
		s->hid = last->hid;
		s->stime = last->stime;
		s->rstime = last->rstime;
		s->etime = last->etime;
	}
}

bool wc_sig_changed(const wc_sig *s, const one_vm *vm)
{
	wc_sig now;

	wc_sig_of(&now, vm);
	return memcmp(&now, s, sizeof now) != 0;
}

bool wc_busy(const wc_vm *w)
{
	return w->phase != WC_IDLE;
}

static bool wc_mig_action(int a)
{
	return a == 1 || a == 2 || a == 48 || a == 49; /* migrate, live-migrate, poweroff(-hard) */
}

/* Live or cold from the history ACTION of the pair (notes §3.4–3.6): record k carries
 * live-migrate (2) from the LCM's start; a cold migration's migrate, poweroff-migrate or
 * poweroff-hard-migrate (1, 48, 49) is on both records. 1 live, 0 cold, -1 not known. */
static int wc_live(const one_history *r0, const one_history *r1)
{
	int a = wc_mig_action(r0->action) ? r0->action : r1->action;

	if (a == 2)
		return 1;
	return wc_mig_action(a) ? 0 : -1;
}

/* LCM states of a migration under way (live, cold from RUNNING/POWEROFF/SUSPENDED/UNKNOWN). */
static bool wc_lcm_migrating(int lcm, bool boot_too)
{
	switch (lcm) {
	case ONE_LCM_MIGRATE:
	case ONE_LCM_SAVE_MIGRATE:
	case ONE_LCM_PROLOG_MIGRATE:
	case ONE_LCM_BOOT_MIGRATE:
	case ONE_LCM_PROLOG_MIGRATE_POWEROFF:
	case ONE_LCM_PROLOG_MIGRATE_SUSPEND:
	case ONE_LCM_PROLOG_MIGRATE_UNKNOWN:
		return true;
	case ONE_LCM_BOOT: /* the last step of poweroff-migrate: a migration only if one began */
		return boot_too;
	default:
		return false;
	}
}

static void wc_marker(const wc_vm *w, wc_out *out, th_event ev, double t)
{
	th_marker *m;

	if (out->n >= WC_OUT_MAX)
		return; /* callers keep WC_ROOM_PER_PAIR free before starting a session */
	m = &out->m[out->n++];
	memset(m, 0, sizeof *m);
	m->event = ev;
	snprintf(m->session, sizeof m->session, "%s", w->session);
	snprintf(m->definition, sizeof m->definition, "watch");
	m->cycle = -1;
	snprintf(m->vm, sizeof m->vm, "%s", w->name);
	m->vm_id = w->id;
	snprintf(m->src_host, sizeof m->src_host, "%s", w->src);
	snprintf(m->dst_host, sizeof m->dst_host, "%s", w->dst);
	m->t = t;
	m->origin = TH_ORIGIN_OBSERVED;
	th_summary_init(&m->summary);
}

/* session-end at t with the outcome so far. */
static void wc_close(wc_vm *w, double t, wc_out *out)
{
	wc_marker(w, out, TH_EV_SESSION_END, t);
	th_marker *m = &out->m[out->n - 1];
	m->outcome = w->outcome;
	m->summary.outcome = w->outcome;
	th_summary_set_one(&m->summary, w->stime, w->rstime, w->etime);
	if (w->outcome == TH_OUT_ABORTED)
		snprintf(m->message, sizeof m->message, "%s", w->message);
	w->phase = WC_IDLE;
}

/* migration-end at t; the session-end follows at once when its time has come. */
static void wc_end(wc_vm *w, const wc_conf *c, th_outcome o, double t, const char *msg, double now,
                   wc_out *out)
{
	w->outcome = o;
	snprintf(w->message, sizeof w->message, "%s", msg != NULL ? msg : "");
	wc_marker(w, out, TH_EV_MIGRATION_END, t);
	th_marker *m = &out->m[out->n - 1];
	m->outcome = o;
	snprintf(m->message, sizeof m->message, "%s", w->message);
	w->phase = WC_COOLING;
	w->t_mig_end = t;
	w->t_close = t + c->cooldown_s;
	if (w->next_seq < w->s0 + 1)
		w->next_seq = w->s0 + 1;
	if (now >= w->t_close)
		wc_close(w, w->t_close, out);
}

static int64_t wc_pos(int64_t t)
{
	return t > 0 ? t : 0;
}

/* Where the session's migration (records s0, s0+1) stands in vm. */
static void wc_update(wc_vm *w, const wc_conf *c, const one_vm *vm, double now, wc_out *out)
{
	const one_history *r0 = one_vm_seq(vm, w->s0), *r1 = one_vm_seq(vm, w->s0 + 1);
	const one_history *r2 = one_vm_seq(vm, w->s0 + 2), *last = one_vm_last(vm);
	bool newest, moving;
	char msg[512];

	if (r0 == NULL || r1 == NULL || last == NULL)
		return;
	w->stime = wc_pos(r1->stime) > 0 ? r1->stime : w->stime;
	w->rstime = wc_pos(r1->rstime);
	w->etime = wc_pos(r1->etime);
	newest = r1->seq == last->seq ||
	         (r2 != NULL && r2->seq == last->seq && r2->hid == r0->hid && r1->rstime <= 0);
	/* RSTIME alone is not the end of a cold migration (it marks the prolog's end), nor of
	 * one stuck in a *_FAILURE state: the newest migration's LCM state has the last word */
	moving = vm->state == ONE_VM_ACTIVE &&
	         (wc_lcm_migrating(vm->lcm_state, true) || mig_lcm_failure(vm->lcm_state));
	if (r1->rstime > 0 && r0->etime > 0 && !(newest && moving)) {
		wc_end(w, c, TH_OUT_SUCCESS, (double)r1->rstime, NULL, now, out);
		return;
	}
	if (!newest) {
		/* followed by more records: it is over, and it did not run on the destination */
		if (vm->error[0] != '\0' && strcmp(vm->error, w->error0) != 0)
			snprintf(msg, sizeof msg, "%s", vm->error);
		else
			snprintf(msg, sizeof msg,
			         "OpenNebula closed the destination record without running the VM "
			         "there");
		wc_end(w, c, TH_OUT_FAILED, r1->etime > 0 ? (double)r1->etime : now, msg, now, out);
		return;
	}
	mig_baseline b;
	mig_verdict v;

	memset(&b, 0, sizeof b);
	b.s0 = w->s0;
	b.src_hid = r0->hid;
	b.dst_hid = r1->hid;
	snprintf(b.error0, sizeof b.error0, "%s", w->error0);
	mig_observe(&b, vm, now - (double)w->stime, c->timeout_s, &v);
	switch (v.phase) {
	case MIG_SUCCESS:
		wc_end(w, c, TH_OUT_SUCCESS, (double)(v.rstime > 0 ? v.rstime : r1->rstime), NULL,
		       now, out);
		break;
	case MIG_FAILED:
		wc_end(w, c, TH_OUT_FAILED, r1->etime > 0 ? (double)r1->etime : now, v.message, now,
		       out);
		break;
	case MIG_TIMEOUT:
	case MIG_LOST:
		wc_end(w, c, mig_phase_outcome(v.phase), now, v.message, now, out);
		break;
	default:
		break; /* still migrating */
	}
}

/* Open a session for the pair (k, k+1) whose record k+1 started at r1->stime. */
static void wc_open(wc_vm *w, const wc_conf *c, const one_history *r0, const one_history *r1,
                    uint32_t rnd, double now, wc_out *out)
{
	if (w->phase == WC_COOLING) {
		/* a new migration during the cool-down: the first session ends when it starts */
		double t = w->t_close < (double)r1->stime ? w->t_close : (double)r1->stime;
		wc_close(w, t > w->t_mig_end ? t : w->t_mig_end, out);
	}
	(void)now;
	if (th_session_id_make(w->session, "watch", (int64_t)r1->stime * 1000000000LL, rnd, 0,
	                       NULL) != TH_OK)
		snprintf(w->session, sizeof w->session, "watch.%lld.%08x.c0", (long long)r1->stime,
		         (unsigned)rnd);
	w->phase = WC_MIGRATING;
	w->s0 = r0->seq;
	w->src_hid = r0->hid;
	w->dst_hid = r1->hid;
	snprintf(w->src, sizeof w->src, "%s", r0->hostname);
	snprintf(w->dst, sizeof w->dst, "%s", r1->hostname);
	snprintf(w->error0, sizeof w->error0, "%s", w->error_prev);
	w->stime = r1->stime;
	w->rstime = w->etime = 0;
	w->outcome = TH_OUT_NONE;
	w->message[0] = '\0';
	wc_marker(w, out, TH_EV_SESSION_START, (double)r1->stime - c->lead_s);
	/* an observed session's params hold only what OpenNebula says: live or cold */
	if (out->n > 0 && out->m[out->n - 1].event == TH_EV_SESSION_START) {
		th_params *p = &out->m[out->n - 1].params;

		th_params_init(p);
		p->live = wc_live(r0, r1);
		p->present = p->live >= 0;
	}
	wc_marker(w, out, TH_EV_MIGRATION_START, (double)r1->stime);
}

/* Is (r0, r1) a migration? */
static bool wc_is_pair(const one_vm *vm, const one_history *r0, const one_history *r1, bool newest)
{
	if (wc_mig_action(r0->action) && r0->rstime > 0)
		return true;
	return newest && vm->state == ONE_VM_ACTIVE &&
	       wc_lcm_migrating(vm->lcm_state, wc_mig_action(r1->action));
}

bool wc_observe(wc_vm *w, const wc_conf *c, const one_vm *vm, double now, uint32_t rnd, wc_out *out)
{
	const one_history *last = one_vm_last(vm);
	bool priming = !w->primed, more = false;

	if (w->phase == WC_IDLE && vm->name[0] != '\0')
		snprintf(w->name, sizeof w->name, "%s", vm->name);
	if (last == NULL)
		goto done;
	if (w->primed &&
	    (last->seq < w->next_seq || (w->phase == WC_MIGRATING && last->seq < w->s0 + 1)))
		return false; /* an older document than one already seen (a late event) */
	w->primed = true;
	if (w->phase == WC_MIGRATING) {
		wc_update(w, c, vm, now, out);
		if (w->phase == WC_MIGRATING)
			goto done;
	}
	for (int k = w->next_seq; k < last->seq; k++) {
		const one_history *r0 = one_vm_seq(vm, k), *r1 = one_vm_seq(vm, k + 1);
		bool newest = k + 1 == last->seq;

		if (r0 == NULL || r1 == NULL || !wc_is_pair(vm, r0, r1, newest)) {
			if (!newest)
				w->next_seq = k + 1;
			continue;
		}
		if (r1->stime <= 0)
			break; /* accepted, not started: wait for OpenNebula's STIME */
		if (priming && (double)r1->stime < c->t_start - c->lead_s &&
		    !(newest && vm->state == ONE_VM_ACTIVE &&
		      wc_lcm_migrating(vm->lcm_state, true))) {
			w->next_seq = k + 1; /* history from before the watcher */
			continue;
		}
		if (WC_OUT_MAX - out->n < WC_ROOM_PER_PAIR) {
			more = true;
			break;
		}
		wc_open(w, c, r0, r1, rnd ^ (uint32_t)k, now, out);
		wc_update(w, c, vm, now, out);
		if (w->phase == WC_MIGRATING)
			break;
	}
done:
	if (!more)
		snprintf(w->error_prev, sizeof w->error_prev, "%s", vm->error);
	return more;
}

void wc_gone(wc_vm *w, const wc_conf *c, double now, wc_out *out)
{
	if (w->phase == WC_MIGRATING)
		wc_end(w, c, TH_OUT_LOST, now,
		       "VM no longer exists in OpenNebula (one.vm.info: NO_EXISTS)", now, out);
}

void wc_tick(wc_vm *w, const wc_conf *c, double now, wc_out *out)
{
	char msg[512];

	if (w->phase == WC_MIGRATING && c->timeout_s > 0 &&
	    now - (double)w->stime >= c->timeout_s) {
		snprintf(msg, sizeof msg,
		         "still migrating %.0f s after OpenNebula's STIME (timeout %.0f s); "
		         "OpenNebula has no cancel: resolve with 'onevm recover'",
		         now - (double)w->stime, c->timeout_s);
		wc_end(w, c, TH_OUT_TIMEOUT, now, msg, now, out);
	}
	if (w->phase == WC_COOLING && now >= w->t_close)
		wc_close(w, w->t_close, out);
}

void wc_shutdown(wc_vm *w, double now, wc_out *out)
{
	if (w->phase == WC_COOLING) {
		wc_close(w,
		         now < w->t_close ? (now > w->t_mig_end ? now : w->t_mig_end) : w->t_close,
		         out);
	} else if (w->phase == WC_MIGRATING) {
		w->outcome = TH_OUT_ABORTED;
		snprintf(w->message, sizeof w->message,
		         "the watcher stopped while the migration was still in progress");
		wc_close(w, now, out);
	}
}
