/* one-resp.c — OpenNebula reply arrays and XML-RPC faults to th_err + message, and the check of
 * raw response bodies that keeps xmlrpc-c away from what crashes it or blows up its memory. */
#include "themis-config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "one-names.h"
#include "one-resp.h"

void one_reply_free(one_reply *r)
{
	free(r->str);
	r->str = NULL;
}

static th_err one_code_err(int code)
{
	switch (code) {
	case ONE_E_AUTHENTICATION:
	case ONE_E_AUTHORIZATION:
		return TH_ERR_AUTH;
	case ONE_E_NO_EXISTS:
		return TH_ERR_NOTFOUND;
	case ONE_E_ACTION:
	case ONE_E_LOCKED:
		return TH_ERR_STATE;
	default:
		return TH_ERR_REMOTE;
	}
}

/* "[one.vm.migrate] Migrate action …" → "Migrate action …" */
static const char *one_strip_prefix(const char *msg)
{
	const char *p;

	if (msg[0] == '[' && (p = strstr(msg, "] ")) != NULL)
		return p + 2;
	return msg;
}

static th_err one_item_int(xmlrpc_env *env, xmlrpc_value *v, int i, int *out)
{
	xmlrpc_value *it = NULL;
	xmlrpc_int32 x;
	xmlrpc_bool b;

	xmlrpc_array_read_item(env, v, i, &it);
	if (env->fault_occurred)
		return TH_ERR_PARSE;
	switch (xmlrpc_value_type(it)) {
	case XMLRPC_TYPE_INT:
		xmlrpc_read_int(env, it, &x);
		*out = x;
		break;
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 y;
		xmlrpc_read_i8(env, it, &y);
		*out = (int)y;
		break;
	}
	case XMLRPC_TYPE_BOOL:
		xmlrpc_read_bool(env, it, &b);
		*out = b;
		break;
	default:
		xmlrpc_DECREF(it);
		return TH_ERR_PARSE;
	}
	xmlrpc_DECREF(it);
	return env->fault_occurred ? TH_ERR_PARSE : TH_OK;
}

th_err one_reply_read(const char *method, xmlrpc_value *v, one_reply *out, char *errbuf)
{
	xmlrpc_env env;
	xmlrpc_value *it = NULL;
	xmlrpc_bool okb;
	int n;
	th_err e;

	memset(out, 0, sizeof *out);
	out->resp_id = -1;
	if (v == NULL || xmlrpc_value_type(v) != XMLRPC_TYPE_ARRAY)
		return th_seterr(errbuf, TH_ERR_PARSE, "%s: reply is not an array", method);
	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, v);
	if (env.fault_occurred || n < 3) {
		xmlrpc_env_clean(&env);
		return th_seterr(errbuf, TH_ERR_PARSE,
		                 "%s: reply array has %d items, expected 3 to 5", method, n);
	}
	/* item 0: success flag */
	xmlrpc_array_read_item(&env, v, 0, &it);
	if (env.fault_occurred || xmlrpc_value_type(it) != XMLRPC_TYPE_BOOL) {
		if (it != NULL)
			xmlrpc_DECREF(it);
		xmlrpc_env_clean(&env);
		return th_seterr(errbuf, TH_ERR_PARSE, "%s: reply item 0 is not a boolean", method);
	}
	xmlrpc_read_bool(&env, it, &okb);
	xmlrpc_DECREF(it);
	out->ok = okb;
	/* item 2: code */
	if (one_item_int(&env, v, 2, &out->code) != TH_OK) {
		xmlrpc_env_clean(&env);
		return th_seterr(errbuf, TH_ERR_PARSE,
		                 "%s: reply item 2 (error code) is not an int", method);
	}
	if (n >= 4 && one_item_int(&env, v, 3, &out->resp_id) != TH_OK) {
		xmlrpc_env_clean(&env);
		xmlrpc_env_init(&env);
		out->resp_id = -1;
	}
	/* item 1: string, int or bool */
	it = NULL;
	xmlrpc_array_read_item(&env, v, 1, &it);
	if (env.fault_occurred) {
		xmlrpc_env_clean(&env);
		return th_seterr(errbuf, TH_ERR_PARSE, "%s: reply item 1 unreadable", method);
	}
	switch (xmlrpc_value_type(it)) {
	case XMLRPC_TYPE_STRING: {
		const char *s = NULL;
		xmlrpc_read_string(&env, it, &s);
		if (!env.fault_occurred) {
			out->str = strdup(s);
			free((void *)s);
		}
		break;
	}
	case XMLRPC_TYPE_INT:
	case XMLRPC_TYPE_I8:
	case XMLRPC_TYPE_BOOL:
		xmlrpc_DECREF(it);
		it = NULL;
		one_item_int(&env, v, 1, &out->ival);
		out->is_int = true;
		break;
	default:
		break;
	}
	if (it != NULL)
		xmlrpc_DECREF(it);
	if (env.fault_occurred) {
		xmlrpc_env_clean(&env);
		one_reply_free(out);
		return th_seterr(errbuf, TH_ERR_PARSE, "%s: reply item 1 unreadable", method);
	}
	xmlrpc_env_clean(&env);
	if (out->ok)
		return TH_OK;
	e = one_code_err(out->code);
	th_seterr(errbuf, e, "%s: %s (OpenNebula error %s 0x%x)", method,
	          out->str != NULL ? one_strip_prefix(out->str) : "(no message)",
	          one_error_name(out->code), (unsigned)out->code);
	one_reply_free(out); /* the message is in errbuf */
	return e;
}

