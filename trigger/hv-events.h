/* hv-events.h — the hypervisor's own events of one migration, parsed from the text an operator
 * command printed on the source or the destination host (--hv-events), and the remote command
 * lines that run that command in the background and read its output back. Pure: no I/O.
 *
 * Two line formats, told apart per line (any other line is skipped and counted):
 *  - QMP event JSON as QEMU sends it (themis-lab hv-events, any QMP monitor):
 *      {"timestamp": {"seconds": S, "microseconds": U}, "event": "STOP"}
 *      {"timestamp": {...}, "event": "MIGRATION", "data": {"status": "active"}}
 *    t = S + U / 1e6 (the host's CLOCK_REALTIME, microseconds).
 *  - `virsh event --loop --timestamp` lifecycle lines (libvirt's tools/virsh-domain-event.c;
 *    the timestamp is virTimeStringNowRaw's UTC "%4d-%02d-%02d %02d:%02d:%02d.%03d+0000"):
 *      2026-12-01 20:55:02.123+0000: event 'lifecycle' for domain 'one-42': Suspended Migrated
 *    t in milliseconds; other virsh event lines (e.g. 'reboot', 'rtc-change') are OTHER.
 *
 * What each event means depends on the side it came from:
 *  - PAUSE (the guest stopped on the source): QMP STOP on the source; libvirt Suspended (any
 *    detail) on the source. A libvirt Stopped on the source (Saved, Shutdown, Destroyed: a
 *    cold migration without a suspend) is a fallback pause, used only when no Suspended came.
 *  - RESUME (the guest runs on the destination): QMP RESUME on the destination; libvirt Resumed
 *    (any detail) on the destination. libvirt Started Booted/Restored on the destination (cold:
 *    the guest boots or is restored running) is a fallback resume. Started Migrated is NOT a
 *    resume: the incoming domain exists, paused, before the final copy.
 *  - STATUS: QMP MIGRATION (status = data.status) on either side; every other libvirt
 *    lifecycle line on either side (status = "Event Detail", e.g. "Stopped Migrated").
 *  - OTHER: anything else (QMP STOP on the destination, RESUME on the source, SHUTDOWN, ...). */
#ifndef TH_TRIGGER_HV_EVENTS_H
#define TH_TRIGGER_HV_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent-cmd.h"
#include "th-error.h"

#define HV_EVENTS_MAX      256  /* events kept per side; later ones are dropped and counted */
#define HV_EVENTS_LINE_MAX 4096 /* longer lines are skipped and counted */
#define HV_EVENTS_OUT_MAX  (256 * 1024) /* bytes of a command's output read back */

typedef enum hv_side { HV_SIDE_SRC, HV_SIDE_DST } hv_side;

typedef enum hv_ev_kind { HV_EV_OTHER, HV_EV_STATUS, HV_EV_PAUSE, HV_EV_RESUME } hv_ev_kind;

typedef struct hv_event {
	double t; /* the hypervisor's timestamp, epoch s */
	hv_ev_kind kind;
	bool fallback;   /* PAUSE/RESUME only when no primary one exists (see above) */
	char status[32]; /* MIGRATION status, libvirt "Event Detail", else the QMP event name */
	char source[16]; /* "qmp" or "libvirt" */
} hv_event;

typedef struct hv_events {
	hv_event ev[HV_EVENTS_MAX];
	size_t n;
	size_t dropped;    /* events past HV_EVENTS_MAX */
	size_t skipped;    /* lines that are neither format (blank lines not counted) */
	size_t long_lines; /* lines over HV_EVENTS_LINE_MAX bytes */
} hv_events;

/* "src" / "dst". */
const char *hv_side_name(hv_side side);

/* Parse len bytes of text (need not be NUL-terminated) printed on side into *out (reset
 * first). Never fails on bad lines (they are counted); TH_ERR_NOTFOUND, the message quoting the
 * start of the text, when no event at all was recognised. */
th_err hv_events_parse(const char *text, size_t len, hv_side side, hv_events *out, char *errbuf);

/* The pause and the resume of one migration from the source's and the destination's events:
 * the first PAUSE of src (a primary one if any), then the first RESUME of dst (primary if any)
 * not before it. NULL each when there is none. */
void hv_events_pick(const hv_events *src, const hv_events *dst, const hv_event **pause,
                    const hv_event **resume);

/* Expand --hv-events' placeholders {vm} {vm_id} {host} {side} (hv_expand's rules: each value of
 * [A-Za-z0-9._-] only, unknown placeholders refused). */
th_err hv_events_expand(const char *tmpl, char *out, size_t size, const char *vm, int vm_id,
                        const char *host, hv_side side, char *errbuf);

/* The shell line that starts cmd (already expanded) detached in its own session: its stdout to
 * <dir>/themis-hvev-<side>.<tag>.out, stderr to .err, its pid to .pid (any old files removed
 * first). */
th_err hv_events_cmd_start(char *out, size_t size, const agent_paths *p, hv_side side,
                           const char *cmd, char *errbuf);

/* The shell line that stops it (SIGTERM to its process group, SIGKILL after wait_s), prints at
 * most HV_EVENTS_OUT_MAX bytes of its stdout, then the line HV_EVENTS_ERR_SEP and at most 1 KiB
 * of its stderr, and removes the files. Exit status 0. */
#define HV_EVENTS_ERR_SEP "--themis-hv-events-stderr--"
th_err hv_events_cmd_stop(char *out, size_t size, const agent_paths *p, hv_side side, int wait_s,
                          char *errbuf);

#endif
