/* test-hv-events.c — the hypervisor's events from their two text formats: QMP event lines as a
 * lab QEMU sent them during a live migration (themis-lab hv-events, QEMU 7.2), virsh event
 * lifecycle lines as libvirt prints them; the pause/resume choice per side; the placeholders
 * and the background command lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv-events.h"
#include "th-check.h"

/* A lab live migration vm0 host0 -> host1, both monitors (themis-lab hv-events). */
static const char qmp_src[] =
    "{\"timestamp\": {\"seconds\": 1796158658, \"microseconds\": 194842}, \"event\": "
    "\"MIGRATION\", \"data\": {\"status\": \"setup\"}}\n"
    "{\"timestamp\": {\"seconds\": 1796158658, \"microseconds\": 199457}, \"event\": "
    "\"MIGRATION_PASS\", \"data\": {\"pass\": 1}}\n"
    "{\"timestamp\": {\"seconds\": 1796158658, \"microseconds\": 199615}, \"event\": "
    "\"MIGRATION\", \"data\": {\"status\": \"active\"}}\n"
    "{\"timestamp\": {\"seconds\": 1796158659, \"microseconds\": 39982}, \"event\": "
    "\"MIGRATION_PASS\", \"data\": {\"pass\": 2}}\n"
    "{\"timestamp\": {\"seconds\": 1796158659, \"microseconds\": 40264}, \"event\": \"STOP\"}\n"
    "{\"timestamp\": {\"seconds\": 1796158659, \"microseconds\": 40502}, \"event\": "
    "\"MIGRATION_PASS\", \"data\": {\"pass\": 3}}\n"
    "{\"timestamp\": {\"seconds\": 1796158659, \"microseconds\": 163757}, \"event\": "
    "\"MIGRATION\", \"data\": {\"status\": \"completed\"}}\n"
    "{\"timestamp\": {\"seconds\": 1796158659, \"microseconds\": 223828}, \"event\": "
    "\"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\n";
static const char qmp_dst[] =
    "{\"timestamp\": {\"seconds\": 1796158658, \"microseconds\": 200298}, \"event\": "
    "\"MIGRATION\", \"data\": {\"status\": \"active\"}}\n"
    "{\"timestamp\": {\"seconds\": 1796158659, \"microseconds\": 213382}, \"event\": "
    "\"RESUME\"}\n"
    "{\"timestamp\": {\"seconds\": 1796158659, \"microseconds\": 213742}, \"event\": "
    "\"MIGRATION\", \"data\": {\"status\": \"completed\"}}\n";

START_TEST(qmp_lines_of_a_lab_migration)
{
	hv_events *s = malloc(sizeof *s), *d = malloc(sizeof *d);
	const hv_event *p, *r;
	char err[TH_ERRLEN];

	ck_assert_int_eq(hv_events_parse(qmp_src, strlen(qmp_src), HV_SIDE_SRC, s, err), TH_OK);
	ck_assert_int_eq(hv_events_parse(qmp_dst, strlen(qmp_dst), HV_SIDE_DST, d, err), TH_OK);
	ck_assert_uint_eq(s->n, 8);
	ck_assert_uint_eq(d->n, 3);
	ck_assert_uint_eq(s->skipped, 0);
	ck_assert_int_eq(s->ev[0].kind, HV_EV_STATUS);
	ck_assert_str_eq(s->ev[0].status, "setup");
	ck_assert_str_eq(s->ev[0].source, "qmp");
	ck_assert_double_eq_tol(s->ev[0].t, 1796158658.194842, 1e-7);
	ck_assert_int_eq(s->ev[1].kind, HV_EV_OTHER);
	ck_assert_str_eq(s->ev[1].status, "MIGRATION_PASS");
	ck_assert_int_eq(s->ev[4].kind, HV_EV_PAUSE);
	ck_assert_int_eq(s->ev[6].kind, HV_EV_STATUS);
	ck_assert_str_eq(s->ev[6].status, "completed");
	ck_assert_int_eq(s->ev[7].kind, HV_EV_OTHER);
	ck_assert_int_eq(d->ev[1].kind, HV_EV_RESUME);
	hv_events_pick(s, d, &p, &r);
	ck_assert_ptr_eq(p, &s->ev[4]);
	ck_assert_ptr_eq(r, &d->ev[1]);
	/* pause -> resume 1796158659.213382 - .040264 = 173.118 ms */
	ck_assert_double_eq_tol((r->t - p->t) * 1000, 173.118, 1e-3);
	/* the same lines the other way round: STOP on a destination, RESUME on a source are not
	 * a pause or a resume */
	ck_assert_int_eq(hv_events_parse(qmp_dst, strlen(qmp_dst), HV_SIDE_SRC, s, err), TH_OK);
	ck_assert_int_eq(s->ev[1].kind, HV_EV_OTHER);
	hv_events_pick(s, NULL, &p, &r);
	ck_assert_ptr_null(p);
	ck_assert_ptr_null(r);
	free(s);
	free(d);
}
END_TEST

