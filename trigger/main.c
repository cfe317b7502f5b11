/* main.c — themis-trigger: `run` (measured migrations), `watch` (every migration becomes a
 * session, watch.c), `list-vms`, `list-hosts`. Parses the options, connects to OpenNebula,
 * resolves names, runs the cycles, prints the results and maps outcomes to the exit status
 * (0 all succeeded, 1 some did not, 2 usage or setup error). */
#include "themis-config.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-cmd.h"
#include "cycle.h"
#include "exec-local.h"
#include "one-client.h"
#include "one-names.h"
#include "options.h"
#include "run-report.h"
#include "ssh-exec.h"
#include "th-name.h"
#include "th-secret.h"
#include "th-session.h"
#include "vm-state.h"
#include "watch.h"

#define EXIT_SOME_FAILED 1
#define EXIT_SETUP       2

/* Seconds a reflector started by context has to answer before the first cycle. */
#define CONTEXT_CHECK_S 10

static volatile sig_atomic_t trig_stop;

static void trig_on_signal(int sig)
{
	(void)sig;
	trig_stop = 1;
}

static void usage(FILE *f)
{
	fputs("usage: themis-trigger run --vm ID|NAME --to HOST [--from HOST] [--cycles N]\n"
	      "                          [--supervisor ADDR|local --vm-addr ADDR] [--interval MS]\n"
	      "                          [--markers FILE] [--plugin-url URL [--token-file FILE]]\n"
	      "                          [--cacert FILE] [--cert FILE --key FILE]\n"
	      "                          [--live|--cold] [--ping-pong] [--timeout S] [--warmup S]\n"
	      "                          [--cooldown S] [--hv-command CMD] [--json|--csv]\n"
	      "                          [--definition NAME] [--description TEXT] [--load TEXT]\n"
	      "                          [--migration-param KEY=VALUE ...]\n"
	      "                          [--no-auth] [--no-context] [--max-response SIZE]\n"
	      "                          [--config FILE] [--force] [more: themis-trigger(1)]\n"
	      "       themis-trigger watch [--vm ID|NAME ...|--all] [--events URL|none]\n"
	      "                          [--poll S] [--lead S] [--cooldown S] [--timeout S]\n"
	      "                          [--markers FILE] [--plugin-url URL] [--once]\n"
	      "       themis-trigger list-vms [--one-xmlrpc URL] [--one-auth FILE]\n"
	      "       themis-trigger list-hosts [--one-xmlrpc URL] [--one-auth FILE]\n",
	      f);
}

