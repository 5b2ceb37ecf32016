/*
 * store_nodegroup.c - node groups and their machines (docs/autoscaling.md).
 *
 * A group's settings are columns of node_groups that follow
 * nodegroup_settings_table (store_settings.c), so the statements that
 * read or write them are built once from the table, as store_grid.c
 * does. Machines change state with guarded UPDATEs (WHERE state = from),
 * so a caller that raced with another learns it from the count. Callers
 * wrap a state change and its event in one transaction.
 *
 * Runs on the caller's thread with its own connection.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NG_COLS		"id, grid_id, name, provider, labels, backoff_until," \
			" backoff_cur_s, last_add_at, last_failure_at, created_at"
#define NG_COL_SETTINGS	10

static struct {
	pthread_once_t	 once;
	char		*get_name;
	char		*get_id;
	char		*list;
	char		*create;
	char		*update;
} ng_sql = { PTHREAD_ONCE_INIT, NULL, NULL, NULL, NULL, NULL };

static void
ng_sql_build(void)
{
	const struct setting_table *t = &nodegroup_settings_table;
	char *cols = store_settings_cols(t), *set = NULL, *vals = NULL, *tmp;
	size_t i;

	for (i = 0; i < t->n; i++) {
		xasprintf(&tmp, "%s, %s = ?%zu", set ? set : "",
		    t->rows[i].name, i + 3);
		free(set);
		set = tmp;
		xasprintf(&tmp, "%s, ?%zu", vals ? vals : "", i + 7);
		free(vals);
		vals = tmp;
	}
	xasprintf(&ng_sql.get_name, "SELECT " NG_COLS ", %s FROM node_groups "
	    "WHERE grid_id = ?1 AND name = ?2", cols);
	xasprintf(&ng_sql.get_id, "SELECT " NG_COLS ", %s FROM node_groups "
	    "WHERE id = ?1", cols);
	xasprintf(&ng_sql.list, "SELECT " NG_COLS ", %s FROM node_groups "
	    "WHERE grid_id = ?1 ORDER BY priority, name", cols);
	xasprintf(&ng_sql.create, "INSERT INTO node_groups (grid_id, name, "
	    "provider, labels, created_at, updated_at, %s) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6%s)", cols, vals);
	xasprintf(&ng_sql.update, "UPDATE node_groups SET labels = ?2, "
	    "updated_at = ?%zu%s WHERE id = ?1", t->n + 3, set);
	free(cols);
	free(set);
	free(vals);
}

static const char *
ng_stmt_sql(char **which)
{
	pthread_once(&ng_sql.once, ng_sql_build);
	return *which;
}

static void
ng_from_row(struct store_stmt *s, struct nodegroup *g)
{
	memset(g, 0, sizeof *g);
	g->id = stmt_col_int64(s, 0);
	g->grid_id = stmt_col_int64(s, 1);
	snprintf(g->name, sizeof g->name, "%s", store_col_text(s, 2));
	snprintf(g->provider, sizeof g->provider, "%s", store_col_text(s, 3));
	snprintf(g->labels, sizeof g->labels, "%s", store_col_text(s, 4));
	g->backoff_until = stmt_col_int64(s, 5);
	g->backoff_s = stmt_col_int64(s, 6);
	g->last_add_at = stmt_col_int64(s, 7);
	g->last_failure_at = stmt_col_int64(s, 8);
	g->created_at = stmt_col_int64(s, 9);
	store_settings_read(s, NG_COL_SETTINGS, &nodegroup_settings_table,
	    &g->settings);
}

static int
ng_get_step(struct store_stmt *s, struct nodegroup *out)
{
	int rc = stmt_step(s);

	if (rc == STORE_ROW)
		ng_from_row(s, out);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_nodegroup_create(struct store *st, struct nodegroup *g)
{
	struct store_stmt *s = store_stmt(st, ng_stmt_sql(&ng_sql.create));
	int64_t now = util_now_ms();
	int rc;

	stmt_bind_int64(s, 1, g->grid_id);
	store_bind_text(s, 2, g->name);
	store_bind_text(s, 3, g->provider);
	store_bind_text(s, 4, g->labels);
	stmt_bind_int64(s, 5, now);
	stmt_bind_int64(s, 6, now);
	store_settings_bind(s, 7, &nodegroup_settings_table, &g->settings);
	rc = stmt_step(s);
	stmt_reset(s);
	if (rc == STORE_CONSTRAINT_UNIQUE)
		return 1;
	if (rc != STORE_DONE)
		return -1;
	g->id = store_last_id(st);
	g->created_at = now;
	return 0;
}

int
store_nodegroup_get(struct store *st, int64_t grid_id, const char *name,
    struct nodegroup *out)
{
	struct store_stmt *s = store_stmt(st, ng_stmt_sql(&ng_sql.get_name));

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	return ng_get_step(s, out);
}

int
store_nodegroup_get_id(struct store *st, int64_t id, struct nodegroup *out)
{
	struct store_stmt *s = store_stmt(st, ng_stmt_sql(&ng_sql.get_id));

	stmt_bind_int64(s, 1, id);
	return ng_get_step(s, out);
}

int
store_nodegroup_list(struct store *st, int64_t grid_id,
    struct nodegroup **out, size_t *n)
{
	struct store_stmt *s = store_stmt(st, ng_stmt_sql(&ng_sql.list));
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	stmt_bind_int64(s, 1, grid_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = xreallocarray(*out, cap, sizeof **out);
		}
		ng_from_row(s, &(*out)[(*n)++]);
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int
store_nodegroup_update(struct store *st, const struct nodegroup *g)
{
	struct store_stmt *s = store_stmt(st, ng_stmt_sql(&ng_sql.update));

	stmt_bind_int64(s, 1, g->id);
	store_bind_text(s, 2, g->labels);
	store_settings_bind(s, 3, &nodegroup_settings_table, &g->settings);
	stmt_bind_int64(s, (int)nodegroup_settings_table.n + 3,
	    util_now_ms());
	return store_done(s);
}

int
store_nodegroup_marks(struct store *st, const struct nodegroup *g)
{
	struct store_stmt *s = store_stmt(st, "UPDATE node_groups SET "
	    "backoff_until = ?2, backoff_cur_s = ?3, last_add_at = ?4, "
	    "last_failure_at = ?5 WHERE id = ?1");

	stmt_bind_int64(s, 1, g->id);
	stmt_bind_int64(s, 2, g->backoff_until);
	stmt_bind_int64(s, 3, g->backoff_s);
	stmt_bind_int64(s, 4, g->last_add_at);
	stmt_bind_int64(s, 5, g->last_failure_at);
	return store_done(s);
}

int
store_nodegroup_delete(struct store *st, int64_t id)
{
	struct store_stmt *s = store_stmt(st, "DELETE FROM node_groups WHERE id = ?1"
	    " AND NOT EXISTS (SELECT 1 FROM machines WHERE group_id = ?1)");

	stmt_bind_int64(s, 1, id);
	if (store_done(s) != 0)
		return -1;
	return store_changes(st) == 1 ? 0 : 1;
}

int
store_nodegroup_size(struct store *st, int64_t group_id, int *size, int *all)
{
	struct store_stmt *s = store_stmt(st, "SELECT"
	    " count(*) FILTER (WHERE state IN ('requested', 'launching',"
	    "   'joined')), count(*) FROM machines WHERE group_id = ?1");
	int rc;

	stmt_bind_int64(s, 1, group_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		*size = stmt_col_int(s, 0);
		*all = stmt_col_int(s, 1);
	}
	stmt_reset(s);
	return rc == STORE_ROW ? 0 : -1;
}

static void
ng_time(json_t *o, const char *key, int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return;
	util_iso8601(ms, buf, sizeof buf);
	json_object_set_new(o, key, json_string(buf));
}

json_t *
nodegroup_to_json(const struct nodegroup *g, int size)
{
	json_t *o, *labels = json_loads(g->labels, 0, NULL);

	if (labels == NULL)
		labels = json_array();
	o = json_pack("{s:s, s:s, s:I, s:I, s:i, s:o, s:o}", "name", g->name,
	    "provider", g->provider, "min", (json_int_t)g->settings.min,
	    "max", (json_int_t)g->settings.max, "size", size, "labels",
	    labels, "settings", settings_to_json(&nodegroup_settings_table,
	    &g->settings));
	if (g->backoff_until > util_now_ms())
		ng_time(o, "backoff_until", g->backoff_until);
	ng_time(o, "created_at", g->created_at);
	return o;
}

/* ---- machines ------------------------------------------------------- */

