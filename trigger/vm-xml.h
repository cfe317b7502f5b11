/* vm-xml.h — OpenNebula documents parsed with libxml2 into plain structs: one.vm.info <VM>,
 * one.vmpool.info <VM_POOL> (short bodies), one.hostpool.info <HOST_POOL>. Only the fields the
 * trigger uses; CDATA and plain text are read alike. */
#ifndef TH_TRIGGER_VM_XML_H
#define TH_TRIGGER_VM_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-error.h"
#include "th-limits.h"
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
	/* TEMPLATE/CONTEXT as the guest sees it (raw text, "" if absent; checked by
	 * one_vm_context): THEMIS_TYPE, THEMIS_REFLECT_PORT, THEMIS_REFLECT_KEY */
	char ctx_type[32];
	char ctx_port[32];
	char ctx_key[320];
	one_history *hist; /* in document order (ascending SEQ) */
	size_t nhist;
} one_vm;

typedef struct one_host {
	int id;
	char name[TH_NAME_MAX];
	int state;
} one_host;

/* What a VM's context says about its reflector (doc/contextualization.md). */
typedef struct one_context {
	bool reflector; /* CONTEXT/THEMIS_TYPE=VM: the guest starts its reflector at boot */
	int port;       /* CONTEXT/THEMIS_REFLECT_PORT, else TH_REFLECT_PORT */
	char key[TH_KEY_MAX + 1]; /* CONTEXT/THEMIS_REFLECT_KEY's bytes, "" = keyless */
	size_t key_len;
} one_context;

/* Read and check the context variables of vm: the port digits only, 1..65535; the key
 * TH_KEY_MIN..TH_KEY_MAX bytes without a newline. Without THEMIS_TYPE=VM in the
 * context, c->reflector is false and the other variables are not checked. TH_ERR_INVALID names
 * the VM and the variable. */
th_err one_vm_context(const one_vm *vm, one_context *c, char *errbuf);

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
