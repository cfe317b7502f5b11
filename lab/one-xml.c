/* one-xml.c — XML documents of the lab endpoint (see one-xml.h). */
#include "themis-config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "one-xml.h"

const one_owner one_lab_owner = {"oneadmin", "oneadmin"};

void one_buf_free(one_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}

static int one_buf_reserve(one_buf *b, size_t extra)
{
	size_t cap;
	char *n;

	if (b->failed)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + extra + 1)
		cap *= 2;
	n = realloc(b->s, cap);
	if (n == NULL) {
		b->failed = 1;
		return -1;
	}
	b->s = n;
	b->cap = cap;
	return 0;
}

void one_buf_printf(one_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || one_buf_reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void one_buf_put(one_buf *b, const char *s, size_t n)
{
	if (one_buf_reserve(b, n) != 0)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void one_buf_text(one_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			one_buf_put(b, "&amp;", 5);
			break;
		case '<':
			one_buf_put(b, "&lt;", 4);
			break;
		case '>':
			one_buf_put(b, "&gt;", 4);
			break;
		default:
			one_buf_put(b, s, 1);
		}
	}
}

void one_buf_cdata(one_buf *b, const char *s)
{
	const char *end;

	one_buf_put(b, "<![CDATA[", 9);
	while ((end = strstr(s, "]]>")) != NULL) {
		/* close the section after "]]" and reopen it before ">" */
		one_buf_put(b, s, (size_t)(end - s) + 2);
		one_buf_put(b, "]]><![CDATA[", 12);
		s = end + 2;
	}
	one_buf_put(b, s, strlen(s));
	one_buf_put(b, "]]>", 3);
}

/* <NAME><![CDATA[value]]></NAME> */
static void one_cdata_el(one_buf *b, const char *name, const char *value)
{
	one_buf_printf(b, "<%s>", name);
	one_buf_cdata(b, value);
	one_buf_printf(b, "</%s>", name);
}

static void one_text_el(one_buf *b, const char *name, const char *value)
{
	one_buf_printf(b, "<%s>", name);
	one_buf_text(b, value);
	one_buf_printf(b, "</%s>", name);
}

static void one_xml_history(one_buf *b, int oid, const lab_history *r)
{
	one_buf_printf(b, "<HISTORY><OID>%d</OID><SEQ>%d</SEQ>", oid, r->seq);
	one_text_el(b, "HOSTNAME", r->hostname);
	one_buf_printf(b, "<HID>%d</HID><CID>0</CID><STIME>%ld</STIME><ETIME>%ld</ETIME>", r->hid,
	               r->stime, r->etime);
	one_cdata_el(b, "VM_MAD", "kvm");
	one_cdata_el(b, "TM_MAD", "shared");
	one_buf_printf(b,
	               "<DS_ID>0</DS_ID><PSTIME>%ld</PSTIME><PETIME>%ld</PETIME>"
	               "<RSTIME>%ld</RSTIME><RETIME>%ld</RETIME><ESTIME>%ld</ESTIME>"
	               "<EETIME>%ld</EETIME><ACTION>%d</ACTION><UID>%d</UID><GID>%d</GID>"
	               "<REQUEST_ID>%d</REQUEST_ID></HISTORY>",
	               r->pstime, r->petime, r->rstime, r->retime, r->estime, r->eetime, r->action,
	               r->uid, r->gid, r->request_id);
}

static void one_xml_history_short(one_buf *b, int oid, const lab_history *r)
{
	char action[16];

	one_buf_printf(b, "<HISTORY><OID>%d</OID><SEQ>%d</SEQ>", oid, r->seq);
	one_cdata_el(b, "HOSTNAME", r->hostname);
	one_buf_printf(b, "<HID>%d</HID><CID>0</CID><DS_ID>0</DS_ID>", r->hid);
	one_cdata_el(b, "VM_MAD", "kvm");
	one_cdata_el(b, "TM_MAD", "shared");
	snprintf(action, sizeof action, "%d", r->action);
	one_cdata_el(b, "ACTION", action);
	one_buf_printf(b, "</HISTORY>");
}

static void one_xml_nic(one_buf *b, const lab_vm *vm)
{
	if (vm->ip[0] == '\0' && vm->mac[0] == '\0')
		return;
	one_buf_printf(b, "<NIC>");
	if (vm->ip[0])
		one_cdata_el(b, "IP", vm->ip);
	if (vm->mac[0])
		one_cdata_el(b, "MAC", vm->mac);
	one_cdata_el(b, "NETWORK", "lab");
	one_cdata_el(b, "NIC_ID", "0");
	one_buf_printf(b, "</NIC>");
}

