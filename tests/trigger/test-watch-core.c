/* test-watch-core.c — the watcher's sessions from oned-shaped one.vm.info documents (VM 42,
 * host A = 2 node2, B = 3 node3, STIME T0): each case is a sequence of documents, ticks, a purge
 * or a shutdown at given wall times, and the markers each step must emit, written
 * "SS@-60 MS@0 ME:success@12 SE:success@42" (session-start, migration-start, migration-end,
 * session-end; outcome; t − T0). Lead 60 s, cool-down 30 s, timeout 600 s, watcher started at
 * T0 − 100 unless a case says otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th-check.h"
#include "th-marker-json.h"
#include "vm-doc.h"
#include "watch-core.h"

#define T0    1718003600LL
#define T1    (T0 + 12)
#define DOCSZ 16384
#define ERRTXT                                                                                     \
	"Mon Jun 10 07:13:32 2024: MIGRATE: error: operation failed: migration out job: "          \
	"unexpectedly failed"

/* records: {seq, hid, host, stime, etime, rstime, retime, action} */
#define R0_OPEN                                                                                    \
	{                                                                                          \
		0, 2, "node2", 1718000000, 0, 1718000004, 0, 0                                     \
	}
#define R0_LIVE                                                                                    \
	{                                                                                          \
		0, 2, "node2", 1718000000, 0, 1718000004, 0, 2                                     \
	}
#define R0_COLD                                                                                    \
	{                                                                                          \
		0, 2, "node2", 1718000000, 0, 1718000004, 0, 1                                     \
	}
#define R0_CLOSED                                                                                  \
	{                                                                                          \
		0, 2, "node2", 1718000000, T1, 1718000004, T1, 2                                   \
	}
#define R1_APPENDED                                                                                \
	{                                                                                          \
		1, 3, "node3", 0, 0, 0, 0, 0                                                       \
	}
#define R1_STARTED                                                                                 \
	{                                                                                          \
		1, 3, "node3", T0, 0, 0, 0, 0                                                      \
	}
#define R1_RUNNING                                                                                 \
	{                                                                                          \
		1, 3, "node3", T0, 0, T1, 0, 0                                                     \
	}
#define R1_FAILED                                                                                  \
	{                                                                                          \
		1, 3, "node3", T0, T1, 0, 0, 0                                                     \
	}
#define R2_BACK                                                                                    \
	{                                                                                          \
		2, 2, "node2", T1, 0, T1, 0, 0                                                     \
	}

typedef struct step {
	char kind;  /* d document, t tick, g gone (NO_EXISTS), s shutdown */
	double now; /* − T0 */
	int state, lcm;
	const char *error;
	doc_hist h[4];
	int nh;
	const char *expect;
} step;

typedef struct wcase {
	const char *name;
	double t_start; /* − T0 */
	step steps[10];
} wcase;

