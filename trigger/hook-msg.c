/* hook-msg.c — key and message frames of oned's hook events. Base64 through libsodium
 * (sodium_base642bin, original alphabet, padding required, CR/LF ignored as Ruby's encoder
 * writes them), XML through libxml2 with the same guards as vm-xml.c (no network, no entity
 * substitution, a DTD refused); the embedded <VM> is handed to one_vm_parse so it is read by
 * exactly the code that reads one.vm.info. */
#include "themis-config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sodium.h>

#include "hook-msg.h"

/* A state name: 1..size-1 bytes of [A-Z0-9_] (empty allowed when may_empty). */
static th_err hk_name(const char *s, size_t n, char *out, size_t size, bool may_empty,
                      const char *what, char *errbuf)
{
	if (n == 0 && !may_empty)
		return th_seterr(errbuf, TH_ERR_INVALID, "event key: empty %s name", what);
	if (n >= size)
		return th_seterr(errbuf, TH_ERR_INVALID, "event key: %s name longer than %zu bytes",
		                 what, size - 1);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "event key: %s name \"%.*s\" is not [A-Z0-9_]", what,
			                 (int)(n < 40 ? n : 40), s);
	memcpy(out, s, n);
	out[n] = '\0';
	return TH_OK;
}

static th_err hk_id(const char *s, size_t n, int *id, char *errbuf)
{
	long long x = 0;

	if (n == 0 || n > 10)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "event key: VM id \"%.*s\" is not a number",
		                 (int)(n < 40 ? n : 40), s);
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "event key: VM id \"%.*s\" is not a number", (int)n, s);
		x = x * 10 + (s[i] - '0');
	}
	if (x > INT_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID, "event key: VM id %lld out of range", x);
	*id = (int)x;
	return TH_OK;
}

/* Split s[0..n) at '/' into at most 4 parts; returns the number of parts. */
static int hk_split(const char *s, size_t n, const char *part[4], size_t plen[4])
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			if (k == 4)
				return 5;
			part[k] = s + start;
			plen[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	return k;
}

th_err hook_key_parse(const char *key, size_t len, hook_key *k, char *errbuf)
{
	const char *part[4], *p;
	size_t plen[4], n;
	int parts;
	bool state_form;
	th_err e;

	memset(k, 0, sizeof *k);
	k->vm_id = -1;
	if (len > HOOK_KEY_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID, "event key longer than %d bytes",
		                 HOOK_KEY_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "event key has a control or non-ASCII byte at %zu", i);
	if (len < 6 || memcmp(key, "EVENT ", 6) != 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "event key \"%.*s\" does not start with EVENT",
		                 (int)(len < 60 ? len : 60), key);
	p = key + 6;
	n = len - 6;
	if (n > 0 && p[n - 1] == ' ') /* oned ends every key with a space */
		n--;
	if (n >= 3 && memcmp(p, "VM ", 3) == 0) {
		state_form = false;
		p += 3;
		n -= 3;
	} else if (n >= 9 && memcmp(p, "STATE VM/", 9) == 0) {
		state_form = true;
		p += 9;
		n -= 9;
	} else {
		return th_seterr(errbuf, TH_ERR_NOTFOUND, "event key \"%.*s\": not a VM event",
		                 (int)(len < 60 ? len : 60), key);
	}
	parts = hk_split(p, n, part, plen);
	if (parts != 3)
		return th_seterr(errbuf, TH_ERR_INVALID, "event key \"%.*s\": expected %s",
		                 (int)(len < 60 ? len : 60), key,
		                 state_form ? "STATE VM/<state>/<lcm>/<id>"
		                            : "VM <id>/<state>/<lcm>");
	if (state_form)
		e = hk_id(part[2], plen[2], &k->vm_id, errbuf);
	else
		e = hk_id(part[0], plen[0], &k->vm_id, errbuf);
	if (e == TH_OK)
		e = hk_name(part[state_form ? 0 : 1], plen[state_form ? 0 : 1], k->state,
		            sizeof k->state, false, "state", errbuf);
	if (e == TH_OK)
		e = hk_name(part[state_form ? 1 : 2], plen[state_form ? 1 : 2], k->lcm,
		            sizeof k->lcm, true, "LCM state", errbuf);
	if (e != TH_OK)
		k->vm_id = -1;
	return e;
}

/* Decoded size of a base64 text, line breaks not counted (upper bound: padding counted). */
static size_t hk_b64_decoded(const char *b64, size_t len)
{
	size_t chars = 0;

	for (size_t i = 0; i < len; i++)
		chars += b64[i] != '\r' && b64[i] != '\n';
	return chars / 4 * 3 + (chars % 4) * 3 / 4;
}

static xmlNode *hk_child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

