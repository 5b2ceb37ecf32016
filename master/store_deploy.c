/*
 * store_deploy.c - deploys as the API sees them, scaling, and the
 * container view of a service.
 *
 * Called from the API threads. The deploy state machine itself runs on
 * the scheduler thread (sched_deploy.c); here a deploy is only created (with one
 * row per service, in deploy order) and read back.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

int
store_deploy_create(struct store *st, int64_t stack_id, int64_t *deploy_id)
{
	sqlite3_stmt *s;
	int64_t now = util_now_ms();
	int rc;

	if (store_begin(st) != 0)
		return -1;
	/* A newer deploy supersedes one still running. */
	s = store_stmt(st, "UPDATE deploys SET state = 'error', finished_at = ?2,"
	    " error = 'superseded by a newer deploy' WHERE stack_id = ?1"
	    " AND state IN ('created', 'ongoing')");
	sqlite3_bind_int64(s, 1, stack_id);
	sqlite3_bind_int64(s, 2, now);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail;
	s = store_stmt(st, "INSERT INTO deploys (stack_id, state, created_at)"
	    " VALUES (?1, 'created', ?2)");
	sqlite3_bind_int64(s, 1, stack_id);
	sqlite3_bind_int64(s, 2, now);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail;
	*deploy_id = sqlite3_last_insert_rowid(store_db(st));
	s = store_stmt(st, "INSERT INTO deploy_services (deploy_id, service_id,"
	    " position) SELECT ?1, id, position FROM services"
	    " WHERE stack_id = ?2");
	sqlite3_bind_int64(s, 1, *deploy_id);
	sqlite3_bind_int64(s, 2, stack_id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail;
	return store_commit(st);
fail:
	store_rollback(st);
	return -1;
}

int
store_deploy_running(struct store *st, int64_t stack_id)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT 1 FROM deploys"
	    " WHERE stack_id = ?1 AND state IN ('created', 'ongoing')");
	int rc;

	sqlite3_bind_int64(s, 1, stack_id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static json_t *
time_or_null(sqlite3_stmt *s, int col)
{
	char t[32];

	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return json_null();
	util_iso8601(sqlite3_column_int64(s, col), t, sizeof t);
	return json_string(t);
}

int
store_deploy_get_json(struct store *st, int64_t stack_id, int64_t deploy_id,
    json_t **out)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT d.id, d.state, d.error,"
	    " d.created_at, d.started_at, d.finished_at, k.name FROM deploys d"
	    " JOIN stacks k ON k.id = d.stack_id"
	    " WHERE d.id = ?1 AND d.stack_id = ?2");
	json_t *o, *svcs;
	int rc;

	sqlite3_bind_int64(s, 1, deploy_id);
	sqlite3_bind_int64(s, 2, stack_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	o = json_pack("{s:I, s:s, s:s, s:s?}", "id",
	    (json_int_t)sqlite3_column_int64(s, 0), "stack",
	    store_col_text(s, 6), "state", store_col_text(s, 1), "error",
	    store_col_text(s, 2));
	json_object_set_new(o, "created_at", time_or_null(s, 3));
	json_object_set_new(o, "started_at", time_or_null(s, 4));
	json_object_set_new(o, "finished_at", time_or_null(s, 5));
	sqlite3_reset(s);

	s = store_stmt(st, "SELECT v.name, ds.state, ds.error, ds.started_at,"
	    " ds.finished_at, v.instances, v.strategy,"
	    " (SELECT count(*) FROM instances i WHERE i.service_id = v.id"
	    "   AND i.state = 'running' AND i.rev = v.rev),"
	    " (SELECT count(*) FROM instances i WHERE i.service_id = v.id)"
	    " FROM deploy_services ds JOIN services v ON v.id = ds.service_id"
	    " WHERE ds.deploy_id = ?1 ORDER BY ds.position");
	sqlite3_bind_int64(s, 1, deploy_id);
	svcs = json_array();
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *v = json_pack("{s:s, s:s, s:s?, s:I, s:s, s:I, s:I}",
		    "name", store_col_text(s, 0), "state", store_col_text(s, 1),
		    "error", store_col_text(s, 2),
		    "instances", (json_int_t)sqlite3_column_int64(s, 5),
		    "strategy", store_col_text(s, 6),
		    "running", (json_int_t)sqlite3_column_int64(s, 7),
		    "placed", (json_int_t)sqlite3_column_int64(s, 8));

		json_object_set_new(v, "started_at", time_or_null(s, 3));
		json_object_set_new(v, "finished_at", time_or_null(s, 4));
		json_array_append_new(svcs, v);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(svcs);
		json_decref(o);
		return -1;
	}
	json_object_set_new(o, "services", svcs);
	*out = o;
	return 1;
}

int
store_service_find(struct store *st, int64_t grid_id, const char *stack,
    const char *name, int64_t *service_id)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT v.id FROM services v"
	    " JOIN stacks k ON k.id = v.stack_id"
	    " WHERE k.grid_id = ?1 AND k.name = ?2 AND v.name = ?3");
	int rc;

	sqlite3_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, stack);
	store_bind_text(s, 3, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*service_id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_service_scale(struct store *st, int64_t service_id, int instances)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE services SET instances = ?2,"
	    " spec = json_set(spec, '$.instances', ?2), updated_at = ?3"
	    " WHERE id = ?1");

	sqlite3_bind_int64(s, 1, service_id);
	sqlite3_bind_int(s, 2, instances);
	sqlite3_bind_int64(s, 3, util_now_ms());
	return store_done(s);
}

json_t *
store_service_containers_json(struct store *st, int64_t service_id)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT i.instance_no, n.name,"
	    " i.node_id, i.rev, i.state, i.error, i.exit_code, i.container_id,"
	    " i.restarts, i.move_target, i.updated_at, v.name, k.name"
	    " FROM instances i JOIN nodes n ON n.id = i.node_id"
	    " JOIN services v ON v.id = i.service_id"
	    " JOIN stacks k ON k.id = v.stack_id"
	    " WHERE i.service_id = ?1 ORDER BY i.instance_no, n.name");
	json_t *arr = json_array(), *o;
	char *name, t[32];
	int rc;

	sqlite3_bind_int64(s, 1, service_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		xasprintf(&name, "%s.%s-%d.%.8s", store_col_text(s, 12),
		    store_col_text(s, 11), sqlite3_column_int(s, 0),
		    store_col_text(s, 2));
		util_iso8601(sqlite3_column_int64(s, 10), t, sizeof t);
		o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:s?, s:s?,"
		    " s:i, s:b, s:s}", "name", name, "node",
		    store_col_text(s, 1), "node_id", store_col_text(s, 2),
		    "instance", sqlite3_column_int(s, 0),
		    "rev", (json_int_t)sqlite3_column_int64(s, 3),
		    "state", store_col_text(s, 4),
		    "error", store_col_text(s, 5),
		    "container_id", store_col_text(s, 7),
		    "restarts", sqlite3_column_int(s, 8),
		    "move_target", sqlite3_column_int(s, 9),
		    "updated_at", t);
		json_object_set_new(o, "exit_code", sqlite3_column_type(s, 6) ==
		    SQLITE_NULL ? json_null() :
		    json_integer(sqlite3_column_int64(s, 6)));
		free(name);
		json_array_append_new(arr, o);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}
