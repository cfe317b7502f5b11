/* th-name.c — the name rule for VM names and stream ids (see th-name.h). */
#include "themis-config.h"

#include <stdio.h>
#include <string.h>

#include "th-name.h"

#define TH_NAME_RULE "1-63 of A-Z a-z 0-9 . _ : -, starting with a letter, digit or _"

static bool th_name_first(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Length of the valid name at the start of s, ending at NUL or '/'; 0 when not valid. */
static size_t th_name_span(const char *s)
{
	size_t n;

	if (!th_name_first(s[0]))
		return 0;
	for (n = 1; s[n] != '\0' && s[n] != '/'; n++)
		if (!th_name_first(s[n]) && s[n] != '.' && s[n] != ':' && s[n] != '-')
			return 0;
	return n <= TH_NAME_LEN_MAX ? n : 0;
}

bool th_name_ok(const char *s)
{
	size_t n = th_name_span(s);

	return n > 0 && s[n] == '\0';
}

bool th_stream_id_ok(const char *s)
{
	size_t n, total = 0;

	for (;;) {
		if ((n = th_name_span(s + total)) == 0)
			return false;
		total += n;
		if (s[total] == '\0')
			return total <= TH_STREAM_ID_MAX;
		total++; /* the '/' */
	}
}

/* s for a message: quotes, backslashes and control bytes escaped, cut after 40 bytes. */
static void th_name_show(const char *s, char *out, size_t size)
{
	size_t o = 0, i;

	for (i = 0; s[i] != '\0' && i < 40 && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, size - o, "\\%c", c);
		else if (c == '\n')
			o += (size_t)snprintf(out + o, size - o, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (s[i] != '\0' && o + 4 < size)
		o += (size_t)snprintf(out + o, size - o, "...");
	out[o] = '\0';
}

th_err th_name_check(const char *field, const char *s, char *errbuf)
{
	char show[200];

	if (th_name_ok(s))
		return TH_OK;
	th_name_show(s, show, sizeof show);
	return th_seterr(errbuf, TH_ERR_INVALID,
	                 "%s: \"%s\" is not a valid name (" TH_NAME_RULE ")", field, show);
}

th_err th_stream_id_check(const char *field, const char *s, char *errbuf)
{
	char show[200];

	if (th_stream_id_ok(s))
		return TH_OK;
	th_name_show(s, show, sizeof show);
	return th_seterr(errbuf, TH_ERR_INVALID,
	                 "%s: \"%s\" is not a valid stream id (names of " TH_NAME_RULE
	                 ", joined by /, at most 127 bytes)",
	                 field, show);
}
