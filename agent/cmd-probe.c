/* cmd-probe.c — "themis-agent probe": options and targets, the prober (lib/probe-engine.h)
 * with its records going to the --report outputs (from the prober's output thread), its log
 * lines on stderr, clean stop on SIGINT/SIGTERM, a summary on stderr. probe_parse reads the
 * options and targets, probe_run probes. */
#include "themis-config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "th-limits.h"
#include "probe-engine.h"
#include "report.h"

#define PR "themis-agent probe: "

typedef struct probe_opts {
	th_target defaults;
	th_target *targets;
	size_t n, cap;
	bool in_target; /* per-target options now apply to the last target */
	int64_t duration_ns;
	const char **reports;
	size_t nreports;
	report_url_opts url;
	bool quiet;
	bool help;  /* --help: print the usage, run nothing */
	bool usage; /* on an error: the usage follows the message */
} probe_opts;

typedef struct probe_ctx {
	th_report *report;
	th_prober *prober;
	bool failed;
	char err[TH_ERRLEN];
} probe_ctx;

static th_prober *volatile probe_running;

static void probe_on_signal(int sig)
{
	th_prober *p = probe_running;

	(void)sig;
	if (p != NULL)
		th_prober_stop(p);
}

static void probe_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: themis-agent probe --target ADDR:PORT --vm NAME [--target ... --vm ...]\n"
	    "                          [--targets-file FILE] [--interval MS] [--duration S]\n"
	    "                          [--loss-timeout MS] [--min-lost N] [--stall MS]\n"
	    "                          [--hold-max S] [--stream ID] [--key-file FILE]\n"
	    "                          [--report -|FILE|URL]... [--quiet]\n"
	    "                          " TH_REPORT_USAGE "\n"
	    "Per-target options given after a --target apply to that target; otherwise they are\n"
	    "defaults for the targets (and --targets-file lines) that follow them.\n");
}

static th_target *probe_cur(probe_opts *o)
{
	return o->in_target ? &o->targets[o->n - 1] : &o->defaults;
}

static th_err probe_add_target(probe_opts *o, const char *addr, char *err)
{
	if (o->n == o->cap) {
		size_t ncap = o->cap ? 2 * o->cap : 4;
		th_target *nt = realloc(o->targets, ncap * sizeof *nt);
		if (nt == NULL)
			return th_seterr(err, TH_ERR_NOMEM, "out of memory for targets");
		o->targets = nt;
		o->cap = ncap;
	}
	th_target *t = &o->targets[o->n];
	*t = o->defaults;
	th_err e = th_target_set_addr(t, addr, err);
	if (e != TH_OK)
		return e;
	o->n++;
	o->in_target = true;
	return TH_OK;
}

/* One per-target setting, from the command line (opt = "--interval") or a targets file. */
static th_err probe_set(th_target *t, const char *opt, const char *val, char *err)
{
	uint64_t u;
	th_err e;

	if (strcmp(opt, "--vm") == 0)
		return th_arg_name(opt, val, t->probe.vm, err);
	if (strcmp(opt, "--stream") == 0)
		return th_arg_name(opt, val, t->probe.stream, err);
	if (strcmp(opt, "--interval") == 0)
		return th_arg_ms(opt, val, TH_INTERVAL_MIN_NS, TH_INTERVAL_MAX_NS,
		                 &t->probe.interval_ns, err);
	if (strcmp(opt, "--loss-timeout") == 0)
		return th_arg_ms(opt, val, TH_LOSS_TIMEOUT_MIN_NS, TH_LOSS_TIMEOUT_MAX_NS,
		                 &t->probe.loss_timeout_ns, err);
	if (strcmp(opt, "--stall") == 0)
		return th_arg_ms(opt, val, 0, TH_STALL_MAX_NS, &t->probe.stall_ns, err);
	if (strcmp(opt, "--hold-max") == 0)
		return th_arg_s(opt, val, 0, TH_HOLD_MAX_MAX_NS, &t->probe.hold_max_ns, err);
	if (strcmp(opt, "--min-lost") == 0) {
		e = th_arg_uint(opt, val, TH_MIN_LOST_MIN, TH_MIN_LOST_MAX, &u, err);
		if (e == TH_OK)
			t->probe.min_lost = (uint32_t)u;
		return e;
	}
	if (strcmp(opt, "--key-file") == 0)
		return th_key_load(val, t->key, &t->key_len, err);
	return th_seterr(err, TH_ERR_INVALID, "unknown setting %s", opt);
}