START_TEST(virsh_lifecycle_lines)
{
	static const char src[] =
	    "2026-12-01 20:55:01.877+0000: event 'lifecycle' for domain 'one-42': Suspended "
	    "Migrated\n"
	    "2026-12-01 20:55:02.123+0000: event 'lifecycle' for domain 'one-42': Stopped "
	    "Migrated\r\n";
	static const char dst[] =
	    "2026-12-01 20:55:00.500+0000: event 'lifecycle' for domain 'one-42': Started "
	    "Migrated\n"
	    "2026-12-01 20:55:02.001+0000: event 'lifecycle' for domain 'one-42': Resumed "
	    "Migrated\n"
	    "2026-12-01 20:55:03.000+0000: event 'rtc-change' for domain 'one-42': 0\n"
	    "events received: 3\n";
	hv_events *s = malloc(sizeof *s), *d = malloc(sizeof *d);
	const hv_event *p, *r;
	char err[TH_ERRLEN];

	ck_assert_int_eq(hv_events_parse(src, strlen(src), HV_SIDE_SRC, s, err), TH_OK);
	ck_assert_int_eq(hv_events_parse(dst, strlen(dst), HV_SIDE_DST, d, err), TH_OK);
	ck_assert_uint_eq(s->n, 2);
	ck_assert_uint_eq(d->n, 3);
	ck_assert_uint_eq(d->skipped, 1);
	/* 2026-12-01 20:55:01 UTC = 1796158501 */
	ck_assert_double_eq_tol(s->ev[0].t, 1796158501.877, 1e-6);
	ck_assert_int_eq(s->ev[0].kind, HV_EV_PAUSE);
	ck_assert_str_eq(s->ev[0].status, "Suspended Migrated");
	ck_assert_str_eq(s->ev[0].source, "libvirt");
	ck_assert_int_eq(s->ev[1].kind, HV_EV_STATUS);
	ck_assert_str_eq(s->ev[1].status, "Stopped Migrated");
	ck_assert_int_eq(d->ev[0].kind, HV_EV_STATUS); /* Started Migrated: not running yet */
	ck_assert_int_eq(d->ev[1].kind, HV_EV_RESUME);
	ck_assert_int_eq(d->ev[2].kind, HV_EV_OTHER);
	ck_assert_str_eq(d->ev[2].status, "rtc-change");
	hv_events_pick(s, d, &p, &r);
	ck_assert_double_eq_tol((r->t - p->t) * 1000, 124, 1e-3);
	free(s);
	free(d);
}
END_TEST

START_TEST(cold_migration_fallbacks)
{
	/* a save/restore cold migration: no Suspended, no Resumed */
	static const char src[] =
	    "2026-12-01 20:55:01.000+0000: event 'lifecycle' for domain 'one-7': Stopped Saved\n";
	static const char dst[] =
	    "2026-12-01 20:55:04.250+0000: event 'lifecycle' for domain 'one-7': Started "
	    "Restored\n";
	hv_events *s = malloc(sizeof *s), *d = malloc(sizeof *d);
	const hv_event *p, *r;
	char err[TH_ERRLEN];

	ck_assert_int_eq(hv_events_parse(src, strlen(src), HV_SIDE_SRC, s, err), TH_OK);
	ck_assert_int_eq(hv_events_parse(dst, strlen(dst), HV_SIDE_DST, d, err), TH_OK);
	ck_assert(s->ev[0].fallback);
	hv_events_pick(s, d, &p, &r);
	ck_assert_ptr_eq(p, &s->ev[0]);
	ck_assert_ptr_eq(r, &d->ev[0]);
	ck_assert_double_eq_tol(r->t - p->t, 3.25, 1e-6);
	free(s);
	free(d);
}
END_TEST

