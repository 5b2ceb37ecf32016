/*
 * store_job_run.c - the transitions of jobs: attempts assigned (the
 * scheduler), lost with their node (the scheduler, a node deleted),
 * started and ended (the hub, from agents' reports), and what a node's
 * agent is told (the hub's desired sets). store_job.c has the API's side.
 *
 * Every write here runs inside the caller's transaction (BEGIN IMMEDIATE,
 * on the caller's own connection) and writes the event of each state it
 * changes in that transaction, so the log and the states never disagree
 * (docs/jobs.md, "exactly once"). An attempt that ended is final: a late
 * report about it changes nothing. Attempt ids come from AUTOINCREMENT and
 * are never reused; agents label containers with them.
 */
#include "master/store_job_int.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *job_state_names[JOB_NSTATES] = {
	"pending", "assigned", "running", "succeeded", "failed", "timed_out",
	"cancelled",
};

const char *
job_state_name(enum job_state s)
{
	return (unsigned)s < JOB_NSTATES ? job_state_names[s] : "?";
}

int
job_state_parse(const char *name, enum job_state *out)
{
	int i;

	for (i = 0; i < JOB_NSTATES; i++) {
		if (name != NULL && strcmp(name, job_state_names[i]) == 0) {
			*out = (enum job_state)i;
			return 0;
		}
	}
	return -1;
}

int
job_state_final(enum job_state s)
{
	return s == JOB_SUCCEEDED || s == JOB_FAILED || s == JOB_TIMED_OUT ||
	    s == JOB_CANCELLED;
}

int64_t
job_exit_status(enum job_state s, int has_exit, int64_t exit_code,
    int nostart)
{
	switch (s) {
	case JOB_SUCCEEDED:
		return 0;
	case JOB_TIMED_OUT:
		return JOB_EXIT_TIMEOUT;
	case JOB_CANCELLED:
		return JOB_EXIT_CANCELLED;
	case JOB_FAILED:
		if (nostart)
			return JOB_EXIT_NOSTART;
		return has_exit && exit_code != 0 ? exit_code : 1;
	default:
		return 1;
	}
}

void
job_task_label(const char *name, int parallel, int idx, char *buf, size_t len)
{
	if (parallel > 1)
		snprintf(buf, len, "%s#%d", name, idx);
	else
		snprintf(buf, len, "%s", name);
}

void
job_touch_add(struct job_touched *t, const char *node_id)
{
	size_t i;

	if (t == NULL || node_id == NULL)
		return;
	for (i = 0; i < t->n; i++)
		if (strcmp(t->nodes[i], node_id) == 0)
			return;
	t->nodes = xreallocarray(t->nodes, t->n + 1, sizeof *t->nodes);
	snprintf(t->nodes[t->n++], NODE_ID_LEN + 1, "%s", node_id);
}

void
store_job_touched_free(struct job_touched *t)
{
	free(t->nodes);
	t->nodes = NULL;
	t->n = 0;
}

/* A node's name for events, or its id when it is gone. */
static void
job_node_name(struct store *st, const char *id, char *buf, size_t len)
{
	struct store_stmt *s = store_stmt(st, "SELECT name FROM nodes WHERE id = ?1");

	snprintf(buf, len, "%.12s", id != NULL ? id : "?");
	store_bind_text(s, 1, id);
	if (stmt_step(s) == STORE_ROW)
		snprintf(buf, len, "%s", store_col_text(s, 0));
	stmt_reset(s);
}

/* "1st", "2nd", "3rd", "4th"... */
static const char *
job_nth(int64_t n, char *buf, size_t len)
{
	const char *sfx = "th";

	if (n % 100 < 11 || n % 100 > 13)
		sfx = n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ?
		    "rd" : "th";
	snprintf(buf, len, "%lld%s", (long long)n, sfx);
	return buf;
}

/* ---- the job's state from its tasks ------------------------------------- */

