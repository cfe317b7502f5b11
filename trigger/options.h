/* options.h — the measurement definition and connection settings of themis-trigger, from
 * command-line flags and/or a config file of "name = value" lines using the same names as the
 * long options (flags given on the command line win when they come after --config). */
#ifndef TH_TRIGGER_OPTIONS_H
#define TH_TRIGGER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent-cmd.h"
#include "th-error.h"
#include "th-marker.h"
#include "th-record.h"

typedef struct trig_opts {
	/* what to measure */
	char vm[TH_NAME_MAX], from[TH_NAME_MAX], to[TH_NAME_MAX];
	int cycles;
	char definition[TH_NAME_MAX];
	char description[TH_PARAMS_TEXT_MAX];
	/* recorded in the session-start marker's params only (DESIGN §5.2): the load the VM runs,
	 * free text, and the hypervisor's migration parameters of the definition, KEY=VALUE each
	 * (--migration-param, repeatable: keys [a-z0-9-]{1,31}, values at most 63 bytes, at most
	 * TH_PARAMS_MIGRATION_MAX, each key once); the bounds are lib's (th-marker.h) */
	char load[TH_PARAMS_TEXT_MAX];
	char migration_param[128]; /* the last --migration-param as given */
	size_t nmigration;
	th_param_kv migration[TH_PARAMS_MIGRATION_MAX];
	bool live, ping_pong;
	char cold_type[16]; /* save, poweroff, poweroff-hard: OpenNebula's migrate type */
	double timeout_s, warmup_s, cooldown_s, grace_s, poll_ms;
	/* network measurement (none when supervisor is empty) */
	char supervisor[256]; /* address, or "local" */
	char probe[16];       /* "own": start agents (with --supervisor); "background": the
	                       * plugin's <Target> prober measures, no agents are started */
	char vm_addr[256];
	int reflect_port;
	char bandwidth[16]; /* iperf3 UDP load from the VM, "" = none */
	int iperf_port;
	double interval_ms;
	char agent_path[256], vm_agent_path[256], remote_dir[256];
	bool no_auth; /* agents without a key (by default a fresh key per run authenticates them) */
	bool no_context; /* ignore the VM's context: start the reflector over SSH even when its
	                  * CONTEXT says THEMIS_TYPE=VM */
	/* markers */
	char markers[512], plugin_url[512], token_file[512], supervisor_token_file[256];
	/* https:// plugin URL: CA and client certificate for the markers; the prober gets the
	 * supervisor_* paths, each defaulting to the same path as here */
	char cacert[512], cert[512], key[512];
	char supervisor_cacert[256], supervisor_cert[256], supervisor_key[256];
	/* OpenNebula */
	char one_url[512], one_auth[512];
	int one_timeout_ms;
	size_t max_response; /* bytes: a larger XML-RPC reply is refused */
	/* SSH */
	char ssh_key[512], known_hosts[512];
	char vm_user[64], supervisor_user[64], host_user[64];
	int vm_ssh_port, supervisor_ssh_port, ssh_timeout_s;
	/* hypervisor view */
	char hv_command[1024];
	char hv_where[8]; /* local, src, dst */
	/* hypervisor events (--hv-events): run for the source and the destination */
	char hv_events[1024];
	double hv_clock_bound_ms; /* bound on the hosts' clock offset; NaN = unknown */
	double hv_events_grace_s; /* events still read this long after migration-end */
	/* output */
	bool json, csv;
	/* run: measure a VM without THEMIS_TYPE=VM */
	bool force;
	/* watch: every --vm given (one per line), --all, event source, poll period, lead */
	char vm_list[2048];
	bool all, once;
	char events[256];
	double poll_s, lead_s;
} trig_opts;

/* Defaults: THEMIS_SSH_KEY, THEMIS_SSH_KNOWN_HOSTS, THEMIS_SSH_USER and THEMIS_AGENT from the
 * environment when set (the lab exports them), else: 1 cycle, live, timeout 120 s, warm-up 2 s,
 * cool-down 3 s, grace 1 s, poll 200 ms, probe interval 10 ms, reflector port 7300
 * (TH_REFLECT_PORT), agents authenticated, XML-RPC replies up to 64 MiB, agent
 * /usr/bin/themis-agent, remote dir /tmp, users root, ssh port 22, ssh timeout 15 s, known_hosts
 * ~/.ssh/known_hosts, hv-where dst, hv clock bound unknown, hv events grace 2 s. */
void trig_opts_defaults(trig_opts *o);

/* The defaults `watch` changes (before parsing): timeout 600 s, cool-down 30 s, events
 * tcp://127.0.0.1:2101, poll 30 s, lead 60 s. */
void trig_opts_watch_defaults(trig_opts *o);

/* Checks for `watch`. */
th_err trig_opts_check_watch(const trig_opts *o, char *errbuf);

/* "64M" → 67108864: digits with an optional K, M or G (powers of 1024); TH_ERR_INVALID
 * otherwise or on overflow. */
th_err trig_size_parse(const char *s, uint64_t *out);

/* Add one --migration-param KEY=VALUE to o->migration: TH_ERR_INVALID (naming the option and
 * the value) when KEY is not [a-z0-9-]{1,31}, VALUE is longer than 63 bytes, KEY is already
 * there or TH_PARAMS_MIGRATION_MAX are there. */
th_err trig_opts_migration_add(trig_opts *o, const char *kv, char *errbuf);

/* Set one option by long name ("cycles", "live", …); value NULL for flags. */
th_err trig_opts_set(trig_opts *o, const char *name, const char *value, char *errbuf);

/* Parse argv[first..argc) (--name VALUE, --name=VALUE, --config FILE). */
th_err trig_opts_parse(trig_opts *o, int argc, char **argv, int first, char *errbuf);

/* Read a config file: "name = value" lines, '#' comments, blank lines. */
th_err trig_opts_file(trig_opts *o, const char *path, char *errbuf);

/* The TLS files the prober on the supervisor gets: each --supervisor-* path, else the local one. */
agent_tls trig_opts_prober_tls(const trig_opts *o);

/* OpenNebula's migrate type (7th parameter): 0 for live and save, 1 poweroff, 2 poweroff-hard. */
int trig_opts_mtype(const trig_opts *o);

/* Checks for `run`: required options present and consistent. */
th_err trig_opts_check_run(const trig_opts *o, char *errbuf);

#endif
