/*
 * store_job.c - jobs as the API sees them: create, find, list, show,
 * cancel, delete, and the scheduler's retention sweep.
 *
 * A job row holds its normalized spec (stacks/job_spec.h) and the state
 * of the whole job; each task (one per `parallel`) a row of job_tasks;
 * each try of a task a row of job_attempts, whose id labels its container.
 * The transitions themselves are in store_job_run.c; cancel and delete go
 * through them too, so every change has its event in its transaction.
 * Called on the API's threads and the scheduler's, each with its own
 * connection.
 */
#include "master/store_job_int.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

static json_t *
job_json_time(struct store_stmt *s, int col)
{
	char buf[32];

	if (stmt_col_type(s, col) == STORE_NULL)
		return json_null();
	util_iso8601(stmt_col_int64(s, col), buf, sizeof buf);
	return json_string(buf);
}

static json_t *
job_json_text(struct store_stmt *s, int col)
{
	const char *t = store_col_text(s, col);

	return t != NULL ? json_string(t) : json_null();
}

static json_t *
job_json_int(struct store_stmt *s, int col)
{
	if (stmt_col_type(s, col) == STORE_NULL)
		return json_null();
	return json_integer(stmt_col_int64(s, col));
}

int
store_job_create(struct store *st, int64_t grid_id, json_t *spec,
    int64_t now, int64_t *id, char name[64])
{
	struct store_stmt *s;
	const char *given = json_string_value(json_object_get(spec, "name"));
	json_t *copy = json_deep_copy(spec);
	char *text, tmp[64];
	int parallel, i, rc = -1;

	parallel = (int)json_integer_value(json_object_get(spec, "parallel"));
	if (parallel < 1)
		parallel = 1;
	if (store_begin(st) != 0) {
		json_decref(copy);
		return -1;
	}
	/* An unnamed job gets "job-<id>": a unique placeholder first. */
	if (given == NULL) {
		util_random(tmp, 8);
		util_hex(tmp, 8, tmp + 16);
		snprintf(name, 64, " %s", tmp + 16);
	} else
		snprintf(name, 64, "%s", given);
	s = store_stmt(st, "INSERT INTO jobs (grid_id, name, spec, priority,"
	    " parallel, retries, created_at) VALUES (?1, ?2, '{}', ?3, ?4, ?5,"
	    " ?6)");
	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	stmt_bind_int64(s, 3, json_integer_value(json_object_get(spec,
	    "priority")));
	stmt_bind_int(s, 4, parallel);
	stmt_bind_int64(s, 5, json_integer_value(json_object_get(spec,
	    "retries")));
	stmt_bind_int64(s, 6, now);
	if (stmt_step(s) != STORE_DONE) {
		rc = store_errcode(st) ==
		    STORE_CONSTRAINT_UNIQUE ? 1 : -1;
		stmt_reset(s);
		goto fail;
	}
	stmt_reset(s);
	*id = store_last_id(st);
	if (given == NULL)
		snprintf(name, 64, "job-%lld", (long long)*id);
	json_object_set_new(copy, "name", json_string(name));
	text = json_dumps(copy, STORE_JSON_FLAGS);
	s = store_stmt(st, "UPDATE jobs SET name = ?2, spec = ?3 WHERE id = ?1");
	stmt_bind_int64(s, 1, *id);
	store_bind_text(s, 2, name);
	store_bind_text(s, 3, text);
	free(text);
	if (stmt_step(s) != STORE_DONE) {
		rc = store_errcode(st) ==
		    STORE_CONSTRAINT_UNIQUE ? 1 : -1;
		stmt_reset(s);
		goto fail;
	}
	stmt_reset(s);
	for (i = 0; i < parallel; i++) {
		s = store_stmt(st, "INSERT INTO job_tasks (job_id, idx)"
		    " VALUES (?1, ?2)");
		stmt_bind_int64(s, 1, *id);
		stmt_bind_int(s, 2, i);
		if (store_done(s) != 0)
			goto fail;
	}
	if (store_event_add(st, grid_id, "job.create", name, "job %s created: "
	    "%d task%s of %s (priority %lld, retries %lld, timeout %llds)",
	    name, parallel, parallel == 1 ? "" : "s",
	    json_string_value(json_object_get(spec, "image")),
	    (long long)json_integer_value(json_object_get(spec, "priority")),
	    (long long)json_integer_value(json_object_get(spec, "retries")),
	    (long long)json_integer_value(json_object_get(spec, "timeout"))) !=
	    0 || store_commit(st) != 0)
		goto fail;
	json_decref(copy);
	return 0;
fail:
	store_rollback(st);
	json_decref(copy);
	return rc;
}