int
job_refresh(struct store *st, int64_t job_id, int quiet, int64_t now)
{
	struct store_stmt *s;
	enum job_state js, ts, old;
	int n = 0, cnt[JOB_NSTATES] = { 0 }, has_first = 0, parallel = 1;
	int64_t grid_id = 0, first_exit = 0, first_status = 0;
	int first_has_exit = 0, first_idx = 0;
	char *first_reason = NULL, name[64] = "", *reason = NULL;
	int rc = -1;

	s = store_stmt(st, "SELECT state, grid_id, name, parallel FROM jobs"
	    " WHERE id = ?1");
	stmt_bind_int64(s, 1, job_id);
	if (stmt_step(s) != STORE_ROW ||
	    job_state_parse(store_col_text(s, 0), &old) != 0) {
		stmt_reset(s);
		return -1;
	}
	grid_id = stmt_col_int64(s, 1);
	snprintf(name, sizeof name, "%s", store_col_text(s, 2));
	parallel = stmt_col_int(s, 3);
	stmt_reset(s);

	s = store_stmt(st, "SELECT state, exit_code, exit_status, reason, idx"
	    " FROM job_tasks WHERE job_id = ?1 ORDER BY idx");
	stmt_bind_int64(s, 1, job_id);
	while (stmt_step(s) == STORE_ROW) {
		if (job_state_parse(store_col_text(s, 0), &ts) != 0)
			continue;
		n++;
		cnt[ts]++;
		if (!has_first && job_state_final(ts) && ts != JOB_SUCCEEDED) {
			has_first = 1;
			first_has_exit = stmt_col_type(s, 1) !=
			    STORE_NULL;
			first_exit = stmt_col_int64(s, 1);
			first_status = stmt_col_int64(s, 2);
			first_reason = xstrdup(store_col_text(s, 3) != NULL ?
			    store_col_text(s, 3) : "");
			first_idx = stmt_col_int(s, 4);
		}
	}
	stmt_reset(s);
	if (cnt[JOB_RUNNING] > 0)
		js = JOB_RUNNING;
	else if (cnt[JOB_ASSIGNED] > 0)
		js = JOB_ASSIGNED;
	else if (cnt[JOB_PENDING] > 0)
		js = JOB_PENDING;
	else if (cnt[JOB_SUCCEEDED] == n)
		js = JOB_SUCCEEDED;
	else if (cnt[JOB_CANCELLED] > 0)
		js = JOB_CANCELLED;
	else if (has_first)
		js = cnt[JOB_FAILED] > 0 ? JOB_FAILED : JOB_TIMED_OUT;
	else
		js = JOB_FAILED;
	if (js == old) {
		rc = 0;
		goto out;
	}
	if (js == JOB_SUCCEEDED)
		reason = xstrdup(parallel > 1 ? "every task succeeded" :
		    "exited 0");
	else if (js == JOB_CANCELLED && has_first)
		reason = xstrdup(first_reason);
	else if (job_state_final(js) && has_first) {
		if (parallel > 1)
			xasprintf(&reason, "task %d: %s", first_idx,
			    first_reason);
		else
			reason = xstrdup(first_reason);
	}
	s = store_stmt(st, "UPDATE jobs SET state = ?2,"
	    " exit_code = ?3, exit_status = ?4, reason = ?5,"
	    " started_at = (SELECT min(started_at) FROM job_tasks"
	    "  WHERE job_id = ?1), finished_at = ?7 WHERE id = ?1");
	stmt_bind_int64(s, 1, job_id);
	store_bind_text(s, 2, job_state_name(js));
	if (js == JOB_SUCCEEDED) {
		stmt_bind_int64(s, 3, 0);
		stmt_bind_int64(s, 4, 0);
	} else if (job_state_final(js) && has_first) {
		if (first_has_exit)
			stmt_bind_int64(s, 3, first_exit);
		stmt_bind_int64(s, 4, js == JOB_CANCELLED ?
		    JOB_EXIT_CANCELLED : first_status);
	}
	store_bind_text(s, 5, reason);
	if (job_state_final(js))
		stmt_bind_int64(s, 7, now);
	if (store_done(s) != 0)
		goto out;
	rc = 0;
	/* A job of one task: its task's events say it all. */
	if (parallel > 1 && job_state_final(js) && !quiet)
		rc = store_event_add(st, grid_id, js == JOB_SUCCEEDED ?
		    "job.succeeded" : js == JOB_CANCELLED ? "job.cancelled" :
		    js == JOB_TIMED_OUT ? "job.timed_out" : "job.failed", name,
		    "job %s %s: %d of %d tasks succeeded%s%s", name,
		    job_state_name(js), cnt[JOB_SUCCEEDED], n,
		    reason != NULL ? "; " : "", reason != NULL ? reason : "");
out:
	free(first_reason);
	free(reason);
	return rc;
}