/* Lines "ADDR:PORT VM [interval=MS] [loss-timeout=MS] [min-lost=N] [stall=MS] [hold-max=S]
 * [stream=ID] [key-file=F]"; "#" starts a comment. */
static th_err probe_read_targets(probe_opts *o, const char *path, char *err)
{
	FILE *f = fopen(path, "r");
	char line[1024], msg[TH_ERRLEN];
	int lineno = 0;
	th_err e = TH_OK;

	if (f == NULL)
		return th_seterr(err, TH_ERR_IO, "--targets-file %s: %s", path, strerror(errno));
	while (e == TH_OK && fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			e = th_seterr(err, TH_ERR_TOOBIG, "%s:%d: line too long", path, lineno);
			break;
		}
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *save, *addr = strtok_r(line, " \t\r\n", &save);
		if (addr == NULL)
			continue;
		char *vm = strtok_r(NULL, " \t\r\n", &save);
		if (vm == NULL) {
			e = th_seterr(err, TH_ERR_INVALID, "%s:%d: target %s has no VM name", path,
			              lineno, addr);
			break;
		}
		o->in_target = false; /* file targets start from the defaults */
		if ((e = probe_add_target(o, addr, msg)) != TH_OK ||
		    (e = probe_set(&o->targets[o->n - 1], "--vm", vm, msg)) != TH_OK) {
			th_seterr(err, e, "%s:%d: %s", path, lineno, msg);
			break;
		}
		for (char *kv; (kv = strtok_r(NULL, " \t\r\n", &save)) != NULL;) {
			char *eq = strchr(kv, '='), opt[64];
			if (eq == NULL || eq == kv || (size_t)(eq - kv) > 40) {
				e = th_seterr(err, TH_ERR_INVALID,
				              "%s:%d: \"%s\" is not a setting (KEY=VALUE)", path,
				              lineno, kv);
				break;
			}
			snprintf(opt, sizeof opt, "--%.*s", (int)(eq - kv), kv);
			if (strcmp(opt, "--vm") == 0 ||
			    (e = probe_set(&o->targets[o->n - 1], opt, eq + 1, msg)) != TH_OK) {
				if (e == TH_OK)
					e = th_seterr(msg, TH_ERR_INVALID,
					              "vm is the second column");
				th_seterr(err, e, "%s:%d: %s", path, lineno, msg);
				break;
			}
		}
	}
	if (e == TH_OK && ferror(f))
		e = th_seterr(err, TH_ERR_IO, "--targets-file %s: read error", path);
	fclose(f);
	/* options that follow are defaults again, for the targets given after them */
	o->in_target = false;
	return e;
}

/* Read and check the options (argv[0] is "probe"), the targets and their settings (a
 * --targets-file and --key-file are read here). Starts nothing; TH_ERR_INVALID (or the error of
 * the file that could not be read) with errbuf set. o->targets and o->reports are allocated
 * even on failure: the caller frees them (probe_opts_free). */
