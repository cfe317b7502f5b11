/* options.c — one table of options shared by the command line and config files. */
#include "themis-config.h"

#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-cmd.h"
#include "one-client.h"
#include "options.h"
#include "th-limits.h"
#include "th-ports.h"

typedef enum { OT_STR, OT_INT, OT_DBL, OT_SIZE, OT_TRUE, OT_FALSE } opt_type;

typedef struct opt_def {
	const char *name;
	opt_type type;
	size_t off;
	size_t size; /* strings */
	double min, max;
} opt_def;

#define S(n, f)                                                                                    \
	{                                                                                          \
		n, OT_STR, offsetof(trig_opts, f), sizeof(((trig_opts *)0)->f), 0, 0               \
	}
#define I(n, f, lo, hi)                                                                            \
	{                                                                                          \
		n, OT_INT, offsetof(trig_opts, f), 0, lo, hi                                       \
	}
#define D(n, f, lo, hi)                                                                            \
	{                                                                                          \
		n, OT_DBL, offsetof(trig_opts, f), 0, lo, hi                                       \
	}
#define Z(n, f, lo, hi)                                                                            \
	{                                                                                          \
		n, OT_SIZE, offsetof(trig_opts, f), 0, lo, hi                                      \
	}
#define T(n, f)                                                                                    \
	{                                                                                          \
		n, OT_TRUE, offsetof(trig_opts, f), 0, 0, 0                                        \
	}
#define F(n, f)                                                                                    \
	{                                                                                          \
		n, OT_FALSE, offsetof(trig_opts, f), 0, 0, 0                                       \
	}

static const opt_def opt_table[] = {
    S("vm", vm),
    S("from", from),
    S("to", to),
    I("cycles", cycles, 1, 100000),
    S("definition", definition),
    S("description", description),
    S("load", load),
    S("migration-param", migration_param),
    T("live", live),
    F("cold", live),
    S("cold-type", cold_type),
    T("ping-pong", ping_pong),
    D("timeout", timeout_s, 1, 86400),
    D("warmup", warmup_s, 0, 3600),
    D("cooldown", cooldown_s, 0, 3600),
    D("grace", grace_s, 0, 600),
    D("poll-period", poll_ms, 10, 60000),
    S("supervisor", supervisor),
    S("probe", probe),
    S("vm-addr", vm_addr),
    I("reflect-port", reflect_port, 1, 65535),
    S("bandwidth", bandwidth),
    I("iperf-port", iperf_port, 1, 65535),
    D("interval", interval_ms, TH_INTERVAL_MIN_MS, TH_INTERVAL_MAX_MS),
    S("agent-path", agent_path),
    S("vm-agent-path", vm_agent_path),
    S("remote-dir", remote_dir),
    T("no-auth", no_auth),
    T("no-context", no_context),
    S("markers", markers),
    S("plugin-url", plugin_url),
    S("token-file", token_file),
    S("supervisor-token-file", supervisor_token_file),
    S("cacert", cacert),
    S("cert", cert),
    S("key", key),
    S("supervisor-cacert", supervisor_cacert),
    S("supervisor-cert", supervisor_cert),
    S("supervisor-key", supervisor_key),
    S("one-xmlrpc", one_url),
    S("one-auth", one_auth),
    I("one-timeout", one_timeout_ms, 100, 600000),
    Z("max-response", max_response, 4096, ONE_RESPONSE_LIMIT),
    S("ssh-key", ssh_key),
    S("known-hosts", known_hosts),
    S("vm-user", vm_user),
    S("supervisor-user", supervisor_user),
    S("host-user", host_user),
    I("vm-ssh-port", vm_ssh_port, 1, 65535),
    I("supervisor-ssh-port", supervisor_ssh_port, 1, 65535),
    I("ssh-timeout", ssh_timeout_s, 1, 3600),
    S("hv-command", hv_command),
    S("hv-where", hv_where),
    S("hv-events", hv_events),
    D("hv-clock-bound-ms", hv_clock_bound_ms, 0, 3600000),
    D("hv-events-grace", hv_events_grace_s, 0, 600),
    T("json", json),
    T("csv", csv),
    T("force", force),
    T("all", all),
    T("once", once),
    S("events", events),
    D("poll", poll_s, 0, 86400),
    D("lead", lead_s, 0, 3600),
};