/* ---- an attempt ends --------------------------------------------------- */

int
job_attempt_end(struct store *st, int64_t attempt, const struct job_end *e,
    int64_t now)
{
	struct store_stmt *s;
	enum job_state as;
	int64_t job_id, grid_id, no, status, backoff, delay, cur;
	int idx, parallel, retries, tries, ran, retry;
	char node[NODE_ID_LEN + 1], nname[64], label[96], nth[16], *name;
	const char *type;

	s = store_stmt(st, "SELECT a.job_id, a.idx, a.no, a.node_id, a.state,"
	    " a.started_at IS NOT NULL, j.grid_id, j.name, j.parallel,"
	    " j.retries, coalesce(json_extract(j.spec, '$.backoff'), 10),"
	    " t.attempt_id, t.attempts FROM job_attempts a"
	    " JOIN jobs j ON j.id = a.job_id JOIN job_tasks t"
	    " ON t.job_id = a.job_id AND t.idx = a.idx WHERE a.id = ?1");
	stmt_bind_int64(s, 1, attempt);
	if (stmt_step(s) != STORE_ROW) {
		stmt_reset(s);
		return 0;
	}
	job_id = stmt_col_int64(s, 0);
	idx = stmt_col_int(s, 1);
	no = stmt_col_int64(s, 2);
	snprintf(node, sizeof node, "%s", store_col_text(s, 3));
	if (job_state_parse(store_col_text(s, 4), &as) != 0 ||
	    (as != JOB_ASSIGNED && as != JOB_RUNNING)) {
		stmt_reset(s);
		return 0;
	}
	ran = stmt_col_int(s, 5);
	grid_id = stmt_col_int64(s, 6);
	name = xstrdup(store_col_text(s, 7));
	parallel = stmt_col_int(s, 8);
	retries = stmt_col_int(s, 9);
	backoff = stmt_col_int64(s, 10);
	cur = stmt_col_int64(s, 11);
	tries = stmt_col_int(s, 12);
	stmt_reset(s);

	status = job_exit_status(e->state, e->has_exit, e->exit_code,
	    e->nostart);
	s = store_stmt(st, "UPDATE job_attempts SET state = ?2, exit_code = ?3,"
	    " exit_status = ?4, reason = ?5, finished_at = ?6 WHERE id = ?1");
	stmt_bind_int64(s, 1, attempt);
	store_bind_text(s, 2, job_state_name(e->state));
	if (e->has_exit)
		stmt_bind_int64(s, 3, e->exit_code);
	stmt_bind_int64(s, 4, status);
	store_bind_text(s, 5, e->reason);
	stmt_bind_int64(s, 6, now);
	if (store_done(s) != 0)
		goto fail;
	/* What node groups read (destroy after N jobs, M minutes idle). */
	if (ran) {
		s = store_stmt(st, "UPDATE nodes SET jobs_finished ="
		    " jobs_finished + 1, last_job_at = ?2 WHERE id = ?1");
		store_bind_text(s, 1, node);
		stmt_bind_int64(s, 2, now);
		if (store_done(s) != 0)
			goto fail;
	}
	job_node_name(st, node, nname, sizeof nname);
	job_task_label(name, parallel, idx, label, sizeof label);
	if (cur != attempt) {
		/* Not the task's current attempt (cannot happen: attempts
		 * end before the next begins); the task is left alone. */
		free(name);
		return job_refresh(st, job_id, e->quiet, now) == 0 ? 1 : -1;
	}
	retry = e->retry && (e->state == JOB_FAILED ||
	    e->state == JOB_TIMED_OUT) && tries <= retries;
	if (retry) {
		delay = backoff;
		for (int k = 1; k < tries && delay < 3600; k++)
			delay *= 2;
		if (delay > 3600)
			delay = 3600;
		s = store_stmt(st, "UPDATE job_tasks SET state = 'pending',"
		    " not_before = ?3, reason = ?4, queue_reason = NULL"
		    " WHERE job_id = ?1 AND idx = ?2");
		stmt_bind_int64(s, 1, job_id);
		stmt_bind_int(s, 2, idx);
		stmt_bind_int64(s, 3, now + delay * 1000);
		store_bind_text(s, 4, e->reason);
		if (store_done(s) != 0 ||
		    store_event_add(st, grid_id, "job.retry", label,
		    "%s attempt (%lld) on %s %s: %s; retry %d of %d in %llds",
		    job_nth(no, nth, sizeof nth), (long long)attempt, nname,
		    job_state_name(e->state), e->reason, tries, retries,
		    (long long)delay) != 0)
			goto fail;
	} else {
		s = store_stmt(st, "UPDATE job_tasks SET state = ?3,"
		    " exit_code = ?4, exit_status = ?5, reason = ?6,"
		    " finished_at = ?7 WHERE job_id = ?1 AND idx = ?2");
		stmt_bind_int64(s, 1, job_id);
		stmt_bind_int(s, 2, idx);
		store_bind_text(s, 3, job_state_name(e->state));
		if (e->has_exit)
			stmt_bind_int64(s, 4, e->exit_code);
		stmt_bind_int64(s, 5, status);
		store_bind_text(s, 6, e->reason);
		stmt_bind_int64(s, 7, now);
		if (store_done(s) != 0)
			goto fail;
		type = e->state == JOB_SUCCEEDED ? "job.succeeded" :
		    e->state == JOB_CANCELLED ? "job.cancelled" :
		    e->state == JOB_TIMED_OUT ? "job.timed_out" : "job.failed";
		if (!e->quiet && store_event_add(st, grid_id, type, label,
		    "%s attempt (%lld) on %s %s: %s%s", job_nth(no, nth,
		    sizeof nth), (long long)attempt, nname,
		    job_state_name(e->state), e->reason,
		    e->retry && e->state != JOB_SUCCEEDED && retries > 0 ?
		    " (no retry left)" : "") != 0)
			goto fail;
	}
	free(name);
	return job_refresh(st, job_id, e->quiet, now) == 0 ? 1 : -1;
fail:
	free(name);
	return -1;
}

