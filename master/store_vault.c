/*
 * store_vault.c - the vault table: sealed secrets, by grid and name.
 *
 * Called from the API threads (vault routes, stack installs) and the ws
 * thread (the hub reads a service's secrets into its desired set). Rows
 * hold only the sealed form (master/vault.c); nothing here sees a value.
 * A write, an update and a removal each carry their event in their own
 * transaction; an update also moves every service that uses the secret
 * to a new revision, so its next deploy replaces their containers, which
 * then start with the new value (Kontena's "force update" of the
 * services of a changed secret).
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Services of a grid whose spec names the secret in `secrets:`. */
#define VAULT_USERS \
	" FROM services v JOIN stacks k ON k.id = v.stack_id," \
	" json_each(v.spec, '$.secrets') j" \
	" WHERE k.grid_id = ?1 AND json_extract(j.value, '$.secret') = ?2"

int
store_vault_sealed(struct store *st, int64_t grid_id, const char *name,
    unsigned char **sealed, size_t *len)
{
	struct store_stmt *s = store_stmt(st, "SELECT sealed FROM vault"
	    " WHERE grid_id = ?1 AND name = ?2");
	const void *b;
	int rc;

	*sealed = NULL;
	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		*len = (size_t)stmt_col_bytes(s, 0);
		b = stmt_col_blob(s, 0);
		*sealed = xmalloc(*len + 1);
		if (*len > 0)
			memcpy(*sealed, b, *len);
	}
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

/* "stack/service, ..." of the services that use name, into users. */
static int
vault_users(struct store *st, int64_t grid_id, const char *name,
    json_t *ids, char *users, size_t len)
{
	struct store_stmt *s = store_stmt(st, "SELECT DISTINCT v.id, k.name,"
	    " v.name" VAULT_USERS " ORDER BY k.name, v.name");
	size_t used = 0;
	int rc, n = 0;

	if (users != NULL && len > 0)
		*users = '\0';
	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (ids != NULL)
			json_array_append_new(ids,
			    json_integer(stmt_col_int64(s, 0)));
		if (users != NULL && used < len)
			used += (size_t)snprintf(users + used, len - used,
			    "%s%s/%s", n ? ", " : "", store_col_text(s, 1),
			    store_col_text(s, 2));
		n++;
	}
	stmt_reset(s);
	return rc == STORE_DONE ? n : -1;
}

int
store_vault_put_tx(struct store *st, int64_t grid_id, const char *name,
    const unsigned char *sealed, size_t len, enum vault_put mode,
    const char *why, json_t *rolled)
{
	struct store_stmt *s;
	int64_t now = util_now_ms();
	int rc, exists;

	s = store_stmt(st, "SELECT 1 FROM vault WHERE grid_id = ?1"
	    " AND name = ?2");
	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	rc = stmt_step(s);
	stmt_reset(s);
	if (rc != STORE_ROW && rc != STORE_DONE)
		return -1;
	exists = rc == STORE_ROW;
	if (exists && mode == VAULT_PUT_CREATE)
		return 1;
	if (!exists && mode == VAULT_PUT_UPDATE)
		return 2;
	if (!exists) {
		s = store_stmt(st, "INSERT INTO vault (grid_id, name, sealed,"
		    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)");
		stmt_bind_int64(s, 1, grid_id);
		store_bind_text(s, 2, name);
		stmt_bind_blob_copy(s, 3, sealed, (int)len);
		stmt_bind_int64(s, 4, now);
		if (store_done(s) != 0)
			return -1;
		return store_event_add(st, grid_id, "vault.write", name,
		    "secret %s written to the vault%s%s", name,
		    why != NULL ? " " : "", why != NULL ? why : "") == 0 ? 0 :
		    -1;
	}
	s = store_stmt(st, "UPDATE vault SET sealed = ?3, version = version"
	    " + 1, updated_at = ?4 WHERE grid_id = ?1 AND name = ?2");
	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	stmt_bind_blob_copy(s, 3, sealed, (int)len);
	stmt_bind_int64(s, 4, now);
	if (store_done(s) != 0)
		return -1;
	/* Its services take the new value with their next deploy. */
	if ((rc = vault_users(st, grid_id, name, rolled, NULL, 0)) < 0)
		return -1;
	s = store_stmt(st, "UPDATE services SET rev = rev + 1, updated_at = ?3"
	    " WHERE id IN (SELECT v.id" VAULT_USERS ")");
	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	stmt_bind_int64(s, 3, now);
	if (store_done(s) != 0)
		return -1;
	return store_event_add(st, grid_id, "vault.update", name,
	    "secret %s updated%s%s: %d service(s) that use it take the new "
	    "value with their next deploy", name, why != NULL ? " " : "",
	    why != NULL ? why : "", rc) == 0 ? 0 : -1;
}