START_TEST(bad_input_is_counted_never_fatal)
{
	hv_events *e = malloc(sizeof *e);
	char err[TH_ERRLEN], *big = malloc(2 * HV_EVENTS_LINE_MAX + 400), *many;
	size_t n = 0;

	ck_assert_int_eq(hv_events_parse("", 0, HV_SIDE_SRC, e, err), TH_ERR_NOTFOUND);
	ck_assert_int_eq(
	    hv_events_parse("bash: themis-lab: command not found\n", 36, HV_SIDE_SRC, e, err),
	    TH_ERR_NOTFOUND);
	ck_assert_str_eq(err, "no hypervisor event in 36 bytes (1 lines skipped, 0 too long): "
	                      "\"bash: themis-lab: command not found \"");
	/* timestamps QEMU could not read, strings for numbers, no event name */
	static const char junk[] =
	    "{\"timestamp\": {\"seconds\": -1, \"microseconds\": -1}, \"event\": \"STOP\"}\n"
	    "{\"timestamp\": {\"seconds\": \"1\", \"microseconds\": 0}, \"event\": \"STOP\"}\n"
	    "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}\n"
	    "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": \"MIGRATION\"}\n"
	    "2026-13-01 20:55:01.000+0000: event 'lifecycle' for domain 'x': Suspended Paused\n"
	    "2026-12-01 20:55:01.000+0100: event 'lifecycle' for domain 'x': Suspended Paused\n";
	ck_assert_int_eq(hv_events_parse(junk, strlen(junk), HV_SIDE_SRC, e, err), TH_ERR_NOTFOUND);
	ck_assert_uint_eq(e->skipped, 6);
	/* an over-long line is skipped, the next one still read */
	memset(big, 'x', 2 * HV_EVENTS_LINE_MAX);
	big[0] = '{';
	big[2 * HV_EVENTS_LINE_MAX] = '\n';
	strcpy(big + 2 * HV_EVENTS_LINE_MAX + 1,
	       "{\"timestamp\": {\"seconds\": 5, \"microseconds\": 7}, \"event\": \"STOP\"}");
	ck_assert_int_eq(hv_events_parse(big, strlen(big), HV_SIDE_SRC, e, err), TH_OK);
	ck_assert_uint_eq(e->long_lines, 1);
	ck_assert_uint_eq(e->n, 1);
	ck_assert_double_eq_tol(e->ev[0].t, 5.000007, 1e-9);
	/* at most HV_EVENTS_MAX events; the rest counted */
	many = malloc((HV_EVENTS_MAX + 10) * 100);
	many[0] = '\0';
	for (int i = 0; i < HV_EVENTS_MAX + 10; i++)
		n += (size_t)sprintf(many + n,
		                     "{\"timestamp\": {\"seconds\": %d, \"microseconds\": 0}, "
		                     "\"event\": \"STOP\"}\n",
		                     i);
	ck_assert_int_eq(hv_events_parse(many, n, HV_SIDE_SRC, e, err), TH_OK);
	ck_assert_uint_eq(e->n, HV_EVENTS_MAX);
	ck_assert_uint_eq(e->dropped, 10);
	free(many);
	free(big);
	free(e);
}
END_TEST

START_TEST(placeholders_and_command_lines)
{
	agent_paths p = {"/usr/bin/themis-agent", "/tmp", "vm0"};
	char out[4096], err[TH_ERRLEN];

	ck_assert_int_eq(hv_events_expand("themis-lab hv-events {vm} {host} # {side} {vm_id}", out,
	                                  sizeof out, "vm0", 0, "host1", HV_SIDE_DST, err),
	                 TH_OK);
	ck_assert_str_eq(out, "themis-lab hv-events vm0 host1 # dst 0");
	ck_assert_int_eq(
	    hv_events_expand("x {host}", out, sizeof out, "vm0", 0, "h;reboot", HV_SIDE_SRC, err),
	    TH_ERR_INVALID);
	ck_assert_str_eq(err, "--hv-events: {host} would be \"h;reboot\": only letters, digits, "
	                      "'.', '_' and '-' are substituted");
	ck_assert_int_eq(
	    hv_events_expand("x {src}", out, sizeof out, "vm0", 0, "h", HV_SIDE_SRC, err),
	    TH_ERR_INVALID);
	ck_assert_str_eq(err, "--hv-events: unknown placeholder at \"{src}\" (known: {vm} {vm_id} "
	                      "{host} {side})");
	ck_assert_int_eq(hv_events_cmd_start(out, sizeof out, &p, HV_SIDE_SRC, "echo 'a'", err),
	                 TH_OK);
	ck_assert_str_eq(out,
	                 "rm -f '/tmp/themis-hvev-src.vm0.out' '/tmp/themis-hvev-src.vm0.err' "
	                 "'/tmp/themis-hvev-src.vm0.pid'; setsid /bin/sh -c 'echo '\\''a'\\''' "
	                 ">'/tmp/themis-hvev-src.vm0.out' 2>'/tmp/themis-hvev-src.vm0.err' "
	                 "</dev/null & echo $! >'/tmp/themis-hvev-src.vm0.pid'");
	ck_assert_int_eq(hv_events_cmd_stop(out, sizeof out, &p, HV_SIDE_DST, 2, err), TH_OK);
	ck_assert_ptr_nonnull(strstr(out, "kill -TERM -- -$p"));
	ck_assert_ptr_nonnull(strstr(out, "head -c 262144 '/tmp/themis-hvev-dst.vm0.out'"));
	snprintf(p.dir, sizeof p.dir, "relative");
	ck_assert_int_eq(hv_events_cmd_stop(out, sizeof out, &p, HV_SIDE_DST, 2, err),
	                 TH_ERR_INVALID);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("hv-events");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, qmp_lines_of_a_lab_migration);
	tcase_add_test(tc, virsh_lifecycle_lines);
	tcase_add_test(tc, cold_migration_fallbacks);
	tcase_add_test(tc, bad_input_is_counted_never_fatal);
	tcase_add_test(tc, placeholders_and_command_lines);
	suite_add_tcase(s, tc);
	return s;
}
