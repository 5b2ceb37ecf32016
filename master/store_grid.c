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

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * The statements that name every setting column are built once from
 * grid_settings_table (store_stmt() caches by the text's address, which
 * stays put). Fixed columns first, then the settings in table order from
 * GRID_COL_SETTINGS on.
 */
#define GRID_COL_SETTINGS	3	/* id, name, created_at, settings... */

static struct {
	pthread_once_t	 once;
	char		*get_name;	/* SELECT ... WHERE name = ?1 */
	char		*get_id;	/* SELECT ... WHERE id = ?1 */
	char		*by_token;	/* SELECT ... WHERE token_hash = ?1 */
	char		*list;		/* SELECT ... + counts, all grids */
	char		*create;	/* INSERT, settings from ?5 on */
	char		*update;	/* UPDATE settings from ?2 on */
} grid_sql = { PTHREAD_ONCE_INIT, NULL, NULL, NULL, NULL, NULL, NULL };

static void
grid_sql_build(void)
{
	const struct setting_table *t = &grid_settings_table;
	char *cols = store_settings_cols(t), *set = NULL, *vals = NULL, *tmp;
	size_t i;

	for (i = 0; i < t->n; i++) {
		xasprintf(&tmp, "%s%s%s = ?%zu", set ? set : "",
		    set ? ", " : "", t->rows[i].name, i + 2);
		free(set);
		set = tmp;
		xasprintf(&tmp, "%s, ?%zu", vals ? vals : "", i + 5);
		free(vals);
		vals = tmp;
	}
	xasprintf(&grid_sql.get_name, "SELECT id, name, created_at, %s "
	    "FROM grids WHERE name = ?1", cols);
	xasprintf(&grid_sql.get_id, "SELECT id, name, created_at, %s "
	    "FROM grids WHERE id = ?1", cols);
	xasprintf(&grid_sql.by_token, "SELECT id, name, created_at, %s "
	    "FROM grids WHERE token_hash = ?1", cols);
	xasprintf(&grid_sql.list, "SELECT id, name, created_at, %s,"
	    " (SELECT count(*) FROM nodes n WHERE n.grid_id = g.id),"
	    " (SELECT count(*) FROM nodes n WHERE n.grid_id = g.id"
	    "   AND n.status = 'online'),"
	    " (SELECT count(*) FROM stacks k WHERE k.grid_id = g.id)"
	    " FROM grids g ORDER BY name", cols);
	xasprintf(&grid_sql.create, "INSERT INTO grids (name, token_hash, "
	    "token_sealed, created_at, %s) VALUES (?1, ?2, ?3, ?4%s)", cols,
	    vals);
	xasprintf(&grid_sql.update, "UPDATE grids SET %s WHERE id = ?1", set);
	free(cols);
	free(set);
	free(vals);
}

static const char *
grid_stmt_sql(char **which)
{
	pthread_once(&grid_sql.once, grid_sql_build);
	return *which;
}

static void
grid_from_row(struct store_stmt *s, struct grid *g)
{
	memset(g, 0, sizeof *g);
	g->id = stmt_col_int64(s, 0);
	snprintf(g->name, sizeof g->name, "%s", store_col_text(s, 1));
	g->created_at = stmt_col_int64(s, 2);
	store_settings_read(s, GRID_COL_SETTINGS, &grid_settings_table,
	    &g->settings);
}