int
store_vault_put(struct store *st, int64_t grid_id, const char *name,
    const unsigned char *sealed, size_t len, enum vault_put mode,
    json_t *rolled)
{
	int rc;

	if (store_begin(st) != 0)
		return -1;
	rc = store_vault_put_tx(st, grid_id, name, sealed, len, mode, NULL,
	    rolled);
	if (rc != 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}

int
store_vault_delete(struct store *st, int64_t grid_id, const char *name,
    int force, char *users, size_t len)
{
	struct store_stmt *s;
	int rc, n;

	if (store_begin(st) != 0)
		return -1;
	if ((n = vault_users(st, grid_id, name, NULL, users, len)) < 0)
		goto fail;
	if (n > 0 && !force) {
		store_rollback(st);
		return 2;
	}
	s = store_stmt(st, "DELETE FROM vault WHERE grid_id = ?1 AND name = ?2");
	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	if (store_done(s) != 0)
		goto fail;
	if (store_changes(st) == 0) {
		store_rollback(st);
		return 1;
	}
	if (store_event_add(st, grid_id, "vault.remove", name, "secret %s "
	    "removed from the vault%s", name, n > 0 ? " while services still "
	    "use it (--force)" : "") != 0)
		goto fail;
	rc = store_commit(st);
	return rc;
fail:
	store_rollback(st);
	return -1;
}

static json_t *
vault_row_json(struct store_stmt *s)
{
	char t[32];
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(store_col_text(s, 0)));
	json_object_set_new(o, "version",
	    json_integer(stmt_col_int64(s, 1)));
	util_iso8601(stmt_col_int64(s, 2), t, sizeof t);
	json_object_set_new(o, "created_at", json_string(t));
	util_iso8601(stmt_col_int64(s, 3), t, sizeof t);
	json_object_set_new(o, "updated_at", json_string(t));
	return o;
}

/* Add "services": [stack/service, ...] to each entry. */
static int
vault_add_users(struct store *st, int64_t grid_id, json_t *o)
{
	struct store_stmt *s = store_stmt(st, "SELECT DISTINCT k.name || '/' ||"
	    " v.name" VAULT_USERS " ORDER BY 1");
	json_t *users = json_array();
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, json_string_value(json_object_get(o, "name")));
	while ((rc = stmt_step(s)) == STORE_ROW)
		json_array_append_new(users, json_string(store_col_text(s, 0)));
	stmt_reset(s);
	json_object_set_new(o, "services", users);
	return rc == STORE_DONE ? 0 : -1;
}

json_t *
store_vault_list_json(struct store *st, int64_t grid_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT name, version, created_at,"
	    " updated_at FROM vault WHERE grid_id = ?1 ORDER BY name");
	json_t *arr, *o;
	size_t i;

	stmt_bind_int64(s, 1, grid_id);
	if ((arr = store_rows_json(s, json_array(), vault_row_json)) == NULL)
		return NULL;
	json_array_foreach(arr, i, o) {
		if (vault_add_users(st, grid_id, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int
store_vault_get_json(struct store *st, int64_t grid_id, const char *name,
    json_t **out)
{
	struct store_stmt *s = store_stmt(st, "SELECT name, version, created_at,"
	    " updated_at FROM vault WHERE grid_id = ?1 AND name = ?2");
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	rc = store_row_json(s, vault_row_json, out);
	if (rc == 1 && vault_add_users(st, grid_id, *out) != 0) {
		json_decref(*out);
		return -1;
	}
	return rc;
}

json_t *
store_vault_names(struct store *st, int64_t grid_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT name FROM vault"
	    " WHERE grid_id = ?1 ORDER BY name");
	json_t *arr = json_array();
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		json_array_append_new(arr, json_string(store_col_text(s, 0)));
	stmt_reset(s);
	if (rc != STORE_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}
