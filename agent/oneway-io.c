/* oneway-io.c — socket and file plumbing of the one-way mode (see oneway-io.h). */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oneway-io.h"
#include "oneway-wire.h"
#include "probe-engine.h"
#include "th-addr.h"

th_err th_ow_parse_addr(const char *opt, const char *val, struct sockaddr_storage *ss,
                        socklen_t *len, char *errbuf)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV},
	                *res = NULL;
	th_addr a;
	th_err e = th_addr_parse(opt, val, &a, errbuf); /* the same rules as probe and reflect */
	int rc;

	if (e != TH_OK)
		return e;
	rc = getaddrinfo(a.host, a.port, &hints, &res);
	if (rc != 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s \"%s\": %s", opt, val,
		                 gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return TH_OK;
}

th_err th_ow_load_key(const char *path, th_hmac *h, char *errbuf)
{
	uint8_t key[TH_KEY_MAX];
	size_t n;
	th_err e = th_key_load(path, key, &n, errbuf); /* the same key files as probe/reflect */

	if (e == TH_OK)
		e = th_hmac_init(h, key, n, errbuf);
	sodium_memzero(key, sizeof key);
	return e;
}

void th_ow_sign(const th_hmac *h, uint8_t *buf)
{
	th_hmac_tag(h, buf, TH_OW_HDR_LEN, buf + TH_OW_HDR_LEN);
}

bool th_ow_verify(const th_hmac *h, const uint8_t *buf)
{
	return th_hmac_verify(h, buf, TH_OW_HDR_LEN, buf + TH_OW_HDR_LEN);
}
