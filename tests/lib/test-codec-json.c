/* test-codec-json.c — the bounded stream builder (json-stream.h) and th_json_parse: elements are
 * handed over with their position names, skipped parts build nothing, and every bound (depth,
 * values and bytes per element, \u0000) holds exactly at its limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-json.h"
#include "json-stream.h"
#include "codec-test.h"
#include "th-check.h"

/* What the walk saw: the position names of the elements, and a check of each element. */
typedef struct seen {
	char where[8][TH_JS_WHERE_MAX];
	int n;
	int64_t b;
	char c[16];
} seen;

/* select for {"a":[...items built...],"skip":..., "c":built}, or any top-level array's items. */
static th_err pick(void *ctx, const th_js_pos *pos, th_js_action *act, char *errbuf)
{
	(void)ctx;
	(void)errbuf;
	if (pos->depth == 1 || (pos->depth == 2 && pos->key && strcmp(pos->key, "a") == 0))
		*act = TH_JS_DESCEND;
	else if (pos->depth == 2 && pos->key && strcmp(pos->key, "skip") == 0)
		*act = TH_JS_SKIP;
	else
		*act = TH_JS_BUILD;
	return TH_OK;
}

static th_err keep(void *ctx, yajl_val v, const th_js_pos *pos, char *errbuf)
{
	seen *s = ctx;

	if (s->n < 8)
		snprintf(s->where[s->n++], TH_JS_WHERE_MAX, "%s", pos->where);
	if (YAJL_IS_OBJECT(v) && th_json_member(v, "b") != NULL)
		return th_json_int(v, pos->where, "b", 0, 100, &s->b, errbuf);
	if (YAJL_IS_STRING(v))
		snprintf(s->c, sizeof s->c, "%s", v->u.string);
	return TH_OK;
}

static th_err walk(const char *doc, size_t len, seen *s, char *err)
{
	th_js_handler h = {.select = pick, .element = keep, .ctx = s};
	th_js *js = th_js_new();
	th_err e;

	memset(s, 0, sizeof *s);
	err[0] = '\0';
	ck_assert_ptr_nonnull(js);
	e = th_js_decode(js, doc, len, "doc", &h, err);
	th_js_free(js);
	return e;
}

START_TEST(elements_come_with_their_position_and_skipped_parts_are_not_built)
{
	const char *doc = "{\"a\":[1,{\"b\":42}],\"skip\":{\"b\":\"not an int\",\"d\":[[[]]]},"
	                  "\"c\":\"x\"}";
	char err[TH_ERRLEN];
	seen s;

	ck_assert_int_eq(walk(doc, strlen(doc), &s, err), TH_OK);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.where[0], "doc.a[0]");
	ck_assert_str_eq(s.where[1], "doc.a[1]");
	ck_assert_str_eq(s.where[2], "doc.c");
	ck_assert_int_eq(s.b, 42);
	ck_assert_str_eq(s.c, "x");
}
END_TEST

START_TEST(an_element_error_stops_the_walk)
{
	const char *doc = "[{\"b\":1},{\"b\":200},{\"b\":3}]";
	char err[TH_ERRLEN];
	seen s;

	ck_assert_int_eq(walk(doc, strlen(doc), &s, err), TH_ERR_INVALID);
	ck_assert_str_eq(err, "doc[1].b: 200 out of range [0, 100]");
	ck_assert_int_eq(s.n, 2);
}
END_TEST

/* 16 open containers pass, the 17th is refused, in built, walked and skipped parts alike. */
START_TEST(nesting_is_bounded_at_16_everywhere)
{
	static const struct {
		const char *prefix, *suffix;
		size_t n; /* brackets */
		th_err e;
		const char *msg;
	} c[] = {
	    {"", "", 16, TH_OK, ""}, /* walked 1, built 15 */
	    {"", "", 17, TH_ERR_PARSE, "doc[0]: nesting deeper than 16 levels"},
	    {"{\"skip\":", "}", 15, TH_OK, ""}, /* skipped */
	    {"{\"skip\":", "}", 16, TH_ERR_PARSE, "doc.skip: nesting deeper than 16 levels"},
	    {"{\"a\":", "}", 15, TH_OK, ""}, /* walked 2, built 14 */
	    {"{\"a\":", "}", 16, TH_ERR_PARSE, "doc.a[0]: nesting deeper than 16 levels"},
	    {"", "", 1000000, TH_ERR_PARSE, "doc[0]: nesting deeper than 16 levels"},
	};
	char err[TH_ERRLEN];
	size_t len;
	seen s;

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char *doc = th_nested(c[i].prefix, c[i].n, c[i].suffix, &len);

		ck_assert_msg(walk(doc, len, &s, err) == c[i].e, "case %zu: %s", i, err);
		ck_assert_msg(strcmp(err, c[i].msg) == 0, "case %zu: \"%s\"", i, err);
		free(doc);
	}
}
END_TEST

/* One element of exactly TH_JS_ELEM_NODES values passes; one more is refused. */
START_TEST(values_per_element_are_bounded)
{
	size_t items = TH_JS_ELEM_NODES - 1; /* plus the array itself */
	char *doc = malloc(2 * (items + 1) + 8), err[TH_ERRLEN];
	size_t len = 0;
	seen s;

	for (int round = 0; round < 2; round++, items++) {
		len = 0;
		doc[len++] = '[';
		doc[len++] = '[';
		for (size_t i = 0; i < items; i++) {
			doc[len++] = i ? ',' : '0';
			if (i)
				doc[len++] = '0';
		}
		doc[len++] = ']';
		doc[len++] = ']';
		if (round == 0) {
			ck_assert_msg(walk(doc, len, &s, err) == TH_OK, "%s", err);
		} else {
			ck_assert_int_eq(walk(doc, len, &s, err), TH_ERR_PARSE);
			ck_assert_str_eq(err, "doc[0]: more than 4096 values in one element");
		}
	}
	free(doc);
}
END_TEST

