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

typedef enum one_fault_kind {
	ONE_FAULT_NONE = 0,
	ONE_FAULT_FAIL,
	ONE_FAULT_HANG,
	ONE_FAULT_LOSE,
	ONE_FAULT_SLOW,
} one_fault_kind;

typedef struct one_fault {
	one_fault_kind kind;
	long slow_ms;
} one_fault;

/* Parses one fault line (surrounding blanks and a trailing newline ignored; empty = none). */
th_err one_fault_parse(const char *text, one_fault *f, char *errbuf);

/* Takes the fault for VM vm_id from dir: "<dir>/fault.<vm_id>" first, else "<dir>/fault". The
 * file is removed once read, so a fault applies to one migration. No file: ONE_FAULT_NONE. */
th_err one_fault_take(const char *dir, int vm_id, one_fault *f, char *errbuf);

#endif
