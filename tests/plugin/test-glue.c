/* test-glue.c — the plugin glue (themis.c) end to end against a collectd stub: configuration
 * errors, a real HTTP ingest on loopback, dispatch with explicit time and interval from a
 * collectd-aware thread, the session-end notification, the archive written at shutdown. */
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <liboconfig/oconfig.h>
#include <rrd.h>

#include "collectd-stub.h"
#include "th-check.h"

void module_register(void);

static oconfig_value_t sv(const char *s)
{
	oconfig_value_t v = {.type = OCONFIG_TYPE_STRING};

	v.value.string = (char *)s;
	return v;
}

static oconfig_value_t nv(double d)
{
	oconfig_value_t v = {.type = OCONFIG_TYPE_NUMBER};

	v.value.number = d;
	return v;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

typedef struct body {
	char buf[1024];
	size_t len;
} body;

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	body *b = ud;
	size_t k = sz * n;

	if (b->len + k >= sizeof b->buf)
		k = sizeof b->buf - 1 - b->len;
	memcpy(b->buf + b->len, p, k);
	b->len += k;
	b->buf[b->len] = '\0';
	return sz * n;
}

static long post(int port, const char *path, const char *token, const char *data, body *b)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256], auth[128];
	long code = 0;

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	memset(b, 0, sizeof *b);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (data != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	if (token != NULL) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

static size_t wait_values(size_t want, stub_value *vals, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < 200 && (n = stub_values(vals, max)) < want; i++)
		usleep(50000);
	return n;
}

#define REC(t, recv)                                                                               \
	"{\"kind\":\"second\",\"vm\":\"vm-7\",\"stream\":\"s\",\"t\":" #t ",\"interval_ms\":10,"   \
	"\"sent\":100,\"received\":" #recv ",\"lost_up\":0,\"lost_down\":0,\"lost_unknown\":0,"    \
	"\"late\":0,\"dup\":0,\"rtt_min_ms\":0.5,\"rtt_avg_ms\":1,\"rtt_max_ms\":2,"               \
	"\"jitter_ms\":0.1,\"max_gap_ms\":10}"
#define MK(ev, t, extra)                                                                           \
	"{\"kind\":\"marker\",\"session\":\"g.1\",\"vm\":\"vm-7\",\"event\":\"" ev                 \
	"\",\"t\":" #t extra "}"

