/*
 * store_instance.c - instance rows: where each instance of a service is
 * placed and what its agent last reported about it.
 *
 * An instance row is the scheduler's decision (service, instance number,
 * node, revision, move_target) and the agent's report (state, error, exit
 * code, container id, restarts) in one. Two threads use these calls, each
 * on its own connection: the scheduler places, moves and removes
 * instances and reads them into its view (sched_round.c, sched_sync.c);
 * the hub reads a node's desired set and records state reports
 * (hub_desired.c). The API's views of instances live with their resource
 * (store_service.c's containers list).
 *
 * Rows are handed to a callback, with text borrowed from the statement for
 * the length of the call: a grid of ten thousand instances is read without
 * copying each row.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <string.h>

#define INSTANCE_ROW_COLS \
	"i.service_id, i.instance_no, i.node_id, i.state, i.created_at, " \
	"coalesce(i.moved_at, 0), i.move_target"

/* Step s to its end, handing every row to fn; reset. 0 or -1. */
static int
instance_rows(struct store_stmt *s, store_instance_fn *fn, void *arg)
{
	struct instance_row r;
	int rc;

	while ((rc = stmt_step(s)) == STORE_ROW) {
		r.service_id = stmt_col_int64(s, 0);
		r.instance_no = stmt_col_int(s, 1);
		r.node_id = store_col_text(s, 2);
		r.state = store_col_text(s, 3);
		r.created_at = stmt_col_int64(s, 4);
		r.moved_at = stmt_col_int64(s, 5);
		r.move_target = stmt_col_int(s, 6);
		fn(arg, &r);
	}
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_instance_rows_grid(struct store *st, int64_t grid_id,
    store_instance_fn *fn, void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " INSTANCE_ROW_COLS
	    " FROM instances i JOIN nodes n ON n.id = i.node_id"
	    " WHERE n.grid_id = ?1");

	stmt_bind_int64(s, 1, grid_id);
	return instance_rows(s, fn, arg);
}

int
store_instance_rows_node(struct store *st, const char *node_id,
    store_instance_fn *fn, void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " INSTANCE_ROW_COLS
	    " FROM instances i WHERE i.node_id = ?1");

	store_bind_text(s, 1, node_id);
	return instance_rows(s, fn, arg);
}

int
store_instance_rows_service(struct store *st, int64_t service_id,
    store_instance_fn *fn, void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " INSTANCE_ROW_COLS
	    " FROM instances i WHERE i.service_id = ?1");

	stmt_bind_int64(s, 1, service_id);
	return instance_rows(s, fn, arg);
}

int
store_instance_exists(struct store *st, int64_t service_id, int instance_no,
    const char *node_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT 1 FROM instances WHERE"
	    " service_id = ?1 AND instance_no = ?2 AND node_id = ?3");
	int rc;

	stmt_bind_int64(s, 1, service_id);
	stmt_bind_int(s, 2, instance_no);
	store_bind_text(s, 3, node_id);
	rc = stmt_step(s);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_instance_add(struct store *st, int64_t service_id, int instance_no,
    const char *node_id, int64_t rev, int move_target, int64_t moved_at,
    int64_t now)
{
	struct store_stmt *s = store_stmt(st, "INSERT INTO instances"
	    " (service_id, instance_no, node_id, rev, move_target, moved_at,"
	    " state, created_at, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)");

	stmt_bind_int64(s, 1, service_id);
	stmt_bind_int(s, 2, instance_no);
	store_bind_text(s, 3, node_id);
	stmt_bind_int64(s, 4, rev);
	stmt_bind_int(s, 5, move_target);
	if (moved_at > 0)
		stmt_bind_int64(s, 6, moved_at);
	else
		stmt_bind_null(s, 6);
	stmt_bind_int64(s, 7, now);
	return store_done(s);
}

int
store_instance_delete(struct store *st, int64_t service_id, int instance_no,
    const char *node_id)
{
	struct store_stmt *s = store_stmt(st, "DELETE FROM instances"
	    " WHERE service_id = ?1 AND instance_no = ?2 AND node_id = ?3");

	stmt_bind_int64(s, 1, service_id);
	stmt_bind_int(s, 2, instance_no);
	store_bind_text(s, 3, node_id);
	return store_done(s);
}