/* ---- the scheduler ------------------------------------------------------- */

#define JOB_TASK_COLS \
	"t.job_id, t.idx, j.name, j.priority, j.created_at, t.not_before," \
	" t.state, t.node_id, coalesce(t.attempt_id, 0), j.spec"

static int
job_task_rows(struct store_stmt *s, store_job_task_fn *fn, void *arg)
{
	struct job_task_row r;
	int rc;

	while ((rc = stmt_step(s)) == STORE_ROW) {
		r.job_id = stmt_col_int64(s, 0);
		r.idx = stmt_col_int(s, 1);
		r.name = store_col_text(s, 2);
		r.priority = stmt_col_int(s, 3);
		r.created_at = stmt_col_int64(s, 4);
		r.not_before = stmt_col_int64(s, 5);
		if (job_state_parse(store_col_text(s, 6), &r.state) != 0)
			continue;
		r.node_id = store_col_text(s, 7);
		r.attempt_id = stmt_col_int64(s, 8);
		r.spec = store_col_text(s, 9);
		fn(arg, &r);
	}
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_job_tasks_grid(struct store *st, int64_t grid_id,
    store_job_task_fn *fn, void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " JOB_TASK_COLS
	    " FROM job_tasks t JOIN jobs j ON j.id = t.job_id"
	    " WHERE j.grid_id = ?1 AND j.state IN ('pending', 'assigned',"
	    " 'running') AND t.state IN ('pending', 'assigned', 'running')");

	stmt_bind_int64(s, 1, grid_id);
	return job_task_rows(s, fn, arg);
}