static void opt_env(char *dst, size_t size, const char *name)
{
	const char *v = getenv(name);

	if (v != NULL && v[0] != '\0' && strlen(v) < size)
		memcpy(dst, v, strlen(v) + 1);
}

void trig_opts_defaults(trig_opts *o)
{
	struct passwd *pw = getpwuid(getuid());

	memset(o, 0, sizeof *o);
	o->cycles = 1;
	o->live = true;
	snprintf(o->cold_type, sizeof o->cold_type, "save");
	o->timeout_s = 120;
	o->warmup_s = 2;
	o->cooldown_s = 3;
	o->grace_s = 1;
	o->poll_ms = 200;
	o->reflect_port = TH_REFLECT_PORT;
	snprintf(o->probe, sizeof o->probe, "own");
	o->iperf_port = 5201;
	o->interval_ms = (double)TH_INTERVAL_DEFAULT_NS / (double)TH_NS_PER_MS;
	o->one_timeout_ms = 10000;
	o->max_response = ONE_RESPONSE_DEFAULT;
	snprintf(o->agent_path, sizeof o->agent_path, "/usr/bin/themis-agent");
	snprintf(o->remote_dir, sizeof o->remote_dir, "/tmp");
	snprintf(o->definition, sizeof o->definition, "themis");
	snprintf(o->vm_user, sizeof o->vm_user, "root");
	snprintf(o->supervisor_user, sizeof o->supervisor_user, "root");
	snprintf(o->host_user, sizeof o->host_user, "root");
	o->vm_ssh_port = o->supervisor_ssh_port = 22;
	o->ssh_timeout_s = 15;
	snprintf(o->hv_where, sizeof o->hv_where, "dst");
	o->hv_clock_bound_ms = NAN;
	o->hv_events_grace_s = 2;
	if (pw != NULL && pw->pw_dir != NULL)
		snprintf(o->known_hosts, sizeof o->known_hosts, "%.400s/.ssh/known_hosts",
		         pw->pw_dir);
	opt_env(o->ssh_key, sizeof o->ssh_key, "THEMIS_SSH_KEY");
	opt_env(o->known_hosts, sizeof o->known_hosts, "THEMIS_SSH_KNOWN_HOSTS");
	opt_env(o->vm_user, sizeof o->vm_user, "THEMIS_SSH_USER");
	opt_env(o->supervisor_user, sizeof o->supervisor_user, "THEMIS_SSH_USER");
	opt_env(o->host_user, sizeof o->host_user, "THEMIS_SSH_USER");
	opt_env(o->agent_path, sizeof o->agent_path, "THEMIS_AGENT");
}

th_err trig_opts_set(trig_opts *o, const char *name, const char *value, char *errbuf)
{
	for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++) {
		const opt_def *d = &opt_table[i];
		char *p = (char *)o + d->off, *end;

		if (strcmp(d->name, name) != 0)
			continue;
		if ((d->type == OT_TRUE || d->type == OT_FALSE) && value != NULL)
			return th_seterr(errbuf, TH_ERR_INVALID, "--%s takes no value", name);
		if (d->type != OT_TRUE && d->type != OT_FALSE && value == NULL)
			return th_seterr(errbuf, TH_ERR_INVALID, "--%s needs a value", name);
		switch (d->type) {
		case OT_STR:
			if (strlen(value) >= d->size)
				return th_seterr(errbuf, TH_ERR_TOOBIG,
				                 "--%s: value longer than %zu bytes", name,
				                 d->size - 1);
			memcpy(p, value, strlen(value) + 1);
			if (strcmp(name, "migration-param") == 0)
				return trig_opts_migration_add(o, value, errbuf);
			/* watch takes --vm more than once: each value is also kept in vm_list */
			if (strcmp(name, "vm") == 0) {
				size_t l = strlen(o->vm_list);
				if (l + strlen(value) + 2 > sizeof o->vm_list ||
				    strchr(value, '\n') != NULL)
					return th_seterr(errbuf, TH_ERR_TOOBIG,
					                 "--vm: too many VMs (%zu bytes in all)",
					                 sizeof o->vm_list - 1);
				snprintf(o->vm_list + l, sizeof o->vm_list - l, "%s\n", value);
			}
			return TH_OK;
		case OT_INT:
		case OT_DBL: {
			double x;
			errno = 0;
			x = strtod(value, &end);
			if (errno != 0 || end == value || *end != '\0' || !isfinite(x) ||
			    x < d->min || x > d->max || (d->type == OT_INT && x != floor(x)))
				return th_seterr(errbuf, TH_ERR_INVALID,
				                 "--%s: \"%s\" is not a%s number in [%g, %g]", name,
				                 value, d->type == OT_INT ? "n integer" : "",
				                 d->min, d->max);
			if (d->type == OT_INT)
				*(int *)(void *)p = (int)x;
			else
				*(double *)(void *)p = x;
			return TH_OK;
		}
		case OT_SIZE: {
			uint64_t x;
			if (trig_size_parse(value, &x) != TH_OK || x < d->min || x > d->max)
				return th_seterr(errbuf, TH_ERR_INVALID,
				                 "--%s: \"%s\" is not a size in [%.0f, %.0f] bytes "
				                 "(digits with an optional K, M or G)",
				                 name, value, d->min, d->max);
			*(size_t *)(void *)p = (size_t)x;
			return TH_OK;
		}
		case OT_TRUE:
			*(bool *)(void *)p = true;
			return TH_OK;
		case OT_FALSE:
			*(bool *)(void *)p = false;
			return TH_OK;
		}
	}
	return th_seterr(errbuf, TH_ERR_INVALID, "unknown option --%s", name);
}

