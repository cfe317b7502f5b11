/* th-addr.c — the address rules of th-addr.h: splitting HOST:PORT and [IPv6]:PORT, checking
 * hosts and ports given apart, writing an address back. */
#include "themis-config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "th-addr.h"

#define ADDR_PORT_DIGITS 5

static bool addr_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* A host name or IPv4 address of n bytes. */
static bool addr_name_ok(const char *s, size_t n)
{
	if (n == 0 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!addr_name_char(s[i]))
			return false;
	return true;
}

/* An IPv6 address of n bytes, optionally followed by %zone. */
static bool addr_v6_ok(const char *s, size_t n)
{
	char lit[INET6_ADDRSTRLEN];
	struct in6_addr a;
	const char *pct = memchr(s, '%', n);
	size_t ln = pct != NULL ? (size_t)(pct - s) : n;

	if (ln == 0 || ln >= sizeof lit)
		return false;
	if (pct != NULL && !addr_name_ok(pct + 1, n - ln - 1))
		return false;
	memcpy(lit, s, ln);
	lit[ln] = '\0';
	return inet_pton(AF_INET6, lit, &a) == 1;
}

/* n bytes of decimal port, 1..65535, into *v. */
static bool addr_port_ok(const char *s, size_t n, long *v)
{
	long x = 0;

	if (n == 0 || n > ADDR_PORT_DIGITS)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return x >= 1 && x <= 65535;
}

th_err th_addr_parse(const char *what, const char *spec, th_addr *out, char *errbuf)
{
	size_t n = strnlen(spec, TH_ADDR_MAX), hl;
	const char *host, *port;
	long pn;

	if (n >= TH_ADDR_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s \"%.40s...\": longer than %d bytes",
		                 what, spec, TH_ADDR_MAX - 1);
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL || close[1] != ':')
			return th_seterr(errbuf, TH_ERR_INVALID, "%s \"%s\": expected [IPv6]:PORT",
			                 what, spec);
		host = spec + 1;
		hl = (size_t)(close - host);
		port = close + 2;
		if (hl >= TH_HOST_MAX)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%.40s...\": host longer than %d bytes", what, spec,
			                 TH_HOST_MAX - 1);
		if (!addr_v6_ok(host, hl))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%s\": \"%.*s\" in brackets is not an IPv6 address",
			                 what, spec, (int)hl, host);
	} else {
		const char *colon = strchr(spec, ':');
		if (colon == NULL)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%s\": expected ADDR:PORT (IPv6 as [ADDR]:PORT)",
			                 what, spec);
		if (strchr(colon + 1, ':') != NULL)
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "%s \"%s\" is ambiguous: write an IPv6 address in brackets, "
			    "[ADDR]:PORT",
			    what, spec);
		host = spec;
		hl = (size_t)(colon - spec);
		port = colon + 1;
		if (hl == 0)
			return th_seterr(errbuf, TH_ERR_INVALID, "%s \"%s\": host missing", what,
			                 spec);
		if (hl >= TH_HOST_MAX)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%.40s...\": host longer than %d bytes", what, spec,
			                 TH_HOST_MAX - 1);
		if (!addr_name_ok(host, hl))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%s\": \"%.*s\" is not a host name or IPv4 address "
			                 "(A-Z a-z 0-9 . - _)",
			                 what, spec, (int)hl, host);
	}
	if (!addr_port_ok(port, strlen(port), &pn))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s \"%s\": port must be 1..65535", what,
		                 spec);
	memcpy(out->host, host, hl);
	out->host[hl] = '\0';
	snprintf(out->port, sizeof out->port, "%ld", pn);
	return TH_OK;
}

th_err th_addr_host(const char *what, const char *host, char out[TH_HOST_MAX], char *errbuf)
{
	size_t n = strnlen(host, TH_HOST_MAX + 2);
	const char *h = host;
	size_t hl = n;

	if (n == 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s \"\": host missing", what);
	if (n >= TH_HOST_MAX + 2) /* longer than any host, with brackets or without */
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s \"%.40s...\": host longer than %d bytes", what, host,
		                 TH_HOST_MAX - 1);
	if (host[0] == '[') {
		if (n < 2 || host[n - 1] != ']')
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%s\": expected a host without a port (a name, an "
			                 "IPv4 address, an IPv6 address bare or in brackets)",
			                 what, host);
		h = host + 1;
		hl = n - 2;
	}
	if (hl >= TH_HOST_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s \"%.40s...\": host longer than %d bytes", what, host,
		                 TH_HOST_MAX - 1);
	if (h != host) {
		if (!addr_v6_ok(h, hl))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%s\": \"%.*s\" in brackets is not an IPv6 address",
			                 what, host, (int)hl, h);
	} else if (memchr(h, ':', hl) != NULL) {
		if (!addr_v6_ok(h, hl))
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%s\": expected a host without a port (a name, an "
			                 "IPv4 address, an IPv6 address bare or in brackets)",
			                 what, host);
	} else if (!addr_name_ok(h, hl)) {
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s \"%s\": not a host name or IPv4 address (A-Z a-z 0-9 . - _)",
		                 what, host);
	}
	memcpy(out, h, hl);
	out[hl] = '\0';
	return TH_OK;
}

th_err th_addr_port(const char *what, const char *port, char out[TH_PORT_MAX], char *errbuf)
{
	long pn;

	if (!addr_port_ok(port, strnlen(port, ADDR_PORT_DIGITS + 1), &pn))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s port \"%s\": must be 1..65535", what,
		                 port);
	snprintf(out, TH_PORT_MAX, "%ld", pn);
	return TH_OK;
}

th_err th_addr_format(const char *host, const char *port, char *out, size_t size, char *errbuf)
{
	bool v6 = strchr(host, ':') != NULL;
	int k = snprintf(out, size, v6 ? "[%s]:%s" : "%s:%s", host, port);

	if (k < 0 || (size_t)k >= size)
		return th_seterr(errbuf, TH_ERR_TOOBIG,
		                 "address of host \"%s\" port %s is longer "
		                 "than %zu bytes",
		                 host, port, size - 1);
	return TH_OK;
}