th_err one_fault(const char *method, const char *url, int code, const char *string, char *errbuf)
{
	const char *s = string != NULL ? string : "";

	switch (code) {
	case XMLRPC_NETWORK_ERROR: /* -504 */
		return th_seterr(errbuf, TH_ERR_NET, "%s: cannot reach OpenNebula at %s: %s",
		                 method, url, s);
	case XMLRPC_TYPE_ERROR: /* -501 */
		return th_seterr(
		    errbuf, TH_ERR_INVALID,
		    "%s: server at %s rejected the parameters (XML-RPC fault -501: %s)", method,
		    url, s);
	case XMLRPC_NO_SUCH_METHOD_ERROR: /* -506 */
		return th_seterr(errbuf, TH_ERR_REMOTE,
		                 "%s: server at %s does not know this method (XML-RPC fault -506: "
		                 "%s); is it an OpenNebula endpoint?",
		                 method, url, s);
	default:
		return th_seterr(errbuf, TH_ERR_REMOTE, "%s: XML-RPC fault %d from %s: %s", method,
		                 code, url, s);
	}
}

/* Text xmlrpc-c's <i8> parser takes without faulting: [+-]digits within int64. Its fault path
 * formats a message with an argument missing, so anything else crashes the process. */
static bool one_i8_ok(const char *s, size_t n)
{
	char buf[24];
	size_t i = 0, d;
	long long v;

	if (n == 0)
		return true; /* xmlrpc-c reports an empty <i8> itself */
	if (s[0] == '+' || s[0] == '-')
		i = 1;
	if (i == n)
		return false;
	for (d = i; d < n; d++)
		if (!isdigit((unsigned char)s[d]))
			return false;
	while (i < n - 1 && s[i] == '0')
		i++;
	if (n - i > 19)
		return false;
	buf[0] = s[0] == '-' ? '-' : '+';
	memcpy(buf + 1, s + i, n - i);
	buf[n - i + 1] = '\0';
	errno = 0;
	v = strtoll(buf, NULL, 10);
	(void)v;
	return errno == 0;
}

th_err one_resp_check(const char *method, const char *xml, size_t len, char *errbuf)
{
	const char *p = xml, *end = xml + len;

	/* xmlrpc-c's parser expands internal entities without limit (a 1 KiB reply can become
	 * gigabytes): no DTD gets to it. "<!DOCTYPE" cannot occur elsewhere in a well-formed
	 * reply but in a comment or CDATA, which OpenNebula does not send either; a document
	 * string (a user's template included) arrives escaped, "&lt;!DOCTYPE". */
	if (memmem(xml, len, "<!DOCTYPE", 9) != NULL)
		return th_seterr(errbuf, TH_ERR_PARSE,
		                 "%s: reply has a document type declaration (<!DOCTYPE>): refused, "
		                 "its entities could expand without bound",
		                 method);

	while (p < end && (p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		const char *q = p + 1, *gt, *t, *lt;

		p++;
		if (end - q >= 3 && memcmp(q, "ex:", 3) == 0)
			q += 3;
		if (end - q < 3 || q[0] != 'i' || q[1] != '8' ||
		    !(q[2] == '>' || q[2] == '/' || isspace((unsigned char)q[2])))
			continue;
		if ((gt = memchr(q, '>', (size_t)(end - q))) == NULL)
			break; /* not well-formed: xmlrpc-c refuses it before any value */
		if (gt[-1] == '/')
			continue; /* <i8/> */
		t = gt + 1;
		if ((lt = memchr(t, '<', (size_t)(end - t))) == NULL)
			break;
		/* strict: comments, CDATA and references inside the value are refused too */
		if (end - lt < 2 || lt[1] != '/' || !one_i8_ok(t, (size_t)(lt - t)))
			return th_seterr(
			    errbuf, TH_ERR_PARSE,
			    "%s: reply has an <i8> value that is not a 64-bit integer: "
			    "\"%.*s\"",
			    method, (int)(lt - t < 40 ? lt - t : 40), t);
		p = lt;
	}
	return TH_OK;
}
