/* agent-cmd.c — builds the remote shell lines for agent control (POSIX sh, busybox included).
 * Agents are detached with setsid and all three standard streams redirected, so the SSH
 * channel closes as soon as the starting shell exits. */
#include "themis-config.h"

#include <stdio.h>
#include <string.h>

#include "agent-cmd.h"
#include "th-name.h"

static bool agent_only(const char *s, const char *extra)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > 255)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(extra, c) != NULL))
			return false;
	}
	return true;
}

bool agent_name_ok(const char *s)
{
	return agent_only(s, "._-") && th_name_ok(s);
}

bool agent_addr_ok(const char *s)
{
	return agent_only(s, ".:-") && s[0] != '-';
}

bool agent_path_ok(const char *s)
{
	return agent_only(s, "._/-") && s[0] == '/' && strstr(s, "..") == NULL;
}

bool agent_url_ok(const char *s)
{
	return agent_only(s, "._~:/?&=%+-") &&
	       (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
}

static th_err agent_fmt(char *out, size_t size, int n, char *errbuf)
{
	if (n < 0 || (size_t)n >= size)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "remote command too long");
	return TH_OK;
}

static th_err agent_check_paths(const agent_paths *p, char *errbuf)
{
	if (!agent_path_ok(p->agent))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "agent path \"%s\" must be absolute and made of [A-Za-z0-9._/-]",
		                 p->agent);
	if (!agent_path_ok(p->dir))
		return th_seterr(
		    errbuf, TH_ERR_INVALID,
		    "remote directory \"%s\" must be absolute and made of [A-Za-z0-9._/-]", p->dir);
	if (p->tag[0] != '\0' && !agent_name_ok(p->tag))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad agent tag \"%s\"", p->tag);
	return TH_OK;
}

/* The pid file of role, into buf (sizes fit: dir 256 + role + tag 128 < 512). */
static const char *agent_pid(char *buf, size_t size, const agent_paths *p, const char *role)
{
	snprintf(buf, size, "%s/themis-%s%s%s.pid", p->dir, role, p->tag[0] ? "." : "", p->tag);
	return buf;
}

th_err agent_cmd_clean(char *out, size_t size, const agent_paths *p, const char *role, char *errbuf)
{
	char pid[512];
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (!agent_name_ok(role))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad agent role \"%s\"", role);
	return agent_fmt(out, size,
	                 snprintf(out, size,
	                          "f=%s; if [ -f $f ]; then kill $(cat $f) "
	                          ">/dev/null 2>&1; rm -f $f; fi; exit 0",
	                          agent_pid(pid, sizeof pid, p, role)),
	                 errbuf);
}

th_err agent_cmd_reflect(char *out, size_t size, const agent_paths *p, const char *listen_addr,
                         int port, char *errbuf)
{
	char pid[512];
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (!agent_addr_ok(listen_addr))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad reflector listen address \"%s\"",
		                 listen_addr);
	if (port < 1 || port > 65535)
		return th_seterr(errbuf, TH_ERR_INVALID, "bad reflector port %d", port);
	return agent_fmt(out, size,
	                 snprintf(out, size,
	                          "setsid %s reflect --listen %s:%d >/dev/null 2>&1 </dev/null & "
	                          "echo $! >%s",
	                          p->agent, listen_addr, port,
	                          agent_pid(pid, sizeof pid, p, "reflect")),
	                 errbuf);
}

/* Append " --cacert P --cert P --key P" (what tls gives) to extra. */
static th_err agent_tls_args(char *extra, size_t size, const agent_tls *tls, char *errbuf)
{
	const char *opt[] = {"--cacert", "--cert", "--key"};
	const char *val[3];
	bool cert, key;

	if (tls == NULL)
		return TH_OK;
	val[0] = tls->cacert;
	val[1] = tls->cert;
	val[2] = tls->key;
	cert = val[1] != NULL && val[1][0] != '\0';
	key = val[2] != NULL && val[2][0] != '\0';
	if (cert != key)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "the prober's client certificate needs both %s and %s",
		                 "--supervisor-cert", "--supervisor-key");
	for (size_t i = 0; i < 3; i++) {
		size_t used = strlen(extra);

		if (val[i] == NULL || val[i][0] == '\0')
			continue;
		if (!agent_path_ok(val[i]))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "bad %s path \"%s\" for the prober: plain absolute paths "
			                 "only",
			                 opt[i], val[i]);
		if ((size_t)snprintf(extra + used, size - used, " %s %s", opt[i], val[i]) >=
		    size - used)
			return th_seterr(errbuf, TH_ERR_TOOBIG, "prober TLS paths too long");
	}
	return TH_OK;
}