int
store_machine_add(struct store *st, const struct nodegroup *g, int64_t now,
    struct machine *out)
{
	struct store_stmt *s = store_stmt(st, "INSERT INTO machines (group_id, "
	    "state, reason, created_at, state_at) VALUES (?1, 'requested', "
	    "'scale-up', ?2, ?2)");
	struct store_stmt *u;

	stmt_bind_int64(s, 1, g->id);
	stmt_bind_int64(s, 2, now);
	if (store_done(s) != 0)
		return -1;
	memset(out, 0, sizeof *out);
	out->id = store_last_id(st);
	out->group_id = g->id;
	out->grid_id = g->grid_id;
	snprintf(out->group, sizeof out->group, "%s", g->name);
	snprintf(out->name, sizeof out->name, "%.40s-%lld", g->name,
	    (long long)out->id);
	snprintf(out->state, sizeof out->state, "requested");
	out->created_at = out->state_at = now;
	u = store_stmt(st, "UPDATE machines SET name = ?2 WHERE id = ?1");
	stmt_bind_int64(u, 1, out->id);
	store_bind_text(u, 2, out->name);
	return store_done(u);
}

static void
machine_from_row(struct store_stmt *s, struct machine *m)
{
	const char *t;

	memset(m, 0, sizeof *m);
	m->id = stmt_col_int64(s, 0);
	m->group_id = stmt_col_int64(s, 1);
	m->grid_id = stmt_col_int64(s, 2);
	snprintf(m->group, sizeof m->group, "%s", store_col_text(s, 3));
	snprintf(m->name, sizeof m->name, "%s", store_col_text(s, 4));
	snprintf(m->state, sizeof m->state, "%s", store_col_text(s, 5));
	if ((t = store_col_text(s, 6)) != NULL)
		snprintf(m->node_id, sizeof m->node_id, "%s", t);
	m->pid = stmt_col_int64(s, 7);
	if ((t = store_col_text(s, 8)) != NULL)
		snprintf(m->data_dir, sizeof m->data_dir, "%s", t);
	if ((t = store_col_text(s, 9)) != NULL)
		snprintf(m->reason, sizeof m->reason, "%s", t);
	m->created_at = stmt_col_int64(s, 10);
	m->state_at = stmt_col_int64(s, 11);
	m->joined_at = stmt_col_int64(s, 12);
	m->unneeded_since = stmt_col_int64(s, 13);
	m->node_measured = stmt_col_int(s, 14);
	m->node_online = stmt_col_int(s, 15);
	m->node_busy = stmt_col_int(s, 16);
	m->node_exists = stmt_col_int(s, 17);
	m->node_jobs = stmt_col_int(s, 18);
	m->node_protected = stmt_col_int(s, 19);
	m->node_draining = stmt_col_int(s, 20);
	if ((t = store_col_text(s, 21)) != NULL)
		snprintf(m->provider_id, sizeof m->provider_id, "%s", t);
	m->node_containers = stmt_col_int(s, 22);
	m->node_jobs_finished = stmt_col_int64(s, 23);
	m->node_engine_down = stmt_col_int(s, 24);
}

