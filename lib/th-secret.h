/* th-secret.h — the one reader of secret files: bearer tokens (themis-agent --token-file,
 * themis-trigger --token-file, the plugin's TokenFile) and probe keys (--key-file, KeyFile).
 *
 * Rules, the same for every caller: the path must name a regular file (a symlink to one is
 * fine); a file readable by others (mode & S_IROTH, as the OpenNebula auth file) is refused
 * with a message naming the file and its mode, group-readable stays allowed (a collectd group);
 * a file larger than the caller's buffer is refused. TH_SECRET_TEXT strips trailing CR, LF,
 * spaces and tabs and refuses an empty result or a NUL or other control byte inside;
 * TH_SECRET_TOKEN (every bearer token file) also refuses a space anywhere in what is left, as
 * "Authorization: Bearer" carries one word, and is read into a TH_TOKEN_MAX buffer by every
 * part; TH_SECRET_BINARY returns the bytes as they are (the caller checks the length it needs).
 */
#ifndef TH_SECRET_H
#define TH_SECRET_H

#include <stddef.h>

#include "th-error.h"

#define TH_SECRET_BINARY 0u /* bytes as they are */
#define TH_SECRET_TEXT   1u /* one printable line: trailing blanks stripped, NUL-terminated */
#define TH_SECRET_TOKEN  3u /* TH_SECRET_TEXT without a space: a bearer token */

/* The buffer every reader of a token file passes: a file of at most 1024 bytes, a token of at
 * most 1023. */
#define TH_TOKEN_MAX 1024

/* Read the secret file path into buf (cap bytes; in text mode the text and its NUL must fit)
 * and its length into *len. what names the file in messages ("token file", "key file").
 * TH_ERR_NOTFOUND missing, TH_ERR_AUTH readable by everyone, TH_ERR_TOOBIG larger than the
 * buffer, TH_ERR_INVALID not a regular file or (text) empty or holding control bytes or (token)
 * a space, TH_ERR_IO otherwise. */
th_err th_secret_read(const char *path, const char *what, char *buf, size_t cap, size_t *len,
                      unsigned flags, char *errbuf);

#endif
