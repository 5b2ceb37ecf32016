/*
 * store_deploy.c - deploys in the store: creating and showing them (API
 * threads), the snapshot the deploy machine decides on and its writes
 * (scheduler thread, sched_deploy.c); also scaling and the container view
 * of a service.
 *
 * A deploy has one deploy_services row per service of its stack, in
 * deploy order, each with its own state. The machine's writes are small
 * transactions, each with its event, so that a master killed mid-deploy
 * restarts from exactly what was recorded. The writes that begin or end a
 * deploy touch it only while it is unfinished: an API thread may supersede
 * it or remove its stack between the snapshot and the write.
 */
#include "master/store.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The one table between the states and their names. */
static const char *const deploy_state_names[DEPLOY_NSTATES] = {
	[DEPLOY_CREATED] = "created",
	[DEPLOY_ONGOING] = "ongoing",
	[DEPLOY_SUCCESS] = "success",
	[DEPLOY_ERROR] = "error",
};

const char *
deploy_state_name(enum deploy_state s)
{
	assert((unsigned)s < DEPLOY_NSTATES);
	return deploy_state_names[s];
}

int
deploy_state_parse(const char *name, enum deploy_state *out)
{
	size_t i;

	for (i = 0; i < DEPLOY_NSTATES; i++) {
		if (name != NULL && strcmp(name, deploy_state_names[i]) == 0) {
			*out = (enum deploy_state)i;
			return 0;
		}
	}
	return -1;
}

int
store_deploy_insert(struct store *st, int64_t stack_id, int64_t service_id,
    int64_t *deploy_id)
{
	struct store_stmt *s;
	int64_t now = util_now_ms();

	/* A newer deploy supersedes one still running. */
	s = store_stmt(st, "UPDATE deploys SET state = 'error', finished_at = ?2,"
	    " error = 'superseded by a newer deploy' WHERE stack_id = ?1"
	    " AND state IN ('created', 'ongoing')");
	stmt_bind_int64(s, 1, stack_id);
	stmt_bind_int64(s, 2, now);
	if (store_done(s) != 0)
		return -1;
	s = store_stmt(st, "INSERT INTO deploys (stack_id, state, created_at)"
	    " VALUES (?1, 'created', ?2)");
	stmt_bind_int64(s, 1, stack_id);
	stmt_bind_int64(s, 2, now);
	if (store_done(s) != 0)
		return -1;
	*deploy_id = store_last_id(st);
	s = store_stmt(st, "INSERT INTO deploy_services (deploy_id, service_id,"
	    " position) SELECT ?1, id, position FROM services"
	    " WHERE stack_id = ?2 AND (?3 = 0 OR id = ?3)");
	stmt_bind_int64(s, 1, *deploy_id);
	stmt_bind_int64(s, 2, stack_id);
	stmt_bind_int64(s, 3, service_id);
	return store_done(s);
}

int
store_deploy_create(struct store *st, int64_t stack_id, int64_t *deploy_id)
{
	struct store_stmt *s;
	int rc;

	if (store_begin(st) != 0)
		return -1;
	/* Another request may have removed the stack since it was looked
	 * up: the caller answers 404, not a store error. */
	s = store_stmt(st, "SELECT 1 FROM stacks WHERE id = ?1");
	stmt_bind_int64(s, 1, stack_id);
	rc = stmt_step(s);
	stmt_reset(s);
	if (rc != STORE_ROW) {
		store_rollback(st);
		return rc == STORE_DONE ? 1 : -1;
	}
	if (store_deploy_insert(st, stack_id, 0, deploy_id) != 0) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st);
}