int
store_machine_list(struct store *st, int64_t grid_id, int64_t group_id,
    struct machine **out, size_t *n)
{
	/*
	 * Busy: a record of a service that is not a daemon, or a job task
	 * assigned or running there. Measured: the node reported its cpus
	 * or memory (until then nothing that reserves either is placed).
	 */
	struct store_stmt *s = store_stmt(st, "SELECT m.id, m.group_id, g.grid_id,"
	    " g.name, m.name, m.state, m.node_id, m.pid, m.data_dir, m.reason,"
	    " m.created_at, m.state_at, m.joined_at, m.unneeded_since,"
	    " coalesce(n.cpus > 0 OR n.memory > 0, 0),"
	    " coalesce(n.status = 'online', 0),"
	    " (m.node_id IS NOT NULL AND (EXISTS (SELECT 1 FROM instances i"
	    "   JOIN services v ON v.id = i.service_id WHERE i.node_id ="
	    "   m.node_id AND v.strategy != 'daemon') OR EXISTS (SELECT 1 FROM"
	    "   job_attempts a WHERE a.node_id = m.node_id AND a.state IN"
	    "   ('assigned', 'running')))),"
	    " n.id IS NOT NULL,"
	    " (m.node_id IS NOT NULL AND EXISTS (SELECT 1 FROM job_attempts a"
	    "   WHERE a.node_id = m.node_id AND a.state IN ('assigned',"
	    "   'running'))),"
	    " coalesce(n.protected, 0),"
	    " coalesce(n.drain_state = 'draining', 0),"
	    " m.provider_id, coalesce(n.containers, -1) - (SELECT count(*)"
	    "   FROM job_attempts a WHERE a.node_id = m.node_id AND a.state"
	    "   NOT IN ('assigned', 'running') AND a.container_id IS NOT"
	    "   NULL),"
	    " coalesce(n.jobs_finished, 0),"
	    " coalesce(n.engine_state = 'down', 0)"
	    " FROM machines m JOIN node_groups g ON g.id = m.group_id"
	    " LEFT JOIN nodes n ON n.id = m.node_id"
	    " WHERE g.grid_id = ?1 AND (?2 = 0 OR m.group_id = ?2)"
	    " ORDER BY m.id");
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	stmt_bind_int64(s, 1, grid_id);
	stmt_bind_int64(s, 2, group_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = xreallocarray(*out, cap, sizeof **out);
		}
		machine_from_row(s, &(*out)[(*n)++]);
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int
store_machine_state(struct store *st, int64_t id, const char *from,
    const char *to, const char *reason, int64_t now)
{
	struct store_stmt *s = store_stmt(st, "UPDATE machines SET state = ?3,"
	    " reason = ?4, state_at = ?5 WHERE id = ?1 AND state = ?2");

	stmt_bind_int64(s, 1, id);
	store_bind_text(s, 2, from);
	store_bind_text(s, 3, to);
	store_bind_text(s, 4, reason);
	stmt_bind_int64(s, 5, now);
	if (store_done(s) != 0)
		return -1;
	return store_changes(st);
}

int
store_machine_launching(struct store *st, int64_t id,
    const unsigned char *token_hash, const char *data_dir, int64_t now)
{
	struct store_stmt *s = store_stmt(st, "UPDATE machines SET state ="
	    " 'launching', join_token_hash = ?2, data_dir = ?3, reason ="
	    " 'launched', state_at = ?4 WHERE id = ?1 AND state = 'requested'");

	stmt_bind_int64(s, 1, id);
	stmt_bind_blob(s, 2, token_hash, 32);
	store_bind_text(s, 3, data_dir);
	stmt_bind_int64(s, 4, now);
	if (store_done(s) != 0)
		return -1;
	return store_changes(st);
}

int
store_machine_pid(struct store *st, int64_t id, int64_t pid)
{
	struct store_stmt *s = store_stmt(st,
	    "UPDATE machines SET pid = ?2 WHERE id = ?1");

	stmt_bind_int64(s, 1, id);
	stmt_bind_int64(s, 2, pid);
	return store_done(s);
}

int
store_machine_provider_id(struct store *st, int64_t id,
    const char *provider_id)
{
	struct store_stmt *s = store_stmt(st,
	    "UPDATE machines SET provider_id = ?2 WHERE id = ?1");

	stmt_bind_int64(s, 1, id);
	if (provider_id[0] != '\0')
		store_bind_text(s, 2, provider_id);
	else
		stmt_bind_null(s, 2);
	return store_done(s);
}

static int
ng_count(struct store_stmt *s)
{
	int rc = stmt_step(s), n = -1;

	if (rc == STORE_ROW)
		n = stmt_col_int(s, 0);
	stmt_reset(s);
	return n;
}

int
store_machine_launches_since(struct store *st, int64_t grid_id,
    int64_t since)
{
	struct store_stmt *s = store_stmt(st, "SELECT count(*) FROM events WHERE"
	    " grid_id = ?1 AND at >= ?2 AND type = 'machine.launch'");

	stmt_bind_int64(s, 1, grid_id);
	stmt_bind_int64(s, 2, since);
	return ng_count(s);
}

int
store_grid_node_count(struct store *st, int64_t grid_id)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT count(*) FROM nodes WHERE grid_id = ?1");