/* TEMPLATE's CPU, MEMORY and NIC, in the full and the pool VM documents alike. */
static void one_xml_template_common(one_buf *b, const lab_vm *vm)
{
	char num[32];

	snprintf(num, sizeof num, "%d", vm->cpu);
	one_cdata_el(b, "CPU", num);
	snprintf(num, sizeof num, "%d", vm->memory_mb);
	one_cdata_el(b, "MEMORY", num);
	one_xml_nic(b, vm);
}

/* USER_TEMPLATE: the ERROR a failed operation left, and THEMIS_TYPE=VM (a VM prepared for
 * measurement, as the original tool marked them) unless the VM is unprepared. */
static void one_xml_user_template(one_buf *b, const lab_vm *vm)
{
	if (vm->error[0] || !vm->unprepared) {
		one_buf_printf(b, "<USER_TEMPLATE>");
		if (vm->error[0])
			one_cdata_el(b, "ERROR", vm->error);
		if (!vm->unprepared)
			one_cdata_el(b, "THEMIS_TYPE", "VM");
		one_buf_printf(b, "</USER_TEMPLATE>");
	} else {
		one_buf_printf(b, "<USER_TEMPLATE/>");
	}
}

static void one_xml_vm_head(one_buf *b, const lab_vm *vm, const one_owner *o)
{
	one_buf_printf(b, "<VM><ID>%d</ID><UID>0</UID><GID>0</GID>", vm->id);
	one_text_el(b, "UNAME", o->uname);
	one_text_el(b, "GNAME", o->gname);
	one_text_el(b, "NAME", vm->name);
}

void one_xml_vm(one_buf *b, const lab_vm *vm, const one_owner *o)
{
	char num[32];

	one_xml_vm_head(b, vm, o);
	one_buf_printf(b,
	               "<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A>"
	               "<GROUP_U>0</GROUP_U><GROUP_M>0</GROUP_M><GROUP_A>0</GROUP_A>"
	               "<OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A>"
	               "</PERMISSIONS><LAST_POLL>0</LAST_POLL>");
	/* PREV_* equal the current values: oned overwrites them on every update (§3.1) */
	one_buf_printf(b,
	               "<STATE>%d</STATE><LCM_STATE>%d</LCM_STATE><PREV_STATE>%d</PREV_STATE>"
	               "<PREV_LCM_STATE>%d</PREV_LCM_STATE><RESCHED>0</RESCHED>"
	               "<STIME>%ld</STIME><ETIME>%ld</ETIME><DEPLOY_ID>one-%d</DEPLOY_ID>",
	               vm->state, vm->lcm_state, vm->state, vm->lcm_state, vm->stime, vm->etime,
	               vm->id);
	one_buf_printf(b, "<MONITORING/><SCHED_ACTIONS></SCHED_ACTIONS><TEMPLATE><CONTEXT>");
	if (vm->nctx > 0) {
		/* the variables of the VM's context.sh, as the guest sees them on its CD */
		for (size_t i = 0; i < vm->nctx; i++)
			one_cdata_el(b, vm->ctx[i].name, vm->ctx[i].value);
	} else {
		if (vm->ip[0])
			one_cdata_el(b, "ETH0_IP", vm->ip);
		if (vm->mac[0])
			one_cdata_el(b, "ETH0_MAC", vm->mac);
		one_cdata_el(b, "NETWORK", "YES");
	}
	one_buf_printf(b, "</CONTEXT>");
	one_xml_template_common(b, vm);
	one_cdata_el(b, "TM_MAD_SYSTEM", "shared");
	snprintf(num, sizeof num, "%d", vm->id);
	one_cdata_el(b, "VMID", num);
	one_buf_printf(b, "</TEMPLATE>");
	one_xml_user_template(b, vm);
	one_buf_printf(b, "<HISTORY_RECORDS>");
	for (size_t i = 0; i < vm->nhist; i++)
		one_xml_history(b, vm->id, &vm->hist[i]);
	one_buf_printf(b, "</HISTORY_RECORDS><BACKUPS><BACKUP_CONFIG/><BACKUP_IDS></BACKUP_IDS>"
	                  "</BACKUPS></VM>");
}

static void one_xml_vm_short(one_buf *b, const lab_vm *vm, const one_owner *o)
{
	one_xml_vm_head(b, vm, o);
	one_buf_printf(b,
	               "<LAST_POLL>0</LAST_POLL><STATE>%d</STATE><LCM_STATE>%d</LCM_STATE>"
	               "<RESCHED>0</RESCHED><STIME>%ld</STIME><ETIME>%ld</ETIME>"
	               "<DEPLOY_ID>one-%d</DEPLOY_ID><TEMPLATE>",
	               vm->state, vm->lcm_state, vm->stime, vm->etime, vm->id);
	one_xml_template_common(b, vm);
	one_buf_printf(b, "</TEMPLATE><MONITORING/>");
	one_xml_user_template(b, vm);
	one_buf_printf(b, "<HISTORY_RECORDS>");
	if (vm->nhist > 0)
		one_xml_history_short(b, vm->id, &vm->hist[vm->nhist - 1]);
	one_buf_printf(b, "</HISTORY_RECORDS></VM>");
}