int
store_deploy_running(struct store *st, int64_t stack_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT 1 FROM deploys"
	    " WHERE stack_id = ?1 AND state IN ('created', 'ongoing')");
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	rc = stmt_step(s);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_deploy_intervals(struct store *st, int64_t grid_id, int64_t now_ms,
    int *n)
{
	struct store_stmt *s;
	struct due {
		int64_t stack_id, service_id, interval;
		char *name;
	} *due = NULL;
	size_t ndue = 0, i;
	int64_t id;
	int rc;

	*n = 0;
	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "SELECT v.stack_id, v.id, k.name || '/' || v.name,"
	    " json_extract(v.spec, '$.deploy.interval') FROM services v"
	    " JOIN stacks k ON k.id = v.stack_id WHERE k.grid_id = ?1"
	    " AND v.active AND NOT v.stopped"
	    " AND json_extract(v.spec, '$.deploy.interval') > 0"
	    " AND NOT EXISTS (SELECT 1 FROM deploys d WHERE d.stack_id ="
	    "  v.stack_id AND d.state IN ('created', 'ongoing'))"
	    " AND (SELECT max(d.created_at) FROM deploys d JOIN deploy_services"
	    "  ds ON ds.deploy_id = d.id WHERE ds.service_id = v.id) <="
	    "  ?2 - 1000 * json_extract(v.spec, '$.deploy.interval')");
	stmt_bind_int64(s, 1, grid_id);
	stmt_bind_int64(s, 2, now_ms);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		due = xreallocarray(due, ndue + 1, sizeof *due);
		due[ndue].stack_id = stmt_col_int64(s, 0);
		due[ndue].service_id = stmt_col_int64(s, 1);
		due[ndue].name = xstrdup(store_col_text(s, 2));
		due[ndue].interval = stmt_col_int64(s, 3);
		ndue++;
	}
	stmt_reset(s);
	for (i = 0; rc == STORE_DONE && i < ndue; i++) {
		/* Two services of one stack due at once: one deploy each
		 * would supersede the other; the second waits a round. */
		if (i > 0 && due[i].stack_id == due[i - 1].stack_id)
			continue;
		if (store_deploy_insert(st, due[i].stack_id,
		    due[i].service_id, &id) != 0 ||
		    store_event_add(st, grid_id, "deploy.interval",
		    due[i].name, "periodic deploy %lld of %s (deploy.interval"
		    " %llds)", (long long)id, due[i].name,
		    (long long)due[i].interval) != 0)
			rc = STORE_ERROR;
		else
			(*n)++;
	}
	for (i = 0; i < ndue; i++)
		free(due[i].name);
	free(due);
	if (rc != STORE_DONE) {
		store_rollback(st);
		*n = 0;
		return -1;
	}
	return store_commit(st) == 0 ? 0 : -1;
}

static json_t *
time_or_null(struct store_stmt *s, int col)
{
	char t[32];

	if (stmt_col_type(s, col) == STORE_NULL)
		return json_null();
	util_iso8601(stmt_col_int64(s, col), t, sizeof t);
	return json_string(t);
}

