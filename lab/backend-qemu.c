/* backend-qemu.c — the real hypervisor backend: a migration starts an incoming QEMU on the
 * destination host (through the lab's hook program, which knows namespaces, taps and the QEMU
 * command line), migrates over the source's QMP socket, waits for the destination to run and
 * quits the source. The outcome is QEMU's own. Injected faults act on the real processes: fail
 * kills the destination mid-migration, lose kills both. Each migration's QEMU figures are
 * written to <info_dir>/<vm>.migration (last) and appended to <info_dir>/<vm>.migrations.
 * Before each migration the VM's parameters (<qmp_dir>/<vm>.migrate-params, written by
 * `themis-lab migrate-params`; QEMU's defaults when absent) are set on the source with
 * migrate-set-parameters and the values in effect are read back into that line.
 */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "one-backend.h"
#include "qmp-info.h"
#include "qmp.h"
#include "th-exec.h"
#include "th-time.h"

#define QEMU_HOOK_TIMEOUT_MS    120000
#define QEMU_QMP_TIMEOUT_MS     10000
#define QEMU_MIGRATE_TIMEOUT_MS 600000
#define QEMU_POLL_MS            20

typedef struct qemu_ctx {
	char hook[1024];
	char qmp_dir[1024];
	char info_dir[1024];
} qemu_ctx;

/* Runs `hook verb vm host`; first line of its stdout into out (may be NULL). */
static th_err qemu_hook(qemu_ctx *c, const char *verb, const char *vm, const char *host, char *out,
                        size_t outlen, char *errbuf)
{
	char *const argv[] = {c->hook, (char *)verb, (char *)vm, (char *)host, NULL};
	char buf[512];
	int status;
	th_err e = th_exec(argv, 0, QEMU_HOOK_TIMEOUT_MS, buf, sizeof buf, &status, errbuf);

	if (e == TH_ERR_TIMEOUT)
		return th_seterr(errbuf, e, "%s %s %s %s: no answer in %d s", c->hook, verb, vm,
		                 host, QEMU_HOOK_TIMEOUT_MS / 1000);
	if (e != TH_OK)
		return e;
	if (status != 0)
		return th_seterr(errbuf, TH_ERR_REMOTE, "%s %s %s %s failed (status %d)", c->hook,
		                 verb, vm, host, status);
	if (out != NULL) {
		size_t l = strcspn(buf, "\r\n");

		if (l >= outlen)
			l = outlen - 1;
		memcpy(out, buf, l);
		out[l] = '\0';
	}
	return TH_OK;
}

static void qemu_sock(const qemu_ctx *c, const char *vm, const char *host, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s.%s.qmp", c->qmp_dir, vm, host);
}

static void qemu_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Last migration's figures: <vm>.migration (replaced) and <vm>.migrations (appended); the
 * parameters in effect (pm, -1 = unknown) after them. */
static void qemu_write_info(qemu_ctx *c, const one_migration *mig, const qmp_migration *qm,
                            long wall_ms, long t0, const qmp_mig_params *pm)
{
	char line[1024], figures[512], params[128] = "", path[2048], tmp[2100];
	FILE *f;

	qmp_migration_format(figures, sizeof figures, qm);
	if (pm->max_bandwidth >= 0 && pm->downtime_limit >= 0)
		snprintf(params, sizeof params, " max_bandwidth=%lld downtime_limit=%ld",
		         pm->max_bandwidth, pm->downtime_limit);
	snprintf(line, sizeof line, "vm=%s src=%s dst=%s start=%ld %s wall_ms=%ld%s\n",
	         mig->vm_name, mig->src_host, mig->dst_host, t0, figures, wall_ms, params);
	snprintf(path, sizeof path, "%s/%s.migration", c->info_dir, mig->vm_name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f != NULL) {
		fputs(line, f);
		if (fclose(f) == 0)
			rename(tmp, path);
	}
	snprintf(path, sizeof path, "%s/%s.migrations", c->info_dir, mig->vm_name);
	f = fopen(path, "a");
	if (f != NULL) {
		fputs(line, f);
		fclose(f);
	}
}