static const wcase cases[] = {
    {"live migration seen by event and poll, each state twice: one session",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', -1, 3, 3, NULL, {R0_OPEN, R1_APPENDED}, 2, ""}, /* transient window */
      {'d', 1, 3, 4, NULL, {R0_LIVE, R1_STARTED}, 2, "SS@-60 MS@0"},
      {'d', 2, 3, 4, NULL, {R0_LIVE, R1_STARTED}, 2, ""},
      {'d', 13, 3, 3, NULL, {R0_CLOSED, R1_RUNNING}, 2, "ME:success@12"},
      {'d', 14, 3, 3, NULL, {R0_CLOSED, R1_RUNNING}, 2, ""},
      {'t', 41, 0, 0, NULL, {{0}}, 0, ""},
      {'t', 42, 0, 0, NULL, {{0}}, 0, "SE:success@42"},
      {'d', 43, 3, 4, NULL, {R0_LIVE, R1_STARTED}, 2, ""}, /* a late event */
      {'t', 100, 0, 0, NULL, {{0}}, 0, ""}}},
    {"dropped event: a later poll sees the migration finished, all four markers at once",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 52, 3, 3, NULL, {R0_CLOSED, R1_RUNNING}, 2, "SS@-60 MS@0 ME:success@12 SE:success@42"},
      {'d', 80, 3, 3, NULL, {R0_CLOSED, R1_RUNNING}, 2, ""}}},
    {"finished, seen within the cool-down: session-end when it is over",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 20, 3, 3, NULL, {R0_CLOSED, R1_RUNNING}, 2, "SS@-60 MS@0 ME:success@12"},
      {'t', 42, 0, 0, NULL, {{0}}, 0, "SE:success@42"}}},
    {"rolled back: failed at the destination record's ETIME",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 1, 3, 4, NULL, {R0_LIVE, R1_STARTED}, 2, "SS@-60 MS@0"},
      {'d', 13, 3, 3, ERRTXT, {R0_CLOSED, R1_FAILED, R2_BACK}, 3, "ME:failed@12"},
      {'d', 14, 3, 3, ERRTXT, {R0_CLOSED, R1_FAILED, R2_BACK}, 3, ""},
      {'t', 42, 0, 0, NULL, {{0}}, 0, "SE:failed@42"}}},
    {"rolled back, first seen by a poll: failed",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d',
       60,
       3,
       3,
       ERRTXT,
       {R0_CLOSED, R1_FAILED, R2_BACK},
       3,
       "SS@-60 MS@0 ME:failed@12 SE:failed@42"}}},
    {"lost: POWEROFF after the rollback",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 1, 3, 4, NULL, {R0_LIVE, R1_STARTED}, 2, "SS@-60 MS@0"},
      {'d', 14, 8, 0, NULL, {R0_CLOSED, R1_FAILED, R2_BACK}, 3, "ME:lost@14"}}},
    {"lost: UNKNOWN during the migration",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 1, 3, 4, NULL, {R0_LIVE, R1_STARTED}, 2, "SS@-60 MS@0"},
      {'d', 5, 3, 16, NULL, {R0_LIVE, R1_STARTED}, 2, "ME:lost@5"}}},
    {"lost: the VM purged",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 1, 3, 4, NULL, {R0_LIVE, R1_STARTED}, 2, "SS@-60 MS@0"},
      {'g', 7, 0, 0, NULL, {{0}}, 0, "ME:lost@7"},
      {'t', 37, 0, 0, NULL, {{0}}, 0, "SE:lost@37"}}},
    {"failed, needs recover: BOOT_MIGRATE_FAILURE",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 1, 3, 7, NULL, {R0_COLD, R1_STARTED}, 2, "SS@-60 MS@0"},
      {'d',
       20,
       3,
       37,
       NULL,
       {{0, 2, "node2", 1718000000, T0 + 3, 1718000004, T0 + 3, 1},
        {1, 3, "node3", T0, 0, T0 + 8, 0, 1}},
       2,
       "ME:failed@20"}}},
    {"cold migration: SAVE, PROLOG, BOOT_MIGRATE, then RUNNING",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 1, 3, 7, NULL, {R0_COLD, {1, 3, "node3", T0, 0, 0, 0, 1}}, 2, "SS@-60 MS@0"},
      {'d',
       4,
       3,
       8,
       NULL,
       {{0, 2, "node2", 1718000000, T0 + 3, 1718000004, T0 + 3, 1},
        {1, 3, "node3", T0, 0, 0, 0, 1}},
       2,
       ""},
      {'d',
       9,
       3,
       35,
       NULL,
       {{0, 2, "node2", 1718000000, T0 + 3, 1718000004, T0 + 3, 1},
        {1, 3, "node3", T0, 0, T0 + 8, 0, 1}},
       2,
       ""},
      {'d',
       11,
       3,
       3,
       NULL,
       {{0, 2, "node2", 1718000000, T0 + 3, 1718000004, T0 + 3, 1},
        {1, 3, "node3", T0, 0, T0 + 8, 0, 0}},
       2,
       "ME:success@8"}}},
    {"timeout while still migrating; its later success makes no second session",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 1, 3, 4, NULL, {R0_LIVE, R1_STARTED}, 2, "SS@-60 MS@0"},
      {'t', 599, 0, 0, NULL, {{0}}, 0, ""},
      {'t', 600, 0, 0, NULL, {{0}}, 0, "ME:timeout@600"},
      {'t', 630, 0, 0, NULL, {{0}}, 0, "SE:timeout@630"},
      {'d',
       700,
       3,
       3,
       NULL,
       {{0, 2, "node2", 1718000000, T0 + 650, 1718000004, T0 + 650, 2},
        {1, 3, "node3", T0, 0, T0 + 650, 0, 0}},
       2,
       ""}}},
    {"history before the watcher started is not a session",
     1000,
     {{'d', 1001, 3, 3, NULL, {R0_CLOSED, R1_RUNNING}, 2, ""},
      {'t', 2000, 0, 0, NULL, {{0}}, 0, ""}}},
    {"a migration that started within the lead before the watcher is a session",
     22,
     {{'d', 23, 3, 3, NULL, {R0_CLOSED, R1_RUNNING}, 2, "SS@-60 MS@0 ME:success@12"},
      {'t', 42, 0, 0, NULL, {{0}}, 0, "SE:success@42"}}},
    {"a migration in progress when the watcher starts is a session, however old",
     500,
     {{'d', 501, 3, 4, NULL, {R0_LIVE, R1_STARTED}, 2, "SS@-60 MS@0"},
      {'s', 510, 0, 0, NULL, {{0}}, 0, "SE:aborted@510"}}},
    {"a second migration during the cool-down closes the first when it starts",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d', 13, 3, 3, NULL, {R0_CLOSED, R1_RUNNING}, 2, "SS@-60 MS@0 ME:success@12"},
      {'d',
       23,
       3,
       4,
       NULL,
       {R0_CLOSED, {1, 3, "node3", T0, 0, T1, 0, 2}, {2, 2, "node2", T0 + 22, 0, 0, 0, 0}},
       3,
       "SE:success@22 SS@-38 MS@22"},
      {'d',
       30,
       3,
       3,
       NULL,
       {R0_CLOSED,
        {1, 3, "node3", T0, T0 + 29, T1, T0 + 29, 2},
        {2, 2, "node2", T0 + 22, 0, T0 + 29, 0, 0}},
       3,
       "ME:success@29"},
      {'s', 31, 0, 0, NULL, {{0}}, 0, "SE:success@31"}}},
    {"two migrations between two polls: two sessions",
     -100,
     {{'d', -50, 3, 3, NULL, {R0_OPEN}, 1, ""},
      {'d',
       200,
       3,
       3,
       NULL,
       {R0_CLOSED,
        {1, 3, "node3", T0, T0 + 50, T1, T0 + 50, 2},
        {2, 2, "node2", T0 + 50, 0, T0 + 55, 0, 0}},
       3,
       "SS@-60 MS@0 ME:success@12 SE:success@42 SS@-10 MS@50 ME:success@55 SE:success@85"}}},
};

