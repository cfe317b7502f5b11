/* test-qmp-info.c — QEMU's query-migrate and query-status replies read into exact figures, the
 * key=value line themis-lab migrate-info prints, and the migration parameters (migrate-params
 * file, migrate-set-parameters arguments, query-migrate-parameters). */
#include <string.h>

#include <yajl/yajl_tree.h>

#include "qmp-info.h"
#include "th-check.h"

static yajl_val parse(const char *json)
{
	char err[128];
	yajl_val v = yajl_tree_parse(json, err, sizeof err);

	ck_assert_msg(v != NULL, "fixture does not parse: %s", err);
	return v;
}

START_TEST(completed_migration_figures)
{
	yajl_val v =
	    parse("{\"status\":\"completed\",\"setup-time\":3,\"downtime\":15,"
	          "\"total-time\":518,\"ram\":{\"transferred\":82205623,\"total\":134217728},"
	          "\"blocked\":false}");
	char line[256], err[TH_ERRLEN];
	qmp_migration m;

	ck_assert_int_eq(qmp_migration_parse(v, &m, err), TH_OK);
	ck_assert_str_eq(m.status, "completed");
	ck_assert_int_eq(m.downtime_ms, 15);
	ck_assert_int_eq(m.total_ms, 518);
	ck_assert_int_eq(m.setup_ms, 3);
	ck_assert_int_eq(m.ram_transferred, 82205623);
	qmp_migration_format(line, sizeof line, &m);
	ck_assert_str_eq(
	    line, "status=completed downtime_ms=15 total_ms=518 setup_ms=3 ram_bytes=82205623");
	yajl_tree_free(v);
}
END_TEST

/* QEMU 7.2 answers "completed" before it computed total-time and downtime: not final yet */
START_TEST(completed_before_the_figures_is_not_final)
{
	yajl_val early = parse("{\"status\":\"completed\",\"setup-time\":2,\"downtime\":0,"
	                       "\"total-time\":0,\"ram\":{\"transferred\":82205623}}");
	yajl_val done = parse("{\"status\":\"completed\",\"setup-time\":2,\"downtime\":207,"
	                      "\"total-time\":4310}");
	yajl_val act = parse("{\"status\":\"active\",\"total-time\":100}");
	yajl_val fail = parse("{\"status\":\"failed\"}");
	yajl_val canc = parse("{\"status\":\"cancelled\"}");
	char err[TH_ERRLEN];
	qmp_migration m;

	ck_assert_int_eq(qmp_migration_parse(early, &m, err), TH_OK);
	ck_assert_int_eq(qmp_migration_final(&m), 0);
	ck_assert_int_eq(qmp_migration_parse(done, &m, err), TH_OK);
	ck_assert_int_eq(qmp_migration_final(&m), 1);
	ck_assert_int_eq(m.downtime_ms, 207);
	ck_assert_int_eq(qmp_migration_parse(act, &m, err), TH_OK);
	ck_assert_int_eq(qmp_migration_final(&m), 0);
	ck_assert_int_eq(qmp_migration_parse(fail, &m, err), TH_OK);
	ck_assert_int_eq(qmp_migration_final(&m), 1);
	ck_assert_int_eq(qmp_migration_parse(canc, &m, err), TH_OK);
	ck_assert_int_eq(qmp_migration_final(&m), 1);
	yajl_tree_free(early);
	yajl_tree_free(done);
	yajl_tree_free(act);
	yajl_tree_free(fail);
	yajl_tree_free(canc);
}
END_TEST

START_TEST(active_and_failed_migrations_leave_out_absent_figures)
{
	yajl_val v = parse("{\"status\":\"active\",\"setup-time\":1,\"total-time\":100,"
	                   "\"expected-downtime\":300}");
	yajl_val f = parse("{\"status\":\"failed\",\"error-desc\":\"Unable to write to socket\"}");
	char line[256], err[TH_ERRLEN];
	qmp_migration m;

	ck_assert_int_eq(qmp_migration_parse(v, &m, err), TH_OK);
	ck_assert_int_eq(m.downtime_ms, -1);
	qmp_migration_format(line, sizeof line, &m);
	ck_assert_str_eq(line, "status=active total_ms=100 setup_ms=1");
	ck_assert_int_eq(qmp_migration_parse(f, &m, err), TH_OK);
	ck_assert_str_eq(m.error, "Unable to write to socket");
	qmp_migration_format(line, sizeof line, &m);
	ck_assert_str_eq(line, "status=failed");
	yajl_tree_free(v);
	yajl_tree_free(f);
}
END_TEST