int
store_job_find(struct store *st, int64_t grid_id, const char *name_or_id,
    int64_t *id)
{
	struct store_stmt *s = store_stmt(st, "SELECT id FROM jobs WHERE"
	    " grid_id = ?1 AND (name = ?2 OR CAST(id AS TEXT) = ?2)"
	    " ORDER BY name = ?2 DESC LIMIT 1");
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name_or_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		*id = stmt_col_int64(s, 0);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

/* ---- reading ----------------------------------------------------------- */

#define JOB_COLS \
	"j.id, j.name, j.state, j.spec, j.priority, j.parallel, j.retries," \
	" j.exit_code, j.exit_status, coalesce(j.reason, (SELECT" \
	" t.queue_reason FROM job_tasks t WHERE t.job_id = j.id AND" \
	" t.state = 'pending' ORDER BY t.idx LIMIT 1)), j.created_at," \
	" j.started_at, j.finished_at, g.name," \
	" (SELECT count(*) FROM job_attempts a WHERE a.job_id = j.id)," \
	" (SELECT coalesce(n.name, a.node_id) FROM job_attempts a" \
	"  LEFT JOIN nodes n ON n.id = a.node_id WHERE a.job_id = j.id" \
	"  ORDER BY a.id DESC LIMIT 1)," \
	" (SELECT count(*) FROM job_tasks t WHERE t.job_id = j.id AND" \
	"  t.state IN ('succeeded', 'failed', 'timed_out', 'cancelled'))"

static json_t *
job_row_json(struct store_stmt *s)
{
	json_t *o = json_object(), *spec;
	const char *keys[] = { "image", "command", "cpus", "memory",
	    "affinity", "timeout", "backoff", "labels", NULL };
	int i;

	spec = json_loads(store_col_text(s, 3), 0, NULL);
	json_object_set_new(o, "id", json_integer(stmt_col_int64(s, 0)));
	json_object_set_new(o, "name", job_json_text(s, 1));
	json_object_set_new(o, "grid", job_json_text(s, 13));
	json_object_set_new(o, "state", job_json_text(s, 2));
	for (i = 0; keys[i] != NULL; i++) {
		json_t *v = spec != NULL ? json_object_get(spec, keys[i]) : NULL;

		json_object_set(o, keys[i], v != NULL ? v : json_null());
	}
	json_object_set_new(o, "priority", json_integer(stmt_col_int64(s,
	    4)));
	json_object_set_new(o, "parallel", json_integer(stmt_col_int64(s,
	    5)));
	json_object_set_new(o, "retries", json_integer(stmt_col_int64(s,
	    6)));
	json_object_set_new(o, "attempt_count",
	    json_integer(stmt_col_int64(s, 14)));
	json_object_set_new(o, "tasks_done", json_integer(
	    stmt_col_int64(s, 16)));
	json_object_set_new(o, "node", job_json_text(s, 15));
	json_object_set_new(o, "exit_code", job_json_int(s, 7));
	json_object_set_new(o, "exit_status", job_json_int(s, 8));
	json_object_set_new(o, "reason", job_json_text(s, 9));
	json_object_set_new(o, "created_at", job_json_time(s, 10));
	json_object_set_new(o, "started_at", job_json_time(s, 11));
	json_object_set_new(o, "finished_at", job_json_time(s, 12));
	json_object_set_new(o, "spec", spec != NULL ? spec : json_object());
	return o;
}

json_t *
store_job_list_json(struct store *st, int64_t grid_id, const char *state)
{
	struct store_stmt *s = store_stmt(st, "SELECT " JOB_COLS " FROM jobs j"
	    " JOIN grids g ON g.id = j.grid_id WHERE j.grid_id = ?1"
	    " AND (?2 IS NULL OR j.state = ?2) ORDER BY j.id DESC");

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, state);
	return store_rows_json(s, json_array(), job_row_json);
}

