/* tp-vm.h — what the plugin keeps per VM (private to tp-core.c): the recent history of its
 * archive rows and outages (HistorySeconds, all VMs together within HistoryMaxBytes), which a
 * session opened with a start in the past takes over, and its availability tally per UTC hour
 * (availability.jsonl, th-archive.h). Pure logic; callers lock. */
#ifndef TH_PLUGIN_TP_VM_H
#define TH_PLUGIN_TP_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-record.h"
#include "tp-core.h"
#include "tp-session.h"

#define TP_HIST_OUTAGES 32 /* newest outages kept per VM */
#define TP_HOUR         3600
#define TP_TALLY_NONE   INT64_MIN

/* An outage in the history, with what the tally made of it (so that a session that takes it
 * over later can move it to the tally's "_sessions" figures). */
typedef struct tp_hist_outage {
	th_outage o;
	char stream[TH_NAME_MAX];
	int64_t hour;    /* tally hour it was counted in */
	double ms;       /* what it added to outage_ms */
	bool counted;    /* it added one to outages */
	bool in_session; /* counted in outage_ms_sessions / outages_sessions already */
} tp_hist_outage;

/* One availability.jsonl line in the making; hour TP_TALLY_NONE: nothing counted. */
typedef struct tp_tally {
	int64_t hour;
	int64_t covered_s;
	double outage_ms, outage_ms_sessions;
	int64_t outages, outages_sessions;
} tp_tally;

typedef struct tp_vm {
	struct tp_vm *next; /* hash chain */
	uint64_t hash;
	char name[TH_NAME_MAX];
	size_t nstreams; /* streams of this VM tracked: freed with the last one */
	/* history, allocated at the VM's first row (NULL: none, or refused) */
	tp_row *ring; /* ring_n rows, second t in slot t % ring_n */
	int64_t ring_n;
	int64_t newest;       /* newest second in the ring */
	tp_hist_outage *outs; /* TP_HIST_OUTAGES, the newest nouts % .. */
	size_t nouts;         /* outages ever added */
	bool refused;         /* did not fit in HistoryMaxBytes (counted once) */
	/* tally */
	int64_t counted_t;      /* newest second counted in covered_s */
	double out_end;         /* end of the newest outage counted (a union per VM) */
	int64_t out_hour;       /* ... the hour it started in ... */
	bool out_in_session;    /* ... and whether it fell in a session */
	tp_hist_outage *out_at; /* ... and its history entry (or NULL) */
	tp_tally tally;
} tp_vm;

/* Bytes of one VM's history of history_s seconds. */
size_t tp_vm_history_bytes(int64_t history_s);

/* Allocate v's history (history_s > 0); false when out of memory. */
bool tp_vm_history_alloc(tp_vm *v, int64_t history_s);

/* The history row of second t (reset when it held an older second), or NULL when t is older than
 * the seconds kept. */
tp_row *tp_vm_row(tp_vm *v, int64_t t);

/* Keep an outage record in the history (the oldest of TP_HIST_OUTAGES gives way). */
tp_hist_outage *tp_vm_outage(tp_vm *v, const th_record *r);

/* Merge one "second" or "iperf" record into an archive row (counts add up, RTTs combine). */
void tp_row_add(tp_row *row, const th_record *r);

/* Tally one "second" record at second t: counted once per VM (a second at or before the newest
 * one counted is not counted again). */
void tp_tally_second(tp_vm *v, int64_t t, tp_text *lines);

/* Tally one outage record (in_session: it fell in a session of the VM): outages of a VM are a
 * union, a record overlapping the newest one counted adds only what extends it. h: its
 * history entry (or NULL), told what was counted. */
void tp_tally_outage(tp_vm *v, const th_outage *o, bool in_session, tp_hist_outage *h,
                     tp_text *lines);

/* A session took over h after the fact: move what h counted to the "_sessions" figures. */
void tp_tally_to_session(tp_vm *v, tp_hist_outage *h, tp_text *lines);

/* Write out the tally's line (if anything was counted) and start afresh. */
void tp_tally_flush(tp_vm *v, tp_text *lines);

/* Append one availability.jsonl line for vm (tp-session-json.c); false when out of memory. */
bool tp_tally_line(const char *vm, const tp_tally *t, tp_text *lines);

void tp_vm_free(tp_vm *v);

#endif
