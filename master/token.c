/*
 * token.c - mint, hash, seal and compare tokens (see token.h).
 *
 * Called from the API threads (operator auth, grid token rotation), the ws
 * thread (agent joins) and start-up. Stateless apart from OpenSSL, whose
 * EVP interfaces are thread-safe.
 */
#include "master/token.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

void
token_new(char out[TOKEN_LEN + 1])
{
	unsigned char raw[TOKEN_BYTES];

	util_random(raw, sizeof raw);
	util_hex(raw, sizeof raw, out);
	OPENSSL_cleanse(raw, sizeof raw);
}

void
token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN])
{
	SHA256((const unsigned char *)token, strlen(token), out);
}

int
token_check(const char *token, const unsigned char *hash, size_t hashlen)
{
	unsigned char h[TOKEN_HASH_LEN];

	if (token == NULL || hash == NULL || hashlen != TOKEN_HASH_LEN)
		return 0;
	token_hash(token, h);
	return CRYPTO_memcmp(h, hash, TOKEN_HASH_LEN) == 0;
}

int
token_well_formed(const char *s)
{
	size_t i;

	for (i = 0; i < TOKEN_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[TOKEN_LEN] == '\0';
}

int
token_seal(const unsigned char key[TOKEN_KEY_LEN], const char *token,
    unsigned char out[TOKEN_SEAL_LEN])
{
	EVP_CIPHER_CTX *ctx;
	int n, rc = -1;

	if (strlen(token) != TOKEN_LEN)
		return -1;
	util_random(out, 12);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out) != 1 ||
	    EVP_EncryptUpdate(ctx, out + 12, &n, (const unsigned char *)token,
	    TOKEN_LEN) != 1 || n != TOKEN_LEN ||
	    EVP_EncryptFinal_ex(ctx, out + 12 + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
	    out + 12 + TOKEN_LEN) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
token_unseal(const unsigned char key[TOKEN_KEY_LEN],
    const unsigned char *sealed, size_t len, char out[TOKEN_LEN + 1])
{
	EVP_CIPHER_CTX *ctx;
	unsigned char tag[16];
	int n, m, rc = -1;

	if (len != TOKEN_SEAL_LEN)
		return -1;
	memcpy(tag, sealed + 12 + TOKEN_LEN, sizeof tag);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, sealed) != 1 ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)out, &n, sealed + 12,
	    TOKEN_LEN) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)out + n, &m) != 1)
		goto out;
	out[TOKEN_LEN] = '\0';
	rc = token_well_formed(out) ? 0 : -1;
out:
	if (rc != 0)
		OPENSSL_cleanse(out, TOKEN_LEN + 1);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
token_load_key(const char *dir, unsigned char key[TOKEN_KEY_LEN],
    char **cause)
{
	char *path, *data = NULL;
	size_t len;
	int rc = -1;

	xasprintf(&path, "%s/master.key", dir);
	if (util_read_file(path, 4096, &data, &len) == 0) {
		if (len != TOKEN_KEY_LEN) {
			xasprintf(cause, "%s: expected %d bytes, found %zu "
			    "(damaged key file?)", path, TOKEN_KEY_LEN, len);
			goto out;
		}
		memcpy(key, data, TOKEN_KEY_LEN);
		rc = 0;
		goto out;
	}
	if (errno != ENOENT) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	util_random(key, TOKEN_KEY_LEN);
	if (util_write_file(path, key, TOKEN_KEY_LEN, 0600) != 0) {
		xasprintf(cause, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (data != NULL) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	free(path);
	return rc;
}