int
store_instance_move_done(struct store *st, int64_t service_id,
    int instance_no, const char *node_id)
{
	struct store_stmt *s = store_stmt(st, "UPDATE instances SET"
	    " move_target = 0 WHERE service_id = ?1 AND"
	    " instance_no = ?2 AND node_id = ?3");

	stmt_bind_int64(s, 1, service_id);
	stmt_bind_int(s, 2, instance_no);
	store_bind_text(s, 3, node_id);
	return store_done(s);
}

/* "?,?,...": STORE_BATCH parameters, for the IN list below. */
#define Q4	"?,?,?,?"
#define Q16	Q4 "," Q4 "," Q4 "," Q4
#define Q64	Q16 "," Q16 "," Q16 "," Q16
_Static_assert(STORE_BATCH == 64, "Q64 spells STORE_BATCH parameters");

int
store_instance_desired(struct store *st, const char *const *node_ids,
    size_t n, store_desired_fn *fn, void *arg)
{
	struct store_stmt *s;
	struct instance_desired d;
	size_t i, k, base;
	int rc;

	for (base = 0; base < n; base += STORE_BATCH) {
		k = n - base < STORE_BATCH ? n - base : STORE_BATCH;
		s = store_stmt(st, "SELECT i.node_id, i.service_id,"
		    " i.instance_no, i.rev, v.name, k.name, g.name, v.spec,"
		    " v.stopped, g.instance_settle_s, g.id"
		    " FROM instances i JOIN services v ON v.id = i.service_id"
		    " JOIN stacks k ON k.id = v.stack_id"
		    " JOIN grids g ON g.id = k.grid_id"
		    " WHERE i.node_id IN (" Q64 ")"
		    " ORDER BY i.node_id, i.service_id, i.instance_no");
		/* Unbound parameters are NULL, which matches nothing. */
		for (i = 0; i < k; i++)
			store_bind_text(s, (int)i + 1, node_ids[base + i]);
		while ((rc = stmt_step(s)) == STORE_ROW) {
			d.node_id = store_col_text(s, 0);
			d.service_id = stmt_col_int64(s, 1);
			d.instance_no = stmt_col_int(s, 2);
			d.rev = stmt_col_int64(s, 3);
			d.service = store_col_text(s, 4);
			d.stack = store_col_text(s, 5);
			d.grid = store_col_text(s, 6);
			d.spec = store_col_text(s, 7);
			d.spec_len = (size_t)stmt_col_bytes(s, 7);
			d.stopped = stmt_col_int(s, 8);
			d.settle_s = stmt_col_int64(s, 9);
			d.grid_id = stmt_col_int64(s, 10);
			fn(arg, &d);
		}
		stmt_reset(s);
		if (rc != STORE_DONE)
			return -1;
	}
	return 0;
}

/*
 * An instance that starts crashing (its container keeps exiting) gets an
 * event, once per spell: only when its row is not "crashing" already.
 * Runs before the row takes the report. 0 or -1.
 */
static int
store_instance_crash_event(struct store *st, const char *node_id,
    const struct instance_report *r)
{
	struct store_stmt *s;

	if (strcmp(r->state, "crashing") != 0)
		return 0;
	s = store_stmt(st, "INSERT INTO events (grid_id, at, type, subject,"
	    " message) SELECT k.grid_id, ?5, 'instance.crash',"
	    " k.name || '/' || v.name || '#' || i.instance_no,"
	    " printf('%s/%s#%d on node %s is crashing: exited with code %s,"
	    " restarted %d time(s)', k.name, v.name, i.instance_no, n.name,"
	    " coalesce(?6, '?'), ?7)"
	    " FROM instances i JOIN services v ON v.id = i.service_id"
	    " JOIN stacks k ON k.id = v.stack_id JOIN nodes n ON n.id = i.node_id"
	    " WHERE i.service_id = ?1 AND i.instance_no = ?2 AND i.node_id = ?3"
	    " AND i.rev = ?4 AND i.state IS NOT 'crashing'");
	stmt_bind_int64(s, 1, r->service_id);
	stmt_bind_int64(s, 2, r->instance_no);
	store_bind_text(s, 3, node_id);
	stmt_bind_int64(s, 4, r->rev);
	stmt_bind_int64(s, 5, util_now_ms());
	if (r->has_exit_code)
		stmt_bind_int64(s, 6, r->exit_code);
	else
		stmt_bind_null(s, 6);
	stmt_bind_int64(s, 7, r->restarts);
	return store_done(s);
}

