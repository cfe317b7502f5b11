/* one-model.h — the OpenNebula state machine of the lab endpoint, free of I/O and threads.
 *
 * Holds hosts and VMs with OpenNebula's STATE / LCM_STATE numbers and history records, and
 * applies the transitions oned applies (notes/opennebula-api.md §2.1, §3.5, §3.6): the
 * migrate request (validation order and error texts), the LCM entering MIGRATE, success, the
 * 3-record rollback on failure, a VM lost by the hypervisor, `resume` and `recover`.
 * Times are epoch seconds passed in by the caller, so tests drive it with exact values.
 * Every change of a VM's STATE or LCM_STATE goes through one place and is reported to an
 * optional callback (the state hook oned fires on the same changes), after the history records
 * of that step are written.
 * Its records are lab_vm / lab_host / lab_history: the endpoint's own layout, not the trigger's
 * parsed view of the same documents (one_vm, one_host, one_history in trigger/vm-xml.h).
 */
#ifndef TH_LAB_ONE_MODEL_H
#define TH_LAB_ONE_MODEL_H

#include <stddef.h>
#include <time.h>

#include "one-context.h"
#include "one-names.h"

/* History ACTION codes (include/VMActions.h). */
enum { ONE_ACT_NONE = 0, ONE_ACT_MIGRATE = 1, ONE_ACT_LIVE_MIGRATE = 2 };

/* recover operations */
enum { ONE_RECOVER_FAILURE = 0, ONE_RECOVER_SUCCESS = 1, ONE_RECOVER_RETRY = 2 };

#define ONE_NAMELEN   64
#define ONE_ERRORLEN  512
#define ONE_MAX_HOSTS 64
#define ONE_MAX_VMS   256

/* A refused request: code, message without the "[method] " prefix, resp_id (-1 if none). */
typedef struct one_fail {
	int code;
	int resp_id;
	char msg[256];
} one_fail;

typedef struct lab_history {
	int seq;
	int hid;
	char hostname[ONE_NAMELEN];
	long stime, etime, pstime, petime, rstime, retime, estime, eetime;
	int action;
	int uid, gid, request_id;
} lab_history;

typedef struct lab_host {
	int id;
	char name[ONE_NAMELEN];
	int state;
	long total_mem_kb; /* HOST_SHARE TOTAL_MEM/MAX_MEM */
	int total_cpu;     /* cores × 100 */
} lab_host;

typedef struct lab_vm {
	int id;
	char name[ONE_NAMELEN];
	int state, lcm_state;
	long stime, etime;
	int cpu;                  /* TEMPLATE/CPU */
	int memory_mb;            /* TEMPLATE/MEMORY */
	char ip[48];              /* TEMPLATE/NIC/IP and CONTEXT/ETH0_IP; empty if none */
	char mac[24];             /* TEMPLATE/NIC/MAC */
	char error[ONE_ERRORLEN]; /* USER_TEMPLATE/ERROR, empty if none */
	int unprepared;           /* no USER_TEMPLATE/THEMIS_TYPE=VM (the default has it) */
	int migrating_live;       /* the migration in progress is live (1) or cold (0) */
	one_ctxvar *ctx;          /* TEMPLATE/CONTEXT: its context.sh (owned) */
	size_t nctx;              /* 0: ETH0_IP, ETH0_MAC, NETWORK=YES */
	lab_history *hist;
	size_t nhist, caphist;
} lab_vm;

/* Told of a VM whose STATE or LCM_STATE just changed; vm is in its new state. */
typedef void (*one_state_fn)(void *ctx, const lab_vm *vm);

typedef struct one_model {
	lab_host hosts[ONE_MAX_HOSTS];
	size_t nhosts;
	lab_vm vms[ONE_MAX_VMS];
	size_t nvms;
	one_state_fn on_state; /* NULL = nobody listens */
	void *on_state_ctx;
} one_model;

/* Empty model. */
void one_model_init(one_model *m);
/* Frees history arrays. */
void one_model_free(one_model *m);

/* Calls fn(ctx, vm) after every STATE/LCM_STATE change from now on (NULL: none). */
void one_model_on_state(one_model *m, one_state_fn fn, void *ctx);

