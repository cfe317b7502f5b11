/* codec-json.h — strict typed field access on yajl trees, shared by the record, marker and
 * iperf decoders. Every getter names the offending field ("<where>.<key>") in its message.
 */
#ifndef TH_CODEC_JSON_H
#define TH_CODEC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "th-error.h"

/* Member `key` of object `obj`, or NULL when absent. */
yajl_val th_json_member(yajl_val obj, const char *key);

/* Required string member copied into dst (size bytes, must fit, non-empty). */
th_err th_json_string(yajl_val obj, const char *where, const char *key, char *dst, size_t size,
                      char *errbuf);
/* Optional string member: absent leaves dst untouched; present must be a string that fits. */
th_err th_json_string_opt(yajl_val obj, const char *where, const char *key, char *dst, size_t size,
                          char *errbuf);
/* Required integer member within [min, max]. */
th_err th_json_int(yajl_val obj, const char *where, const char *key, int64_t min, int64_t max,
                   int64_t *out, char *errbuf);
/* Optional integer member within [min, max] (absent or null leaves *out untouched). */
th_err th_json_int_opt(yajl_val obj, const char *where, const char *key, int64_t min, int64_t max,
                       int64_t *out, char *errbuf);
/* Required finite number member within [min, max]; null allowed (NaN) when nullable. */
th_err th_json_double(yajl_val obj, const char *where, const char *key, double min, double max,
                      bool nullable, double *out, char *errbuf);
/* Optional number member (absent leaves *out untouched, null gives NaN). */
th_err th_json_double_opt(yajl_val obj, const char *where, const char *key, double min, double max,
                          double *out, char *errbuf);
/* Optional boolean member (absent leaves *out untouched). */
th_err th_json_bool_opt(yajl_val obj, const char *where, const char *key, bool *out, char *errbuf);

/* Parse a NUL-free buffer of len bytes into a tree (*out, free with yajl_tree_free); text nested
 * deeper than TH_JS_DEPTH_MAX or with \u0000 in a string is refused before anything is built. */
th_err th_json_parse(const char *buf, size_t len, yajl_val *out, char *errbuf);

#endif
