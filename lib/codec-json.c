/* codec-json.c — strict typed field access on yajl trees (see codec-json.h). */
#include "themis-config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec-json.h"
#include "json-stream.h"

yajl_val th_json_member(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

static th_err th_json_copy(yajl_val v, const char *where, const char *key, char *dst, size_t size,
                           char *errbuf)
{
	size_t n;

	if (!YAJL_IS_STRING(v))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: expected a string", where, key);
	n = strlen(v->u.string);
	if (n >= size)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: longer than %zu bytes", where, key,
		                 size - 1);
	memcpy(dst, v->u.string, n + 1);
	return TH_OK;
}

th_err th_json_string(yajl_val obj, const char *where, const char *key, char *dst, size_t size,
                      char *errbuf)
{
	yajl_val v = th_json_member(obj, key);

	if (v == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: missing", where, key);
	if (YAJL_IS_STRING(v) && v->u.string[0] == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: must not be empty", where, key);
	return th_json_copy(v, where, key, dst, size, errbuf);
}

th_err th_json_string_opt(yajl_val obj, const char *where, const char *key, char *dst, size_t size,
                          char *errbuf)
{
	yajl_val v = th_json_member(obj, key);

	if (v == NULL)
		return TH_OK;
	return th_json_copy(v, where, key, dst, size, errbuf);
}

static th_err th_json_int_val(yajl_val v, const char *where, const char *key, int64_t min,
                              int64_t max, int64_t *out, char *errbuf)
{
	if (!YAJL_IS_INTEGER(v))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: expected an integer", where, key);
	if (v->u.number.i < min || v->u.number.i > max)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: %lld out of range [%lld, %lld]",
		                 where, key, (long long)v->u.number.i, (long long)min,
		                 (long long)max);
	*out = v->u.number.i;
	return TH_OK;
}

th_err th_json_int(yajl_val obj, const char *where, const char *key, int64_t min, int64_t max,
                   int64_t *out, char *errbuf)
{
	yajl_val v = th_json_member(obj, key);

	if (v == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: missing", where, key);
	return th_json_int_val(v, where, key, min, max, out, errbuf);
}

th_err th_json_int_opt(yajl_val obj, const char *where, const char *key, int64_t min, int64_t max,
                       int64_t *out, char *errbuf)
{
	yajl_val v = th_json_member(obj, key);

	if (v == NULL || YAJL_IS_NULL(v))
		return TH_OK;
	return th_json_int_val(v, where, key, min, max, out, errbuf);
}

static th_err th_json_double_val(yajl_val v, const char *where, const char *key, double min,
                                 double max, bool nullable, double *out, char *errbuf)
{
	double d;

	if (YAJL_IS_NULL(v) && nullable) {
		*out = NAN;
		return TH_OK;
	}
	if (!YAJL_IS_NUMBER(v))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: expected a number%s", where, key,
		                 nullable ? " or null" : "");
	if (v->u.number.flags & YAJL_NUMBER_DOUBLE_VALID)
		d = v->u.number.d;
	else if (v->u.number.flags & YAJL_NUMBER_INT_VALID)
		d = (double)v->u.number.i;
	else
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: number out of range", where, key);
	if (!isfinite(d) || d < min || d > max)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: %g out of range [%g, %g]", where,
		                 key, d, min, max);
	*out = d;
	return TH_OK;
}

th_err th_json_double(yajl_val obj, const char *where, const char *key, double min, double max,
                      bool nullable, double *out, char *errbuf)
{
	yajl_val v = th_json_member(obj, key);

	if (v == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: missing", where, key);
	return th_json_double_val(v, where, key, min, max, nullable, out, errbuf);
}

th_err th_json_double_opt(yajl_val obj, const char *where, const char *key, double min, double max,
                          double *out, char *errbuf)
{
	yajl_val v = th_json_member(obj, key);

	if (v == NULL)
		return TH_OK;
	return th_json_double_val(v, where, key, min, max, true, out, errbuf);
}

th_err th_json_bool_opt(yajl_val obj, const char *where, const char *key, bool *out, char *errbuf)
{
	yajl_val v = th_json_member(obj, key);

	if (v == NULL)
		return TH_OK;
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		*out = YAJL_IS_TRUE(v);
		return TH_OK;
	}
	return th_seterr(errbuf, TH_ERR_INVALID, "%s.%s: expected true or false", where, key);
}

th_err th_json_parse(const char *buf, size_t len, yajl_val *out, char *errbuf)
{
	char msg[200];
	char *copy;
	size_t i;

	*out = NULL;
	if (memchr(buf, '\0', len) != NULL)
		return th_seterr(errbuf, TH_ERR_PARSE, "body: contains a NUL byte");
	/* yajl_tree has no depth limit and frees recursively: refuse deep text before building. */
	if (th_js_check(buf, len, errbuf) != TH_OK)
		return TH_ERR_PARSE;
	copy = malloc(len + 1);
	if (copy == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "body: out of memory (%zu bytes)", len);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	msg[0] = '\0';
	*out = yajl_tree_parse(copy, msg, sizeof msg);
	free(copy);
	if (*out == NULL) {
		/* yajl's message spans lines (it draws a caret): keep the first one. */
		for (i = 0; msg[i] != '\0' && msg[i] != '\n'; i++)
			;
		msg[i] = '\0';
		return th_seterr(errbuf, TH_ERR_PARSE, "body: malformed JSON: %s",
		                 msg[0] ? msg : "parse error");
	}
	return TH_OK;
}