	stmt_bind_int64(s, 1, grid_id);
	return ng_count(s);
}

int
store_machine_unneeded(struct store *st, int64_t id, int64_t since)
{
	struct store_stmt *s = store_stmt(st,
	    "UPDATE machines SET unneeded_since = ?2 WHERE id = ?1");

	stmt_bind_int64(s, 1, id);
	if (since != 0)
		stmt_bind_int64(s, 2, since);
	else
		stmt_bind_null(s, 2);
	return store_done(s);
}

int
store_machine_delete(struct store *st, int64_t id)
{
	struct store_stmt *s = store_stmt(st, "DELETE FROM machines WHERE id = ?1");

	stmt_bind_int64(s, 1, id);
	return store_done(s);
}

json_t *
machine_to_json(const struct machine *m)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)m->id,
	    "name", m->name, "group", m->group, "state", m->state);

	ng_time(o, "created_at", m->created_at);
	ng_time(o, "state_at", m->state_at);
	if (m->node_id[0] != '\0')
		json_object_set_new(o, "node_id", json_string(m->node_id));
	if (m->pid > 0)
		json_object_set_new(o, "pid", json_integer(m->pid));
	if (m->data_dir[0] != '\0')
		json_object_set_new(o, "data_dir", json_string(m->data_dir));
	if (m->provider_id[0] != '\0')
		json_object_set_new(o, "provider_id",
		    json_string(m->provider_id));
	if (m->reason[0] != '\0')
		json_object_set_new(o, "reason", json_string(m->reason));
	ng_time(o, "joined_at", m->joined_at);
	ng_time(o, "unneeded_since", m->unneeded_since);
	return o;
}