th_err trig_opts_migration_add(trig_opts *o, const char *kv, char *errbuf)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq != NULL ? (size_t)(eq - kv) : 0;

	if (eq == NULL || klen == 0 || klen >= sizeof o->migration[0].key)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--migration-param \"%s\": KEY=VALUE with a KEY of 1 to %zu "
		                 "characters [a-z0-9-]",
		                 kv, sizeof o->migration[0].key - 1);
	for (size_t i = 0; i < klen; i++) {
		char ch = kv[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "--migration-param \"%s\": the key may hold only a-z, 0-9 "
			                 "and -",
			                 kv);
	}
	if (strlen(eq + 1) >= sizeof o->migration[0].value)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--migration-param \"%s\": value longer than %zu bytes", kv,
		                 sizeof o->migration[0].value - 1);
	for (size_t i = 0; i < o->nmigration; i++) {
		if (strlen(o->migration[i].key) == klen &&
		    memcmp(o->migration[i].key, kv, klen) == 0)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "--migration-param \"%s\": key %.*s given twice", kv,
			                 (int)klen, kv);
	}
	if (o->nmigration >= TH_PARAMS_MIGRATION_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--migration-param \"%s\": more than %d parameters", kv,
		                 TH_PARAMS_MIGRATION_MAX);
	memcpy(o->migration[o->nmigration].key, kv, klen);
	o->migration[o->nmigration].key[klen] = '\0';
	snprintf(o->migration[o->nmigration].value, sizeof o->migration[0].value, "%s", eq + 1);
	o->nmigration++;
	return TH_OK;
}

th_err trig_size_parse(const char *s, uint64_t *out)
{
	uint64_t x = 0, mult = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return TH_ERR_INVALID;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > (UINT64_MAX - 9) / 10)
			return TH_ERR_INVALID;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'K':
	case 'k':
		mult = 1024;
		break;
	case 'M':
	case 'm':
		mult = 1024 * 1024;
		break;
	case 'G':
	case 'g':
		mult = 1024 * 1024 * 1024;
		break;
	default:
		return TH_ERR_INVALID;
	}
	if (*p != '\0' && p[1] != '\0')
		return TH_ERR_INVALID;
	if (x > UINT64_MAX / mult)
		return TH_ERR_INVALID;
	*out = x * mult;
	return TH_OK;
}

static bool opt_known(const char *name)
{
	for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++) {
		if (strcmp(opt_table[i].name, name) == 0)
			return true;
	}
	return strcmp(name, "config") == 0;
}

static bool opt_is_flag(const char *name)
{
	for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++) {
		if (strcmp(opt_table[i].name, name) == 0)
			return opt_table[i].type == OT_TRUE || opt_table[i].type == OT_FALSE;
	}
	return false;
}

