/* oneway-io.h — the socket and file plumbing shared by `send` and `receive`: ADDR:PORT
 * parsing, the key file, and the HMAC of one-way packets. */
#ifndef TH_AGENT_ONEWAY_IO_H
#define TH_AGENT_ONEWAY_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "probe-hmac.h"
#include "th-error.h"

/* "ADDR:PORT" or "[IPv6]:PORT" (numeric or resolvable host; th_addr_parse()'s rules, an
 * unbracketed IPv6 address with a port is refused) into a socket address. */
th_err th_ow_parse_addr(const char *opt, const char *val, struct sockaddr_storage *ss,
                        socklen_t *len, char *errbuf);

/* Load a shared key file (its exact bytes, as th_key_load() reads them for probe/reflect) into
 * h. */
th_err th_ow_load_key(const char *path, th_hmac *h, char *errbuf);

/* Append the tag to a 40-byte header in buf (buf has room for TH_OW_MAX_LEN bytes). */
void th_ow_sign(const th_hmac *h, uint8_t *buf);

/* True when a TH_OW_MAX_LEN-byte datagram carries a valid tag. */
bool th_ow_verify(const th_hmac *h, const uint8_t *buf);

#endif
