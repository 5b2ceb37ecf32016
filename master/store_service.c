/*
 * store_service.c - services as the API shows them and the scheduler
 * reads them.
 *
 * A service row keeps its normalized spec (JSON from the stack parser)
 * plus the columns the scheduler and the queries need (strategy,
 * instances, stateful, rev). Read by the API threads as JSON, and by the
 * scheduler thread as rows for its view; each on its own connection.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <string.h>

/* Running is what a live node's engine says runs (see STORE_LIVE_NODE). */
#define SVC_COLS \
	"v.id, v.name, k.name, v.strategy, v.instances, v.stateful, v.rev, " \
	"v.spec, v.created_at, v.updated_at, " \
	"(SELECT count(*) FROM instances i JOIN nodes n ON n.id = i.node_id " \
	"  WHERE i.service_id = v.id AND i.state = 'running' AND " \
	   STORE_LIVE_NODE("n") "), " \
	"(SELECT count(*) FROM instances i WHERE i.service_id = v.id), " \
	"v.active, v.stopped"

static json_t *
service_row_json(struct store_stmt *s)
{
	json_t *o, *spec, *v;
	char t[32];

	spec = json_loads(store_col_text(s, 7), 0, NULL);
	o = json_object();
	json_object_set_new(o, "id", json_integer(stmt_col_int64(s, 0)));
	json_object_set_new(o, "name", json_string(store_col_text(s, 1)));
	json_object_set_new(o, "stack", json_string(store_col_text(s, 2)));
	json_object_set_new(o, "strategy", json_string(store_col_text(s, 3)));
	json_object_set_new(o, "instances",
	    json_integer(stmt_col_int64(s, 4)));
	json_object_set_new(o, "stateful",
	    json_boolean(stmt_col_int(s, 5)));
	json_object_set_new(o, "rev", json_integer(stmt_col_int64(s, 6)));
	v = spec ? json_object_get(spec, "affinity") : NULL;
	json_object_set_new(o, "affinity",
	    json_is_array(v) ? json_deep_copy(v) : json_array());
	v = spec ? json_object_get(spec, "image") : NULL;
	json_object_set_new(o, "image", json_is_string(v) ?
	    json_string(json_string_value(v)) : json_null());
	v = spec ? json_object_get(spec, "cpu_shares") : NULL;
	json_object_set_new(o, "cpu_shares", json_is_integer(v) ?
	    json_integer(json_integer_value(v)) : json_null());
	v = spec ? json_object_get(spec, "mem_limit") : NULL;
	json_object_set_new(o, "mem_limit", json_is_integer(v) ?
	    json_integer(json_integer_value(v)) : json_null());
	json_object_set_new(o, "running",
	    json_integer(stmt_col_int64(s, 10)));
	json_object_set_new(o, "placed",
	    json_integer(stmt_col_int64(s, 11)));
	/* Kontena's names: never deployed, deployed, or stopped. */
	json_object_set_new(o, "stopped", json_boolean(stmt_col_int(s,
	    13)));
	json_object_set_new(o, "state", json_string(stmt_col_int(s, 13) ?
	    "stopped" : stmt_col_int(s, 12) ? "running" :
	    "initialized"));
	util_iso8601(stmt_col_int64(s, 8), t, sizeof t);
	json_object_set_new(o, "created_at", json_string(t));
	util_iso8601(stmt_col_int64(s, 9), t, sizeof t);
	json_object_set_new(o, "updated_at", json_string(t));
	if (spec != NULL)
		json_object_set_new(o, "spec", spec);
	return o;
}

/* A service as lists show it: without its spec. */
static json_t *
service_row_json_brief(struct store_stmt *s)
{
	json_t *o = service_row_json(s);

	json_object_del(o, "spec");
	return o;
}