int
store_deploy_get_json(struct store *st, int64_t stack_id, int64_t deploy_id,
    json_t **out)
{
	struct store_stmt *s = store_stmt(st, "SELECT d.id, d.state, d.error,"
	    " d.created_at, d.started_at, d.finished_at, k.name FROM deploys d"
	    " JOIN stacks k ON k.id = d.stack_id"
	    " WHERE d.id = ?1 AND d.stack_id = ?2");
	json_t *o, *svcs;
	int rc;

	stmt_bind_int64(s, 1, deploy_id);
	stmt_bind_int64(s, 2, stack_id);
	rc = stmt_step(s);
	if (rc != STORE_ROW) {
		stmt_reset(s);
		return rc == STORE_DONE ? 0 : -1;
	}
	o = json_pack("{s:I, s:s, s:s, s:s?}", "id",
	    (json_int_t)stmt_col_int64(s, 0), "stack",
	    store_col_text(s, 6), "state", store_col_text(s, 1), "error",
	    store_col_text(s, 2));
	json_object_set_new(o, "created_at", time_or_null(s, 3));
	json_object_set_new(o, "started_at", time_or_null(s, 4));
	json_object_set_new(o, "finished_at", time_or_null(s, 5));
	stmt_reset(s);

	s = store_stmt(st, "SELECT v.name, ds.state, ds.error, ds.started_at,"
	    " ds.finished_at, v.instances, v.strategy,"
	    " (SELECT count(*) FROM instances i WHERE i.service_id = v.id"
	    "   AND i.state = 'running' AND i.rev = v.rev),"
	    " (SELECT count(*) FROM instances i WHERE i.service_id = v.id),"
	    " v.id FROM deploy_services ds JOIN services v ON v.id = ds.service_id"
	    " WHERE ds.deploy_id = ?1 ORDER BY ds.position");
	stmt_bind_int64(s, 1, deploy_id);
	svcs = json_array();
	while ((rc = stmt_step(s)) == STORE_ROW) {
		json_t *v = json_pack("{s:s, s:s, s:s?, s:I, s:s, s:I, s:I}",
		    "name", store_col_text(s, 0), "state", store_col_text(s, 1),
		    "error", store_col_text(s, 2),
		    "instances", (json_int_t)stmt_col_int64(s, 5),
		    "strategy", store_col_text(s, 6),
		    "running", (json_int_t)stmt_col_int64(s, 7),
		    "placed", (json_int_t)stmt_col_int64(s, 8));

		json_object_set_new(v, "started_at", time_or_null(s, 3));
		json_object_set_new(v, "finished_at", time_or_null(s, 4));
		json_object_set_new(v, "service_id",
		    json_integer(stmt_col_int64(s, 9)));
		json_array_append_new(svcs, v);
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		json_decref(svcs);
		json_decref(o);
		return -1;
	}
	json_object_set_new(o, "services", svcs);
	*out = o;
	return 1;
}

static json_t *
deploy_row_json(struct store_stmt *s)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s?}", "id",
	    (json_int_t)stmt_col_int64(s, 0), "stack",
	    store_col_text(s, 6), "state", store_col_text(s, 1), "error",
	    store_col_text(s, 2));

	json_object_set_new(o, "created_at", time_or_null(s, 3));
	json_object_set_new(o, "started_at", time_or_null(s, 4));
	json_object_set_new(o, "finished_at", time_or_null(s, 5));
	return o;
}

json_t *
store_deploy_list_json(struct store *st, int64_t stack_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT d.id, d.state, d.error,"
	    " d.created_at, d.started_at, d.finished_at, k.name FROM deploys d"
	    " JOIN stacks k ON k.id = d.stack_id WHERE d.stack_id = ?1"
	    " ORDER BY d.id DESC");

	stmt_bind_int64(s, 1, stack_id);
	return store_rows_json(s, json_array(), deploy_row_json);
}

/* ---- the deploy machine's snapshot (scheduler thread) ------------------ */

void
store_deploy_snaps_free(struct deploy_snap *v, size_t n)
{
	size_t i, j;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < v[i].nservices; j++)
			free(v[i].services[j].error);
		free(v[i].services);
	}
	free(v);
}

/*
 * SQL: an instance at its service's revision (aliases i, n, v) that fails
 * a deploy at once: in error, crashing (its container keeps exiting),
 * paused by hand, or on a connected node whose Docker Engine is down. A
 * failed pull is not among them: the agent reports it "pulling" with the
 * error while it retries, and the deploy waits for it within its time.
 */
#define DEPLOY_FAILED \
	"(i.rev = v.rev AND (i.state IN ('error', 'crashing', 'paused') OR " \
	" (n.connected AND n.engine_state = 'down')))"
