/* one-context.c — context.sh parsing (see one-context.h). */
#include "themis-config.h"

#include <stdlib.h>
#include <string.h>

#include "one-context.h"

static int ctx_name_char(char c, int first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* One NAME='value' line (without its newline) into v. */
static th_err ctx_line(const char *s, size_t len, const char *what, int lineno, one_ctxvar *v,
                       char *errbuf)
{
	size_t i = 0, o = 0;

	while (i < len && ctx_name_char(s[i], i == 0))
		i++;
	if (i == 0 || i + 1 >= len || s[i] != '=' || s[i + 1] != '\'')
		return th_seterr(errbuf, TH_ERR_PARSE, "%s line %d: not NAME='value'", what,
		                 lineno);
	if (i >= sizeof v->name)
		return th_seterr(errbuf, TH_ERR_TOOBIG,
		                 "%s line %d: name longer than %d characters", what, lineno,
		                 ONE_CTX_NAMELEN - 1);
	memcpy(v->name, s, i);
	v->name[i] = '\0';
	i += 2;
	for (;;) {
		if (i >= len)
			return th_seterr(errbuf, TH_ERR_PARSE, "%s line %d: %s: unterminated quote",
			                 what, lineno, v->name);
		if (s[i] == '\'') {
			if (i + 1 == len)
				break;
			/* '\'' : a quote inside the value */
			if (len - i >= 4 && memcmp(s + i, "'\\''", 4) == 0) {
				if (o + 1 >= sizeof v->value)
					goto toobig;
				v->value[o++] = '\'';
				i += 4;
				continue;
			}
			return th_seterr(errbuf, TH_ERR_PARSE,
			                 "%s line %d: %s: text after the closing quote", what,
			                 lineno, v->name);
		}
		if (o + 1 >= sizeof v->value)
			goto toobig;
		v->value[o++] = s[i++];
	}
	v->value[o] = '\0';
	return TH_OK;
toobig:
	return th_seterr(errbuf, TH_ERR_TOOBIG, "%s line %d: %s: value longer than %d characters",
	                 what, lineno, v->name, ONE_CTX_VALUELEN - 1);
}

th_err one_context_parse(const char *text, const char *what, one_ctxvar **vars, size_t *n,
                         char *errbuf)
{
	one_ctxvar *out = NULL;
	size_t cnt = 0;
	int lineno = 0;
	th_err e = TH_OK;

	*vars = NULL;
	*n = 0;
	while (*text != '\0') {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		lineno++;
		if (len > 0 && text[len - 1] == '\r')
			len--;
		if (len > 0 && text[0] != '#') {
			if (cnt >= ONE_CTX_MAX) {
				e = th_seterr(errbuf, TH_ERR_TOOBIG, "%s: more than %d variables",
				              what, ONE_CTX_MAX);
				break;
			}
			if (out == NULL) {
				out = calloc(ONE_CTX_MAX, sizeof *out);
				if (out == NULL) {
					e = th_seterr(errbuf, TH_ERR_NOMEM, "%s: out of memory",
					              what);
					break;
				}
			}
			e = ctx_line(text, len, what, lineno, &out[cnt], errbuf);
			if (e != TH_OK)
				break;
			cnt++;
		}
		text += nl ? (size_t)(nl - text) + 1 : strlen(text);
	}
	if (e != TH_OK) {
		free(out);
		return e;
	}
	*vars = out;
	*n = cnt;
	return TH_OK;
}

const char *one_context_get(const one_ctxvar *vars, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(vars[i].name, name) == 0)
			return vars[i].value;
	return NULL;
}
