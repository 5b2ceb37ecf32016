/*
 * store_node.c - node records: identity, labels, resources, liveness.
 *
 * The API threads read and edit nodes here, and the scheduler thread reads
 * them into its view and removes ephemeral nodes that stayed offline; each
 * thread on its own connection. The hub (ws thread) writes the join, node
 * info and connection transitions through store_session.c. A node's id is
 * chosen by its agent; its name is unique within the grid.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <string.h>

/* ISO-8601 UTC with milliseconds, as util_iso8601() writes it. */
#define SQL_ISO(col) \
	"CASE WHEN " col " IS NULL THEN NULL ELSE " \
	"strftime('%Y-%m-%dT%H:%M:%S', " col " / 1000, 'unixepoch') || " \
	"printf('.%03dZ', " col " % 1000) END"

/* Epoch ms now, in SQL. */
#define SQL_NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

/*
 * A node's drain (docs/nodes.md) as JSON text, or NULL: its state, who
 * asked, its times, whether the deadline forced it, and what is left on
 * the node (ha/random records, daemons, stateful records, job tasks).
 */
#define NODE_DRAIN_JSON \
	"CASE WHEN n.drain_state IS NULL THEN NULL ELSE json_object(" \
	"'state', n.drain_state, 'by', n.drain_by," \
	"'started_at', " SQL_ISO("n.drain_started_at") "," \
	"'deadline_at', " SQL_ISO("n.drain_deadline_at") "," \
	"'done_at', " SQL_ISO("n.drain_done_at") "," \
	"'forced', json(iif(n.drain_forced, 'true', 'false'))," \
	"'left', json_object(" \
	"'instances', (SELECT count(*) FROM instances i JOIN services v ON" \
	" v.id = i.service_id WHERE i.node_id = n.id AND" \
	" v.strategy != 'daemon' AND NOT v.stateful)," \
	"'daemons', (SELECT count(*) FROM instances i JOIN services v ON" \
	" v.id = i.service_id WHERE i.node_id = n.id AND" \
	" v.strategy = 'daemon')," \
	"'stateful', (SELECT count(*) FROM instances i JOIN services v ON" \
	" v.id = i.service_id WHERE i.node_id = n.id AND" \
	" v.strategy != 'daemon' AND v.stateful)," \
	"'jobs', (SELECT count(*) FROM job_attempts a WHERE" \
	" a.node_id = n.id AND a.state IN ('assigned', 'running')))) END"

/*
 * A group's node (docs/autoscaling.md) as JSON text, or NULL: its group,
 * machine and machine state, and how long it has been unneeded against
 * its group's unneeded_s.
 */
#define NODE_GROUP_JSON \
	"(SELECT json_object('name', ng.name, 'machine', m.name," \
	" 'state', m.state, 'unneeded_for_s', CASE WHEN" \
	" m.unneeded_since IS NULL OR m.unneeded_since = 0 THEN NULL ELSE" \
	" (" SQL_NOW_MS " - m.unneeded_since) / 1000 END," \
	" 'unneeded_s', ng.unneeded_s) FROM machines m JOIN node_groups ng" \
	" ON ng.id = m.group_id WHERE m.node_id = n.id LIMIT 1)"

#define NODE_COLS \
	"n.id, n.name, n.labels, n.cpus, n.memory, n.addresses, " \
	"n.agent_version, n.docker_version, n.os, n.kernel, n.connected, " \
	"n.status, n.cpu_pct, n.mem_used, n.last_seen_at, n.connected_at, " \
	"n.disconnected_at, n.created_at, g.name, " \
	"(SELECT count(*) FROM instances i WHERE i.node_id = n.id), " \
	"n.jobs_finished, n.last_job_at, n.mem_total, n.containers, " \
	"n.engine_state, n.engine_error, n.cordoned, n.protected, " \
	NODE_DRAIN_JSON ", " NODE_GROUP_JSON ", n.pending, n.pending_reason, " \
	"n.peer_address, (SELECT subnet FROM node_subnets ns WHERE ns.node_id = n.id)"

static json_t *
json_or_array(const char *text)
{
	json_t *v = text ? json_loads(text, 0, NULL) : NULL;

	if (v == NULL || !json_is_array(v)) {
		json_decref(v);
		v = json_array();
	}
	return v;
}

/* JSON text made by SQLite's json_object(), or null. */
static json_t *
json_or_null(const char *text)
{
	json_t *v = text != NULL ? json_loads(text, 0, NULL) : NULL;

	return v != NULL ? v : json_null();
}

static json_t *
json_time(struct store_stmt *s, int col)
{
	char buf[32];

	if (stmt_col_type(s, col) == STORE_NULL)
		return json_null();
	util_iso8601(stmt_col_int64(s, col), buf, sizeof buf);
	return json_string(buf);
}