int
store_machine_by_token(struct store *st, const unsigned char *hash,
    struct machine_claim *out)
{
	struct store_stmt *s = store_stmt(st, "SELECT m.id, g.grid_id, m.name,"
	    " g.name, g.labels, m.az FROM machines m JOIN node_groups g ON"
	    " g.id = m.group_id WHERE m.join_token_hash = ?1 AND m.state ="
	    " 'launching'");
	int rc;

	stmt_bind_blob(s, 1, hash, 32);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		memset(out, 0, sizeof *out);
		out->machine_id = stmt_col_int64(s, 0);
		out->grid_id = stmt_col_int64(s, 1);
		snprintf(out->name, sizeof out->name, "%s",
		    store_col_text(s, 2));
		snprintf(out->group, sizeof out->group, "%s",
		    store_col_text(s, 3));
		snprintf(out->labels, sizeof out->labels, "%s",
		    store_col_text(s, 4));
		snprintf(out->az, sizeof out->az, "%s", store_col_text(s, 5));
	}
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_machine_by_node(struct store *st, const char *node_id,
    struct machine_claim *out)
{
	struct store_stmt *s = store_stmt(st, "SELECT m.id, g.grid_id, m.name,"
	    " g.name, g.labels, m.az FROM machines m JOIN node_groups g ON"
	    " g.id = m.group_id WHERE m.node_id = ?1");
	int rc;

	store_bind_text(s, 1, node_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		memset(out, 0, sizeof *out);
		out->machine_id = stmt_col_int64(s, 0);
		out->grid_id = stmt_col_int64(s, 1);
		snprintf(out->name, sizeof out->name, "%s",
		    store_col_text(s, 2));
		snprintf(out->group, sizeof out->group, "%s",
		    store_col_text(s, 3));
		snprintf(out->labels, sizeof out->labels, "%s",
		    store_col_text(s, 4));
		snprintf(out->az, sizeof out->az, "%s", store_col_text(s, 5));
	}
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_nodegroup_token_set(struct store *st, int64_t id,
    const unsigned char *hash, const unsigned char *sealed, size_t sealed_len)
{
	struct store_stmt *s = store_stmt(st, "UPDATE node_groups SET"
	    " join_token_hash = ?2, join_token_sealed = ?3 WHERE id = ?1 AND"
	    " join_token_hash IS NULL");

	stmt_bind_int64(s, 1, id);
	stmt_bind_blob(s, 2, hash, 32);
	stmt_bind_blob(s, 3, sealed, (int)sealed_len);
	if (store_done(s) != 0)
		return -1;
	return store_changes(st);
}

int
store_nodegroup_token(struct store *st, int64_t id, unsigned char *hash,
    unsigned char *sealed, size_t sealed_len)
{
	struct store_stmt *s = store_stmt(st, "SELECT join_token_hash,"
	    " join_token_sealed FROM node_groups WHERE id = ?1 AND"
	    " join_token_hash IS NOT NULL");
	int rc, found = 0;

	stmt_bind_int64(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW && stmt_col_bytes(s, 0) == 32 &&
	    (size_t)stmt_col_bytes(s, 1) == sealed_len) {
		memcpy(hash, stmt_col_blob(s, 0), 32);
		memcpy(sealed, stmt_col_blob(s, 1), sealed_len);
		found = 1;
	}
	stmt_reset(s);
	if (rc != STORE_ROW && rc != STORE_DONE)
		return -1;
	return found;
}

int
store_nodegroup_by_token(struct store *st, const unsigned char *hash,
    int64_t *group_id, int64_t *grid_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT id, grid_id FROM node_groups"
	    " WHERE join_token_hash = ?1");
	int rc;