static char got[1024];

static void fmt(const wc_out *o)
{
	size_t n = 0;

	got[0] = '\0';
	for (size_t i = 0; i < o->n; i++) {
		const th_marker *m = &o->m[i];
		const char *ev = m->event == TH_EV_SESSION_START     ? "SS"
		                 : m->event == TH_EV_MIGRATION_START ? "MS"
		                 : m->event == TH_EV_MIGRATION_END   ? "ME"
		                                                     : "SE";

		n += (size_t)snprintf(got + n, sizeof got - n, "%s%s%s%s@%g", n ? " " : "", ev,
		                      m->outcome != TH_OUT_NONE ? ":" : "",
		                      m->outcome != TH_OUT_NONE ? th_outcome_name(m->outcome)
		                                                : "",
		                      m->t - (double)T0);
	}
}

static wc_conf conf(double t_start)
{
	wc_conf c = {60, 30, 600, (double)T0 + t_start};

	return c;
}

/* Run step s of a VM; out receives its markers. */
static void run_step(wc_vm *w, const wc_conf *c, const step *s, wc_out *out)
{
	static char buf[DOCSZ];
	double now = (double)T0 + s->now;
	one_vm vm;
	size_t n;

	out->n = 0;
	switch (s->kind) {
	case 'd':
		n = vm_doc(buf, sizeof buf, 42, "migtest-1", s->state, s->lcm, s->error, s->h,
		           s->nh);
		ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
		ck_assert(!wc_observe(w, c, &vm, now, 0x1234, out));
		one_vm_free(&vm);
		wc_tick(w, c, now, out);
		break;
	case 't':
		wc_tick(w, c, now, out);
		break;
	case 'g':
		wc_gone(w, c, now, out);
		break;
	case 's':
		wc_shutdown(w, now, out);
		break;
	}
}

