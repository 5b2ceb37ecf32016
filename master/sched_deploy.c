/*
 * sched_deploy.c - advance deploys (see sched_deploy.h).
 *
 * Scheduler thread only, on its store connection; every state change is
 * its own small transaction with its event, so a master killed mid-deploy
 * restarts from exactly the recorded state and carries on.
 */
#include "master/sched_deploy.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One instance row of the service being deployed. */
struct deploy_inst {
	int	 no;			/* instance number */
	char	 node[NODE_ID_LEN + 1];	/* node id */
	char	 node_name[64];		/* for messages */
	int64_t	 rev;			/* its revision */
	char	 state[16];		/* reported state */
	char	*error;			/* reported error, or NULL */
};

static int
deploy_exec(struct store *st, const char *sql, int64_t a, int64_t b,
    const char *text, int64_t now)
{
	sqlite3_stmt *s = store_stmt(st, sql);
	int rc;

	sqlite3_bind_int64(s, 1, a);
	sqlite3_bind_int64(s, 2, b);
	store_bind_text(s, 3, text);
	sqlite3_bind_int64(s, 4, now);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* End deploy id (and its unfinished services) in error with why. */
static int
deploy_fail(struct store *st, int64_t grid_id, int64_t id, const char *stack,
    int64_t service_id, const char *why, int64_t now)
{
	if (store_begin(st) != 0)
		return -1;
	if (deploy_exec(st, "UPDATE deploy_services SET state = 'error',"
	    " error = ?3, finished_at = ?4 WHERE deploy_id = ?1"
	    " AND service_id = ?2", id, service_id, why, now) != 0 ||
	    deploy_exec(st, "UPDATE deploy_services SET state = 'error',"
	    " error = 'not deployed: an earlier service failed',"
	    " finished_at = ?4 WHERE deploy_id = ?1 AND service_id != ?2"
	    " AND state IN ('created', 'ongoing') AND ?3 IS NOT NULL", id,
	    service_id, why, now) != 0 ||
	    deploy_exec(st, "UPDATE deploys SET state = 'error', error = ?3,"
	    " finished_at = ?4 WHERE id = ?1 AND ?2 = ?2", id, 0, why,
	    now) != 0 ||
	    store_event_add(st, grid_id, "deploy.error", stack,
	    "deploy %lld of stack %s failed: %s", (long long)id, stack,
	    why) != 0) {
		store_rollback(st);
		return -1;
	}
	log_info("deploy %lld of %s failed: %s", (long long)id, stack, why);
	return store_commit(st);
}

static size_t
deploy_load_instances(struct store *st, int64_t service_id,
    struct deploy_inst **out)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT i.instance_no, i.node_id,"
	    " n.name, i.rev, i.state, i.error FROM instances i"
	    " JOIN nodes n ON n.id = i.node_id WHERE i.service_id = ?1"
	    " ORDER BY i.instance_no, i.node_id");
	struct deploy_inst *v = NULL;
	size_t n = 0;

	sqlite3_bind_int64(s, 1, service_id);
	while (sqlite3_step(s) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof *v);
		memset(&v[n], 0, sizeof v[n]);
		v[n].no = sqlite3_column_int(s, 0);
		snprintf(v[n].node, sizeof v[n].node, "%s",
		    store_col_text(s, 1));
		snprintf(v[n].node_name, sizeof v[n].node_name, "%s",
		    store_col_text(s, 2));
		v[n].rev = sqlite3_column_int64(s, 3);
		snprintf(v[n].state, sizeof v[n].state, "%s",
		    store_col_text(s, 4));
		if (store_col_text(s, 5) != NULL)
			v[n].error = xstrdup(store_col_text(s, 5));
		n++;
	}
	sqlite3_reset(s);
	*out = v;
	return n;
}

static void
deploy_free_instances(struct deploy_inst *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].error);
	free(v);
}

/* The deploy's current service, copied out of its query. */
struct deploy_cur {
	int64_t	 sid;		/* service id */
	char	 state[16];	/* its deploy state */
	char	 name[64];	/* service name */
	int64_t	 rev;		/* service revision */
	double	 min_health;	/* share kept running while rolling */
	int	 active;	/* the scheduler places it */
};

/*
 * Work on the deploy's current service. Returns 1 when the service is
 * done (go on to the next), 0 to wait, 2 when it changed something the
 * scheduler must see, -1 on failure (the deploy was failed).
 */