th_err trig_opts_file(trig_opts *o, const char *path, char *errbuf)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int lineno = 0;

	if (f == NULL)
		return th_seterr(errbuf, TH_ERR_IO, "cannot read config file %s: %s", path,
		                 strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		char *k = line, *v, *eq, *e;
		th_err err;
		char sub[TH_ERRLEN];

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		while (*k == ' ' || *k == '\t')
			k++;
		if (*k == '\0' || *k == '#')
			continue;
		eq = strchr(k, '=');
		v = NULL;
		if (eq != NULL) {
			*eq = '\0';
			v = eq + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			e = v + strlen(v);
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
			if (e - v >= 2 &&
			    ((v[0] == '"' && e[-1] == '"') || (v[0] == '\'' && e[-1] == '\''))) {
				e[-1] = '\0';
				v++;
			}
		}
		e = k + strlen(k);
		while (e > k && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (v != NULL && opt_is_flag(k)) {
			/* "live = yes" / "json = no" style for flags */
			if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
			    strcmp(v, "0") == 0) {
				if (strcmp(k, "live") == 0)
					k = "cold";
				else
					continue;
			}
			v = NULL;
		}
		err = trig_opts_set(o, k, v, sub);
		if (err != TH_OK) {
			fclose(f);
			return th_seterr(errbuf, err, "%s:%d: %s", path, lineno, sub);
		}
	}
	fclose(f);
	return TH_OK;
}

th_err trig_opts_parse(trig_opts *o, int argc, char **argv, int first, char *errbuf)
{
	for (int i = first; i < argc; i++) {
		char name[64];
		const char *a = argv[i], *val = NULL, *eq;
		th_err e;

		if (strncmp(a, "--", 2) != 0)
			return th_seterr(errbuf, TH_ERR_INVALID, "unexpected argument \"%s\"", a);
		a += 2;
		eq = strchr(a, '=');
		if (eq != NULL)
			snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
		else
			snprintf(name, sizeof name, "%s", a);
		if (!opt_known(name))
			return th_seterr(errbuf, TH_ERR_INVALID, "unknown option --%s", name);
		if (eq != NULL) {
			val = eq + 1;
		} else {
			if (strcmp(name, "config") == 0 || !opt_is_flag(name)) {
				if (i + 1 >= argc)
					return th_seterr(errbuf, TH_ERR_INVALID,
					                 "--%s needs a value", name);
				val = argv[++i];
			}
		}
		if (strcmp(name, "config") == 0)
			e = trig_opts_file(o, val, errbuf);
		else
			e = trig_opts_set(o, name, val, errbuf);
		if (e != TH_OK)
			return e;
	}
	return TH_OK;
}

agent_tls trig_opts_prober_tls(const trig_opts *o)
{
	agent_tls t = {o->supervisor_cacert[0] ? o->supervisor_cacert : o->cacert,
	               o->supervisor_cert[0] ? o->supervisor_cert : o->cert,
	               o->supervisor_key[0] ? o->supervisor_key : o->key};

	return t;
}

int trig_opts_mtype(const trig_opts *o)
{
	if (o->live)
		return 0;
	if (strcmp(o->cold_type, "poweroff") == 0)
		return 1;
	if (strcmp(o->cold_type, "poweroff-hard") == 0)
		return 2;
	return 0;
}

void trig_opts_watch_defaults(trig_opts *o)
{
	o->timeout_s = 600;
	o->cooldown_s = 30;
	o->poll_s = 30;
	o->lead_s = 60;
	snprintf(o->events, sizeof o->events, "tcp://127.0.0.1:2101");
}

/* The plugin URL and the client certificate, as `run` and `watch` take them. */
static th_err trig_opts_check_plugin(const trig_opts *o, char *errbuf)
{
	th_err e;

	if (o->plugin_url[0] != '\0' &&
	    (e = agent_url_check("--plugin-url", o->plugin_url, errbuf)) != TH_OK)
		return e;
	if ((o->cert[0] == '\0') != (o->key[0] == '\0'))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s needs %s as well",
		                 o->cert[0] ? "--cert" : "--key", o->cert[0] ? "--key" : "--cert");
	return TH_OK;
}