static json_t *
job_task_json(struct store_stmt *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer(stmt_col_int64(s,
	    0)));
	json_object_set_new(o, "state", job_json_text(s, 1));
	json_object_set_new(o, "attempt_count",
	    json_integer(stmt_col_int64(s, 2)));
	json_object_set_new(o, "node", job_json_text(s, 3));
	json_object_set_new(o, "exit_code", job_json_int(s, 4));
	json_object_set_new(o, "exit_status", job_json_int(s, 5));
	json_object_set_new(o, "reason", job_json_text(s, 6));
	json_object_set_new(o, "queue_reason", job_json_text(s, 7));
	json_object_set_new(o, "not_before", stmt_col_int64(s, 8) > 0 ?
	    job_json_time(s, 8) : json_null());
	json_object_set_new(o, "started_at", job_json_time(s, 9));
	json_object_set_new(o, "finished_at", job_json_time(s, 10));
	return o;
}

static json_t *
job_attempt_json(struct store_stmt *s)
{
	json_t *o = json_object();
	char cname[256];

	snprintf(cname, sizeof cname, "job.%s-%d.%lld.%.8s",
	    store_col_text(s, 12), stmt_col_int(s, 1),
	    (long long)stmt_col_int64(s, 0), store_col_text(s, 3));
	json_object_set_new(o, "id", json_integer(stmt_col_int64(s, 0)));
	json_object_set_new(o, "index", json_integer(stmt_col_int64(s,
	    1)));
	json_object_set_new(o, "no", json_integer(stmt_col_int64(s, 2)));
	json_object_set_new(o, "node", job_json_text(s, 4));
	json_object_set_new(o, "node_id", job_json_text(s, 3));
	json_object_set_new(o, "state", job_json_text(s, 5));
	json_object_set_new(o, "exit_code", job_json_int(s, 6));
	json_object_set_new(o, "exit_status", job_json_int(s, 7));
	json_object_set_new(o, "reason", job_json_text(s, 8));
	json_object_set_new(o, "container", json_string(cname));
	json_object_set_new(o, "container_id", job_json_text(s, 9));
	json_object_set_new(o, "assigned_at", job_json_time(s, 10));
	json_object_set_new(o, "started_at", job_json_time(s, 11));
	json_object_set_new(o, "finished_at", job_json_time(s, 13));
	return o;
}

int
store_job_get_json(struct store *st, int64_t id, json_t **out)
{
	struct store_stmt *s = store_stmt(st, "SELECT " JOB_COLS " FROM jobs j"
	    " JOIN grids g ON g.id = j.grid_id WHERE j.id = ?1");
	json_t *arr;
	int rc;

	stmt_bind_int64(s, 1, id);
	if ((rc = store_row_json(s, job_row_json, out)) != 1)
		return rc;
	s = store_stmt(st, "SELECT t.idx, t.state, t.attempts,"
	    " coalesce(n.name, t.node_id), t.exit_code, t.exit_status,"
	    " t.reason, t.queue_reason, t.not_before, t.started_at,"
	    " t.finished_at FROM job_tasks t LEFT JOIN nodes n"
	    " ON n.id = t.node_id WHERE t.job_id = ?1 ORDER BY t.idx");
	stmt_bind_int64(s, 1, id);
	if ((arr = store_rows_json(s, json_array(), job_task_json)) == NULL)
		goto fail;
	json_object_set_new(*out, "tasks", arr);
	s = store_stmt(st, "SELECT a.id, a.idx, a.no, a.node_id,"
	    " coalesce(n.name, a.node_id), a.state, a.exit_code, a.exit_status,"
	    " a.reason, a.container_id, a.assigned_at, a.started_at, j.name,"
	    " a.finished_at FROM job_attempts a JOIN jobs j ON j.id = a.job_id"
	    " LEFT JOIN nodes n ON n.id = a.node_id WHERE a.job_id = ?1"
	    " ORDER BY a.id");
	stmt_bind_int64(s, 1, id);
	if ((arr = store_rows_json(s, json_array(), job_attempt_json)) == NULL)
		goto fail;
	json_object_set_new(*out, "attempts", arr);
	return 1;
fail:
	json_decref(*out);
	*out = NULL;
	return -1;
}

