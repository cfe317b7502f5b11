/* cycle.c — the measurement cycle. Ordering matters: stale agents are cleaned before anything
 * starts, the VM is moved back (unmeasured) when it is not on the source, the markers journal
 * is written before the plugin sees a marker, and the plugin's delivery never delays the
 * migration (it runs on its own thread). */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-cmd.h"
#include "cycle.h"
#include "exec-local.h"
#include "hv-events.h"
#include "hv-view.h"
#include "one-names.h"
#include "records-read.h"
#include "th-marker-json.h"
#include "th-session.h"
#include "th-summary.h"
#include "vm-state.h"

#define CYCLE_OUT_MAX (16 * 1024 * 1024)

static double cycle_now(const trig_ctx *c)
{
	return th_clock_to_epoch(&c->clk, th_mono_ns());
}

/* Sleep up to s seconds in short slices; false when a stop was requested. */
static void cycle_plugin_check(trig_ctx *c);

static bool cycle_sleep(trig_ctx *c, double s)
{
	int64_t end = th_mono_ns() + (int64_t)(s * TH_NS_PER_SEC);

	while (!*c->stop) {
		cycle_plugin_check(c);
		int64_t now = th_mono_ns(), next = now + 100 * TH_NS_PER_MS;
		if (now >= end)
			return true;
		th_sleep_until_ns(next < end ? next : end);
	}
	return false;
}

static void cycle_status(const trig_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The live line on a TTY (rewritten in place), plain lines otherwise; both on stderr. */
static void cycle_status(const trig_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->tty)
		fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!c->tty)
		fputc('\n', stderr);
	fflush(stderr);
}