json_t *
store_service_list_json(struct store *st, int64_t grid_id, const char *stack)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT " SVC_COLS " FROM services v JOIN stacks k"
	    " ON k.id = v.stack_id WHERE k.grid_id = ?1"
	    " AND (?2 IS NULL OR k.name = ?2) ORDER BY k.name, v.position");

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, stack);
	return store_rows_json(s, json_array(), service_row_json_brief);
}

int
store_service_get_json(struct store *st, int64_t grid_id, const char *stack,
    const char *name, json_t **out)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT " SVC_COLS " FROM services v JOIN stacks k"
	    " ON k.id = v.stack_id WHERE k.grid_id = ?1 AND k.name = ?2"
	    " AND v.name = ?3");

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, stack);
	store_bind_text(s, 3, name);
	return store_row_json(s, service_row_json, out);
}

/* ---- the API's lookups and writes --------------------------------------- */

int
store_service_find(struct store *st, int64_t grid_id, const char *stack,
    const char *name, int64_t *service_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT v.id FROM services v"
	    " JOIN stacks k ON k.id = v.stack_id"
	    " WHERE k.grid_id = ?1 AND k.name = ?2 AND v.name = ?3");
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, stack);
	store_bind_text(s, 3, name);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		*service_id = stmt_col_int64(s, 0);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_service_scale(struct store *st, int64_t service_id, int instances)
{
	/* Not into the spec: spec.instances stays the file's (see
	 * store_stack_update()), so an unchanged file keeps this count. */
	struct store_stmt *s = store_stmt(st, "UPDATE services SET instances = ?2,"
	    " updated_at = ?3 WHERE id = ?1");

	stmt_bind_int64(s, 1, service_id);
	stmt_bind_int(s, 2, instances);
	stmt_bind_int64(s, 3, util_now_ms());
	if (store_done(s) != 0)
		return -1;
	/* Removed with its stack since the caller looked it up. */
	return store_changes(st) == 0 ? 1 : 0;
}

