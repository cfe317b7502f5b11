/* commands.h — the subcommands of themis-agent. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status: 0 success, 1 runtime
 * failure, 2 bad usage. Each cmd-*.c has the same shape: a static X_parse(argc, argv, opts,
 * errbuf) that reads and checks the options and starts nothing, a static X_run(opts) that runs,
 * and cmd_X, which prints what the parser refused (or the usage) and runs. */
#ifndef TH_AGENT_COMMANDS_H
#define TH_AGENT_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "th-error.h"

int cmd_reflect(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_send(int argc, char **argv);    /* with TH_HAVE_ONEWAY */
int cmd_receive(int argc, char **argv); /* with TH_HAVE_ONEWAY */
int cmd_iperf(int argc, char **argv);   /* with TH_HAVE_IPERF */

#define TH_EXIT_OK    0
#define TH_EXIT_FAIL  1
#define TH_EXIT_USAGE 2

/* What cmd_X does with X_parse's verdict e: a refusal is printed as "themis-agent CMD: err"
 * (with the usage on stderr when usage is set), --help prints the usage on stdout. Returns -1
 * when the command is to run, else the exit status. */
int th_cmd_parsed(const char *cmd, th_err e, const char *err, bool usage, bool help,
                  void (*usage_fn)(FILE *));

#endif