START_TEST(sessions_from_documents)
{
	const wcase *k = &cases[_i];
	wc_conf c = conf(k->t_start);
	wc_vm w;
	wc_out out;

	wc_vm_init(&w, 42, "migtest-1");
	for (int i = 0; i < 10 && k->steps[i].kind != 0; i++) {
		run_step(&w, &c, &k->steps[i], &out);
		fmt(&out);
		ck_assert_msg(strcmp(got, k->steps[i].expect) == 0,
		              "%s, step %d: got \"%s\", expected \"%s\"", k->name, i + 1, got,
		              k->steps[i].expect);
	}
}
END_TEST

/* Every marker of one session carries the same fields; contract C2's values. */
START_TEST(markers_carry_contract_fields)
{
	wc_conf c = conf(-100);
	wc_vm w;
	wc_out out, all;
	const step *s = cases[1].steps;

	wc_vm_init(&w, 42, "migtest-1");
	run_step(&w, &c, &s[0], &out);
	run_step(&w, &c, &s[1], &all);
	ck_assert_int_eq(all.n, 4);
	for (size_t i = 0; i < all.n; i++) {
		const th_marker *m = &all.m[i];

		ck_assert_str_eq(m->session, all.m[0].session);
		ck_assert_str_eq(m->definition, "watch");
		ck_assert_int_eq(m->cycle, -1);
		ck_assert_str_eq(m->vm, "migtest-1");
		ck_assert_int_eq(m->vm_id, 42);
		ck_assert_str_eq(m->src_host, "node2");
		ck_assert_str_eq(m->dst_host, "node3");
		ck_assert_int_eq(m->origin, TH_ORIGIN_OBSERVED);
	}
	/* "watch.<STIME as UTC>.<random>.c0" */
	ck_assert_str_eq(all.m[0].session, "watch.20240610T071320Z.00001234.c0");
	ck_assert_int_eq(all.m[3].summary.outcome, TH_OUT_SUCCESS);
	ck_assert_int_eq(all.m[3].summary.one_stime, T0);
	ck_assert_int_eq(all.m[3].summary.one_rstime, T1);
	ck_assert_int_eq(all.m[3].summary.one_etime, 0);
	ck_assert(fabs(all.m[3].summary.one_duration_s - 12) < 1e-9);
	ck_assert(isnan(all.m[3].summary.downtime_ms));
	ck_assert_int_eq(all.m[3].summary.lost_up, -1);
	ck_assert_str_eq(all.m[2].message, "");
}
END_TEST

