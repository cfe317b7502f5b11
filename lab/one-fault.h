/* one-fault.h — fault injection for the lab endpoint. A fault is a one-line text read (and
 * removed) from a control file when a migration starts:
 *   fail        the migration fails (rollback to the source)
 *   hang        the migration never finishes (stays in MIGRATE until one.vm.recover)
 *   lose        the hypervisor loses the VM (POWEROFF after the rollback)
 *   slow MS     the migration takes MS milliseconds longer
 */
#ifndef TH_LAB_ONE_FAULT_H
#define TH_LAB_ONE_FAULT_H

#include "th-error.h"

typedef enum lab_fault_kind {
	LAB_FAULT_NONE = 0,
	LAB_FAULT_FAIL,
	LAB_FAULT_HANG,
	LAB_FAULT_LOSE,
	LAB_FAULT_SLOW,
} lab_fault_kind;

typedef struct lab_fault {
	lab_fault_kind kind;
	long slow_ms;
} lab_fault;

/* Parses one fault line (surrounding blanks and a trailing newline ignored; empty = none). */
th_err lab_fault_parse(const char *text, lab_fault *f, char *errbuf);

/* Takes the fault for VM vm_id from dir: "<dir>/fault.<vm_id>" first, else "<dir>/fault". The
 * file is removed once read, so a fault applies to one migration. No file: LAB_FAULT_NONE. */
th_err lab_fault_take(const char *dir, int vm_id, lab_fault *f, char *errbuf);

#endif
