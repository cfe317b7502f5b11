/* agent-cmd.c — builds the remote shell lines for agent control (POSIX sh, busybox included).
 * Every value in a line is single-quoted ('\'' for a quote inside), whatever the checks let
 * through; only numbers the trigger formats itself stand bare. Agents are detached with setsid
 * and all three standard streams redirected, so the SSH channel closes as soon as the starting
 * shell exits. */
#include "themis-config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent-cmd.h"
#include "th-addr.h"
#include "th-limits.h"
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

/* host and port checked and written as the agent reads them (th-addr.h: IPv6 in brackets);
 * what names them in messages ("bad <what> address", "bad <what_port> port"). */
static th_err agent_addr_port(char *out, size_t size, const char *what, const char *what_port,
                              const char *host, int port, char *errbuf)
{
	char ps[8];

	if (!agent_addr_ok(host))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad %s address \"%s\"", what, host);
	if (port < 1 || port > 65535)
		return th_seterr(errbuf, TH_ERR_INVALID, "bad %s port %d", what_port, port);
	snprintf(ps, sizeof ps, "%d", port);
	return th_addr_format(host, ps, out, size, errbuf);
}

bool agent_path_ok(const char *s)
{
	return agent_only(s, "._/-") && s[0] == '/' && strstr(s, "..") == NULL;
}

th_err agent_url_check(const char *what, const char *s, char *errbuf)
{
	size_t skip = strncmp(s, "http://", 7) == 0 ? 7 : strncmp(s, "https://", 8) == 0 ? 8 : 0;

	if (skip == 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s \"%s\" must start with http:// or https://", what, s);
	if (s[skip] == '\0' || s[skip] == '/')
		return th_seterr(errbuf, TH_ERR_INVALID, "%s \"%s\" has no host", what, s);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%s\" contains a space or a control character", what,
			                 s);
	if (strlen(s) > 1000)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "%s is longer than 1000 bytes", what);
	return TH_OK;
}

bool agent_url_ok(const char *s)
{
	return s != NULL && agent_url_check("URL", s, NULL) == TH_OK;
}

size_t agent_quote(char *out, size_t size, const char *s)
{
	size_t n = 0;

#define AQ_PUT(ch)                                                                                 \
	do {                                                                                       \
		if (n + 1 < size)                                                                  \
			out[n] = (ch);                                                             \
		n++;                                                                               \
	} while (0)
	AQ_PUT('\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			AQ_PUT('\'');
			AQ_PUT('\\');
			AQ_PUT('\'');
			AQ_PUT('\'');
		} else {
			AQ_PUT(*p);
		}
	}
	AQ_PUT('\'');
#undef AQ_PUT
	if (size > 0)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

/* A command line being built: appends stop at the end of the buffer and remember it. */
typedef struct ac_line {
	char *p;
	size_t size, len;
	bool over;
} ac_line;

static ac_line ac_start(char *out, size_t size)
{
	ac_line l = {out, size, 0, size == 0};

	if (size > 0)
		out[0] = '\0';
	return l;
}

static void ac_raw(ac_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append text the trigger wrote itself (shell syntax, option names, numbers). */
static void ac_raw(ac_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->p + l->len, l->size - l->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= l->size - l->len)
		l->over = true;
	else
		l->len += (size_t)n;
}

/* Append a value, single-quoted. */
static void ac_q(ac_line *l, const char *s)
{
	size_t n;

	if (l->over)
		return;
	n = agent_quote(l->p + l->len, l->size - l->len, s);
	if (n >= l->size - l->len)
		l->over = true;
	else
		l->len += n;
}

/* Append " OPT 'value'". */
static void ac_opt(ac_line *l, const char *opt, const char *s)
{
	ac_raw(l, " %s ", opt);
	ac_q(l, s);
}

static th_err ac_end(ac_line *l, char *errbuf)
{
	if (l->over)
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

/* <dir>/themis-<role>[.<tag>]<ext> into buf (sizes fit: dir 256 + role + tag 128 < 512). */
static const char *agent_file(char *buf, size_t size, const agent_paths *p, const char *role,
                              const char *ext)
{
	snprintf(buf, size, "%s/themis-%s%s%s%s", p->dir, role, p->tag[0] ? "." : "", p->tag, ext);
	return buf;
}

static const char *agent_pid(char *buf, size_t size, const agent_paths *p, const char *role)
{
	return agent_file(buf, size, p, role, ".pid");
}

th_err agent_key_path(char *out, size_t size, const agent_paths *p, const char *role, char *errbuf)
{
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (!agent_name_ok(role))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad agent role \"%s\"", role);
	if ((size_t)snprintf(out, size, "%s/themis-%s%s%s.key", p->dir, role, p->tag[0] ? "." : "",
	                     p->tag) >= size)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "key file path too long");
	return TH_OK;
}

/* Start a detached agent: "setsid CMD >/dev/null 2>LOG </dev/null & echo $! >PID" (LOG NULL:
 * /dev/null). The line is opened by the caller (agent and arguments). */
