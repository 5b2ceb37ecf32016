/*
 * store_grid.c - grids and the operator token hash in the store.
 *
 * Called from the API threads and start-up, each with its own connection;
 * the hub reads every grid's timings (store_grid_timings) and the
 * scheduler the grid list (store_grid_refs) on theirs.
 * A grid's token is kept only as a hash (to admit agents) and sealed under
 * the master key (to show it again); see token.h.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define GRID_COLS \
	"id, name, heartbeat_interval_s, offline_after_s, " \
	"ephemeral_removal_s, ha_grace_s, random_grace_s, dry_run, created_at, " \
	"rebalance_settle_s, move_cooldown_s"

void
grid_settings_default(struct grid_settings *gs)
{
	gs->heartbeat_interval_s = 5;
	gs->offline_after_s = 15;
	gs->ephemeral_removal_s = 1200;
	gs->ha_grace_s = 120;
	gs->random_grace_s = 30;
	gs->rebalance_settle_s = 10;
	gs->move_cooldown_s = 600;
	gs->dry_run = 0;
}

static void
grid_from_row(sqlite3_stmt *s, struct grid *g)
{
	memset(g, 0, sizeof *g);
	g->id = sqlite3_column_int64(s, 0);
	snprintf(g->name, sizeof g->name, "%s", store_col_text(s, 1));
	g->settings.heartbeat_interval_s = sqlite3_column_int64(s, 2);
	g->settings.offline_after_s = sqlite3_column_int64(s, 3);
	g->settings.ephemeral_removal_s = sqlite3_column_int64(s, 4);
	g->settings.ha_grace_s = sqlite3_column_int64(s, 5);
	g->settings.random_grace_s = sqlite3_column_int64(s, 6);
	g->settings.dry_run = sqlite3_column_int(s, 7);
	g->created_at = sqlite3_column_int64(s, 8);
	g->settings.rebalance_settle_s = sqlite3_column_int64(s, 9);
	g->settings.move_cooldown_s = sqlite3_column_int64(s, 10);
}

static int
grid_get_step(sqlite3_stmt *s, struct grid *out)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		if (out != NULL)
			grid_from_row(s, out);
		sqlite3_reset(s);
		return 1;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_grid_get(struct store *st, const char *name, struct grid *out)
{
	sqlite3_stmt *s = store_stmt(st,
	    "SELECT " GRID_COLS " FROM grids WHERE name = ?1");

	store_bind_text(s, 1, name);
	return grid_get_step(s, out);
}

int
store_grid_get_id(struct store *st, int64_t id, struct grid *out)
{
	sqlite3_stmt *s = store_stmt(st,
	    "SELECT " GRID_COLS " FROM grids WHERE id = ?1");

	sqlite3_bind_int64(s, 1, id);
	return grid_get_step(s, out);
}

int
store_grid_by_token(struct store *st, const unsigned char *hash,
    struct grid *out)
{
	sqlite3_stmt *s = store_stmt(st,
	    "SELECT " GRID_COLS " FROM grids WHERE token_hash = ?1");

	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	return grid_get_step(s, out);
}

int
store_grid_create(struct store *st, const char *name,
    const struct grid_settings *gs, const unsigned char *token_hash,
    const unsigned char *sealed, size_t sealed_len, struct grid *out)
{
	sqlite3_stmt *s = store_stmt(st,
	    "INSERT INTO grids (name, token_hash, token_sealed, "
	    "heartbeat_interval_s, offline_after_s, ephemeral_removal_s, "
	    "ha_grace_s, random_grace_s, dry_run, created_at, "
	    "rebalance_settle_s, move_cooldown_s) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
	int rc;

	store_bind_text(s, 1, name);
	sqlite3_bind_blob(s, 2, token_hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, sealed, (int)sealed_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, gs->heartbeat_interval_s);
	sqlite3_bind_int64(s, 5, gs->offline_after_s);
	sqlite3_bind_int64(s, 6, gs->ephemeral_removal_s);
	sqlite3_bind_int64(s, 7, gs->ha_grace_s);
	sqlite3_bind_int64(s, 8, gs->random_grace_s);
	sqlite3_bind_int(s, 9, gs->dry_run);
	sqlite3_bind_int64(s, 10, util_now_ms());
	sqlite3_bind_int64(s, 11, gs->rebalance_settle_s);
	sqlite3_bind_int64(s, 12, gs->move_cooldown_s);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return 1;
	if (rc != SQLITE_DONE)
		return -1;
	if (out != NULL)
		return store_grid_get(st, name, out) == 1 ? 0 : -1;
	return 0;
}

int
store_grid_update_settings(struct store *st, int64_t id,
    const struct grid_settings *gs)
{
	sqlite3_stmt *s = store_stmt(st,
	    "UPDATE grids SET heartbeat_interval_s = ?2, offline_after_s = ?3,"
	    " ephemeral_removal_s = ?4, ha_grace_s = ?5, random_grace_s = ?6,"
	    " dry_run = ?7, rebalance_settle_s = ?8, move_cooldown_s = ?9"
	    " WHERE id = ?1");

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, gs->heartbeat_interval_s);
	sqlite3_bind_int64(s, 3, gs->offline_after_s);
	sqlite3_bind_int64(s, 4, gs->ephemeral_removal_s);
	sqlite3_bind_int64(s, 5, gs->ha_grace_s);
	sqlite3_bind_int64(s, 6, gs->random_grace_s);
	sqlite3_bind_int(s, 7, gs->dry_run);
	sqlite3_bind_int64(s, 8, gs->rebalance_settle_s);
	sqlite3_bind_int64(s, 9, gs->move_cooldown_s);
	return store_done(s);
}

int
store_grid_delete(struct store *st, int64_t id)
{
	sqlite3_stmt *s = store_stmt(st, "DELETE FROM grids WHERE id = ?1");
	int rc;

	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return 1;	/* nodes or stacks still refer to it */
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_grid_set_token(struct store *st, int64_t id,
    const unsigned char *token_hash, const unsigned char *sealed,
    size_t sealed_len)
{
	sqlite3_stmt *s = store_stmt(st,
	    "UPDATE grids SET token_hash = ?2, token_sealed = ?3 "
	    "WHERE id = ?1");
	int rc;

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_blob(s, 2, token_hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, sealed, (int)sealed_len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE && sqlite3_changes(store_db(st)) == 1 ? 0 : -1;
}

int
store_grid_sealed_token(struct store *st, int64_t id, unsigned char *out,
    size_t len)
{
	sqlite3_stmt *s = store_stmt(st,
	    "SELECT token_sealed FROM grids WHERE id = ?1");
	int rc;

	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if ((size_t)sqlite3_column_bytes(s, 0) != len) {
			sqlite3_reset(s);
			return -1;
		}
		memcpy(out, sqlite3_column_blob(s, 0), len);
		sqlite3_reset(s);
		return 1;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

json_t *
grid_to_json(const struct grid *g)
{
	char created[32];

	util_iso8601(g->created_at, created, sizeof created);
	return json_pack("{s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}, "
	    "s:s}",
	    "name", g->name, "settings",
	    "heartbeat_interval_s", (json_int_t)g->settings.heartbeat_interval_s,
	    "offline_after_s", (json_int_t)g->settings.offline_after_s,
	    "ephemeral_removal_s", (json_int_t)g->settings.ephemeral_removal_s,
	    "ha_grace_s", (json_int_t)g->settings.ha_grace_s,
	    "random_grace_s", (json_int_t)g->settings.random_grace_s,
	    "rebalance_settle_s", (json_int_t)g->settings.rebalance_settle_s,
	    "move_cooldown_s", (json_int_t)g->settings.move_cooldown_s,
	    "dry_run", g->settings.dry_run,
	    "created_at", created);
}

json_t *
store_grid_list_json(struct store *st)
{
	sqlite3_stmt *s = store_stmt(st,
	    "SELECT " GRID_COLS ", "
	    " (SELECT count(*) FROM nodes n WHERE n.grid_id = g.id),"
	    " (SELECT count(*) FROM nodes n WHERE n.grid_id = g.id"
	    "   AND n.status = 'online'),"
	    " (SELECT count(*) FROM stacks k WHERE k.grid_id = g.id)"
	    " FROM grids g ORDER BY name");
	/* Columns 11-13 follow the GRID_COLS above. */
	json_t *arr = json_array(), *o;
	struct grid g;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		grid_from_row(s, &g);
		o = grid_to_json(&g);
		json_object_set_new(o, "nodes",
		    json_integer(sqlite3_column_int64(s, 11)));
		json_object_set_new(o, "nodes_online",
		    json_integer(sqlite3_column_int64(s, 12)));
		json_object_set_new(o, "stacks",
		    json_integer(sqlite3_column_int64(s, 13)));
		json_array_append_new(arr, o);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

int
store_operator_hash(struct store *st, unsigned char *out, size_t len)
{
	sqlite3_stmt *s = store_stmt(st,
	    "SELECT token_hash FROM operator WHERE id = 1");
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW && (size_t)sqlite3_column_bytes(s, 0) == len) {
		memcpy(out, sqlite3_column_blob(s, 0), len);
		sqlite3_reset(s);
		return 1;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_operator_set(struct store *st, const unsigned char *hash)
{
	sqlite3_stmt *s = store_stmt(st,
	    "INSERT OR REPLACE INTO operator (id, token_hash, created_at) "
	    "VALUES (1, ?1, ?2)");

	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, util_now_ms());
	return store_done(s);
}

int
store_grid_count(struct store *st)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM grids");
	int rc = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		rc = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return rc;
}

int
store_grid_timings(struct store *st, struct grid_timings **out, size_t *n)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT id, heartbeat_interval_s,"
	    " offline_after_s FROM grids");
	struct grid_timings *v = NULL;
	size_t nv = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, nv + 1, sizeof *v);
		v[nv].id = sqlite3_column_int64(s, 0);
		v[nv].heartbeat_interval_s = sqlite3_column_int64(s, 1);
		v[nv].offline_after_s = sqlite3_column_int64(s, 2);
		nv++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(v);
		return -1;
	}
	*out = v;
	*n = nv;
	return 0;
}

int
store_grid_refs(struct store *st, struct grid_ref **out, size_t *n)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT id, name FROM grids");
	struct grid_ref *v = NULL;
	size_t nv = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, nv + 1, sizeof *v);
		v[nv].id = sqlite3_column_int64(s, 0);
		snprintf(v[nv].name, sizeof v[nv].name, "%s",
		    store_col_text(s, 1));
		nv++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(v);
		return -1;
	}
	*out = v;
	*n = nv;
	return 0;
}