/* Its reason, in words. */
#define DEPLOY_FAILED_WHY \
	"CASE WHEN n.connected AND n.engine_state = 'down' THEN" \
	" 'the Docker Engine of node ' || n.name || ' is down: ' ||" \
	" coalesce(n.engine_error, '?')" \
	" WHEN i.state = 'crashing' THEN 'crashing (exit code ' ||" \
	" coalesce(i.exit_code, '?') || ', ' || i.restarts || ' restarts)' ||" \
	" coalesce('; last output: ' || replace(rtrim(i.last_output," \
	" char(10)), char(10), ' | '), '')" \
	" WHEN i.state = 'paused' THEN 'paused (docker pause); unpause it'" \
	" ELSE coalesce(i.error, 'error') END"

/* The first instance of v that fails the deploy, by instance number. */
static int
snap_first_error(struct store *st, struct deploy_service *v)
{
	struct store_stmt *s = store_stmt(st, "SELECT i.instance_no, n.name, "
	    DEPLOY_FAILED_WHY " FROM instances i JOIN nodes n"
	    " ON n.id = i.node_id JOIN services v ON v.id = i.service_id"
	    " WHERE i.service_id = ?1 AND v.rev = ?2 AND " DEPLOY_FAILED
	    " ORDER BY i.instance_no, i.node_id LIMIT 1");
	int rc;

	stmt_bind_int64(s, 1, v->id);
	stmt_bind_int64(s, 2, v->rev);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		v->error_no = stmt_col_int(s, 0);
		snprintf(v->error_node, sizeof v->error_node, "%s",
		    store_col_text(s, 1));
		if (store_col_text(s, 2) != NULL)
			v->error = xstrdup(store_col_text(s, 2));
	}
	stmt_reset(s);
	/* The count said there is one, in the same read transaction. */
	return rc == STORE_ROW ? 0 : -1;
}

/* d's services in deploy order, their instance rows counted. 0 or -1. */
static int
snap_services(struct store *st, struct deploy_snap *d)
{
	struct store_stmt *s = store_stmt(st, "SELECT ds.service_id, ds.state,"
	    " v.name, v.rev, v.min_health, v.active, v.stopped, count(i.id),"
	    " count(CASE WHEN i.rev < v.rev THEN 1 END),"
	    " count(CASE WHEN i.rev >= v.rev AND i.state = 'running' AND "
	    STORE_LIVE_NODE("n") " THEN 1 END),"
	    " count(CASE WHEN " DEPLOY_FAILED " THEN 1 END)"
	    " FROM deploy_services ds JOIN services v ON v.id = ds.service_id"
	    " LEFT JOIN instances i ON i.service_id = v.id"
	    " LEFT JOIN nodes n ON n.id = i.node_id"
	    " WHERE ds.deploy_id = ?1 GROUP BY ds.service_id"
	    " ORDER BY ds.position, ds.service_id");
	struct deploy_service *v;
	size_t i;
	int rc;

	stmt_bind_int64(s, 1, d->id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		d->services = xreallocarray(d->services, d->nservices + 1,
		    sizeof *d->services);
		v = &d->services[d->nservices++];
		memset(v, 0, sizeof *v);
		v->id = stmt_col_int64(s, 0);
		if (deploy_state_parse(store_col_text(s, 1), &v->state) != 0)
			break;	/* the schema's CHECK rules this out */
		snprintf(v->name, sizeof v->name, "%s", store_col_text(s, 2));
		v->rev = stmt_col_int64(s, 3);
		v->min_health = stmt_col_double(s, 4);
		v->active = stmt_col_int(s, 5);
		v->stopped = stmt_col_int(s, 6);
		v->placed = (size_t)stmt_col_int64(s, 7);
		v->outdated = (size_t)stmt_col_int64(s, 8);
		v->running = (size_t)stmt_col_int64(s, 9);
		v->failed = (size_t)stmt_col_int64(s, 10);
		assert(v->outdated + v->running + v->failed <= v->placed);
		v->pending = v->placed - v->outdated - v->running - v->failed;
	}
	stmt_reset(s);
	if (rc != STORE_DONE)
		return -1;
	for (i = 0; i < d->nservices; i++) {
		if (d->services[i].failed > 0 &&
		    snap_first_error(st, &d->services[i]) != 0)
			return -1;
	}
	return 0;
}

