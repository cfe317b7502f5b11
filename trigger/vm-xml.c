/* vm-xml.c — libxml2 parsing of OpenNebula's VM, VM_POOL and HOST_POOL documents. Values are
 * read with xmlNodeGetContent, which yields CDATA sections and plain text alike. Numbers are
 * parsed strictly: a malformed number is an error naming the element. The documents come from
 * the network: parsed within libxml2's default limits, no network access, and a document with
 * a DTD (where entities are declared) is refused. */
#include "themis-config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "th-ports.h"
#include "vm-xml.h"

static xmlNode *one_child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* Copy the text of child `name` into buf; "" when absent. */
static void one_text(const xmlNode *n, const char *name, char *buf, size_t size)
{
	xmlNode *c = one_child(n, name);
	xmlChar *s;

	buf[0] = '\0';
	if (c == NULL)
		return;
	s = xmlNodeGetContent(c);
	if (s != NULL) {
		snprintf(buf, size, "%s", (const char *)s);
		xmlFree(s);
	}
}

/* Integer child; *present = false (and *v = dflt) when absent. */
static th_err one_int(const xmlNode *n, const char *name, int64_t dflt, int64_t *v, bool required,
                      char *errbuf)
{
	xmlNode *c = one_child(n, name);
	xmlChar *s;
	char *end;
	long long x;

	*v = dflt;
	if (c == NULL) {
		if (required)
			return th_seterr(errbuf, TH_ERR_PARSE, "<%s> has no <%s> element",
			                 (const char *)n->name, name);
		return TH_OK;
	}
	s = xmlNodeGetContent(c);
	if (s == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory reading <%s>", name);
	errno = 0;
	x = strtoll((const char *)s, &end, 10);
	while (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')
		end++;
	if (errno != 0 || end == (char *)s || *end != '\0') {
		th_err e =
		    th_seterr(errbuf, TH_ERR_PARSE, "<%s> in <%s> is not an integer: \"%.40s\"",
		              name, (const char *)n->name, (const char *)s);
		xmlFree(s);
		return e;
	}
	xmlFree(s);
	*v = x;
	return TH_OK;
}

static th_err one_int32(const xmlNode *n, const char *name, int dflt, int *v, bool required,
                        char *errbuf)
{
	int64_t x;
	th_err e = one_int(n, name, dflt, &x, required, errbuf);

	if (e == TH_OK && (x < -2147483647LL - 1 || x > 2147483647LL))
		return th_seterr(errbuf, TH_ERR_PARSE, "<%s> out of range: %lld", name,
		                 (long long)x);
	*v = (int)x;
	return e;
}

static xmlDoc *one_read(const char *xml, size_t len, const char *root, xmlNode **rootp,
                        char *errbuf, th_err *err)
{
	xmlDoc *doc;
	xmlNode *r;

	if (len > (size_t)0x7fffffff) {
		*err = th_seterr(errbuf, TH_ERR_TOOBIG, "<%s> document too large (%zu bytes)", root,
		                 len);
		return NULL;
	}
	/* No XML_PARSE_HUGE (it lifts libxml2's limits on entity expansion), no XML_PARSE_NOENT
	 * (entities stay references), no network; and a DTD is refused below, since a reference
	 * left in the tree would still be expanded by xmlNodeGetContent. */
	doc = xmlReadMemory(xml, (int)len, root, NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *xe = xmlGetLastError();

		*err =
		    th_seterr(errbuf, TH_ERR_PARSE, "<%s> document is not well-formed XML%s%.120s",
		              root, xe != NULL && xe->message != NULL ? ": " : "",
		              xe != NULL && xe->message != NULL ? xe->message : "");
		/* libxml2 messages end with a newline */
		if (errbuf != NULL) {
			size_t l = strlen(errbuf);
			if (l > 0 && errbuf[l - 1] == '\n')
				errbuf[l - 1] = '\0';
		}
		return NULL;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		/* OpenNebula never sends one; entities declared in it could expand without bound */
		*err = th_seterr(errbuf, TH_ERR_PARSE,
		                 "<%s> document has a DTD (<!DOCTYPE>): refused", root);
		xmlFreeDoc(doc);
		return NULL;
	}
	r = xmlDocGetRootElement(doc);
	if (r == NULL || strcmp((const char *)r->name, root) != 0) {
		*err = th_seterr(errbuf, TH_ERR_PARSE, "expected a <%s> document, got <%s>", root,
		                 r != NULL ? (const char *)r->name : "nothing");
		xmlFreeDoc(doc);
		return NULL;
	}
	*rootp = r;
	*err = TH_OK;
	return doc;
}

/* Number of element children of n named name (the size of a pool document). */
static size_t one_count_children(const xmlNode *n, const char *name)
{
	size_t cnt = 0;

	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		cnt += c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0;
	return cnt;
}

static th_err one_history_parse(const xmlNode *h, one_history *o, char *errbuf)
{
	th_err e;

	memset(o, 0, sizeof *o);
	if ((e = one_int32(h, "SEQ", -1, &o->seq, true, errbuf)) != TH_OK ||
	    (e = one_int32(h, "HID", -1, &o->hid, true, errbuf)) != TH_OK ||
	    (e = one_int(h, "STIME", -1, &o->stime, false, errbuf)) != TH_OK ||
	    (e = one_int(h, "ETIME", -1, &o->etime, false, errbuf)) != TH_OK ||
	    (e = one_int(h, "PSTIME", -1, &o->pstime, false, errbuf)) != TH_OK ||
	    (e = one_int(h, "PETIME", -1, &o->petime, false, errbuf)) != TH_OK ||
	    (e = one_int(h, "RSTIME", -1, &o->rstime, false, errbuf)) != TH_OK ||
	    (e = one_int(h, "RETIME", -1, &o->retime, false, errbuf)) != TH_OK ||
	    (e = one_int32(h, "ACTION", 0, &o->action, false, errbuf)) != TH_OK)
		return e;
	one_text(h, "HOSTNAME", o->hostname, sizeof o->hostname);
	return TH_OK;
}

static th_err one_vm_from_node(const xmlNode *v, one_vm *vm, char *errbuf)
{
	xmlNode *hr, *ut, *tp, *ctx;
	size_t cap = 0;
	th_err e;

	memset(vm, 0, sizeof *vm);
	if ((e = one_int32(v, "ID", -1, &vm->id, true, errbuf)) != TH_OK ||
	    (e = one_int32(v, "STATE", -1, &vm->state, true, errbuf)) != TH_OK ||
	    (e = one_int32(v, "LCM_STATE", -1, &vm->lcm_state, true, errbuf)) != TH_OK)
		return e;
	one_text(v, "NAME", vm->name, sizeof vm->name);
	ut = one_child(v, "USER_TEMPLATE");
	if (ut != NULL) {
		one_text(ut, "ERROR", vm->error, sizeof vm->error);
		one_text(ut, "THEMIS_TYPE", vm->themis_type, sizeof vm->themis_type);
	}
	tp = one_child(v, "TEMPLATE");
	ctx = tp != NULL ? one_child(tp, "CONTEXT") : NULL;
	if (ctx != NULL) {
		one_text(ctx, "THEMIS_TYPE", vm->ctx_type, sizeof vm->ctx_type);
		one_text(ctx, "THEMIS_REFLECT_PORT", vm->ctx_port, sizeof vm->ctx_port);
		one_text(ctx, "THEMIS_REFLECT_KEY", vm->ctx_key, sizeof vm->ctx_key);
	}
	if (vm->themis_type[0] == '\0')
		snprintf(vm->themis_type, sizeof vm->themis_type, "%s", vm->ctx_type);
	if (tp != NULL) {
		xmlNode *nic = one_child(tp, "NIC");
		if (nic != NULL)
			one_text(nic, "IP", vm->ip, sizeof vm->ip);
	}
	if (vm->ip[0] == '\0' && ctx != NULL)
		one_text(ctx, "ETH0_IP", vm->ip, sizeof vm->ip);

	hr = one_child(v, "HISTORY_RECORDS");
	if (hr == NULL)
		return TH_OK;
	for (xmlNode *h = hr->children; h != NULL; h = h->next) {
		if (h->type != XML_ELEMENT_NODE || strcmp((const char *)h->name, "HISTORY") != 0)
			continue;
		if (vm->nhist == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			one_history *nh = realloc(vm->hist, ncap * sizeof *nh);

			if (nh == NULL) {
				one_vm_free(vm);
				return th_seterr(errbuf, TH_ERR_NOMEM, "VM %d: out of memory",
				                 vm->id);
			}
			vm->hist = nh;
			cap = ncap;
		}
		e = one_history_parse(h, &vm->hist[vm->nhist], errbuf);
		if (e != TH_OK) {
			one_vm_free(vm);
			return e;
		}
		vm->nhist++;
	}
	return TH_OK;
}

th_err one_vm_context(const one_vm *vm, one_context *c, char *errbuf)
{
	size_t n = strlen(vm->ctx_key);
	long port = 0;

	memset(c, 0, sizeof *c);
	c->port = TH_REFLECT_PORT;
	if (strcmp(vm->ctx_type, "VM") != 0)
		return TH_OK;
	if (vm->ctx_port[0] != '\0') {
		size_t len = strlen(vm->ctx_port);

		if (strspn(vm->ctx_port, "0123456789") != len || len > 5 ||
		    (port = strtol(vm->ctx_port, NULL, 10)) < 1 || port > 65535)
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "VM %s (%d): context THEMIS_REFLECT_PORT \"%.20s\" is not a "
			    "UDP port (digits, 1..65535)",
			    vm->name, vm->id, vm->ctx_port);
		c->port = (int)port;
	}
	if (n > 0) {
		if (memchr(vm->ctx_key, '\n', n) != NULL)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "VM %s (%d): context THEMIS_REFLECT_KEY holds a newline",
			                 vm->name, vm->id);
		if (n < TH_KEY_MIN || n > TH_KEY_MAX)
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "VM %s (%d): context THEMIS_REFLECT_KEY has %zu%s characters: "
			    "%d to %d needed",
			    vm->name, vm->id, n, n >= sizeof vm->ctx_key - 1 ? "+" : "",
			    TH_KEY_MIN, TH_KEY_MAX);
		memcpy(c->key, vm->ctx_key, n);
		c->key_len = n;
	}
	c->reflector = true;
	return TH_OK;
}

