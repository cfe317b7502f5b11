/* report.h — where themis-agent writes its records: the "--report" outputs.
 *
 * Each "--report" value becomes one output: "-" = JSON lines on stdout, "http://..." or
 * "https://..." = the ingest endpoint (report-url.h), anything else = a file to which JSON lines
 * are appended. Every record goes to every output, in order. Used by every subcommand that
 * produces records (probe, receive, iperf).
 */
#ifndef TH_AGENT_REPORT_H
#define TH_AGENT_REPORT_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "report-url.h"
#include "th-error.h"
#include "th-record.h"

typedef struct th_report th_report;

/* An empty set of outputs (records are then dropped). */
th_err th_report_new(th_report **out, char *errbuf);

/* Open one output named by spec (see above); url_opts is used for URLs only. */
th_err th_report_add(th_report *r, const char *spec, const report_url_opts *url_opts, char *errbuf);

size_t th_report_count(const th_report *r);

/* Write rec to every output; returns the first error (the other outputs still get it). */
th_err th_report_write(th_report *r, const th_record *rec, char *errbuf);

/* Flush and close every output, free r; returns the first error. */
th_err th_report_close(th_report *r, char *errbuf);

/* The delivery options every subcommand with --report outputs takes, as getopt_long entries
 * whose values lie above every letter (they never clash with a command's own options). */
enum {
	TH_ROPT_TOKEN_FILE = 0x100,
	TH_ROPT_SPOOL_DIR,
	TH_ROPT_SPOOL_MAX,
	TH_ROPT_SPOOL_MEMORY,
	TH_ROPT_CACERT,
	TH_ROPT_CERT,
	TH_ROPT_KEY,
};
#define TH_REPORT_LONGOPTS                                                                         \
	{"token-file", required_argument, NULL, TH_ROPT_TOKEN_FILE},                               \
	    {"spool-dir", required_argument, NULL, TH_ROPT_SPOOL_DIR},                             \
	    {"spool-max", required_argument, NULL, TH_ROPT_SPOOL_MAX},                             \
	    {"spool-memory", required_argument, NULL, TH_ROPT_SPOOL_MEMORY},                       \
	    {"cacert", required_argument, NULL, TH_ROPT_CACERT},                                   \
	    {"cert", required_argument, NULL, TH_ROPT_CERT},                                       \
	{                                                                                          \
		"key", required_argument, NULL, TH_ROPT_KEY                                        \
	}
#define TH_REPORT_USAGE                                                                            \
	"[--token-file F] [--spool-dir D] [--spool-max SIZE] [--spool-memory N] [--cacert F] "     \
	"[--cert F --key F]"

/* When getopt's c is one of TH_REPORT_LONGOPTS: store arg in url (sizes checked), set *e and
 * return true; false for any other c. */
bool th_report_opt(int c, const char *arg, report_url_opts *url, th_err *e, char *errbuf);

#endif
