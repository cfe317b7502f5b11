/* probe-hmac.h — per-packet authentication of probes and echoes: HMAC-SHA256 (libsodium) with a
 * shared key of at least 32 bytes. The key is absorbed once; each packet costs two hash blocks.
 */
#ifndef TH_PROBE_HMAC_H
#define TH_PROBE_HMAC_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th-error.h"

#define TH_HMAC_LEN 32

typedef struct th_hmac {
	crypto_auth_hmacsha256_state keyed; /* state after absorbing the key */
} th_hmac;

/* Prepare h for key (len >= 32 bytes). */
th_err th_hmac_init(th_hmac *h, const uint8_t *key, size_t len, char *errbuf);

/* tag = HMAC(key, msg). */
void th_hmac_tag(const th_hmac *h, const uint8_t *msg, size_t len, uint8_t tag[TH_HMAC_LEN]);

/* True when tag is HMAC(key, msg) (constant-time comparison). */
bool th_hmac_verify(const th_hmac *h, const uint8_t *msg, size_t len,
                    const uint8_t tag[TH_HMAC_LEN]);

/* Wipe the key material. */
void th_hmac_clear(th_hmac *h);

#endif
