/* json-stream.h — bounded streaming decode of outside JSON into small per-element yajl trees.
 *
 * One pass of yajl's callback parser walks a document. The caller's select() is asked about
 * every value outside elements (the top-level value, the items and members of containers it
 * chose to descend into) and answers: descend into it, build it as an *element*, or skip it.
 * Each element is built as a yajl_val tree in storage owned by the th_js (an arena of nodes,
 * pointer lists and bytes, reused for the next element: no allocation per value) and handed
 * to element(); the codec-json.h getters work on it. The tree is valid only during element().
 * Skipped values build nothing. Nothing is recursive: closing a container is constant work.
 *
 * Bounds (messages name the limit and the place, TH_ERR_PARSE):
 *   "<where>: nesting deeper than 16 levels"        whole document, skipped parts too
 *   "<where>: more than 4096 values in one element"
 *   "<where>: element larger than 65536 bytes"      keys, strings and numbers, NUL included
 *   "<where>.<key>: string contains \u0000"         a NUL inside a built string is refused
 * <where> is the root name given by the caller extended by ".key" and "[index]" down to the
 * element or skipped value concerned ("records[3]", "iperf.intervals[2]", "iperf.end").
 * The number of elements per body is bounded by each decoder (see codec-*.h).
 */
#ifndef TH_JSON_STREAM_H
#define TH_JSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "th-error.h"

#define TH_JS_DEPTH_MAX  16    /* open arrays/objects at any point of a document */
#define TH_JS_ELEM_NODES 4096  /* JSON values in one element */
#define TH_JS_ELEM_BYTES 65536 /* bytes of keys, strings and numbers in one element */
#define TH_JS_WHERE_MAX  96    /* bytes of a position name, longer ones are cut */

/* A value outside elements, as select() and element() see it. */
typedef struct th_js_pos {
	int depth;         /* 1: the top-level value, 2: its items or members, ... */
	const char *key;   /* member name when the parent is an object (cut at 63 bytes), or NULL */
	size_t index;      /* item index when the parent is an array, else 0 */
	yajl_type type;    /* type of the value */
	const char *where; /* "records[3]", "iperf.intervals[2]", ... */
} th_js_pos;

typedef enum th_js_action {
	TH_JS_SKIP,    /* build nothing (depth is still bounded) */
	TH_JS_DESCEND, /* ask select() about each item or member (scalars: same as skip) */
	TH_JS_BUILD,   /* build it as one element and pass it to element() */
} th_js_action;

typedef struct th_js_handler {
	/* *act for the value at pos; non-TH_OK stops the walk like element(). */
	th_err (*select)(void *ctx, const th_js_pos *pos, th_js_action *act, char *errbuf);
	/* Non-TH_OK stops the walk and is returned by th_js_decode (message in errbuf). */
	th_err (*element)(void *ctx, yajl_val v, const th_js_pos *pos, char *errbuf);
	void *ctx;
} th_js_handler;

typedef struct th_js th_js;

/* New reusable element storage (about 360 KB), or NULL when out of memory. */
th_js *th_js_new(void);
/* Free storage from th_js_new (NULL allowed). */
void th_js_free(th_js *js);

/* Walk one JSON value of len bytes (no NUL bytes, nothing after it but whitespace), `root`
 * naming it in messages; malformed JSON gives TH_ERR_PARSE "body: malformed JSON: ...". */
th_err th_js_decode(th_js *js, const char *buf, size_t len, const char *root,
                    const th_js_handler *h, char *errbuf);

/* After th_js_decode failed: true when yajl refused the text itself (not a bound or a
 * handler), e.g. when a second value followed the first. */
bool th_js_malformed(const th_js *js);

/* Check that buf holds JSON nested at most TH_JS_DEPTH_MAX deep and without \u0000 in strings
 * (building nothing); used before yajl_tree_parse. */
th_err th_js_check(const char *buf, size_t len, char *errbuf);

#endif