START_TEST(failure_message_is_user_template_error)
{
	wc_conf c = conf(-100);
	wc_vm w;
	wc_out out;
	const step *s = cases[3].steps;

	wc_vm_init(&w, 42, "migtest-1");
	run_step(&w, &c, &s[0], &out);
	run_step(&w, &c, &s[1], &out);
	run_step(&w, &c, &s[2], &out);
	ck_assert_int_eq(out.n, 1);
	ck_assert_str_eq(out.m[0].message, ERRTXT);
	run_step(&w, &c, &s[4], &out);
	ck_assert_int_eq(out.m[0].summary.one_etime, T1);
	ck_assert_int_eq(out.m[0].summary.one_rstime, 0);
	ck_assert(fabs(out.m[0].summary.one_duration_s - 12) < 1e-9);
}
END_TEST

START_TEST(an_error_older_than_the_migration_is_not_its_message)
{
	wc_conf c = conf(-100);
	wc_vm w;
	wc_out out;
	static char buf[DOCSZ];
	doc_hist h0[1] = {R0_OPEN}, h[3] = {R0_CLOSED, R1_FAILED, R2_BACK};
	one_vm vm;
	size_t n;

	wc_vm_init(&w, 42, "migtest-1");
	n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, 3, "an older failure", h0, 1);
	ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
	out.n = 0;
	wc_observe(&w, &c, &vm, (double)T0 - 50, 1, &out);
	one_vm_free(&vm);
	n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, 3, "an older failure", h, 3);
	ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
	wc_observe(&w, &c, &vm, (double)T1 + 1, 1, &out);
	one_vm_free(&vm);
	ck_assert_int_eq(out.n, 3);
	ck_assert_str_eq(out.m[2].message, "OpenNebula rolled the VM back to the source host (no "
	                                   "error message recorded)");
}
END_TEST

/* A poll inside the window after a migrate request (RUNNING, a new record with STIME 0) and the
 * next one after the migration ended show the same states and record: the times tell them
 * apart, so the watcher fetches the full document. */
START_TEST(a_poll_sees_the_newest_record_change_its_times)
{
	static char buf[DOCSZ];
	doc_hist accepted[2] = {R0_OPEN, R1_APPENDED}, done[2] = {R0_CLOSED, R1_RUNNING};
	one_vm a, b;
	wc_sig sig;
	size_t n;

	n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, 3, NULL, accepted, 2);
	ck_assert_int_eq(one_vm_parse(buf, n, &a, NULL), TH_OK);
	n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, 3, NULL, done, 2);
	ck_assert_int_eq(one_vm_parse(buf, n, &b, NULL), TH_OK);
	wc_sig_of(&sig, &a);
	ck_assert(!wc_sig_changed(&sig, &a));
	ck_assert_int_eq(a.state, b.state);
	ck_assert_int_eq(a.lcm_state, b.lcm_state);
	ck_assert(wc_sig_changed(&sig, &b));
	one_vm_free(&a);
	one_vm_free(&b);
}
END_TEST

/* Many migrations in one document: the caller empties out and calls again. */
START_TEST(many_migrations_in_one_document_need_more_calls)
{
	wc_conf c = conf(-100);
	wc_vm w;
	wc_out out;
	static char buf[DOCSZ * 2];
	doc_hist h[9];
	one_vm vm;
	size_t n, total = 0;
	int calls = 0;

	for (int i = 0; i < 9; i++) {
		doc_hist r = {i,
		              2 + i % 2,
		              i % 2 ? "node3" : "node2",
		              T0 + 10 * i,
		              i < 8 ? T0 + 10 * i + 15 : 0,
		              i ? T0 + 10 * i + 5 : 1718000004,
		              i < 8 ? T0 + 10 * i + 15 : 0,
		              i < 8 ? 2 : 0};
		h[i] = r;
	}
	h[0].stime = 1718000000;
	wc_vm_init(&w, 42, "migtest-1");
	{
		doc_hist h0[1] = {{0, 2, "node2", 1718000000, 0, 1718000004, 0, 0}};
		n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, 3, NULL, h0, 1);
		ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
		out.n = 0;
		wc_observe(&w, &c, &vm, (double)T0 - 50, 1, &out);
		one_vm_free(&vm);
	}
	n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, 3, NULL, h, 9);
	ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
	bool more;
	do {
		out.n = 0;
		more = wc_observe(&w, &c, &vm, (double)T0 + 1000, 1, &out);
		total += out.n;
		calls++;
	} while (more && calls < 10);
	one_vm_free(&vm);
	ck_assert_int_eq(total, 8 * 4); /* eight migrations, four markers each */
	ck_assert_int_gt(calls, 1);
}
END_TEST

