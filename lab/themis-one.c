/* themis-one.c — the lab's OpenNebula-compatible XML-RPC endpoint: options, the lab's hosts and
 * VMs, the backend, the hook-manager event publisher (--events) and xmlrpc-c's Abyss server on
 * ADDR:PORT path /RPC2. */
#include "themis-config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xmlrpc-c/server_abyss.h>

#include "one-backend.h"
#include "one-events.h"
#include "one-model.h"
#include "one-pub.h"
#include "one-rpc.h"
#include "one-xml.h"

static xmlrpc_server_abyss_t *one_server;

/* The event publisher the model reports to (one_state_fn). */
typedef struct one_events_ctx {
	one_pub *pub;
	int verbose;
} one_events_ctx;

/* Every STATE/LCM_STATE change of a VM becomes oned's two hook-manager messages. Runs under the
 * endpoint's lock and never waits on the socket. */
static void one_publish_change(void *ctx, const lab_vm *vm)
{
	one_events_ctx *ec = ctx;
	char err[TH_ERRLEN];
	one_event ev;

	if (one_event_build(&ev, vm, &one_lab_owner, err) != TH_OK ||
	    one_pub_send(ec->pub, &ev, err) != TH_OK)
		fprintf(stderr, "themis-one: VM %d: %s\n", vm->id, err);
	else if (ec->verbose)
		fprintf(stderr, "themis-one: published \"%s\" and \"%s\"\n", ev.key_vm,
		        ev.key_state);
	one_event_free(&ev);
}

static void one_on_signal(int sig)
{
	xmlrpc_env env;

	(void)sig;
	xmlrpc_env_init(&env);
	if (one_server != NULL)
		xmlrpc_server_abyss_terminate(&env, one_server);
	xmlrpc_env_clean(&env);
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: themis-one --state DIR [--listen ADDR:PORT] [--auth USER:PASS | "
	        "--auth-file FILE]\n"
	        "                  [--backend sim|qemu] [--hosts N] [--vms M] [--memory MB]\n"
	        "                  [--guest-ip-base A.B.C.D] [--sim-time MS] [--lcm-delay MS]\n"
	        "                  [--qemu-hook PATH] [--qmp-dir DIR] [--info-dir DIR]\n"
	        "                  [--events tcp://ADDR:PORT] [--events-hwm N]\n"
	        "                  [--unprepared ID[,ID...]] [--context-dir DIR]\n"
	        "                  [--one-version V] [--verbose]\n");
}

