/* agent-cmd.h — the only remote command lines the trigger sends, built from validated
 * arguments: a fixed agent path, numeric ports and intervals, addresses, names and paths made of
 * a small safe alphabet. Nothing here quotes: anything outside the alphabet is refused. */
#ifndef AGENT_CMD_H
#define AGENT_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "th-error.h"

/* [A-Za-z0-9._-]+ (VM and host names, session ids). */
bool agent_name_ok(const char *s);
/* IPv4/IPv6 literal or DNS name: [A-Za-z0-9.:-]+ not starting with '-'. */
bool agent_addr_ok(const char *s);
/* Absolute path of [A-Za-z0-9._/-], no "..". */
bool agent_path_ok(const char *s);
/* http(s) URL of [A-Za-z0-9._~:/?&=%+-] (no quotes, spaces or shell metacharacters). */
bool agent_url_ok(const char *s);

typedef struct agent_paths {
	char agent[256]; /* themis-agent on the remote hosts */
	char dir[256];   /* remote directory for pid and report files */
	char tag[128];   /* the VM the agents serve ("" = none): in pid file names, so runs for
	                  * different VMs sharing a host and directory never touch each other's */
} agent_paths;

/* Pid files are <dir>/themis-<role>.<tag>.pid (<dir>/themis-<role>.pid without a tag). */

/* Kill the agent whose pid file is that of role ("reflect", "probe", "iperf", "iperfd") if it is
 * still running, and remove the pid file. Exit status 0 either way. */
th_err agent_cmd_clean(char *out, size_t size, const agent_paths *p, const char *role,
                       char *errbuf);

/* Start the reflector detached: setsid AGENT reflect --listen ADDR:PORT, pid to its pid file. */
th_err agent_cmd_reflect(char *out, size_t size, const agent_paths *p, const char *listen_addr,
                         int port, char *errbuf);

/* TLS files on the supervisor for an https:// report URL, passed as --cacert, --cert and --key
 * (NULL or "" each: not passed). Plain absolute paths only (agent_path_ok). */
typedef struct agent_tls {
	const char *cacert, *cert, *key;
} agent_tls;

/* Start the prober detached, reporting to <dir>/themis-<session>.jsonl and optionally to url
 * (with token_file on the supervisor, may be NULL/"", and tls, may be NULL). */
th_err agent_cmd_probe(char *out, size_t size, const agent_paths *p, const char *target_addr,
                       int port, const char *vm, double interval_ms, const char *session,
                       const char *url, const char *token_file, const agent_tls *tls, char *errbuf);

/* Stop the prober with SIGINT, wait up to wait_s for it to exit (it flushes its last records),
 * then print the report file and remove it. */
th_err agent_cmd_collect(char *out, size_t size, const agent_paths *p, const char *session,
                         int wait_s, char *errbuf);

/* An iperf3 rate: digits with an optional K, M or G suffix ("100M"). */
bool agent_rate_ok(const char *s);

/* Start a one-off iperf3 server on the VM, detached (pid file role "iperfd"); the command exits
 * with status 3 when iperf3 is not installed there. */
th_err agent_cmd_iperf_server(char *out, size_t size, const agent_paths *p, int port, char *errbuf);

/* Start `themis-agent iperf` on the supervisor, detached (pid file role "iperf"): a UDP stream
 * at rate from the VM to the supervisor (iperf3 -R) for seconds, its records to
 * <dir>/themis-<session>.iperf.jsonl and optionally to url (token_file and tls as for
 * agent_cmd_probe). */
th_err agent_cmd_iperf_client(char *out, size_t size, const agent_paths *p, const char *vm_addr,
                              int port, const char *vm, const char *rate, int seconds,
                              const char *session, const char *url, const char *token_file,
                              const agent_tls *tls, char *errbuf);

#endif
