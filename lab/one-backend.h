/* one-backend.h — what the lab endpoint asks of a hypervisor backend: carry out one migration
 * (blocking, from a worker thread) and boot a VM again after a loss. Two backends exist:
 * `sim` (in-process, migrations take a configured time) and `qemu` (real QMP migrations).
 */
#ifndef TH_LAB_ONE_BACKEND_H
#define TH_LAB_ONE_BACKEND_H

#include <stddef.h>

#include "one-fault.h"

typedef struct one_migration {
	int vm_id;
	const char *vm_name;
	int src_hid, dst_hid;
	const char *src_host, *dst_host;
	int live;
	lab_fault
	    fault; /* fail / lose are carried out by the backend; hang and slow by the caller */
} one_migration;

typedef enum one_mig_result {
	ONE_MIG_OK = 0, /* the VM runs on the destination */
	ONE_MIG_FAILED, /* the VM still runs on the source; msg says why */
	ONE_MIG_LOST,   /* the VM runs nowhere any more */
} one_mig_result;

typedef struct one_backend {
	const char *name;
	void *ctx;
	/* Migrates and returns the outcome; on failure writes the driver message into msg. */
	one_mig_result (*migrate)(void *ctx, const one_migration *mig, char *msg, size_t msglen);
	/* Starts the VM afresh on host hid (resume after a loss). 0, or -1 with msg. */
	int (*boot)(void *ctx, int vm_id, const char *vm_name, int hid, const char *host, char *msg,
	            size_t msglen);
	void (*destroy)(void *ctx);
} one_backend;

/* sim: a migration takes duration_ms; an injected fail/lose takes the same time. */
int one_backend_sim_init(one_backend *b, long duration_ms);

/* qemu: hook is the program that starts/stops QEMU processes (themis-lab's helper), qmp_dir
 * holds the QMP sockets <vm>.<host>.qmp, info_dir receives <vm>.migration (key=value). */
int one_backend_qemu_init(one_backend *b, const char *hook, const char *qmp_dir,
                          const char *info_dir, char *errbuf);

#endif