/* A number in [min, max] into *out; otherwise a message naming the option, and -1. */
static int parse_num(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "themis-one: %s: \"%s\" is not a number in [%ld, %ld]\n", opt, s,
		        min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int read_auth_file(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "themis-one: --auth-file %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(out, (int)outlen, f) == NULL)
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* --context-dir DIR: TEMPLATE/CONTEXT of vm from DIR/NAME/context.sh when that file exists.
 * Returns 0 (also for no file), -1 after a message naming the file. */
static int load_context(const char *dir, lab_vm *vm)
{
	char path[4096], err[TH_ERRLEN], *text;
	size_t len = 0, cap = 4096, r;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s/context.sh", dir, vm->name);
	f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "themis-one: --context-dir: %s: %s\n", path, strerror(errno));
		return -1;
	}
	text = malloc(cap);
	while (text != NULL && (r = fread(text + len, 1, cap - len - 1, f)) > 0) {
		len += r;
		if (len + 1 == cap) {
			char *n = cap < (1u << 20) ? realloc(text, cap * 2) : NULL;

			if (n == NULL) {
				free(text);
				text = NULL;
				break;
			}
			text = n;
			cap *= 2;
		}
	}
	fclose(f);
	if (text == NULL) {
		fprintf(stderr, "themis-one: --context-dir: %s: out of memory or over 1 MiB\n",
		        path);
		return -1;
	}
	text[len] = '\0';
	if (one_context_parse(text, path, &vm->ctx, &vm->nctx, err) != TH_OK) {
		fprintf(stderr, "themis-one: --context-dir: %s\n", err);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"auth", required_argument, NULL, 'a'},
	    {"auth-file", required_argument, NULL, 'A'},
	    {"state", required_argument, NULL, 's'},
	    {"backend", required_argument, NULL, 'b'},
	    {"hosts", required_argument, NULL, 'H'},
	    {"vms", required_argument, NULL, 'V'},
	    {"memory", required_argument, NULL, 'm'},
	    {"guest-ip-base", required_argument, NULL, 'g'},
	    {"sim-time", required_argument, NULL, 't'},
	    {"lcm-delay", required_argument, NULL, 'd'},
	    {"qemu-hook", required_argument, NULL, 'q'},
	    {"qmp-dir", required_argument, NULL, 'Q'},
	    {"info-dir", required_argument, NULL, 'I'},
	    {"one-version", required_argument, NULL, 'o'},
	    {"events", required_argument, NULL, 'e'},
	    {"events-hwm", required_argument, NULL, 'w'},
	    {"unprepared", required_argument, NULL, 'u'},
	    {"context-dir", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen_at = "127.0.0.1:2633", *state = NULL, *backend_name = "sim",
	           *unprepared = NULL, *context_dir = NULL;
	const char *qmp_dir = NULL, *info_dir = NULL;
	const char *hook = NULL, *version = "6.10.0", *ip_base = "10.77.0.100", *events = NULL;
	char auth[256] = "oneadmin:opennebula", addr[64], path[4096], err[TH_ERRLEN];
	long hosts = 2, vms = 1, memory = 128, sim_time = 1000, lcm_delay = 50, port = 0;
	long events_hwm = 1000;
	one_events_ctx ectx = {NULL, 0};
	struct sockaddr_in sin;
	xmlrpc_server_abyss_parms parms;
	xmlrpc_registry *reg;
	struct in_addr ipb;
	one_rpc_cfg cfg;
	one_backend backend;
	one_model *model;
	xmlrpc_env env;
	one_rpc *rpc;
	char *colon;
	int c, verbose = 0;
	long now = (long)time(NULL);

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_at = optarg;
			break;
		case 'a':
			snprintf(auth, sizeof auth, "%s", optarg);
			break;
		case 'A':
			if (read_auth_file(optarg, auth, sizeof auth) != 0)
				return 1;
			break;
		case 's':
			state = optarg;
			break;
		case 'b':
			backend_name = optarg;
			break;
		case 'H':
			if (parse_num("--hosts", optarg, 2, ONE_MAX_HOSTS, &hosts) != 0)
				return 2;
			break;
		case 'V':
			if (parse_num("--vms", optarg, 1, ONE_MAX_VMS, &vms) != 0)
				return 2;
			break;
		case 'm':
			if (parse_num("--memory", optarg, 16, 1 << 20, &memory) != 0)
				return 2;
			break;
		case 'g':
			ip_base = optarg;
			break;
		case 't':
			if (parse_num("--sim-time", optarg, 0, 3600000, &sim_time) != 0)
				return 2;
			break;
		case 'd':
			if (parse_num("--lcm-delay", optarg, 0, 3600000, &lcm_delay) != 0)
				return 2;
			break;
		case 'q':
			hook = optarg;
			break;
		case 'Q':
			qmp_dir = optarg;
			break;
		case 'I':
			info_dir = optarg;
			break;
		case 'o':
			version = optarg;
			break;
		case 'e':
			events = optarg;
			break;
		case 'w':
			if (parse_num("--events-hwm", optarg, 1, 1000000, &events_hwm) != 0)
				return 2;
			break;
		case 'u':
			unprepared = optarg;
			break;
		case 'c':
			context_dir = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || state == NULL) {
		if (state == NULL)
			fprintf(stderr, "themis-one: --state DIR is required\n");
		usage(stderr);
		return 2;
	}
	colon = strchr(auth, ':');
	if (colon == NULL || colon == auth) {
		fprintf(stderr, "themis-one: credentials must be USER:PASSWORD\n");
		return 2;
	}
	*colon = '\0';

	/* ADDR:PORT */
	snprintf(addr, sizeof addr, "%s", listen_at);
	colon = strrchr(addr, ':');
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	if (colon == NULL) {
		fprintf(stderr, "themis-one: --listen \"%s\" must be ADDR:PORT\n", listen_at);
		return 2;
	}
	*colon = '\0';
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "themis-one: --listen \"%s\": \"%s\" is not an IPv4 address\n",
		        listen_at, addr);
		return 2;
	}
	if (parse_num("--listen port", colon + 1, 1, 65535, &port) != 0)
		return 2;
	sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, ip_base, &ipb) != 1) {
		fprintf(stderr, "themis-one: --guest-ip-base \"%s\" is not an IPv4 address\n",
		        ip_base);
		return 2;
	}
	if (mkdir(state, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "themis-one: --state %s: %s\n", state, strerror(errno));
		return 1;
	}

	/* the lab's cloud: hosts host0..hostN-1, VMs vm0..vmM-1 spread round-robin */
	model = calloc(1, sizeof *model);
	if (model == NULL) {
		fprintf(stderr, "themis-one: out of memory\n");
		return 1;
	}
	one_model_init(model);
	for (long i = 0; i < hosts; i++) {
		char name[ONE_NAMELEN];

		snprintf(name, sizeof name, "host%ld", i);
		one_model_add_host(model, name, 1048576, 100);
	}
	for (long i = 0; i < vms; i++) {
		char name[ONE_NAMELEN], ip[INET_ADDRSTRLEN], mac[24];
		struct in_addr a;

		a.s_addr = htonl(ntohl(ipb.s_addr) + (unsigned)i);
		inet_ntop(AF_INET, &a, ip, sizeof ip);
		snprintf(name, sizeof name, "vm%ld", i);
		snprintf(mac, sizeof mac, "52:54:00:77:%02lx:%02lx", (i >> 8) & 0xff, i & 0xff);
		one_model_add_vm(model, name, (int)(i % hosts), 1, (int)memory, ip, mac, now);
		if (context_dir != NULL && load_context(context_dir, &model->vms[i]) != 0)
			return 1;
	}
	/* VMs without THEMIS_TYPE=VM: `run` refuses them unless --force, `watch` ignores them */
	for (const char *p = unprepared; p != NULL && *p != '\0';) {
		char *end;
		long id = strtol(p, &end, 10);

		if (end == p || id < 0 || id >= vms || (*end != ',' && *end != '\0')) {
			fprintf(stderr,
			        "themis-one: --unprepared \"%s\": expected VM ids from 0 to %ld, "
			        "separated by commas\n",
			        unprepared, vms - 1);
			return 2;
		}
		model->vms[id].unprepared = 1;
		p = *end == ',' ? end + 1 : end;
	}

	if (strcmp(backend_name, "sim") == 0) {
		if (one_backend_sim_init(&backend, sim_time) != 0) {
			fprintf(stderr, "themis-one: out of memory\n");
			return 1;
		}
	} else if (strcmp(backend_name, "qemu") == 0) {
		if (hook == NULL) {
			fprintf(stderr, "themis-one: --backend qemu needs --qemu-hook PATH\n");
			return 2;
		}
		snprintf(path, sizeof path, "%s", state);
		if (one_backend_qemu_init(&backend, hook, qmp_dir ? qmp_dir : path,
		                          info_dir ? info_dir : path, err) != 0) {
			fprintf(stderr, "themis-one: qemu backend: %s\n", err);
			return 1;
		}
	} else {
		fprintf(stderr, "themis-one: --backend \"%s\": use sim or qemu\n", backend_name);
		return 2;
	}

	if (events != NULL) {
		if (one_pub_open(&ectx.pub, events, (int)events_hwm, err) != TH_OK) {
			fprintf(stderr, "themis-one: --%s\n", err);
			return 1;
		}
		ectx.verbose = verbose;
		one_model_on_state(model, one_publish_change, &ectx);
	}

	memset(&cfg, 0, sizeof cfg);
	cfg.user = auth;
	cfg.password = auth + strlen(auth) + 1;
	cfg.version = version;
	cfg.fault_dir = state;
	cfg.lcm_delay_ms = lcm_delay;
	cfg.verbose = verbose;
	rpc = one_rpc_new(&cfg, model, &backend);
	if (rpc == NULL) {
		fprintf(stderr, "themis-one: out of memory\n");
		return 1;
	}

	xmlrpc_env_init(&env);
	xmlrpc_server_abyss_global_init(&env);
	reg = xmlrpc_registry_new(&env);
	if (!env.fault_occurred)
		one_rpc_register(rpc, &env, reg);
	if (env.fault_occurred) {
		fprintf(stderr, "themis-one: registry: %s\n", env.fault_string);
		return 1;
	}
	memset(&parms, 0, sizeof parms);
	parms.config_file_name = NULL;
	parms.registryP = reg;
	parms.uri_path = "/RPC2";
	parms.dont_advertise = 1;
	parms.keepalive_timeout = 15;
	parms.keepalive_max_conn = 30;
	parms.timeout = 15;
	parms.sockaddr_p = (const struct sockaddr *)&sin;
	parms.sockaddrlen = sizeof sin;
	parms.max_conn = 15;
	parms.max_conn_backlog = 15;
	xmlrpc_server_abyss_create(&env, &parms, XMLRPC_APSIZE(max_conn_backlog), &one_server);
	if (env.fault_occurred) {
		fprintf(stderr, "themis-one: cannot listen on %s: %s\n", listen_at,
		        env.fault_string);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, one_on_signal);
	signal(SIGINT, one_on_signal);
	fprintf(stderr, "themis-one: serving http://%s/RPC2 (backend %s, %ld hosts, %ld VMs)\n",
	        listen_at, backend.name, hosts, vms);
	if (events != NULL)
		fprintf(stderr, "themis-one: publishing hook-manager events on %s\n", events);
	xmlrpc_server_abyss_run_server(&env, one_server);
	if (env.fault_occurred)
		fprintf(stderr, "themis-one: server stopped: %s\n", env.fault_string);
	xmlrpc_server_abyss_destroy(one_server);
	one_server = NULL;
	xmlrpc_registry_free(reg);
	xmlrpc_server_abyss_global_term();
	xmlrpc_env_clean(&env);
	/* migration workers may still sleep: the model and backend stay allocated until exit */
	return 0;
}
