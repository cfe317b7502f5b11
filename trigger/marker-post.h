/* marker-post.h — delivers markers to the collectd plugin (POST /v1/markers, bearer token) from
 * a background thread. Enqueueing never blocks on the network: while the plugin is unreachable
 * markers wait in memory (they are in the journal anyway) and are re-sent, oldest first, with a
 * growing pause (0.25 s doubling to 5 s); a TLS failure (an unknown CA, a refused client
 * certificate) is one more reason to wait and re-send. */
#ifndef TH_TRIGGER_MARKER_POST_H
#define TH_TRIGGER_MARKER_POST_H

#include <stdbool.h>
#include <stddef.h>

#include "th-error.h"

typedef struct marker_post marker_post;

/* TLS files for an https:// plugin URL (NULL or "" each: not given). Certificate verification
 * is always on: cacert replaces the system CA store; cert and key (both or neither) present a
 * client certificate. */
typedef struct marker_post_tls {
	const char *cacert, *cert, *key;
} marker_post_tls;

/* url: the plugin's base URL ("http://host:port") or the full ".../v1/markers" URL.
 * token: bearer token or NULL. tls: NULL or the files above, which must be readable. */
th_err marker_post_start(marker_post **mp, const char *url, const char *token,
                         const marker_post_tls *tls, char *errbuf);

/* Queue one marker (a JSON object); copies it. */
th_err marker_post_enqueue(marker_post *mp, const char *json, char *errbuf);

/* Queue n markers so that they leave in one POST (unless the queue already holds others, which
 * go first in the same body); copies them. All or none are queued. */
th_err marker_post_enqueue_batch(marker_post *mp, const char *const *json, size_t n, char *errbuf);

/* Markers queued and not yet accepted; *failing tells whether the last attempt failed, with its
 * reason copied into why (TH_ERRLEN bytes, may be NULL). */
size_t marker_post_pending(marker_post *mp, bool *failing, char *why);

/* Markers delivered / dropped (refused by the plugin with 400/413) so far. */
size_t marker_post_delivered(marker_post *mp);
size_t marker_post_dropped(marker_post *mp);

/* Try to deliver what is queued for at most flush_ms more, then stop the thread and free.
 * Returns the number of markers left undelivered. */
size_t marker_post_stop(marker_post *mp, int flush_ms);

/* The full URL of path ("/v1/markers", "/v1/records") for a base URL: path added unless the
 * base's path already ends with it, before the base's query string if it has one. */
th_err marker_post_url(const char *base, const char *path, char *out, size_t size, char *errbuf);

#endif
