/* fuzz-hook-msg.c — libFuzzer harness for oned's hook events (trigger/hook-msg.h) and what the
 * watcher does with them (trigger/watch-core.h). Input: byte 0 picks the form of the body
 * (even: base64 as given; odd: raw XML, base64-encoded here so the XML parser is reached), then
 * the key frame up to the first '\n', then the body frame. An accepted message's <VM> document
 * goes through the watcher's state machine twice (a repeated event), a tick, and a shutdown:
 * the markers of each call must fit its buffer and name the session they belong to. */
#include "themis-config.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "hook-msg.h"
#include "watch-core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fh_check(const wc_out *o)
{
	if (o->n > WC_OUT_MAX)
		abort();
	for (size_t i = 0; i < o->n; i++)
		if (o->m[i].session[0] == '\0' || o->m[i].origin != TH_ORIGIN_OBSERVED)
			abort();
}

static void fh_watch(const one_vm *vm)
{
	wc_conf c = {60, 30, 600, 1718003500};
	wc_vm w;
	wc_out out;
	int guard = 0;

	wc_vm_init(&w, vm->id, vm->name);
	for (int pass = 0; pass < 2; pass++) {
		bool more;
		do {
			out.n = 0;
			more = wc_observe(&w, &c, vm, 1718003600 + pass, 7, &out);
			fh_check(&out);
		} while (more && ++guard < 1000);
	}
	out.n = 0;
	wc_tick(&w, &c, 1718004600, &out);
	fh_check(&out);
	out.n = 0;
	wc_shutdown(&w, 1718004601, &out);
	fh_check(&out);
	if (wc_busy(&w))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl, *body;
	size_t klen, blen;
	hook_key k;
	hook_msg m;
	char err[TH_ERRLEN], *enc = NULL;

	if (size < 1)
		return 0;
	nl = memchr(data + 1, '\n', size - 1);
	klen = nl != NULL ? (size_t)(nl - (const char *)data - 1) : size - 1;
	hook_key_parse((const char *)data + 1, klen, &k, err);
	body = nl != NULL ? nl + 1 : (const char *)data + size;
	blen = (size_t)((const char *)data + size - body);
	if (data[0] & 1) {
		size_t l = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL);
		enc = malloc(l);
		if (enc == NULL)
			return 0;
		sodium_bin2base64(enc, l, (const unsigned char *)body, blen,
		                  sodium_base64_VARIANT_ORIGINAL);
		body = enc;
		blen = strlen(enc);
	}
	if (hook_msg_parse(body, blen, &m, err) == TH_OK) {
		fh_watch(&m.vm);
		hook_msg_free(&m);
	}
	free(enc);
	xmlResetLastError();
	return 0;
}
