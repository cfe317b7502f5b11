/* test-addr.c — th-addr: the one set of address rules (HOST:PORT, [IPv6]:PORT, an unbracketed
 * IPv6 address with a port refused as ambiguous, hosts and ports given apart, bounded lengths),
 * one table per function, each row an input and the exact result or message. */
#include <stdio.h>
#include <string.h>

#include "th-addr.h"
#include "th-check.h"

/* ------------------------------------------------------------------ th_addr_parse */

static const struct {
	const char *spec, *host, *port;
} parse_ok[] = {
    {"192.0.2.7:7300", "192.0.2.7", "7300"},
    {"reflector-1.example.org:9", "reflector-1.example.org", "9"},
    {"vm_a:65535", "vm_a", "65535"},
    {"localhost:1", "localhost", "1"},
    {"127.0.0.1:07300", "127.0.0.1", "7300"}, /* leading zeros: the port is written back plain */
    {"[::1]:7300", "::1", "7300"},
    {"[::]:7300", "::", "7300"},
    {"[2001:db8::7]:443", "2001:db8::7", "443"},
    {"[fe80::1]:7300", "fe80::1", "7300"},
    {"[fe80::1%eth0]:7300", "fe80::1%eth0", "7300"},
    {"[::ffff:192.0.2.1]:80", "::ffff:192.0.2.1", "80"},
};

START_TEST(parse_accepts_names_ipv4_and_bracketed_ipv6)
{
	th_addr a;
	char err[TH_ERRLEN] = "";

	memset(&a, 'x', sizeof a);
	ck_assert_int_eq(th_addr_parse("--target", parse_ok[_i].spec, &a, err), TH_OK);
	ck_assert_str_eq(a.host, parse_ok[_i].host);
	ck_assert_str_eq(a.port, parse_ok[_i].port);
	ck_assert_str_eq(err, "");
}
END_TEST

#define AMBIG   "is ambiguous: write an IPv6 address in brackets, [ADDR]:PORT"
#define NOTV6   "in brackets is not an IPv6 address"
#define NOTNAME "is not a host name or IPv4 address (A-Z a-z 0-9 . - _)"
#define PORT    "port must be 1..65535"

static const struct {
	const char *spec, *msg;
} parse_bad[] = {
    /* an IPv6 address and a port without brackets: which colon starts the port is a guess */
    {"fe80::1:7300", "--target \"fe80::1:7300\" " AMBIG},
    {"::1:7300", "--target \"::1:7300\" " AMBIG},
    {"2001:db8::7:443", "--target \"2001:db8::7:443\" " AMBIG},
    {"a:b:c", "--target \"a:b:c\" " AMBIG},
    /* no port at all */
    {"127.0.0.1", "--target \"127.0.0.1\": expected ADDR:PORT (IPv6 as [ADDR]:PORT)"},
    {"", "--target \"\": expected ADDR:PORT (IPv6 as [ADDR]:PORT)"},
    {"[::1]", "--target \"[::1]\": expected [IPv6]:PORT"},
    {"[::1", "--target \"[::1\": expected [IPv6]:PORT"},
    {"[::1]7300", "--target \"[::1]7300\": expected [IPv6]:PORT"},
    /* hosts */
    {":7300", "--target \":7300\": host missing"},
    {"[]:7300", "--target \"[]:7300\": \"\" " NOTV6},
    {"[192.0.2.7]:7300", "--target \"[192.0.2.7]:7300\": \"192.0.2.7\" " NOTV6},
    {"[fe80::1%]:7300", "--target \"[fe80::1%]:7300\": \"fe80::1%\" " NOTV6},
    {"[fe80::1%e h]:7300", "--target \"[fe80::1%e h]:7300\": \"fe80::1%e h\" " NOTV6},
    {"[fe80::g]:7300", "--target \"[fe80::g]:7300\": \"fe80::g\" " NOTV6},
    {"-x:80", "--target \"-x:80\": \"-x\" " NOTNAME},
    {"a b:80", "--target \"a b:80\": \"a b\" " NOTNAME},
    {"a/b:80", "--target \"a/b:80\": \"a/b\" " NOTNAME},
    /* ports */
    {"127.0.0.1:0", "--target \"127.0.0.1:0\": " PORT},
    {"127.0.0.1:65536", "--target \"127.0.0.1:65536\": " PORT},
    {"127.0.0.1:", "--target \"127.0.0.1:\": " PORT},
    {"127.0.0.1:-1", "--target \"127.0.0.1:-1\": " PORT},
    {"127.0.0.1:+80", "--target \"127.0.0.1:+80\": " PORT},
    {"127.0.0.1:80x", "--target \"127.0.0.1:80x\": " PORT},
    {"127.0.0.1: 80", "--target \"127.0.0.1: 80\": " PORT},
    {"127.0.0.1:007300", "--target \"127.0.0.1:007300\": " PORT}, /* six digits */
    {"[::1]:", "--target \"[::1]:\": " PORT},
    {"[::1]:http", "--target \"[::1]:http\": " PORT},
};

