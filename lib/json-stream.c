/* json-stream.c — bounded streaming decode into per-element yajl trees (see json-stream.h).
 *
 * Outside elements only a frame per open container is kept (its type, item count and the
 * length of its position name). While an element is built, each new value takes the next node;
 * the children of open containers wait on a stack and are copied into the pointer lists when
 * their container closes, so every node is a child exactly once and the lists never outgrow
 * the nodes.
 */
#include "themis-config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "json-stream.h"

#define TH_JS_KEY_MAX 64

typedef struct th_js_frame {
	yajl_type type;
	size_t index;   /* items begun so far */
	size_t pathlen; /* length of this container's position name */
} th_js_frame;

typedef struct th_js_open {
	yajl_val node;
	size_t base; /* its first child on the stack */
} th_js_open;

struct th_js {
	/* element storage */
	struct yajl_val_s nodes[TH_JS_ELEM_NODES];
	yajl_val kids[TH_JS_ELEM_NODES];
	const char *kidkeys[TH_JS_ELEM_NODES];
	yajl_val stk[TH_JS_ELEM_NODES];
	const char *stkkeys[TH_JS_ELEM_NODES];
	char bytes[TH_JS_ELEM_BYTES];
	th_js_open open[TH_JS_DEPTH_MAX + 1];
	size_t nnodes, nkids, nstk, nbytes;
	int nopen;           /* open containers of the element (0: none being built) */
	const char *elemkey; /* pending member name inside the element */
	/* the walk */
	th_js_frame frame[TH_JS_DEPTH_MAX + 1]; /* frame[d]: the open container at depth d */
	int depth;                              /* open containers in the document */
	int skip_at;                            /* > 0: skipping the container opened at it */
	int elem_at;                            /* > 0: building the element opened at it */
	bool seen;                              /* the top-level value began */
	bool malformed;                         /* yajl refused the text */
	bool maybe_nul;                         /* the text holds an escape */
	char key[TH_JS_KEY_MAX];                /* pending member name outside elements */
	char path[TH_JS_WHERE_MAX];
	const char *root;
	th_js_pos pos; /* the element being built */
	const th_js_handler *h;
	char *errbuf;
	th_err err;
};

th_js *th_js_new(void)
{
	return malloc(sizeof(th_js));
}

void th_js_free(th_js *js)
{
	free(js);
}

static int th_js_deep(th_js *js, const char *where)
{
	js->err = th_seterr(js->errbuf, TH_ERR_PARSE, "%s: nesting deeper than %d levels", where,
	                    TH_JS_DEPTH_MAX);
	return 0;
}

/* Position name of the value about to begin at depth js->depth + 1, written into js->path. */
static void th_js_where(th_js *js)
{
	const th_js_frame *parent = &js->frame[js->depth];
	size_t n = js->depth == 0 ? 0 : parent->pathlen, room = sizeof js->path - n;
	size_t i = parent->index;
	char digits[24], *d = digits + sizeof digits;

	if (js->depth == 0) {
		snprintf(js->path, sizeof js->path, "%s", js->root);
	} else if (parent->type == yajl_t_object) {
		snprintf(js->path + n, room, ".%s", js->key);
	} else {
		/* once per array item: by hand, snprintf would cost more than the item's keys */
		*--d = '\0';
		*--d = ']';
		do
			*--d = (char)('0' + i % 10);
		while ((i /= 10) > 0);
		*--d = '[';
		if ((size_t)(digits + sizeof digits - d) <= room)
			memcpy(js->path + n, d, (size_t)(digits + sizeof digits - d));
	}
}

static char *th_js_store(th_js *js, const unsigned char *s, size_t len)
{
	char *dst;

	if (len >= sizeof js->bytes - js->nbytes)
		return NULL;
	dst = js->bytes + js->nbytes;
	memcpy(dst, s, len);
	dst[len] = '\0';
	js->nbytes += len + 1;
	return dst;
}

/* Storage for a new element (its root is the next node). */
static void th_js_reset(th_js *js)
{
	js->nnodes = js->nkids = js->nstk = js->nbytes = 0;
	js->nopen = 0;
	js->elemkey = NULL;
}