static void ac_detach(ac_line *l, const agent_paths *p, const char *role, const char *log)
{
	char pid[512];

	if (log != NULL) {
		ac_raw(l, " >/dev/null 2>");
		ac_q(l, log);
		ac_raw(l, " </dev/null & echo $! >");
	} else {
		ac_raw(l, " >/dev/null 2>&1 </dev/null & echo $! >");
	}
	ac_q(l, agent_pid(pid, sizeof pid, p, role));
}

th_err agent_cmd_clean(char *out, size_t size, const agent_paths *p, const char *role, char *errbuf)
{
	char pid[512];
	ac_line l = ac_start(out, size);
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (!agent_name_ok(role))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad agent role \"%s\"", role);
	ac_raw(&l, "f=");
	ac_q(&l, agent_pid(pid, sizeof pid, p, role));
	ac_raw(&l, "; if [ -f \"$f\" ]; then kill $(cat \"$f\") >/dev/null 2>&1; rm -f \"$f\"; fi; "
	           "exit 0");
	return ac_end(&l, errbuf);
}

th_err agent_cmd_reflect(char *out, size_t size, const agent_paths *p, const char *listen_addr,
                         int port, const char *key_file, char *errbuf)
{
	char spec[300], log[512];
	ac_line l = ac_start(out, size);
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK || (e = agent_addr_port(spec, sizeof spec, "reflector listen", "reflector",
	                                       listen_addr, port, errbuf)) != TH_OK)
		return e;
	agent_file(log, sizeof log, p, "reflect", ".log");
	ac_raw(&l, "setsid ");
	ac_q(&l, p->agent);
	ac_opt(&l, "reflect --listen", spec);
	if (key_file != NULL && key_file[0] != '\0')
		ac_opt(&l, "--key-file", key_file);
	ac_detach(&l, p, "reflect", log);
	/* a reflector that cannot start (port taken, key unreadable) says why in its log */
	ac_raw(&l, "; sleep 0.3; kill -0 $! 2>/dev/null || { cat ");
	ac_q(&l, log);
	ac_raw(&l, "; exit 4; }");
	return ac_end(&l, errbuf);
}

/* Append " --cacert 'P' --cert 'P' --key 'P'" (what tls gives). */
static th_err agent_tls_args(ac_line *l, const agent_tls *tls, char *errbuf)
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
		if (val[i] == NULL || val[i][0] == '\0')
			continue;
		if (!agent_path_ok(val[i]))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "bad %s path \"%s\" for the prober: plain absolute paths "
			                 "only",
			                 opt[i], val[i]);
		ac_opt(l, opt[i], val[i]);
	}
	return TH_OK;
}

/* Append " --report 'URL' [--token-file 'F'] [TLS]" when url is given. */
static th_err agent_report_args(ac_line *l, const char *url, const char *token_file,
                                const agent_tls *tls, char *errbuf)
{
	th_err e;

	if (url == NULL || url[0] == '\0')
		return TH_OK;
	if ((e = agent_url_check("report URL", url, errbuf)) != TH_OK)
		return e;
	ac_opt(l, "--report", url);
	if (token_file != NULL && token_file[0] != '\0') {
		if (!agent_path_ok(token_file))
			return th_seterr(errbuf, TH_ERR_INVALID, "bad token file path \"%s\"",
			                 token_file);
		ac_opt(l, "--token-file", token_file);
	}
	return agent_tls_args(l, tls, errbuf);
}

th_err agent_cmd_probe(char *out, size_t size, const agent_paths *p, const char *target_addr,
                       int port, const char *vm, double interval_ms, const char *session,
                       const char *url, const char *token_file, const agent_tls *tls,
                       const char *key_file, char *errbuf)
{
	char target[300], report[512];
	ac_line l = ac_start(out, size);
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK || (e = agent_addr_port(target, sizeof target, "probe target",
	                                       "probe target", target_addr, port, errbuf)) != TH_OK)
		return e;
	if (!agent_name_ok(vm))
		return th_seterr(
		    errbuf, TH_ERR_INVALID,
		    "VM name \"%s\" cannot be passed to the agent: only [A-Za-z0-9._-]", vm);
	if (!agent_name_ok(session))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad session id \"%s\"", session);
	if (!(interval_ms >= TH_INTERVAL_MIN_MS && interval_ms <= TH_INTERVAL_MAX_MS))
		return th_seterr(errbuf, TH_ERR_INVALID, "probe interval %g ms outside [%g, %g]",
		                 interval_ms, TH_INTERVAL_MIN_MS, TH_INTERVAL_MAX_MS);
	snprintf(report, sizeof report, "%s/themis-%s.jsonl", p->dir, session);
	ac_raw(&l, "setsid ");
	ac_q(&l, p->agent);
	ac_opt(&l, "probe --target", target);
	ac_opt(&l, "--vm", vm);
	ac_raw(&l, " --interval %g", interval_ms);
	ac_opt(&l, "--report", report);
	if ((e = agent_report_args(&l, url, token_file, tls, errbuf)) != TH_OK)
		return e;
	if (key_file != NULL && key_file[0] != '\0')
		ac_opt(&l, "--key-file", key_file);
	ac_detach(&l, p, "probe", NULL);
	return ac_end(&l, errbuf);
}

