/* tp-tls.c — the ingest endpoint's TLS settings: reading the PEM files named by TLSCertFile,
 * TLSKeyFile and TLSCAFile, and checking them (and TLSPriorities) at configuration time, so a
 * bad file is a configuration error naming it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tp-tls.h"

#define TP_TLS_FILE_MAX (1 << 20)

bool tp_tls_enabled(const tp_tls *t)
{
	return t != NULL && t->cert_file != NULL;
}

/* Read a whole PEM file of at most TP_TLS_FILE_MAX bytes into *out (NUL-terminated). */
static th_err tp_tls_read(const char *opt, const char *path, char **out, char *errbuf)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL)
		return th_seterr(errbuf, TH_ERR_IO, "%s %s: %s", opt, path, strerror(errno));
	if ((buf = malloc(TP_TLS_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return th_seterr(errbuf, TH_ERR_NOMEM, "%s %s: out of memory", opt, path);
	}
	n = fread(buf, 1, TP_TLS_FILE_MAX + 1, f);
	if (ferror(f) || n > TP_TLS_FILE_MAX || n == 0) {
		int err = ferror(f) ? errno : 0;

		fclose(f);
		free(buf);
		return th_seterr(errbuf, n > TP_TLS_FILE_MAX ? TH_ERR_TOOBIG : TH_ERR_IO,
		                 "%s %s: %s", opt, path,
		                 err                   ? strerror(err)
		                 : n > TP_TLS_FILE_MAX ? "larger than 1 MiB"
		                                       : "empty file");
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	return TH_OK;
}

static gnutls_datum_t tp_tls_datum(char *pem)
{
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};

	return d;
}

/* The files parse on their own, then the key matches the certificate. */
static th_err tp_tls_check_pair(const tp_tls *t, char *errbuf)
{
	gnutls_datum_t cd = tp_tls_datum(t->cert_pem), kd = tp_tls_datum(t->key_pem);
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_certificate_credentials_t cred = NULL;
	th_err e = TH_OK;
	int rc;

	if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_certificate_allocate_credentials(&cred) < 0)
		e = th_seterr(errbuf, TH_ERR_NOMEM, "TLS: out of memory");
	else if ((rc = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM)) < 0)
		e = th_seterr(errbuf, TH_ERR_INVALID, "TLSCertFile %s: not a PEM certificate (%s)",
		              t->cert_file, gnutls_strerror(rc));
	else if ((rc = gnutls_x509_privkey_import2(key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		e = th_seterr(errbuf, TH_ERR_INVALID,
		              "TLSKeyFile %s: not an unencrypted PEM private key (%s)", t->key_file,
		              gnutls_strerror(rc));
	else if ((rc = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM,
	                                                    NULL, 0)) < 0)
		e = th_seterr(errbuf, TH_ERR_INVALID,
		              rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH
		                  ? "TLSKeyFile %s does not match TLSCertFile %s (%s)"
		                  : "TLSKeyFile %s with TLSCertFile %s: %s",
		              t->key_file, t->cert_file, gnutls_strerror(rc));
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return e;
}

static th_err tp_tls_check_ca(const tp_tls *t, char *errbuf)
{
	gnutls_datum_t ad = tp_tls_datum(t->ca_pem);
	gnutls_certificate_credentials_t cred;
	int rc;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return th_seterr(errbuf, TH_ERR_NOMEM, "TLS: out of memory");
	rc = gnutls_certificate_set_x509_trust_mem(cred, &ad, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (rc <= 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "TLSCAFile %s: no PEM certificate (%s)",
		                 t->ca_file, rc < 0 ? gnutls_strerror(rc) : "none found");
	return TH_OK;
}

static th_err tp_tls_check_priorities(const char *prio, char *errbuf)
{
	gnutls_priority_t p;
	const char *where = NULL;
	int rc = gnutls_priority_init(&p, prio, &where);

	if (rc < 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "TLSPriorities \"%s\": %s%s%s", prio,
		                 gnutls_strerror(rc), where ? " at " : "", where ? where : "");
	gnutls_priority_deinit(p);
	return TH_OK;
}

th_err tp_tls_load(tp_tls *t, char *errbuf)
{
	char **pem[] = {&t->cert_pem, &t->key_pem, &t->ca_pem};
	th_err e;

	for (size_t i = 0; i < sizeof pem / sizeof pem[0]; i++) { /* a second block reads anew */
		free(*pem[i]);
		*pem[i] = NULL;
	}

	if (t->cert_file == NULL && t->key_file == NULL) {
		if (t->ca_file != NULL || t->priorities != NULL)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s needs TLSCertFile and TLSKeyFile",
			                 t->ca_file ? "TLSCAFile" : "TLSPriorities");
		return TH_OK;
	}
	if (t->cert_file == NULL || t->key_file == NULL)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s needs %s as well",
		                 t->cert_file ? "TLSCertFile" : "TLSKeyFile",
		                 t->cert_file ? t->cert_file : t->key_file,
		                 t->cert_file ? "TLSKeyFile" : "TLSCertFile");
	if ((e = tp_tls_read("TLSCertFile", t->cert_file, &t->cert_pem, errbuf)) != TH_OK ||
	    (e = tp_tls_read("TLSKeyFile", t->key_file, &t->key_pem, errbuf)) != TH_OK ||
	    (e = tp_tls_check_pair(t, errbuf)) != TH_OK)
		return e;
	if (t->ca_file != NULL &&
	    ((e = tp_tls_read("TLSCAFile", t->ca_file, &t->ca_pem, errbuf)) != TH_OK ||
	     (e = tp_tls_check_ca(t, errbuf)) != TH_OK))
		return e;
	if (t->priorities == NULL && (t->priorities = strdup(TP_TLS_PRIORITIES)) == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "TLS: out of memory");
	return tp_tls_check_priorities(t->priorities, errbuf);
}

void tp_tls_free(tp_tls *t)
{
	char **all[] = {&t->cert_file, &t->key_file, &t->ca_file, &t->priorities,
	                &t->cert_pem,  &t->key_pem,  &t->ca_pem};

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (*all[i] != NULL && all[i] == &t->key_pem)
			memset(*all[i], 0, strlen(*all[i]));
		free(*all[i]);
		*all[i] = NULL;
	}
}
