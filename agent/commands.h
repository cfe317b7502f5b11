/* commands.h — the subcommands of themis-agent. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status: 0 success, 1 runtime
 * failure, 2 bad usage. Each cmd-*.c has the same shape: a static X_parse(argc, argv, opts,
 * errbuf) that reads and checks the options and starts nothing, a static X_run(opts) that runs,
 * and cmd_X, which prints what the parser refused (or the usage) and runs. */
#ifndef TH_AGENT_COMMANDS_H
#define TH_AGENT_COMMANDS_H

int cmd_reflect(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_send(int argc, char **argv);    /* with TH_HAVE_ONEWAY */
int cmd_receive(int argc, char **argv); /* with TH_HAVE_ONEWAY */
int cmd_iperf(int argc, char **argv);   /* with TH_HAVE_IPERF */

#define TH_EXIT_OK    0
#define TH_EXIT_FAIL  1
#define TH_EXIT_USAGE 2

#endif