int
store_deploy_unfinished(struct store *st, int64_t grid_id,
    struct deploy_snap **out, size_t *n)
{
	struct store_stmt *s;
	struct deploy_snap *v = NULL, *d;
	size_t nv = 0, i;
	int rc = -1, step;

	*out = NULL;
	*n = 0;
	/* A read transaction: the deploys, their services and the counts
	 * agree with each other while the hub records reports. */
	if (store_exec(st, "BEGIN") != STORE_OK) {
		log_warn("store: begin: %s", store_errmsg(st));
		return -1;
	}
	s = store_stmt(st, "SELECT d.id, k.grid_id, k.name, d.state,"
	    " d.created_at FROM deploys d JOIN stacks k ON k.id = d.stack_id"
	    " WHERE k.grid_id = ?1 AND d.state IN ('created', 'ongoing')"
	    " ORDER BY d.id");
	stmt_bind_int64(s, 1, grid_id);
	while ((step = stmt_step(s)) == STORE_ROW) {
		v = xreallocarray(v, nv + 1, sizeof *v);
		d = &v[nv++];
		memset(d, 0, sizeof *d);
		d->id = stmt_col_int64(s, 0);
		d->grid_id = stmt_col_int64(s, 1);
		snprintf(d->stack, sizeof d->stack, "%s", store_col_text(s, 2));
		if (deploy_state_parse(store_col_text(s, 3), &d->state) != 0)
			break;	/* the schema's CHECK rules this out */
		d->created_at = stmt_col_int64(s, 4);
	}
	stmt_reset(s);
	if (step != STORE_DONE)
		goto out;
	for (i = 0; i < nv; i++) {
		if (snap_services(st, &v[i]) != 0)
			goto out;
	}
	rc = 0;
out:
	store_rollback(st);	/* ends the read transaction */
	if (rc != 0) {
		store_deploy_snaps_free(v, nv);
		return -1;
	}
	*out = v;
	*n = nv;
	return 0;
}

char *
store_deploy_wait_reason(struct store *st, int64_t service_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT i.instance_no, n.name,"
	    " CASE WHEN NOT n.connected THEN 'node offline' ELSE i.state END,"
	    " i.error FROM instances i JOIN nodes n ON n.id = i.node_id"
	    " JOIN services v ON v.id = i.service_id WHERE i.service_id = ?1"
	    " AND NOT (i.rev >= v.rev AND i.state = 'running' AND "
	    STORE_LIVE_NODE("n") ") ORDER BY i.error IS NULL, i.instance_no,"
	    " i.node_id LIMIT 1");
	char *why = NULL;

	stmt_bind_int64(s, 1, service_id);
	if (stmt_step(s) == STORE_ROW)
		xasprintf(&why, "instance %d on node %s is %s%s%s",
		    stmt_col_int(s, 0), store_col_text(s, 1),
		    store_col_text(s, 2), store_col_text(s, 3) ? ": " : "",
		    store_col_text(s, 3) ? store_col_text(s, 3) : "");
	stmt_reset(s);
	return why;
}

/* ---- the deploy machine's writes (scheduler thread) -------------------- */

/* Close a write transaction: commit when rc is 1, else roll back. */
static int
deploy_tx_end(struct store *st, int rc)
{
	if (rc != 1) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st) == 0 ? 1 : -1;
}

int
store_deploy_start(struct store *st, const struct deploy_snap *d,
    int64_t now)
{
	struct store_stmt *s;
	int rc = -1;

	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "UPDATE deploys SET state = 'ongoing',"
	    " started_at = ?2 WHERE id = ?1 AND state = 'created'");
	stmt_bind_int64(s, 1, d->id);
	stmt_bind_int64(s, 2, now);
	if (store_done(s) != 0)
		goto out;
	if (store_changes(st) == 0) {
		rc = 0;
		goto out;
	}
	if (store_event_add(st, d->grid_id, "deploy.start", d->stack,
	    "deploy %lld of stack %s started", (long long)d->id,
	    d->stack) != 0)
		goto out;
	rc = 1;
