/*
 * tls.h - the master's TLS set-up: which certificate it serves, whether it
 * may serve plain http/ws at all, and its public-key pin.
 *
 * tls_setup() runs once on the main thread, after the data dir exists and
 * before the API and the hub start; the result is read-only afterwards.
 * The API (libmicrohttpd, GnuTLS) takes the PEM text, the hub
 * (libwebsockets, OpenSSL) the file paths. docs/security.md, "TLS".
 */
#ifndef BERTH_MASTER_TLS_H
#define BERTH_MASTER_TLS_H

#include "common/tlsutil.h"

#include <stddef.h>

struct master_config;

struct master_tls {
	int	 on;		/* serve https and wss */
	char	*cert_file;	/* PEM certificate (chain) path */
	char	*key_file;	/* PEM private key path */
	char	*cert_pem;	/* cert_file's text */
	char	*key_pem;	/* key_file's text; secret, cleansed on free */
	char	 pin[TLSUTIL_PIN_STRLEN]; /* "sha256//<base64>" of the leaf's key */
	char	 fingerprint[32 * 3]; /* the leaf's SHA-256, "AB:CD:..." */
};

/*
 * Decide and prepare: explicit --tls-cert/--tls-key, or the self-signed
 * pair in <data-dir> (made on first start), or plain (allowed only on
 * loopback listen addresses or with --insecure-plain). 0 with *t filled,
 * or -1 with *cause for the operator.
 */
int	 tls_setup(const struct master_config *cfg, struct master_tls *t,
	    char **cause);
void	 tls_free(struct master_tls *t);

/* 1 if every address host:port names is a loopback address. */
int	 tls_listen_loopback(const char *listen);

#endif
