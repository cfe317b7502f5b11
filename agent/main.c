/* main.c — themis-agent: dispatch to the subcommand named by the first argument. */
#include "themis-config.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct {
	const char *name;
	int (*run)(int, char **);
	const char *what;
} commands[] = {
    {"reflect", cmd_reflect, "echo probes (on the VM)"},
    {"probe", cmd_probe, "send probes, measure, report (on the supervisor)"},
#ifdef TH_HAVE_ONEWAY
    {"send", cmd_send, "one-way mode: send a paced stream (on the VM)"},
    {"receive", cmd_receive, "one-way mode: receive and measure (on the supervisor)"},
#endif
#ifdef TH_HAVE_IPERF
    {"iperf", cmd_iperf, "run iperf3 and turn its intervals into records"},
#endif
};

static void usage(FILE *f)
{
	fprintf(f, "usage: themis-agent COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\n'themis-agent COMMAND --help' lists the options of a command; see "
	           "themis-agent(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return TH_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return TH_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("themis-agent %s\n", THEMIS_VERSION);
		return TH_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "themis-agent: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return TH_EXIT_USAGE;
}