th_err agent_cmd_probe(char *out, size_t size, const agent_paths *p, const char *target_addr,
                       int port, const char *vm, double interval_ms, const char *session,
                       const char *url, const char *token_file, const agent_tls *tls, char *errbuf)
{
	char extra[1536] = "", pid[512];
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (!agent_addr_ok(target_addr))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad probe target address \"%s\"",
		                 target_addr);
	if (port < 1 || port > 65535)
		return th_seterr(errbuf, TH_ERR_INVALID, "bad probe target port %d", port);
	if (!agent_name_ok(vm))
		return th_seterr(
		    errbuf, TH_ERR_INVALID,
		    "VM name \"%s\" cannot be passed to the agent: only [A-Za-z0-9._-]", vm);
	if (!agent_name_ok(session))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad session id \"%s\"", session);
	if (!(interval_ms >= 0.1 && interval_ms <= 60000))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "probe interval %g ms outside [0.1, 60000]", interval_ms);
	if (url != NULL && url[0] != '\0') {
		if (!agent_url_ok(url))
			return th_seterr(errbuf, TH_ERR_INVALID, "bad report URL \"%s\"", url);
		snprintf(extra, sizeof extra, " --report %s", url);
		if (token_file != NULL && token_file[0] != '\0') {
			if (!agent_path_ok(token_file))
				return th_seterr(errbuf, TH_ERR_INVALID,
				                 "bad token file path \"%s\"", token_file);
			snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
			         " --token-file %s", token_file);
		}
		if ((e = agent_tls_args(extra, sizeof extra, tls, errbuf)) != TH_OK)
			return e;
	}
	return agent_fmt(out, size,
	                 snprintf(out, size,
	                          "setsid %s probe --target %s:%d --vm %s --interval %g --report "
	                          "%s/themis-%s.jsonl%s >/dev/null 2>&1 </dev/null & echo $! "
	                          ">%s",
	                          p->agent, target_addr, port, vm, interval_ms, p->dir, session,
	                          extra, agent_pid(pid, sizeof pid, p, "probe")),
	                 errbuf);
}

th_err agent_cmd_collect(char *out, size_t size, const agent_paths *p, const char *session,
                         int wait_s, char *errbuf)
{
	char pid[512];
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (!agent_name_ok(session))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad session id \"%s\"", session);
	return agent_fmt(
	    out, size,
	    snprintf(out, size,
	             "f=%s; if [ -f $f ]; then p=$(cat $f); kill -INT $p "
	             ">/dev/null 2>&1; i=0; while kill -0 $p >/dev/null 2>&1 && [ $i -lt %d ]; do "
	             "sleep 0.1; i=$((i+1)); done; kill -KILL $p >/dev/null 2>&1; rm -f $f; fi; "
	             "r=%s/themis-%s.jsonl; if [ -f $r ]; then cat $r; rm -f $r; fi; exit 0",
	             agent_pid(pid, sizeof pid, p, "probe"), wait_s * 10, p->dir, session),
	    errbuf);
}

bool agent_rate_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0, i;

	if (n == 0 || n > 15)
		return false;
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == 0)
		return false;
	return i == n || (i == n - 1 && strchr("KMGkmg", s[i]) != NULL);
}

th_err agent_cmd_iperf_server(char *out, size_t size, const agent_paths *p, int port, char *errbuf)
{
	char pid[512];
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (port < 1 || port > 65535)
		return th_seterr(errbuf, TH_ERR_INVALID, "bad iperf3 port %d", port);
	return agent_fmt(
	    out, size,
	    snprintf(out, size,
	             "command -v iperf3 >/dev/null 2>&1 || exit 3; setsid iperf3 -s -1 "
	             "-p %d >/dev/null 2>&1 </dev/null & echo $! "
	             ">%s",
	             port, agent_pid(pid, sizeof pid, p, "iperfd")),
	    errbuf);
}

th_err agent_cmd_iperf_client(char *out, size_t size, const agent_paths *p, const char *vm_addr,
                              int port, const char *vm, const char *rate, int seconds,
                              const char *session, const char *url, const char *token_file,
                              const agent_tls *tls, char *errbuf)
{
	char extra[1536] = "", pid[512];
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (!agent_addr_ok(vm_addr))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad VM address \"%s\"", vm_addr);
	if (!agent_name_ok(vm) || !agent_name_ok(session))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad VM name \"%s\" or session \"%s\"", vm,
		                 session);
	if (!agent_rate_ok(rate))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "--bandwidth \"%s\" must be digits with an optional K, M or G",
		                 rate);
	if (port < 1 || port > 65535 || seconds < 1 || seconds > 86400)
		return th_seterr(errbuf, TH_ERR_INVALID, "bad iperf3 port %d or duration %d s",
		                 port, seconds);
	if (url != NULL && url[0] != '\0') {
		if (!agent_url_ok(url))
			return th_seterr(errbuf, TH_ERR_INVALID, "bad report URL \"%s\"", url);
		snprintf(extra, sizeof extra, " --report %s", url);
		if (token_file != NULL && token_file[0] != '\0') {
			if (!agent_path_ok(token_file))
				return th_seterr(errbuf, TH_ERR_INVALID,
				                 "bad token file path \"%s\"", token_file);
			snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
			         " --token-file %s", token_file);
		}
		if ((e = agent_tls_args(extra, sizeof extra, tls, errbuf)) != TH_OK)
			return e;
	}
	return agent_fmt(
	    out, size,
	    snprintf(out, size,
	             "setsid %s iperf --vm %s --direction down --report "
	             "%s/themis-%s.iperf.jsonl%s --quiet -- -c %s -p %d -u -b %s -R -t %d "
	             "-i 1 >/dev/null 2>&1 </dev/null & echo $! >%s",
	             p->agent, vm, p->dir, session, extra, vm_addr, port, rate, seconds,
	             agent_pid(pid, sizeof pid, p, "iperf")),
	    errbuf);
}
