/*
 * vault.c - seal and open secrets (see vault.h).
 *
 * The sealed form is: a version byte (1), a 12-byte random nonce, the
 * ciphertext, the 16-byte GCM tag. The associated data binds it to its
 * grid and name ("berth-vault", the grid id as 8 bytes, the name).
 */
#include "master/vault.h"

#include "common/settings.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define VAULT_SEAL_V	1
#define VAULT_NONCE	12
#define VAULT_TAG	16

int
vault_name_valid(const char *name)
{
	size_t i;

	if (name == NULL || *name == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= VAULT_MAX_NAME)
			return 0;
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		    name[i] == '.' || name[i] == '-'))
			return 0;
	}
	return 1;
}

/* The associated data: what the sealed value belongs to. */
static void
vault_aad(EVP_CIPHER_CTX *c, int64_t grid_id, const char *name)
{
	unsigned char g[8];
	int n, i;

	for (i = 0; i < 8; i++)
		g[i] = (unsigned char)((uint64_t)grid_id >> (56 - 8 * i));
	EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)"berth-vault", 11);
	EVP_CipherUpdate(c, NULL, &n, g, sizeof g);
	EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)name,
	    (int)strlen(name));
}

int
vault_seal(const unsigned char key[TOKEN_KEY_LEN], int64_t grid_id,
    const char *name, const void *value, size_t len, unsigned char **out,
    size_t *outlen)
{
	EVP_CIPHER_CTX *c;
	unsigned char *o;
	int n, m, rc = -1;

	*out = NULL;
	if (len > VAULT_MAX_VALUE)
		return -1;
	o = xmalloc(1 + VAULT_NONCE + len + VAULT_TAG);
	o[0] = VAULT_SEAL_V;
	util_random(o + 1, VAULT_NONCE);
	if ((c = EVP_CIPHER_CTX_new()) == NULL) {
		free(o);
		return -1;
	}
	if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, o + 1) != 1)
		goto out;
	vault_aad(c, grid_id, name);
	if (EVP_EncryptUpdate(c, o + 1 + VAULT_NONCE, &n, value, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, o + 1 + VAULT_NONCE + n, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, VAULT_TAG,
	    o + 1 + VAULT_NONCE + len) != 1)
		goto out;
	*out = o;
	*outlen = 1 + VAULT_NONCE + len + VAULT_TAG;
	o = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	free(o);
	return rc;
}

int
vault_unseal(const unsigned char key[TOKEN_KEY_LEN], int64_t grid_id,
    const char *name, const unsigned char *sealed, size_t slen, char **out,
    size_t *len)
{
	EVP_CIPHER_CTX *c;
	unsigned char tag[VAULT_TAG];
	size_t clen;
	char *p;
	int n, m, rc = -1;

	*out = NULL;
	if (slen < 1 + VAULT_NONCE + VAULT_TAG || sealed[0] != VAULT_SEAL_V)
		return -1;
	clen = slen - 1 - VAULT_NONCE - VAULT_TAG;
	memcpy(tag, sealed + 1 + VAULT_NONCE + clen, VAULT_TAG);
	p = xmalloc(clen + 1);
	if ((c = EVP_CIPHER_CTX_new()) == NULL) {
		free(p);
		return -1;
	}
	if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key,
	    sealed + 1) != 1)
		goto out;
	vault_aad(c, grid_id, name);
	if (EVP_DecryptUpdate(c, (unsigned char *)p, &n, sealed + 1 +
	    VAULT_NONCE, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, VAULT_TAG, tag) != 1 ||
	    EVP_DecryptFinal_ex(c, (unsigned char *)p + n, &m) != 1)
		goto out;
	p[clen] = '\0';
	*out = p;
	*len = clen;
	p = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	if (p != NULL)
		vault_free(p, clen);
	return rc;
}

int
vault_get(struct store *st, const unsigned char key[TOKEN_KEY_LEN],
    int64_t grid_id, const char *name, char **value, size_t *len)
{
	unsigned char *sealed;
	size_t slen;
	int rc;

	*value = NULL;
	rc = store_vault_sealed(st, grid_id, name, &sealed, &slen);
	if (rc != 1)
		return rc;
	rc = vault_unseal(key, grid_id, name, sealed, slen, value, len) == 0 ?
	    1 : -1;
	free(sealed);
	return rc;
}

static int
vault_setting_seal(void *arg, const char *what, const char *value,
    size_t len, unsigned char **out, size_t *outlen)
{
	return vault_seal(arg, 0, what, value, len, out, outlen);
}

static int
vault_setting_unseal(void *arg, const char *what, const unsigned char *in,
    size_t len, char **out, size_t *outlen)
{
	return vault_unseal(arg, 0, what, in, len, out, outlen);
}

void
vault_settings_sealer(const unsigned char key[TOKEN_KEY_LEN])
{
	static struct setting_sealer sealer = {
		.seal = vault_setting_seal,
		.unseal = vault_setting_unseal,
	};

	if (key == NULL) {
		settings_set_sealer(NULL);
		return;
	}
	sealer.arg = (void *)(uintptr_t)key;
	settings_set_sealer(&sealer);
}

void
vault_free(char *value, size_t len)
{
	if (value == NULL)
		return;
	OPENSSL_cleanse(value, len);
	free(value);
}
