/* one-events.h — the hook-manager STATE event oned publishes for a VM, built apart from any
 * socket (notes/opennebula-api.md §4.6; oned's HookStateVM::format_message and the driver
 * src/hm_mad/one_hm.rb). Per change of STATE/LCM_STATE, two messages of two frames each:
 *   "EVENT VM <id>/<STATE>/<LCM_STATE> "        then the payload
 *   "EVENT STATE VM/<STATE>/<LCM_STATE>/<id> "  then the same payload
 * (state names as VirtualMachine::vm_state_to_str / lcm_state_to_str write them, a trailing
 * space). The payload is the base64 (standard alphabet, padded, no line breaks) of
 *   <HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT>
 *   <STATE>name</STATE><LCM_STATE>name</LCM_STATE><RESOURCE_ID>id</RESOURCE_ID>
 *   <REMOTE_HOST>host of the last history record</REMOTE_HOST><VM>one.vm.info's document</VM>
 *   </HOOK_MESSAGE>
 * with no XML declaration and no namespace. Pure: model in, text out.
 */
#ifndef TH_LAB_ONE_EVENTS_H
#define TH_LAB_ONE_EVENTS_H

#include <stddef.h>

#include "one-model.h"
#include "one-xml.h"
#include "th-error.h"

#define ONE_EVENT_KEYLEN 160

typedef struct one_event {
	char key_vm[ONE_EVENT_KEYLEN];    /* "EVENT VM 42/ACTIVE/MIGRATE " */
	char key_state[ONE_EVENT_KEYLEN]; /* "EVENT STATE VM/ACTIVE/MIGRATE/42 " */
	char *payload;                    /* base64 of the HOOK_MESSAGE, NUL-terminated */
	size_t payload_len;
} one_event;

/* Writes both keys of vm's current state (ONE_EVENT_KEYLEN bytes each). */
void one_event_keys(const lab_vm *vm, char *key_vm, char *key_state);

/* Appends vm's <HOOK_MESSAGE> document to b (b->failed on allocation failure). */
void one_hook_message(one_buf *b, const lab_vm *vm, const one_owner *o);

/* Base64 of len bytes into a malloc'ed NUL-terminated *out (length *outlen). */
th_err one_base64(const void *bin, size_t len, char **out, size_t *outlen, char *errbuf);

/* Builds the keys and payload of vm's current state. On error nothing is left to free. */
th_err one_event_build(one_event *ev, const lab_vm *vm, const one_owner *o, char *errbuf);

/* Frees the payload; the event may be built again. */
void one_event_free(one_event *ev);

#endif