START_TEST(parse_refuses_with_a_message_naming_option_and_input)
{
	th_addr a;
	char err[TH_ERRLEN];

	ck_assert_int_eq(th_addr_parse("--target", parse_bad[_i].spec, &a, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, parse_bad[_i].msg);
}
END_TEST

/* A host of TH_HOST_MAX - 1 bytes fits, one more does not; a longer input is refused before
 * anything is read past TH_ADDR_MAX. */
START_TEST(parse_bounds_host_and_input_length)
{
	char spec[2 * TH_ADDR_MAX], err[TH_ERRLEN];
	th_addr a;

	memset(spec, 'h', TH_HOST_MAX - 1);
	strcpy(spec + TH_HOST_MAX - 1, ":7300");
	ck_assert_int_eq(th_addr_parse("--target", spec, &a, err), TH_OK);
	ck_assert_uint_eq(strlen(a.host), 255);
	ck_assert_str_eq(a.port, "7300");

	memset(spec, 'h', TH_HOST_MAX);
	strcpy(spec + TH_HOST_MAX, ":7300");
	ck_assert_int_eq(th_addr_parse("--target", spec, &a, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--target \"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh...\": host "
	                      "longer than 255 bytes");

	spec[0] = '[';
	memset(spec + 1, 'h', TH_HOST_MAX);
	strcpy(spec + 1 + TH_HOST_MAX, "]:7300");
	ck_assert_int_eq(th_addr_parse("--target", spec, &a, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--target \"[hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh...\": host "
	                      "longer than 255 bytes");

	memset(spec, 'h', sizeof spec - 1);
	spec[sizeof spec - 1] = '\0';
	ck_assert_int_eq(th_addr_parse("--target", spec, &a, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "--target \"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh...\": longer "
	                      "than 274 bytes");
}
END_TEST

/* ------------------------------------------------------------------ th_addr_host */

static const struct {
	const char *in, *host;
} host_ok[] = {
    {"192.0.2.7", "192.0.2.7"},
    {"reflector.example", "reflector.example"},
    {"vm_a-1", "vm_a-1"},
    {"::1", "::1"},
    {"[::1]", "::1"},
    {"fe80::1%eth0", "fe80::1%eth0"},
    {"[fe80::1%eth0]", "fe80::1%eth0"},
    /* without a port nothing is ambiguous: this is the IPv6 address fe80::1:7300 */
    {"fe80::1:7300", "fe80::1:7300"},
};

START_TEST(host_accepts_names_ipv4_and_ipv6_bare_or_bracketed)
{
	char host[TH_HOST_MAX], err[TH_ERRLEN] = "";

	ck_assert_int_eq(th_addr_host("Address", host_ok[_i].in, host, err), TH_OK);
	ck_assert_str_eq(host, host_ok[_i].host);
	ck_assert_str_eq(err, "");
}
END_TEST

#define NOPORT                                                                                     \
	"expected a host without a port (a name, an IPv4 address, an IPv6 address bare or in "     \
	"brackets)"

static const struct {
	const char *in, *msg;
} host_bad[] = {
    {"", "Address \"\": host missing"},
    {"192.0.2.7:7300", "Address \"192.0.2.7:7300\": " NOPORT},
    {"reflector:7300", "Address \"reflector:7300\": " NOPORT},
    {"[::1]:7300", "Address \"[::1]:7300\": " NOPORT},
    {"[::1", "Address \"[::1\": " NOPORT},
    {"[", "Address \"[\": " NOPORT},
    {"::g", "Address \"::g\": " NOPORT},
    {"[]", "Address \"[]\": \"\" " NOTV6},
    {"[192.0.2.7]", "Address \"[192.0.2.7]\": \"192.0.2.7\" " NOTV6},
    {"my host", "Address \"my host\": not a host name or IPv4 address (A-Z a-z 0-9 . - _)"},
    {"-h", "Address \"-h\": not a host name or IPv4 address (A-Z a-z 0-9 . - _)"},
};

START_TEST(host_refuses_ports_and_bad_hosts_naming_the_input)
{
	char host[TH_HOST_MAX], err[TH_ERRLEN];

	ck_assert_int_eq(th_addr_host("Address", host_bad[_i].in, host, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, host_bad[_i].msg);
}
END_TEST

START_TEST(host_bounds_length_with_and_without_brackets)
{
	char in[2 * TH_HOST_MAX], host[TH_HOST_MAX], err[TH_ERRLEN];
	const char *msg = "Address \"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh...\": host longer "
	                  "than 255 bytes";

	memset(in, 'h', TH_HOST_MAX - 1);
	in[TH_HOST_MAX - 1] = '\0';
	ck_assert_int_eq(th_addr_host("Address", in, host, err), TH_OK);
	ck_assert_uint_eq(strlen(host), 255);
	in[TH_HOST_MAX - 1] = 'h';
	in[TH_HOST_MAX] = '\0';
	ck_assert_int_eq(th_addr_host("Address", in, host, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, msg);
	memset(in, 'h', sizeof in - 1);
	in[sizeof in - 1] = '\0';
	ck_assert_int_eq(th_addr_host("Address", in, host, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, msg);
}
END_TEST

/* ------------------------------------------------------------------ th_addr_port */

static const struct {
	const char *in, *port; /* port NULL: refused */
} ports[] = {
    {"7300", "7300"}, {"1", "1"},    {"65535", "65535"}, {"07300", "7300"}, {"0", NULL},
    {"65536", NULL},  {"", NULL},    {"-1", NULL},       {"80x", NULL},     {"123456", NULL},
    {"7300 ", NULL},  {"1e3", NULL}, {"http", NULL},
};

START_TEST(port_is_one_to_five_digits_from_1_to_65535)
{
	char port[TH_PORT_MAX], err[TH_ERRLEN], want[TH_ERRLEN];

	if (ports[_i].port != NULL) {
		ck_assert_int_eq(th_addr_port("Address", ports[_i].in, port, err), TH_OK);
		ck_assert_str_eq(port, ports[_i].port);
	} else {
		ck_assert_int_eq(th_addr_port("Address", ports[_i].in, port, err), TH_ERR_INVALID);
		snprintf(want, sizeof want, "Address port \"%s\": must be 1..65535", ports[_i].in);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

/* ------------------------------------------------------------------ th_addr_format */

static const struct {
	const char *host, *port, *out;
} formats[] = {
    {"192.0.2.7", "7300", "192.0.2.7:7300"},
    {"reflector.example", "9", "reflector.example:9"},
    {"::1", "7300", "[::1]:7300"},
    {"fe80::1:7300", "7300", "[fe80::1:7300]:7300"},
    {"fe80::1%eth0", "80", "[fe80::1%eth0]:80"},
};

START_TEST(format_brackets_ipv6_and_parses_back)
{
	char out[TH_ADDR_MAX], err[TH_ERRLEN];
	th_addr a;

	ck_assert_int_eq(th_addr_format(formats[_i].host, formats[_i].port, out, sizeof out, err),
	                 TH_OK);
	ck_assert_str_eq(out, formats[_i].out);
	ck_assert_int_eq(th_addr_parse("x", out, &a, err), TH_OK);
	ck_assert_str_eq(a.host, formats[_i].host);
	ck_assert_str_eq(a.port, formats[_i].port);
}
END_TEST

START_TEST(format_refuses_a_buffer_too_small)
{
	char out[11], err[TH_ERRLEN];

	ck_assert_int_eq(th_addr_format("::1", "7300", out, sizeof out, err), TH_OK);
	ck_assert_str_eq(out, "[::1]:7300");
	ck_assert_int_eq(th_addr_format("::1", "17300", out, sizeof out, err), TH_ERR_TOOBIG);
	ck_assert_str_eq(err, "address of host \"::1\" port 17300 is longer than 10 bytes");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *th_test_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parse_accepts_names_ipv4_and_bracketed_ipv6, 0, N(parse_ok));
	tcase_add_loop_test(tc, parse_refuses_with_a_message_naming_option_and_input, 0,
	                    N(parse_bad));
	tcase_add_test(tc, parse_bounds_host_and_input_length);
	tcase_add_loop_test(tc, host_accepts_names_ipv4_and_ipv6_bare_or_bracketed, 0, N(host_ok));
	tcase_add_loop_test(tc, host_refuses_ports_and_bad_hosts_naming_the_input, 0, N(host_bad));
	tcase_add_test(tc, host_bounds_length_with_and_without_brackets);
	tcase_add_loop_test(tc, port_is_one_to_five_digits_from_1_to_65535, 0, N(ports));
	tcase_add_loop_test(tc, format_brackets_ipv6_and_parses_back, 0, N(formats));
	tcase_add_test(tc, format_refuses_a_buffer_too_small);
	suite_add_tcase(s, tc);
	return s;
}
