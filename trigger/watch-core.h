/* watch-core.h — `themis-trigger watch`, pure part: turns the successive one.vm.info documents
 * of one VM (from polls or events, in any mix, repeated or late) into the markers of contract
 * C2: one session per migration OpenNebula performs, with session-start (STIME − lead; params
 * {"live": …} when the history ACTION says live or cold, no params otherwise),
 * migration-start (STIME), migration-end (outcome, OpenNebula's end time) and session-end
 * (migration end + cool-down, carrying OpenNebula's times). No I/O and no clocks: the caller
 * passes the wall time and a random number for each new session id.
 *
 * A migration is a pair of history records (k, k+1): record k ran the VM (RSTIME > 0) and
 * carries a migrate ACTION (1, 2, 48, 49), or record k+1 is the newest and the VM is in a
 * migrating LCM state. Pairs below the VM's cursor were handled already: that is what keeps
 * events and polls of the same state from making a second session. */
#ifndef TH_TRIGGER_WATCH_CORE_H
#define TH_TRIGGER_WATCH_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-marker.h"
#include "vm-xml.h"

#define WC_OUT_MAX 16 /* markers one call can emit at most (room for 3 sessions and a bit) */

typedef struct wc_conf {
	double lead_s;     /* session-start = STIME - lead */
	double cooldown_s; /* session-end = migration-end + cooldown */
	double timeout_s; /* still migrating this long after STIME: outcome timeout (<= 0: never) */
	double t_start;   /* watcher start (epoch s): older migrations are history, not sessions */
} wc_conf;

typedef enum wc_phase {
	WC_IDLE = 0,  /* no session */
	WC_MIGRATING, /* session-start and migration-start sent */
	WC_COOLING,   /* migration-end sent, session-end due at t_close */
} wc_phase;

/* One tracked VM. */
typedef struct wc_vm {
	int id;
	char name[TH_NAME_MAX];
	bool primed;          /* a first document was seen */
	int next_seq;         /* pairs (k, k+1) with k < next_seq are handled */
	char error_prev[512]; /* USER_TEMPLATE/ERROR of the previous document */
	/* the session (one at a time: a new migration closes the one cooling down) */
	wc_phase phase;
	char session[TH_SESSION_MAX];
	int s0;
	char src[TH_NAME_MAX], dst[TH_NAME_MAX];
	int src_hid, dst_hid;
	char error0[512];
	int64_t stime, rstime, etime;
	double t_mig_end, t_close;
	th_outcome outcome;
	char message[512];
} wc_vm;

/* Where a session stands after a call (for the caller's log lines). */
typedef struct wc_out {
	th_marker m[WC_OUT_MAX];
	size_t n;
} wc_out;

void wc_vm_init(wc_vm *w, int id, const char *name);

/* Feed one full one.vm.info document (all history records) seen at wall time now. rnd is used
 * for the id of a session opened by this call. Markers go to out (appended). A document whose
 * records do not reach the cursor (an older, late event) changes nothing. Returns true when it
 * stopped for want of room in out (several migrations in one document): emit out, then call
 * again with the same document. */
bool wc_observe(wc_vm *w, const wc_conf *c, const one_vm *vm, double now, uint32_t rnd,
                wc_out *out);

/* The VM no longer exists (one.vm.info NO_EXISTS): a migrating session ends lost. */
void wc_gone(wc_vm *w, const wc_conf *c, double now, wc_out *out);

/* Time passing without a document: the timeout of a migrating session, the session-end of a
 * cooling one once now >= t_close. */
void wc_tick(wc_vm *w, const wc_conf *c, double now, wc_out *out);

/* The watcher stops: a cooling session ends now with its outcome; a migrating one ends now
 * with outcome aborted (no migration-end: its end is not known). */
void wc_shutdown(wc_vm *w, double now, wc_out *out);

/* What a poll compares to decide whether a VM needs a full one.vm.info: its states and its
 * newest history record (sequence, host and times: a poll in the window after a migrate request
 * — RUNNING, a new record with STIME 0 — and the next one after the migration ended see the
 * same states and record, only its times differ). */
typedef struct wc_sig {
	int state, lcm, seq, hid;
	int64_t stime, rstime, etime;
} wc_sig;

void wc_sig_of(wc_sig *s, const one_vm *vm);
/* True when vm (e.g. its one.vmpool.info body) differs from the document s was taken of. */
bool wc_sig_changed(const wc_sig *s, const one_vm *vm);

/* True while a session is open (migrating or cooling): the caller keeps fetching documents. */
bool wc_busy(const wc_vm *w);

#endif
