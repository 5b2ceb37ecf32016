/*
 * tls.c - the master's certificate: load it, or make a self-signed one,
 * and enforce "plain http/ws only when explicitly allowed" (see tls.h).
 *
 * Main thread, start-up only. The self-signed pair is an EC P-256 key and
 * a ten-year certificate (CN berth-master, SANs from --tls-san or the
 * defaults below) written to <data-dir>/tls.key (0600) and tls.crt (0644);
 * later starts reuse them, so the pin agents were given stays valid. The
 * pin and the fingerprint are not secrets and are logged; the key is
 * never logged and its text is cleansed on free.
 */
#include "master/tls.h"
#include "master/config.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TLS_MAX_PEM	(1024 * 1024)
#define TLS_DAYS	3650

int
tls_listen_loopback(const char *listen)
{
	struct addrinfo hints, *ai = NULL, *p;
	char *host = NULL, *cause = NULL;
	int port, ok = 1;

	if (config_split_listen(listen, &host, &port, &cause) != 0) {
		free(cause);
		return 0;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (host[0] == '\0' || getaddrinfo(host, NULL, &hints, &ai) != 0) {
		free(host);
		return 0;		/* "" is every address */
	}
	for (p = ai; p != NULL; p = p->ai_next) {
		if (p->ai_family == AF_INET) {
			const struct sockaddr_in *s4 = (void *)p->ai_addr;

			if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
				ok = 0;
		} else if (p->ai_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (void *)p->ai_addr;

			if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
				ok = 0;
		} else
			ok = 0;
	}
	freeaddrinfo(ai);
	free(host);
	return ok;
}

/* Append one SAN ("IP:" or "DNS:" by its form) unless it is there already. */
static int
tls_san_add(struct buf *b, const char *name, char **cause)
{
	unsigned char a[16];
	char item[300];
	const char *p;

	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(".-:*", *p) != NULL))
			break;
	if (*name == '\0' || *p != '\0' || strlen(name) > 253) {
		xasprintf(cause, "--tls-san: \"%s\" is not a host name or an "
		    "IP address", name);
		return -1;
	}
	if (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1)
		snprintf(item, sizeof item, "IP:%s", name);
	else
		snprintf(item, sizeof item, "DNS:%s", name);
	if (b->data != NULL) {
		size_t n = strlen(item);

		for (p = b->data; (p = strstr(p, item)) != NULL; p += n)
			if ((p == b->data || p[-1] == ',') &&
			    (p[n] == ',' || p[n] == '\0'))
				return 0;
	}
	buf_printf(b, "%s%s", b->len ? "," : "", item);
	return 0;
}

/* The subjectAltName value of a new certificate. NULL with *cause. */
static char *
tls_san_list(const struct master_config *cfg, char **cause)
{
	struct buf b = { 0 };
	const char *listens[2] = { cfg->api_listen, cfg->agent_listen };
	char *list, *tok, *save, *host, *why = NULL, hn[256];
	int i, port;

	if (cfg->tls_san != NULL) {
		list = xstrdup(cfg->tls_san);
		for (tok = strtok_r(list, ", ", &save); tok != NULL;
		    tok = strtok_r(NULL, ", ", &save))
			if (tls_san_add(&b, tok, cause) != 0) {
				free(list);
				buf_free(&b);
				return NULL;
			}
		free(list);
		if (b.data == NULL) {
			xasprintf(cause, "--tls-san: no names");
			return NULL;
		}
		return b.data;
	}
	(void)tls_san_add(&b, "localhost", &why);
	(void)tls_san_add(&b, "127.0.0.1", &why);
	(void)tls_san_add(&b, "::1", &why);
	if (gethostname(hn, sizeof hn) == 0) {
		hn[sizeof hn - 1] = '\0';
		if (tls_san_add(&b, hn, &why) != 0) {
			free(why);
			why = NULL;
		}
	}
	for (i = 0; i < 2; i++) {
		if (config_split_listen(listens[i], &host, &port, &why) != 0) {
			free(why);
			why = NULL;
			continue;
		}
		if (host[0] != '\0' && strcmp(host, "0.0.0.0") != 0 &&
		    strcmp(host, "::") != 0 && tls_san_add(&b, host, &why) != 0) {
			free(why);
			why = NULL;
		}
		free(host);
	}
	return b.data;
}