static json_t *
json_text(struct store_stmt *s, int col)
{
	const char *t = store_col_text(s, col);

	return t ? json_string(t) : json_null();
}

static json_t *
node_row_json(struct store_stmt *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_text(s, 0));
	json_object_set_new(o, "name", json_text(s, 1));
	json_object_set_new(o, "grid", json_text(s, 18));
	json_object_set_new(o, "labels", json_or_array(store_col_text(s, 2)));
	json_object_set_new(o, "connected",
	    json_boolean(stmt_col_int(s, 10)));
	/* A pending node (docs/nodes.md) says so, connected or not. */
	json_object_set_new(o, "status", stmt_col_int(s, 30) ?
	    json_string("pending") : json_text(s, 11));
	json_object_set_new(o, "pending_reason", json_text(s, 31));
	json_object_set_new(o, "cpus", json_integer(stmt_col_int64(s, 3)));
	json_object_set_new(o, "memory",
	    json_integer(stmt_col_int64(s, 4)));
	json_object_set_new(o, "addresses",
	    json_or_array(store_col_text(s, 5)));
	json_object_set_new(o, "agent_version", json_text(s, 6));
	json_object_set_new(o, "docker_version", json_text(s, 7));
	json_object_set_new(o, "os", json_text(s, 8));
	json_object_set_new(o, "kernel", json_text(s, 9));
	json_object_set_new(o, "engine", json_text(s, 24));
	json_object_set_new(o, "engine_error", json_text(s, 25));
	/* An offline node's last load is not its load. */
	json_object_set_new(o, "cpu_pct",
	    stmt_col_type(s, 12) == STORE_NULL ||
	    !stmt_col_int(s, 10) ? json_null() :
	    json_real(stmt_col_double(s, 12)));
	json_object_set_new(o, "mem_used",
	    stmt_col_type(s, 13) == STORE_NULL ||
	    !stmt_col_int(s, 10) ? json_null() :
	    json_integer(stmt_col_int64(s, 13)));
	json_object_set_new(o, "last_seen_at", json_time(s, 14));
	json_object_set_new(o, "connected_at", json_time(s, 15));
	json_object_set_new(o, "disconnected_at", json_time(s, 16));
	json_object_set_new(o, "created_at", json_time(s, 17));
	json_object_set_new(o, "instances",
	    json_integer(stmt_col_int64(s, 19)));
	/* For node groups: destroy a node after N jobs, M minutes idle. */
	json_object_set_new(o, "jobs_finished",
	    json_integer(stmt_col_int64(s, 20)));
	json_object_set_new(o, "last_job_at", json_time(s, 21));
	/* From the agent's last stats: memory it sees and containers it
	 * owns (null until the first stats frame). */
	json_object_set_new(o, "mem_total",
	    stmt_col_type(s, 22) == STORE_NULL ? json_null() :
	    json_integer(stmt_col_int64(s, 22)));
	json_object_set_new(o, "containers",
	    stmt_col_type(s, 23) == STORE_NULL ? json_null() :
	    json_integer(stmt_col_int64(s, 23)));
	/* Node operations (docs/nodes.md) and node groups. */
	json_object_set_new(o, "cordoned",
	    json_boolean(stmt_col_int(s, 26)));
	json_object_set_new(o, "protected",
	    json_boolean(stmt_col_int(s, 27)));
	json_object_set_new(o, "drain", json_or_null(store_col_text(s, 28)));
	json_object_set_new(o, "group", json_or_null(store_col_text(s, 29)));
	/* The grid network (docs/network.md). */
	json_object_set_new(o, "peer_address", json_text(s, 32));
	json_object_set_new(o, "subnet", json_text(s, 33));
	return o;
}


