/* iperf-parse.h — iperf3 3.12 text output (run with --forceflush --timestamps='%s ') turned into
 * `iperf` records (DESIGN §5.1), free of processes and clocks.
 *
 * th_iperf_parse_line() reads one line; th_iperf_conv turns the interval lines of a run into
 * records: t = epoch second of the interval start (the run's start is anchored on the arrival
 * time of its first interval line, which iperf3 prints at that interval's end), bytes as iperf3
 * printed them (3 significant digits), bits_per_second, and for a receiving UDP side jitter and
 * lost/total datagrams. A zero-byte interval is a blackout: traffic stopped, which iperf3 shows
 * as "0 % loss" and later books as loss in the interval where traffic resumed. Each maximal run
 * of blackout intervals also becomes one `outage` record from the start of its first interval
 * to the start of the interval in which traffic resumed (bound: one interval).
 * Summary lines ("sender"/"receiver") are not intervals and give no records.
 */
#ifndef TH_AGENT_IPERF_PARSE_H
#define TH_AGENT_IPERF_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "th-record.h"

typedef enum th_iperf_kind {
	TH_IPERF_OTHER = 0, /* banner, blank, anything not recognised */
	TH_IPERF_HEADER,    /* "[ ID] Interval  Transfer  Bitrate ..." (sets the columns) */
	TH_IPERF_INTERVAL,  /* one interval of one stream or of [SUM] */
	TH_IPERF_SUMMARY,   /* end-of-run totals, ending in "sender" or "receiver" */
	TH_IPERF_SEPARATOR, /* "- - - - ..." before the summary */
	TH_IPERF_ERROR,     /* "iperf3: error - ..." */
} th_iperf_kind;

/* What follows Bitrate, as announced by the last header line. */
typedef enum th_iperf_cols {
	TH_IPERF_COLS_NONE = 0, /* TCP receiver: nothing */
	TH_IPERF_COLS_RETR,     /* TCP sender: Retr [Cwnd] */
	TH_IPERF_COLS_TOTAL,    /* UDP sender: Total Datagrams */
	TH_IPERF_COLS_LOSS,     /* UDP receiver: Jitter Lost/Total Datagrams */
} th_iperf_cols;

typedef struct th_iperf_line {
	int64_t stamp;          /* the --timestamps prefix, -1 when absent */
	bool sum;               /* a [SUM] line */
	int id;                 /* stream number in "[  5]", -1 for SUM */
	double start, end;      /* seconds since the start of the run */
	double bytes;           /* Transfer, scaled (KBytes = 1024 bytes, ...) */
	double bits_per_second; /* Bitrate, scaled (Kbits = 1000 bits, ...) */
	double jitter_ms;       /* NaN when not printed */
	int64_t lost, packets;  /* -1 when not printed */
	int64_t retransmits;    /* -1 when not printed */
	const char *message;    /* TH_IPERF_ERROR: the text after "iperf3: error - " */
} th_iperf_line;

/* Parse one line (without its newline). *cols is read for interval lines and updated by header
 * lines. */
th_iperf_kind th_iperf_parse_line(const char *line, th_iperf_cols *cols, th_iperf_line *out);

typedef void (*th_iperf_record_cb)(const th_record *rec, void *arg);

typedef struct th_iperf_conv {
	char vm[TH_NAME_MAX], stream[TH_NAME_MAX];
	th_direction direction; /* of the outage records (the measured traffic's direction) */
	bool sum_only;          /* several parallel streams: use the [SUM] lines only */
	/* state */
	th_iperf_cols cols;
	bool anchored;
	double anchor;     /* epoch seconds of the run's time 0 */
	double last_end;   /* end of the last interval used */
	int id;            /* the stream followed (the first seen) */
	bool in_summary;   /* after the separator, until the next run */
	bool dark;         /* inside a run of blackout intervals */
	double dark_start; /* its start (run seconds) */
	double dark_len;   /* interval length while dark */
	/* counters */
	uint64_t intervals, blackouts, outages, errors;
	char last_error[200];
} th_iperf_conv;

/* vm and stream must be valid record names; direction TH_DIR_UNKNOWN when not known. */
void th_iperf_conv_init(th_iperf_conv *c, const char *vm, const char *stream,
                        th_direction direction, bool sum_only);

/* A line arrived at epoch time now (seconds; <= 0: use the line's --timestamps stamp).
 * Emits the records it completes and returns the line's kind. */
th_iperf_kind th_iperf_conv_line(th_iperf_conv *c, const char *line, double now,
                                 th_iperf_record_cb cb, void *arg);

/* The output ended: a blackout still running becomes an outage ending at the last interval. */
void th_iperf_conv_finish(th_iperf_conv *c, th_iperf_record_cb cb, void *arg);

#endif
