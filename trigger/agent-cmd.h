/* agent-cmd.h — the only remote command lines the trigger sends. Every value in them is
 * single-quoted for the remote shell (agent_quote); the checks below stay as input checks
 * (names, addresses and paths of a small alphabet, http(s) URLs), so a value is both checked
 * and quoted, and a URL with a query string reaches the agent intact. */
#ifndef TH_TRIGGER_AGENT_CMD_H
#define TH_TRIGGER_AGENT_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "th-error.h"

/* [A-Za-z0-9._-]+ (VM and host names, session ids). */
bool agent_name_ok(const char *s);
/* IPv4/IPv6 literal or DNS name: [A-Za-z0-9.:-]+ not starting with '-'. */
bool agent_addr_ok(const char *s);
/* Absolute path of [A-Za-z0-9._/-], no "..". */
bool agent_path_ok(const char *s);
/* An http:// or https:// URL with a host, no spaces or control characters, at most 1000 bytes;
 * the message names what (e.g. "--plugin-url") and the URL. */
th_err agent_url_check(const char *what, const char *s, char *errbuf);
/* agent_url_check without a message. */
bool agent_url_ok(const char *s);

/* s single-quoted for a POSIX shell ('it'\''s'); writes at most size-1 bytes and a NUL, returns
 * the length it needed (>= size: truncated). */
size_t agent_quote(char *out, size_t size, const char *s);

typedef struct agent_paths {
	char agent[256]; /* themis-agent on the remote hosts */
	char dir[256];   /* remote directory for pid and report files */
	char tag[128];   /* the VM the agents serve ("" = none): in pid file names, so runs for
	                  * different VMs sharing a host and directory never touch each other's */
} agent_paths;

/* Pid files are <dir>/themis-<role>.<tag>.pid (<dir>/themis-<role>.pid without a tag); the
 * reflector's messages go to <dir>/themis-reflect.<tag>.log, a probe key of role to
 * <dir>/themis-<role>.<tag>.key. */

/* The key file of role ("reflect" on the VM, "probe" on the supervisor). */
th_err agent_key_path(char *out, size_t size, const agent_paths *p, const char *role, char *errbuf);

/* Write the key arriving on standard input (key_len bytes) to role's key file: a new file of
 * mode 0600 (umask 077, noclobber, any file of that name removed first); exit status non-zero
 * unless exactly key_len bytes arrived. */
th_err agent_cmd_key_install(char *out, size_t size, const agent_paths *p, const char *role,
                             size_t key_len, char *errbuf);

/* Remove role's key file. Exit status 0 either way. */
th_err agent_cmd_key_remove(char *out, size_t size, const agent_paths *p, const char *role,
                            char *errbuf);

/* "test -x 'PATH'": exit status 0 when the agent is there. */
th_err agent_cmd_executable(char *out, size_t size, const char *path, char *errbuf);

/* Kill the agent whose pid file is that of role ("reflect", "probe", "iperf", "iperfd") if it is
 * still running, and remove the pid file. Exit status 0 either way. */
th_err agent_cmd_clean(char *out, size_t size, const agent_paths *p, const char *role,
                       char *errbuf);

/* Start the reflector detached: setsid AGENT reflect --listen ADDR:PORT [--key-file F] (key_file
 * NULL or "": none), pid to its pid file, messages to its log. When it is gone 0.3 s later (port
 * taken, key refused) the command prints the log and exits with status 4. */
th_err agent_cmd_reflect(char *out, size_t size, const agent_paths *p, const char *listen_addr,
                         int port, const char *key_file, char *errbuf);

/* TLS files on the supervisor for an https:// report URL, passed as --cacert, --cert and --key
 * (NULL or "" each: not passed). Plain absolute paths only (agent_path_ok). */
typedef struct agent_tls {
	const char *cacert, *cert, *key;
} agent_tls;

/* Start the prober detached, reporting to <dir>/themis-<session>.jsonl and optionally to url
 * (with token_file on the supervisor, may be NULL/"", and tls, may be NULL), authenticating its
 * probes with key_file (NULL or "": none). */
th_err agent_cmd_probe(char *out, size_t size, const agent_paths *p, const char *target_addr,
                       int port, const char *vm, double interval_ms, const char *session,
                       const char *url, const char *token_file, const agent_tls *tls,
                       const char *key_file, char *errbuf);

/* Stop the prober with SIGINT, wait up to wait_s for it to exit (it flushes its last records),
 * then print the report file and remove it. */
th_err agent_cmd_collect(char *out, size_t size, const agent_paths *p, const char *session,
                         int wait_s, char *errbuf);

/* Print the last lines of the prober's report file (nothing when there is none). */
th_err agent_cmd_tail(char *out, size_t size, const agent_paths *p, const char *session, int lines,
                      char *errbuf);

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
