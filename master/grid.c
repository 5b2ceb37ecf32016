/*
 * grid.c - grid creation and token rotation (see grid.h).
 *
 * Called from start-up (grid "default") and the API threads, each with
 * its own store connection. Tokens are handled in stack buffers that are
 * wiped after use and never logged.
 */
#include "master/grid.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

int
grid_create(struct master *m, struct store *st, const char *name,
    const struct grid_settings *gs, struct grid *out,
    char token_out[TOKEN_LEN + 1])
{
	unsigned char hash[TOKEN_HASH_LEN], sealed[TOKEN_SEAL_LEN];
	int rc;

	token_new(token_out);
	token_hash(token_out, hash);
	if (token_seal(m->key, token_out, sealed) != 0)
		return -1;
	if (store_begin(st) != 0)
		return -1;
	rc = store_grid_create(st, name, gs, hash, sealed, sizeof sealed, out);
	if (rc != 0) {
		store_rollback(st);
		return rc;
	}
	if (store_event_add(st, out->id, "grid.create", name,
	    "grid %s created", name) != 0 || store_commit(st) != 0) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int
grid_token_get(struct master *m, struct store *st, int64_t grid_id,
    char out[TOKEN_LEN + 1])
{
	unsigned char sealed[TOKEN_SEAL_LEN];

	if (store_grid_sealed_token(st, grid_id, sealed, sizeof sealed) != 1)
		return -1;
	return token_unseal(m->key, sealed, sizeof sealed, out);
}

int
nodegroup_token_get(struct master *m, struct store *st, int64_t group_id,
    char out[TOKEN_LEN + 1])
{
	unsigned char hash[TOKEN_HASH_LEN], sealed[TOKEN_SEAL_LEN];
	char token[TOKEN_LEN + 1];
	int rc;

	rc = store_nodegroup_token(st, group_id, hash, sealed, sizeof sealed);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		token_new(token);
		token_hash(token, hash);
		if (token_seal(m->key, token, sealed) != 0) {
			OPENSSL_cleanse(token, sizeof token);
			return -1;
		}
		OPENSSL_cleanse(token, sizeof token);
		/* Another thread may have minted one meanwhile: read back. */
		if (store_nodegroup_token_set(st, group_id, hash, sealed,
		    sizeof sealed) < 0 || store_nodegroup_token(st, group_id,
		    hash, sealed, sizeof sealed) != 1)
			return -1;
	}
	return token_unseal(m->key, sealed, sizeof sealed, out);
}

static char *
grid_token_path(struct master *m, const char *name)
{
	char *path;

	xasprintf(&path, "%s/grid-%s.token", m->cfg.data_dir, name);
	return path;
}

int
grid_token_file_write(struct master *m, const char *name, const char *token)
{
	char *path = grid_token_path(m, name), *text;
	int rc;

	xasprintf(&text, "%s\n", token);
	rc = util_write_file(path, text, strlen(text), 0600);
	if (rc != 0)
		log_error("cannot write %s: %s", path, strerror(errno));
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	free(path);
	return rc;
}

void
grid_token_file_remove(struct master *m, const char *name)
{
	char *path = grid_token_path(m, name);

	unlink(path);
	free(path);
}

int
grid_token_rotate(struct master *m, struct store *st, const struct grid *g,
    char out[TOKEN_LEN + 1])
{
	unsigned char hash[TOKEN_HASH_LEN], sealed[TOKEN_SEAL_LEN];
	struct stat sb;
	char *path;

	token_new(out);
	token_hash(out, hash);
	if (token_seal(m->key, out, sealed) != 0)
		return -1;
	if (store_begin(st) != 0)
		return -1;
	if (store_grid_set_token(st, g->id, hash, sealed, sizeof sealed) != 0 ||
	    store_event_add(st, g->id, "grid.token", g->name,
	    "grid token rotated; the old token admits no new node") != 0 ||
	    store_commit(st) != 0) {
		store_rollback(st);
		return -1;
	}
	path = grid_token_path(m, g->name);
	if (stat(path, &sb) == 0)
		grid_token_file_write(m, g->name, out);
	free(path);
	return 0;
}

int
grid_seal_secrets(struct store *st)
{
	const struct setting_table *t = &grid_settings_table;
	const struct setting *row;
	struct grid_ref *refs = NULL;
	struct grid g;
	json_t *obj;
	char *field, *cause, *v;
	size_t n = 0, i, k;
	int rc = 0, sealed;

	if (store_grid_refs(st, &refs, &n) != 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		if (store_grid_get_id(st, refs[i].id, &g) != 1)
			continue;
		sealed = 0;
		for (k = 0; k < t->n; k++) {
			row = &t->rows[k];
			v = (char *)&g.settings + row->off;
			if (!row->secret || v[0] == '\0' ||
			    settings_is_sealed(v))
				continue;
			obj = json_pack("{s:s}", row->name, v);
			if (settings_apply_json(t, &g.settings, obj, &field,
			    &cause) != 0) {
				/* Not a value it takes now: dropped. */
				log_warn("grid %s: %s: %s; emptied", g.name,
				    field, cause);
				free(field);
				free(cause);
				v[0] = '\0';
			}
			json_decref(obj);
			sealed = 1;
		}
		if (!sealed)
			continue;
		store_exec(st, "PRAGMA secure_delete = ON");
		if (store_grid_update_settings(st, g.id, &g.settings) != 0) {
			log_warn("grid %s: cannot seal its secret settings: %s",
			    g.name, store_errmsg(st));
			rc = -1;
		} else
			log_info("grid %s: secret settings sealed", g.name);
		store_exec(st, "PRAGMA secure_delete = OFF");
		OPENSSL_cleanse(&g.settings, sizeof g.settings);
	}
	free(refs);
	return rc;
}
