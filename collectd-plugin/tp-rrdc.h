/* tp-rrdc.h — a client of rrdcached's text protocol (rrdcached(1), PROTOCOL) owned by one
 * thread, with a deadline on every operation. It replaces librrd's rrdc_* calls, which share one
 * connection and one mutex per process (collectd's rrdcached plugin uses them too) and wait
 * without bound on connect() and recv().
 *
 * Each operation connects when needed (non-blocking connect, then poll), sends its commands and
 * reads the replies under one deadline of timeout_ms counted from its start; on a timeout or any
 * transport error it closes the connection, so the next operation connects anew. An error
 * reply of the daemon ("-1 No such file: ...") leaves the connection open. Errors:
 * TH_ERR_TIMEOUT (the deadline passed), TH_ERR_NET (connect, send or receive failed, or the
 * daemon closed the connection), TH_ERR_PARSE (an answer that is no reply), TH_ERR_REMOTE (the
 * daemon refused: its status and message), TH_ERR_NOTFOUND (the daemon has no such file),
 * TH_ERR_INVALID (a bad address or file name), TH_ERR_TOOBIG (a command longer than a line).
 *
 * Addresses as librrd and rrdcached spell them: "unix:/path" or "/path" (a unix socket), "host",
 * "host:port", "[v6]" or "[v6]:port" (TCP, port TP_RRDC_PORT by default). With a unix socket,
 * file names are sent as their real path (the directory's, for a file not yet there), as librrd
 * does; over TCP they are sent as given: the daemon takes a relative name under its -b
 * directory and an absolute one as it is (with -B, only inside that directory), where librrd
 * refuses absolute names over TCP unless RRDCACHED_STRIPPATH strips them. Host names are
 * resolved by getaddrinfo(), which the deadline does not bound: give numeric addresses where a
 * resolver may hang.
 *
 * The pure part (address, command lines, reply framing, INFO and LAST replies) is apart from the
 * I/O and tested on its own. */
#ifndef TH_PLUGIN_TP_RRDC_H
#define TH_PLUGIN_TP_RRDC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "th-error.h"

#define TP_RRDC_PORT "42217"
/* rrdcached 1.7 reads command lines of up to 8,192 bytes (newline included) and closes the
 * connection, without a reply, on a longer one; it journals only the first 4,095 bytes of an
 * UPDATE; librrd's client sends at most RRD_CMD_MAX (4,096) bytes: so does this one. */
#define TP_RRDC_LINE_MAX  4096       /* bytes of one command line, newline included */
#define TP_RRDC_REPLY_MAX (1L << 20) /* bytes of one reply read at most */
#define TP_RRDC_ARGC_MAX  120        /* DS and RRA definitions of one CREATE (the daemon: 128) */

typedef struct tp_rrdc tp_rrdc;

/* A client of the daemon at address, nothing connected yet; NULL only when out of memory. A bad
 * address is reported by every operation (TH_ERR_INVALID naming it). */
tp_rrdc *tp_rrdc_new(const char *address, int timeout_ms);

/* Close the connection and free c (NULL allowed). */
void tp_rrdc_free(tp_rrdc *c);

/* The address c was made with. */
const char *tp_rrdc_address(const tp_rrdc *c);

/* Queue n rows "<t>:<v>:..." (absolute times, increasing) for file, in as few UPDATE commands as
 * fit TP_RRDC_LINE_MAX each, sent one after the other, each waiting for its reply. On an error
 * the commands before the failing one are taken whole and none after it is sent; of the failing
 * command rrdcached 1.7 has taken the rows before the first it refused (it checks them in order:
 * a time not after the last one, a row without a time), and on a timeout or transport error
 * that command may have been taken whole, in part or not at all: ask tp_rrdc_last and skip
 * the seconds already stored. The message names the rows of the failing command. A row
 * longer than a command line is refused (TH_ERR_TOOBIG) before anything is sent. The daemon
 * checks neither the number nor the form of the values: a malformed row is accepted, and when
 * the daemon writes the file it drops that row and every later one it holds for the file then,
 * logging it only (FLUSH succeeds; LAST gives the last row queued, not the last written). */
th_err tp_rrdc_update(tp_rrdc *c, const char *file, int n, const char *const *values, char *errbuf);

/* CREATE file -b last_up -s step [-r source] <argv...> (DS and RRA definitions), replacing any
 * file of that name unless the daemon runs with -O; last_up < 0 leaves -b out (the daemon's
 * default, now - 10 s), and the daemon refuses one before 1980. With source, FLUSH source
 * first: the daemon prefills the new file from the source on disk. */
th_err tp_rrdc_create(tp_rrdc *c, const char *file, unsigned long step, time_t last_up,
                      const char *source, int argc, const char *const *argv, char *errbuf);

/* Last update time of file as the daemon knows it (queued rows included), via LAST. */
th_err tp_rrdc_last(tp_rrdc *c, const char *file, time_t *last, char *errbuf);

/* Write file's queued rows to disk; returns once the daemon has written them (FLUSH). A file
 * the daemon holds nothing for but which exists succeeds. */
th_err tp_rrdc_flush(tp_rrdc *c, const char *file, char *errbuf);

/* Rows of file's first RRA, via INFO (the file on disk; queued rows do not change it). */
th_err tp_rrdc_rows(tp_rrdc *c, const char *file, long *rows, char *errbuf);

/* --- pure part ---------------------------------------------------------------------------- */

typedef struct tp_rrdc_addr {
	bool unix_socket;
	char path[108]; /* unix socket path */
	char host[256]; /* TCP host, without brackets */
	char port[16];
} tp_rrdc_addr;

/* Split an address into *a; TH_ERR_INVALID naming it when it cannot be one. */
th_err tp_rrdc_parse_address(const char *address, tp_rrdc_addr *a, char *errbuf);

/* Append ' ' and field, spaces and backslashes escaped with a backslash, to the command line
 * line[0 .. *len) (a buffer of TP_RRDC_LINE_MAX bytes), keeping room for the newline. False,
 * the line unchanged, when it would not fit or field holds a newline or carriage return. */
bool tp_rrdc_line_add(char *line, size_t *len, const char *field);

/* Length of the first whole reply in buf[0 .. len) ("<status> <message>\n" and, when status
 * > 0, that many lines), 0 while it is incomplete, -1 when the status line is not one. */
long tp_rrdc_reply_length(const char *buf, size_t len);

/* Status and message (up to the newline, *msg_len bytes) of a whole reply. */
void tp_rrdc_reply_status(const char *reply, long *status, const char **msg, size_t *msg_len);

/* The code for an error reply's message: TH_ERR_NOTFOUND for a missing file, else
 * TH_ERR_REMOTE. */
th_err tp_rrdc_reply_err(const char *msg, size_t msg_len);

/* rra[0].rows from INFO's lines "<key> <type> <value>"; TH_ERR_NOTFOUND when absent. */
th_err tp_rrdc_info_rows(const char *lines, size_t len, long *rows);

/* The time of LAST's reply message; TH_ERR_PARSE when it is not a positive number. */
th_err tp_rrdc_parse_last(const char *msg, size_t msg_len, time_t *last);

#endif
