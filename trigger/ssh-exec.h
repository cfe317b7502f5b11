/* ssh-exec.h — run one command on a remote host over SSH (libssh2): ed25519/ECDSA key from a
 * file or from ssh-agent, strict known_hosts checking, and one hard deadline for the whole
 * exchange (non-blocking socket + poll). The command string is handed to the remote shell as
 * is: callers build it from checked and quoted values (agent-cmd.c). Secrets travel on the
 * command's standard input (ssh_exec_in), never on its command line. */
#ifndef TH_TRIGGER_SSH_EXEC_H
#define TH_TRIGGER_SSH_EXEC_H

#include <stddef.h>

#include "th-error.h"

typedef struct ssh_target {
	char host[256];        /* name or address */
	int port;              /* 22 by default */
	char user[64];         /* remote user */
	char key[512];         /* private key file; "" = use ssh-agent ($SSH_AUTH_SOCK) */
	char known_hosts[512]; /* known_hosts file (entries "[host]:port" for port != 22) */
	int timeout_ms;        /* deadline for connect + auth + command */
} ssh_target;

/* Run cmd; capture up to outsz-1 bytes of stdout into out (NUL-terminated, may be NULL) and the
 * remote exit status into *status (-1 when the remote side did not report one). Errors:
 * TH_ERR_NET (connect/handshake), TH_ERR_AUTH (host key unknown or changed: the message names
 * host and file; user key refused), TH_ERR_TIMEOUT (deadline passed). */
th_err ssh_exec(const ssh_target *t, const char *cmd, char *out, size_t outsz, int *status,
                char *errbuf);

/* ssh_exec with inlen bytes of in written to the command's standard input, then EOF (in NULL:
 * the input stays open and empty, as with ssh_exec). */
th_err ssh_exec_in(const ssh_target *t, const char *cmd, const void *in, size_t inlen, char *out,
                   size_t outsz, int *status, char *errbuf);

/* One-time libssh2 initialisation (call from main before threads). */
th_err ssh_global_init(char *errbuf);

#endif