json_t *
store_service_containers_json(struct store *st, int64_t service_id)
{
	/*
	 * What the node last reported is the truth only while the node is
	 * there to say so: on an offline node, or one whose agent cannot
	 * reach its Docker Engine, the state is "unknown" with the reason,
	 * and the last report stays in reported_state.
	 */
	struct store_stmt *s = store_stmt(st, "SELECT i.instance_no, n.name,"
	    " i.node_id, i.rev,"
	    " CASE WHEN NOT n.connected OR n.engine_state = 'down'"
	    "  THEN 'unknown' ELSE i.state END,"
	    " CASE WHEN NOT n.connected THEN 'node offline'"
	    "  WHEN n.engine_state = 'down' THEN 'the Docker Engine of node '"
	    "   || n.name || ' is down: ' || coalesce(n.engine_error, '?')"
	    "  ELSE i.error END,"
	    " i.exit_code, i.container_id,"
	    " i.restarts, i.move_target, i.updated_at, v.name, k.name,"
	    " i.state, i.last_output, i.health, i.health_error,"
	    " i.health_restarts, i.last_hook"
	    " FROM instances i JOIN nodes n ON n.id = i.node_id"
	    " JOIN services v ON v.id = i.service_id"
	    " JOIN stacks k ON k.id = v.stack_id"
	    " WHERE i.service_id = ?1 ORDER BY i.instance_no, n.name");
	json_t *arr = json_array(), *o, *hook;
	char *name, t[32];
	int rc;

	stmt_bind_int64(s, 1, service_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		xasprintf(&name, "%s.%s-%d.%.8s", store_col_text(s, 12),
		    store_col_text(s, 11), stmt_col_int(s, 0),
		    store_col_text(s, 2));
		util_iso8601(stmt_col_int64(s, 10), t, sizeof t);
		o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:s?, s:s?,"
		    " s:i, s:b, s:s}", "name", name, "node",
		    store_col_text(s, 1), "node_id", store_col_text(s, 2),
		    "instance", stmt_col_int(s, 0),
		    "rev", (json_int_t)stmt_col_int64(s, 3),
		    "state", store_col_text(s, 4),
		    "error", store_col_text(s, 5),
		    "container_id", store_col_text(s, 7),
		    "restarts", stmt_col_int(s, 8),
		    "move_target", stmt_col_int(s, 9),
		    "updated_at", t);
		json_object_set_new(o, "exit_code", stmt_col_type(s, 6) ==
		    STORE_NULL ? json_null() :
		    json_integer(stmt_col_int64(s, 6)));
		json_object_set_new(o, "reported_state",
		    json_string(store_col_text(s, 13)));
		json_object_set_new(o, "last_output", store_col_text(s, 14) ?
		    json_string(store_col_text(s, 14)) : json_null());
		/* Its health_check's verdict (null without one). */
		json_object_set_new(o, "health", store_col_text(s, 15) ?
		    json_string(store_col_text(s, 15)) : json_null());
		json_object_set_new(o, "health_error", store_col_text(s, 16) ?
		    json_string(store_col_text(s, 16)) : json_null());
		json_object_set_new(o, "health_restarts",
		    json_integer(stmt_col_int64(s, 17)));
		/* The last hook its agent ran (docs/hooks.md). */
		hook = store_col_text(s, 18) != NULL ?
		    json_loads(store_col_text(s, 18), 0, NULL) : NULL;
		json_object_set_new(o, "last_hook", hook != NULL ? hook :
		    json_null());
		free(name);
		json_array_append_new(arr, o);
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* ---- the scheduler's reads ----------------------------------------------- */

#define SERVICE_ROW_COLS \
	"v.id, k.name, v.name, v.strategy, v.instances, v.stateful, " \
	"v.min_health, v.rev, v.spec, k.grid_id"

/* Hand the current row of s to fn. */
static void
service_row_call(struct store_stmt *s, store_service_fn *fn, void *arg)
{
	struct service_row r;

	r.id = stmt_col_int64(s, 0);
	r.stack = store_col_text(s, 1);
	r.name = store_col_text(s, 2);
	r.strategy = store_col_text(s, 3);
	r.instances = stmt_col_int(s, 4);
	r.stateful = stmt_col_int(s, 5);
	r.min_health = stmt_col_double(s, 6);
	r.rev = stmt_col_int64(s, 7);
	r.spec = store_col_text(s, 8);
	r.grid_id = stmt_col_int64(s, 9);
	fn(arg, &r);
}

int
store_service_rows(struct store *st, int64_t grid_id, store_service_fn *fn,
    void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " SERVICE_ROW_COLS
	    " FROM services v JOIN stacks k ON k.id = v.stack_id"
	    " WHERE k.grid_id = ?1 AND v.active = 1 AND v.stopped = 0");
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		service_row_call(s, fn, arg);
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_service_row(struct store *st, int64_t id, store_service_fn *fn,
    void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " SERVICE_ROW_COLS
	    " FROM services v JOIN stacks k ON k.id = v.stack_id"
	    " WHERE v.id = ?1 AND v.active = 1 AND v.stopped = 0");
	int rc;

	stmt_bind_int64(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		service_row_call(s, fn, arg);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_service_label(struct store *st, int64_t id, char *label, size_t len,
    int64_t *rev)
{
	struct store_stmt *s = store_stmt(st, "SELECT k.name, v.name, v.rev"
	    " FROM services v JOIN stacks k ON k.id = v.stack_id"
	    " WHERE v.id = ?1");
	int rc;

	stmt_bind_int64(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		snprintf(label, len, "%s/%s", store_col_text(s, 0),
		    store_col_text(s, 1));
		*rev = stmt_col_int64(s, 2);
	}
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_service_grid(struct store *st, int64_t id, int64_t *grid_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT k.grid_id FROM services v"
	    " JOIN stacks k ON k.id = v.stack_id WHERE v.id = ?1");
	int rc;

	stmt_bind_int64(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		*grid_id = stmt_col_int64(s, 0);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}