static th_err probe_parse(int argc, char **argv, probe_opts *o, char *errbuf)
{
	static const struct option opts[] = {
	    {"target", required_argument, NULL, 'T'},
	    {"targets-file", required_argument, NULL, 'F'},
	    {"vm", required_argument, NULL, 'v'},
	    {"stream", required_argument, NULL, 'v'},
	    {"interval", required_argument, NULL, 'v'},
	    {"loss-timeout", required_argument, NULL, 'v'},
	    {"min-lost", required_argument, NULL, 'v'},
	    {"stall", required_argument, NULL, 'v'},
	    {"hold-max", required_argument, NULL, 'v'},
	    {"key-file", required_argument, NULL, 'v'},
	    {"duration", required_argument, NULL, 'd'},
	    {"report", required_argument, NULL, 'r'},
	    {"quiet", no_argument, NULL, 'q'},
	    TH_REPORT_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, idx;

	memset(o, 0, sizeof *o);
	th_target_defaults(&o->defaults);
	o->url.close_timeout_ms = 5000;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		th_err e = TH_OK;
		char name[64];
		switch (c) {
		case 'T':
			e = probe_add_target(o, optarg, errbuf);
			break;
		case 'F':
			e = probe_read_targets(o, optarg, errbuf);
			break;
		case 'v':
			snprintf(name, sizeof name, "--%s", opts[idx].name);
			e = probe_set(probe_cur(o), name, optarg, errbuf);
			break;
		case 'd':
			e = th_arg_s("--duration", optarg, TH_NS_PER_MS, TH_DURATION_MAX_NS,
			             &o->duration_ns, errbuf);
			break;
		case 'r': {
			const char **nr = realloc(o->reports, (o->nreports + 1) * sizeof *nr);
			if (nr == NULL)
				e = th_seterr(errbuf, TH_ERR_NOMEM, "out of memory");
			else {
				o->reports = nr;
				o->reports[o->nreports++] = optarg;
			}
			break;
		}
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			o->help = true;
			return TH_OK;
		default:
			if (th_report_opt(c, optarg, &o->url, &e, errbuf))
				break;
			o->usage = true;
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "unknown option or missing value: %s", argv[optind - 1]);
		}
		if (e != TH_OK)
			return e;
	}
	if (optind < argc)
		return th_seterr(errbuf, TH_ERR_INVALID, "unexpected argument \"%s\"",
		                 argv[optind]);
	if (o->n == 0) {
		o->usage = true;
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "no target: give --target ADDR:PORT or --targets-file FILE");
	}
	for (size_t i = 0; i < o->n; i++)
		if (o->targets[i].probe.vm[0] == '\0')
			return th_seterr(errbuf, TH_ERR_INVALID, "target %s:%s has no --vm NAME",
			                 o->targets[i].host, o->targets[i].port);
	return TH_OK;
}

static void probe_on_record(const th_record *rec, void *arg)
{
	probe_ctx *ctx = arg;

	if (ctx->failed)
		return;
	if (th_report_write(ctx->report, rec, ctx->err) != TH_OK) {
		/* an output that can not take records ends the run (exit status 1) */
		ctx->failed = true;
		th_prober_stop(ctx->prober);
	}
}

/* The prober's own log lines (stalls, clock steps, dropped records), on its output thread. */
static void probe_log(int level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	fprintf(stderr, PR "%s\n", msg);
}

