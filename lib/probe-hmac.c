/* probe-hmac.c — HMAC-SHA256 of probe packets with libsodium. */
#include "themis-config.h"

#include <string.h>

#include "probe-hmac.h"

th_err th_hmac_init(th_hmac *h, const uint8_t *key, size_t len, char *errbuf)
{
	if (sodium_init() < 0)
		return th_seterr(errbuf, TH_ERR_STATE, "libsodium could not be initialised");
	if (len < 32)
		return th_seterr(errbuf, TH_ERR_INVALID, "key has %zu bytes, at least 32 needed",
		                 len);
	crypto_auth_hmacsha256_init(&h->keyed, key, len);
	return TH_OK;
}

void th_hmac_tag(const th_hmac *h, const uint8_t *msg, size_t len, uint8_t tag[TH_HMAC_LEN])
{
	crypto_auth_hmacsha256_state st = h->keyed;

	crypto_auth_hmacsha256_update(&st, msg, len);
	crypto_auth_hmacsha256_final(&st, tag);
	sodium_memzero(&st, sizeof st);
}

bool th_hmac_verify(const th_hmac *h, const uint8_t *msg, size_t len,
                    const uint8_t tag[TH_HMAC_LEN])
{
	uint8_t want[TH_HMAC_LEN];
	bool ok;

	th_hmac_tag(h, msg, len, want);
	ok = sodium_memcmp(want, tag, TH_HMAC_LEN) == 0;
	sodium_memzero(want, sizeof want);
	return ok;
}

void th_hmac_clear(th_hmac *h)
{
	sodium_memzero(h, sizeof *h);
}
