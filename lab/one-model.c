/* one-model.c — OpenNebula VM/host state machine of the lab endpoint (see one-model.h). */
#include "themis-config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "one-model.h"

/* The strings one.vm.action accepts (RequestManagerVirtualMachine, VMActions). */
static const char *const one_actions[] = {
    "terminate",   "terminate-hard", "undeploy",  "undeploy-hard", "hold",
    "release",     "stop",           "suspend",   "resume",        "reboot",
    "reboot-hard", "resched",        "unresched", "poweroff",      "poweroff-hard",
};

static int one_failf(one_fail *f, int code, int resp_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int one_failf(one_fail *f, int code, int resp_id, const char *fmt, ...)
{
	va_list ap;

	if (f != NULL) {
		f->code = code;
		f->resp_id = resp_id;
		va_start(ap, fmt);
		vsnprintf(f->msg, sizeof f->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void one_model_init(one_model *m)
{
	memset(m, 0, sizeof *m);
}

void one_model_on_state(one_model *m, one_state_fn fn, void *ctx)
{
	m->on_state = fn;
	m->on_state_ctx = ctx;
}

/* The one place a VM changes STATE/LCM_STATE: a real change is reported, as oned's state hook
 * fires only when the pair differs from the previous one. */
static void one_set_state(one_model *m, lab_vm *vm, int state, int lcm)
{
	if (vm->state == state && vm->lcm_state == lcm)
		return;
	vm->state = state;
	vm->lcm_state = lcm;
	if (m->on_state != NULL)
		m->on_state(m->on_state_ctx, vm);
}

int one_vm_set_state(one_model *m, int vm_id, int state, int lcm)
{
	lab_vm *vm = one_model_vm(m, vm_id);

	if (vm == NULL)
		return -1;
	one_set_state(m, vm, state, lcm);
	return 0;
}

void one_model_free(one_model *m)
{
	for (size_t i = 0; i < m->nvms; i++) {
		free(m->vms[i].hist);
		free(m->vms[i].ctx);
	}
	one_model_init(m);
}

int one_model_add_host(one_model *m, const char *name, long total_mem_kb, int total_cpu)
{
	lab_host *h;

	if (m->nhosts >= ONE_MAX_HOSTS)
		return -1;
	h = &m->hosts[m->nhosts];
	h->id = (int)m->nhosts;
	snprintf(h->name, sizeof h->name, "%s", name);
	h->state = ONE_HOST_MONITORED;
	h->total_mem_kb = total_mem_kb;
	h->total_cpu = total_cpu;
	return (int)m->nhosts++;
}

lab_vm *one_model_vm(one_model *m, int id)
{
	if (id < 0 || (size_t)id >= m->nvms)
		return NULL;
	return &m->vms[id];
}

lab_host *one_model_host(one_model *m, int id)
{
	if (id < 0 || (size_t)id >= m->nhosts)
		return NULL;
	return &m->hosts[id];
}

lab_history *lab_vm_last(lab_vm *vm)
{
	return vm->nhist == 0 ? NULL : &vm->hist[vm->nhist - 1];
}

int lab_vm_hid(const lab_vm *vm)
{
	return vm->nhist == 0 ? -1 : vm->hist[vm->nhist - 1].hid;
}

/* Appends a record with every time 0; returns it or NULL when out of memory. */
static lab_history *one_hist_append(lab_vm *vm, const lab_host *h)
{
	lab_history *r;

	if (vm->nhist == vm->caphist) {
		size_t cap = vm->caphist ? vm->caphist * 2 : 8;
		lab_history *n = realloc(vm->hist, cap * sizeof *n);

		if (n == NULL)
			return NULL;
		vm->hist = n;
		vm->caphist = cap;
	}
	r = &vm->hist[vm->nhist];
	memset(r, 0, sizeof *r);
	r->seq = (int)vm->nhist;
	r->hid = h->id;
	snprintf(r->hostname, sizeof r->hostname, "%s", h->name);
	r->action = ONE_ACT_NONE;
	r->uid = r->gid = r->request_id = -1;
	vm->nhist++;
	return r;
}

int one_model_add_vm(one_model *m, const char *name, int hid, int cpu, int memory_mb,
                     const char *ip, const char *mac, long now)
{
	lab_host *h = one_model_host(m, hid);
	lab_history *r;
	lab_vm *vm;

	if (h == NULL || m->nvms >= ONE_MAX_VMS)
		return -1;
	vm = &m->vms[m->nvms];
	memset(vm, 0, sizeof *vm);
	vm->id = (int)m->nvms;
	snprintf(vm->name, sizeof vm->name, "%s", name);
	vm->state = ONE_VM_ACTIVE;
	vm->lcm_state = ONE_LCM_RUNNING;
	vm->stime = now;
	vm->cpu = cpu;
	vm->memory_mb = memory_mb;
	snprintf(vm->ip, sizeof vm->ip, "%s", ip ? ip : "");
	snprintf(vm->mac, sizeof vm->mac, "%s", mac ? mac : "");
	r = one_hist_append(vm, h);
	if (r == NULL)
		return -1;
	/* deployed at once: prolog and boot took no time */
	r->stime = r->pstime = r->petime = r->rstime = now;
	return (int)m->nvms++;
}

const char *lab_vm_state_str(const lab_vm *vm)
{
	return one_vm_display_state(vm->state, vm->lcm_state);
}

int one_migrate_request(one_model *m, int vm_id, int hid, int live, int ds_id, one_fail *f)
{
	lab_host *h = one_model_host(m, hid);
	lab_vm *vm;

	/* 1. target host */
	if (h == NULL)
		return one_failf(f, ONE_E_NO_EXISTS, hid, "Error getting host [%d].", hid);
	if (h->state == ONE_HOST_OFFLINE)
		return one_failf(f, ONE_E_ACTION, -1, "%s",
		                 "Host is offline, cannot use it to deploy VM");
	/* 2. datastore: the lab has one system datastore, ID 0 */
	if (ds_id != -1 && ds_id != 0)
		return one_failf(f, ONE_E_NO_EXISTS, ds_id, "Error getting datastore [%d].", ds_id);
	/* 3. the VM */
	vm = one_model_vm(m, vm_id);
	if (vm == NULL)
		return one_failf(f, ONE_E_NO_EXISTS, vm_id, "Error getting virtual machine [%d].",
		                 vm_id);
	/* 4. state: ACTIVE/RUNNING (or UNKNOWN) with the previous record closed. POWEROFF and
	 * SUSPENDED are accepted by oned for a cold move; the lab has no such path. */
	if (!(vm->state == ONE_VM_ACTIVE &&
	      (vm->lcm_state == ONE_LCM_RUNNING || vm->lcm_state == ONE_LCM_UNKNOWN)) ||
	    (vm->nhist >= 2 && vm->hist[vm->nhist - 2].etime == 0))
		return one_failf(f, ONE_E_ACTION, -1,
		                 "Migrate action is not available for state %s",
		                 lab_vm_state_str(vm));
	/* 6. same host, same datastore */
	if (lab_vm_hid(vm) == hid)
		return one_failf(f, ONE_E_ACTION, -1, "VM is already running on host [%d]", hid);
	if (one_hist_append(vm, h) == NULL)
		return one_failf(f, ONE_E_INTERNAL, -1, "%s", "Internal error");
	vm->migrating_live = live ? 1 : 0;
	return 0;
}

/* The VM has a requested, not yet started migration: RUNNING, last record STIME 0. */
static int one_is_requested(const lab_vm *vm)
{
	return vm->state == ONE_VM_ACTIVE && vm->lcm_state == ONE_LCM_RUNNING && vm->nhist >= 2 &&
	       vm->hist[vm->nhist - 1].stime == 0;
}

static int one_in_migration(const lab_vm *vm)
{
	if (vm->state != ONE_VM_ACTIVE || vm->nhist < 2)
		return 0;
	switch (vm->lcm_state) {
	case ONE_LCM_MIGRATE:
	case ONE_LCM_SAVE_MIGRATE:
	case ONE_LCM_PROLOG_MIGRATE:
	case ONE_LCM_BOOT_MIGRATE:
		return 1;
	default:
		return 0;
	}
}

int one_migrate_begin(one_model *m, int vm_id, int uid, int gid, int request_id, long now)
{
	lab_vm *vm = one_model_vm(m, vm_id);
	lab_history *prev, *cur;

	if (vm == NULL || !one_is_requested(vm))
		return -1;
	prev = &vm->hist[vm->nhist - 2];
	cur = &vm->hist[vm->nhist - 1];
	cur->stime = now;
	if (vm->migrating_live) {
		prev->action = ONE_ACT_LIVE_MIGRATE;
	} else {
		prev->action = ONE_ACT_MIGRATE;
		cur->action = ONE_ACT_MIGRATE;
	}
	prev->uid = uid;
	prev->gid = gid;
	prev->request_id = request_id;
	one_set_state(m, vm, ONE_VM_ACTIVE,
	              vm->migrating_live ? ONE_LCM_MIGRATE : ONE_LCM_SAVE_MIGRATE);
	return 0;
}

int one_migrate_saved(one_model *m, int vm_id, long now)
{
	lab_vm *vm = one_model_vm(m, vm_id);

	if (vm == NULL || vm->state != ONE_VM_ACTIVE || vm->lcm_state != ONE_LCM_SAVE_MIGRATE)
		return -1;
	vm->hist[vm->nhist - 2].etime = vm->hist[vm->nhist - 2].retime = now;
	vm->hist[vm->nhist - 1].pstime = now;
	one_set_state(m, vm, ONE_VM_ACTIVE, ONE_LCM_PROLOG_MIGRATE);
	return 0;
}

int one_migrate_prologued(one_model *m, int vm_id, long now)
{
	lab_vm *vm = one_model_vm(m, vm_id);

	if (vm == NULL || vm->state != ONE_VM_ACTIVE || vm->lcm_state != ONE_LCM_PROLOG_MIGRATE)
		return -1;
	vm->hist[vm->nhist - 1].petime = vm->hist[vm->nhist - 1].rstime = now;
	one_set_state(m, vm, ONE_VM_ACTIVE, ONE_LCM_BOOT_MIGRATE);
	return 0;
}

int one_migrate_success(one_model *m, int vm_id, long now)
{
	lab_vm *vm = one_model_vm(m, vm_id);
	lab_history *prev, *cur;

	if (vm == NULL || !one_in_migration(vm))
		return -1;
	prev = &vm->hist[vm->nhist - 2];
	cur = &vm->hist[vm->nhist - 1];
	if (vm->lcm_state == ONE_LCM_MIGRATE) {
		cur->rstime = now;
		prev->etime = prev->retime = now;
	} else {
		/* cold: finish whatever phases are left, then boot done clears the action */
		if (vm->lcm_state == ONE_LCM_SAVE_MIGRATE)
			one_migrate_saved(m, vm_id, now);
		if (vm->lcm_state == ONE_LCM_PROLOG_MIGRATE)
			one_migrate_prologued(m, vm_id, now);
		cur->action = ONE_ACT_NONE;
	}
	one_set_state(m, vm, ONE_VM_ACTIVE, ONE_LCM_RUNNING);
	return 0;
}

void one_format_error(char *out, size_t outlen, const char *prefix, const char *msg, long now)
{
	char when[64], full[ONE_ERRORLEN];
	time_t t = (time_t)now;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
	snprintf(full, sizeof full, "%s: %s", prefix, msg);
	if (strlen(full) > 100)
		snprintf(out, outlen, "%s: %.100s... see more details in VM log", when, full);
	else
		snprintf(out, outlen, "%s: %s", when, full);
}

/* Rollback of a failed migration (§3.5 3b): record n+1 closed without running, record n
 * closed, new record n+2 = copy of n running from now. */
static int one_rollback(one_model *m, lab_vm *vm, const char *driver_msg, long now)
{
	lab_history *prev = &vm->hist[vm->nhist - 2], *cur = &vm->hist[vm->nhist - 1], *back;
	lab_host src;

	cur->etime = now;
	cur->rstime = 0;
	prev->etime = prev->retime = now;
	memset(&src, 0, sizeof src);
	src.id = prev->hid;
	snprintf(src.name, sizeof src.name, "%s", prev->hostname);
	back = one_hist_append(vm, &src); /* may move the array: no use of prev/cur below */
	if (back == NULL)
		return -1;
	back->stime = back->rstime = now;
	if (driver_msg != NULL)
		one_format_error(vm->error, sizeof vm->error, "MIGRATE", driver_msg, now);
	one_set_state(m, vm, ONE_VM_ACTIVE, ONE_LCM_RUNNING);
	return 0;
}

int one_migrate_failure(one_model *m, int vm_id, const char *driver_msg, long now)
{
	lab_vm *vm = one_model_vm(m, vm_id);

	if (vm == NULL || !one_in_migration(vm))
		return -1;
	return one_rollback(m, vm, driver_msg, now);
}

int one_migrate_lost(one_model *m, int vm_id, const char *driver_msg, long now)
{
	lab_vm *vm = one_model_vm(m, vm_id);

	if (vm == NULL || !one_in_migration(vm))
		return -1;
	/* RUNNING on the source first (oned's rollback), then monitoring finds it gone */
	if (one_rollback(m, vm, driver_msg, now) != 0)
		return -1;
	one_set_state(m, vm, ONE_VM_POWEROFF, ONE_LCM_INIT);
	return 0;
}

int one_vm_action(one_model *m, const char *action, int vm_id, long now, one_fail *f)
{
	size_t i, n = sizeof one_actions / sizeof one_actions[0];
	lab_vm *vm;

	for (i = 0; i < n; i++)
		if (strcmp(action, one_actions[i]) == 0)
			break;
	if (i == n)
		return one_failf(f, ONE_E_ACTION, -1, "Action \"%s\" is not supported", action);
	vm = one_model_vm(m, vm_id);
	if (vm == NULL)
		return one_failf(f, ONE_E_NO_EXISTS, vm_id, "Error getting virtual machine [%d].",
		                 vm_id);
	if (strcmp(action, "resume") != 0) {
		return one_failf(
		    f, ONE_E_ACTION, -1,
		    "Error performing action \"%s\": the lab endpoint carries out only "
		    "\"resume\"",
		    action);
	}
	if (vm->state != ONE_VM_POWEROFF) {
		one_failf(f, ONE_E_ACTION, -1,
		          "Error performing action \"resume\": This action is not available for "
		          "state %s",
		          lab_vm_state_str(vm));
		return -1;
	}
	(void)now;
	one_set_state(m, vm, ONE_VM_ACTIVE, ONE_LCM_BOOT_POWEROFF);
	return 0;
}

int one_vm_booted(one_model *m, int vm_id, long now)
{
	lab_vm *vm = one_model_vm(m, vm_id);

	if (vm == NULL || vm->state != ONE_VM_ACTIVE || vm->lcm_state != ONE_LCM_BOOT_POWEROFF)
		return -1;
	(void)now;
	one_set_state(m, vm, ONE_VM_ACTIVE, ONE_LCM_RUNNING);
	return 0;
}

int one_vm_recover(one_model *m, int vm_id, int op, long now, one_fail *f)
{
	lab_vm *vm = one_model_vm(m, vm_id);

	if (vm == NULL)
		return one_failf(f, ONE_E_NO_EXISTS, vm_id, "Error getting virtual machine [%d].",
		                 vm_id);
	if (!one_in_migration(vm))
		return one_failf(f, ONE_E_ACTION, -1,
		                 "Recover action is not available for state %s",
		                 lab_vm_state_str(vm));
	switch (op) {
	case ONE_RECOVER_SUCCESS:
		return one_migrate_success(m, vm_id, now);
	case ONE_RECOVER_FAILURE:
		return one_rollback(m, vm, NULL, now);
	default:
		return one_failf(f, ONE_E_ACTION, -1,
		                 "Recover operation %d is not carried out by the lab endpoint", op);
	}
}
