/* test-trigger-parts.c — the pure helpers of themis-trigger: hypervisor figures from command
 * output, remote command lines from validated arguments only, option parsing, aggregates. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent-cmd.h"
#include "exec-local.h"
#include "marker-post.h"
#include "hv-view.h"
#include "options.h"
#include "records-read.h"
#include "run-report.h"
#include "th-check.h"
#include "th-summary.h"
#include "th-time.h"

START_TEST(hv_figures_from_several_formats)
{
	double d, t;
	char err[TH_ERRLEN];

	ck_assert_int_eq(
	    hv_parse("status=completed total_ms=518 downtime_ms=15 setup_ms=3 ram_bytes=9134592\n",
	             &d, &t, err),
	    TH_OK);
	ck_assert_double_eq(d, 15);
	ck_assert_double_eq(t, 518);
	/* virsh domjobinfo --completed */
	ck_assert_int_eq(hv_parse("Job type:         Completed\nTime elapsed:     1032         ms\n"
	                          "Total downtime:   27           ms\n",
	                          &d, &t, err),
	                 TH_OK);
	ck_assert_double_eq(d, 27);
	ck_assert_double_eq(t, 1032);
	/* QMP query-migrate JSON */
	ck_assert_int_eq(hv_parse("{\"return\": {\"status\": \"completed\", \"total-time\": 518, "
	                          "\"downtime\": 15, \"setup-time\": 3}}",
	                          &d, &t, err),
	                 TH_OK);
	ck_assert_double_eq(d, 15);
	ck_assert_double_eq(t, 518);
	/* "expected_downtime" must not be read as downtime */
	ck_assert_int_eq(hv_parse("expected_downtime=300\n", &d, &t, err), TH_ERR_NOTFOUND);
	ck_assert_str_eq(err, "hypervisor command printed no downtime figure (want downtime_ms=N): "
	                      "\"expected_downtime=300 \"");
	ck_assert(isnan(d));
}
END_TEST

