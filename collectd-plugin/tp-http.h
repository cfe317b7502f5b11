/* tp-http.h — the ingest endpoint's transport: a libmicrohttpd daemon with its own thread pool
 * that collects request bodies (bounded) and hands each request to tp_ingest_handle(); with a
 * certificate and key it speaks HTTPS only (GnuTLS), and with a CA it refuses clients that do not
 * present a certificate that CA signed. */
#ifndef TP_HTTP_H
#define TP_HTTP_H

#include "th-error.h"
#include "tp-ingest.h"

typedef struct tp_http tp_http;

/* The default GnuTLS priority string: TLS 1.2 and 1.3 only. */
#define TP_TLS_PRIORITIES "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-DTLS-ALL"

/* TLS settings: the file names as configured and their contents (PEM). */
typedef struct tp_tls {
	char *cert_file, *key_file, *ca_file; /* NULL: not configured */
	char *priorities;                     /* NULL: TP_TLS_PRIORITIES */
	char *cert_pem, *key_pem, *ca_pem;    /* filled by tp_tls_load() */
} tp_tls;

/* True when t asks for HTTPS (a certificate file is configured). t may be NULL. */
bool tp_tls_enabled(const tp_tls *t);

/* Read the configured files and check them: certificate and key both or neither, each file
 * readable PEM, the key matching the certificate, the CA file holding at least one certificate,
 * the priority string valid. The message names the option and the file. */
th_err tp_tls_load(tp_tls *t, char *errbuf);

/* Free what tp_tls_load() read and the file names; leaves t empty. */
void tp_tls_free(tp_tls *t);

/* Listen on node:service (numeric or names) with `threads` worker threads, over HTTPS when tls
 * is enabled (loaded with tp_tls_load(); NULL or disabled: plain HTTP). `in` and `tls` must
 * outlive the server. */
th_err tp_http_start(tp_http **out, const char *node, const char *service, unsigned threads,
                     const tp_ingest *in, const tp_tls *tls, char *errbuf);

/* Stop accepting, finish requests in flight, free. NULL is fine. */
void tp_http_stop(tp_http *h);

#endif