static int
grid_get_step(struct store_stmt *s, struct grid *out)
{
	int rc = stmt_step(s);

	if (rc == STORE_ROW) {
		if (out != NULL)
			grid_from_row(s, out);
		stmt_reset(s);
		return 1;
	}
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_grid_get(struct store *st, const char *name, struct grid *out)
{
	struct store_stmt *s = store_stmt(st, grid_stmt_sql(&grid_sql.get_name));

	store_bind_text(s, 1, name);
	return grid_get_step(s, out);
}

int
store_grid_get_id(struct store *st, int64_t id, struct grid *out)
{
	struct store_stmt *s = store_stmt(st, grid_stmt_sql(&grid_sql.get_id));

	stmt_bind_int64(s, 1, id);
	return grid_get_step(s, out);
}

int
store_grid_by_token(struct store *st, const unsigned char *hash,
    struct grid *out)
{
	struct store_stmt *s = store_stmt(st, grid_stmt_sql(&grid_sql.by_token));

	stmt_bind_blob(s, 1, hash, 32);
	return grid_get_step(s, out);
}

int
store_grid_create(struct store *st, const char *name,
    const struct grid_settings *gs, const unsigned char *token_hash,
    const unsigned char *sealed, size_t sealed_len, struct grid *out)
{
	struct store_stmt *s = store_stmt(st, grid_stmt_sql(&grid_sql.create));
	int rc;

	store_bind_text(s, 1, name);
	stmt_bind_blob(s, 2, token_hash, 32);
	stmt_bind_blob(s, 3, sealed, (int)sealed_len);
	stmt_bind_int64(s, 4, util_now_ms());
	store_settings_bind(s, 5, &grid_settings_table, gs);
	rc = stmt_step(s);
	stmt_reset(s);
	if (rc == STORE_CONSTRAINT_UNIQUE)
		return 1;
	if (rc != STORE_DONE)
		return -1;
	if (out != NULL)
		return store_grid_get(st, name, out) == 1 ? 0 : -1;
	return 0;
}

int
store_grid_update_settings(struct store *st, int64_t id,
    const struct grid_settings *gs)
{
	struct store_stmt *s = store_stmt(st, grid_stmt_sql(&grid_sql.update));

	stmt_bind_int64(s, 1, id);
	store_settings_bind(s, 2, &grid_settings_table, gs);
	return store_done(s);
}

int
store_grid_delete(struct store *st, int64_t id)
{
	struct store_stmt *s = store_stmt(st, "DELETE FROM grids WHERE id = ?1");
	int rc;

	stmt_bind_int64(s, 1, id);
	rc = stmt_step(s);
	stmt_reset(s);
	if ((rc & 0xff) == STORE_CONSTRAINT)
		return 1;	/* nodes or stacks still refer to it */
	return rc == STORE_DONE ? 0 : -1;
}

int
store_grid_set_token(struct store *st, int64_t id,
    const unsigned char *token_hash, const unsigned char *sealed,
    size_t sealed_len)
{
	struct store_stmt *s = store_stmt(st,
	    "UPDATE grids SET token_hash = ?2, token_sealed = ?3 "
	    "WHERE id = ?1");
	int rc;

	stmt_bind_int64(s, 1, id);
	stmt_bind_blob(s, 2, token_hash, 32);
	stmt_bind_blob(s, 3, sealed, (int)sealed_len);
	rc = stmt_step(s);
	stmt_reset(s);
	return rc == STORE_DONE && store_changes(st) == 1 ? 0 : -1;
}

int
store_grid_sealed_token(struct store *st, int64_t id, unsigned char *out,
    size_t len)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT token_sealed FROM grids WHERE id = ?1");
	int rc;

	stmt_bind_int64(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		if ((size_t)stmt_col_bytes(s, 0) != len) {
			stmt_reset(s);
			return -1;
		}
		memcpy(out, stmt_col_blob(s, 0), len);
		stmt_reset(s);
		return 1;
	}
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

json_t *
grid_to_json(const struct grid *g)
{
	char created[32];

	util_iso8601(g->created_at, created, sizeof created);
	return json_pack("{s:s, s:o, s:s}", "name", g->name, "settings",
	    settings_to_json(&grid_settings_table, &g->settings),
	    "created_at", created);
}

json_t *
store_grid_list_json(struct store *st)
{
	struct store_stmt *s = store_stmt(st, grid_stmt_sql(&grid_sql.list));
	/* The three counts follow the settings columns. */
	int k = GRID_COL_SETTINGS + (int)grid_settings_table.n;
	json_t *arr = json_array(), *o;
	struct grid g;
	int rc;

	while ((rc = stmt_step(s)) == STORE_ROW) {
		grid_from_row(s, &g);
		o = grid_to_json(&g);
		json_object_set_new(o, "nodes",
		    json_integer(stmt_col_int64(s, k)));
		json_object_set_new(o, "nodes_online",
		    json_integer(stmt_col_int64(s, k + 1)));
		json_object_set_new(o, "stacks",
		    json_integer(stmt_col_int64(s, k + 2)));
		json_array_append_new(arr, o);
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

int
store_operator_hash(struct store *st, unsigned char *out, size_t len)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT token_hash FROM operator WHERE id = 1");
	int rc = stmt_step(s);

	if (rc == STORE_ROW && (size_t)stmt_col_bytes(s, 0) == len) {
		memcpy(out, stmt_col_blob(s, 0), len);
		stmt_reset(s);
		return 1;
	}
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_operator_set(struct store *st, const unsigned char *hash)
{
	struct store_stmt *s = store_stmt(st,
	    "INSERT OR REPLACE INTO operator (id, token_hash, created_at) "
	    "VALUES (1, ?1, ?2)");

	stmt_bind_blob(s, 1, hash, 32);
	stmt_bind_int64(s, 2, util_now_ms());
	return store_done(s);
}

int
store_grid_count(struct store *st)
{
	struct store_stmt *s = store_stmt(st, "SELECT count(*) FROM grids");
	int rc = -1;

	if (stmt_step(s) == STORE_ROW)
		rc = stmt_col_int(s, 0);
	stmt_reset(s);
	return rc;
}

int
store_grid_join_manual(struct store *st, int64_t grid_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT join_approval = 'manual'"
	    " FROM grids WHERE id = ?1");
	int rc, manual = 0;

	stmt_bind_int64(s, 1, grid_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		manual = stmt_col_int(s, 0);
	stmt_reset(s);
	return rc == STORE_ROW || rc == STORE_DONE ? manual : -1;
}

int
store_grid_timings(struct store *st, struct grid_timings **out, size_t *n)
{
	struct store_stmt *s = store_stmt(st, "SELECT id, heartbeat_interval_s,"
	    " offline_after_s, name FROM grids");
	struct grid_timings *v = NULL;
	size_t nv = 0;
	int rc;

	while ((rc = stmt_step(s)) == STORE_ROW) {
		v = xreallocarray(v, nv + 1, sizeof *v);
		v[nv].id = stmt_col_int64(s, 0);
		v[nv].heartbeat_interval_s = stmt_col_int64(s, 1);
		v[nv].offline_after_s = stmt_col_int64(s, 2);
		snprintf(v[nv].name, sizeof v[nv].name, "%s",
		    store_col_text(s, 3) ? store_col_text(s, 3) : "");
		nv++;
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
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
	struct store_stmt *s = store_stmt(st, "SELECT id, name FROM grids");
	struct grid_ref *v = NULL;
	size_t nv = 0;
	int rc;

	while ((rc = stmt_step(s)) == STORE_ROW) {
		v = xreallocarray(v, nv + 1, sizeof *v);
		v[nv].id = stmt_col_int64(s, 0);
		snprintf(v[nv].name, sizeof v[nv].name, "%s",
		    store_col_text(s, 1));
		nv++;
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		free(v);
		return -1;
	}
	*out = v;
	*n = nv;
	return 0;
}