char *
store_node_list_text(struct store *st, int64_t grid_id)
{
	/*
	 * The same objects as node_row_json(), built by SQLite's JSON
	 * functions in one pass: a grid of a thousand nodes is listed
	 * without decoding and re-encoding every row's labels.
	 */
	struct store_stmt *s = store_stmt(st,
	    "SELECT coalesce(json_group_array(json(o)), '[]') FROM ("
	    " SELECT json_object("
	    "  'id', n.id, 'name', n.name, 'grid', g.name,"
	    "  'labels', json(n.labels), 'connected', json(iif(n.connected,"
	    "   'true', 'false')),"
	    "  'status', iif(n.pending, 'pending', n.status),"
	    "  'pending_reason', n.pending_reason, 'cpus', n.cpus,"
	    "  'memory', n.memory, 'addresses', json(n.addresses),"
	    "  'agent_version', n.agent_version,"
	    "  'docker_version', n.docker_version, 'os', n.os,"
	    "  'kernel', n.kernel, 'peer_address', n.peer_address,"
	    "  'subnet', (SELECT subnet FROM node_subnets ns WHERE"
	    "   ns.node_id = n.id),"
	    "  'engine', n.engine_state, 'engine_error', n.engine_error,"
	    "  'cpu_pct', iif(n.connected, n.cpu_pct, NULL),"
	    "  'mem_used', iif(n.connected, n.mem_used, NULL),"
	    "  'mem_total', n.mem_total, 'containers', n.containers,"
	    "  'last_seen_at', " SQL_ISO("n.last_seen_at") ","
	    "  'connected_at', " SQL_ISO("n.connected_at") ","
	    "  'disconnected_at', " SQL_ISO("n.disconnected_at") ","
	    "  'created_at', " SQL_ISO("n.created_at") ","
	    "  'instances', (SELECT count(*) FROM instances i"
	    "   WHERE i.node_id = n.id),"
	    "  'jobs_finished', n.jobs_finished,"
	    "  'last_job_at', " SQL_ISO("n.last_job_at") ","
	    "  'cordoned', json(iif(n.cordoned, 'true', 'false')),"
	    "  'protected', json(iif(n.protected, 'true', 'false')),"
	    "  'drain', json(" NODE_DRAIN_JSON "),"
	    "  'group', json(" NODE_GROUP_JSON ")) AS o"
	    " FROM nodes n JOIN grids g ON g.id = n.grid_id"
	    " WHERE n.grid_id = ?1 ORDER BY n.name)");
	char *text = NULL;

	stmt_bind_int64(s, 1, grid_id);
	if (stmt_step(s) == STORE_ROW)
		text = xstrdup(store_col_text(s, 0));
	stmt_reset(s);
	return text;
}

int
store_node_get_json(struct store *st, int64_t grid_id,
    const char *name_or_id, json_t **out)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT " NODE_COLS " FROM nodes n JOIN grids g ON g.id = n.grid_id"
	    " WHERE n.grid_id = ?1 AND (n.name = ?2 OR n.id = ?2)"
	    " ORDER BY n.name = ?2 DESC LIMIT 1");

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name_or_id);
	return store_row_json(s, node_row_json, out);
}

int
store_node_find(struct store *st, int64_t grid_id, const char *name_or_id,
    char id[NODE_ID_LEN + 1])
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT id FROM nodes WHERE grid_id = ?1 AND (name = ?2 OR id = ?2)"
	    " ORDER BY name = ?2 DESC LIMIT 1");
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name_or_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		snprintf(id, NODE_ID_LEN + 1, "%s", store_col_text(s, 0));
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_node_set_labels(struct store *st, const char *id,
    const char *labels_json)
{
	struct store_stmt *s = store_stmt(st,
	    "UPDATE nodes SET labels = ?2 WHERE id = ?1");

	store_bind_text(s, 1, id);
	store_bind_text(s, 2, labels_json);
	return store_done(s);
}

int
store_node_delete(struct store *st, const char *id)
{
	struct store_stmt *s = store_stmt(st, "DELETE FROM nodes WHERE id = ?1");

	store_bind_text(s, 1, id);
	return store_done(s);
}

