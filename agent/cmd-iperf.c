/* cmd-iperf.c — `themis-agent iperf [options] -- <iperf3 args>`: runs Debian 12's iperf3 (3.12)
 * as a child in text mode with --forceflush --timestamps='%s ' (and -f k unless a format is
 * given), echoes its output to stderr, and turns each interval line into an `iperf` record and
 * each run of zero-byte intervals into an `outage` record (iperf-parse.h) on the --report
 * outputs. The exit status is iperf3's (1 when it failed). iperf_parse reads the options,
 * iperf_run runs iperf3.
 */
#include "themis-config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "iperf-parse.h"
#include "report.h"
#include "th-time.h"

#define IPERF_MAX_REPORTS 8

static volatile sig_atomic_t iperf_signal;

static void iperf_on_signal(int sig)
{
	iperf_signal = sig;
}

typedef struct iperf_out {
	th_report *report;
	unsigned long long errors;
} iperf_out;

static void iperf_emit(const th_record *rec, void *arg)
{
	iperf_out *o = arg;
	char err[TH_ERRLEN];

	if (th_report_write(o->report, rec, err) != TH_OK && o->errors++ == 0)
		fprintf(stderr, "themis-agent iperf: %s\n", err);
}

static void iperf_usage(FILE *f)
{
	fprintf(f, "usage: themis-agent iperf [--vm NAME] [--stream ID] [--direction up|down] "
	           "[--report -|FILE|URL]... " TH_REPORT_USAGE " [--iperf3 PATH] "
	           "[--quiet] -- IPERF3-ARGS...\n");
}

/* Options iperf3 must not get from the user: they change the output this command reads. */
static const char *iperf_refused(const char *a)
{
	static const char *bad[] = {
	    "-J",       "--json", "--json-stream", "--bidir", "--logfile", "--timestamps", "-D",
	    "--daemon", "-v",     "--version",     "-h",      "--help"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = strlen(bad[i]);
		if (strncmp(a, bad[i], n) == 0 && (a[n] == '\0' || (a[1] == '-' && a[n] == '=')))
			return bad[i];
	}
	return NULL;
}

typedef struct iperf_opts {
	char vm[TH_NAME_MAX], stream[TH_NAME_MAX];
	const char *reports[IPERF_MAX_REPORTS];
	size_t nreports;
	report_url_opts url;
	th_direction dir;
	const char *iperf3; /* the program to run */
	char **args;        /* iperf3's arguments (after --) */
	int nargs;          /* ... how many */
	bool quiet, sum_only, has_format;
	bool help;  /* --help: print the usage, run nothing */
	bool usage; /* on an error: the usage follows the message */
} iperf_opts;

/* Read and check the options (argv[0] is "iperf"): the --report outputs, the record names
 * (default VM: the -c host, else "iperf"; default stream: <host name>/<vm>/iperf) and iperf3's
 * arguments. Opens nothing; TH_ERR_INVALID with errbuf set, or empty when getopt already named
 * an unknown option on stderr. */
static th_err iperf_parse(int argc, char **argv, iperf_opts *o, char *errbuf)
{
	static const struct option opts[] = {{"vm", required_argument, NULL, 'v'},
	                                     {"stream", required_argument, NULL, 's'},
	                                     {"direction", required_argument, NULL, 'D'},
	                                     {"report", required_argument, NULL, 'r'},
	                                     {"iperf3", required_argument, NULL, 'I'},
	                                     {"quiet", no_argument, NULL, 'q'},
	                                     TH_REPORT_LONGOPTS,
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *client = NULL;
	char host[64];
	int c;

	memset(o, 0, sizeof *o);
	o->dir = TH_DIR_UNKNOWN;
	o->iperf3 = getenv("THEMIS_IPERF3");
	errbuf[0] = '\0';
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		th_err e = TH_OK;
		switch (c) {
		case 'v':
			e = th_arg_name("--vm", optarg, o->vm, errbuf);
			break;
		case 's':
			e = th_arg_name("--stream", optarg, o->stream, errbuf);
			break;
		case 'D':
			if (strcmp(optarg, "up") == 0)
				o->dir = TH_DIR_UP;
			else if (strcmp(optarg, "down") == 0)
				o->dir = TH_DIR_DOWN;
			else
				e = th_seterr(errbuf, TH_ERR_INVALID,
				              "--direction \"%s\": expected up or down", optarg);
			break;
		case 'r':
			if (o->nreports == IPERF_MAX_REPORTS)
				e = th_seterr(errbuf, TH_ERR_INVALID, "at most %d --report outputs",
				              IPERF_MAX_REPORTS);
			else
				o->reports[o->nreports++] = optarg;
			break;
		case 'I':
			o->iperf3 = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			o->help = true;
			return TH_OK;
		default:
			if (th_report_opt(c, optarg, &o->url, &e, errbuf))
				break;
			o->usage = true; /* getopt said what is wrong */
			return TH_ERR_INVALID;
		}
		if (e != TH_OK)
			return e;
	}
	if (optind >= argc) {
		o->usage = true;
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "no iperf3 arguments (give them after --)");
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	for (int i = optind; i < argc; i++) {
		const char *a = argv[i], *bad = iperf_refused(a);
		if (bad)
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "iperf3 option %s is not allowed here: it changes the text "
			    "output the records are read from",
			    bad);
		if (strcmp(a, "-f") == 0 || strncmp(a, "--format", 8) == 0 ||
		    (strncmp(a, "-f", 2) == 0 && a[2]))
			o->has_format = true;
		if ((strcmp(a, "-P") == 0 || strcmp(a, "--parallel") == 0) && i + 1 < argc &&
		    atoi(argv[i + 1]) > 1)
			o->sum_only = true;
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--client") == 0) && i + 1 < argc)
			client = argv[i + 1];
	}
	if (o->vm[0] == '\0' &&
	    (client == NULL || th_arg_name("--vm", client, o->vm, NULL) != TH_OK))
		strcpy(o->vm, "iperf");
	if (o->stream[0] == '\0') {
		if (gethostname(host, sizeof host) != 0)
			strcpy(host, "host");
		host[sizeof host - 1] = '\0';
		if (snprintf(o->stream, sizeof o->stream, "%s/%s/iperf", host, o->vm) >=
		    (int)sizeof o->stream)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "stream name too long: give --stream");
	}
	if (o->iperf3 == NULL || *o->iperf3 == '\0')
		o->iperf3 = "iperf3";
	if (o->nreports == 0)
		o->reports[o->nreports++] = "-";
	return TH_OK;
}