/* Waits until the destination QEMU runs the guest (cold: resumes it). */
static th_err qemu_wait_running(const char *sock, int live, char *errbuf)
{
	int64_t deadline = th_mono_ns() + 30 * TH_NS_PER_SEC;
	qmp *q = NULL;
	th_err e = qmp_open(sock, QEMU_QMP_TIMEOUT_MS, &q, errbuf);

	while (e == TH_OK) {
		yajl_val r = NULL;
		const char *st;
		int running, paused;

		e = qmp_exec(q, "query-status", NULL, QEMU_QMP_TIMEOUT_MS, &r, errbuf);
		if (e != TH_OK)
			break;
		st = qmp_run_status(qmp_return(r));
		running = st != NULL && strcmp(st, "running") == 0;
		paused = st != NULL && strcmp(st, "paused") == 0;
		yajl_tree_free(r);
		if (running)
			break;
		if (paused && !live) {
			e = qmp_exec(q, "cont", NULL, QEMU_QMP_TIMEOUT_MS, NULL, errbuf);
			continue;
		}
		if (th_mono_ns() > deadline) {
			e = th_seterr(errbuf, TH_ERR_TIMEOUT,
			              "destination %s not running 30 s after migration", sock);
			break;
		}
		qemu_sleep_ms(QEMU_POLL_MS);
	}
	qmp_close(q);
	return e;
}

/* A slow migration says why on stderr (the endpoint's log) every 2 s. */
static void qemu_log_progress(const one_migration *mig, yajl_val ret)
{
	const char *p_rem[] = {"ram", "remaining", NULL}, *p_mbps[] = {"ram", "mbps", NULL};
	const char *p_dirty[] = {"ram", "dirty-pages-rate", NULL};
	const char *p_sync[] = {"ram", "dirty-sync-count", NULL};
	const char *p_tt[] = {"total-time", NULL};
	yajl_val rem = yajl_tree_get(ret, p_rem, yajl_t_number);
	yajl_val mbps = yajl_tree_get(ret, p_mbps, yajl_t_number);
	yajl_val dirty = yajl_tree_get(ret, p_dirty, yajl_t_number);
	yajl_val sync = yajl_tree_get(ret, p_sync, yajl_t_number);
	yajl_val tt = yajl_tree_get(ret, p_tt, yajl_t_number);

	fprintf(stderr,
	        "themis-one: qemu: %s %s -> %s still %s after %lld ms: remaining %lld B, "
	        "%.1f Mbit/s, dirty %lld pages/s, sync %lld\n",
	        mig->vm_name, mig->src_host, mig->dst_host,
	        qmp_run_status(ret) ? qmp_run_status(ret) : "?", tt ? YAJL_GET_INTEGER(tt) : -1LL,
	        rem ? YAJL_GET_INTEGER(rem) : -1LL, mbps ? YAJL_GET_DOUBLE(mbps) : -1.0,
	        dirty ? YAJL_GET_INTEGER(dirty) : -1LL, sync ? YAJL_GET_INTEGER(sync) : -1LL);
}

/* MIGRATION status events on both sides (QEMU sends them only with the "events" capability on):
 * the source's monitor and the incoming QEMU's, which exists once the hook started it. */
static th_err qemu_migration_events(qmp *src, const char *dst_sock, char *errbuf)
{
	static const char caps[] =
	    "{\"capabilities\":[{\"capability\":\"events\",\"state\":true}]}";
	qmp *dst = NULL;
	th_err e =
	    qmp_exec(src, "migrate-set-capabilities", caps, QEMU_QMP_TIMEOUT_MS, NULL, errbuf);

	if (e == TH_OK && (e = qmp_open(dst_sock, QEMU_QMP_TIMEOUT_MS, &dst, errbuf)) == TH_OK) {
		e = qmp_exec(dst, "migrate-set-capabilities", caps, QEMU_QMP_TIMEOUT_MS, NULL,
		             errbuf);
		qmp_close(dst);
	}
	return e;
}

/* Sets the VM's migration parameters on the source (QEMU's defaults for those not set) and reads
 * back the values in effect into *eff; *timeout_ms is the VM's migration timeout. */
