/* report-url.h — delivery of records to the collectd plugin's ingest endpoint (DESIGN §5.4).
 *
 * Interface between the record outputs of themis-agent (agent/report.c) and the HTTP delivery
 * (agent/report-url.c, listed in agent/delivery.am, which also adds -DTH_HAVE_REPORT_URL to
 * DELIVERY_CPPFLAGS once it is there). Contract:
 * - report_url_open() is called once per "--report URL" before probing starts; url starts with
 *   "http://" or "https://" (e.g. "http://collector:8090/v1/records").
 * - report_url_write() is called from the thread that writes records (for probe: the prober's
 *   output thread, never the probing thread), once per record, in emission order. It must not
 *   block on the network: it spools (in memory while the spool fails) and a delivery thread of
 *   its own POSTs JSON-array batches (lib/record-json.h encodes). A failing spool is not an
 *   error of the write: the record is kept in memory, or dropped and counted.
 * - report_url_close() is called once at exit, after the last write: it tries to deliver what is
 *   queued within opts->close_timeout_ms, spools the rest for the next run, frees everything.
 * Nothing is lost or duplicated across an endpoint outage or an agent restart (spool + the
 * endpoint's idempotent keys) as long as the spool stays under spool_max; beyond it the oldest
 * batches are deleted and counted. close() reports records lost because the spool failed.
 */
#ifndef TH_AGENT_REPORT_URL_H
#define TH_AGENT_REPORT_URL_H

#include "th-error.h"
#include "th-record.h"

typedef struct report_url_opts {
	const char *token_file; /* bearer token file ("--token-file"); NULL = no token */
	const char *spool_dir;  /* "--spool-dir"; NULL = the delivery code's default */
	int close_timeout_ms;   /* how long close may try to deliver; default 5000 */
	/* https:// (certificate verification is always on): "--cacert" verifies the plugin's
	 * certificate against that CA file instead of the system store; "--cert" and "--key"
	 * (both or neither) present a client certificate. NULL = not given. */
	const char *cacert, *cert, *key;
	unsigned spool_memory;        /* "--spool-memory": records kept in memory while the spool
	                               * fails; 0 = the delivery code's default (10000) */
	unsigned long long spool_max; /* "--spool-max": bytes the spool may hold on disk (the
	                               * oldest batches are deleted, counted, beyond it); 0 = the
	                               * delivery code's default (256 MiB) */
} report_url_opts;

typedef struct report_url report_url;

/* Bounds of --spool-max (the default, 256 MiB, is the delivery code's). */
#define TH_SPOOL_MAX_MIN (64ULL << 10)
#define TH_SPOOL_MAX_MAX (1ULL << 40)

th_err report_url_open(report_url **out, const char *url, const report_url_opts *opts,
                       char *errbuf);
th_err report_url_write(report_url *r, const th_record *rec, char *errbuf);
th_err report_url_close(report_url *r, char *errbuf);

#endif
