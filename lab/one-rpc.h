/* one-rpc.h — the XML-RPC face of the lab endpoint: OpenNebula method handlers registered on an
 * xmlrpc-c registry, plus the worker threads that carry requested migrations through the
 * backend and the state machine (one-model.h). Parameter arity/type errors are XML-RPC faults
 * (-501), OpenNebula errors are the 5-item failure array.
 */
#ifndef TH_LAB_ONE_RPC_H
#define TH_LAB_ONE_RPC_H

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>

#include "one-backend.h"
#include "one-model.h"

typedef struct one_rpc_cfg {
	const char *user; /* session must be "user:password" */
	const char *password;
	const char *version;   /* one.system.version answer */
	const char *fault_dir; /* fault control files (one-fault.h), NULL = none */
	long lcm_delay_ms;     /* transient window between migrate's reply and LCM MIGRATE */
	int verbose;
} one_rpc_cfg;

typedef struct one_rpc one_rpc;

/* Takes ownership of neither model nor backend; both must outlive the server. */
one_rpc *one_rpc_new(const one_rpc_cfg *cfg, one_model *model, one_backend *backend);
void one_rpc_free(one_rpc *r);

/* Registers every one.* method on reg. */
void one_rpc_register(one_rpc *r, xmlrpc_env *env, xmlrpc_registry *reg);

#endif