int
store_node_connected(struct store *st, const char *id)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT connected FROM nodes WHERE id = ?1");
	int rc, v = 0;

	store_bind_text(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		v = stmt_col_int(s, 0) != 0;
	stmt_reset(s);
	if (rc == STORE_ROW)
		return v;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_node_revoke(struct store *st, const char *id, int64_t grid_id,
    const char *name)
{
	struct store_stmt *s = store_stmt(st, "INSERT OR REPLACE INTO removed_nodes"
	    " (id, grid_id, name, removed_at) VALUES (?1, ?2, ?3, ?4)");

	store_bind_text(s, 1, id);
	stmt_bind_int64(s, 2, grid_id);
	store_bind_text(s, 3, name);
	stmt_bind_int64(s, 4, util_now_ms());
	return store_done(s);
}

int
store_node_revoked(struct store *st, const char *id)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT 1 FROM removed_nodes WHERE id = ?1");
	int rc;

	store_bind_text(s, 1, id);
	rc = stmt_step(s);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_node_clear_token(struct store *st, const char *id)
{
	struct store_stmt *s = store_stmt(st,
	    "UPDATE nodes SET token_hash = NULL WHERE id = ?1");

	store_bind_text(s, 1, id);
	return store_done(s);
}

/* ---- the scheduler's reads and removals ---------------------------------- */

#define NODE_ROW_COLS \
	"id, name, labels, cpus, memory, connected, connected_at, " \
	"disconnected_at, created_at, cpu_pct, mem_used, grid_id, " \
	"coalesce(engine_state = 'down', 0) OR EXISTS (SELECT 1 FROM " \
	"machines m WHERE m.node_id = nodes.id AND m.state IN " \
	"('terminating', 'failed')), " \
	"cordoned, coalesce(drain_state = 'draining', 0), " \
	"coalesce(drain_deadline_at, 0), pending"

/* Hand the current row of s to fn. */
static void
node_row_call(struct store_stmt *s, store_node_fn *fn, void *arg)
{
	struct node_row r;

	r.id = store_col_text(s, 0);
	r.name = store_col_text(s, 1);
	r.labels = store_col_text(s, 2);
	r.cpus = stmt_col_int64(s, 3);
	r.memory = stmt_col_int64(s, 4);
	r.connected = stmt_col_int(s, 5);
	r.connected_at = stmt_col_int64(s, 6);
	r.disconnected_at = stmt_col_int64(s, 7);
	r.created_at = stmt_col_int64(s, 8);
	r.cpu_pct = stmt_col_double(s, 9);
	r.mem_used = stmt_col_int64(s, 10);
	r.grid_id = stmt_col_int64(s, 11);
	r.engine_down = stmt_col_int(s, 12);
	r.cordoned = stmt_col_int(s, 13);
	r.draining = stmt_col_int(s, 14);
	r.drain_deadline_at = stmt_col_int64(s, 15);
	r.pending = stmt_col_int(s, 16);
	fn(arg, &r);
}

int
store_node_rows(struct store *st, int64_t grid_id, store_node_fn *fn,
    void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " NODE_ROW_COLS " FROM nodes"
	    " WHERE grid_id = ?1");
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		node_row_call(s, fn, arg);
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_node_row(struct store *st, const char *id, store_node_fn *fn,
    void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " NODE_ROW_COLS " FROM nodes"
	    " WHERE id = ?1");
	int rc;

	store_bind_text(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		node_row_call(s, fn, arg);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_node_loads(struct store *st, int64_t grid_id, store_node_load_fn *fn,
    void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT id, cpu_pct, mem_used"
	    " FROM nodes WHERE grid_id = ?1 AND cpu_pct IS NOT NULL");
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		fn(arg, store_col_text(s, 0), stmt_col_double(s, 1),
		    stmt_col_int64(s, 2));
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_node_status(struct store *st, int64_t grid_id, const char *id)
{
	struct store_stmt *s = store_stmt(st, "SELECT"
	    " EXISTS (SELECT 1 FROM nodes WHERE id = ?1),"
	    " EXISTS (SELECT 1 FROM node_tombstones WHERE id = ?1"
	    "  AND grid_id = ?2)");
	int rc, known = 0, gone = 0;

	store_bind_text(s, 1, id);
	stmt_bind_int64(s, 2, grid_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		known = stmt_col_int(s, 0);
		gone = stmt_col_int(s, 1);
	}
	stmt_reset(s);
	if (rc != STORE_ROW)
		return -1;
	return known ? STORE_NODE_KNOWN : gone ? STORE_NODE_GONE :
	    STORE_NODE_UNKNOWN;
}

int
store_node_remove(struct store *st, const char *id, char name[64])
{
	/* Its name, then the row (no RETURNING: the dqlite backend cannot
	 * run it); 1 only when this DELETE removed it. */
	struct store_stmt *s = store_stmt(st,
	    "SELECT name FROM nodes WHERE id = ?1");
	int rc;

	store_bind_text(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		snprintf(name, 64, "%s", store_col_text(s, 0));
	stmt_reset(s);
	if (rc != STORE_ROW)
		return rc == STORE_DONE ? 0 : -1;
	s = store_stmt(st, "DELETE FROM nodes WHERE id = ?1");
	store_bind_text(s, 1, id);
	if (store_done(s) != 0)
		return -1;
	return store_changes(st) > 0 ? 1 : 0;
}

/* ---- pending nodes (docs/nodes.md) ---------------------------------------- */

int
store_node_pending(struct store *st, const char *id)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT pending FROM nodes WHERE id = ?1");
	int rc, pending = 0;

	store_bind_text(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		pending = stmt_col_int(s, 0) != 0;
	stmt_reset(s);
	if (rc != STORE_ROW && rc != STORE_DONE)
		return -1;
	return pending;
}

int
store_node_approve(struct store *st, const char *id)
{
	struct store_stmt *s = store_stmt(st, "UPDATE nodes SET pending = 0,"
	    " pending_reason = NULL WHERE id = ?1 AND pending");

	store_bind_text(s, 1, id);
	if (store_done(s) != 0)
		return -1;
	return store_changes(st) > 0;
}