START_TEST(hv_command_placeholders)
{
	char out[256], err[TH_ERRLEN];

	ck_assert_int_eq(
	    hv_expand("themis-lab migrate-info {vm} --id {vm_id} {src}>{dst} {session}", out,
	              sizeof out, "vm0", 7, "host0", "host1", "s.c1", err),
	    TH_OK);
	ck_assert_str_eq(out, "themis-lab migrate-info vm0 --id 7 host0>host1 s.c1");
	/* a host name from OpenNebula is substituted only when it is one plain word */
	ck_assert_int_eq(hv_expand("info {src} {dst}", out, sizeof out, "vm0", 7, "host0",
	                           "h1;reboot", "s.c1", err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err, "--hv-command: {dst} would be \"h1;reboot\": only letters, digits, "
	                      "'.', '_' and '-' are substituted");
	ck_assert_int_eq(hv_expand("x {nope}", out, sizeof out, "a", 1, "b", "c", "d", err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err,
	                 "--hv-command: unknown placeholder at \"{nope}\" (known: {vm} {vm_id} "
	                 "{src} {dst} {session})");
}
END_TEST

START_TEST(remote_commands_only_from_safe_arguments)
{
	agent_paths p = {"/usr/bin/themis-agent", "/tmp"};
	char cmd[1024], err[TH_ERRLEN];

	ck_assert_int_eq(agent_cmd_reflect(cmd, sizeof cmd, &p, "0.0.0.0", 7777, NULL, err), TH_OK);
	ck_assert_str_eq(cmd, "setsid '/usr/bin/themis-agent' reflect --listen '0.0.0.0:7777' "
	                      ">/dev/null 2>'/tmp/themis-reflect.log' </dev/null & echo $! "
	                      ">'/tmp/themis-reflect.pid'; sleep 0.3; kill -0 $! 2>/dev/null || "
	                      "{ cat '/tmp/themis-reflect.log'; exit 4; }");
	ck_assert_int_eq(agent_cmd_probe(cmd, sizeof cmd, &p, "10.0.0.5", 7777, "vm-1", 10,
	                                 "def.20240610T071320Z.deadbeef.c1",
	                                 "http://127.0.0.1:8089/v1/records", "/etc/themis/token",
	                                 NULL, NULL, err),
	                 TH_OK);
	ck_assert_str_eq(cmd, "setsid '/usr/bin/themis-agent' probe --target '10.0.0.5:7777' --vm "
	                      "'vm-1' --interval 10 --report "
	                      "'/tmp/themis-def.20240610T071320Z.deadbeef.c1.jsonl' --report "
	                      "'http://127.0.0.1:8089/v1/records' --token-file "
	                      "'/etc/themis/token' >/dev/null 2>&1 </dev/null & echo $! "
	                      ">'/tmp/themis-probe.pid'");
	/* an IPv6 address goes to the agents in brackets (an unbracketed one with a port is
	 * ambiguous, the agent refuses it) */
	ck_assert_int_eq(agent_cmd_reflect(cmd, sizeof cmd, &p, "::", 7300, NULL, err), TH_OK);
	ck_assert_ptr_nonnull(strstr(cmd, " reflect --listen '[::]:7300' "));
	ck_assert_int_eq(agent_cmd_probe(cmd, sizeof cmd, &p, "fe80::1", 7300, "vm", 10, "s", NULL,
	                                 NULL, NULL, NULL, err),
	                 TH_OK);
	ck_assert_ptr_nonnull(strstr(cmd, " probe --target '[fe80::1]:7300' --vm 'vm' "));
	/* names and addresses with shell metacharacters are still refused, naming the value */
	ck_assert_int_eq(agent_cmd_probe(cmd, sizeof cmd, &p, "10.0.0.5;reboot", 7777, "vm", 10,
	                                 "s", NULL, NULL, NULL, NULL, err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err, "bad probe target address \"10.0.0.5;reboot\"");
	ck_assert_int_eq(agent_cmd_probe(cmd, sizeof cmd, &p, "10.0.0.5", 7777, "vm $(id)", 10, "s",
	                                 NULL, NULL, NULL, NULL, err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err, "VM name \"vm $(id)\" cannot be passed to the agent: only "
	                      "[A-Za-z0-9._-]");
	/* a URL is quoted whole: query strings reach the agent, '&', '`' and quotes run nothing */
	ck_assert_int_eq(agent_cmd_probe(cmd, sizeof cmd, &p, "10.0.0.5", 7777, "vm", 10, "s",
	                                 "http://h:8741/v1/records?a=1&b=2&/usr/bin/id&`id`'x'",
	                                 NULL, NULL, NULL, err),
	                 TH_OK);
	ck_assert_str_eq(cmd, "setsid '/usr/bin/themis-agent' probe --target '10.0.0.5:7777' --vm "
	                      "'vm' --interval 10 --report '/tmp/themis-s.jsonl' --report "
	                      "'http://h:8741/v1/records?a=1&b=2&/usr/bin/id&`id`'\\''x'\\''' "
	                      ">/dev/null 2>&1 </dev/null & echo $! >'/tmp/themis-probe.pid'");
	ck_assert_int_eq(agent_cmd_probe(cmd, sizeof cmd, &p, "10.0.0.5", 7777, "vm", 10, "s",
	                                 "ftp://h/x", NULL, NULL, NULL, err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err, "report URL \"ftp://h/x\" must start with http:// or https://");
	ck_assert_int_eq(agent_cmd_probe(cmd, sizeof cmd, &p, "10.0.0.5", 7777, "vm", 10, "s",
	                                 "http://h/a b", NULL, NULL, NULL, err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err,
	                 "report URL \"http://h/a b\" contains a space or a control character");
	/* the per-run key: --key-file for both agents */
	ck_assert_int_eq(agent_cmd_probe(cmd, sizeof cmd, &p, "10.0.0.5", 7777, "vm", 10, "s", NULL,
	                                 NULL, NULL, "/tmp/themis-probe.key", err),
	                 TH_OK);
	ck_assert_str_eq(cmd, "setsid '/usr/bin/themis-agent' probe --target '10.0.0.5:7777' --vm "
	                      "'vm' --interval 10 --report '/tmp/themis-s.jsonl' --key-file "
	                      "'/tmp/themis-probe.key' >/dev/null 2>&1 </dev/null & echo $! "
	                      ">'/tmp/themis-probe.pid'");
	/* TLS files for an https:// report: passed as plain paths, anything else refused */
	{
		agent_tls tls = {"/etc/themis/ca.pem", "/etc/themis/agent.pem",
		                 "/etc/themis/agent.key"};
		char big[2048];

		ck_assert_int_eq(agent_cmd_probe(big, sizeof big, &p, "10.0.0.5", 7777, "vm", 10,
		                                 "s", "https://c:8741/v1/records", NULL, &tls, NULL,
		                                 err),
		                 TH_OK);
		ck_assert_str_eq(big, "setsid '/usr/bin/themis-agent' probe --target "
		                      "'10.0.0.5:7777' --vm 'vm' --interval 10 --report "
		                      "'/tmp/themis-s.jsonl' --report 'https://c:8741/v1/records' "
		                      "--cacert '/etc/themis/ca.pem' --cert "
		                      "'/etc/themis/agent.pem' --key '/etc/themis/agent.key' "
		                      ">/dev/null 2>&1 </dev/null & echo $! "
		                      ">'/tmp/themis-probe.pid'");
		tls.cacert = "/etc/themis/ca $(id).pem";
		ck_assert_int_eq(agent_cmd_probe(big, sizeof big, &p, "10.0.0.5", 7777, "vm", 10,
		                                 "s", "https://c:8741", NULL, &tls, NULL, err),
		                 TH_ERR_INVALID);
		ck_assert_str_eq(err, "bad --cacert path \"/etc/themis/ca $(id).pem\" for the "
		                      "prober: plain absolute paths only");
		tls.cacert = NULL;
		tls.key = "";
		ck_assert_int_eq(agent_cmd_probe(big, sizeof big, &p, "10.0.0.5", 7777, "vm", 10,
		                                 "s", "https://c:8741", NULL, &tls, NULL, err),
		                 TH_ERR_INVALID);
	}
	ck_assert_int_eq(agent_cmd_reflect(cmd, sizeof cmd, &p, "-oProxy", 7777, NULL, err),
	                 TH_ERR_INVALID);
	agent_paths bad = {"themis-agent", "/tmp"};
	ck_assert_int_eq(agent_cmd_reflect(cmd, sizeof cmd, &bad, "0.0.0.0", 7777, NULL, err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err, "agent path \"themis-agent\" must be absolute and made of "
	                      "[A-Za-z0-9._/-]");
	ck_assert(agent_rate_ok("100M"));
	ck_assert(agent_rate_ok("1000"));
	ck_assert(!agent_rate_ok("M"));
	ck_assert(!agent_rate_ok("10MB"));
	ck_assert(!agent_rate_ok("1;id"));
	ck_assert_int_eq(agent_cmd_iperf_client(cmd, sizeof cmd, &p, "10.0.0.5", 5201, "vm-1",
	                                        "10M", 30, "s.c1", NULL, NULL, NULL, err),
	                 TH_OK);
	ck_assert_str_eq(cmd, "setsid '/usr/bin/themis-agent' iperf --vm 'vm-1' --direction down "
	                      "--report '/tmp/themis-s.c1.iperf.jsonl' --quiet -- -c '10.0.0.5' "
	                      "-p 5201 -u -b '10M' -R -t 30 -i 1 >/dev/null 2>&1 </dev/null & "
	                      "echo $! >'/tmp/themis-iperf.pid'");
	ck_assert_int_eq(agent_cmd_iperf_client(cmd, sizeof cmd, &p, "10.0.0.5", 5201, "vm-1",
	                                        "10M -J", 30, "s.c1", NULL, NULL, NULL, err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err, "--bandwidth \"10M -J\" must be digits with an optional K, M or G");
	ck_assert_int_eq(agent_cmd_iperf_server(cmd, sizeof cmd, &p, 5201, err), TH_OK);
	ck_assert_str_eq(cmd,
	                 "command -v iperf3 >/dev/null 2>&1 || exit 3; setsid iperf3 -s -1 -p "
	                 "5201 >/dev/null 2>&1 </dev/null & echo $! >'/tmp/themis-iperfd.pid'");
	agent_paths dots = {"/usr/bin/themis-agent", "/tmp/../etc"};
	ck_assert_int_eq(agent_cmd_clean(cmd, sizeof cmd, &dots, "probe", err), TH_ERR_INVALID);
	ck_assert_int_eq(agent_cmd_clean(cmd, sizeof cmd, &p, "probe", err), TH_OK);
	ck_assert_str_eq(cmd,
	                 "f='/tmp/themis-probe.pid'; if [ -f \"$f\" ]; then kill $(cat \"$f\") "
	                 ">/dev/null 2>&1; rm -f \"$f\"; fi; exit 0");
	/* runs for two VMs on one supervisor keep apart: the VM is in every pid file name */
	agent_paths web = {"/usr/bin/themis-agent", "/tmp", "web1"};
	ck_assert_int_eq(agent_cmd_clean(cmd, sizeof cmd, &web, "probe", err), TH_OK);
	ck_assert_str_eq(cmd, "f='/tmp/themis-probe.web1.pid'; if [ -f \"$f\" ]; then kill $(cat "
	                      "\"$f\") >/dev/null 2>&1; rm -f \"$f\"; fi; exit 0");
	ck_assert_int_eq(agent_cmd_reflect(cmd, sizeof cmd, &web, "0.0.0.0", 7300,
	                                   "/tmp/themis-reflect.web1.key", err),
	                 TH_OK);
	ck_assert_str_eq(cmd, "setsid '/usr/bin/themis-agent' reflect --listen '0.0.0.0:7300' "
	                      "--key-file '/tmp/themis-reflect.web1.key' >/dev/null "
	                      "2>'/tmp/themis-reflect.web1.log' </dev/null & echo $! "
	                      ">'/tmp/themis-reflect.web1.pid'; sleep 0.3; kill -0 $! 2>/dev/null "
	                      "|| { cat '/tmp/themis-reflect.web1.log'; exit 4; }");
	ck_assert_int_eq(agent_cmd_collect(cmd, sizeof cmd, &web, "s1", 5, err), TH_OK);
	ck_assert_str_eq(cmd, "f='/tmp/themis-probe.web1.pid'; if [ -f \"$f\" ]; then p=$(cat "
	                      "\"$f\"); kill -INT $p >/dev/null 2>&1; i=0; while kill -0 $p "
	                      ">/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; "
	                      "kill -KILL $p >/dev/null 2>&1; rm -f \"$f\"; fi; "
	                      "r='/tmp/themis-s1.jsonl'; if [ -f \"$r\" ]; then cat \"$r\"; rm -f "
	                      "\"$r\"; fi; exit 0");
	ck_assert_int_eq(agent_cmd_tail(cmd, sizeof cmd, &web, "s1", 40, err), TH_OK);
	ck_assert_str_eq(cmd, "tail -n 40 '/tmp/themis-s1.jsonl' 2>/dev/null; exit 0");
	ck_assert_int_eq(agent_cmd_executable(cmd, sizeof cmd, "/opt/themis/bin/themis-agent", err),
	                 TH_OK);
	ck_assert_str_eq(cmd, "test -x '/opt/themis/bin/themis-agent'");
	agent_paths badtag = {"/usr/bin/themis-agent", "/tmp", "a;b"};
	ck_assert_int_eq(agent_cmd_clean(cmd, sizeof cmd, &badtag, "probe", err), TH_ERR_INVALID);
	/* too long for the buffer: refused, never cut */
	ck_assert_int_eq(agent_cmd_clean(cmd, 20, &p, "probe", err), TH_ERR_TOOBIG);
	ck_assert_str_eq(err, "remote command too long");
}
END_TEST

START_TEST(shell_quoting_and_key_files)
{
	agent_paths web = {"/usr/bin/themis-agent", "/var/tmp", "web1"};
	char q[64], cmd[512], err[TH_ERRLEN];
	uint64_t z;

	ck_assert_uint_eq(agent_quote(q, sizeof q, "it's"), 9);
	ck_assert_str_eq(q, "'it'\\''s'");
	ck_assert_uint_eq(agent_quote(q, sizeof q, ""), 2);
	ck_assert_str_eq(q, "''");
	ck_assert_uint_eq(agent_quote(q, 4, "abcdef"), 8);
	ck_assert_str_eq(q, "'ab");
	/* the key reaches the host on standard input, never on the command line */
	ck_assert_int_eq(agent_key_path(cmd, sizeof cmd, &web, "reflect", err), TH_OK);
	ck_assert_str_eq(cmd, "/var/tmp/themis-reflect.web1.key");
	ck_assert_int_eq(agent_cmd_key_install(cmd, sizeof cmd, &web, "probe", 32, err), TH_OK);
	ck_assert_str_eq(cmd,
	                 "umask 077; f='/var/tmp/themis-probe.web1.key'; rm -f \"$f\" && set -C "
	                 "&& cat >\"$f\" && [ $(wc -c <\"$f\") -eq 32 ]");
	ck_assert_int_eq(agent_cmd_key_remove(cmd, sizeof cmd, &web, "reflect", err), TH_OK);
	ck_assert_str_eq(cmd, "rm -f '/var/tmp/themis-reflect.web1.key'; exit 0");
	ck_assert_int_eq(agent_cmd_key_remove(cmd, sizeof cmd, &web, "a b", err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "bad agent role \"a b\"");
	/* URL schemes */
	ck_assert(agent_url_ok("https://h:8741/v1/records?a=1&b=2"));
	ck_assert(!agent_url_ok("http://"));
	ck_assert(!agent_url_ok("file:///etc/passwd"));
	ck_assert_int_eq(agent_url_check("--plugin-url", "HTTP://h", err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--plugin-url \"HTTP://h\" must start with http:// or https://");
	ck_assert_int_eq(agent_url_check("--plugin-url", "http:///v1", err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--plugin-url \"http:///v1\" has no host");
	/* sizes for --max-response */
	ck_assert_int_eq(trig_size_parse("64M", &z), TH_OK);
	ck_assert_uint_eq(z, 67108864);
	ck_assert_int_eq(trig_size_parse("512k", &z), TH_OK);
	ck_assert_uint_eq(z, 524288);
	ck_assert_int_eq(trig_size_parse("1G", &z), TH_OK);
	ck_assert_uint_eq(z, 1073741824);
	ck_assert_int_eq(trig_size_parse("4096", &z), TH_OK);
	ck_assert_uint_eq(z, 4096);
	ck_assert_int_eq(trig_size_parse("64MB", &z), TH_ERR_INVALID);
	ck_assert_int_eq(trig_size_parse("M", &z), TH_ERR_INVALID);
	ck_assert_int_eq(trig_size_parse("-1", &z), TH_ERR_INVALID);
	ck_assert_int_eq(trig_size_parse("99999999999999999999", &z), TH_ERR_INVALID);
}
END_TEST

START_TEST(options_from_flags_and_config_file)
{
	trig_opts o;
	char err[TH_ERRLEN], path[] = "/tmp/themis-opts-XXXXXX";
	char *argv[] = {"themis-trigger", "run",           "--vm",     "42",
	                "--to=node3",     "--cold",        "--cycles", "5",
	                "--ping-pong",    "--poll-period", "150"};
	FILE *f;
	int fd;

	trig_opts_defaults(&o);
	ck_assert(o.live);
	ck_assert_double_eq(o.poll_ms, 200);
	ck_assert_int_eq(trig_opts_parse(&o, 11, argv, 2, err), TH_OK);
	ck_assert_str_eq(o.vm, "42");
	ck_assert_str_eq(o.to, "node3");
	ck_assert(!o.live);
	ck_assert_int_eq(o.cycles, 5);
	ck_assert(o.ping_pong);
	ck_assert_double_eq(o.poll_ms, 150);
	ck_assert_int_eq(trig_opts_check_run(&o, err), TH_OK);
	ck_assert_int_eq(trig_opts_mtype(&o), 0); /* cold, save/restore */
	ck_assert_int_eq(trig_opts_set(&o, "cold-type", "poweroff-hard", err), TH_OK);
	ck_assert_int_eq(trig_opts_mtype(&o), 2);
	o.live = true;
	ck_assert_int_eq(trig_opts_mtype(&o), 0);
	ck_assert_int_eq(trig_opts_set(&o, "cold-type", "freeze", err), TH_OK);
	ck_assert_int_eq(trig_opts_check_run(&o, err), TH_ERR_INVALID);
	ck_assert_str_eq(err,
	                 "--cold-type must be save, poweroff or poweroff-hard, not \"freeze\"");

	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs("# definition\nvm = migtest-1\n  to=node2 \nlive = yes\njson = no\n"
	      "description = \"two words\"\ntimeout = 30\n",
	      f);
	fclose(f);
	trig_opts_defaults(&o);
	o.live = false;
	ck_assert_int_eq(trig_opts_file(&o, path, err), TH_OK);
	ck_assert_str_eq(o.vm, "migtest-1");
	ck_assert_str_eq(o.to, "node2");
	ck_assert(o.live);
	ck_assert(!o.json);
	ck_assert_str_eq(o.description, "two words");
	ck_assert_double_eq(o.timeout_s, 30);
	f = fopen(path, "w");
	fputs("vm = a\ncycles = many\n", f);
	fclose(f);
	ck_assert_int_eq(trig_opts_file(&o, path, err), TH_ERR_INVALID);
	char want[TH_ERRLEN];
	snprintf(want, sizeof want,
	         "%s:2: --cycles: \"many\" is not an integer number in [1, 100000]", path);
	ck_assert_str_eq(err, want);
	unlink(path);

	char *bad1[] = {"x", "run", "--live", "yes"};
	trig_opts_defaults(&o);
	ck_assert_int_eq(trig_opts_parse(&o, 4, bad1, 2, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "unexpected argument \"yes\"");
	char *bad2[] = {"x", "run", "--interval", "0.01"};
	ck_assert_int_eq(trig_opts_parse(&o, 4, bad2, 2, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--interval: \"0.01\" is not a number in [0.1, 60000]");
	trig_opts_defaults(&o);
	snprintf(o.vm, sizeof o.vm, "v");
	snprintf(o.to, sizeof o.to, "h");
	snprintf(o.supervisor, sizeof o.supervisor, "local");
	snprintf(o.vm_addr, sizeof o.vm_addr, "10.0.0.1 ; rm");
	ck_assert_int_eq(trig_opts_check_run(&o, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--vm-addr \"10.0.0.1 ; rm\" is not an address");

	/* --probe background: the plugin measures, so its URL is needed and no agent is started */
	trig_opts_defaults(&o);
	ck_assert_str_eq(o.probe, "own");
	ck_assert_int_eq(o.reflect_port, 7300);
	snprintf(o.vm, sizeof o.vm, "v");
	snprintf(o.to, sizeof o.to, "h");
	ck_assert_int_eq(trig_opts_set(&o, "probe", "background", err), TH_OK);
	ck_assert_int_eq(trig_opts_check_run(&o, err), TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "--probe background needs --plugin-url"));
	snprintf(o.plugin_url, sizeof o.plugin_url, "http://127.0.0.1:8741");
	ck_assert_int_eq(trig_opts_check_run(&o, err), TH_OK);
	snprintf(o.supervisor, sizeof o.supervisor, "local");
	ck_assert_int_eq(trig_opts_check_run(&o, err), TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "drop --supervisor"));
	ck_assert_int_eq(trig_opts_set(&o, "probe", "both", err), TH_OK);
	ck_assert_int_eq(trig_opts_check_run(&o, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--probe must be own or background, not \"both\"");

	/* authentication on by default, --no-auth; the response limit and its units */
	trig_opts_defaults(&o);
	ck_assert(!o.no_auth);
	ck_assert_uint_eq(o.max_response, 64 * 1024 * 1024);
	char *a3[] = {"x", "run", "--no-auth", "--max-response", "256K"};
	ck_assert_int_eq(trig_opts_parse(&o, 5, a3, 2, err), TH_OK);
	ck_assert(o.no_auth);
	ck_assert_uint_eq(o.max_response, 256 * 1024);
	ck_assert_int_eq(trig_opts_set(&o, "max-response", "2G", err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--max-response: \"2G\" is not a size in [4096, 1073741824] bytes "
	                      "(digits with an optional K, M or G)");
	snprintf(o.vm, sizeof o.vm, "v");
	snprintf(o.to, sizeof o.to, "h");
	snprintf(o.plugin_url, sizeof o.plugin_url, "ftp://127.0.0.1:8741");
	ck_assert_int_eq(trig_opts_check_run(&o, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--plugin-url \"ftp://127.0.0.1:8741\" must start with http:// or "
	                      "https://");
	snprintf(o.plugin_url, sizeof o.plugin_url, "http://h:8741/v1/records?a=1&b=2");
	ck_assert_int_eq(trig_opts_check_run(&o, err), TH_OK);
}
END_TEST

static cycle_result res(th_outcome o, double dt)
{
	cycle_result r;

	memset(&r, 0, sizeof r);
	th_summary_init(&r.s);
	r.s.outcome = o;
	r.s.downtime_ms = dt;
	return r;
}

START_TEST(aggregates_are_exact)
{
	cycle_result r[] = {
	    res(TH_OUT_SUCCESS, 120), res(TH_OUT_SUCCESS, 300), res(TH_OUT_FAILED, 9999),
	    res(TH_OUT_SUCCESS, 80),  res(TH_OUT_SUCCESS, NAN), res(TH_OUT_SUCCESS, 450),
	};
	report_agg a;

	report_aggregate(r, 6, &a);
	ck_assert_int_eq(a.cycles, 6);
	ck_assert_int_eq(a.succeeded, 5);
	ck_assert_double_eq_tol(a.success_pct, 500.0 / 6, 1e-9);
	ck_assert_int_eq(a.ndowntime, 4); /* 80 120 300 450 */
	ck_assert_double_eq(a.dt_min, 80);
	ck_assert_double_eq(a.dt_median, 210);
	ck_assert_double_eq(a.dt_p95, 450);
	ck_assert_double_eq(a.dt_max, 450);
	report_aggregate(r, 1, &a);
	ck_assert_double_eq(a.dt_median, 120);
	report_aggregate(r + 2, 1, &a);
	ck_assert_int_eq(a.ndowntime, 0);
	ck_assert(isnan(a.dt_min));
}
END_TEST

START_TEST(prober_report_lines_become_records)
{
	const char text[] =
	    "{\"kind\":\"second\",\"vm\":\"vm0\",\"stream\":\"s/vm0/7777\",\"t\":1000,"
	    "\"interval_ms\":10,\"sent\":100,\"received\":40,\"lost_up\":60,\"lost_down\":0,"
	    "\"lost_unknown\":0,\"late\":0,\"dup\":0,\"rtt_min_ms\":0.1,\"rtt_avg_ms\":0.2,"
	    "\"rtt_max_ms\":0.3,\"jitter_ms\":0.01,\"max_gap_ms\":610}\n"
	    "not json\n\n"
	    "{\"kind\":\"outage\",\"vm\":\"vm0\",\"stream\":\"s/vm0/7777\",\"direction\":\"up\","
	    "\"start\":1000.100000,\"end\":1000.700000,\"duration_ms\":600,\"bound_ms\":10,"
	    "\"lost\":60}\n"
	    "{\"kind\":\"outage\",\"vm\":\"vm0\"";
	th_record *r;
	size_t n, skipped;
	th_summary s;

	ck_assert_int_eq(records_read(text, &r, &n, &skipped, NULL), TH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(skipped, 2);
	ck_assert_int_eq(r[0].kind, TH_REC_SECOND);
	ck_assert_int_eq(r[1].kind, TH_REC_OUTAGE);
	th_summary_init(&s);
	ck_assert_int_eq(th_summary_network(&s, r, n, "vm0", 1000.0, 1002.0, NULL), TH_OK);
	ck_assert_double_eq_tol(s.downtime_ms, 600, 1e-9);
	ck_assert_int_eq(s.lost_up, 60);
	free(r);
}
END_TEST

START_TEST(plugin_urls_are_composed_once)
{
	char u[256], err[TH_ERRLEN];

	ck_assert_int_eq(marker_post_url("http://c:8089", "/v1/markers", u, sizeof u, err), TH_OK);
	ck_assert_str_eq(u, "http://c:8089/v1/markers");
	ck_assert_int_eq(marker_post_url("http://c:8089/", "/v1/markers", u, sizeof u, err), TH_OK);
	ck_assert_str_eq(u, "http://c:8089/v1/markers");
	ck_assert_int_eq(
	    marker_post_url("http://c:8089/v1/markers", "/v1/markers", u, sizeof u, err), TH_OK);
	ck_assert_str_eq(u, "http://c:8089/v1/markers");
	/* a query string stays at the end, intact */
	ck_assert_int_eq(marker_post_url("http://c:8089/?a=1&b=2", "/v1/records", u, sizeof u, err),
	                 TH_OK);
	ck_assert_str_eq(u, "http://c:8089/v1/records?a=1&b=2");
	ck_assert_int_eq(
	    marker_post_url("http://h:8741/v1/records?a=1&b=2", "/v1/records", u, sizeof u, err),
	    TH_OK);
	ck_assert_str_eq(u, "http://h:8741/v1/records?a=1&b=2");
	ck_assert_int_eq(marker_post_url("http://c:8089?x", "/v1/markers", u, sizeof u, err),
	                 TH_OK);
	ck_assert_str_eq(u, "http://c:8089/v1/markers?x");
	ck_assert_int_eq(marker_post_url("c:8089", "/v1/markers", u, sizeof u, err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err, "plugin URL \"c:8089\" must start with http:// or https://");
}
END_TEST

START_TEST(local_commands_capture_output_and_honour_deadlines)
{
	char out[64], err[TH_ERRLEN];
	int status;
	int64_t t0;

	ck_assert_int_eq(
	    exec_local("echo out; echo err >&2; exit 4", out, sizeof out, &status, 5000, err),
	    TH_OK);
	ck_assert_str_eq(out, "out\n");
	ck_assert_int_eq(status, 4);
	/* a detached child (it ends by itself) does not hold the command open */
	t0 = th_mono_ns();
	ck_assert_int_eq(exec_local("setsid sleep 2 >/dev/null 2>&1 </dev/null & echo started", out,
	                            sizeof out, &status, 5000, err),
	                 TH_OK);
	ck_assert_str_eq(out, "started\n");
	ck_assert_int_lt(th_mono_ns() - t0, 1500 * TH_NS_PER_MS); /* not the 2 s of the child */
	t0 = th_mono_ns();
	ck_assert_int_eq(exec_local("sleep 5", out, sizeof out, &status, 300, err), TH_ERR_TIMEOUT);
	ck_assert_str_eq(err, "command timed out after 300 ms: sleep 5");
	ck_assert_int_lt(th_mono_ns() - t0, 2 * TH_NS_PER_SEC);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("trigger-parts");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, hv_figures_from_several_formats);
	tcase_add_test(tc, hv_command_placeholders);
	tcase_add_test(tc, remote_commands_only_from_safe_arguments);
	tcase_add_test(tc, options_from_flags_and_config_file);
	tcase_add_test(tc, aggregates_are_exact);
	tcase_add_test(tc, plugin_urls_are_composed_once);
	tcase_add_test(tc, shell_quoting_and_key_files);
	tcase_add_test(tc, local_commands_capture_output_and_honour_deadlines);
	tcase_add_test(tc, prober_report_lines_become_records);
	suite_add_tcase(s, tc);
	return s;
}