/* Keys, strings and numbers with their NULs fill TH_JS_ELEM_BYTES; one byte more is refused. */
START_TEST(bytes_per_element_are_bounded)
{
	size_t n = TH_JS_ELEM_BYTES - 1, len;
	char *doc = malloc(n + 16), err[TH_ERRLEN];
	seen s;

	for (int round = 0; round < 2; round++, n++) {
		len = 0;
		memcpy(doc, "[\"", 2);
		memset(doc + 2, 'x', n);
		memcpy(doc + 2 + n, "\"]", 2);
		len = n + 4;
		if (round == 0) {
			ck_assert_msg(walk(doc, len, &s, err) == TH_OK, "%s", err);
		} else {
			ck_assert_int_eq(walk(doc, len, &s, err), TH_ERR_PARSE);
			ck_assert_str_eq(err, "doc[0]: element larger than 65536 bytes");
		}
	}
	free(doc);
}
END_TEST

START_TEST(nul_in_a_built_string_or_key_is_refused)
{
	static const struct {
		const char *doc, *msg;
	} c[] = {
	    {"[{\"vm\":\"a\\u0000b\"}]", "doc[0].vm: string contains \\u0000"},
	    {"[{\"v\\u0000m\":1}]", "doc[0]: string contains \\u0000"},
	    {"[[\"\\u0000\"]]", "doc[0]: string contains \\u0000"},
	    {"{\"a\\u0000\":1}", "doc: a key contains \\u0000"},
	};
	char err[TH_ERRLEN];
	seen s;

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		ck_assert_int_eq(walk(c[i].doc, strlen(c[i].doc), &s, err), TH_ERR_PARSE);
		ck_assert_msg(strcmp(err, c[i].msg) == 0, "case %zu: \"%s\"", i, err);
	}
	/* skipped: nothing is built, nothing to refuse */
	ck_assert_int_eq(walk("{\"skip\":\"\\u0000\"}", 17, &s, err), TH_OK);
}
END_TEST

START_TEST(malformed_text_is_told_apart_from_bounds)
{
	th_js_handler h = {.select = pick, .element = keep};
	th_js *js = th_js_new();
	char err[TH_ERRLEN];
	size_t len;
	char *deep = th_nested("", 20, "", &len);
	seen s;

	memset(&s, 0, sizeof s);
	h.ctx = &s;
	ck_assert_int_eq(th_js_decode(js, "[1] [2]", 7, "doc", &h, err), TH_ERR_PARSE);
	ck_assert(th_js_malformed(js));
	ck_assert_int_eq(strncmp(err, "body: malformed JSON: ", 22), 0);
	ck_assert_int_eq(th_js_decode(js, "  ", 2, "doc", &h, err), TH_ERR_PARSE);
	ck_assert(th_js_malformed(js));
	ck_assert_int_eq(strncmp(err, "body: malformed JSON: ", 22), 0);
	ck_assert_int_eq(th_js_decode(js, deep, len, "doc", &h, err), TH_ERR_PARSE);
	ck_assert(!th_js_malformed(js));
	ck_assert_int_eq(th_js_decode(js, "[\"a\"]\n", 6, "doc", &h, err), TH_OK);
	th_js_free(js);
	free(deep);
}
END_TEST

START_TEST(tree_parse_refuses_deep_text_before_building)
{
	yajl_val v = (yajl_val)1;
	char err[TH_ERRLEN];
	size_t len;
	char *ok = th_nested("", 16, "", &len), *deep;

	ck_assert_int_eq(th_json_parse(ok, len, &v, err), TH_OK);
	ck_assert(YAJL_IS_ARRAY(v));
	yajl_tree_free(v);
	free(ok);
	deep = th_nested("{\"x\":", 1000000, "}", &len);
	ck_assert_int_eq(th_json_parse(deep, len, &v, err), TH_ERR_PARSE);
	ck_assert_ptr_null(v);
	ck_assert_str_eq(err, "body: nesting deeper than 16 levels");
	free(deep);
	ck_assert_int_eq(th_json_parse("{\"vm\":\"a\\u0000\"}", 16, &v, err), TH_ERR_PARSE);
	ck_assert_str_eq(err, "body: string contains \\u0000");
	ck_assert_int_eq(th_json_parse("[1", 2, &v, err), TH_ERR_PARSE);
	ck_assert_int_eq(strncmp(err, "body: malformed JSON: ", 22), 0);
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("codec-json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, elements_come_with_their_position_and_skipped_parts_are_not_built);
	tcase_add_test(tc, an_element_error_stops_the_walk);
	tcase_add_test(tc, nesting_is_bounded_at_16_everywhere);
	tcase_add_test(tc, values_per_element_are_bounded);
	tcase_add_test(tc, bytes_per_element_are_bounded);
	tcase_add_test(tc, nul_in_a_built_string_or_key_is_refused);
	tcase_add_test(tc, malformed_text_is_told_apart_from_bounds);
	tcase_add_test(tc, tree_parse_refuses_deep_text_before_building);
	suite_add_tcase(s, tc);
	return s;
}