/* A new node inside the element, linked to its open parent (none for the root). */
static yajl_val th_js_node(th_js *js, yajl_type type)
{
	yajl_val v;

	if (js->nnodes == TH_JS_ELEM_NODES) {
		js->err =
		    th_seterr(js->errbuf, TH_ERR_PARSE, "%s: more than %d values in one element",
		              js->pos.where, TH_JS_ELEM_NODES);
		return NULL;
	}
	v = &js->nodes[js->nnodes++];
	v->type = type;
	if (js->nopen > 0) {
		js->stk[js->nstk] = v;
		js->stkkeys[js->nstk] = js->elemkey;
		js->nstk++;
		js->elemkey = NULL;
	}
	return v;
}

static int th_js_toobig(th_js *js)
{
	js->err = th_seterr(js->errbuf, TH_ERR_PARSE, "%s: element larger than %d bytes",
	                    js->pos.where, TH_JS_ELEM_BYTES);
	return 0;
}

static int th_js_nul(th_js *js, const char *key)
{
	js->err = th_seterr(js->errbuf, TH_ERR_PARSE, "%s%s%s: string contains \\u0000",
	                    js->pos.where, key ? "." : "", key ? key : "");
	return 0;
}

/* Fill a scalar node. */
static int th_js_scalar(th_js *js, yajl_val v, const unsigned char *s, size_t len)
{
	char *end;

	if (v->type == yajl_t_string) {
		if (js->maybe_nul && memchr(s, '\0', len) != NULL)
			return th_js_nul(js, js->nopen > 0 ? js->stkkeys[js->nstk - 1] : NULL);
		if ((v->u.string = th_js_store(js, s, len)) == NULL)
			return th_js_toobig(js);
	} else if (v->type == yajl_t_number) {
		if ((v->u.number.r = th_js_store(js, s, len)) == NULL)
			return th_js_toobig(js);
		v->u.number.flags = 0;
		errno = 0;
		v->u.number.i = strtoll(v->u.number.r, &end, 10);
		if (errno == 0 && *end == '\0')
			v->u.number.flags |= YAJL_NUMBER_INT_VALID;
		errno = 0;
		v->u.number.d = strtod(v->u.number.r, &end);
		if (errno == 0 && *end == '\0')
			v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	}
	return 1;
}

static int th_js_element(th_js *js, yajl_val v)
{
	th_err e = js->h->element(js->h->ctx, v, &js->pos, js->errbuf);

	if (e != TH_OK) {
		js->err = e;
		return 0;
	}
	return 1;
}

/* A value begins outside elements: ask select() what to do with it. */
static int th_js_begin(th_js *js, yajl_type type, const unsigned char *s, size_t len)
{
	bool container = type == yajl_t_object || type == yajl_t_array;
	th_js_frame *parent = &js->frame[js->depth];
	th_js_action act;
	yajl_val v;

	js->seen = true;
	th_js_where(js);
	js->pos.depth = js->depth + 1;
	js->pos.key = js->depth > 0 && parent->type == yajl_t_object ? js->key : NULL;
	js->pos.index = js->depth > 0 && parent->type == yajl_t_array ? parent->index : 0;
	js->pos.type = type;
	js->pos.where = js->path;
	if (js->depth > 0)
		parent->index++;
	if (container && js->depth >= TH_JS_DEPTH_MAX)
		return th_js_deep(js, js->path);
	act = TH_JS_SKIP;
	if ((js->err = js->h->select(js->h->ctx, &js->pos, &act, js->errbuf)) != TH_OK)
		return 0;
	if (act == TH_JS_BUILD) {
		th_js_reset(js);
		if ((v = th_js_node(js, type)) == NULL)
			return 0;
		if (!container)
			return th_js_scalar(js, v, s, len) && th_js_element(js, v);
		js->open[0].node = v;
		js->open[0].base = 0;
		js->nopen = 1;
		js->elem_at = js->depth + 1;
	}
	if (!container)
		return 1;
	js->depth++;
	js->frame[js->depth].type = type;
	js->frame[js->depth].index = 0;
	js->frame[js->depth].pathlen = strlen(js->path);
	if (act == TH_JS_SKIP)
		js->skip_at = js->depth;
	return 1;
}

