/* th-addr.h — the one reader of network addresses as users write them (DESIGN §5.7): every
 * "--target", "--listen" and the plugin's <Target> Address go through these rules, so the agent,
 * the plugin and the trigger accept and refuse exactly the same addresses.
 *
 * Rules:
 * - HOST:PORT with HOST a name or an IPv4 address, [IPv6]:PORT with the IPv6 address (and an
 *   optional %zone) in brackets. An IPv6 address with a port and no brackets ("fe80::1:7300")
 *   is refused: which colon starts the port is a guess.
 * - A host given alone (no port) may be a name, an IPv4 address, or an IPv6 address with or
 *   without brackets; anything carrying a port is refused.
 * - Names and IPv4 addresses: A-Z a-z 0-9 . - _, not starting with "-". IPv6: what inet_pton()
 *   reads, zone A-Z a-z 0-9 . - _.
 * - PORT: 1 to 5 decimal digits, 1..65535. Hosts hold at most TH_HOST_MAX - 1 bytes.
 * Pure: nothing is resolved here (getaddrinfo() is the caller's).
 */
#ifndef TH_ADDR_H
#define TH_ADDR_H

#include <stddef.h>

#include "th-error.h"

#define TH_HOST_MAX 256                             /* host, NUL included (brackets not stored) */
#define TH_PORT_MAX 16                              /* port as text, NUL included */
#define TH_ADDR_MAX (TH_HOST_MAX + TH_PORT_MAX + 3) /* "[" host "]:" port, NUL included */

/* Host and port of an address, host without brackets, port in canonical decimal. */
typedef struct th_addr {
	char host[TH_HOST_MAX];
	char port[TH_PORT_MAX];
} th_addr;

/* Parse "HOST:PORT", "IPv4:PORT" or "[IPv6]:PORT" into out. Fails with TH_ERR_INVALID, the
 * message starting with what and the input ("--target \"fe80::1:7300\": ..."). */
th_err th_addr_parse(const char *what, const char *spec, th_addr *out, char *errbuf);

/* Check a host given without a port (name, IPv4, IPv6 bare or bracketed) and copy it, without
 * brackets, into out (TH_HOST_MAX bytes). TH_ERR_INVALID naming what and host otherwise. */
th_err th_addr_host(const char *what, const char *host, char out[TH_HOST_MAX], char *errbuf);

/* Check a port given alone ("7300") and copy it in canonical decimal into out (TH_PORT_MAX
 * bytes). TH_ERR_INVALID naming what and port otherwise. */
th_err th_addr_port(const char *what, const char *port, char out[TH_PORT_MAX], char *errbuf);

/* Write host and port as an address th_addr_parse() reads back ("[fe80::1]:7300" for IPv6).
 * TH_ERR_TOOBIG when it does not fit in size bytes. */
th_err th_addr_format(const char *host, const char *port, char *out, size_t size, char *errbuf);

#endif