static int
tls_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int rc;

	if (ext == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return rc == 1 ? 0 : -1;
}

/* PEM text of a key or a certificate; caller frees (and cleanses keys). */
static char *
tls_pem(EVP_PKEY *pk, X509 *x, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (bio == NULL)
		return NULL;
	if ((pk != NULL && PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0,
	    NULL, NULL) == 1) || (x != NULL && PEM_write_bio_X509(bio, x) == 1)) {
		n = BIO_get_mem_data(bio, &data);
		out = xmalloc((size_t)n + 1);
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
	}
	BIO_free(bio);	/* frees the memory (key text cleansed below) */
	return out;
}

/* Make <data-dir>/tls.key and tls.crt. 0, or -1 with *cause. */
static int
tls_make_self_signed(const struct master_config *cfg, const char *crt_path,
    const char *key_path, char **cause)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	X509V3_CTX v3;
	BIGNUM *bn = NULL;
	unsigned char serial[16];
	char *san = NULL, *key_pem = NULL, *crt_pem = NULL;
	size_t key_len = 0, crt_len = 0;
	int rc = -1;

	if ((san = tls_san_list(cfg, cause)) == NULL)
		return -1;
	if ((pk = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto crypto;
	util_random(serial, sizeof serial);
	serial[0] &= 0x7f;		/* a positive serial */
	if ((bn = BN_bin2bn(serial, sizeof serial, NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)TLS_DAYS * 86400) == NULL ||
	    X509_set_pubkey(x, pk) != 1)
		goto crypto;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"berth", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"berth-master", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto crypto;
	/* Like `openssl req -x509`: its own CA, so it can be a --cacert. */
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if (tls_add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE") ||
	    tls_add_ext(x, &v3, NID_key_usage,
	    "critical,digitalSignature,keyCertSign") ||
	    tls_add_ext(x, &v3, NID_ext_key_usage, "serverAuth") ||
	    tls_add_ext(x, &v3, NID_subject_key_identifier, "hash") ||
	    tls_add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") ||
	    tls_add_ext(x, &v3, NID_subject_alt_name, san))
		goto crypto;
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		goto crypto;
	if ((key_pem = tls_pem(pk, NULL, &key_len)) == NULL ||
	    (crt_pem = tls_pem(NULL, x, &crt_len)) == NULL)
		goto crypto;
	/* The key first: a crash in between leaves a key and no cert,
	 * which the next start reports rather than half-trusts. */
	if (util_write_file(key_path, key_pem, key_len, 0600) != 0) {
		xasprintf(cause, "cannot write %s: %s", key_path,
		    strerror(errno));
		goto out;
	}
	if (util_write_file(crt_path, crt_pem, crt_len, 0644) != 0) {
		xasprintf(cause, "cannot write %s: %s", crt_path,
		    strerror(errno));
		unlink(key_path);
		goto out;
	}
	log_info("tls: made a self-signed certificate %s (key %s) for %s",
	    crt_path, key_path, san);
	rc = 0;
	goto out;
crypto:
	xasprintf(cause, "cannot make a self-signed certificate (OpenSSL "
	    "error)");
out:
	if (key_pem != NULL)
		OPENSSL_cleanse(key_pem, key_len);
	free(key_pem);
	free(crt_pem);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pk);
	free(san);
	return rc;
}