static int th_js_value(th_js *js, yajl_type type, const unsigned char *s, size_t len)
{
	bool container = type == yajl_t_object || type == yajl_t_array;
	yajl_val v;

	if (js->skip_at > 0) {
		if (!container)
			return 1;
		if (js->depth >= TH_JS_DEPTH_MAX)
			return th_js_deep(js, js->path);
		js->depth++;
		return 1;
	}
	if (js->elem_at == 0)
		return th_js_begin(js, type, s, len);
	/* inside an element */
	if (container && js->depth >= TH_JS_DEPTH_MAX)
		return th_js_deep(js, js->pos.where);
	if ((v = th_js_node(js, type)) == NULL)
		return 0;
	if (!container)
		return th_js_scalar(js, v, s, len);
	js->open[js->nopen].node = v;
	js->open[js->nopen].base = js->nstk;
	js->nopen++;
	js->depth++;
	return 1;
}

static int th_js_end(th_js *js)
{
	th_js_open *o;
	size_t n;

	if (js->skip_at > 0) {
		if (js->depth-- == js->skip_at)
			js->skip_at = 0;
		return 1;
	}
	if (js->elem_at == 0) {
		js->depth--;
		return 1;
	}
	o = &js->open[--js->nopen];
	n = js->nstk - o->base;
	memcpy(&js->kids[js->nkids], &js->stk[o->base], n * sizeof *js->kids);
	if (o->node->type == yajl_t_object) {
		memcpy(&js->kidkeys[js->nkids], &js->stkkeys[o->base], n * sizeof *js->kidkeys);
		o->node->u.object.keys = &js->kidkeys[js->nkids];
		o->node->u.object.values = &js->kids[js->nkids];
		o->node->u.object.len = n;
	} else {
		o->node->u.array.values = &js->kids[js->nkids];
		o->node->u.array.len = n;
	}
	js->nkids += n;
	js->nstk = o->base;
	if (js->depth-- > js->elem_at)
		return 1;
	js->elem_at = 0;
	return th_js_element(js, o->node);
}

static int th_js_null(void *ctx)
{
	return th_js_value(ctx, yajl_t_null, NULL, 0);
}

static int th_js_bool(void *ctx, int b)
{
	return th_js_value(ctx, b ? yajl_t_true : yajl_t_false, NULL, 0);
}

static int th_js_number(void *ctx, const char *s, size_t len)
{
	return th_js_value(ctx, yajl_t_number, (const unsigned char *)s, len);
}

static int th_js_string(void *ctx, const unsigned char *s, size_t len)
{
	return th_js_value(ctx, yajl_t_string, s, len);
}

static int th_js_start_map(void *ctx)
{
	return th_js_value(ctx, yajl_t_object, NULL, 0);
}

static int th_js_start_array(void *ctx)
{
	return th_js_value(ctx, yajl_t_array, NULL, 0);
}

static int th_js_key(void *ctx, const unsigned char *s, size_t len)
{
	th_js *js = ctx;

	if (js->skip_at > 0)
		return 1;
	if (js->elem_at > 0) {
		if (js->maybe_nul && memchr(s, '\0', len) != NULL)
			return th_js_nul(js, NULL);
		if ((js->elemkey = th_js_store(js, s, len)) == NULL)
			return th_js_toobig(js);
		return 1;
	}
	if (memchr(s, '\0', len) != NULL) {
		js->err =
		    th_seterr(js->errbuf, TH_ERR_PARSE, "%s: a key contains \\u0000", js->path);
		return 0;
	}
	if (len >= sizeof js->key)
		len = sizeof js->key - 1;
	memcpy(js->key, s, len);
	js->key[len] = '\0';
	return 1;
}

static int th_js_end_any(void *ctx)
{
	return th_js_end(ctx);
}