/* The session-start of an observed migration carries params with "live" alone, from the
 * history ACTION (live-migrate on record k: true; migrate on both records: false); with no
 * migrate ACTION on either record (a migrating LCM state alone) it carries no params. */
static void observed_start_json(const doc_hist *h, int lcm, char *json, size_t size)
{
	static char buf[DOCSZ];
	doc_hist h0[1] = {R0_OPEN};
	wc_conf c = conf(-100);
	char err[TH_ERRLEN];
	wc_vm w;
	wc_out out;
	one_vm vm;
	char *j;
	size_t n, len;

	wc_vm_init(&w, 42, "migtest-1");
	n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, 3, NULL, h0, 1);
	ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
	out.n = 0;
	wc_observe(&w, &c, &vm, (double)T0 - 50, 1, &out);
	one_vm_free(&vm);
	n = vm_doc(buf, sizeof buf, 42, "migtest-1", 3, lcm, NULL, h, 2);
	ck_assert_int_eq(one_vm_parse(buf, n, &vm, NULL), TH_OK);
	out.n = 0;
	wc_observe(&w, &c, &vm, (double)T0 + 1, 1, &out);
	one_vm_free(&vm);
	ck_assert_int_eq(out.n, 2);
	ck_assert_int_eq(out.m[0].event, TH_EV_SESSION_START);
	ck_assert(!out.m[1].params.present);
	ck_assert_int_eq(th_marker_to_json(&out.m[0], &j, &len, err), TH_OK);
	snprintf(json, size, "%s", j);
	free(j);
}

START_TEST(observed_params_say_live_only_when_the_history_does)
{
	doc_hist live[2] = {R0_LIVE, R1_STARTED}, none[2] = {R0_OPEN, R1_STARTED};
	doc_hist cold[2] = {R0_COLD, {1, 3, "node3", T0, 0, 0, 0, 1}};
	doc_hist poweroff[2] = {{0, 2, "node2", 1718000000, 0, 1718000004, 0, 48},
	                        {1, 3, "node3", T0, 0, 0, 0, 48}};
	char json[4096];

	observed_start_json(live, 4, json, sizeof json);
	ck_assert_msg(strstr(json, ",\"params\":{\"live\":true}") != NULL, "live: %s", json);
	observed_start_json(cold, 7, json, sizeof json);
	ck_assert_msg(strstr(json, ",\"params\":{\"live\":false}") != NULL, "cold: %s", json);
	observed_start_json(poweroff, 7, json, sizeof json);
	ck_assert_msg(strstr(json, ",\"params\":{\"live\":false}") != NULL, "poweroff: %s", json);
	observed_start_json(none, 4, json, sizeof json);
	ck_assert_msg(strstr(json, "params") == NULL, "no migrate action: %s", json);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("watch-core");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, sessions_from_documents, 0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, markers_carry_contract_fields);
	tcase_add_test(tc, failure_message_is_user_template_error);
	tcase_add_test(tc, an_error_older_than_the_migration_is_not_its_message);
	tcase_add_test(tc, a_poll_sees_the_newest_record_change_its_times);
	tcase_add_test(tc, many_migrations_in_one_document_need_more_calls);
	tcase_add_test(tc, observed_params_say_live_only_when_the_history_does);
	suite_add_tcase(s, tc);
	return s;
}