th_err trig_opts_check_watch(const trig_opts *o, char *errbuf)
{
	if (o->all && o->vm_list[0] != '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "--all and --vm exclude each other");
	if (strcmp(o->events, "none") != 0 && strncmp(o->events, "tcp://", 6) != 0 &&
	    strncmp(o->events, "ipc://", 6) != 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--events \"%s\" must be tcp://ADDR:PORT, ipc://PATH or none",
		                 o->events);
	if (strcmp(o->events, "none") == 0 && o->poll_s <= 0 && !o->once)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--events none and --poll 0: nothing would be watched");
	return trig_opts_check_plugin(o, errbuf);
}

th_err trig_opts_check_run(const trig_opts *o, char *errbuf)
{
	if (strcmp(o->cold_type, "save") != 0 && strcmp(o->cold_type, "poweroff") != 0 &&
	    strcmp(o->cold_type, "poweroff-hard") != 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--cold-type must be save, poweroff or poweroff-hard, not \"%s\"",
		                 o->cold_type);
	if (o->vm[0] == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "run needs --vm ID|NAME");
	if (o->to[0] == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "run needs --to HOST");
	if (o->json && o->csv)
		return th_seterr(errbuf, TH_ERR_INVALID, "--json and --csv exclude each other");
	if (strcmp(o->hv_where, "local") != 0 && strcmp(o->hv_where, "src") != 0 &&
	    strcmp(o->hv_where, "dst") != 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--hv-where must be local, src or dst, not "
		                 "\"%s\"",
		                 o->hv_where);
	if (strcmp(o->probe, "own") != 0 && strcmp(o->probe, "background") != 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--probe must be own or background, not \"%s\"", o->probe);
	if (strcmp(o->probe, "background") == 0) {
		if (o->plugin_url[0] == '\0')
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "--probe background needs --plugin-url: the plugin's own "
			                 "prober (a <Target> for the VM) measures the migration");
		if (o->supervisor[0] != '\0' || o->bandwidth[0] != '\0')
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "--probe background starts no agents: drop --supervisor and "
			    "--bandwidth");
	}
	if (o->bandwidth[0] != '\0' && o->supervisor[0] == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--bandwidth needs --supervisor and --vm-addr");
	if (trig_opts_check_plugin(o, errbuf) != TH_OK)
		return TH_ERR_INVALID;
	if (o->supervisor[0] != '\0') {
		/* an empty --vm-addr is taken from OpenNebula (NIC/IP) once the VM is known */
		if (o->vm_addr[0] != '\0' && !agent_addr_ok(o->vm_addr))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "--vm-addr \"%s\" is not an address", o->vm_addr);
		if (strcmp(o->supervisor, "local") != 0 && !agent_addr_ok(o->supervisor))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "--supervisor \"%s\" is not an address (or \"local\")",
			                 o->supervisor);
		if (!agent_path_ok(o->agent_path))
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "--agent-path \"%s\" must be absolute, made of [A-Za-z0-9._/-]",
			    o->agent_path);
		if (o->vm_agent_path[0] != '\0' && !agent_path_ok(o->vm_agent_path))
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "--vm-agent-path \"%s\" must be absolute, made of [A-Za-z0-9._/-]",
			    o->vm_agent_path);
		if (!agent_path_ok(o->remote_dir))
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "--remote-dir \"%s\" must be absolute, made of [A-Za-z0-9._/-]",
			    o->remote_dir);
		if (o->bandwidth[0] != '\0' && !agent_rate_ok(o->bandwidth))
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "--bandwidth \"%s\" must be digits with an optional K, M or G",
			    o->bandwidth);
		if (o->supervisor_token_file[0] != '\0' && !agent_path_ok(o->supervisor_token_file))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "--supervisor-token-file \"%s\" is not "
			                 "a plain absolute path",
			                 o->supervisor_token_file);
		if (o->plugin_url[0] != '\0') {
			agent_tls t = trig_opts_prober_tls(o);
			const char *name[] = {"cacert", "cert", "key"};
			const char *val[] = {t.cacert, t.cert, t.key};

			for (size_t i = 0; i < 3; i++)
				if (val[i][0] != '\0' && !agent_path_ok(val[i]))
					return th_seterr(errbuf, TH_ERR_INVALID,
					                 "--supervisor-%s \"%s\" is not a plain "
					                 "absolute path (give --supervisor-%s)",
					                 name[i], val[i], name[i]);
		}
	}
	return TH_OK;
}