static th_err qemu_apply_params(qemu_ctx *c, qmp *src, const char *vm, qmp_mig_params *eff,
                                long *timeout_ms, char *errbuf)
{
	char path[2048], text[1024], args[256], why[TH_ERRLEN];
	qmp_mig_params want;
	yajl_val r = NULL;
	ssize_t n = 0;
	int fd;
	th_err e;

	text[0] = '\0';
	snprintf(path, sizeof path, "%s/%s.migrate-params", c->qmp_dir, vm);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, text, sizeof text - 1);
		close(fd);
		if (n < 0)
			return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
		text[n] = '\0';
	} else if (errno != ENOENT) {
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
	}
	e = qmp_params_read(text, &want, why);
	if (e != TH_OK)
		return th_seterr(errbuf, e, "%s: %s", path, why);
	*timeout_ms = want.timeout_s > 0 ? want.timeout_s * 1000 : QEMU_MIGRATE_TIMEOUT_MS;
	qmp_params_args(args, sizeof args, &want);
	e = qmp_exec(src, "migrate-set-parameters", args, QEMU_QMP_TIMEOUT_MS, NULL, errbuf);
	if (e == TH_OK)
		e = qmp_exec(src, "query-migrate-parameters", NULL, QEMU_QMP_TIMEOUT_MS, &r,
		             errbuf);
	if (e == TH_OK) {
		e = qmp_params_parse(qmp_return(r), eff, errbuf);
		yajl_tree_free(r);
	}
	return e;
}

static one_mig_result qemu_migrate(void *ctx, const one_migration *mig, char *msg, size_t msglen)
{
	qemu_ctx *c = ctx;
	char src_sock[2048], dst_sock[2048], uri[256], args[512], err[TH_ERRLEN];
	int64_t t0 = th_mono_ns(), deadline = t0 + (int64_t)QEMU_MIGRATE_TIMEOUT_MS * TH_NS_PER_MS;
	long start = (long)time(NULL);
	qmp_migration qm;
	qmp *src = NULL;
	long polls = 0, timeout_ms = QEMU_MIGRATE_TIMEOUT_MS;
	int early = 0;
	qmp_mig_params pm = {-1, -1, -1};
	th_err e;

	memset(&qm, 0, sizeof qm);
	snprintf(qm.status, sizeof qm.status, "not-started");
	qm.total_ms = qm.downtime_ms = qm.setup_ms = -1;
	qm.ram_transferred = -1;
	qemu_sock(c, mig->vm_name, mig->src_host, src_sock, sizeof src_sock);
	qemu_sock(c, mig->vm_name, mig->dst_host, dst_sock, sizeof dst_sock);
	e = qemu_hook(c, "qemu-incoming", mig->vm_name, mig->dst_host, uri, sizeof uri, err);
	if (e == TH_OK && uri[0] == '\0')
		e = th_seterr(err, TH_ERR_REMOTE, "hook gave no incoming URI for %s on %s",
		              mig->vm_name, mig->dst_host);
	if (e == TH_OK)
		e = qmp_open(src_sock, QEMU_QMP_TIMEOUT_MS, &src, err);
	if (e == TH_OK)
		e = qemu_apply_params(c, src, mig->vm_name, &pm, &timeout_ms, err);
	if (e == TH_OK)
		deadline = t0 + (int64_t)timeout_ms * TH_NS_PER_MS;
	if (e == TH_OK && !mig->live)
		e = qmp_exec(src, "stop", NULL, QEMU_QMP_TIMEOUT_MS, NULL, err);
	if (e == TH_OK)
		e = qemu_migration_events(src, dst_sock, err);
	if (e == TH_OK) {
		snprintf(args, sizeof args, "{\"uri\":\"%s\"}", uri);
		e = qmp_exec(src, "migrate", args, QEMU_QMP_TIMEOUT_MS, NULL, err);
	}
	if (e != TH_OK) {
		snprintf(msg, msglen, "qemu: cannot start migration of %s from %s to %s: %s",
		         mig->vm_name, mig->src_host, mig->dst_host, err);
		qemu_hook(c, "qemu-stop", mig->vm_name, mig->dst_host, NULL, 0, err);
		qmp_close(src);
		return ONE_MIG_FAILED;
	}
	if (mig->fault.kind == LAB_FAULT_FAIL || mig->fault.kind == LAB_FAULT_LOSE)
		qemu_hook(c, "qemu-stop", mig->vm_name, mig->dst_host, NULL, 0, err);
	if (mig->fault.kind == LAB_FAULT_LOSE) {
		qmp_close(src);
		qemu_hook(c, "qemu-stop", mig->vm_name, mig->src_host, NULL, 0, err);
		snprintf(qm.status, sizeof qm.status, "lost");
		qemu_write_info(c, mig, &qm, (long)((th_mono_ns() - t0) / TH_NS_PER_MS), start,
		                &pm);
		snprintf(msg, msglen,
		         "qemu: %s lost: source and destination QEMU killed (injected)",
		         mig->vm_name);
		return ONE_MIG_LOST;
	}
	for (;;) {
		yajl_val r = NULL;

		e = qmp_exec(src, "query-migrate", NULL, QEMU_QMP_TIMEOUT_MS, &r, err);
		if (e == TH_OK) {
			e = qmp_migration_parse(qmp_return(r), &qm, err);
			if (e == TH_OK && ++polls % 100 == 0)
				qemu_log_progress(mig, qmp_return(r));
			yajl_tree_free(r);
		}
		if (e != TH_OK)
			break;
		/* "completed" with total-time 0: QEMU has not computed the figures yet */
		if (qmp_migration_final(&qm))
			break;
		if (strcmp(qm.status, "completed") == 0 && early++ == 0)
			fprintf(stderr,
			        "themis-one: qemu: %s: query-migrate says completed before QEMU set "
			        "its figures (total-time 0); asking again\n",
			        mig->vm_name);
		if (th_mono_ns() > deadline) {
			qmp_exec(src, "migrate_cancel", NULL, QEMU_QMP_TIMEOUT_MS, NULL, err);
			e = th_seterr(err, TH_ERR_TIMEOUT,
			              "migration still %s after %ld s (cancelled: not converging?)",
			              qm.status, timeout_ms / 1000);
			snprintf(qm.status, sizeof qm.status, "timeout");
			break;
		}
		qemu_sleep_ms(QEMU_POLL_MS);
	}
	if (e == TH_OK && strcmp(qm.status, "completed") == 0) {
		e = qemu_wait_running(dst_sock, mig->live, err);
		if (e == TH_OK) {
			qmp_exec(src, "quit", NULL, QEMU_QMP_TIMEOUT_MS, NULL, err);
			qmp_close(src);
			qemu_hook(c, "qemu-stop", mig->vm_name, mig->src_host, NULL, 0, err);
			qemu_write_info(c, mig, &qm, (long)((th_mono_ns() - t0) / TH_NS_PER_MS),
			                start, &pm);
			return ONE_MIG_OK;
		}
	}
	/* failed: the guest stays on the source */
	if (e == TH_OK)
		snprintf(err, sizeof err, "migration %.31s%s%.200s", qm.status,
		         qm.error[0] ? ": " : "", qm.error);
	snprintf(msg, msglen, "qemu: migration of %s from %s to %s failed: %s", mig->vm_name,
	         mig->src_host, mig->dst_host, err);
	qemu_hook(c, "qemu-stop", mig->vm_name, mig->dst_host, NULL, 0, err);
	if (!mig->live)
		qmp_exec(src, "cont", NULL, QEMU_QMP_TIMEOUT_MS, NULL, err);
	qmp_close(src);
	qemu_write_info(c, mig, &qm, (long)((th_mono_ns() - t0) / TH_NS_PER_MS), start, &pm);
	return ONE_MIG_FAILED;
}