out:
	return deploy_tx_end(st, rc);
}

int
store_deploy_succeed(struct store *st, const struct deploy_snap *d,
    int64_t now)
{
	struct store_stmt *s;
	int rc = -1;

	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "UPDATE deploys SET state = 'success',"
	    " finished_at = ?2 WHERE id = ?1"
	    " AND state IN ('created', 'ongoing')");
	stmt_bind_int64(s, 1, d->id);
	stmt_bind_int64(s, 2, now);
	if (store_done(s) != 0)
		goto out;
	if (store_changes(st) == 0) {
		rc = 0;
		goto out;
	}
	if (store_event_add(st, d->grid_id, "deploy.success", d->stack,
	    "deploy %lld of stack %s succeeded", (long long)d->id,
	    d->stack) != 0)
		goto out;
	rc = 1;
out:
	return deploy_tx_end(st, rc);
}

int
store_deploy_fail(struct store *st, const struct deploy_snap *d,
    int64_t service_id, const char *why, int64_t now)
{
	struct store_stmt *s;
	int rc = -1;

	assert(why != NULL);
	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "UPDATE deploys SET state = 'error', error = ?2,"
	    " finished_at = ?3 WHERE id = ?1"
	    " AND state IN ('created', 'ongoing')");
	stmt_bind_int64(s, 1, d->id);
	store_bind_text(s, 2, why);
	stmt_bind_int64(s, 3, now);
	if (store_done(s) != 0)
		goto out;
	if (store_changes(st) == 0) {
		rc = 0;
		goto out;
	}
	s = store_stmt(st, "UPDATE deploy_services SET state = 'error',"
	    " error = ?3, finished_at = ?4 WHERE deploy_id = ?1"
	    " AND service_id = ?2");
	stmt_bind_int64(s, 1, d->id);
	stmt_bind_int64(s, 2, service_id);
	store_bind_text(s, 3, why);
	stmt_bind_int64(s, 4, now);
	if (store_done(s) != 0)
		goto out;
	s = store_stmt(st, "UPDATE deploy_services SET state = 'error',"
	    " error = 'not deployed: an earlier service failed',"
	    " finished_at = ?2 WHERE deploy_id = ?1"
	    " AND state IN ('created', 'ongoing')");
	stmt_bind_int64(s, 1, d->id);
	stmt_bind_int64(s, 2, now);
	if (store_done(s) != 0)
		goto out;
	if (store_event_add(st, d->grid_id, "deploy.error", d->stack,
	    "deploy %lld of stack %s failed: %s", (long long)d->id, d->stack,
	    why) != 0)
		goto out;
	rc = 1;
out:
	return deploy_tx_end(st, rc);
}

int
store_deploy_service_start(struct store *st, const struct deploy_snap *d,
    const struct deploy_service *v, int64_t now)
{
	struct store_stmt *s = store_stmt(st, "UPDATE deploy_services"
	    " SET state = 'ongoing', started_at = ?3 WHERE deploy_id = ?1"
	    " AND service_id = ?2 AND state = 'created'");

	stmt_bind_int64(s, 1, d->id);
	stmt_bind_int64(s, 2, v->id);
	stmt_bind_int64(s, 3, now);
	return store_done(s);
}

int
store_deploy_service_activate(struct store *st, const struct deploy_snap *d,
    const struct deploy_service *v, int64_t now)
{
	struct store_stmt *s;
	int rc = -1;

	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "UPDATE services SET active = 1, updated_at = ?2"
	    " WHERE id = ?1");
	stmt_bind_int64(s, 1, v->id);
	stmt_bind_int64(s, 2, now);
	if (store_done(s) != 0 ||
	    store_event_add(st, d->grid_id, "deploy.service", d->stack,
	    "deploying service %s/%s", d->stack, v->name) != 0)
		goto out;
	rc = 1;