static int
deploy_service(struct store *st, int64_t grid_id, int64_t id,
    const char *stack, const struct deploy_cur *cur, int64_t now,
    const struct deploy_hooks *h)
{
	int64_t sid = cur->sid, rev = cur->rev;
	const char *name = cur->name;
	char why[512];
	const char *reason;
	struct deploy_inst *v;
	size_t n, i, outdated = 0, inflight = 0, batch, want;
	double min_health;
	int active, changed = 0;

	min_health = cur->min_health;
	active = cur->active;
	if (strcmp(cur->state, "created") == 0 &&
	    deploy_exec(st, "UPDATE deploy_services SET state = 'ongoing',"
	    " started_at = ?4 WHERE deploy_id = ?1 AND service_id = ?2"
	    " AND ?3 IS NULL", id, sid, NULL, now) != 0)
		return -1;
	if (!active) {
		if (store_begin(st) != 0 ||
		    deploy_exec(st, "UPDATE services SET active = 1,"
		    " updated_at = ?4 WHERE id = ?1 AND ?2 = ?2 AND ?3 IS NULL",
		    sid, 0, NULL, now) != 0 ||
		    store_event_add(st, grid_id, "deploy.service", stack,
		    "deploying service %s/%s", stack, name) != 0 ||
		    store_commit(st) != 0) {
			store_rollback(st);
			return -1;
		}
		h->service_changed(h->arg, sid);
		return 2;
	}
	if ((reason = h->unplaceable(h->arg, sid)) != NULL) {
		snprintf(why, sizeof why, "service %s: %s", name, reason);
		deploy_fail(st, grid_id, id, stack, sid, why, now);
		return -1;
	}
	n = deploy_load_instances(st, sid, &v);
	for (i = 0; i < n; i++) {
		if (v[i].rev == rev && strcmp(v[i].state, "error") == 0) {
			snprintf(why, sizeof why, "service %s: instance %d on "
			    "node %s: %s", name, v[i].no, v[i].node_name,
			    v[i].error ? v[i].error : "error");
			deploy_free_instances(v, n);
			deploy_fail(st, grid_id, id, stack, sid, why, now);
			return -1;
		}
		if (v[i].rev < rev)
			outdated++;
		else if (strcmp(v[i].state, "running") != 0)
			inflight++;
	}
	/* Roll outdated instances a batch at a time (min_health). */
	batch = n - (size_t)ceil(min_health * (double)n);
	if (batch < 1)
		batch = 1;
	if (outdated > 0 && inflight < batch) {
		want = batch - inflight;
		for (i = 0; i < n && want > 0; i++) {
			if (v[i].rev >= rev)
				continue;
			sqlite3_stmt *s = store_stmt(st, "UPDATE instances SET"
			    " rev = ?4, state = 'pending', error = NULL,"
			    " updated_at = ?5 WHERE service_id = ?1 AND"
			    " instance_no = ?2 AND node_id = ?3");
			sqlite3_bind_int64(s, 1, sid);
			sqlite3_bind_int(s, 2, v[i].no);
			store_bind_text(s, 3, v[i].node);
			sqlite3_bind_int64(s, 4, rev);
			sqlite3_bind_int64(s, 5, now);
			if (sqlite3_step(s) == SQLITE_DONE)
				h->node_changed(h->arg, v[i].node);
			sqlite3_reset(s);
			want--;
			outdated--;
			inflight++;
			changed = 1;
		}
	}
	deploy_free_instances(v, n);
	if (changed)
		return 2;
	if (outdated > 0 || inflight > 0)
		return 0;
	if (store_begin(st) != 0 ||
	    deploy_exec(st, "UPDATE deploy_services SET state = 'success',"
	    " finished_at = ?4 WHERE deploy_id = ?1 AND service_id = ?2"
	    " AND ?3 IS NULL", id, sid, NULL, now) != 0 ||
	    store_event_add(st, grid_id, "deploy.service", stack,
	    "service %s/%s deployed: %zu instance(s) running", stack, name,
	    n) != 0 || store_commit(st) != 0) {
		store_rollback(st);
		return -1;
	}
	return 1;
}

