/* vm-state.c — decides, from one vm.info document and the pre-migration baseline, where a
 * migration stands. The rules follow OpenNebula's own sequence (notes §3.5–3.7, §4.5):
 *  - success: LCM RUNNING, record s0+1 on the destination with RSTIME > 0 and ETIME = 0, and
 *    record s0 closed (ETIME > 0);
 *  - rollback: LCM RUNNING, a record s0+2 back on the source while s0+1 has ETIME > 0 and
 *    RSTIME = 0; the reason is USER_TEMPLATE/ERROR;
 *  - transient window: LCM RUNNING with s0+1 appended but STIME = 0 — not success;
 *  - *_FAILURE LCM states: failed, the operator must recover;
 *  - POWEROFF / UNKNOWN / DONE / other inactive states / purged: lost. */
#include "themis-config.h"

#include <stdio.h>
#include <string.h>

#include "one-names.h"
#include "vm-state.h"

th_err mig_baseline_take(mig_baseline *b, const one_vm *vm, int dst_hid, char *errbuf)
{
	const one_history *last = one_vm_last(vm);

	memset(b, 0, sizeof *b);
	if (last == NULL)
		return th_seterr(errbuf, TH_ERR_STATE,
		                 "VM %d (%s) has no history record: not deployed", vm->id,
		                 vm->name);
	if (vm->state != ONE_VM_ACTIVE || vm->lcm_state != ONE_LCM_RUNNING)
		return th_seterr(errbuf, TH_ERR_STATE, "VM %d (%s) is %s, not RUNNING", vm->id,
		                 vm->name, one_vm_display_state(vm->state, vm->lcm_state));
	b->s0 = last->seq;
	b->src_hid = last->hid;
	b->dst_hid = dst_hid;
	snprintf(b->error0, sizeof b->error0, "%s", vm->error);
	return TH_OK;
}

static bool mig_lcm_in_progress(int lcm)
{
	switch (lcm) {
	case ONE_LCM_MIGRATE:
	case ONE_LCM_SAVE_MIGRATE:
	case ONE_LCM_PROLOG_MIGRATE:
	case ONE_LCM_BOOT_MIGRATE:
	case ONE_LCM_BOOT:
	case ONE_LCM_PROLOG_MIGRATE_POWEROFF:
	case ONE_LCM_PROLOG_MIGRATE_SUSPEND:
	case ONE_LCM_PROLOG_MIGRATE_UNKNOWN:
		return true;
	default:
		return false;
	}
}

bool mig_lcm_failure(int lcm)
{
	switch (lcm) {
	case ONE_LCM_BOOT_FAILURE:
	case ONE_LCM_BOOT_MIGRATE_FAILURE:
	case ONE_LCM_PROLOG_MIGRATE_FAILURE:
	case ONE_LCM_PROLOG_MIGRATE_POWEROFF_FAILURE:
	case ONE_LCM_PROLOG_MIGRATE_SUSPEND_FAILURE:
	case ONE_LCM_PROLOG_MIGRATE_UNKNOWN_FAILURE:
		return true;
	default:
		return false;
	}
}

static int64_t mig_t(int64_t t)
{
	return t > 0 ? t : 0;
}

static void mig_error_text(const mig_baseline *b, const one_vm *vm, char *buf, size_t size,
                           const char *fallback)
{
	if (vm->error[0] != '\0' && strcmp(vm->error, b->error0) != 0)
		snprintf(buf, size, "%s", vm->error);
	else
		snprintf(buf, size, "%s", fallback);
}

void mig_observe(const mig_baseline *b, const one_vm *vm, double elapsed_s, double timeout_s,
                 mig_verdict *v)
{
	const one_history *r0, *r1, *r2;
	char why[256];

	memset(v, 0, sizeof *v);
	if (vm == NULL) {
		v->phase = MIG_LOST;
		snprintf(v->message, sizeof v->message,
		         "VM no longer exists in OpenNebula (one.vm.info: NO_EXISTS)");
		return;
	}
	r0 = one_vm_seq(vm, b->s0);
	r1 = one_vm_seq(vm, b->s0 + 1);
	r2 = one_vm_seq(vm, b->s0 + 2);
	if (r1 != NULL) {
		v->stime = mig_t(r1->stime);
		v->rstime = mig_t(r1->rstime);
		v->etime = mig_t(r1->etime);
	}
	v->started =
	    v->stime > 0 || (vm->state == ONE_VM_ACTIVE && mig_lcm_in_progress(vm->lcm_state));

	if (vm->state == ONE_VM_ACTIVE && mig_lcm_failure(vm->lcm_state)) {
		v->phase = MIG_FAILED;
		snprintf(why, sizeof why,
		         "VM entered %s; OpenNebula waits for 'onevm recover' on it",
		         one_lcm_state_name(vm->lcm_state));
		mig_error_text(b, vm, v->message, sizeof v->message, why);
		return;
	}
	if (vm->state != ONE_VM_ACTIVE || vm->lcm_state == ONE_LCM_UNKNOWN) {
		v->phase = MIG_LOST;
		snprintf(v->message, sizeof v->message, "VM went to %s during the migration",
		         one_vm_display_state(vm->state, vm->lcm_state));
		return;
	}
	if (vm->lcm_state == ONE_LCM_RUNNING && r1 != NULL) {
		if (r1->hid == b->dst_hid && r1->rstime > 0 && r1->etime == 0 && r0 != NULL &&
		    r0->etime > 0) {
			v->phase = MIG_SUCCESS;
			return;
		}
		if (r2 != NULL && r2->hid == b->src_hid && r1->rstime <= 0 && r1->etime > 0) {
			v->phase = MIG_FAILED;
			mig_error_text(b, vm, v->message, sizeof v->message,
			               "OpenNebula rolled the VM back to the source host (no error "
			               "message recorded)");
			return;
		}
	}
	/* RUNNING with record s0+1 not started (STIME = 0) is the transient window; MIGRATE and
	 * the cold states are progress. Anything else inside ACTIVE keeps polling too. */
	v->phase = mig_lcm_in_progress(vm->lcm_state) ? MIG_ACTIVE : MIG_WAITING;
	if (v->phase == MIG_WAITING && v->started)
		v->phase = MIG_ACTIVE;
	if (timeout_s > 0 && elapsed_s >= timeout_s) {
		snprintf(
		    v->message, sizeof v->message,
		    "still %s after %.0f s (timeout %.0f s); OpenNebula has no cancel: resolve "
		    "with 'onevm recover'",
		    one_lcm_state_name(vm->lcm_state), elapsed_s, timeout_s);
		v->phase = MIG_TIMEOUT;
	}
}

bool mig_phase_final(mig_phase p)
{
	return p != MIG_WAITING && p != MIG_ACTIVE;
}

th_outcome mig_phase_outcome(mig_phase p)
{
	switch (p) {
	case MIG_SUCCESS:
		return TH_OUT_SUCCESS;
	case MIG_FAILED:
		return TH_OUT_FAILED;
	case MIG_TIMEOUT:
		return TH_OUT_TIMEOUT;
	case MIG_LOST:
		return TH_OUT_LOST;
	default:
		return TH_OUT_NONE;
	}
}

const char *mig_phase_name(mig_phase p)
{
	switch (p) {
	case MIG_WAITING:
		return "requested";
	case MIG_ACTIVE:
		return "migrating";
	case MIG_SUCCESS:
		return "success";
	case MIG_FAILED:
		return "failed";
	case MIG_TIMEOUT:
		return "timeout";
	case MIG_LOST:
		return "lost";
	}
	return "?";
}