/* ---- cancel and delete ----------------------------------------------------- */

/* The job's grid, name and state. 1, 0 gone, -1. */
static int
job_head(struct store *st, int64_t id, int64_t *grid_id, char name[64],
    enum job_state *state)
{
	struct store_stmt *s = store_stmt(st, "SELECT grid_id, name, state FROM jobs"
	    " WHERE id = ?1");
	int rc;

	stmt_bind_int64(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		*grid_id = stmt_col_int64(s, 0);
		snprintf(name, 64, "%s", store_col_text(s, 1));
		if (job_state_parse(store_col_text(s, 2), state) != 0)
			rc = STORE_ERROR;
	}
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

/* Cancel inside the caller's transaction: 1, 0 (finished), -1. */
static int
job_cancel_tx(struct store *st, int64_t id, const char *why, int64_t now,
    struct job_touched *t, int quiet)
{
	struct store_stmt *s;
	struct job_end e = { .state = JOB_CANCELLED, .quiet = 1, .reason = why };
	enum job_state state;
	int64_t grid_id, *att = NULL;
	char name[64], (*nodes)[NODE_ID_LEN + 1] = NULL;
	size_t n = 0, i;
	int rc, dropped;

	if ((rc = job_head(st, id, &grid_id, name, &state)) != 1)
		return rc;
	if (job_state_final(state))
		return 0;
	s = store_stmt(st, "SELECT id, node_id FROM job_attempts"
	    " WHERE job_id = ?1 AND state IN ('assigned', 'running')");
	stmt_bind_int64(s, 1, id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		att = xreallocarray(att, n + 1, sizeof *att);
		nodes = xreallocarray(nodes, n + 1, sizeof *nodes);
		att[n] = stmt_col_int64(s, 0);
		snprintf(nodes[n++], NODE_ID_LEN + 1, "%s",
		    store_col_text(s, 1));
	}
	stmt_reset(s);
	if (rc != STORE_DONE)
		goto fail;
	for (i = 0; i < n; i++) {
		if (job_attempt_end(st, att[i], &e, now) < 0)
			goto fail;
		job_touch_add(t, nodes[i]);
	}
	s = store_stmt(st, "UPDATE job_tasks SET state = 'cancelled',"
	    " exit_status = ?3, reason = ?2, finished_at = ?4"
	    " WHERE job_id = ?1 AND state = 'pending'");
	stmt_bind_int64(s, 1, id);
	store_bind_text(s, 2, why);
	stmt_bind_int64(s, 3, JOB_EXIT_CANCELLED);
	stmt_bind_int64(s, 4, now);
	if (store_done(s) != 0)
		goto fail;
	dropped = store_changes(st);
	if (job_refresh(st, id, 1, now) != 0)
		goto fail;
	if (!quiet && store_event_add(st, grid_id, "job.cancelled", name,
	    "job %s cancelled: %s (%zu attempt%s stopped, %d queued task%s "
	    "dropped)", name, why, n, n == 1 ? "" : "s", dropped,
	    dropped == 1 ? "" : "s") != 0)
		goto fail;
	free(att);
	free(nodes);
	return 1;
fail:
	free(att);
	free(nodes);
	return -1;
}

int
store_job_cancel(struct store *st, int64_t id, const char *why, int64_t now,
    struct job_touched *t)
{
	int rc;

