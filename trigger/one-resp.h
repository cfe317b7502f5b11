/* one-resp.h — turns an OpenNebula XML-RPC reply into a result or a clear error. Replies are
 * arrays [ok, value-or-message, code, (resp_id), (replication_idx)] of 3, 4 or 5 items; only
 * items 0–2 are relied upon. Transport and protocol problems arrive as XML-RPC faults. */
#ifndef TH_TRIGGER_ONE_RESP_H
#define TH_TRIGGER_ONE_RESP_H

#include <stdbool.h>
#include <xmlrpc-c/base.h>

#include "th-error.h"

typedef struct one_reply {
	bool ok;
	int code;    /* item 2: 0 on success, an OpenNebula error code otherwise */
	int resp_id; /* item 3 when present, else -1 */
	char *str;   /* item 1 when it is a string (documents, messages); malloc'd or NULL */
	int ival;    /* item 1 when it is an int (object ids) */
	bool is_int;
} one_reply;

/* Read the reply array v of `method`. On an OpenNebula failure array, returns the th_err for
 * its code (AUTHENTICATION/AUTHORIZATION → TH_ERR_AUTH, NO_EXISTS → TH_ERR_NOTFOUND, ACTION →
 * TH_ERR_STATE, others TH_ERR_REMOTE) with errbuf "<method>: <message> (OpenNebula error
 * <NAME> 0x<code>)", the "[method] " prefix removed; out->ok is false, out->code set and
 * out->str already freed. On success the caller frees out with one_reply_free.
 * A reply that is not such an array is TH_ERR_PARSE naming the method. */
th_err one_reply_read(const char *method, xmlrpc_value *v, one_reply *out, char *errbuf);

/* An XML-RPC fault (code, string) of `method` against url as a th_err with a message a user can
 * act on: -504 transport failure → TH_ERR_NET, -501 parameter type/arity → TH_ERR_INVALID,
 * -506 unknown method → TH_ERR_REMOTE; others TH_ERR_REMOTE. */
th_err one_fault(const char *method, const char *url, int code, const char *string, char *errbuf);

void one_reply_free(one_reply *r);

/* Check the raw XML-RPC response body of `method` before xmlrpc-c parses it: no <!DOCTYPE>
 * (xmlrpc-c expands the entities it declares without limit: billion laughs), and every <i8> (or
 * <ex:i8>) element must hold a plain decimal 64-bit integer, since xmlrpc-c 1.59 (Debian 12)
 * crashes on any other <i8> text. TH_ERR_PARSE naming the method (and the value) otherwise. */
th_err one_resp_check(const char *method, const char *xml, size_t len, char *errbuf);

#endif
