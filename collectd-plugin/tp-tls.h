/* tp-tls.h — TLS settings of the ingest endpoint (TLSCertFile, TLSKeyFile, TLSCAFile,
 * TLSPriorities; collectd-themis(5)). */
#ifndef TH_PLUGIN_TP_TLS_H
#define TH_PLUGIN_TP_TLS_H

#include <stdbool.h>

#include "th-error.h"

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

#endif