th_err one_vm_parse(const char *xml, size_t len, one_vm *vm, char *errbuf)
{
	xmlNode *root;
	th_err e;
	xmlDoc *doc = one_read(xml, len, "VM", &root, errbuf, &e);

	memset(vm, 0, sizeof *vm);
	if (doc == NULL)
		return e;
	e = one_vm_from_node(root, vm, errbuf);
	xmlFreeDoc(doc);
	return e;
}

th_err one_vmpool_parse(const char *xml, size_t len, one_vm **vms, size_t *n, char *errbuf)
{
	xmlNode *root;
	th_err e;
	xmlDoc *doc = one_read(xml, len, "VM_POOL", &root, errbuf, &e);
	size_t cnt = 0, i = 0;

	*vms = NULL;
	*n = 0;
	if (doc == NULL)
		return e;
	cnt = one_count_children(root, "VM");
	*vms = calloc(cnt ? cnt : 1, sizeof **vms);
	if (*vms == NULL) {
		xmlFreeDoc(doc);
		return th_seterr(errbuf, TH_ERR_NOMEM, "VM_POOL: out of memory (%zu VMs)", cnt);
	}
	for (xmlNode *c = root->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "VM") != 0)
			continue;
		e = one_vm_from_node(c, &(*vms)[i], errbuf);
		if (e != TH_OK) {
			one_vm_array_free(*vms, i);
			*vms = NULL;
			xmlFreeDoc(doc);
			return e;
		}
		i++;
	}
	*n = i;
	xmlFreeDoc(doc);
	return TH_OK;
}