static void probe_summary(th_prober *p)
{
	th_prober_health h;

	th_prober_get_health(p, &h);
	fprintf(stderr,
	        PR "prober: stalls %llu (max %.3f ms, total %.3f ms) clock-steps %llu "
	           "records-dropped %llu output-stalls %llu (max %.3f ms)\n",
	        (unsigned long long)h.stalls, (double)h.stall_max_ns / 1e6,
	        (double)h.stall_total_ns / 1e6, (unsigned long long)h.clock_steps,
	        (unsigned long long)h.records_dropped, (unsigned long long)h.output_stalls,
	        (double)h.output_stall_max_ns / 1e6);
	for (size_t i = 0; i < th_prober_count(p); i++) {
		th_target_stats st;
		th_prober_stats(p, i, &st);
		fprintf(stderr,
		        PR "%s (%s): sent %llu received %llu lost up %llu down %llu unknown %llu "
		           "late %llu dup %llu outages %llu stalled %llu slips %llu (skipped %llu, "
		           "max %.3f ms) invalid %llu malformed %llu forged %llu old-version %llu "
		           "replayed %llu foreign %llu send-errors %llu\n",
		        th_prober_vm_name(p, i), th_prober_stream_name(p, i),
		        (unsigned long long)st.s.sent, (unsigned long long)st.s.received,
		        (unsigned long long)st.s.lost_up, (unsigned long long)st.s.lost_down,
		        (unsigned long long)st.s.lost_unknown, (unsigned long long)st.s.late,
		        (unsigned long long)st.s.dup, (unsigned long long)st.s.outages,
		        (unsigned long long)st.s.stalled, (unsigned long long)st.s.slips,
		        (unsigned long long)st.s.skipped, (double)st.s.max_slip_ns / 1e6,
		        (unsigned long long)st.s.invalid, (unsigned long long)st.malformed,
		        (unsigned long long)st.forged, (unsigned long long)st.old_version,
		        (unsigned long long)st.replayed, (unsigned long long)st.foreign,
		        (unsigned long long)st.send_errors);
	}
}

/* Probe the parsed targets until SIGINT, SIGTERM or --duration; the exit status. */
static int probe_run(const probe_opts *o)
{
	probe_ctx ctx = {0};
	char err[TH_ERRLEN];
	int rc = TH_EXIT_FAIL;

	if (th_report_new(&ctx.report, err) != TH_OK)
		goto out_msg;
	for (size_t i = 0; i < o->nreports; i++) {
		if (th_report_add(ctx.report, o->reports[i], &o->url, err) != TH_OK) {
			rc = TH_EXIT_USAGE;
			goto out_msg;
		}
	}
	if (o->nreports == 0 && th_report_add(ctx.report, "-", &o->url, err) != TH_OK)
		goto out_msg;
	if (th_prober_new(&ctx.prober, probe_on_record, &ctx, err) != TH_OK)
		goto out_msg;
	th_prober_set_log(ctx.prober, probe_log, NULL);
	for (size_t i = 0; i < o->n; i++) {
		th_err e = th_prober_add(ctx.prober, &o->targets[i], err);
		if (e != TH_OK) {
			rc = e == TH_ERR_INVALID ? TH_EXIT_USAGE : TH_EXIT_FAIL;
			goto out_msg;
		}
	}
	struct sigaction sa = {.sa_handler = probe_on_signal};
	sigemptyset(&sa.sa_mask);
	probe_running = ctx.prober;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (th_prober_run(ctx.prober, o->duration_ns, err) != TH_OK)
		goto out_msg;
	probe_running = NULL;
	rc = ctx.failed ? TH_EXIT_FAIL : TH_EXIT_OK;
	if (ctx.failed)
		fprintf(stderr, PR "%s\n", ctx.err);
	if (!o->quiet)
		probe_summary(ctx.prober);
	goto out;
out_msg:
	fprintf(stderr, PR "%s\n", err);
out:
	probe_running = NULL;
	if (th_report_close(ctx.report, err) != TH_OK) {
		fprintf(stderr, PR "%s\n", err);
		rc = TH_EXIT_FAIL;
	}
	th_prober_free(ctx.prober);
	return rc;
}

/* Wipe the keys, free the targets and the outputs. */
static void probe_opts_free(probe_opts *o)
{
	for (size_t i = 0; i < o->n; i++)
		memset(o->targets[i].key, 0, sizeof o->targets[i].key);
	memset(o->defaults.key, 0, sizeof o->defaults.key);
	free(o->targets);
	free(o->reports);
}

int cmd_probe(int argc, char **argv)
{
	probe_opts o;
	char err[TH_ERRLEN] = "";
	th_err e = probe_parse(argc, argv, &o, err);
	int rc = th_cmd_parsed("probe", e, err, o.usage, o.help, probe_usage);

	if (rc < 0)
		rc = probe_run(&o);
	probe_opts_free(&o);
	return rc;
}
