/* cycle.h — one measured migration cycle and the run around it: agents up, warm-up, migrate,
 * poll, cool-down, agents down, records back, summary, markers. */
#ifndef TH_TRIGGER_CYCLE_H
#define TH_TRIGGER_CYCLE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "marker-post.h"
#include "one-client.h"
#include "options.h"
#include "run-report.h"
#include "ssh-exec.h"
#include "th-journal.h"
#include "th-time.h"

typedef struct trig_ctx {
	const trig_opts *o;
	one_client *one;
	th_journal journal; /* fd -1 when no --markers */
	marker_post *mp;    /* NULL when no --plugin-url */
	bool measure;       /* agents are used (--supervisor given) */
	bool background;    /* --probe background: the plugin measures, no agents */
	bool sup_local;     /* supervisor is this machine */
	bool load;          /* --bandwidth: iperf3 stream during each cycle */
	ssh_target vm_ssh, sup_ssh;
	char vm_addr[256];  /* --vm-addr, else the VM's NIC/IP from OpenNebula */
	char vm_agent[256]; /* --vm-agent-path, else --agent-path */
	int vm_id;
	char vm_name[TH_NAME_MAX];
	int hid_a, hid_b;
	char host_a[TH_NAME_MAX], host_b[TH_NAME_MAX];
	int64_t run_wall_ns; /* run start: session ids are <definition>.<stamp>.<rnd>.c<cycle> */
	uint32_t run_rnd;
	volatile sig_atomic_t *stop;
	bool tty;
	th_clock clk;
	bool mp_failing_shown;
	/* the per-run probe key's files ("" = none installed): reflector's on the VM, prober's on
	 * the supervisor */
	char key_vm[512], key_sup[512];
	/* the VM's context starts its reflector (THEMIS_TYPE=VM, not --no-context): nothing is
	 * started on the VM over SSH, ctx_key (ctx_key_len bytes, 0 = keyless) becomes the
	 * prober's key until cycle_keys_install has written it */
	bool ctx_reflector;
	uint8_t ctx_key[256];
	size_t ctx_key_len;
	int reflect_port; /* the context's THEMIS_REFLECT_PORT, else --reflect-port */
} trig_ctx;

/* Bytes of the per-run probe key (HMAC-SHA256 key, libsodium randombytes_buf). */
#define CYCLE_KEY_LEN 32

/* With agents and without --no-auth: make a fresh random key and install it as a new file of
 * mode 0600 on the VM (for the reflector) and on the supervisor (for the prober) — with a
 * reflector started by context, its key (ctx_key) on the supervisor only; the bytes
 * travel on the SSH channel's standard input (or are written directly for a local supervisor),
 * never on a command line, and are wiped from memory afterwards. On error the message names
 * the host and file; call cycle_keys_remove for what was installed. */
th_err cycle_keys_install(trig_ctx *c, char *errbuf);

/* With a reflector started by the VM's context: probe it for up to wait_s seconds with the run's
 * key (a prober session of its own, cycle 0 of the run, reporting nowhere but its file, read back
 * as the live line reads it) until its records show an echo. TH_ERR_REMOTE names the VM, the
 * address and the port when none came. */
th_err cycle_context_check(trig_ctx *c, double wait_s, char *errbuf);

/* Remove the key files installed by cycle_keys_install (errors ignored). */
void cycle_keys_remove(trig_ctx *c);

/* Run cycle number `cycle` (1-based) from host src to dst and fill *r. Returns TH_OK when the
 * cycle ran (whatever its outcome); an error only for failures that should end the run. */
th_err cycle_run(trig_ctx *c, int cycle, int src_hid, const char *src, int dst_hid, const char *dst,
                 cycle_result *r, char *errbuf);

/* Stop agents left from a run (SIGINT/SIGTERM path); errors ignored. */
void cycle_stop_agents(trig_ctx *c);

#endif
