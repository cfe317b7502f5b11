/* fuzz-vm-xml.c — libFuzzer harness for the OpenNebula document parsers of trigger/vm-xml.c:
 * every input goes to one_vm_parse, one_vmpool_parse and one_hostpool_parse (each refuses the
 * others' root element), and what they return is walked the way the trigger walks it. */
#include "themis-config.h"

#include <stdint.h>
#include <stdlib.h>

#include <libxml/parser.h>

#include "vm-xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the trigger reads of a parsed VM: its newest record and the one of each SEQ. */
static void fv_walk(const one_vm *vm)
{
	const one_history *last = one_vm_last(vm);

	if ((last == NULL) != (vm->nhist == 0))
		abort();
	for (size_t i = 0; i < vm->nhist; i++)
		if (one_vm_seq(vm, vm->hist[i].seq) == NULL)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	char err[TH_ERRLEN];
	one_vm vm, *vms = NULL;
	one_host *hosts = NULL;
	size_t n = 0;

	if (one_vm_parse(xml, size, &vm, err) == TH_OK) {
		fv_walk(&vm);
		one_vm_free(&vm);
	}
	if (one_vmpool_parse(xml, size, &vms, &n, err) == TH_OK) {
		for (size_t i = 0; i < n; i++)
			fv_walk(&vms[i]);
		one_vm_array_free(vms, n);
	}
	if (one_hostpool_parse(xml, size, &hosts, &n, err) == TH_OK)
		free(hosts);
	xmlResetLastError();
	return 0;
}
