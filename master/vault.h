/*
 * vault.h - the grid's secrets: sealed at rest with the master key.
 *
 * A secret's value is stored only sealed with AES-256-GCM under
 * <data-dir>/master.key (the key that seals grid tokens), with the grid id
 * and the secret's name as associated data, so a sealed value copied to
 * another row or grid does not open. The store alone reads no value.
 *
 * Used by the API (vault routes, stack installs that read or write the
 * vault) and the hub (a service's secrets into its containers' desired
 * environment); stateless apart from OpenSSL, so any thread may call it.
 * Nothing here logs; no caller may log a value.
 */
#ifndef BERTH_VAULT_H
#define BERTH_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "master/store.h"
#include "master/token.h"

#define VAULT_MAX_VALUE		(64 * 1024)	/* bytes of one secret */
#define VAULT_MAX_NAME		255

/* 1 if name is a secret's name: [A-Za-z0-9_.-], 1 to 255, not "." "..". */
int	 vault_name_valid(const char *name);

/* Seal len bytes of value: *out (malloc'd), *outlen. 0 or -1. */
int	 vault_seal(const unsigned char key[TOKEN_KEY_LEN], int64_t grid_id,
	    const char *name, const void *value, size_t len,
	    unsigned char **out, size_t *outlen);
/* Open a sealed value: *out (malloc'd, NUL-ended), *len. 0 or -1. */
int	 vault_unseal(const unsigned char key[TOKEN_KEY_LEN], int64_t grid_id,
	    const char *name, const unsigned char *sealed, size_t slen,
	    char **out, size_t *len);

/*
 * Read secret name of grid_id from the store and open it: 1 and *value
 * (malloc'd; wipe and free it), 0 when there is no such secret, -1 on an
 * error (a store error, or a value that does not open).
 */
int	 vault_get(struct store *st, const unsigned char key[TOKEN_KEY_LEN],
	    int64_t grid_id, const char *name, char **value, size_t *len);

/*
 * Seal the settings marked secret (common/settings.h) under key from now
 * on: registers the settings engine's hook. key must outlive every thread
 * (struct master's). The AES-256-GCM seal binds "setting:<table>.<row>"
 * (grid id 0, which no grid has) so a sealed setting is no vault secret.
 */
void	 vault_settings_sealer(const unsigned char key[TOKEN_KEY_LEN]);

/* Overwrite and free a value. */
void	 vault_free(char *value, size_t len);

#endif