int one_xml_vmpool(one_buf *b, const one_model *m, const one_owner *o, int filter_flag,
                   int start_id, int end_id, int state, one_fail *f)
{
	long skip = 0, limit = -1;

	if (filter_flag < -4) {
		f->code = ONE_E_XML_RPC_API;
		f->resp_id = -1;
		snprintf(f->msg, sizeof f->msg, "Incorrect filter_flag");
		return -1;
	}
	if (state < -2 || state > 11) {
		f->code = ONE_E_XML_RPC_API;
		f->resp_id = -1;
		snprintf(f->msg, sizeof f->msg, "Incorrect filter_flag, state");
		return -1;
	}
	if (end_id < -1) {
		/* page: start_id is the offset, -end_id the page size */
		skip = start_id > 0 ? start_id : 0;
		limit = -(long)end_id;
		start_id = end_id = -1;
	}
	one_buf_printf(b, "<VM_POOL>");
	for (size_t i = 0; i < m->nvms; i++) {
		const lab_vm *vm = &m->vms[i];

		/* every lab VM belongs to UID 0: a filter on another UID sees nothing */
		if (filter_flag > 0)
			break;
		if (start_id != -1 && vm->id < start_id)
			continue;
		if (end_id != -1 && vm->id > end_id)
			continue;
		if (state == -1 && vm->state == ONE_VM_DONE)
			continue;
		if (state >= 0 && vm->state != state)
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		if (limit == 0)
			break;
		if (limit > 0)
			limit--;
		one_xml_vm_short(b, vm, o);
	}
	one_buf_printf(b, "</VM_POOL>");
	return 0;
}

void one_xml_host(one_buf *b, const one_model *m, const lab_host *h)
{
	long mem_usage = 0;
	int cpu_usage = 0, running = 0;

	for (size_t i = 0; i < m->nvms; i++) {
		const lab_vm *vm = &m->vms[i];

		if (lab_vm_hid(vm) == h->id && vm->state == ONE_VM_ACTIVE) {
			mem_usage += (long)vm->memory_mb * 1024;
			cpu_usage += vm->cpu * 100;
			running++;
		}
	}
	one_buf_printf(b, "<HOST><ID>%d</ID>", h->id);
	one_text_el(b, "NAME", h->name);
	one_buf_printf(b, "<STATE>%d</STATE><PREV_STATE>%d</PREV_STATE>", h->state, h->state);
	one_cdata_el(b, "IM_MAD", "kvm");
	one_cdata_el(b, "VM_MAD", "kvm");
	one_buf_printf(b,
	               "<CLUSTER_ID>0</CLUSTER_ID><CLUSTER>default</CLUSTER><HOST_SHARE>"
	               "<MEM_USAGE>%ld</MEM_USAGE><CPU_USAGE>%d</CPU_USAGE>"
	               "<TOTAL_MEM>%ld</TOTAL_MEM><TOTAL_CPU>%d</TOTAL_CPU>"
	               "<MAX_MEM>%ld</MAX_MEM><MAX_CPU>%d</MAX_CPU>"
	               "<RUNNING_VMS>%d</RUNNING_VMS><VMS_THREAD>1</VMS_THREAD><DATASTORES>",
	               mem_usage, cpu_usage, h->total_mem_kb, h->total_cpu, h->total_mem_kb,
	               h->total_cpu, running);
	one_cdata_el(b, "DISK_USAGE", "0");
	one_cdata_el(b, "FREE_DISK", "0");
	one_cdata_el(b, "MAX_DISK", "0");
	one_cdata_el(b, "USED_DISK", "0");
	one_buf_printf(b, "</DATASTORES><PCI_DEVICES></PCI_DEVICES><NUMA_NODES></NUMA_NODES>"
	                  "</HOST_SHARE><VMS>");
	for (size_t i = 0; i < m->nvms; i++)
		if (lab_vm_hid(&m->vms[i]) == h->id && m->vms[i].state != ONE_VM_DONE)
			one_buf_printf(b, "<ID>%d</ID>", m->vms[i].id);
	one_buf_printf(b, "</VMS><TEMPLATE>");
	one_cdata_el(b, "HOSTNAME", h->name);
	one_cdata_el(b, "HYPERVISOR", "kvm");
	one_cdata_el(b, "IM_MAD", "kvm");
	one_cdata_el(b, "VM_MAD", "kvm");
	one_buf_printf(b, "</TEMPLATE><MONITORING/></HOST>");
}

void one_xml_hostpool(one_buf *b, const one_model *m)
{
	one_buf_printf(b, "<HOST_POOL>");
	for (size_t i = 0; i < m->nhosts; i++)
		one_xml_host(b, m, &m->hosts[i]);
	one_buf_printf(b, "</HOST_POOL>");
}
