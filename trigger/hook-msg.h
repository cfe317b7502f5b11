/* hook-msg.h — oned's hook-manager events as they come off its ZeroMQ PUB socket (notes §4.6):
 * the key frame ("EVENT VM 42/ACTIVE/MIGRATE " or "EVENT STATE VM/ACTIVE/MIGRATE/42 ") and the
 * base64 <HOOK_MESSAGE> frame (HOOK_TYPE, HOOK_OBJECT, STATE, LCM_STATE, RESOURCE_ID, then the
 * full <VM> document). Pure: no sockets. Both frames are outside input: bounded, parsed
 * strictly, every refusal a message naming what was wrong. */
#ifndef TH_TRIGGER_HOOK_MSG_H
#define TH_TRIGGER_HOOK_MSG_H

#include <stddef.h>

#include "th-error.h"
#include "vm-xml.h"

#define HOOK_MSG_MAX     (1024 * 1024) /* bytes of a decoded <HOOK_MESSAGE> */
#define HOOK_MSG_B64_MAX (HOOK_MSG_MAX / 3 * 4 + HOOK_MSG_MAX / 32 + 16) /* with line breaks */
#define HOOK_KEY_MAX     256                                             /* bytes of a key frame */

/* The subscription prefix the watcher uses (one of the two keys oned publishes per change). */
#define HOOK_VM_PREFIX "EVENT VM "

typedef struct hook_key {
	int vm_id;
	char state[32]; /* VM STATE name, e.g. "ACTIVE" */
	char lcm[48];   /* LCM_STATE name, e.g. "MIGRATE"; "" when the key has none */
} hook_key;

typedef struct hook_msg {
	int resource_id;
	char state[32], lcm[48]; /* names as in the key */
	one_vm vm;               /* the embedded <VM>; free with one_vm_free */
} hook_msg;

/* Parse a key frame (len bytes, not NUL-terminated). TH_ERR_NOTFOUND for a well-formed key of
 * another object (a HOST event); TH_ERR_INVALID for anything malformed. */
th_err hook_key_parse(const char *key, size_t len, hook_key *k, char *errbuf);

/* Decode the base64 frame (len bytes; line breaks allowed) and parse the <HOOK_MESSAGE>.
 * TH_ERR_TOOBIG over HOOK_MSG_MAX decoded bytes (refused before decoding when the frame alone
 * says so), TH_ERR_NOTFOUND for a well-formed message that is not a VM STATE hook,
 * TH_ERR_PARSE / TH_ERR_INVALID otherwise (bad base64, bad XML, RESOURCE_ID differing from the
 * VM's ID). On success m->vm owns memory: hook_msg_free. */
th_err hook_msg_parse(const char *b64, size_t len, hook_msg *m, char *errbuf);

void hook_msg_free(hook_msg *m);

#endif