static int trig_connect(const trig_opts *o, one_client **one, bool quiet)
{
	char path[512], session[512], ver[64], err[TH_ERRLEN];

	if (one_auth_path(o->one_auth, path, sizeof path, err) != TH_OK ||
	    one_auth_read(path, session, sizeof session, err) != TH_OK ||
	    one_client_open(one, o->one_url, session, (unsigned)o->one_timeout_ms, err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		memset(session, 0, sizeof session);
		return EXIT_SETUP;
	}
	memset(session, 0, sizeof session);
	one_client_set_max_response(*one, o->max_response);
	if (one_system_version(*one, ver, sizeof ver, err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		one_client_close(*one);
		*one = NULL;
		return EXIT_SETUP;
	}
	if (!quiet)
		fprintf(stderr, "themis-trigger: OpenNebula %s at %s\n", ver, one_client_url(*one));
	return 0;
}

static int cmd_list_vms(const trig_opts *o)
{
	one_client *one;
	one_vm *vms;
	size_t n;
	char err[TH_ERRLEN];
	int rc = trig_connect(o, &one, true);

	if (rc != 0)
		return rc;
	if (one_vm_pool(one, &vms, &n, err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		one_client_close(one);
		return EXIT_SETUP;
	}
	printf("%-6s %-24s %-16s %-16s %s\n", "ID", "NAME", "STATE", "HOST", "PREPARED");
	for (size_t i = 0; i < n; i++) {
		const one_history *h = one_vm_last(&vms[i]);
		printf("%-6d %-24s %-16s %-16s %s\n", vms[i].id, vms[i].name,
		       one_vm_display_state(vms[i].state, vms[i].lcm_state),
		       h != NULL ? h->hostname : "-",
		       strcmp(vms[i].themis_type, "VM") == 0 ? "yes" : "no");
	}
	one_vm_array_free(vms, n);
	one_client_close(one);
	return 0;
}

static int cmd_list_hosts(const trig_opts *o)
{
	one_client *one;
	one_host *h;
	size_t n;
	char err[TH_ERRLEN];
	int rc = trig_connect(o, &one, true);

	if (rc != 0)
		return rc;
	if (one_host_pool(one, &h, &n, err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		one_client_close(one);
		return EXIT_SETUP;
	}
	printf("%-6s %-24s %s\n", "ID", "NAME", "STATE");
	for (size_t i = 0; i < n; i++)
		printf("%-6d %-24s %s\n", h[i].id, h[i].name, one_host_state_name(h[i].state));
	free(h);
	one_client_close(one);
	return 0;
}

static int trig_read_token(const char *path, char *out, size_t size)
{
	char err[TH_ERRLEN];
	size_t n;

	if (th_secret_read(path, "--token-file", out, size, &n, TH_SECRET_TOKEN, err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		return -1;
	}
	return 0;
}

static void trig_ssh(ssh_target *t, const trig_opts *o, const char *host, int port,
                     const char *user)
{
	memset(t, 0, sizeof *t);
	snprintf(t->host, sizeof t->host, "%s", host);
	t->port = port;
	snprintf(t->user, sizeof t->user, "%s", user);
	snprintf(t->key, sizeof t->key, "%s", o->ssh_key);
	snprintf(t->known_hosts, sizeof t->known_hosts, "%s", o->known_hosts);
	t->timeout_ms = o->ssh_timeout_s * 1000;
}

/* Before any cycle: both ends answer over SSH (host keys, user keys) and have the agent. */
static th_err trig_preflight(trig_ctx *c, char *err)
{
	char cmd[400], sub[TH_ERRLEN];
	int status = -1;
	th_err e;

	/* a reflector started by context needs no agent on the VM and no SSH to it */
	if (!c->ctx_reflector) {
		if ((e = agent_cmd_executable(cmd, sizeof cmd, c->vm_agent, sub)) != TH_OK)
			return th_seterr(err, e, "VM %s: %s", c->vm_name, sub);
		e = ssh_exec(&c->vm_ssh, cmd, NULL, 0, &status, sub);
		if (e != TH_OK)
			return th_seterr(err, e, "VM %s: %s", c->vm_name, sub);
		if (status != 0)
			return th_seterr(err, TH_ERR_NOTFOUND,
			                 "VM %s (%s): no executable agent at %s", c->vm_name,
			                 c->vm_addr, c->vm_agent);
	}
	if ((e = agent_cmd_executable(cmd, sizeof cmd, c->o->agent_path, sub)) != TH_OK)
		return th_seterr(err, e, "supervisor: %s", sub);
	if (c->sup_local)
		e = exec_local(cmd, NULL, 0, &status, c->o->ssh_timeout_s * 1000, sub);
	else
		e = ssh_exec(&c->sup_ssh, cmd, NULL, 0, &status, sub);
	if (e != TH_OK)
		return th_seterr(err, e, "supervisor: %s", sub);
	if (status != 0)
		return th_seterr(err, TH_ERR_NOTFOUND, "supervisor %s: no executable agent at %s",
		                 c->o->supervisor, c->o->agent_path);
	c->load = c->o->bandwidth[0] != '\0';
	if (c->load) {
		/* the thesis's load needs iperf3 at both ends; without it the run goes on unloaded
		 */
		const char *probe = "command -v iperf3 >/dev/null 2>&1";
		if (ssh_exec(&c->vm_ssh, probe, NULL, 0, &status, sub) != TH_OK || status != 0) {
			fprintf(stderr, "themis-trigger: no iperf3 on VM %s: --bandwidth ignored\n",
			        c->vm_name);
			c->load = false;
		} else if ((c->sup_local
		                ? exec_local(probe, NULL, 0, &status, c->o->ssh_timeout_s * 1000,
		                             sub)
		                : ssh_exec(&c->sup_ssh, probe, NULL, 0, &status, sub)) != TH_OK ||
		           status != 0) {
			fprintf(stderr, "themis-trigger: no iperf3 on the supervisor: --bandwidth "
			                "ignored\n");
			c->load = false;
		}
	}
	return TH_OK;
}

/* The VM's context (unless --no-context): with THEMIS_TYPE=VM its reflector is the guest's, on
 * the context's port with the context's key. */
static th_err trig_context(trig_ctx *c, const trig_opts *o, const one_vm *vm, char *err)
{
	one_context ctx;
	th_err e;

	c->reflect_port = o->reflect_port;
	if (o->no_context || !c->measure || c->background)
		return TH_OK;
	if ((e = one_vm_context(vm, &ctx, err)) != TH_OK)
		return e;
	if (!ctx.reflector)
		return TH_OK;
	if (ctx.key_len == 0 && !o->no_auth) {
		sodium_memzero(&ctx, sizeof ctx);
		return th_seterr(
		    err, TH_ERR_INVALID,
		    "VM %s (%d): its context starts a keyless reflector (THEMIS_TYPE=VM "
		    "without THEMIS_REFLECT_KEY): set THEMIS_REFLECT_KEY in the VM "
		    "template, or give --no-auth to probe it unauthenticated",
		    c->vm_name, c->vm_id);
	}
	if (ctx.key_len > 0 && o->no_auth) {
		sodium_memzero(&ctx, sizeof ctx);
		return th_seterr(err, TH_ERR_INVALID,
		                 "VM %s (%d): --no-auth, but its context starts a keyed reflector "
		                 "(THEMIS_REFLECT_KEY), which answers keyed probes only",
		                 c->vm_name, c->vm_id);
	}
	c->ctx_reflector = true;
	c->reflect_port = ctx.port;
	memcpy(c->ctx_key, ctx.key, ctx.key_len);
	c->ctx_key_len = ctx.key_len;
	sodium_memzero(&ctx, sizeof ctx);
	fprintf(stderr,
	        "themis-trigger: VM %s: reflector started by context (THEMIS_TYPE=VM): nothing "
	        "started on the VM over SSH; probing UDP port %d (context THEMIS_REFLECT_PORT%s)\n",
	        c->vm_name, c->reflect_port,
	        c->reflect_port != o->reflect_port ? ", overrides --reflect-port" : "");
	return TH_OK;
}

/* Before any request: the VM is prepared for measurement (THEMIS_TYPE=VM, or --force) and the
 * destination host is ON (MONITORED). */
static th_err trig_preconditions(trig_ctx *c, const trig_opts *o, const one_vm *vm, char *err)
{
	one_host *h;
	size_t n;
	int state = -1;
	th_err e;

	if (strcmp(vm->themis_type, "VM") != 0 && !o->force)
		return th_seterr(err, TH_ERR_STATE,
		                 "VM %s (%d) is not prepared for measurement (no THEMIS_TYPE=VM in "
		                 "its user template or context): give --force to measure it anyway",
		                 c->vm_name, c->vm_id);
	if ((e = one_host_pool(c->one, &h, &n, err)) != TH_OK)
		return e;
	for (size_t i = 0; i < n; i++)
		if (h[i].id == c->hid_b)
			state = h[i].state;
	free(h);
	if (state != ONE_HOST_MONITORED)
		return th_seterr(err, TH_ERR_STATE,
		                 "destination host %s (%d) is %s, not ON (MONITORED): no migration "
		                 "requested",
		                 c->host_b, c->hid_b, one_host_state_name(state));
	return TH_OK;
}

static int cmd_watch(const trig_opts *o)
{
	one_client *one;
	char err[TH_ERRLEN], token[TH_TOKEN_MAX] = "";
	struct sigaction sa;
	int rc;

	if (trig_opts_check_watch(o, err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		return EXIT_SETUP;
	}
	if (o->plugin_url[0] != '\0' && o->token_file[0] != '\0' &&
	    trig_read_token(o->token_file, token, sizeof token) != 0)
		return EXIT_SETUP;
	if ((rc = trig_connect(o, &one, false)) != 0)
		return rc;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = trig_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = watch_run(o, one, token, &trig_stop);
	memset(token, 0, sizeof token);
	one_client_close(one);
	return rc;
}

static int cmd_run(const trig_opts *o)
{
	trig_ctx c;
	char err[TH_ERRLEN], token[TH_TOKEN_MAX];
	cycle_result *res;
	report_agg agg;
	int done = 0, rc, hid_from = -1;
	struct sigaction sa;
	one_vm vm;

	if (trig_opts_check_run(o, err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		return EXIT_SETUP;
	}
	memset(&c, 0, sizeof c);
	c.o = o;
	c.journal.fd = -1;
	c.stop = &trig_stop;
	c.tty = isatty(2);
	c.measure = o->supervisor[0] != '\0';
	c.background = strcmp(o->probe, "background") == 0;
	c.sup_local = strcmp(o->supervisor, "local") == 0;
	th_clock_init(&c.clk);
	c.run_wall_ns = th_wall_ns();
	c.run_rnd = th_session_random();
	if (ssh_global_init(err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		return EXIT_SETUP;
	}
	if ((rc = trig_connect(o, &c.one, false)) != 0)
		return rc;
	if (one_vm_lookup(c.one, o->vm, &c.vm_id, c.vm_name, sizeof c.vm_name, err) != TH_OK ||
	    one_host_lookup(c.one, o->to, &c.hid_b, c.host_b, sizeof c.host_b, err) != TH_OK ||
	    (o->from[0] != '\0' &&
	     one_host_lookup(c.one, o->from, &hid_from, c.host_a, sizeof c.host_a, err) != TH_OK))
		goto setup_error;
	/* The VM's name names its records, markers and archive: it must follow th-name.h. */
	if (th_name_check("VM name", c.vm_name, err) != TH_OK) {
		size_t n = strlen(err);

		snprintf(err + n, TH_ERRLEN - n, " (OpenNebula VM %d: rename it to measure it)",
		         c.vm_id);
		goto setup_error;
	}
	if (one_vm_info(c.one, c.vm_id, &vm, err) != TH_OK)
		goto setup_error;
	if (trig_preconditions(&c, o, &vm, err) != TH_OK) {
		one_vm_free(&vm);
		goto setup_error;
	}
	{
		mig_baseline b;
		if (mig_baseline_take(&b, &vm, c.hid_b, err) != TH_OK) {
			one_vm_free(&vm);
			goto setup_error;
		}
	}
	if (trig_context(&c, o, &vm, err) != TH_OK) {
		one_vm_free(&vm);
		goto setup_error;
	}
	/* the probes' target: --vm-addr, else what OpenNebula knows (NIC/IP, CONTEXT/ETH0_IP) */
	snprintf(c.vm_addr, sizeof c.vm_addr, "%s", o->vm_addr[0] ? o->vm_addr : vm.ip);
	snprintf(c.vm_agent, sizeof c.vm_agent, "%s",
	         o->vm_agent_path[0] ? o->vm_agent_path : o->agent_path);
	if (c.measure && !agent_addr_ok(c.vm_addr)) {
		one_vm_free(&vm);
		th_seterr(err, TH_ERR_INVALID,
		          "VM %s: no address to probe (OpenNebula has no NIC/IP): give --vm-addr",
		          c.vm_name);
		goto setup_error;
	}
	if (hid_from < 0) {
		const one_history *h = one_vm_last(&vm);
		if (h == NULL) {
			one_vm_free(&vm);
			th_seterr(err, TH_ERR_STATE, "VM %s has no host: give --from", c.vm_name);
			goto setup_error;
		}
		hid_from = h->hid;
		snprintf(c.host_a, sizeof c.host_a, "%s", h->hostname);
	}
	one_vm_free(&vm);
	c.hid_a = hid_from;
	if (c.hid_a == c.hid_b) {
		th_seterr(err, TH_ERR_INVALID, "--from and --to are the same host (%s)", c.host_a);
		goto setup_error;
	}
	if (o->markers[0] != '\0' && th_journal_open(&c.journal, o->markers, err) != TH_OK)
		goto setup_error;
	if (o->plugin_url[0] != '\0') {
		token[0] = '\0';
		if (o->token_file[0] != '\0' &&
		    trig_read_token(o->token_file, token, sizeof token) != 0)
			goto setup_quiet;
		marker_post_tls tls = {o->cacert, o->cert, o->key};

		if (marker_post_start(&c.mp, o->plugin_url, token, &tls, err) != TH_OK)
			goto setup_error;
	}
	if (c.measure) {
		trig_ssh(&c.vm_ssh, o, c.vm_addr, o->vm_ssh_port, o->vm_user);
		trig_ssh(&c.sup_ssh, o, o->supervisor, o->supervisor_ssh_port, o->supervisor_user);
		if (trig_preflight(&c, err) != TH_OK)
			goto setup_error;
		if (!o->no_auth) {
			th_err ke = cycle_keys_install(&c, err);

			sodium_memzero(c.ctx_key, sizeof c.ctx_key);
			if (ke != TH_OK)
				goto setup_error;
			if (c.ctx_reflector)
				fprintf(
				    stderr,
				    "themis-trigger: probes authenticated with the key of VM %s's "
				    "context (THEMIS_REFLECT_KEY, %s on the supervisor)\n",
				    c.vm_name, c.key_sup);
			else
				fprintf(
				    stderr,
				    "themis-trigger: probes authenticated with a fresh key (%s on "
				    "VM %s, %s on the supervisor)\n",
				    c.key_vm, c.vm_name, c.key_sup);
		}
		/* the guest's own reflector must answer before anything is measured */
		if (c.ctx_reflector && cycle_context_check(&c, CONTEXT_CHECK_S, err) != TH_OK)
			goto setup_error;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = trig_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	res = calloc((size_t)o->cycles, sizeof *res);
	if (res == NULL) {
		th_seterr(err, TH_ERR_NOMEM, "out of memory for %d cycles", o->cycles);
		goto setup_error;
	}
	rc = 0;
	for (int i = 1; i <= o->cycles && !trig_stop; i++) {
		bool back = o->ping_pong && i % 2 == 0;
		th_err e = cycle_run(&c, i, back ? c.hid_b : c.hid_a, back ? c.host_b : c.host_a,
		                     back ? c.hid_a : c.hid_b, back ? c.host_a : c.host_b,
		                     &res[done], err);
		if (e != TH_OK) {
			fprintf(stderr, "themis-trigger: cycle %d: %s\n", i, err);
			if (res[done].cycle == i && res[done].session[0] != '\0') {
				snprintf(res[done].message, sizeof res[done].message, "%s", err);
				done++;
			}
			rc = EXIT_SOME_FAILED;
			break;
		}
		if (res[done].s.outcome != TH_OUT_SUCCESS)
			rc = EXIT_SOME_FAILED;
		done++;
	}
	if (trig_stop) {
		cycle_stop_agents(&c);
		rc = EXIT_SOME_FAILED;
	}
	cycle_keys_remove(&c);
	report_aggregate(res, done, &agg);
	if (o->json)
		report_json(stdout, o->definition, o->description, c.vm_name, c.vm_id, res, done,
		            &agg);
	else if (o->csv)
		report_csv(stdout, res, done);
	else
		report_table(stdout, res, done, &agg);
	if (c.background && !o->json && !o->csv)
		printf(
		    "network figures: measured by the plugin's background prober; they are in each "
		    "session's archive (themis-graph report)\n");
	fflush(stdout);
	if (agg.succeeded != done || done < o->cycles)
		rc = EXIT_SOME_FAILED;
	if (c.mp != NULL) {
		size_t left = marker_post_stop(c.mp, trig_stop ? 1000 : 5000);
		if (left == 0 && c.mp_failing_shown)
			fprintf(stderr, "themis-trigger: plugin reachable again: queued markers "
			                "delivered\n");
		if (left > 0)
			fprintf(
			    stderr,
			    "themis-trigger: %zu markers not delivered to the plugin (they are in "
			    "the journal%s%s)\n",
			    left, o->markers[0] ? " " : "", o->markers);
	}
	th_journal_close(&c.journal);
	one_client_close(c.one);
	free(res);
	return rc;

setup_error:
	fprintf(stderr, "themis-trigger: %s\n", err);
setup_quiet:
	cycle_keys_remove(&c);
	if (c.mp != NULL)
		marker_post_stop(c.mp, 1000);
	th_journal_close(&c.journal);
	one_client_close(c.one);
	return EXIT_SETUP;
}

int main(int argc, char **argv)
{
	trig_opts o;
	char err[TH_ERRLEN];
	const char *cmd;

	/* A peer that closes early (OpenNebula's server, an SSH host, the plugin, a reader of our
	 * output) is an error on that write, never a signal that kills a run with agents started
	 * and key files installed. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_SETUP;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("themis-trigger %s\n", THEMIS_VERSION);
		return 0;
	}
	trig_opts_defaults(&o);
	if (strcmp(cmd, "watch") == 0)
		trig_opts_watch_defaults(&o);
	if (trig_opts_parse(&o, argc, argv, 2, err) != TH_OK) {
		fprintf(stderr, "themis-trigger: %s\n", err);
		usage(stderr);
		return EXIT_SETUP;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(&o);
	if (strcmp(cmd, "watch") == 0)
		return cmd_watch(&o);
	if (strcmp(cmd, "list-vms") == 0)
		return cmd_list_vms(&o);
	if (strcmp(cmd, "list-hosts") == 0)
		return cmd_list_hosts(&o);
	fprintf(stderr, "themis-trigger: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return EXIT_SETUP;
}
