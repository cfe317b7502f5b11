/* vm-xml.h — OpenNebula documents parsed with libxml2 into plain structs: one.vm.info <VM>,
 * one.vmpool.info <VM_POOL> (short bodies), one.hostpool.info <HOST_POOL>. Only the fields the
 * trigger uses; CDATA and plain text are read alike. */
#ifndef TH_TRIGGER_VM_XML_H
#define TH_TRIGGER_VM_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-error.h"
#include "th-record.h"

/* One HISTORY_RECORDS/HISTORY. Times are epoch seconds, 0 = unset; -1 when the element is
 * absent (short pool bodies carry no times). */
typedef struct one_history {
	int seq;
	int hid;
	char hostname[TH_NAME_MAX];
	int64_t stime, etime, pstime, petime, rstime, retime;
	int action;
} one_history;

typedef struct one_vm {
	int id;
	char name[TH_NAME_MAX];
	int state, lcm_state;
	char error[512];      /* USER_TEMPLATE/ERROR, "" if none */
	char themis_type[32]; /* USER_TEMPLATE/THEMIS_TYPE or TEMPLATE/CONTEXT/THEMIS_TYPE */
	char ip[64];          /* first TEMPLATE/NIC/IP, else TEMPLATE/CONTEXT/ETH0_IP; "" if none */
	one_history *hist;    /* in document order (ascending SEQ) */
	size_t nhist;
} one_vm;

typedef struct one_host {
	int id;
	char name[TH_NAME_MAX];
	int state;
} one_host;

/* Parse a one.vm.info document (root <VM>). On success *vm owns hist: free with one_vm_free. */
th_err one_vm_parse(const char *xml, size_t len, one_vm *vm, char *errbuf);

/* Parse <VM_POOL>: *vms is a malloc'd array of *n entries (each freed with one_vm_free, then the
 * array with free, or all at once with one_vm_array_free). */
th_err one_vmpool_parse(const char *xml, size_t len, one_vm **vms, size_t *n, char *errbuf);

/* Parse <HOST_POOL>: *hosts is a malloc'd array of *n entries. */
th_err one_hostpool_parse(const char *xml, size_t len, one_host **hosts, size_t *n, char *errbuf);

void one_vm_free(one_vm *vm);
void one_vm_array_free(one_vm *vms, size_t n);

/* The last history record (highest SEQ), or NULL when there is none. */
const one_history *one_vm_last(const one_vm *vm);

/* The record with SEQ seq, or NULL. */
const one_history *one_vm_seq(const one_vm *vm, int seq);

#endif
