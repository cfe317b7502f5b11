/* fuzz-plugin-config.c — libFuzzer harness for the collectd plugin's <Plugin themis> block: the
 * complex-config callback of collectd-plugin/themis.c (compiled into this file, as the glue test
 * does), over the collectd stand-in of tests/plugin, then its shutdown callback, so anything the
 * configuration allocates and shutdown does not free shows up as a leak.
 *
 * Input: a line format standing for collectd's config syntax, one item per line:
 *   Key value value ...        an item; values are "quoted strings" (no escapes), true/false,
 *                              numbers (strtod), or else bare words taken as strings
 *   Key value ... {            an item with a nested block, closed by a line "}"
 * The lines form the children of the <Plugin themis> item. Blocks nest at most FC_DEPTH deep,
 * with at most FC_VALUES values an item and FC_ITEMS items in all; unclosed blocks end with the
 * input. File names (TokenFile, KeyFile) are looked up in a private directory of fixture files
 * (token, empty, key32, short, big, dir/), so no input reads anything else on the machine.
 */
#include "themis.c"
#include "themis-archive.c"
#include "themis-deliver.c"
#include "themis-probe.c"

#include <ctype.h>
#include <sys/stat.h>

#include "collectd-stub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FC_DEPTH  6
#define FC_VALUES 8
#define FC_ITEMS  256

typedef struct fc_in {
	const char *p, *end;
	int items;
} fc_in;

static char fc_dir[64];

static void fc_file(const char *name, const char *text, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", fc_dir, name);
	if ((f = fopen(path, "w")) == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0)
		abort();
}

static void fc_cleanup(void)
{
	static const char *const names[] = {"token", "empty", "key32", "short", "big"};
	char path[128];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", fc_dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/dir", fc_dir);
	rmdir(path);
	rmdir(fc_dir);
}

static void fc_setup(void)
{
	char big[300], path[128];

	snprintf(fc_dir, sizeof fc_dir, "/tmp/themis-fuzz-config.XXXXXX");
	if (mkdtemp(fc_dir) == NULL)
		abort();
	memset(big, 'k', sizeof big);
	fc_file("token", "s3cret-token\n", 13);
	fc_file("empty", "", 0);
	fc_file("key32", "0123456789abcdef0123456789abcdef", 32);
	fc_file("short", "0123456789", 10);
	fc_file("big", big, sizeof big);
	snprintf(path, sizeof path, "%s/dir", fc_dir);
	if (mkdir(path, 0700) != 0)
		abort();
	atexit(fc_cleanup);
	stub_quiet = 1;
	module_register();
}

static void fc_free_items(oconfig_item_t *it, int n)
{
	for (int i = 0; i < n; i++) {
		for (int v = 0; v < it[i].values_num; v++)
			if (it[i].values[v].type == OCONFIG_TYPE_STRING)
				free(it[i].values[v].value.string);
		free(it[i].values);
		free(it[i].key);
		fc_free_items(it[i].children, it[i].children_num);
	}
	free(it);
}

/* A file name value of TokenFile/KeyFile, moved into the fixture directory. */
static char *fc_path(const char *name)
{
	char *out;
	size_t len = strlen(fc_dir) + strlen(name) + 10;

	if ((out = malloc(len)) == NULL)
		abort();
	if (strchr(name, '/') != NULL || strstr(name, "..") != NULL)
		snprintf(out, len, "%s/missing", fc_dir);
	else
		snprintf(out, len, "%s/%s", fc_dir, name);
	return out;
}

static void fc_value(oconfig_item_t *it, const char *tok, size_t len, bool quoted)
{
	oconfig_value_t *v = &it->values[it->values_num++];
	char *s = strndup(tok, len), *end;

	if (s == NULL)
		abort();
	v->type = OCONFIG_TYPE_STRING;
	if (!quoted && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
		v->type = OCONFIG_TYPE_BOOLEAN;
		v->value.boolean = s[0] == 't';
		free(s);
		return;
	}
	if (!quoted && len > 0) {
		double d = strtod(s, &end);

		if (*end == '\0') {
			v->type = OCONFIG_TYPE_NUMBER;
			v->value.number = d;
			free(s);
			return;
		}
	}
	if (strcasecmp(it->key, "TokenFile") == 0 || strcasecmp(it->key, "KeyFile") == 0) {
		v->value.string = fc_path(s);
		free(s);
	} else
		v->value.string = s;
}