th_err one_hostpool_parse(const char *xml, size_t len, one_host **hosts, size_t *n, char *errbuf)
{
	xmlNode *root;
	th_err e;
	xmlDoc *doc = one_read(xml, len, "HOST_POOL", &root, errbuf, &e);
	size_t cnt = 0, i = 0;

	*hosts = NULL;
	*n = 0;
	if (doc == NULL)
		return e;
	cnt = one_count_children(root, "HOST");
	*hosts = calloc(cnt ? cnt : 1, sizeof **hosts);
	if (*hosts == NULL) {
		xmlFreeDoc(doc);
		return th_seterr(errbuf, TH_ERR_NOMEM, "HOST_POOL: out of memory (%zu hosts)", cnt);
	}
	for (xmlNode *c = root->children; c != NULL; c = c->next) {
		one_host *h = &(*hosts)[i];

		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "HOST") != 0)
			continue;
		if ((e = one_int32(c, "ID", -1, &h->id, true, errbuf)) != TH_OK ||
		    (e = one_int32(c, "STATE", -1, &h->state, true, errbuf)) != TH_OK) {
			free(*hosts);
			*hosts = NULL;
			xmlFreeDoc(doc);
			return e;
		}
		one_text(c, "NAME", h->name, sizeof h->name);
		i++;
	}
	*n = i;
	xmlFreeDoc(doc);
	return TH_OK;
}

void one_vm_free(one_vm *vm)
{
	free(vm->hist);
	vm->hist = NULL;
	vm->nhist = 0;
	/* the context's probe key is a secret */
	memset(vm->ctx_key, 0, sizeof vm->ctx_key);
}

void one_vm_array_free(one_vm *vms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		one_vm_free(&vms[i]);
	free(vms);
}

const one_history *one_vm_last(const one_vm *vm)
{
	const one_history *best = NULL;

	for (size_t i = 0; i < vm->nhist; i++) {
		if (best == NULL || vm->hist[i].seq > best->seq)
			best = &vm->hist[i];
	}
	return best;
}

const one_history *one_vm_seq(const one_vm *vm, int seq)
{
	for (size_t i = 0; i < vm->nhist; i++) {
		if (vm->hist[i].seq == seq)
			return &vm->hist[i];
	}
	return NULL;
}