int
deploy_advance(struct store *st, int64_t grid_id, int64_t now_ms,
    int64_t timeout_ms, const struct deploy_hooks *h)
{
	sqlite3_stmt *q, *cur;
	int64_t *ids = NULL, *created = NULL, id;
	char **stacks = NULL, **states = NULL, why[256];
	size_t n = 0, i;
	int rc, changed = 0;

	q = store_stmt(st, "SELECT d.id, k.name, d.state, d.created_at"
	    " FROM deploys d JOIN stacks k ON k.id = d.stack_id"
	    " WHERE k.grid_id = ?1 AND d.state IN ('created', 'ongoing')"
	    " ORDER BY d.id");
	sqlite3_bind_int64(q, 1, grid_id);
	while (sqlite3_step(q) == SQLITE_ROW) {
		ids = xreallocarray(ids, n + 1, sizeof *ids);
		created = xreallocarray(created, n + 1, sizeof *created);
		stacks = xreallocarray(stacks, n + 1, sizeof *stacks);
		states = xreallocarray(states, n + 1, sizeof *states);
		ids[n] = sqlite3_column_int64(q, 0);
		stacks[n] = xstrdup(store_col_text(q, 1));
		states[n] = xstrdup(store_col_text(q, 2));
		created[n] = sqlite3_column_int64(q, 3);
		n++;
	}
	sqlite3_reset(q);

	for (i = 0; i < n; i++) {
		id = ids[i];
		if (strcmp(states[i], "created") == 0) {
			if (store_begin(st) != 0 ||
			    deploy_exec(st, "UPDATE deploys SET state ="
			    " 'ongoing', started_at = ?4 WHERE id = ?1 AND"
			    " ?2 = ?2 AND ?3 IS NULL", id, 0, NULL,
			    now_ms) != 0 ||
			    store_event_add(st, grid_id, "deploy.start",
			    stacks[i], "deploy %lld of stack %s started",
			    (long long)id, stacks[i]) != 0 ||
			    store_commit(st) != 0) {
				store_rollback(st);
				changed = -1;
				continue;
			}
		}
		if (now_ms - created[i] > timeout_ms) {
			snprintf(why, sizeof why, "timed out after %llds",
			    (long long)(timeout_ms / 1000));
			cur = store_stmt(st, "SELECT service_id FROM"
			    " deploy_services WHERE deploy_id = ?1 AND state IN"
			    " ('created', 'ongoing') ORDER BY position LIMIT 1");
			sqlite3_bind_int64(cur, 1, id);
			rc = sqlite3_step(cur);
			int64_t sid = rc == SQLITE_ROW ?
			    sqlite3_column_int64(cur, 0) : 0;
			sqlite3_reset(cur);
			deploy_fail(st, grid_id, id, stacks[i], sid, why, now_ms);
			continue;
		}
		for (;;) {
			cur = store_stmt(st, "SELECT ds.service_id, ds.state,"
			    " v.name, v.rev, v.min_health, v.active"
			    " FROM deploy_services ds JOIN services v"
			    " ON v.id = ds.service_id WHERE ds.deploy_id = ?1"
			    " AND ds.state IN ('created', 'ongoing')"
			    " ORDER BY ds.position LIMIT 1");
			sqlite3_bind_int64(cur, 1, id);
			rc = sqlite3_step(cur);
			if (rc != SQLITE_ROW) {
				sqlite3_reset(cur);
				if (store_begin(st) == 0 &&
				    deploy_exec(st, "UPDATE deploys SET state ="
				    " 'success', finished_at = ?4 WHERE id = ?1"
				    " AND ?2 = ?2 AND ?3 IS NULL", id, 0, NULL,
				    now_ms) == 0 &&
				    store_event_add(st, grid_id,
				    "deploy.success", stacks[i], "deploy %lld of"
				    " stack %s succeeded", (long long)id,
				    stacks[i]) == 0)
					store_commit(st);
				else
					store_rollback(st);
				break;
			}
			struct deploy_cur dc;

			dc.sid = sqlite3_column_int64(cur, 0);
			snprintf(dc.state, sizeof dc.state, "%s",
			    store_col_text(cur, 1));
			snprintf(dc.name, sizeof dc.name, "%s",
			    store_col_text(cur, 2));
			dc.rev = sqlite3_column_int64(cur, 3);
			dc.min_health = sqlite3_column_double(cur, 4);
			dc.active = sqlite3_column_int(cur, 5);
			sqlite3_reset(cur);
			rc = deploy_service(st, grid_id, id, stacks[i], &dc,
			    now_ms, h);
			if (rc == 2)
				changed = 1;
			if (rc != 1)
				break;
		}
	}
	for (i = 0; i < n; i++) {
		free(stacks[i]);
		free(states[i]);
	}
	free(stacks);
	free(states);
	free(ids);
	free(created);
	return changed;
}
