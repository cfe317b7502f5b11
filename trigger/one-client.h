/* one-client.h — the OpenNebula XML-RPC client (xmlrpc-c serializes and parses, libcurl
 * carries): endpoint and credentials by OpenNebula's conventions, a response size limit, and the
 * calls the trigger needs. Every reply goes through one-resp.c, every document through
 * vm-xml.c. */
#ifndef TH_TRIGGER_ONE_CLIENT_H
#define TH_TRIGGER_ONE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "th-error.h"
#include "vm-xml.h"

#define ONE_DEFAULT_URL "http://localhost:2633/RPC2"
/* Replies larger than the limit are refused as they arrive: 64 MiB by default (the largest
 * real pool documents are tens of MiB), at most 1 GiB (oned's own MESSAGE_SIZE). */
#define ONE_RESPONSE_DEFAULT (64UL * 1024 * 1024)
#define ONE_RESPONSE_LIMIT   (1024UL * 1024 * 1024)

typedef struct one_client one_client;

/* Endpoint: url if given, else $ONE_XMLRPC, else ONE_DEFAULT_URL. */
const char *one_endpoint(const char *url);

/* Path of the auth file: path if given, else $ONE_AUTH, else <home of getuid()>/.one/one_auth. */
th_err one_auth_path(const char *path, char *out, size_t size, char *errbuf);

/* Read "user:secret" from the first line of the auth file. Refuses a file readable by others
 * (mode & 004), a missing file and a line without ':' — each with a message naming the file. */
th_err one_auth_read(const char *path, char *session, size_t size, char *errbuf);

/* Connect (no network traffic yet). timeout_ms bounds every call; replies up to
 * ONE_RESPONSE_DEFAULT. The endpoint must be an http:// or https:// URL. */
th_err one_client_open(one_client **c, const char *url, const char *session, unsigned timeout_ms,
                       char *errbuf);
/* Refuse replies larger than bytes (at most ONE_RESPONSE_LIMIT): TH_ERR_TOOBIG, the message
 * naming the method, the endpoint and the limit. */
void one_client_set_max_response(one_client *c, size_t bytes);
void one_client_close(one_client *c);
const char *one_client_url(const one_client *c);

/* bytes as the messages write them: "64 MiB", "512 KiB", "1 GiB", else "1000 bytes". */
void one_size_text(size_t bytes, char *buf, size_t size);

/* one.system.version → "6.10.0". */
th_err one_system_version(one_client *c, char *ver, size_t size, char *errbuf);

/* one.vm.info(id): TH_ERR_NOTFOUND when the VM does not exist. */
th_err one_vm_info(one_client *c, int id, one_vm *vm, char *errbuf);

/* one.vmpool.info(-2, -1, -1, -1): every VM but DONE. */
th_err one_vm_pool(one_client *c, one_vm **vms, size_t *n, char *errbuf);

/* one.hostpool.info. */
th_err one_host_pool(one_client *c, one_host **hosts, size_t *n, char *errbuf);

/* one.vm.migrate(id, hid, live, enforce=false, ds=-1, mtype) — the 7-parameter form; when the
 * server faults on it (−501, older servers), the 4-parameter form (id, hid, live). *used7 tells
 * which form was accepted (may be NULL). */
th_err one_vm_migrate(one_client *c, int id, int hid, bool live, int mtype, bool *used7,
                      char *errbuf);

/* Resolve "42" or "migtest-1" to a VM id (vmpool.info by name; several VMs with that name is
 * an error). */
th_err one_vm_lookup(one_client *c, const char *id_or_name, int *id, char *name, size_t namesz,
                     char *errbuf);

/* Resolve a host id or name (hostpool.info). */
th_err one_host_lookup(one_client *c, const char *id_or_name, int *id, char *name, size_t namesz,
                       char *errbuf);

#endif