/*
 * Events of an instance's health_check (docs/health.md), before its row
 * takes the report: "instance.unhealthy" when its health turns unhealthy
 * (once per spell), "instance.restart" when its agent restarted it for
 * failed probes (the report's health_restarts grew). 0 or -1.
 */
static int
store_instance_health_events(struct store *st, const char *node_id,
    const struct instance_report *r)
{
	struct store_stmt *s;

	if (r->health == NULL)
		return 0;
	s = store_stmt(st, "INSERT INTO events (grid_id, at, type, subject,"
	    " message) SELECT k.grid_id, ?5,"
	    " CASE WHEN ?7 > i.health_restarts THEN 'instance.restart'"
	    "  ELSE 'instance.unhealthy' END,"
	    " k.name || '/' || v.name || '#' || i.instance_no,"
	    " CASE WHEN ?7 > i.health_restarts THEN"
	    "  printf('%s/%s#%d on node %s was restarted: unhealthy (%s)',"
	    "  k.name, v.name, i.instance_no, n.name, coalesce(?8,"
	    "  i.health_error, '?'))"
	    " ELSE printf('%s/%s#%d on node %s is unhealthy: %s', k.name,"
	    "  v.name, i.instance_no, n.name, coalesce(?8, '?')) END"
	    " FROM instances i JOIN services v ON v.id = i.service_id"
	    " JOIN stacks k ON k.id = v.stack_id JOIN nodes n ON n.id = i.node_id"
	    " WHERE i.service_id = ?1 AND i.instance_no = ?2 AND i.node_id = ?3"
	    " AND i.rev = ?4 AND (?7 > i.health_restarts OR (?6 = 'unhealthy'"
	    "  AND i.health IS NOT 'unhealthy'))");
	stmt_bind_int64(s, 1, r->service_id);
	stmt_bind_int64(s, 2, r->instance_no);
	store_bind_text(s, 3, node_id);
	stmt_bind_int64(s, 4, r->rev);
	stmt_bind_int64(s, 5, util_now_ms());
	store_bind_text(s, 6, r->health);
	stmt_bind_int64(s, 7, r->health_restarts);
	store_bind_text(s, 8, r->health_error);
	return store_done(s);
}

/*
 * Each hook run the row has not seen yet (one that ended after its
 * last_hook's): an "instance.hook" event with what it did and its output.
 * 0 or -1.
 */
static int
store_instance_hook_events(struct store *st, const char *node_id,
    const struct instance_report *r)
{
	struct store_stmt *s;
	size_t k;

	for (k = 0; k < r->nhooks; k++) {
		s = store_stmt(st, "INSERT INTO events (grid_id, at, type, subject,"
	    " message) SELECT k.grid_id, ?5, 'instance.hook',"
	    " k.name || '/' || v.name || '#' || i.instance_no,"
	    " printf('%s/%s#%d on node %s: %s', k.name, v.name,"
	    "  i.instance_no, n.name, ?7)"
	    " FROM instances i JOIN services v ON v.id = i.service_id"
	    " JOIN stacks k ON k.id = v.stack_id JOIN nodes n ON n.id = i.node_id"
	    " WHERE i.service_id = ?1 AND i.instance_no = ?2 AND i.node_id = ?3"
	    " AND i.rev = ?4 AND coalesce(json_extract(i.last_hook, '$.at'),"
	    "  -1) < ?6");
		stmt_bind_int64(s, 1, r->service_id);
		stmt_bind_int64(s, 2, r->instance_no);
		store_bind_text(s, 3, node_id);
		stmt_bind_int64(s, 4, r->rev);
		stmt_bind_int64(s, 5, util_now_ms());
		stmt_bind_int64(s, 6, r->hooks[k].at);
		store_bind_text(s, 7, r->hooks[k].msg);
		if (store_done(s) != 0)
			return -1;
	}
	return 0;
}

/*
 * The rows a report changes: its instance at the current revision where
 * any reported field differs (?9, updated_at, is not compared).
 */
