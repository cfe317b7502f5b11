/* one-rpc.c — OpenNebula XML-RPC method handlers and migration workers (see one-rpc.h). */
#include "themis-config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "one-rpc.h"
#include "one-xml.h"

/* Per-VM bookkeeping of the migration worker. */
typedef struct one_rt {
	unsigned gen;   /* bumped by recover: a worker of an older generation drops its result */
	int hanging;    /* a worker waits for recover (hang fault) */
	int release;    /* recover op for the hanging worker, -1 while none */
	int busy;       /* a worker is running */
	int request_id; /* of the migrate call being carried out */
} one_rt;

struct one_rpc {
	one_rpc_cfg cfg;
	one_model *m;
	one_backend *b;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	one_rt rt[ONE_MAX_VMS];
	int next_request_id; /* oned numbers every request; history records carry it */
};

typedef struct one_job {
	one_rpc *r;
	int vm_id;
	unsigned gen;
	int boot; /* 1: boot after resume; 0: migration */
} one_job;

static long one_now(void)
{
	return (long)time(NULL);
}

static void one_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void one_log(one_rpc *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void one_log(one_rpc *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->cfg.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "themis-one: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ------------------------------------------------------------------ parameters */

/* Reads parameter idx of kind 's', 'i' or 'b' like xmlrpc-c's paramList::get*: missing or of
 * another type -> fault -501. A string is returned malloc'ed in *str. */
static int one_param(xmlrpc_env *env, xmlrpc_value *params, int idx, char kind, int *num,
                     char **str)
{
	xmlrpc_value *v = NULL;
	int ok = 0;

	if (xmlrpc_array_size(env, params) <= idx) {
		if (!env->fault_occurred)
			xmlrpc_env_set_fault(env, XMLRPC_TYPE_ERROR, "Not enough parameters");
		return -1;
	}
	xmlrpc_array_read_item(env, params, idx, &v);
	if (env->fault_occurred)
		return -1;
	switch (kind) {
	case 'i':
		if (xmlrpc_value_type(v) == XMLRPC_TYPE_INT) {
			xmlrpc_read_int(env, v, num);
			ok = 1;
		} else {
			xmlrpc_env_set_fault(env, XMLRPC_TYPE_ERROR,
			                     "Parameter that is supposed to be integer is not");
		}
		break;
	case 'b':
		if (xmlrpc_value_type(v) == XMLRPC_TYPE_BOOL) {
			xmlrpc_bool bv;

			xmlrpc_read_bool(env, v, &bv);
			*num = bv ? 1 : 0;
			ok = 1;
		} else {
			xmlrpc_env_set_fault(env, XMLRPC_TYPE_ERROR,
			                     "Parameter that is supposed to be boolean is not");
		}
		break;
	default:
		if (xmlrpc_value_type(v) == XMLRPC_TYPE_STRING) {
			const char *s = NULL;

			xmlrpc_read_string(env, v, &s);
			*str = (char *)s;
			ok = 1;
		} else {
			xmlrpc_env_set_fault(env, XMLRPC_TYPE_ERROR,
			                     "Parameter that is supposed to be a string is not");
		}
	}
	xmlrpc_DECREF(v);
	return ok && !env->fault_occurred ? 0 : -1;
}

/* Optional parameter: absent -> *num keeps its default. */
static int one_param_opt(xmlrpc_env *env, xmlrpc_value *params, int idx, char kind, int *num)
{
	if (xmlrpc_array_size(env, params) <= idx)
		return env->fault_occurred ? -1 : 0;
	return one_param(env, params, idx, kind, num, NULL);
}

/* ------------------------------------------------------------------ responses */

static xmlrpc_value *one_ok_string(xmlrpc_env *env, const char *s)
{
	return xmlrpc_build_value(env, "(bsi)", (xmlrpc_bool)1, s, 0);
}

static xmlrpc_value *one_ok_int(xmlrpc_env *env, int v)
{
	return xmlrpc_build_value(env, "(bii)", (xmlrpc_bool)1, v, 0);
}

/* [false, "[method] msg", code, resp_id, <i8>-1] — replication index UINT64_MAX on the wire */
static xmlrpc_value *one_failure(xmlrpc_env *env, const char *method, const one_fail *f)
{
	char msg[512];

	snprintf(msg, sizeof msg, "[%s] %s", method, f->msg);
	return xmlrpc_build_value(env, "(bsiiI)", (xmlrpc_bool)0, msg, f->code, f->resp_id,
	                          (xmlrpc_int64)-1);
}

/* Session check (parameter 0). Returns 1 when authenticated, 0 when a failure array is in
 * *resp, -1 on fault. */
static int one_auth(one_rpc *r, xmlrpc_env *env, xmlrpc_value *params, const char *method,
                    xmlrpc_value **resp)
{
	char *session = NULL;
	const char *colon;
	int ok;

	if (one_param(env, params, 0, 's', NULL, &session) != 0)
		return -1;
	colon = strchr(session, ':');
	ok = colon != NULL && strlen(r->cfg.user) == (size_t)(colon - session) &&
	     strncmp(session, r->cfg.user, (size_t)(colon - session)) == 0 &&
	     strcmp(colon + 1, r->cfg.password) == 0;
	free(session);
	if (!ok) {
		one_fail f = {ONE_E_AUTHENTICATION, -1,
		              "User couldn't be authenticated, aborting call."};

		*resp = one_failure(env, method, &f);
		return 0;
	}
	return 1;
}

#define ONE_AUTH_OR_RETURN(method)                                                                 \
	do {                                                                                       \
		xmlrpc_value *resp_ = NULL;                                                        \
		int a_ = one_auth(r, env, params, method, &resp_);                                 \
		if (a_ < 0)                                                                        \
			return NULL;                                                               \
		if (a_ == 0)                                                                       \
			return resp_;                                                              \
	} while (0)

static xmlrpc_value *one_ok_buf(xmlrpc_env *env, one_buf *b)
{
	xmlrpc_value *v;

	if (b->failed) {
		one_buf_free(b);
		xmlrpc_env_set_fault(env, XMLRPC_INTERNAL_ERROR, "out of memory");
		return NULL;
	}
	v = one_ok_string(env, b->s ? b->s : "");
	one_buf_free(b);
	return v;
}

/* ------------------------------------------------------------------ read-only methods */

static xmlrpc_value *one_m_version(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	one_rpc *r = si;

	ONE_AUTH_OR_RETURN("one.system.version");
	return one_ok_string(env, r->cfg.version);
}

static xmlrpc_value *one_m_vm_info(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	one_rpc *r = si;
	int id, decrypt = 0;
	one_buf b = {0};
	lab_vm *vm;

	ONE_AUTH_OR_RETURN("one.vm.info");
	if (one_param(env, params, 1, 'i', &id, NULL) != 0 ||
	    one_param_opt(env, params, 2, 'b', &decrypt) != 0)
		return NULL;
	pthread_mutex_lock(&r->lock);
	vm = one_model_vm(r->m, id);
	if (vm != NULL)
		one_xml_vm(&b, vm, &one_lab_owner);
	pthread_mutex_unlock(&r->lock);
	if (vm == NULL) {
		one_fail f = {ONE_E_NO_EXISTS, id, ""};

		snprintf(f.msg, sizeof f.msg, "Error getting virtual machine [%d].", id);
		return one_failure(env, "one.vm.info", &f);
	}
	return one_ok_buf(env, &b);
}

static xmlrpc_value *one_m_vmpool_info(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	one_rpc *r = si;
	int flag, start, end, state, rc;
	one_buf b = {0};
	one_fail f;

	ONE_AUTH_OR_RETURN("one.vmpool.info");
	if (one_param(env, params, 1, 'i', &flag, NULL) != 0 ||
	    one_param(env, params, 2, 'i', &start, NULL) != 0 ||
	    one_param(env, params, 3, 'i', &end, NULL) != 0 ||
	    one_param(env, params, 4, 'i', &state, NULL) != 0)
		return NULL;
	pthread_mutex_lock(&r->lock);
	rc = one_xml_vmpool(&b, r->m, &one_lab_owner, flag, start, end, state, &f);
	pthread_mutex_unlock(&r->lock);
	if (rc != 0) {
		one_buf_free(&b);
		return one_failure(env, "one.vmpool.info", &f);
	}
	return one_ok_buf(env, &b);
}

static xmlrpc_value *one_m_hostpool_info(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	one_rpc *r = si;
	one_buf b = {0};

	ONE_AUTH_OR_RETURN("one.hostpool.info");
	pthread_mutex_lock(&r->lock);
	one_xml_hostpool(&b, r->m);
	pthread_mutex_unlock(&r->lock);
	return one_ok_buf(env, &b);
}

static xmlrpc_value *one_m_host_info(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	one_rpc *r = si;
	int id, decrypt = 0;
	one_buf b = {0};
	lab_host *h;

	ONE_AUTH_OR_RETURN("one.host.info");
	if (one_param(env, params, 1, 'i', &id, NULL) != 0 ||
	    one_param_opt(env, params, 2, 'b', &decrypt) != 0)
		return NULL;
	pthread_mutex_lock(&r->lock);
	h = one_model_host(r->m, id);
	if (h != NULL)
		one_xml_host(&b, r->m, h);
	pthread_mutex_unlock(&r->lock);
	if (h == NULL) {
		one_fail f = {ONE_E_NO_EXISTS, id, ""};

		snprintf(f.msg, sizeof f.msg, "Error getting host [%d].", id);
		return one_failure(env, "one.host.info", &f);
	}
	return one_ok_buf(env, &b);
}

/* ------------------------------------------------------------------ migration worker */

/* Worker of one migration: transient window, LCM MIGRATE, faults, backend, outcome. */
static void one_run_migration(one_rpc *r, int vm_id, unsigned gen)
{
	one_migration mig;
	char vm_name[ONE_NAMELEN], src[ONE_NAMELEN], dst[ONE_NAMELEN], msg[1024], err[TH_ERRLEN];
	one_mig_result res;
	lab_vm *vm;
	int release = -1;

	one_sleep_ms(r->cfg.lcm_delay_ms);
	memset(&mig, 0, sizeof mig);
	if (lab_fault_take(r->cfg.fault_dir, vm_id, &mig.fault, err) != TH_OK) {
		fprintf(stderr, "themis-one: ignoring fault file: %s\n", err);
		mig.fault.kind = LAB_FAULT_NONE;
	}
	pthread_mutex_lock(&r->lock);
	if (r->rt[vm_id].gen != gen ||
	    one_migrate_begin(r->m, vm_id, 0, 0, r->rt[vm_id].request_id, one_now()) != 0) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	vm = one_model_vm(r->m, vm_id);
	snprintf(vm_name, sizeof vm_name, "%s", vm->name);
	snprintf(src, sizeof src, "%s", vm->hist[vm->nhist - 2].hostname);
	snprintf(dst, sizeof dst, "%s", vm->hist[vm->nhist - 1].hostname);
	mig.vm_id = vm_id;
	mig.vm_name = vm_name;
	mig.src_hid = vm->hist[vm->nhist - 2].hid;
	mig.dst_hid = vm->hist[vm->nhist - 1].hid;
	mig.src_host = src;
	mig.dst_host = dst;
	mig.live = vm->migrating_live;
	one_log(r, "VM %d (%s): %s migration %s -> %s started%s", vm_id, vm_name,
	        mig.live ? "live" : "cold", src, dst,
	        mig.fault.kind == LAB_FAULT_NONE ? "" : " (fault injected)");
	if (mig.fault.kind == LAB_FAULT_HANG) {
		r->rt[vm_id].hanging = 1;
		r->rt[vm_id].release = -1;
		while (r->rt[vm_id].release < 0)
			pthread_cond_wait(&r->cond, &r->lock);
		release = r->rt[vm_id].release;
		r->rt[vm_id].hanging = 0;
	}
	pthread_mutex_unlock(&r->lock);

	if (release == ONE_RECOVER_FAILURE)
		return; /* nothing moved: the VM still runs on the source */
	if (mig.fault.kind == LAB_FAULT_SLOW)
		one_sleep_ms(mig.fault.slow_ms);
	msg[0] = '\0';
	res = r->b->migrate(r->b->ctx, &mig, msg, sizeof msg);
	one_log(r, "VM %d (%s): migration %s -> %s %s%s%s", vm_id, vm_name, src, dst,
	        res == ONE_MIG_OK       ? "succeeded"
	        : res == ONE_MIG_FAILED ? "failed"
	                                : "lost the VM",
	        msg[0] ? ": " : "", msg);

	pthread_mutex_lock(&r->lock);
	if (r->rt[vm_id].gen == gen && release < 0) {
		long now = one_now();

		if (res == ONE_MIG_OK)
			one_migrate_success(r->m, vm_id, now);
		else if (res == ONE_MIG_FAILED)
			one_migrate_failure(r->m, vm_id, msg, now);
		else
			one_migrate_lost(r->m, vm_id, msg, now);
	}
	pthread_mutex_unlock(&r->lock);
}

static void one_run_boot(one_rpc *r, int vm_id, unsigned gen)
{
	char name[ONE_NAMELEN], host[ONE_NAMELEN], msg[1024] = "";
	lab_vm *vm;
	int hid, rc;

	pthread_mutex_lock(&r->lock);
	vm = one_model_vm(r->m, vm_id);
	snprintf(name, sizeof name, "%s", vm->name);
	hid = lab_vm_hid(vm);
	snprintf(host, sizeof host, "%s", lab_vm_last(vm)->hostname);
	pthread_mutex_unlock(&r->lock);
	rc = r->b->boot(r->b->ctx, vm_id, name, hid, host, msg, sizeof msg);
	pthread_mutex_lock(&r->lock);
	vm = one_model_vm(r->m, vm_id);
	if (rc == 0) {
		one_vm_booted(r->m, vm_id, one_now());
	} else {
		/* boot failed: back to POWEROFF with the error, as oned does for BOOT_POWEROFF */
		one_format_error(vm->error, sizeof vm->error, "DEPLOY", msg, one_now());
		one_vm_set_state(r->m, vm_id, ONE_VM_POWEROFF, ONE_LCM_INIT);
	}
	(void)gen;
	pthread_mutex_unlock(&r->lock);
	one_log(r, "VM %d (%s): boot on %s %s%s%s", vm_id, name, host, rc == 0 ? "done" : "failed",
	        msg[0] ? ": " : "", msg);
}

static void *one_worker(void *arg)
{
	one_job *j = arg;
	one_rpc *r = j->r;

	if (j->boot)
		one_run_boot(r, j->vm_id, j->gen);
	else
		one_run_migration(r, j->vm_id, j->gen);
	pthread_mutex_lock(&r->lock);
	r->rt[j->vm_id].busy = 0;
	pthread_mutex_unlock(&r->lock);
	free(j);
	return NULL;
}

/* Starts a worker; called with the lock held. Returns 0 or -1. */
static int one_spawn(one_rpc *r, int vm_id, int boot)
{
	one_job *j = malloc(sizeof *j);
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (j == NULL)
		return -1;
	j->r = r;
	j->vm_id = vm_id;
	j->gen = r->rt[vm_id].gen;
	j->boot = boot;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, one_worker, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(j);
		return -1;
	}
	r->rt[vm_id].busy = 1;
	return 0;
}

/* ------------------------------------------------------------------ write methods */

static xmlrpc_value *one_m_vm_migrate(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	one_rpc *r = si;
	int id, hid, live, enforce = 0, ds_id = -1, mtype = 0, rc;
	one_fail f;

	ONE_AUTH_OR_RETURN("one.vm.migrate");
	if (one_param(env, params, 1, 'i', &id, NULL) != 0 ||
	    one_param(env, params, 2, 'i', &hid, NULL) != 0 ||
	    one_param(env, params, 3, 'b', &live, NULL) != 0 ||
	    one_param_opt(env, params, 4, 'b', &enforce) != 0 ||
	    one_param_opt(env, params, 5, 'i', &ds_id) != 0 ||
	    one_param_opt(env, params, 6, 'i', &mtype) != 0)
		return NULL;
	pthread_mutex_lock(&r->lock);
	rc = one_migrate_request(r->m, id, hid, live, ds_id, &f);
	if (rc == 0) {
		r->rt[id].gen++;
		r->rt[id].request_id = r->next_request_id++;
		if (one_spawn(r, id, 0) != 0) {
			/* cannot run it: undo the appended record so the VM stays usable */
			lab_vm *vm = one_model_vm(r->m, id);

			vm->nhist--;
			rc = -1;
			f.code = ONE_E_INTERNAL;
			f.resp_id = -1;
			snprintf(f.msg, sizeof f.msg, "Internal error");
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (rc != 0)
		return one_failure(env, "one.vm.migrate", &f);
	one_log(r, "VM %d: migrate to host %d requested (live=%d enforce=%d ds=%d mtype=%d)", id,
	        hid, live, enforce, ds_id, mtype);
	return one_ok_int(env, id);
}

static xmlrpc_value *one_m_vm_action(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	one_rpc *r = si;
	char *action = NULL;
	int id, rc;
	one_fail f;

	ONE_AUTH_OR_RETURN("one.vm.action");
	if (one_param(env, params, 1, 's', NULL, &action) != 0)
		return NULL;
	if (one_param(env, params, 2, 'i', &id, NULL) != 0) {
		free(action);
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	rc = one_vm_action(r->m, action, id, one_now(), &f);
	if (rc == 0 && one_spawn(r, id, 1) != 0) {
		one_vm_set_state(r->m, id, ONE_VM_POWEROFF, ONE_LCM_INIT);
		rc = -1;
		f.code = ONE_E_INTERNAL;
		f.resp_id = -1;
		snprintf(f.msg, sizeof f.msg, "Internal error");
	}
	pthread_mutex_unlock(&r->lock);
	free(action);
	if (rc != 0)
		return one_failure(env, "one.vm.action", &f);
	return one_ok_int(env, id);
}

static xmlrpc_value *one_m_vm_recover(xmlrpc_env *env, xmlrpc_value *params, void *si, void *ci)
{
	one_rpc *r = si;
	int id, op, rc;
	one_fail f;

	ONE_AUTH_OR_RETURN("one.vm.recover");
	if (one_param(env, params, 1, 'i', &id, NULL) != 0 ||
	    one_param(env, params, 2, 'i', &op, NULL) != 0)
		return NULL;
	pthread_mutex_lock(&r->lock);
	rc = one_vm_recover(r->m, id, op, one_now(), &f);
	if (rc == 0) {
		if (r->rt[id].hanging) {
			/* the hung worker goes on: on success it really migrates now */
			r->rt[id].release = op;
			pthread_cond_broadcast(&r->cond);
		} else {
			r->rt[id].gen++; /* a running backend call no longer decides */
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (rc != 0)
		return one_failure(env, "one.vm.recover", &f);
	one_log(r, "VM %d: recovered with operation %d", id, op);
	return one_ok_int(env, id);
}

/* ------------------------------------------------------------------ setup */

one_rpc *one_rpc_new(const one_rpc_cfg *cfg, one_model *model, one_backend *backend)
{
	one_rpc *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	r->cfg = *cfg;
	r->m = model;
	r->b = backend;
	r->next_request_id = 1000;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	return r;
}

void one_rpc_free(one_rpc *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
}

void one_rpc_register(one_rpc *r, xmlrpc_env *env, xmlrpc_registry *reg)
{
	static const struct {
		const char *name;
		xmlrpc_method2 fn;
		const char *sig;
	} methods[] = {
	    {"one.system.version", one_m_version, "A:s"},
	    {"one.vm.info", one_m_vm_info, "A:si,A:sib"},
	    {"one.vmpool.info", one_m_vmpool_info, "A:siiii"},
	    {"one.hostpool.info", one_m_hostpool_info, "A:s"},
	    {"one.host.info", one_m_host_info, "A:si,A:sib"},
	    {"one.vm.migrate", one_m_vm_migrate, "A:siib,A:siibb,A:siibbi,A:siibbii"},
	    {"one.vm.action", one_m_vm_action, "A:ssi"},
	    {"one.vm.recover", one_m_vm_recover, "A:sii"},
	};

	for (size_t i = 0; i < sizeof methods / sizeof methods[0] && !env->fault_occurred; i++) {
		struct xmlrpc_method_info3 info;

		memset(&info, 0, sizeof info);
		info.methodName = methods[i].name;
		info.methodFunction = methods[i].fn;
		info.serverInfo = r;
		info.signatureString = methods[i].sig;
		info.help = "OpenNebula-compatible method of the Themis lab";
		xmlrpc_registry_add_method3(env, reg, &info);
	}
}