int
store_job_tasks_job(struct store *st, int64_t job_id,
    store_job_task_fn *fn, void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " JOB_TASK_COLS
	    " FROM job_tasks t JOIN jobs j ON j.id = t.job_id"
	    " WHERE t.job_id = ?1");

	stmt_bind_int64(s, 1, job_id);
	return job_task_rows(s, fn, arg);
}

int
store_job_grid(struct store *st, int64_t job_id, int64_t *grid_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT grid_id FROM jobs WHERE id = ?1");
	int rc;

	stmt_bind_int64(s, 1, job_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		*grid_id = stmt_col_int64(s, 0);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_job_assign(struct store *st, int64_t job_id, int idx,
    const char *node_id, const char *why, int64_t now, int64_t *attempt)
{
	struct store_stmt *s;
	int64_t grid_id, no;
	int parallel, rc;
	char label[96], nname[64], nth[16], *name;

	/* In the round's transaction: the update, then what it counted
	 * (no RETURNING: the dqlite backend cannot run it). */
	s = store_stmt(st, "UPDATE job_tasks SET state = 'assigned',"
	    " attempts = attempts + 1, node_id = ?3, queue_reason = NULL"
	    " WHERE job_id = ?1 AND idx = ?2 AND state = 'pending'");
	stmt_bind_int64(s, 1, job_id);
	stmt_bind_int(s, 2, idx);
	store_bind_text(s, 3, node_id);
	if (store_done(s) != 0)
		return -1;
	if (store_changes(st) == 0)
		return 0;	/* not pending now */
	s = store_stmt(st, "SELECT attempts FROM job_tasks"
	    " WHERE job_id = ?1 AND idx = ?2");
	stmt_bind_int64(s, 1, job_id);
	stmt_bind_int(s, 2, idx);
	if ((rc = stmt_step(s)) != STORE_ROW) {
		stmt_reset(s);
		return -1;
	}
	no = stmt_col_int64(s, 0);
	stmt_reset(s);
	s = store_stmt(st, "INSERT INTO job_attempts (job_id, idx, no,"
	    " node_id, state, assigned_at) VALUES (?1, ?2, ?3, ?4, 'assigned',"
	    " ?5)");
	stmt_bind_int64(s, 1, job_id);
	stmt_bind_int(s, 2, idx);
	stmt_bind_int64(s, 3, no);
	store_bind_text(s, 4, node_id);
	stmt_bind_int64(s, 5, now);
	if (store_done(s) != 0)
		return -1;
	*attempt = store_last_id(st);
	s = store_stmt(st, "UPDATE job_tasks SET attempt_id = ?3"
	    " WHERE job_id = ?1 AND idx = ?2");
	stmt_bind_int64(s, 1, job_id);
	stmt_bind_int(s, 2, idx);
	stmt_bind_int64(s, 3, *attempt);
	if (store_done(s) != 0)
		return -1;
	s = store_stmt(st, "SELECT grid_id, name, parallel FROM jobs"
	    " WHERE id = ?1");
	stmt_bind_int64(s, 1, job_id);
	if (stmt_step(s) != STORE_ROW) {
		stmt_reset(s);
		return -1;
	}
	grid_id = stmt_col_int64(s, 0);
	name = xstrdup(store_col_text(s, 1));
	parallel = stmt_col_int(s, 2);
	stmt_reset(s);
	job_task_label(name, parallel, idx, label, sizeof label);
	job_node_name(st, node_id, nname, sizeof nname);
	free(name);
	if (store_event_add(st, grid_id, "job.assigned", label,
	    "%s attempt (%lld) on %s: %s", job_nth(no, nth, sizeof nth),
	    (long long)*attempt, nname, why) != 0 ||
	    job_refresh(st, job_id, 0, now) != 0)
		return -1;
	return 1;
}

int
store_job_lost(struct store *st, int64_t job_id, int idx,
    const char *node_id, const char *why, int64_t now)
{
	struct store_stmt *s = store_stmt(st, "SELECT attempt_id FROM job_tasks"
	    " WHERE job_id = ?1 AND idx = ?2 AND node_id = ?3"
	    " AND state IN ('assigned', 'running')");
	struct job_end e = { .state = JOB_FAILED, .retry = 1, .reason = why };
	int64_t attempt;
	int rc;

	stmt_bind_int64(s, 1, job_id);
	stmt_bind_int(s, 2, idx);
	store_bind_text(s, 3, node_id);
	rc = stmt_step(s);
	attempt = stmt_col_int64(s, 0);
	stmt_reset(s);
	if (rc != STORE_ROW)
		return rc == STORE_DONE ? 0 : -1;
	return job_attempt_end(st, attempt, &e, now);
}

int
store_job_queue_reason(struct store *st, int64_t job_id, int idx,
    const char *reason, int event)
{
	/* In the round's transaction: the update, then the job's name
	 * (no RETURNING: the dqlite backend cannot run it). */
	struct store_stmt *s = store_stmt(st, "UPDATE job_tasks SET queue_reason = ?3"
	    " WHERE job_id = ?1 AND idx = ?2 AND state = 'pending'"
	    " AND queue_reason IS NOT ?3");
	int64_t grid_id;
	char label[96];
	int rc;

	stmt_bind_int64(s, 1, job_id);
	stmt_bind_int(s, 2, idx);
	store_bind_text(s, 3, reason);
	if (store_done(s) != 0)
		return -1;
	if (store_changes(st) == 0)
		return 0;
	s = store_stmt(st, "SELECT grid_id, name, parallel FROM jobs"
	    " WHERE id = ?1");
	stmt_bind_int64(s, 1, job_id);
	rc = stmt_step(s);
	if (rc != STORE_ROW) {
		stmt_reset(s);
		return -1;
	}
	grid_id = stmt_col_int64(s, 0);
	job_task_label(store_col_text(s, 1), stmt_col_int(s, 2), idx,
	    label, sizeof label);
	stmt_reset(s);
	if (!event)
		return 0;
	return store_event_add(st, grid_id, "job.queued", label, "waiting: %s",
	    reason);
}

/* ---- the hub ---------------------------------------------------------------- */

int
store_job_desired(struct store *st, const char *node_id,
    store_job_desired_fn *fn, void *arg, json_t *done)
{
	struct store_stmt *s = store_stmt(st, "SELECT a.id, a.job_id, a.idx,"
	    " a.state = 'running', j.name, g.name, j.spec FROM job_attempts a"
	    " JOIN jobs j ON j.id = a.job_id JOIN grids g ON g.id = j.grid_id"
	    " WHERE a.node_id = ?1 AND a.state IN ('assigned', 'running')"
	    " ORDER BY a.id");
	struct job_desired d;
	int rc;

	store_bind_text(s, 1, node_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		d.attempt = stmt_col_int64(s, 0);
		d.job_id = stmt_col_int64(s, 1);
		d.idx = stmt_col_int(s, 2);
		d.started = stmt_col_int(s, 3);
		d.name = store_col_text(s, 4);
		d.grid = store_col_text(s, 5);
		d.spec = store_col_text(s, 6);
		fn(arg, &d);
	}
	stmt_reset(s);
	if (rc != STORE_DONE)
		return -1;
	s = store_stmt(st, "SELECT id FROM job_attempts WHERE node_id = ?1"
	    " AND state NOT IN ('assigned', 'running') ORDER BY id");
	store_bind_text(s, 1, node_id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		json_array_append_new(done,
		    json_integer(stmt_col_int64(s, 0)));
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

static void
job_id_add(int64_t **v, size_t *n, int64_t id)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*v)[i] == id)
			return;
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = id;
}

/* A report of attempt r->attempt, which runs on node_id. */
static int
job_report_one(struct store *st, const char *node_id,
    const struct job_report *r, int64_t now, int64_t **jobs, size_t *njobs,
    int *desired)
{
	struct store_stmt *s = store_stmt(st, "SELECT a.job_id, a.idx, a.no,"
	    " a.state, a.node_id, j.grid_id, j.name, j.parallel,"
	    " coalesce(json_extract(j.spec, '$.timeout'), 0) FROM job_attempts a"
	    " JOIN jobs j ON j.id = a.job_id WHERE a.id = ?1");
	struct job_end e;
	enum job_state as;
	int64_t job_id, no, grid_id, timeout;
	int idx, parallel, rc;
	char label[96], nname[64], nth[16], why[512];

	stmt_bind_int64(s, 1, r->attempt);
	if (stmt_step(s) != STORE_ROW) {
		stmt_reset(s);
		return 0;		/* deleted meanwhile */
	}
	job_id = stmt_col_int64(s, 0);
	idx = stmt_col_int(s, 1);
	no = stmt_col_int64(s, 2);
	rc = job_state_parse(store_col_text(s, 3), &as);
	if (rc != 0 || strcmp(store_col_text(s, 4), node_id) != 0 ||
	    (as != JOB_ASSIGNED && as != JOB_RUNNING)) {
		/* Another node's, or final: the report changes nothing. */
		stmt_reset(s);
		return 0;
	}
	grid_id = stmt_col_int64(s, 5);
	job_task_label(store_col_text(s, 6), stmt_col_int(s, 7), idx,
	    label, sizeof label);
	parallel = stmt_col_int(s, 7);
	timeout = stmt_col_int64(s, 8);
	stmt_reset(s);
	(void)parallel;

	if (strcmp(r->state, "running") == 0) {
		if (as != JOB_ASSIGNED)
			return 0;
		s = store_stmt(st, "UPDATE job_attempts SET state = 'running',"
		    " started_at = ?2, container_id = ?3 WHERE id = ?1");
		stmt_bind_int64(s, 1, r->attempt);
		stmt_bind_int64(s, 2, now);
		store_bind_text(s, 3, r->container_id);
		if (store_done(s) != 0)
			return -1;
		s = store_stmt(st, "UPDATE job_tasks SET state = 'running',"
		    " started_at = coalesce(started_at, ?3)"
		    " WHERE job_id = ?1 AND idx = ?2");
		stmt_bind_int64(s, 1, job_id);
		stmt_bind_int(s, 2, idx);
		stmt_bind_int64(s, 3, now);
		if (store_done(s) != 0)
			return -1;
		job_node_name(st, node_id, nname, sizeof nname);
		if (store_event_add(st, grid_id, "job.running", label,
		    "%s attempt (%lld) running on %s (container %.12s)",
		    job_nth(no, nth, sizeof nth), (long long)r->attempt, nname,
		    r->container_id != NULL ? r->container_id : "?") != 0 ||
		    job_refresh(st, job_id, 0, now) != 0)
			return -1;
		job_id_add(jobs, njobs, job_id);
		*desired = 1;
		return 0;
	}
	/* Exited before the master saw it run: it ran (its container did). */
	if (strcmp(r->state, "exited") == 0 && as == JOB_ASSIGNED) {
		s = store_stmt(st, "UPDATE job_attempts SET started_at = ?2,"
		    " container_id = ?3 WHERE id = ?1");
		stmt_bind_int64(s, 1, r->attempt);
		stmt_bind_int64(s, 2, now);
		store_bind_text(s, 3, r->container_id);
		if (store_done(s) != 0)
			return -1;
		s = store_stmt(st, "UPDATE job_tasks SET started_at ="
		    " coalesce(started_at, ?3) WHERE job_id = ?1 AND idx = ?2");
		stmt_bind_int64(s, 1, job_id);
		stmt_bind_int(s, 2, idx);
		stmt_bind_int64(s, 3, now);
		if (store_done(s) != 0)
			return -1;
	}
	memset(&e, 0, sizeof e);
	e.retry = 1;
	e.reason = why;
	if (strcmp(r->state, "exited") == 0) {
		e.has_exit = r->has_exit;
		e.exit_code = r->exit_code;
		if (r->timed_out) {
			e.state = JOB_TIMED_OUT;
			snprintf(why, sizeof why, "ran past its timeout of "
			    "%llds and was stopped (exit code %lld)",
			    (long long)timeout, (long long)r->exit_code);
		} else if (r->oom_killed) {
			e.state = JOB_FAILED;
			snprintf(why, sizeof why, "killed for lack of memory "
			    "(OOM, exit code %lld)", (long long)r->exit_code);
		} else if (r->has_exit && r->exit_code == 0) {
			e.state = JOB_SUCCEEDED;
			snprintf(why, sizeof why, "exited 0");
		} else {
			e.state = JOB_FAILED;
			snprintf(why, sizeof why, "exit code %lld",
			    (long long)r->exit_code);
		}
	} else if (strcmp(r->state, "error") == 0) {
		e.state = JOB_FAILED;
		e.nostart = 1;
		snprintf(why, sizeof why, "could not start: %s",
		    r->error != NULL ? r->error : "unknown error");
	} else if (strcmp(r->state, "missing") == 0) {
		e.state = JOB_FAILED;
		snprintf(why, sizeof why, "its container is gone before it "
		    "was seen to end (removed outside berth?)");
	} else
		return 0;	/* pending, pulling: nothing to record */
	rc = job_attempt_end(st, r->attempt, &e, now);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		job_id_add(jobs, njobs, job_id);
		*desired = 1;
	}
	return 0;
}