static void cycle_note(const trig_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A line that stays (warnings, results): ends the live line first. */
static void cycle_note(const trig_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->tty)
		fputs("\r\033[K", stderr);
	fputs("themis-trigger: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Say when marker delivery to the plugin starts or stops failing (checked at every marker,
 * poll and sleep slice; the delivery itself runs on its own thread). */
static void cycle_plugin_check(trig_ctx *c)
{
	char why[TH_ERRLEN];
	bool failing = false;
	size_t pending;

	if (c->mp == NULL)
		return;
	pending = marker_post_pending(c->mp, &failing, why);
	if (failing && !c->mp_failing_shown)
		cycle_note(
		    c, "plugin unreachable (%s): %zu markers queued, retrying in the background",
		    why, pending);
	else if (!failing && c->mp_failing_shown)
		cycle_note(c, "plugin reachable again: queued markers delivered");
	c->mp_failing_shown = failing;
}

static void cycle_emit(trig_ctx *c, th_marker *m, const char *label)
{
	char err[TH_ERRLEN];
	char *json;
	size_t len;

	if (th_marker_to_json(m, &json, &len, err) != TH_OK) {
		cycle_note(c, "marker %s not written: %s", label, err);
		return;
	}
	if (c->journal.fd >= 0 && th_journal_append_line(&c->journal, json, len, err) != TH_OK)
		cycle_note(c, "%s", err);
	if (c->mp != NULL && marker_post_enqueue(c->mp, json, err) != TH_OK)
		cycle_note(c, "%s", err);
	free(json);
	cycle_plugin_check(c);
}

static void cycle_marker(trig_ctx *c, th_marker *m, th_event ev, int cycle, const char *session,
                         const char *src, const char *dst)
{
	memset(m, 0, sizeof *m);
	m->event = ev;
	snprintf(m->session, sizeof m->session, "%s", session);
	snprintf(m->definition, sizeof m->definition, "%s", c->o->definition);
	m->cycle = cycle;
	snprintf(m->vm, sizeof m->vm, "%s", c->vm_name);
	m->vm_id = c->vm_id;
	snprintf(m->src_host, sizeof m->src_host, "%s", src);
	snprintf(m->dst_host, sizeof m->dst_host, "%s", dst);
	m->t = cycle_now(c);
	m->origin = TH_ORIGIN_RUN;
	th_summary_init(&m->summary);
}

/* The definition's parameters for a session-start (DESIGN §5.2): the probe interval only when
 * the trigger's own prober measures (with --probe background the plugin's <Target> sets it;
 * without --supervisor nothing probes), the bandwidth only when the iperf3 load runs (not when
 * --bandwidth was ignored for want of iperf3), the others as given, absent when not given. */
static void cycle_params(const trig_ctx *c, th_params *p)
{
	const trig_opts *o = c->o;

	th_params_init(p);
	p->present = true;
	if (c->measure && !c->background)
		p->interval_ms = o->interval_ms;
	if (c->load)
		snprintf(p->bandwidth, sizeof p->bandwidth, "%s", o->bandwidth);
	p->live = o->live ? 1 : 0;
	p->cycles = o->cycles;
	snprintf(p->load, sizeof p->load, "%s", o->load);
	p->nmigration = o->nmigration;
	memcpy(p->migration, o->migration, sizeof p->migration);
	snprintf(p->description, sizeof p->description, "%s", o->description);
}

/* Run a command on the supervisor (local or SSH). */
static th_err cycle_sup(trig_ctx *c, const char *cmd, char *out, size_t outsz, char *errbuf)
{
	int status;
	th_err e = c->sup_local
	               ? exec_local(cmd, out, outsz, &status, c->o->ssh_timeout_s * 1000, errbuf)
	               : ssh_exec(&c->sup_ssh, cmd, out, outsz, &status, errbuf);

	if (e == TH_OK && status != 0)
		e = th_seterr(errbuf, TH_ERR_REMOTE, "supervisor command exited with status %d",
		              status);
	return e;
}

static th_err cycle_vm(trig_ctx *c, const char *cmd, char *errbuf)
{
	int status;
	th_err e = ssh_exec(&c->vm_ssh, cmd, NULL, 0, &status, errbuf);

	if (e == TH_OK && status != 0)
		e = th_seterr(errbuf, TH_ERR_REMOTE, "VM command exited with status %d", status);
	return e;
}

/* Agent path and remote directory on the supervisor. */
static agent_paths cycle_paths(const trig_ctx *c)
{
	agent_paths p;

	snprintf(p.agent, sizeof p.agent, "%s", c->o->agent_path);
	snprintf(p.dir, sizeof p.dir, "%s", c->o->remote_dir);
	snprintf(p.tag, sizeof p.tag, "%s", c->vm_name);
	return p;
}

/* The same on the VM (its agent may live elsewhere, e.g. in a guest image). */
static agent_paths cycle_vm_paths(const trig_ctx *c)
{
	agent_paths p = cycle_paths(c);

	snprintf(p.agent, sizeof p.agent, "%s", c->vm_agent);
	return p;
}

void cycle_stop_agents(trig_ctx *c)
{
	agent_paths p = cycle_paths(c);
	char cmd[1024];

	if (!c->measure)
		return;
	if (agent_cmd_clean(cmd, sizeof cmd, &p, "probe", NULL) == TH_OK)
		cycle_sup(c, cmd, NULL, 0, NULL);
	agent_paths vp = cycle_vm_paths(c);
	/* a reflector started by context is the guest's own: never stopped, never over SSH */
	if (!c->ctx_reflector && agent_cmd_clean(cmd, sizeof cmd, &vp, "reflect", NULL) == TH_OK)
		cycle_vm(c, cmd, NULL);
	if (c->load) {
		if (agent_cmd_clean(cmd, sizeof cmd, &p, "iperf", NULL) == TH_OK)
			cycle_sup(c, cmd, NULL, 0, NULL);
		if (agent_cmd_clean(cmd, sizeof cmd, &vp, "iperfd", NULL) == TH_OK)
			cycle_vm(c, cmd, NULL);
	}
}

/* The supervisor's key file when the supervisor is this machine: a new file, mode 0600. */
static th_err cycle_key_write_local(const char *path, const uint8_t *key, size_t len, char *errbuf)
{
	int fd;
	ssize_t n;

	if (unlink(path) != 0 && errno != ENOENT)
		return th_seterr(errbuf, TH_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return th_seterr(errbuf, TH_ERR_IO, "cannot create %s: %s", path, strerror(errno));
	n = fchmod(fd, 0600) == 0 ? write(fd, key, len) : -1;
	if (n != (ssize_t)len) {
		const char *why = n < 0 ? strerror(errno) : "short write";

		close(fd);
		unlink(path);
		return th_seterr(errbuf, TH_ERR_IO, "cannot write %s: %s", path, why);
	}
	if (close(fd) != 0) {
		unlink(path);
		return th_seterr(errbuf, TH_ERR_IO, "cannot write %s: %s", path, strerror(errno));
	}
	return TH_OK;
}

/* Send the key to role's key file on the host t (status non-zero: not written whole). */
static th_err cycle_key_send(const ssh_target *t, const agent_paths *p, const char *role,
                             const uint8_t *key, size_t len, char *errbuf)
{
	char cmd[1024];
	int status = -1;
	th_err e = agent_cmd_key_install(cmd, sizeof cmd, p, role, len, errbuf);

	if (e != TH_OK)
		return e;
	if ((e = ssh_exec_in(t, cmd, key, len, NULL, 0, &status, errbuf)) != TH_OK)
		return e;
	if (status != 0)
		return th_seterr(errbuf, TH_ERR_REMOTE,
		                 "the command writing it exited with status %d", status);
	return TH_OK;
}

/* The prober's key file on the supervisor (same path and mode for a fresh or a context key). */
static th_err cycle_key_sup(trig_ctx *c, const uint8_t *key, size_t len, char *errbuf)
{
	agent_paths p = cycle_paths(c);
	char sub[TH_ERRLEN], path[512];
	th_err e;

	if ((e = agent_key_path(path, sizeof path, &p, "probe", errbuf)) != TH_OK)
		return e;
	snprintf(c->key_sup, sizeof c->key_sup, "%s", path);
	e = c->sup_local ? cycle_key_write_local(path, key, len, sub)
	                 : cycle_key_send(&c->sup_ssh, &p, "probe", key, len, sub);
	if (e != TH_OK)
		e = th_seterr(errbuf, e, "supervisor %s: cannot install the probe key %s: %s",
		              c->o->supervisor, path, sub);
	return e;
}

th_err cycle_keys_install(trig_ctx *c, char *errbuf)
{
	agent_paths vp = cycle_vm_paths(c);
	uint8_t key[CYCLE_KEY_LEN];
	char sub[TH_ERRLEN], path[512];
	th_err e;

	if (!c->measure || c->background || c->o->no_auth)
		return TH_OK;
	if (c->ctx_reflector) {
		if (c->ctx_key_len == 0)
			return TH_OK;
		return cycle_key_sup(c, c->ctx_key, c->ctx_key_len, errbuf);
	}
	if (sodium_init() < 0)
		return th_seterr(errbuf, TH_ERR_IO, "libsodium did not initialise: no probe key");
	randombytes_buf(key, sizeof key);
	if ((e = agent_key_path(path, sizeof path, &vp, "reflect", errbuf)) != TH_OK)
		goto out;
	/* named before it is written: a half-done install is removed too */
	snprintf(c->key_vm, sizeof c->key_vm, "%s", path);
	if ((e = cycle_key_send(&c->vm_ssh, &vp, "reflect", key, sizeof key, sub)) != TH_OK) {
		e = th_seterr(errbuf, e, "VM %s: cannot install the probe key %s: %s", c->vm_name,
		              path, sub);
		goto out;
	}
	e = cycle_key_sup(c, key, sizeof key, errbuf);
out:
	sodium_memzero(key, sizeof key);
	return e;
}

void cycle_keys_remove(trig_ctx *c)
{
	agent_paths p = cycle_paths(c), vp = cycle_vm_paths(c);
	char cmd[1024];

	if (c->key_vm[0] != '\0' &&
	    agent_cmd_key_remove(cmd, sizeof cmd, &vp, "reflect", NULL) == TH_OK)
		cycle_vm(c, cmd, NULL);
	if (c->key_sup[0] != '\0') {
		if (c->sup_local)
			unlink(c->key_sup);
		else if (agent_cmd_key_remove(cmd, sizeof cmd, &p, "probe", NULL) == TH_OK)
			cycle_sup(c, cmd, NULL, 0, NULL);
	}
	c->key_vm[0] = c->key_sup[0] = '\0';
}

/* True when the records in text hold a second with at least one echo. */
static bool cycle_echoes_seen(const char *text)
{
	th_record *recs = NULL;
	size_t n = 0;
	bool seen = false;

	if (records_read(text, &recs, &n, NULL, NULL) != TH_OK)
		return false;
	for (size_t i = 0; i < n && !seen; i++)
		seen = recs[i].kind == TH_REC_SECOND && recs[i].u.second.received > 0;
	free(recs);
	return seen;
}

th_err cycle_context_check(trig_ctx *c, double wait_s, char *errbuf)
{
	agent_paths p = cycle_paths(c);
	char session[TH_SESSION_MAX], cmd[2048], sub[TH_ERRLEN];
	char *out = malloc(CYCLE_OUT_MAX);
	int64_t end = th_mono_ns() + (int64_t)(wait_s * TH_NS_PER_SEC);
	bool seen = false;
	th_err e;

	if (out == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory checking the reflector");
	if ((e = th_session_id_make(session, c->o->definition, c->run_wall_ns, c->run_rnd, 0,
	                            errbuf)) != TH_OK ||
	    (e = agent_cmd_probe(cmd, sizeof cmd, &p, c->vm_addr, c->reflect_port, c->vm_name,
	                         c->o->interval_ms, session, "", NULL, NULL, c->key_sup, errbuf)) !=
	        TH_OK)
		goto out;
	if ((e = cycle_sup(c, cmd, NULL, 0, sub)) != TH_OK) {
		e = th_seterr(errbuf, e, "supervisor: cannot start the prober checking VM %s: %s",
		              c->vm_name, sub);
		goto out;
	}
	cycle_status(c, "checking the reflector started by context on VM %s (%s, UDP port %d)",
	             c->vm_name, c->vm_addr, c->reflect_port);
	/* the prober writes a second once its probes' loss timeout has passed: poll its tail */
	while (!seen && !*c->stop && th_mono_ns() < end) {
		if (!cycle_sleep(c, 0.5))
			break;
		if (agent_cmd_tail(cmd, sizeof cmd, &p, session, 20, sub) == TH_OK &&
		    cycle_sup(c, cmd, out, CYCLE_OUT_MAX, sub) == TH_OK)
			seen = cycle_echoes_seen(out);
	}
	/* stop the check's prober and remove its file; its final records count too */
	if (agent_cmd_collect(cmd, sizeof cmd, &p, session, 5, sub) == TH_OK &&
	    cycle_sup(c, cmd, out, CYCLE_OUT_MAX, sub) == TH_OK && !seen)
		seen = cycle_echoes_seen(out);
	if (*c->stop)
		e = th_seterr(errbuf, TH_ERR_STATE, "interrupted while checking the reflector");
	else if (!seen)
		e = th_seterr(
		    errbuf, TH_ERR_REMOTE,
		    "VM %s: the reflector started by context (THEMIS_TYPE=VM) does not "
		    "answer at %s UDP port %d within %.0f s%s: check themis-context in the "
		    "guest (/var/log/themis-reflector.log or journalctl -u "
		    "themis-reflector), the port and the key",
		    c->vm_name, c->vm_addr, c->reflect_port, wait_s,
		    c->key_sup[0] ? " (keyed probes)" : " (unauthenticated probes)");
out:
	free(out);
	return e;
}

/* Start the reflector on the VM; when it dies at once, its own message says why. */
static th_err cycle_reflect_start(trig_ctx *c, char *errbuf)
{
	agent_paths vp = cycle_vm_paths(c);
	char cmd[2048], out[1024];
	int status = -1;
	th_err e =
	    agent_cmd_reflect(cmd, sizeof cmd, &vp, "0.0.0.0", c->reflect_port, c->key_vm, errbuf);

	if (e != TH_OK ||
	    (e = ssh_exec(&c->vm_ssh, cmd, out, sizeof out, &status, errbuf)) != TH_OK)
		return e;
	if (status == 4) {
		size_t n = strlen(out);

		while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
			out[--n] = '\0';
		for (char *q = out; *q; q++)
			if (*q == '\n' || *q == '\r')
				*q = ' ';
		return th_seterr(errbuf, TH_ERR_REMOTE, "the reflector on VM %s did not start: %s",
		                 c->vm_name, out[0] ? out : "(no message)");
	}
	if (status != 0)
		return th_seterr(errbuf, TH_ERR_REMOTE, "VM command exited with status %d", status);
	return TH_OK;
}

/* The --bandwidth load: iperf3 server on the VM, themis-agent iperf on the supervisor. A load
 * that cannot start is reported and the cycle goes on without it. */
static void cycle_load_start(trig_ctx *c, const char *session, const char *url)
{
	const trig_opts *o = c->o;
	agent_paths p = cycle_paths(c);
	char cmd[2048], err[TH_ERRLEN];
	int status = -1;
	int seconds = (int)ceil(o->warmup_s + o->timeout_s + o->cooldown_s + o->grace_s + 5);

	agent_paths vp = cycle_vm_paths(c);

	if (agent_cmd_iperf_server(cmd, sizeof cmd, &vp, o->iperf_port, err) != TH_OK ||
	    ssh_exec(&c->vm_ssh, cmd, NULL, 0, &status, err) != TH_OK) {
		cycle_note(c, "--bandwidth: cannot start iperf3 on the VM: %s", err);
		return;
	}
	if (status == 3) {
		cycle_note(c, "--bandwidth: no iperf3 on the VM; no load this cycle");
		return;
	}
	cycle_sleep(c, 0.3); /* the server must listen before the client connects */
	agent_tls tls = trig_opts_prober_tls(o);

	if (agent_cmd_iperf_client(cmd, sizeof cmd, &p, c->vm_addr, o->iperf_port, c->vm_name,
	                           o->bandwidth, seconds, session, url, o->supervisor_token_file,
	                           &tls, err) != TH_OK ||
	    cycle_sup(c, cmd, NULL, 0, err) != TH_OK)
		cycle_note(c, "--bandwidth: cannot start themis-agent iperf: %s", err);
}

/* On a TTY: the prober's latest second (lost/sent) and the longest outage since t_req, read from
 * the tail of its report file; "" when unknown. At most one read per second. */
static void cycle_live_loss(trig_ctx *c, const char *session, double t_req, char *buf, size_t size)
{
	agent_paths p = cycle_paths(c);
	char cmd[600], out[8192], err[TH_ERRLEN];
	th_record *recs = NULL;
	size_t n = 0;
	const th_second *last = NULL;
	double worst = 0;

	if (!c->tty || !c->measure || session == NULL)
		return;
	if (agent_cmd_tail(cmd, sizeof cmd, &p, session, 40, err) != TH_OK ||
	    cycle_sup(c, cmd, out, sizeof out, err) != TH_OK ||
	    records_read(out, &recs, &n, NULL, err) != TH_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].kind == TH_REC_SECOND)
			last = &recs[i].u.second;
		else if (recs[i].kind == TH_REC_OUTAGE && recs[i].u.outage.end >= t_req &&
		         recs[i].u.outage.duration_ms > worst)
			worst = recs[i].u.outage.duration_ms;
	}
	if (last != NULL)
		snprintf(buf, size, ", loss %u/%u in the last second",
		         last->lost_up + last->lost_down + last->lost_unknown, last->sent);
	if (worst > 0)
		snprintf(buf + strlen(buf), size - strlen(buf), ", outage %.0f ms", worst);
	free(recs);
}

/* Poll until the migration from baseline b is final, the timeout passes or a stop arrives.
 * started_cb is called once when OpenNebula is seen starting. */
static mig_phase cycle_poll(trig_ctx *c, const mig_baseline *b, int64_t t0_ns, mig_verdict *v,
                            bool *aborted, void (*started_cb)(trig_ctx *, void *), void *arg,
                            const char *label, const char *session, double t_req)
{
	char live[128] = "";
	int64_t live_next = 0;
	bool started = false;
	mig_phase shown = 0;
	int64_t period = (int64_t)(c->o->poll_ms * TH_NS_PER_MS);
	int64_t next = th_mono_ns();
	char err[TH_ERRLEN];
	int errors = 0;

	*aborted = false;
	for (;;) {
		one_vm vm;
		th_err e;
		double elapsed;

		next += period;
		while (th_mono_ns() < next) {
			if (*c->stop) {
				*aborted = true;
				return v->phase;
			}
			int64_t slice = th_mono_ns() + 50 * TH_NS_PER_MS;
			th_sleep_until_ns(slice < next ? slice : next);
		}
		e = one_vm_info(c->one, c->vm_id, &vm, err);
		elapsed = (double)(th_mono_ns() - t0_ns) / TH_NS_PER_SEC;
		if (e == TH_ERR_NOTFOUND) {
			mig_observe(b, NULL, elapsed, c->o->timeout_s, v);
		} else if (e != TH_OK) {
			/* a transport hiccup is not the VM's fault: keep polling until the timeout
			 */
			if (errors++ == 0)
				cycle_note(c, "%s (still polling)", err);
			if (elapsed >= c->o->timeout_s) {
				memset(v, 0, sizeof *v);
				v->phase = MIG_TIMEOUT;
				snprintf(v->message, sizeof v->message,
				         "no answer from OpenNebula for %.0f s: %s", elapsed, err);
				return v->phase;
			}
			continue;
		} else {
			mig_observe(b, &vm, elapsed, c->o->timeout_s, v);
			one_vm_free(&vm);
		}
		cycle_plugin_check(c);
		if (v->started && !started) {
			started = true;
			if (started_cb != NULL)
				started_cb(c, arg);
		}
		/* the live line every poll; plain output only when the phase changes */
		if (c->tty && th_mono_ns() >= live_next) {
			live[0] = '\0';
			cycle_live_loss(c, session, t_req, live, sizeof live);
			live_next = th_mono_ns() + TH_NS_PER_SEC;
		}
		if (c->tty || v->phase != shown)
			cycle_status(c, "%s %s %.1f s%s", label, mig_phase_name(v->phase), elapsed,
			             c->tty ? live : "");
		shown = v->phase;
		if (mig_phase_final(v->phase))
			return v->phase;
	}
}

/* Unmeasured migration back to the source host. */
static th_err cycle_move(trig_ctx *c, int hid, const char *host, char *errbuf)
{
	one_vm vm;
	mig_baseline b;
	mig_verdict v;
	bool aborted;
	th_err e = one_vm_info(c->one, c->vm_id, &vm, errbuf);
	const one_history *last;

	if (e != TH_OK)
		return e;
	last = one_vm_last(&vm);
	if (last != NULL && last->hid == hid && vm.state == ONE_VM_ACTIVE &&
	    vm.lcm_state == ONE_LCM_RUNNING) {
		one_vm_free(&vm);
		return TH_OK;
	}
	e = mig_baseline_take(&b, &vm, hid, errbuf);
	one_vm_free(&vm);
	if (e != TH_OK)
		return e;
	cycle_note(c, "VM %s is on %s: moving it to %s first (not measured)", c->vm_name,
	           last != NULL ? last->hostname : "?", host);
	e = one_vm_migrate(c->one, c->vm_id, hid, c->o->live, trig_opts_mtype(c->o), NULL, errbuf);
	if (e != TH_OK)
		return e;
	cycle_poll(c, &b, th_mono_ns(), &v, &aborted, NULL, NULL, "move back:", NULL, 0);
	if (aborted)
		return th_seterr(errbuf, TH_ERR_STATE, "interrupted while moving the VM back");
	if (v.phase != MIG_SUCCESS)
		return th_seterr(errbuf, TH_ERR_STATE, "moving VM %s back to %s: %s%s%s",
		                 c->vm_name, host, mig_phase_name(v.phase),
		                 v.message[0] ? ": " : "", v.message);
	return TH_OK;
}

typedef struct cycle_started {
	int cycle;
	const char *session, *src, *dst;
} cycle_started;

static void cycle_on_started(trig_ctx *c, void *arg)
{
	cycle_started *s = arg;
	th_marker m;

	cycle_marker(c, &m, TH_EV_MIGRATION_START, s->cycle, s->session, s->src, s->dst);
	cycle_emit(c, &m, "migration-start");
}

static void cycle_hv(trig_ctx *c, const char *session, const char *src, const char *dst,
                     th_summary *s)
{
	char cmd[2048], out[8192], err[TH_ERRLEN];
	double dt, total;
	int status = -1;
	th_err e;

	if (c->o->hv_command[0] == '\0')
		return;
	if (hv_expand(c->o->hv_command, cmd, sizeof cmd, c->vm_name, c->vm_id, src, dst, session,
	              err) != TH_OK) {
		cycle_note(c, "%s", err);
		return;
	}
	if (strcmp(c->o->hv_where, "local") == 0) {
		e = exec_local(cmd, out, sizeof out, &status, c->o->ssh_timeout_s * 1000, err);
	} else {
		ssh_target t = c->vm_ssh;
		snprintf(t.host, sizeof t.host, "%s",
		         strcmp(c->o->hv_where, "src") == 0 ? src : dst);
		snprintf(t.user, sizeof t.user, "%s", c->o->host_user);
		t.port = 22;
		e = ssh_exec(&t, cmd, out, sizeof out, &status, err);
	}
	if (e == TH_OK && status != 0)
		e = th_seterr(err, TH_ERR_REMOTE, "--hv-command exited with status %d", status);
	if (e == TH_OK)
		e = hv_parse(out, &dt, &total, err);
	if (e != TH_OK) {
		cycle_note(c, "hypervisor view: %s", err);
		return;
	}
	th_summary_set_hv(s, dt, total);
}

/* --hv-events: the command for one side runs detached where --hv-where says (local, or on that
 * side's host over SSH), from before the request until migration-end + --hv-events-grace. */
typedef struct cycle_hvev {
	bool started[2];
	char host[2][TH_NAME_MAX];
	hv_events *ev[2]; /* NULL: nothing usable came */
} cycle_hvev;

static th_err cycle_hvev_exec(trig_ctx *c, hv_side side, const char *host, const char *cmd,
                              char *out, size_t outsz, char *errbuf)
{
	int status = -1;
	th_err e;

	if (strcmp(c->o->hv_where, "local") == 0) {
		e = exec_local(cmd, out, outsz, &status, c->o->ssh_timeout_s * 1000, errbuf);
	} else {
		ssh_target t = c->vm_ssh;
		snprintf(t.host, sizeof t.host, "%s", host);
		snprintf(t.user, sizeof t.user, "%s", c->o->host_user);
		t.port = 22;
		e = ssh_exec(&t, cmd, out, outsz, &status, errbuf);
	}
	if (e == TH_OK && status != 0)
		e = th_seterr(errbuf, TH_ERR_REMOTE, "exited with status %d", status);
	(void)side;
	return e;
}

static void cycle_hvev_start(trig_ctx *c, cycle_hvev *h, const char *src, const char *dst)
{
	agent_paths p = cycle_paths(c);
	char cmd[1024], line[6144], err[TH_ERRLEN];

	memset(h, 0, sizeof *h);
	if (c->o->hv_events[0] == '\0')
		return;
	for (int i = 0; i < 2; i++) {
		hv_side side = i == 0 ? HV_SIDE_SRC : HV_SIDE_DST;
		const char *host = i == 0 ? src : dst;

		snprintf(h->host[i], sizeof h->host[i], "%s", host);
		if (hv_events_expand(c->o->hv_events, cmd, sizeof cmd, c->vm_name, c->vm_id, host,
		                     side, err) != TH_OK ||
		    hv_events_cmd_start(line, sizeof line, &p, side, cmd, err) != TH_OK ||
		    cycle_hvev_exec(c, side, host, line, NULL, 0, err) != TH_OK) {
			cycle_note(c, "--hv-events for the %s (%s): cannot start \"%s\": %s",
			           i == 0 ? "source" : "destination", host, c->o->hv_events, err);
			continue;
		}
		h->started[i] = true;
	}
}

/* Stop both sides and parse what they printed; a side that printed nothing usable is named in
 * a warning and left out. */
static void cycle_hvev_stop(trig_ctx *c, cycle_hvev *h, double t_end)
{
	agent_paths p = cycle_paths(c);
	char line[2048], err[TH_ERRLEN];
	char *out;

	if (!h->started[0] && !h->started[1])
		return;
	if (isfinite(t_end) && cycle_now(c) < t_end + c->o->hv_events_grace_s)
		cycle_sleep(c, t_end + c->o->hv_events_grace_s - cycle_now(c));
	out = malloc(HV_EVENTS_OUT_MAX + 2048);
	for (int i = 0; i < 2 && out != NULL; i++) {
		hv_side side = i == 0 ? HV_SIDE_SRC : HV_SIDE_DST;
		const char *what = i == 0 ? "source" : "destination";
		char *sep, *stderr_text = "";

		if (!h->started[i])
			continue;
		if (hv_events_cmd_stop(line, sizeof line, &p, side, 2, err) != TH_OK ||
		    cycle_hvev_exec(c, side, h->host[i], line, out, HV_EVENTS_OUT_MAX + 2048,
		                    err) != TH_OK) {
			cycle_note(c, "--hv-events for the %s (%s): cannot read its output: %s",
			           what, h->host[i], err);
			continue;
		}
		sep = strstr(out, HV_EVENTS_ERR_SEP "\n");
		if (sep != NULL) {
			*sep = '\0';
			stderr_text = sep + strlen(HV_EVENTS_ERR_SEP) + 1;
			stderr_text[strcspn(stderr_text, "\r\n")] = '\0';
		}
		h->ev[i] = malloc(sizeof *h->ev[i]);
		if (h->ev[i] == NULL)
			break;
		if (hv_events_parse(out, strlen(out), side, h->ev[i], err) != TH_OK) {
			cycle_note(c, "--hv-events for the %s (%s): \"%s\" gave %s%s%s", what,
			           h->host[i], c->o->hv_events, err,
			           stderr_text[0] ? "; stderr: " : "", stderr_text);
			free(h->ev[i]);
			h->ev[i] = NULL;
		}
	}
	free(out);
}

static void cycle_hvev_free(cycle_hvev *h)
{
	free(h->ev[0]);
	free(h->ev[1]);
	h->ev[0] = h->ev[1] = NULL;
}

/* One hv-* marker: the hypervisor's own time, host and source, the clock bound of that host. */
static void cycle_hv_marker(trig_ctx *c, th_event ev, const hv_event *e, const char *host,
                            int cycle, const char *session, const char *src, const char *dst,
                            const char *label)
{
	th_marker m;

	cycle_marker(c, &m, ev, cycle, session, src, dst);
	m.t = e->t;
	snprintf(m.hv_status, sizeof m.hv_status, "%s", e->status);
	snprintf(m.hv_host, sizeof m.hv_host, "%s", host);
	snprintf(m.hv_source, sizeof m.hv_source, "%s", e->source);
	m.clock_bound_ms = c->o->hv_clock_bound_ms;
	cycle_emit(c, &m, label);
}

/* After migration-end, before session-end: the hypervisor's status changes, its pause and its
 * resume as markers (only events inside the session: from t_open on), and the outage o (the
 * one downtime_ms names, NULL = none) decomposed against them. */
static void cycle_hv_markers(trig_ctx *c, const cycle_hvev *h, int cycle, const char *session,
                             const char *src, const char *dst, double t_open, const th_outage *o,
                             th_summary *s)
{
	const hv_event *pause, *resume;
	double now = cycle_now(c);

	if (h->ev[0] == NULL && h->ev[1] == NULL)
		return;
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; h->ev[i] != NULL && k < h->ev[i]->n; k++) {
			const hv_event *e = &h->ev[i]->ev[k];

			if (e->kind == HV_EV_STATUS && e->t >= t_open && e->t <= now)
				cycle_hv_marker(c, TH_EV_HV_STATUS, e, h->host[i], cycle, session,
				                src, dst, "hv-status");
		}
	hv_events_pick(h->ev[0], h->ev[1], &pause, &resume);
	if (pause != NULL && !(pause->t >= t_open && pause->t <= now))
		pause = NULL;
	if (resume != NULL && !(resume->t >= t_open && resume->t <= now))
		resume = NULL;
	if (pause != NULL)
		cycle_hv_marker(c, TH_EV_HV_PAUSE, pause, h->host[0], cycle, session, src, dst,
		                "hv-pause");
	if (resume != NULL)
		cycle_hv_marker(c, TH_EV_HV_RESUME, resume, h->host[1], cycle, session, src, dst,
		                "hv-resume");
	if (pause == NULL || resume == NULL)
		cycle_note(c, "cycle %d: hypervisor events without a %s", cycle,
		           pause == NULL ? "pause on the source" : "resume on the destination");
	th_summary_decompose(s, o, pause != NULL ? pause->t : NAN, resume != NULL ? resume->t : NAN,
	                     c->o->hv_clock_bound_ms);
}