	stmt_bind_blob(s, 1, hash, 32);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		*group_id = stmt_col_int64(s, 0);
		*grid_id = stmt_col_int64(s, 1);
	}
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_machine_bind(struct store *st, int64_t id, const char *provider_id,
    const unsigned char *join_hash, const char *az)
{
	struct store_stmt *s = store_stmt(st, "UPDATE machines SET provider_id ="
	    " ?2, join_token_hash = ?3, az = ?4 WHERE id = ?1 AND state ="
	    " 'launching' AND provider_id IS NULL");

	stmt_bind_int64(s, 1, id);
	store_bind_text(s, 2, provider_id);
	stmt_bind_blob(s, 3, join_hash, 32);
	store_bind_text(s, 4, az);
	if (store_done(s) != 0)
		return -1;
	return store_changes(st);
}

/*
 * The template a group learns from its first node (docs/autoscaling.md,
 * "The node template"): a cpus or memory still 0 (not set) takes what
 * node_id, a machine of the group, reports, with a nodegroup.template
 * event, in one transaction. The condition is in the UPDATE, so two
 * first nodes reporting at once teach it once. 1 learned, 0 nothing to
 * learn, -1.
 */
int
store_nodegroup_learn(struct store *st, const char *node_id,
    int64_t *grid_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT g.id, g.grid_id, g.name,"
	    " g.cpus, g.memory, n.cpus, n.memory, n.name FROM machines m"
	    " JOIN node_groups g ON g.id = m.group_id JOIN nodes n ON"
	    " n.id = m.node_id WHERE m.node_id = ?1 AND n.cpus > 0 AND"
	    " (g.cpus = 0 OR (g.memory = 0 AND n.memory > 0))");
	int64_t id, cpus, memory, gc, gm;
	char group[64], node[64];
	int rc;

	store_bind_text(s, 1, node_id);
	rc = stmt_step(s);
	if (rc != STORE_ROW) {
		stmt_reset(s);
		return rc == STORE_DONE ? 0 : -1;
	}
	id = stmt_col_int64(s, 0);
	*grid_id = stmt_col_int64(s, 1);
	snprintf(group, sizeof group, "%s", store_col_text(s, 2));
	gc = stmt_col_int64(s, 3);
	gm = stmt_col_int64(s, 4);
	cpus = gc != 0 ? gc : stmt_col_int64(s, 5);
	memory = gm != 0 ? gm : stmt_col_int64(s, 6);
	snprintf(node, sizeof node, "%s", store_col_text(s, 7));
	stmt_reset(s);

	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "UPDATE node_groups SET cpus = ?2, memory = ?3,"
	    " updated_at = ?4 WHERE id = ?1 AND cpus = ?5 AND memory = ?6");
	stmt_bind_int64(s, 1, id);
	stmt_bind_int64(s, 2, cpus);
	stmt_bind_int64(s, 3, memory);
	stmt_bind_int64(s, 4, util_now_ms());
	stmt_bind_int64(s, 5, gc);
	stmt_bind_int64(s, 6, gm);
	if (store_done(s) != 0)
		goto fail;
	if (store_changes(st) == 0) {
		store_rollback(st);
		return 0;	/* taught meanwhile */
	}
	if (store_event_add(st, *grid_id, "nodegroup.template", group,
	    "node group %s learned its node template from its first node %s:"
	    " %s%lld cpu(s), %s%lld bytes of memory (berth nodegroup set %s "
	    "cpus=N memory=SIZE changes it)", group, node,
	    gc == 0 ? "" : "kept ", (long long)cpus,
	    gm == 0 ? "" : "kept ", (long long)memory, group) != 0 ||
	    store_commit(st) != 0)
		goto fail;
	return 1;
fail:
	store_rollback(st);
	return -1;
}