int
store_job_report(struct store *st, const char *node_id,
    const struct job_report *v, size_t n, int64_t now, int64_t **jobs,
    size_t *njobs, int *desired, char **cause)
{
	size_t i;

	*jobs = NULL;
	*njobs = 0;
	*desired = 0;
	if (n == 0)
		return 0;
	if (store_begin(st) != 0) {
		xasprintf(cause, "store busy");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (job_report_one(st, node_id, &v[i], now, jobs, njobs,
		    desired) != 0) {
			xasprintf(cause, "store: %s", store_errmsg(st));
			store_rollback(st);
			goto fail;
		}
	}
	if (store_commit(st) != 0) {
		xasprintf(cause, "store: commit failed");
		goto fail;
	}
	return 0;
fail:
	free(*jobs);
	*jobs = NULL;
	*njobs = 0;
	*desired = 0;
	return -1;
}

int
store_job_node_gone(struct store *st, const char *node_id, const char *why,
    int64_t now, int64_t **jobs, size_t *njobs)
{
	struct store_stmt *s = store_stmt(st, "SELECT id, job_id FROM job_attempts"
	    " WHERE node_id = ?1 AND state IN ('assigned', 'running')");
	struct job_end e = { .state = JOB_FAILED, .retry = 1, .reason = why };
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc;

	*jobs = NULL;
	*njobs = 0;
	store_bind_text(s, 1, node_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		ids = xreallocarray(ids, n + 1, sizeof *ids);
		ids[n++] = stmt_col_int64(s, 0);
		job_id_add(jobs, njobs, stmt_col_int64(s, 1));
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		free(ids);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (job_attempt_end(st, ids[i], &e, now) < 0) {
			free(ids);
			return -1;
		}
	}
	free(ids);
	return 0;
}