/* Read both PEM files, check they belong together, compute pin. */
static int
tls_load(struct master_tls *t, char **cause)
{
	unsigned char pin[TLSUTIL_PIN_LEN], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	BIO *bio;
	size_t len;
	int rc = -1;

	if (util_read_file(t->cert_file, TLS_MAX_PEM, &t->cert_pem, &len) != 0) {
		xasprintf(cause, "cannot read the certificate %s: %s",
		    t->cert_file, strerror(errno));
		return -1;
	}
	if (util_read_file(t->key_file, TLS_MAX_PEM, &t->key_pem, &len) != 0) {
		xasprintf(cause, "cannot read the private key %s: %s",
		    t->key_file, strerror(errno));
		return -1;
	}
	if ((bio = BIO_new_mem_buf(t->cert_pem, -1)) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (x == NULL) {
		xasprintf(cause, "%s is not a PEM certificate", t->cert_file);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(t->key_pem, -1)) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (pk == NULL) {
		xasprintf(cause, "%s is not an unencrypted PEM private key",
		    t->key_file);
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		xasprintf(cause, "the key %s does not belong to the "
		    "certificate %s", t->key_file, t->cert_file);
		goto out;
	}
	if (tlsutil_pin_of_cert(x, pin) != 0 ||
	    X509_digest(x, EVP_sha256(), md, &mdlen) != 1) {
		xasprintf(cause, "cannot digest %s", t->cert_file);
		goto out;
	}
	tlsutil_pin_format(pin, t->pin);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(t->fingerprint + (i ? 3 * i - 1 : 0), 4, "%s%02X",
		    i ? ":" : "", md[i]);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		log_warn("tls: the certificate %s has expired", t->cert_file);
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	X509_free(x);
	return rc;
}

int
tls_setup(const struct master_config *cfg, struct master_tls *t,
    char **cause)
{
	int crt_ok, key_ok;

	memset(t, 0, sizeof *t);
	if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL)) {
		xasprintf(cause, "--tls-cert and --tls-key go together");
		return -1;
	}
	if (cfg->tls_cert != NULL && cfg->tls_self_signed) {
		xasprintf(cause, "--tls-self-signed and --tls-cert/--tls-key "
		    "exclude each other");
		return -1;
	}
	if (cfg->tls_cert == NULL && !cfg->tls_self_signed) {
		if (cfg->insecure_plain) {
			log_warn("serving plain http/ws (--insecure-plain): "
			    "tokens cross the network in clear");
			return 0;
		}
		if (!tls_listen_loopback(cfg->api_listen) ||
		    !tls_listen_loopback(cfg->agent_listen)) {
			xasprintf(cause, "refusing plain http/ws on a "
			    "non-loopback address (--api-listen %s, "
			    "--agent-listen %s): serve TLS with --tls-cert "
			    "FILE --tls-key FILE or --tls-self-signed, or "
			    "allow plain text explicitly with --insecure-plain",
			    cfg->api_listen, cfg->agent_listen);
			return -1;
		}
		return 0;
	}
	t->on = 1;
	if (cfg->tls_cert != NULL) {
		t->cert_file = xstrdup(cfg->tls_cert);
		t->key_file = xstrdup(cfg->tls_key);
	} else {
		xasprintf(&t->cert_file, "%s/tls.crt", cfg->data_dir);
		xasprintf(&t->key_file, "%s/tls.key", cfg->data_dir);
		crt_ok = access(t->cert_file, F_OK) == 0;
		key_ok = access(t->key_file, F_OK) == 0;
		if (crt_ok != key_ok) {
			xasprintf(cause, "%s exists but %s does not: remove "
			    "the other one too to make a new pair (agents "
			    "pinned to the old one must then be given the new "
			    "pin)", crt_ok ? t->cert_file : t->key_file,
			    crt_ok ? t->key_file : t->cert_file);
			return -1;
		}
		if (!crt_ok && tls_make_self_signed(cfg, t->cert_file,
		    t->key_file, cause) != 0)
			return -1;
	}
	if (tls_load(t, cause) != 0)
		return -1;
	log_info("tls: serving https and wss with %s; public-key pin %s "
	    "(BERTH_MASTER_PIN); certificate SHA-256 %s", t->cert_file,
	    t->pin, t->fingerprint);
	return 0;
}

void
tls_free(struct master_tls *t)
{
	if (t->key_pem != NULL)
		OPENSSL_cleanse(t->key_pem, strlen(t->key_pem));
	free(t->key_pem);
	free(t->cert_pem);
	free(t->cert_file);
	free(t->key_file);
	memset(t, 0, sizeof *t);
}