	if (store_begin(st) != 0)
		return -1;
	rc = job_cancel_tx(st, id, why, now, t, 0);
	if (rc < 0 || (rc == 1 && store_commit(st) != 0)) {
		store_rollback(st);
		store_job_touched_free(t);
		return -1;
	}
	if (rc == 0)
		store_rollback(st);
	return rc;
}

/* Delete one job inside the caller's transaction; its nodes into t. */
static int
job_delete_tx(struct store *st, int64_t id, struct job_touched *t)
{
	struct store_stmt *s = store_stmt(st, "SELECT DISTINCT node_id FROM"
	    " job_attempts WHERE job_id = ?1");
	int rc;

	stmt_bind_int64(s, 1, id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		job_touch_add(t, store_col_text(s, 0));
	stmt_reset(s);
	if (rc != STORE_DONE)
		return -1;
	s = store_stmt(st, "DELETE FROM jobs WHERE id = ?1");
	stmt_bind_int64(s, 1, id);
	return store_done(s);
}

int
store_job_delete(struct store *st, int64_t id, int force, const char *why,
    int64_t now, struct job_touched *t)
{
	enum job_state state;
	int64_t grid_id;
	char name[64];
	int rc;

	if (store_begin(st) != 0)
		return -1;
	if ((rc = job_head(st, id, &grid_id, name, &state)) != 1)
		goto out;
	if (!job_state_final(state)) {
		if (!force) {
			rc = 0;
			goto out;
		}
		if (job_cancel_tx(st, id, why, now, t, 0) < 0) {
			rc = -1;
			goto out;
		}
	}
	if (job_delete_tx(st, id, t) != 0 ||
	    store_event_add(st, grid_id, "job.remove", name, "job %s removed "
	    "(%s); its containers go", name, why) != 0 ||
	    store_commit(st) != 0) {
		rc = -1;
		goto out;
	}
	return 1;
out:
	store_rollback(st);
	if (rc < 0)
		store_job_touched_free(t);
	return rc;
}

int
store_job_retention(struct store *st, int64_t grid_id, int64_t max_age_ms,
    int64_t max_count, int64_t now, int *removed, struct job_touched *t)
{
	struct store_stmt *s = store_stmt(st, "SELECT id, name FROM jobs"
	    " WHERE grid_id = ?1 AND finished_at IS NOT NULL AND"
	    " (finished_at < ?2 OR id NOT IN (SELECT id FROM jobs"
	    "  WHERE grid_id = ?1 AND finished_at IS NOT NULL"
	    "  ORDER BY finished_at DESC, id DESC LIMIT ?3))"
	    " ORDER BY finished_at, id LIMIT 1000");
	struct buf names = { 0 };
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc;

	*removed = 0;
	stmt_bind_int64(s, 1, grid_id);
	stmt_bind_int64(s, 2, now - max_age_ms);
	stmt_bind_int64(s, 3, max_count);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		ids = xreallocarray(ids, n + 1, sizeof *ids);
		ids[n++] = stmt_col_int64(s, 0);
		if (n <= 5)
			buf_printf(&names, "%s%s", n > 1 ? ", " : "",
			    store_col_text(s, 1));
	}
	stmt_reset(s);
	if (rc != STORE_DONE || n == 0) {
		free(ids);
		buf_free(&names);
		return rc == STORE_DONE ? 0 : -1;
	}
	if (store_begin(st) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (job_delete_tx(st, ids[i], t) != 0)
			goto fail;
	}
	if (store_event_add(st, grid_id, "job.remove", "retention",
	    "retention: removed %zu finished job%s (finished over %llds ago, "
	    "or beyond the newest %lld): %s%s", n, n == 1 ? "" : "s",
	    (long long)(max_age_ms / 1000), (long long)max_count, names.data,
	    n > 5 ? ", ..." : "") != 0 || store_commit(st) != 0)
		goto fail;
	*removed = (int)n;
	free(ids);
	buf_free(&names);
	return 0;
fail:
	store_rollback(st);
	store_job_touched_free(t);
	free(ids);
	buf_free(&names);
	return -1;
}
