/* report.h — where themis-agent writes its records: the "--report" outputs.
 *
 * Each "--report" value becomes one output: "-" = JSON lines on stdout, "http://..." or
 * "https://..." = the ingest endpoint (report-url.h), anything else = a file to which JSON lines
 * are appended. Every record goes to every output, in order. Used by every subcommand that
 * produces records (probe, receive, iperf).
 */
#ifndef TH_AGENT_REPORT_H
#define TH_AGENT_REPORT_H

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

#endif