START_TEST(no_migration_yet_and_bad_replies)
{
	yajl_val empty = parse("{}"), arr = parse("[1]"),
	         st = parse("{\"status\":\"paused\","
	                    "\"running\":false}");
	char err[TH_ERRLEN];
	qmp_migration m;

	ck_assert_int_eq(qmp_migration_parse(empty, &m, err), TH_OK);
	ck_assert_str_eq(m.status, "none");
	ck_assert_int_eq(qmp_migration_parse(arr, &m, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "query-migrate: return value is not an object");
	ck_assert_int_eq(qmp_migration_parse(NULL, &m, err), TH_ERR_PARSE);
	ck_assert_str_eq(qmp_run_status(st), "paused");
	ck_assert_ptr_null(qmp_run_status(empty));
	yajl_tree_free(empty);
	yajl_tree_free(arr);
	yajl_tree_free(st);
}
END_TEST

START_TEST(migrate_params_file_to_qemu_arguments)
{
	char args[256], err[TH_ERRLEN];
	qmp_mig_params p;

	ck_assert_int_eq(qmp_params_read("# set by themis-lab\nmax-bandwidth=33554432\n"
	                                 "downtime-limit=100\ntimeout=45\n",
	                                 &p, err),
	                 TH_OK);
	ck_assert_int_eq(p.max_bandwidth, 33554432);
	ck_assert_int_eq(p.downtime_limit, 100);
	ck_assert_int_eq(p.timeout_s, 45);
	qmp_params_args(args, sizeof args, &p);
	ck_assert_str_eq(args, "{\"max-bandwidth\":33554432,\"downtime-limit\":100}");
	/* nothing set (reset, or no file): QEMU's defaults are set back */
	ck_assert_int_eq(qmp_params_read("", &p, err), TH_OK);
	ck_assert_int_eq(p.timeout_s, -1);
	qmp_params_args(args, sizeof args, &p);
	ck_assert_str_eq(args, "{\"max-bandwidth\":134217728,\"downtime-limit\":300}");
	ck_assert_int_eq(qmp_params_read("downtime-limit=50", &p, err), TH_OK);
	qmp_params_args(args, sizeof args, &p);
	ck_assert_str_eq(args, "{\"max-bandwidth\":134217728,\"downtime-limit\":50}");
}
END_TEST

START_TEST(migrate_params_file_refused)
{
	char err[TH_ERRLEN];
	qmp_mig_params p;

	ck_assert_int_eq(qmp_params_read("max-bandwidth=32M\n", &p, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "migrate-params line 1: value is not a whole number");
	ck_assert_int_eq(qmp_params_read("downtime-limit=1\ndowntime-limit=2\n", &p, err),
	                 TH_ERR_PARSE);
	ck_assert_str_eq(err, "migrate-params line 2: unknown, repeated or out-of-range "
	                      "\"downtime-limit=2\"");
	ck_assert_int_eq(qmp_params_read("timeout=0\n", &p, err), TH_ERR_PARSE);
	ck_assert_int_eq(qmp_params_read("speed=1\n", &p, err), TH_ERR_PARSE);
	ck_assert_int_eq(qmp_params_read("max-bandwidth=\n", &p, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "migrate-params line 1: not KEY=NUMBER");
	ck_assert_int_eq(qmp_params_read("max-bandwidth=1234567890123456\n", &p, err),
	                 TH_ERR_PARSE);
}
END_TEST

START_TEST(migrate_parameters_in_effect)
{
	yajl_val v = parse("{\"announce-initial\":50,\"downtime-limit\":300,"
	                   "\"max-bandwidth\":134217728,\"multifd-channels\":2}");
	yajl_val arr = parse("[]");
	char err[TH_ERRLEN];
	qmp_mig_params p;

	ck_assert_int_eq(qmp_params_parse(v, &p, err), TH_OK);
	ck_assert_int_eq(p.max_bandwidth, 134217728);
	ck_assert_int_eq(p.downtime_limit, 300);
	ck_assert_int_eq(p.timeout_s, -1);
	ck_assert_int_eq(qmp_params_parse(arr, &p, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "query-migrate-parameters: return value is not an object");
	yajl_tree_free(v);
	yajl_tree_free(arr);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("qmp-info");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, completed_migration_figures);
	tcase_add_test(tc, completed_before_the_figures_is_not_final);
	tcase_add_test(tc, active_and_failed_migrations_leave_out_absent_figures);
	tcase_add_test(tc, no_migration_yet_and_bad_replies);
	tcase_add_test(tc, migrate_params_file_to_qemu_arguments);
	tcase_add_test(tc, migrate_params_file_refused);
	tcase_add_test(tc, migrate_parameters_in_effect);
	suite_add_tcase(s, tc);
	return s;
}