/* Run iperf3 with the parsed options, its output turned into records; the exit status. */
static int iperf_run(const iperf_opts *o)
{
	char err[TH_ERRLEN];
	char **child_argv;
	int pfd[2], status = 0, rc = TH_EXIT_FAIL;
	pid_t pid;
	iperf_out out = {0};
	th_iperf_conv conv;
	th_clock clk;
	struct sigaction sa = {0};
	FILE *in;
	char *line = NULL;
	size_t cap = 0;

	child_argv = calloc((size_t)o->nargs + 6, sizeof *child_argv);
	if (child_argv == NULL) {
		fprintf(stderr, "themis-agent iperf: out of memory\n");
		return TH_EXIT_FAIL;
	}
	{
		int k = 0;
		child_argv[k++] = (char *)o->iperf3;
		for (int i = 0; i < o->nargs; i++)
			child_argv[k++] = o->args[i];
		child_argv[k++] = "--forceflush";
		child_argv[k++] = "--timestamps=%s ";
		if (!o->has_format) {
			child_argv[k++] = "-f";
			child_argv[k++] = "k";
		}
		child_argv[k] = NULL;
	}

	if (th_report_new(&out.report, err) != TH_OK) {
		fprintf(stderr, "themis-agent iperf: %s\n", err);
		free(child_argv);
		return TH_EXIT_FAIL;
	}
	for (size_t i = 0; i < o->nreports; i++)
		if (th_report_add(out.report, o->reports[i], &o->url, err) != TH_OK) {
			fprintf(stderr, "themis-agent iperf: --report %s: %s\n", o->reports[i],
			        err);
			goto done;
		}

	if (pipe(pfd) != 0) {
		fprintf(stderr, "themis-agent iperf: pipe: %s\n", strerror(errno));
		goto done;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "themis-agent iperf: fork: %s\n", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		goto done;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execvp(o->iperf3, child_argv);
		fprintf(stderr, "iperf3: error - cannot run %s: %s\n", o->iperf3, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	sa.sa_handler = iperf_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	th_clock_init(&clk);
	th_iperf_conv_init(&conv, o->vm, o->stream, o->dir, o->sum_only);
	in = fdopen(pfd[0], "r");
	for (;;) {
		ssize_t n;
		errno = 0;
		n = in ? getline(&line, &cap, in) : -1;
		if (iperf_signal) {
			kill(pid, iperf_signal == SIGTERM ? SIGTERM
			                                  : SIGINT); /* iperf3 then summarises */
			iperf_signal = 0;
		}
		if (n < 0) {
			if (in && errno == EINTR) {
				clearerr(in);
				continue;
			}
			break;
		}
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		th_iperf_conv_line(&conv, line, th_clock_to_epoch(&clk, th_mono_ns()), iperf_emit,
		                   &out);
		if (!o->quiet)
			fprintf(stderr, "%s\n", line);
	}
	th_iperf_conv_finish(&conv, iperf_emit, &out);
	if (in)
		fclose(in);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rc = out.errors ? TH_EXIT_FAIL : TH_EXIT_OK;
	} else {
		fprintf(stderr, "themis-agent iperf: %s %s%s%s\n", o->iperf3,
		        WIFEXITED(status) ? "failed" : "was killed", conv.last_error[0] ? ": " : "",
		        conv.last_error);
	}
	fprintf(stderr,
	        "themis-agent iperf: %llu intervals, %llu blackout intervals, %llu outages\n",
	        (unsigned long long)conv.intervals, (unsigned long long)conv.blackouts,
	        (unsigned long long)conv.outages);
done:
	free(line);
	free(child_argv);
	if (th_report_close(out.report, err) != TH_OK) {
		fprintf(stderr, "themis-agent iperf: %s\n", err);
		rc = TH_EXIT_FAIL;
	}
	return rc;
}

int cmd_iperf(int argc, char **argv)
{
	iperf_opts o;
	char err[TH_ERRLEN] = "";
	th_err e = iperf_parse(argc, argv, &o, err);
	int rc = th_cmd_parsed("iperf", e, err, o.usage, o.help, iperf_usage);

	return rc >= 0 ? rc : iperf_run(&o);
}