START_TEST(glue_ingests_dispatches_and_archives)
{
	char dir[] = "/tmp/themis-glue.XXXXXX", tokpath[300], port_s[16], rrd[300];
	int port = free_port();
	FILE *f;
	body b;
	stub_value vals[64];
	stub_notice nots[4];
	size_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(tokpath, sizeof tokpath, "%s/token", dir);
	f = fopen(tokpath, "w");
	fputs("s3cret\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(tokpath, 0644), 0);
	snprintf(port_s, sizeof port_s, "%d", port);

	oconfig_value_t listen[2] = {sv("127.0.0.1"), sv(port_s)}, tok = sv(tokpath),
	                arch = sv(dir), zero = nv(0), warn = nv(100),
	                past = nv(3650 * 86400); /* the fixed times below are years old */
	oconfig_item_t kids[] = {
	    {.key = "Listen", .values = listen, .values_num = 2},
	    {.key = "TokenFile", .values = &tok, .values_num = 1},
	    {.key = "ArchiveDir", .values = &arch, .values_num = 1},
	    {.key = "ArchiveLag", .values = &zero, .values_num = 1},
	    {.key = "SessionGrace", .values = &zero, .values_num = 1},
	    {.key = "DowntimeWarning", .values = &warn, .values_num = 1},
	    {.key = "AcceptPast", .values = &past, .values_num = 1},
	};
	oconfig_item_t root = {.key = "Plugin", .children = kids, .children_num = 7};
	oconfig_value_t bogus_v = nv(1);
	oconfig_item_t bogus = {.key = "Bogus", .values = &bogus_v, .values_num = 1};
	oconfig_item_t bad_root = {.key = "Plugin", .children = &bogus, .children_num = 1};

	module_register();
	ck_assert_ptr_nonnull(stub_config_cb);
	ck_assert_int_ne(stub_config_cb(&bad_root), 0);
	ck_assert_int_ne(stub_config_cb(&root), 0); /* a TokenFile readable by everyone */
	ck_assert_int_eq(chmod(tokpath, 0640), 0);
	ck_assert_int_eq(stub_config_cb(&root), 0);
	ck_assert_int_eq(stub_init_cb(), 0);
	ck_assert_int_eq(stub_threads_started(), 2); /* the worker and the archive writer */

	ck_assert_int_eq(post(port, "/v1/health", NULL, NULL, &b), 200);
	ck_assert_ptr_nonnull(strstr(b.buf, "\"status\":\"ok\""));
	ck_assert_int_eq(post(port, "/v1/records", "wrong", "[" REC(1700000000, 99) "]", &b), 401);
	ck_assert_int_eq(post(port, "/v1/records", "s3cret", "[{\"kind\":\"second\"}]", &b), 400);
	ck_assert_str_eq(b.buf, "{\"error\":\"records[0].vm: missing\"}\n");
	ck_assert_int_eq(
	    post(port, "/v1/markers", "s3cret", "[" MK("session-start", 1700000000.5, "") "]", &b),
	    200);
	ck_assert_int_eq(post(port, "/v1/records", "s3cret",
	                      "[" REC(1700000000, 99) "," REC(1700000001, 97) "]", &b),
	                 200);
	ck_assert_str_eq(b.buf, "{\"accepted\":2,\"duplicates\":0}\n");
	ck_assert_int_eq(post(port, "/v1/records", "s3cret",
	                      "[" REC(1700000000, 99) "," REC(1700000001, 97) "]", &b),
	                 200);
	ck_assert_str_eq(b.buf, "{\"accepted\":0,\"duplicates\":2}\n");

	n = wait_values(4, vals, 64);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(vals[0].plugin, "themis");
	ck_assert_str_eq(vals[0].plugin_instance, "vm-7");
	ck_assert_str_eq(vals[0].type, "themis_probe");
	ck_assert_str_eq(vals[0].type_instance, "g.1");
	ck_assert_double_eq(vals[0].time, 1700000000);
	ck_assert_double_eq(vals[0].interval, 1);
	ck_assert_double_eq(vals[0].v[1], 99);
	ck_assert_str_eq(vals[3].type, "themis_rtt");
	ck_assert_double_eq(vals[2].time, 1700000001);

	ck_assert_int_eq(
	    post(port, "/v1/markers", "s3cret",
	         "[" MK("session-end", 1700000001.9,
	                ",\"summary\":{\"outcome\":\"success\",\"downtime_ms\":250}") "]",
	         &b),
	    200);
	n = wait_values(5, vals, 64);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(vals[4].type, "themis_session");
	ck_assert_str_eq(vals[4].type_instance, "g.1");
	ck_assert_double_eq(vals[4].v[0], 250);
	for (int i = 0; i < 100 && stub_notices(nots, 4) == 0; i++)
		usleep(50000);
	ck_assert_uint_eq(stub_notices(nots, 4), 1);
	ck_assert_int_eq(nots[0].severity, 2); /* NOTIF_WARNING: 250 ms > 100 ms */
	ck_assert_str_eq(nots[0].type_instance, "g.1");
	ck_assert_str_eq(nots[0].plugin_instance, "vm-7");

	ck_assert_int_eq(stub_shutdown_cb(), 0);

	/* The archive holds both seconds exactly, created with last_up = first - 1. */
	snprintf(rrd, sizeof rrd, "%s/vm-7/g.1.rrd", dir);
	{
		time_t start = 1699999999, end = 1700000001;
		unsigned long step = 1, ds_cnt = 0;
		char **ds_names = NULL;
		rrd_value_t *data = NULL;

		ck_assert_int_eq(
		    rrd_fetch_r(rrd, "AVERAGE", &start, &end, &step, &ds_cnt, &ds_names, &data), 0);
		ck_assert_uint_eq(ds_cnt, 16);
		ck_assert_str_eq(ds_names[1], "received");
		ck_assert_int_eq(start, 1699999999);
		/* row i holds second start + 1 + i: 1700000000, 1700000001 */
		ck_assert_double_eq(data[0 * ds_cnt + 1], 99);
		ck_assert_double_eq(data[1 * ds_cnt + 1], 97);
		ck_assert_double_eq(data[1 * ds_cnt + 8], 1);
		ck_assert(isnan(data[1 * ds_cnt + 12]));
		for (unsigned long i = 0; i < ds_cnt; i++)
			rrd_freemem(ds_names[i]);
		rrd_freemem(ds_names);
		rrd_freemem(data);
	}
	snprintf(rrd, sizeof rrd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(rrd), 0);
}
END_TEST

/* Values dispatched after collectd stopped its write threads reach no writer: the shutdown keeps
 * them, the next start dispatches them once, and a re-send of their records is a duplicate. */
START_TEST(values_no_writer_saw_are_dispatched_at_the_next_start)
{
	char dir[] = "/tmp/themis-glue.XXXXXX", port_s[16], path[300], body_[2048];
	int port = free_port();
	time_t now = time(NULL);
	body b;
	stub_value vals[64];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(port_s, sizeof port_s, "%d", port);
	oconfig_value_t listen[2] = {sv("127.0.0.1"), sv(port_s)}, arch = sv(dir);
	oconfig_item_t kids[] = {
	    {.key = "Listen", .values = listen, .values_num = 2},
	    {.key = "ArchiveDir", .values = &arch, .values_num = 1},
	};
	oconfig_item_t root = {.key = "Plugin", .children = kids, .children_num = 2};

	module_register();
	ck_assert_int_eq(stub_config_cb(&root), 0);
	ck_assert_int_eq(stub_init_cb(), 0);
	snprintf(body_, sizeof body_,
	         "[{\"kind\":\"second\",\"vm\":\"vm-8\",\"stream\":\"s\",\"t\":%lld,"
	         "\"interval_ms\":10,\"sent\":100,\"received\":91,\"lost_up\":9,"
	         "\"lost_down\":0,\"lost_unknown\":0,\"late\":0,\"dup\":0,\"rtt_min_ms\":0.5,"
	         "\"rtt_avg_ms\":1,\"rtt_max_ms\":2,\"jitter_ms\":0.1,\"max_gap_ms\":10}]",
	         (long long)now - 5);
	/* collectd has stopped its write threads (it does so before any shutdown function) */
	stub_writers_stopped = 1;
	ck_assert_int_eq(post(port, "/v1/records", NULL, body_, &b), 200);
	ck_assert_int_eq(stub_shutdown_cb(), 0);
	ck_assert_uint_eq(stub_values(vals, 64), 0);
	snprintf(path, sizeof path, "%s/undispatched.values", dir);
	ck_assert_int_eq(access(path, F_OK), 0);

	/* the next start: dispatched once, the file gone, the record's re-send a duplicate */
	stub_writers_stopped = 0;
	ck_assert_int_eq(stub_config_cb(&root), 0);
	ck_assert_int_eq(stub_init_cb(), 0);
	ck_assert_uint_eq(wait_values(2, vals, 64), 2);
	ck_assert_str_eq(vals[0].type, "themis_probe");
	ck_assert_double_eq(vals[0].v[1], 91);
	ck_assert_double_eq(vals[0].time, (double)(now - 5));
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(post(port, "/v1/records", NULL, body_, &b), 200);
	ck_assert_str_eq(b.buf, "{\"accepted\":0,\"duplicates\":1}\n");
	ck_assert_int_eq(stub_shutdown_cb(), 0);
	ck_assert_uint_eq(stub_values(vals, 64), 2); /* never twice */
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

/* <Target> takes its host by the address rules of every part (lib/th-addr.h: a name, IPv4, IPv6
 * bare or in brackets, never a port inside the host) and its ranges from lib/th-limits.h. */
static const struct {
	const char *key, *host, *port; /* port NULL: none; "#n": the number n */
	double number;                 /* the value of Interval/LossTimeout */
	int ok;
} target_cases[] = {
    {"Address", "192.0.2.1", NULL, 0, 1},
    {"Address", "192.0.2.1", "7300", 0, 1},
    {"Address", "192.0.2.1", "#7300", 0, 1},
    {"Address", "reflector.example", "#1", 0, 1},
    {"Address", "::1", "7300", 0, 1},
    {"Address", "[::1]", "7300", 0, 1},
    {"Address", "fe80::1%eth0", NULL, 0, 1},
    {"Address", "192.0.2.1:7300", NULL, 0, 0},
    {"Address", "[::1]:7300", "7300", 0, 0},
    {"Address", "[192.0.2.1]", NULL, 0, 0},
    {"Address", "a b", NULL, 0, 0},
    {"Address", "192.0.2.1", "0", 0, 0},
    {"Address", "192.0.2.1", "#65536", 0, 0},
    {"Address", "192.0.2.1", "#7300.5", 0, 0},
    {"Address", "192.0.2.1", "http", 0, 0},
    {"Interval", "192.0.2.1", NULL, 0.0001, 1},
    {"Interval", "192.0.2.1", NULL, 60, 1},
    {"Interval", "192.0.2.1", NULL, 0.00001, 0},
    {"Interval", "192.0.2.1", NULL, 60.001, 0},
    {"LossTimeout", "192.0.2.1", NULL, 0.001, 1},
    {"LossTimeout", "192.0.2.1", NULL, 3600, 1},
    {"LossTimeout", "192.0.2.1", NULL, 0.0005, 0},
    {"LossTimeout", "192.0.2.1", NULL, 3601, 0},
};

START_TEST(target_address_and_ranges_follow_the_shared_rules)
{
	char port_s[16];
	int port = free_port();
	oconfig_value_t listen[2] = {sv("127.0.0.1"), sv(port_s)}, name = sv("vm-1"), addr[2],
	                num = nv(target_cases[_i].number);
	oconfig_item_t tkids[2] = {{.key = "Address", .values = addr, .values_num = 1}};
	oconfig_item_t kids[2] = {
	    {.key = "Listen", .values = listen, .values_num = 2},
	    {.key = "Target",
	     .values = &name,
	     .values_num = 1,
	     .children = tkids,
	     .children_num = 1},
	};
	oconfig_item_t root = {.key = "Plugin", .children = kids, .children_num = 2};
	const char *p = target_cases[_i].port;

	snprintf(port_s, sizeof port_s, "%d", port);
	addr[0] = sv(target_cases[_i].host);
	if (p != NULL) {
		addr[1] = p[0] == '#' ? nv(strtod(p + 1, NULL)) : sv(p);
		tkids[0].values_num = 2;
	}
	if (strcmp(target_cases[_i].key, "Address") != 0) {
		tkids[1] = (oconfig_item_t){
		    .key = (char *)target_cases[_i].key, .values = &num, .values_num = 1};
		kids[1].children_num = 2;
	}
	module_register();
	ck_assert_ptr_nonnull(stub_config_cb);
	if (target_cases[_i].ok)
		ck_assert_int_eq(stub_config_cb(&root), 0);
	else
		ck_assert_int_ne(stub_config_cb(&root), 0);
}
END_TEST

/* Listen follows th-addr's rules too: a host alone (no port inside, IPv6 unbracketed or in
 * brackets) and a port 1..65535. */
static const struct {
	const char *host, *port;
	int ok;
} listen_cases[] = {
    {"127.0.0.1", NULL, 1},      {"::1", NULL, 1},
    {"[::1]", NULL, 1},          {"localhost", NULL, 1},
    {"127.0.0.1:8741", NULL, 0}, {"127.0.0.1", "0", 0},
    {"127.0.0.1", "65536", 0},   {"127.0.0.1", "http", 0},
    {"bad host", NULL, 0},
};

START_TEST(listen_follows_the_shared_address_rules)
{
	char port_s[16];
	oconfig_value_t listen[2] = {sv(listen_cases[_i].host), sv(port_s)};
	oconfig_item_t kids[1] = {{.key = "Listen", .values = listen, .values_num = 2}};
	oconfig_item_t root = {.key = "Plugin", .children = kids, .children_num = 1};

	snprintf(port_s, sizeof port_s, "%s",
	         listen_cases[_i].port != NULL ? listen_cases[_i].port : "8741");
	module_register();
	ck_assert_ptr_nonnull(stub_config_cb);
	if (listen_cases[_i].ok)
		ck_assert_int_eq(stub_config_cb(&root), 0);
	else
		ck_assert_int_ne(stub_config_cb(&root), 0);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("glue");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, glue_ingests_dispatches_and_archives);
	tcase_add_test(tc, values_no_writer_saw_are_dispatched_at_the_next_start);
	tcase_add_loop_test(tc, listen_follows_the_shared_address_rules, 0,
	                    (int)(sizeof listen_cases / sizeof listen_cases[0]));
	tcase_add_loop_test(tc, target_address_and_ranges_follow_the_shared_rules, 0,
	                    (int)(sizeof target_cases / sizeof target_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
