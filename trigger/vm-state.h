/* vm-state.h — migration state detection over successive one.vm.info documents, exactly as
 * OpenNebula behaves (history records, LCM states, the transient window right after the
 * request). Pure: no I/O, no clocks; the caller passes the elapsed time. */
#ifndef TH_TRIGGER_VM_STATE_H
#define TH_TRIGGER_VM_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "th-error.h"
#include "th-marker.h"
#include "vm-xml.h"

/* What the VM looked like just before one.vm.migrate. */
typedef struct mig_baseline {
	int s0;           /* last history SEQ before the request */
	int src_hid;      /* its HID (host A) */
	int dst_hid;      /* requested target (host B) */
	char error0[512]; /* USER_TEMPLATE/ERROR before the request (to tell a new error) */
} mig_baseline;

typedef enum mig_phase {
	MIG_WAITING = 1, /* accepted, LCM not started yet (transient RUNNING, STIME = 0) */
	MIG_ACTIVE,      /* in progress: MIGRATE (live) or a cold-migration state */
	MIG_SUCCESS,     /* running on the destination */
	MIG_FAILED,      /* rolled back to the source, or a *_FAILURE state */
	MIG_TIMEOUT,     /* still waiting/in progress past the timeout */
	MIG_LOST,        /* POWEROFF, UNKNOWN, DONE, other inactive states, or purged */
} mig_phase;

typedef struct mig_verdict {
	mig_phase phase;
	bool started;   /* OpenNebula has begun (record s0+1 STIME > 0 or a migrating state) */
	int64_t stime;  /* record s0+1 STIME (0 = unset) */
	int64_t rstime; /* record s0+1 RSTIME (0 = unset) */
	int64_t etime;  /* record s0+1 ETIME (0 = unset) */
	char message[512];
} mig_verdict;

/* Capture the baseline from the pre-migration document; TH_ERR_STATE when the VM has no
 * history record (never deployed) or is not RUNNING. */
th_err mig_baseline_take(mig_baseline *b, const one_vm *vm, int dst_hid, char *errbuf);

/* Classify one observation. vm NULL means one.vm.info answered NO_EXISTS (VM purged).
 * elapsed_s is the time since the request; timeout_s <= 0 disables the timeout. */
void mig_observe(const mig_baseline *b, const one_vm *vm, double elapsed_s, double timeout_s,
                 mig_verdict *v);

/* True for the phases that end the polling. */
bool mig_phase_final(mig_phase p);

/* True for the LCM states of a failed (cold) migration step that needs `onevm recover`
 * (BOOT_FAILURE, BOOT_MIGRATE_FAILURE, PROLOG_MIGRATE*_FAILURE). */
bool mig_lcm_failure(int lcm);

/* The marker outcome for a final phase (TH_OUT_NONE otherwise). */
th_outcome mig_phase_outcome(mig_phase p);

const char *mig_phase_name(mig_phase p);

#endif