th_err agent_cmd_collect(char *out, size_t size, const agent_paths *p, const char *session,
                         int wait_s, char *errbuf)
{
	char pid[512], report[512];
	ac_line l = ac_start(out, size);
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (!agent_name_ok(session))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad session id \"%s\"", session);
	snprintf(report, sizeof report, "%s/themis-%s.jsonl", p->dir, session);
	ac_raw(&l, "f=");
	ac_q(&l, agent_pid(pid, sizeof pid, p, "probe"));
	ac_raw(&l,
	       "; if [ -f \"$f\" ]; then p=$(cat \"$f\"); kill -INT $p >/dev/null 2>&1; i=0; "
	       "while kill -0 $p >/dev/null 2>&1 && [ $i -lt %d ]; do sleep 0.1; i=$((i+1)); "
	       "done; kill -KILL $p >/dev/null 2>&1; rm -f \"$f\"; fi; r=",
	       wait_s * 10);
	ac_q(&l, report);
	ac_raw(&l, "; if [ -f \"$r\" ]; then cat \"$r\"; rm -f \"$r\"; fi; exit 0");
	return ac_end(&l, errbuf);
}

th_err agent_cmd_tail(char *out, size_t size, const agent_paths *p, const char *session, int lines,
                      char *errbuf)
{
	char report[512];
	ac_line l = ac_start(out, size);
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (!agent_name_ok(session))
		return th_seterr(errbuf, TH_ERR_INVALID, "bad session id \"%s\"", session);
	snprintf(report, sizeof report, "%s/themis-%s.jsonl", p->dir, session);
	ac_raw(&l, "tail -n %d ", lines);
	ac_q(&l, report);
	ac_raw(&l, " 2>/dev/null; exit 0");
	return ac_end(&l, errbuf);
}

th_err agent_cmd_executable(char *out, size_t size, const char *path, char *errbuf)
{
	ac_line l = ac_start(out, size);

	if (!agent_path_ok(path))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "agent path \"%s\" must be absolute and made of [A-Za-z0-9._/-]",
		                 path);
	ac_raw(&l, "test -x ");
	ac_q(&l, path);
	return ac_end(&l, errbuf);
}

th_err agent_cmd_key_install(char *out, size_t size, const agent_paths *p, const char *role,
                             size_t key_len, char *errbuf)
{
	char key[512];
	ac_line l = ac_start(out, size);
	th_err e = agent_key_path(key, sizeof key, p, role, errbuf);

	if (e != TH_OK)
		return e;
	/* a fresh file made by this shell (noclobber: O_EXCL), never one left or planted there */
	ac_raw(&l, "umask 077; f=");
	ac_q(&l, key);
	ac_raw(&l, "; rm -f \"$f\" && set -C && cat >\"$f\" && [ $(wc -c <\"$f\") -eq %zu ]",
	       key_len);
	return ac_end(&l, errbuf);
}

th_err agent_cmd_key_remove(char *out, size_t size, const agent_paths *p, const char *role,
                            char *errbuf)
{
	char key[512];
	ac_line l = ac_start(out, size);
	th_err e = agent_key_path(key, sizeof key, p, role, errbuf);

	if (e != TH_OK)
		return e;
	ac_raw(&l, "rm -f ");
	ac_q(&l, key);
	ac_raw(&l, "; exit 0");
	return ac_end(&l, errbuf);
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
	ac_line l = ac_start(out, size);
	th_err e = agent_check_paths(p, errbuf);

	if (e != TH_OK)
		return e;
	if (port < 1 || port > 65535)
		return th_seterr(errbuf, TH_ERR_INVALID, "bad iperf3 port %d", port);
	ac_raw(&l, "command -v iperf3 >/dev/null 2>&1 || exit 3; setsid iperf3 -s -1 -p %d", port);
	ac_detach(&l, p, "iperfd", NULL);
	return ac_end(&l, errbuf);
}

th_err agent_cmd_iperf_client(char *out, size_t size, const agent_paths *p, const char *vm_addr,
                              int port, const char *vm, const char *rate, int seconds,
                              const char *session, const char *url, const char *token_file,
                              const agent_tls *tls, char *errbuf)
{
	char report[512];
	ac_line l = ac_start(out, size);
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
	snprintf(report, sizeof report, "%s/themis-%s.iperf.jsonl", p->dir, session);
	ac_raw(&l, "setsid ");
	ac_q(&l, p->agent);
	ac_opt(&l, "iperf --vm", vm);
	ac_opt(&l, "--direction down --report", report);
	if ((e = agent_report_args(&l, url, token_file, tls, errbuf)) != TH_OK)
		return e;
	ac_opt(&l, "--quiet -- -c", vm_addr);
	ac_raw(&l, " -p %d -u -b ", port);
	ac_q(&l, rate);
	ac_raw(&l, " -R -t %d -i 1", seconds);
	ac_detach(&l, p, "iperf", NULL);
	return ac_end(&l, errbuf);
}
