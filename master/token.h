/*
 * token.h - secrets: minting, hashing, sealing and comparing tokens.
 *
 * A token is 32 bytes from getrandom(2) written as 64 hex characters. The
 * store keeps only its SHA-256 (token_hash) and, for grid tokens that the
 * master must be able to show again (cloud-config, `berth grid token`), a
 * copy sealed with AES-256-GCM under the master key (token_seal). The master
 * key is 32 random bytes in <data-dir>/master.key, mode 0600, never in the
 * database. Hashes are compared with CRYPTO_memcmp (constant time).
 *
 * No function here logs; callers must never log a token either.
 */
#ifndef BERTH_TOKEN_H
#define BERTH_TOKEN_H

#include <stddef.h>

#define TOKEN_BYTES	32
#define TOKEN_LEN	(TOKEN_BYTES * 2)	/* hex characters */
#define TOKEN_HASH_LEN	32			/* SHA-256 */
#define TOKEN_KEY_LEN	32			/* AES-256 */
#define TOKEN_SEAL_LEN	(12 + TOKEN_LEN + 16)	/* nonce, ciphertext, tag */

/* Write a new token (TOKEN_LEN chars + NUL) into out. */
void	 token_new(char out[TOKEN_LEN + 1]);
/* SHA-256 of the token string. */
void	 token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN]);
/* 1 if the token hashes to hash (constant-time comparison). */
int	 token_check(const char *token, const unsigned char *hash,
	    size_t hashlen);
/* 1 if s looks like a token (64 lowercase hex characters). */
int	 token_well_formed(const char *s);

/* Seal a token under key; out gets TOKEN_SEAL_LEN bytes. 0 or -1. */
int	 token_seal(const unsigned char key[TOKEN_KEY_LEN], const char *token,
	    unsigned char out[TOKEN_SEAL_LEN]);
/* Open a sealed token into out (TOKEN_LEN + 1). 0, or -1 if tampered. */
int	 token_unseal(const unsigned char key[TOKEN_KEY_LEN],
	    const unsigned char *sealed, size_t len, char out[TOKEN_LEN + 1]);

/*
 * Load <dir>/master.key, creating it (0600) if absent. 0, or -1 with *cause.
 */
int	 token_load_key(const char *dir, unsigned char key[TOKEN_KEY_LEN],
	    char **cause);

#endif