static const yajl_callbacks th_js_callbacks = {
    .yajl_null = th_js_null,
    .yajl_boolean = th_js_bool,
    .yajl_number = th_js_number,
    .yajl_string = th_js_string,
    .yajl_start_map = th_js_start_map,
    .yajl_map_key = th_js_key,
    .yajl_end_map = th_js_end_any,
    .yajl_start_array = th_js_start_array,
    .yajl_end_array = th_js_end_any,
};

static th_err th_js_run(yajl_handle h, const char *buf, size_t len, th_err *cb_err, bool *malformed,
                        char *errbuf)
{
	yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);

	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st == yajl_status_client_canceled)
		return *cb_err;
	if (st != yajl_status_ok) {
		unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
		size_t n = msg ? strcspn((const char *)msg, "\n") : 0;

		th_seterr(errbuf, TH_ERR_PARSE, "body: malformed JSON: %.*s", (int)n,
		          msg ? (const char *)msg : "");
		yajl_free_error(h, msg);
		*malformed = true;
		return TH_ERR_PARSE;
	}
	return TH_OK;
}

th_err th_js_decode(th_js *js, const char *buf, size_t len, const char *root,
                    const th_js_handler *h, char *errbuf)
{
	yajl_handle yh;
	th_err e;

	if (memchr(buf, '\0', len) != NULL)
		return th_seterr(errbuf, TH_ERR_PARSE, "body: contains a NUL byte");
	/* With no raw NUL, a decoded string holds one only from an escape (\u0000): one scan of the
	 * text for a backslash spares a scan of every string and key in most bodies. */
	js->maybe_nul = memchr(buf, '\\', len) != NULL;
	js->depth = js->skip_at = js->elem_at = 0;
	js->seen = js->malformed = false;
	js->h = h;
	js->errbuf = errbuf;
	js->err = TH_OK;
	js->key[0] = '\0';
	js->root = root;
	snprintf(js->path, sizeof js->path, "%s", root);
	js->pos.where = js->path;
	th_js_reset(js);
	if ((yh = yajl_alloc(&th_js_callbacks, NULL, js)) == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "body: out of memory");
	e = th_js_run(yh, buf, len, &js->err, &js->malformed, errbuf);
	yajl_free(yh);
	if (e == TH_OK && !js->seen) {
		js->malformed = true;
		e = th_seterr(errbuf, TH_ERR_PARSE, "body: malformed JSON: empty");
	}
	return e;
}

bool th_js_malformed(const th_js *js)
{
	return js->malformed;
}

/* th_js_check: depth and NUL only. */
typedef struct th_js_depth {
	int depth;
	char *errbuf;
	th_err err;
} th_js_depth;

static int th_jd_open(void *ctx)
{
	th_js_depth *d = ctx;

	if (d->depth >= TH_JS_DEPTH_MAX) {
		d->err = th_seterr(d->errbuf, TH_ERR_PARSE, "body: nesting deeper than %d levels",
		                   TH_JS_DEPTH_MAX);
		return 0;
	}
	d->depth++;
	return 1;
}

static int th_jd_close(void *ctx)
{
	((th_js_depth *)ctx)->depth--;
	return 1;
}

static int th_jd_string(void *ctx, const unsigned char *s, size_t len)
{
	th_js_depth *d = ctx;

	if (memchr(s, '\0', len) == NULL)
		return 1;
	d->err = th_seterr(d->errbuf, TH_ERR_PARSE, "body: string contains \\u0000");
	return 0;
}

static const yajl_callbacks th_jd_callbacks = {
    .yajl_string = th_jd_string,
    .yajl_start_map = th_jd_open,
    .yajl_map_key = th_jd_string,
    .yajl_end_map = th_jd_close,
    .yajl_start_array = th_jd_open,
    .yajl_end_array = th_jd_close,
};

th_err th_js_check(const char *buf, size_t len, char *errbuf)
{
	th_js_depth d = {.errbuf = errbuf};
	bool malformed = false;
	yajl_handle yh;
	th_err e;

	if ((yh = yajl_alloc(&th_jd_callbacks, NULL, &d)) == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "body: out of memory");
	e = th_js_run(yh, buf, len, &d.err, &malformed, errbuf);
	yajl_free(yh);
	return e;
}