/* Parse one line into *it; returns false at the end of a block ("}" or the end of input). */
static bool fc_line(fc_in *in, oconfig_item_t *it, bool *opens)
{
	const char *eol = memchr(in->p, '\n', (size_t)(in->end - in->p));
	const char *p = in->p, *q;

	if (eol == NULL)
		eol = in->end;
	in->p = eol < in->end ? eol + 1 : eol;
	*opens = false;
	memset(it, 0, sizeof *it);
	while (p < eol && isspace((unsigned char)*p))
		p++;
	if (p < eol && *p == '}')
		return false;
	q = p;
	while (q < eol && !isspace((unsigned char)*q) && *q != '{')
		q++;
	if ((it->key = strndup(p, (size_t)(q - p))) == NULL ||
	    (it->values = calloc(FC_VALUES, sizeof *it->values)) == NULL)
		abort();
	for (p = q; p < eol && it->values_num < FC_VALUES;) {
		if (isspace((unsigned char)*p)) {
			p++;
		} else if (*p == '{') {
			*opens = true;
			break;
		} else if (*p == '"') {
			for (q = ++p; q < eol && *q != '"'; q++)
				;
			fc_value(it, p, (size_t)(q - p), true);
			p = q < eol ? q + 1 : q;
		} else {
			for (q = p; q < eol && !isspace((unsigned char)*q) && *q != '{'; q++)
				;
			fc_value(it, p, (size_t)(q - p), false);
			p = q;
		}
	}
	return true;
}

/* The items of one block, up to its "}" or the end of input. */
static void fc_block(fc_in *in, oconfig_item_t *parent, int depth)
{
	int cap = 0;

	while (in->p < in->end && in->items < FC_ITEMS) {
		oconfig_item_t it;
		bool opens;

		if (!fc_line(in, &it, &opens)) {
			if (depth > 0)
				return;
			continue; /* a stray "}" at the top */
		}
		in->items++;
		if (parent->children_num == cap) {
			oconfig_item_t *grown;

			cap = cap ? 2 * cap : 4;
			if ((grown = realloc(parent->children, (size_t)cap * sizeof *grown)) ==
			    NULL)
				abort();
			parent->children = grown;
		}
		parent->children[parent->children_num] = it;
		if (opens && depth + 1 < FC_DEPTH)
			fc_block(in, &parent->children[parent->children_num], depth + 1);
		parent->children_num++;
	}
}

/* Parent links, once every array is in its final place. */
static void fc_parents(oconfig_item_t *it)
{
	for (int i = 0; i < it->children_num; i++) {
		it->children[i].parent = it;
		fc_parents(&it->children[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static char token0[sizeof tp_token];
	static tp_archive arch0;
	static tp_config cfg0;
	static size_t max_body0, max_queue0;
	static tp_http_limits http0;
	oconfig_value_t name = {.value.string = "themis", .type = OCONFIG_TYPE_STRING};
	oconfig_item_t root = {.key = "Plugin", .values = &name, .values_num = 1};
	fc_in in = {(const char *)data, (const char *)data + size, 0};

	if (!ready) {
		fc_setup();
		memcpy(token0, tp_token, sizeof token0);
		arch0 = tp_arch;
		cfg0 = tp_cfg;
		max_body0 = tp_max_body;
		max_queue0 = tp_max_queue;
		http0 = tp_http_lim;
		ready = true;
	}
	fc_block(&in, &root, 0);
	fc_parents(&root);
	stub_config_cb(&root);
	stub_shutdown_cb();
	fc_free_items(root.children, root.children_num);
	/* each input starts from the plugin's defaults, as a fresh collectd would */
	memcpy(tp_token, token0, sizeof token0);
	tp_arch = arch0;
	tp_cfg = cfg0;
	tp_max_body = max_body0;
	tp_max_queue = max_queue0;
	tp_http_lim = http0;
	return 0;
}
