/*
 * tlsutil.h - TLS helpers shared by the master, the agent and the CLI
 * (docs/security.md, "TLS"): public-key pins, how the agent and the CLI
 * recognise a master whose certificate no public CA vouches for, and the
 * loopback test behind "plain http/ws only when explicitly allowed".
 *
 * A pin is the SHA-256 of the certificate's DER SubjectPublicKeyInfo, the
 * value curl's --pinnedpubkey takes. It is written "sha256//<base64>"
 * (canonical: what the master logs and puts in cloud-configs, usable with
 * curl as is) or "sha256:<64 hex>"; both parse to the same 32 bytes.
 * Pure functions over libcrypto; safe on any thread.
 */
#ifndef BERTH_TLSUTIL_H
#define BERTH_TLSUTIL_H

#include <openssl/x509.h>

#define TLSUTIL_PIN_LEN		32		/* SHA-256 */
#define TLSUTIL_PIN_STRLEN	(8 + 44 + 1)	/* "sha256//", base64, NUL */

/* Parse either form into pin. 0, or -1 when s is neither. */
int	 tlsutil_pin_parse(const char *s,
	    unsigned char pin[TLSUTIL_PIN_LEN]);
/* The pin of a certificate's public key. 0, or -1 if it has none. */
int	 tlsutil_pin_of_cert(X509 *x, unsigned char pin[TLSUTIL_PIN_LEN]);
/* "sha256//<base64>" of pin into out. */
void	 tlsutil_pin_format(const unsigned char pin[TLSUTIL_PIN_LEN],
	    char out[TLSUTIL_PIN_STRLEN]);

/*
 * 1 if host (as written in a URL, without brackets) is a loopback address:
 * "localhost", 127.0.0.0/8 or ::1. Names are not resolved.
 */
int	 tlsutil_host_loopback(const char *host);

#endif