static void hk_text(const xmlNode *n, const char *name, char *buf, size_t size)
{
	xmlNode *c = hk_child(n, name);
	xmlChar *s = c != NULL ? xmlNodeGetContent(c) : NULL;

	buf[0] = '\0';
	if (s != NULL) {
		snprintf(buf, size, "%s", (const char *)s);
		xmlFree(s);
	}
}

static th_err hk_doc(const char *xml, size_t len, hook_msg *m, char *errbuf)
{
	xmlDoc *doc;
	xmlNode *root, *vmn;
	xmlBuffer *buf;
	char type[32], obj[32], rid[32], *end;
	long long x;
	th_err e;

	doc = xmlReadMemory(xml, (int)len, "HOOK_MESSAGE", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return th_seterr(errbuf, TH_ERR_PARSE, "event message is not well-formed XML");
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		xmlFreeDoc(doc);
		return th_seterr(errbuf, TH_ERR_PARSE,
		                 "event message has a DTD (<!DOCTYPE>): refused");
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || strcmp((const char *)root->name, "HOOK_MESSAGE") != 0) {
		e = th_seterr(errbuf, TH_ERR_PARSE,
		              "event message: expected <HOOK_MESSAGE>, got <%.40s>",
		              root != NULL ? (const char *)root->name : "nothing");
		xmlFreeDoc(doc);
		return e;
	}
	hk_text(root, "HOOK_TYPE", type, sizeof type);
	hk_text(root, "HOOK_OBJECT", obj, sizeof obj);
	if (strcmp(type, "STATE") != 0 || strcmp(obj, "VM") != 0) {
		e = th_seterr(errbuf, TH_ERR_NOTFOUND,
		              "event message: HOOK_TYPE \"%.20s\" HOOK_OBJECT \"%.20s\", not a VM "
		              "STATE hook",
		              type, obj);
		xmlFreeDoc(doc);
		return e;
	}
	hk_text(root, "STATE", m->state, sizeof m->state);
	hk_text(root, "LCM_STATE", m->lcm, sizeof m->lcm);
	hk_text(root, "RESOURCE_ID", rid, sizeof rid);
	errno = 0;
	x = strtoll(rid, &end, 10);
	if (rid[0] == '\0' || errno != 0 || *end != '\0' || x < 0 || x > INT_MAX) {
		e = th_seterr(errbuf, TH_ERR_PARSE,
		              "event message: RESOURCE_ID \"%.20s\" is not an id", rid);
		xmlFreeDoc(doc);
		return e;
	}
	m->resource_id = (int)x;
	vmn = hk_child(root, "VM");
	if (vmn == NULL) {
		xmlFreeDoc(doc);
		return th_seterr(errbuf, TH_ERR_PARSE,
		                 "event message for VM %d has no <VM> document", m->resource_id);
	}
	buf = xmlBufferCreate();
	if (buf == NULL || xmlNodeDump(buf, doc, vmn, 0, 0) < 0) {
		xmlBufferFree(buf);
		xmlFreeDoc(doc);
		return th_seterr(errbuf, TH_ERR_NOMEM, "event message: out of memory");
	}
	xmlFreeDoc(doc);
	e = one_vm_parse((const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf), &m->vm,
	                 errbuf);
	xmlBufferFree(buf);
	if (e == TH_OK && m->vm.id != m->resource_id) {
		e = th_seterr(errbuf, TH_ERR_INVALID,
		              "event message: RESOURCE_ID %d but the <VM> document is VM %d",
		              m->resource_id, m->vm.id);
		one_vm_free(&m->vm);
	}
	return e;
}

th_err hook_msg_parse(const char *b64, size_t len, hook_msg *m, char *errbuf)
{
	unsigned char *bin;
	size_t need, got = 0;
	th_err e;

	memset(m, 0, sizeof *m);
	m->resource_id = -1;
	if (len > HOOK_MSG_B64_MAX || (need = hk_b64_decoded(b64, len)) > HOOK_MSG_MAX)
		return th_seterr(errbuf, TH_ERR_TOOBIG,
		                 "event message of %zu base64 bytes is over the %d-byte bound", len,
		                 HOOK_MSG_MAX);
	if (len == 0)
		return th_seterr(errbuf, TH_ERR_PARSE, "event message is empty");
	bin = malloc(need + 1);
	if (bin == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory for a %zu-byte event", need);
	if (sodium_base642bin(bin, need + 1, b64, len, "\r\n", &got, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(bin);
		return th_seterr(errbuf, TH_ERR_PARSE, "event message is not valid base64");
	}
	bin[got] = '\0';
	e = hk_doc((const char *)bin, got, m, errbuf);
	free(bin);
	if (e != TH_OK) {
		one_vm_free(&m->vm);
		m->resource_id = -1;
	}
	return e;
}

void hook_msg_free(hook_msg *m)
{
	one_vm_free(&m->vm);
}
