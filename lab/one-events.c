/* one-events.c — hook-manager STATE events of the lab endpoint (see one-events.h). */
#include "themis-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "one-events.h"
#include "one-names.h"

void one_event_keys(const lab_vm *vm, char *key_vm, char *key_state)
{
	const char *st = one_vm_state_name(vm->state), *lcm = one_lcm_state_name(vm->lcm_state);

	snprintf(key_vm, ONE_EVENT_KEYLEN, "EVENT VM %d/%s/%s ", vm->id, st, lcm);
	snprintf(key_state, ONE_EVENT_KEYLEN, "EVENT STATE VM/%s/%s/%d ", st, lcm, vm->id);
}

void one_hook_message(one_buf *b, const lab_vm *vm, const one_owner *o)
{
	one_buf_printf(b,
	               "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT>"
	               "<STATE>%s</STATE><LCM_STATE>%s</LCM_STATE><RESOURCE_ID>%d</RESOURCE_ID>",
	               one_vm_state_name(vm->state), one_lcm_state_name(vm->lcm_state), vm->id);
	/* oned writes the host of the last history record, or an empty element without one */
	if (vm->nhist > 0) {
		one_buf_printf(b, "<REMOTE_HOST>");
		one_buf_text(b, vm->hist[vm->nhist - 1].hostname);
		one_buf_printf(b, "</REMOTE_HOST>");
	} else {
		one_buf_printf(b, "<REMOTE_HOST/>");
	}
	one_xml_vm(b, vm, o);
	one_buf_printf(b, "</HOOK_MESSAGE>");
}

th_err one_base64(const void *bin, size_t len, char **out, size_t *outlen, char *errbuf)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);

	*out = NULL;
	*outlen = 0;
	if (s == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "base64 of %zu bytes: out of memory", len);
	sodium_bin2base64(s, cap, bin, len, sodium_base64_VARIANT_ORIGINAL);
	*out = s;
	*outlen = strlen(s);
	return TH_OK;
}

th_err one_event_build(one_event *ev, const lab_vm *vm, const one_owner *o, char *errbuf)
{
	one_buf b = {0};
	th_err e;

	ev->payload = NULL;
	ev->payload_len = 0;
	one_event_keys(vm, ev->key_vm, ev->key_state);
	one_hook_message(&b, vm, o);
	if (b.failed || b.s == NULL) {
		one_buf_free(&b);
		return th_seterr(errbuf, TH_ERR_NOMEM, "HOOK_MESSAGE of VM %d: out of memory",
		                 vm->id);
	}
	e = one_base64(b.s, b.len, &ev->payload, &ev->payload_len, errbuf);
	one_buf_free(&b);
	return e;
}

void one_event_free(one_event *ev)
{
	free(ev->payload);
	ev->payload = NULL;
	ev->payload_len = 0;
}