out:
	return deploy_tx_end(st, rc) == 1 ? 0 : -1;
}

int
store_deploy_service_roll(struct store *st, const struct deploy_service *v,
    size_t count, int64_t now, char (**nodes)[NODE_ID_LEN + 1],
    size_t *nnodes)
{
	/*
	 * The nodes, then the rows, in one transaction (no RETURNING: the
	 * dqlite backend cannot run it, store_dq.h).
	 */
	struct store_stmt *s;
	char (*v_nodes)[NODE_ID_LEN + 1] = NULL;
	size_t n = 0;
	int rc;

	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "SELECT node_id FROM instances WHERE service_id = ?1"
	    " AND rev < ?2 ORDER BY instance_no, node_id LIMIT ?3");
	stmt_bind_int64(s, 1, v->id);
	stmt_bind_int64(s, 2, v->rev);
	stmt_bind_int64(s, 3, (int64_t)count);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		v_nodes = xreallocarray(v_nodes, n + 1, sizeof *v_nodes);
		snprintf(v_nodes[n++], sizeof *v_nodes, "%s",
		    store_col_text(s, 0));
	}
	stmt_reset(s);
	if (rc != STORE_DONE)
		goto fail;
	s = store_stmt(st, "UPDATE instances SET rev = ?2,"
	    " state = 'pending', error = NULL, updated_at = ?3"
	    " WHERE id IN (SELECT id FROM instances WHERE service_id = ?1"
	    "  AND rev < ?2 ORDER BY instance_no, node_id LIMIT ?4)");
	stmt_bind_int64(s, 1, v->id);
	stmt_bind_int64(s, 2, v->rev);
	stmt_bind_int64(s, 3, now);
	stmt_bind_int64(s, 4, (int64_t)count);
	if (store_done(s) != 0 || store_commit(st) != 0)
		goto fail;
	*nodes = v_nodes;
	*nnodes = n;
	return 0;
fail:
	store_rollback(st);
	free(v_nodes);
	return -1;
}

int
store_deploy_service_done(struct store *st, const struct deploy_snap *d,
    const struct deploy_service *v, int64_t now)
{
	struct store_stmt *s;
	int rc = -1;

	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "UPDATE deploy_services SET state = 'success',"
	    " finished_at = ?3 WHERE deploy_id = ?1 AND service_id = ?2");
	stmt_bind_int64(s, 1, d->id);
	stmt_bind_int64(s, 2, v->id);
	stmt_bind_int64(s, 3, now);
	if (store_done(s) != 0 ||
	    store_event_add(st, d->grid_id, "deploy.service", d->stack,
	    "service %s/%s deployed: %zu instance(s) running", d->stack,
	    v->name, v->placed) != 0)
		goto out;
	rc = 1;
out:
	return deploy_tx_end(st, rc) == 1 ? 0 : -1;
}

int
store_deploy_service_stopped(struct store *st, const struct deploy_snap *d,
    const struct deploy_service *v, int64_t now)
{
	struct store_stmt *s;
	int rc = -1;

	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "UPDATE deploy_services SET state = 'success',"
	    " finished_at = ?3 WHERE deploy_id = ?1 AND service_id = ?2");
	stmt_bind_int64(s, 1, d->id);
	stmt_bind_int64(s, 2, v->id);
	stmt_bind_int64(s, 3, now);
	if (store_done(s) != 0 ||
	    store_event_add(st, d->grid_id, "deploy.service", d->stack,
	    "service %s/%s is stopped: its definition is recorded, nothing "
	    "is started (berth service start runs it)", d->stack,
	    v->name) != 0)
		goto out;
	rc = 1;
out:
	return deploy_tx_end(st, rc) == 1 ? 0 : -1;
}