#define REPORT_DIFFERS \
	"WHERE service_id = ?1 AND instance_no = ?2 AND node_id = ?3" \
	" AND rev = ?10 AND (state IS NOT ?4 OR error IS NOT ?5 OR" \
	"  exit_code IS NOT ?6 OR container_id IS NOT ?7 OR" \
	"  restarts IS NOT ?8 OR last_output IS NOT ?11 OR" \
	"  health IS NOT ?12 OR health_error IS NOT ?13 OR" \
	"  health_restarts IS NOT ?14 OR address IS NOT ?16 OR" \
	"  (?15 IS NOT NULL AND last_hook IS NOT ?15))"

static void
report_bind(struct store_stmt *s, const char *node_id,
    const struct instance_report *r)
{
	stmt_bind_int64(s, 1, r->service_id);
	stmt_bind_int64(s, 2, r->instance_no);
	store_bind_text(s, 3, node_id);
	store_bind_text(s, 4, r->state);
	store_bind_text(s, 5, r->error);
	if (r->has_exit_code)
		stmt_bind_int64(s, 6, r->exit_code);
	else
		stmt_bind_null(s, 6);
	store_bind_text(s, 7, r->container_id);
	stmt_bind_int64(s, 8, r->restarts);
	if (stmt_has_param(s, 9))
		stmt_bind_int64(s, 9, util_now_ms());
	stmt_bind_int64(s, 10, r->rev);
	store_bind_text(s, 11, r->last_output);
	store_bind_text(s, 12, r->health);
	store_bind_text(s, 13, r->health_error);
	stmt_bind_int64(s, 14, r->health_restarts);
	store_bind_text(s, 15, r->nhooks > 0 ? r->hooks[r->nhooks - 1].json :
	    NULL);
	store_bind_text(s, 16, r->address);
}

int
store_instance_report(struct store *st, const char *node_id,
    const struct instance_report *v, size_t n, int *changed, char **cause)
{
	/*
	 * Only the instance of the current revision takes the report: a
	 * container of an older rev that is being replaced says nothing
	 * about the new one. Unchanged rows are not rewritten.
	 */
	struct store_stmt *s;
	size_t i;
	int rc;

	*changed = 0;
	if (n == 0)
		return 0;
	/*
	 * A report that changes no row writes nothing (its events come only
	 * with a change): found by reading, which in WAL mode waits for no
	 * writer. Every agent reports at each session's start and after
	 * each re-sent desired set; a write transaction for each took the
	 * write lock 10,000 times when 10,000 agents came back, queued
	 * behind the scheduler's round on the hub's thread.
	 */
	for (i = 0; i < n; i++) {
		s = store_stmt(st, "SELECT 1 FROM instances " REPORT_DIFFERS);
		report_bind(s, node_id, &v[i]);
		rc = stmt_step(s);
		stmt_reset(s);
		if (rc == STORE_ROW)
			break;
		if (rc != STORE_DONE) {
			xasprintf(cause, "store: %s", store_errmsg(st));
			return -1;
		}
	}
	if (i == n)
		return 0;
	if (store_begin(st) != 0) {
		xasprintf(cause, "store busy");
		return -1;
	}
	for (i = 0; i < n; i++) {
		s = store_stmt(st,
		    "UPDATE instances SET state = ?4, error = ?5, exit_code = ?6,"
		    " container_id = ?7, restarts = ?8, updated_at = ?9,"
		    " last_output = ?11, health = ?12, health_error = ?13,"
		    " health_restarts = ?14,"
		    " last_hook = coalesce(?15, last_hook), address = ?16 "
		    REPORT_DIFFERS);
		report_bind(s, node_id, &v[i]);
		if (store_instance_crash_event(st, node_id, &v[i]) != 0 ||
		    store_instance_health_events(st, node_id, &v[i]) != 0 ||
		    store_instance_hook_events(st, node_id, &v[i]) != 0 ||
		    store_done(s) != 0) {
			xasprintf(cause, "store: %s", store_errmsg(st));
			store_rollback(st);
			return -1;
		}
		if (store_changes(st) > 0)
			*changed = 1;
	}
	if (store_commit(st) != 0) {
		xasprintf(cause, "store: commit failed");
		return -1;
	}
	return 0;
}