static int qemu_boot(void *ctx, int vm_id, const char *vm_name, int hid, const char *host,
                     char *msg, size_t msglen)
{
	qemu_ctx *c = ctx;
	char err[TH_ERRLEN], sock[2048];
	qmp *q = NULL;

	if (qemu_hook(c, "qemu-boot", vm_name, host, NULL, 0, err) != TH_OK ||
	    (qemu_sock(c, vm_name, host, sock, sizeof sock),
	     qmp_open(sock, QEMU_QMP_TIMEOUT_MS, &q, err)) != TH_OK) {
		snprintf(msg, msglen, "qemu: cannot boot %s on %s: %s", vm_name, host, err);
		return -1;
	}
	qmp_close(q);
	return 0;
}

static void qemu_destroy(void *ctx)
{
	free(ctx);
}

int one_backend_qemu_init(one_backend *b, const char *hook, const char *qmp_dir,
                          const char *info_dir, char *errbuf)
{
	qemu_ctx *c;

	if (access(hook, X_OK) != 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "hook %s is not executable: %s", hook,
		                 strerror(errno)),
		       -1;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory"), -1;
	snprintf(c->hook, sizeof c->hook, "%s", hook);
	snprintf(c->qmp_dir, sizeof c->qmp_dir, "%s", qmp_dir);
	snprintf(c->info_dir, sizeof c->info_dir, "%s", info_dir);
	b->name = "qemu";
	b->ctx = c;
	b->migrate = qemu_migrate;
	b->boot = qemu_boot;
	b->destroy = qemu_destroy;
	return 0;
}