/* Adds a MONITORED host with the next ID (0, 1, ...). Returns 0, or -1 when full. */
int one_model_add_host(one_model *m, const char *name, long total_mem_kb, int total_cpu);

/* Adds a VM with the next ID, ACTIVE/RUNNING on host hid since `now` (history SEQ 0).
 * ip and mac may be NULL. Returns the ID, or -1 (full, unknown host, out of memory). */
int one_model_add_vm(one_model *m, const char *name, int hid, int cpu, int memory_mb,
                     const char *ip, const char *mac, long now);

lab_vm *one_model_vm(one_model *m, int id);
lab_host *one_model_host(one_model *m, int id);
/* Last history record, or NULL. */
lab_history *lab_vm_last(lab_vm *vm);
/* Host ID of the last history record (-1 if none). */
int lab_vm_hid(const lab_vm *vm);

/* What oned prints in "not available for state X": the LCM name when ACTIVE, else the VM state
 * name (one_vm_display_state). */
const char *lab_vm_state_str(const lab_vm *vm);

/* one.vm.migrate validation and request (§2.1 steps 1, 2, 3, 4, 6). On success appends record
 * n+1 on host hid with every time 0 and returns 0; the LCM has not started yet (transient
 * window). On refusal fills *f and returns -1. */
int one_migrate_request(one_model *m, int vm_id, int hid, int live, int ds_id, one_fail *f);

/* The LCM starts the migration requested before (record n+1 STIME = now). live: LCM MIGRATE,
 * record n ACTION=2 with the requester's uid/gid and request id; cold: SAVE_MIGRATE, ACTION=1
 * on both records. Returns 0, or -1 when the VM is not waiting for one. */
int one_migrate_begin(one_model *m, int vm_id, int uid, int gid, int request_id, long now);

/* Cold migration only: save done (record n closed, n+1 PSTIME) then PROLOG_MIGRATE; prolog
 * done (n+1 PETIME=RSTIME) then BOOT_MIGRATE. Return -1 when not in the expected LCM state. */
int one_migrate_saved(one_model *m, int vm_id, long now);
int one_migrate_prologued(one_model *m, int vm_id, long now);

/* The driver reported success: RUNNING on the target. */
int one_migrate_success(one_model *m, int vm_id, long now);

/* The driver reported failure with driver_msg: RUNNING on the source again with the 3-record
 * rollback and USER_TEMPLATE/ERROR (6.6+ format). */
int one_migrate_failure(one_model *m, int vm_id, const char *driver_msg, long now);

/* The hypervisor lost the VM during a migration: rollback as a failure, then monitoring finds
 * the domain gone: POWEROFF (STATE 8, LCM 0), running time of the last record closed. */
int one_migrate_lost(one_model *m, int vm_id, const char *driver_msg, long now);

/* Writes USER_TEMPLATE/ERROR the way oned does: "<ctime>: <prefix>: <msg>" cut at 100
 * characters of "<prefix>: <msg>" with "... see more details in VM log" appended when cut. */
void one_format_error(char *out, size_t outlen, const char *prefix, const char *msg, long now);

/* one.vm.action(action, id). Only "resume" is carried out (POWEROFF -> ACTIVE/BOOT_POWEROFF);
 * returns 0 when the caller must now boot the VM on lab_vm_hid(), -1 with *f on refusal. */
int one_vm_action(one_model *m, const char *action, int vm_id, long now, one_fail *f);

/* The boot after a resume finished: RUNNING. */
int one_vm_booted(one_model *m, int vm_id, long now);

/* Puts the VM in STATE/LCM_STATE (an outcome decided outside the model, e.g. a boot that
 * failed) and reports the change. Returns 0, or -1 for an unknown VM. */
int one_vm_set_state(one_model *m, int vm_id, int state, int lcm);

/* one.vm.recover(id, op) for a VM in a migration: op 0 -> failure path (rollback), op 1 ->
 * success path. Returns 0, -1 with *f on refusal. */
int one_vm_recover(one_model *m, int vm_id, int op, long now, one_fail *f);

#endif