th_err cycle_run(trig_ctx *c, int cycle, int src_hid, const char *src, int dst_hid, const char *dst,
                 cycle_result *r, char *errbuf)
{
	const trig_opts *o = c->o;
	agent_paths paths = cycle_paths(c), vpaths = cycle_vm_paths(c);
	char session[TH_SESSION_MAX], cmd[2048], err[TH_ERRLEN], label[TH_NAME_MAX * 2 + 64];
	char *out = NULL;
	th_marker m;
	one_vm vm;
	mig_baseline b;
	mig_verdict v;
	bool aborted = false, agents = false;
	double t_req = NAN, t_end = NAN;
	cycle_hvev hv = {{false, false}, {"", ""}, {NULL, NULL}};
	th_outage dt_outage; /* the outage downtime_ms names, when have_outage */
	bool have_outage = false;
	double t_open;
	int64_t t0_ns;
	th_err e;

	memset(r, 0, sizeof *r);
	r->cycle = cycle;
	snprintf(r->src, sizeof r->src, "%s", src);
	snprintf(r->dst, sizeof r->dst, "%s", dst);
	th_summary_init(&r->s);
	if ((e = th_session_id_make(session, o->definition, c->run_wall_ns, c->run_rnd, cycle,
	                            errbuf)) != TH_OK)
		return e;
	snprintf(r->session, sizeof r->session, "%s", session);
	snprintf(label, sizeof label, "cycle %d/%d %s -> %s:", cycle, o->cycles, src, dst);

	/* 1. stale agents, then the VM onto the source host */
	cycle_stop_agents(c);
	e = cycle_move(c, src_hid, src, errbuf);
	if (e != TH_OK)
		return e;
	/* a cold migration powered the guest off: its context brings the reflector up again at
	 * boot, so a later cycle waits (up to --timeout) until it answers */
	if (c->ctx_reflector && c->measure && !o->live && cycle > 1 &&
	    (e = cycle_context_check(c, o->timeout_s, errbuf)) != TH_OK)
		return e;

	cycle_marker(c, &m, TH_EV_SESSION_START, cycle, session, src, dst);
	if (o->description[0] != '\0')
		snprintf(m.message, sizeof m.message, "%s", o->description);
	cycle_params(c, &m.params);
	t_open = m.t;
	cycle_emit(c, &m, "session-start");
	cycle_status(c, "%s session %s started", label, session);

	/* 2. agents: reflector on the VM, prober on the supervisor */
	if (c->measure) {
		char url[600] = "";
		if (o->plugin_url[0] != '\0' &&
		    marker_post_url(o->plugin_url, "/v1/records", url, sizeof url, err) != TH_OK)
			url[0] = '\0';
		/* a reflector started by context runs already (after a cold migration: again,
		 * since the guest booted; cycle_run checked it answers) */
		if (!c->ctx_reflector && (e = cycle_reflect_start(c, errbuf)) != TH_OK)
			goto setup_failed;
		agent_tls tls = trig_opts_prober_tls(o);

		if ((e = agent_cmd_probe(cmd, sizeof cmd, &paths, c->vm_addr, c->reflect_port,
		                         c->vm_name, o->interval_ms, session, url,
		                         o->supervisor_token_file, &tls, c->key_sup, errbuf)) !=
		        TH_OK ||
		    (e = cycle_sup(c, cmd, NULL, 0, errbuf)) != TH_OK)
			goto setup_failed;
		agents = true;
		if (c->load)
			cycle_load_start(c, session, url);
	}
	cycle_status(c, "%s warm-up %.1f s", label, o->warmup_s);
	if (!cycle_sleep(c, o->warmup_s)) {
		aborted = true;
		goto finish;
	}

	/* 3. baseline, request, poll */
	if ((e = one_vm_info(c->one, c->vm_id, &vm, errbuf)) != TH_OK)
		goto setup_failed;
	e = mig_baseline_take(&b, &vm, dst_hid, errbuf);
	one_vm_free(&vm);
	if (e != TH_OK)
		goto setup_failed;
	/* the hypervisor's events: listening before the request */
	cycle_hvev_start(c, &hv, src, dst);
	cycle_marker(c, &m, TH_EV_MIGRATION_REQUEST, cycle, session, src, dst);
	t_req = m.t;
	t0_ns = th_mono_ns();
	cycle_emit(c, &m, "migration-request");
	e = one_vm_migrate(c->one, c->vm_id, dst_hid, o->live, trig_opts_mtype(o), NULL, err);
	if (e != TH_OK) {
		/* refused: the cycle failed, the run goes on */
		memset(&v, 0, sizeof v);
		v.phase = MIG_FAILED;
		snprintf(v.message, sizeof v.message, "%s", err);
	} else {
		cycle_started st = {cycle, session, src, dst};
		cycle_poll(c, &b, t0_ns, &v, &aborted, cycle_on_started, &st, label, session,
		           t_req);
		if (aborted)
			goto finish;
	}
	t_end = cycle_now(c);
	r->s.outcome = mig_phase_outcome(v.phase);
	snprintf(r->message, sizeof r->message, "%s", v.message);
	th_summary_set_one(&r->s, v.stime, v.rstime, v.etime);
	cycle_marker(c, &m, TH_EV_MIGRATION_END, cycle, session, src, dst);
	m.t = t_end;
	m.outcome = r->s.outcome;
	snprintf(m.message, sizeof m.message, "%s", v.message);
	cycle_emit(c, &m, "migration-end");
	cycle_status(c, "%s %s", label, th_outcome_name(r->s.outcome));

	/* 4. cool-down covers the grace period of the window */
	if (!cycle_sleep(c, o->cooldown_s > o->grace_s ? o->cooldown_s : o->grace_s))
		aborted = true;

finish:
	if (aborted)
		r->s.outcome = TH_OUT_ABORTED;
	/* 5. agents down, records back */
	if (agents) {
		out = malloc(CYCLE_OUT_MAX);
		if (out != NULL &&
		    agent_cmd_collect(cmd, sizeof cmd, &paths, session, 5, err) == TH_OK &&
		    cycle_sup(c, cmd, out, CYCLE_OUT_MAX, err) == TH_OK) {
			th_record *recs = NULL;
			size_t n = 0, skipped = 0;
			if (records_read(out, &recs, &n, &skipped, err) == TH_OK) {
				if (isfinite(t_req) && isfinite(t_end)) {
					const th_outage *dto;

					th_summary_network(&r->s, recs, n, c->vm_name, t_req,
					                   t_end + o->grace_s, NULL);
					dto = th_summary_downtime_outage(recs, n, c->vm_name, t_req,
					                                 t_end + o->grace_s);
					if (dto != NULL) {
						dt_outage = *dto;
						have_outage = true;
					}
				}
				if (n == 0)
					cycle_note(c, "cycle %d: the prober reported no records",
					           cycle);
				free(recs);
			}
		} else {
			cycle_note(c, "cycle %d: cannot collect the prober's records: %s", cycle,
			           err);
		}
		free(out);
		if (!c->ctx_reflector &&
		    agent_cmd_clean(cmd, sizeof cmd, &vpaths, "reflect", NULL) == TH_OK &&
		    cycle_vm(c, cmd, err) != TH_OK)
			cycle_note(c, "cycle %d: stopping the reflector: %s", cycle, err);
		if (c->load) {
			if (agent_cmd_clean(cmd, sizeof cmd, &paths, "iperf", NULL) == TH_OK)
				cycle_sup(c, cmd, NULL, 0, NULL);
			if (agent_cmd_clean(cmd, sizeof cmd, &vpaths, "iperfd", NULL) == TH_OK)
				cycle_vm(c, cmd, NULL);
		}
	}
	if (!aborted && isfinite(t_end))
		cycle_hv(c, session, src, dst, &r->s);
	cycle_hvev_stop(c, &hv, t_end);
	if (!aborted)
		cycle_hv_markers(c, &hv, cycle, session, src, dst, t_open,
		                 have_outage ? &dt_outage : NULL, &r->s);
	cycle_hvev_free(&hv);

	/* 6. session-end with the summary */
	cycle_marker(c, &m, TH_EV_SESSION_END, cycle, session, src, dst);
	m.outcome = r->s.outcome;
	m.summary = r->s;
	if (aborted)
		snprintf(m.message, sizeof m.message, "interrupted by a signal");
	cycle_emit(c, &m, "session-end");
	if (aborted && r->message[0] == '\0')
		snprintf(r->message, sizeof r->message, "interrupted by a signal");
	if (c->tty)
		fputs("\r\033[K", stderr);
	return TH_OK;

setup_failed:
	/* the session was opened: close it so the archive does not stay open */
	cycle_stop_agents(c);
	cycle_marker(c, &m, TH_EV_SESSION_END, cycle, session, src, dst);
	m.outcome = TH_OUT_ABORTED;
	r->s.outcome = TH_OUT_ABORTED;
	m.summary = r->s;
	snprintf(m.message, sizeof m.message, "%s", errbuf != NULL ? errbuf : "setup failed");
	cycle_emit(c, &m, "session-end");
	return e;
}
