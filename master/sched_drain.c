/*
 * sched_drain.c - drains on the scheduling thread (docs/nodes.md).
 *
 * The planner does the moving (scheduler/sched_drain.c): a draining node's
 * ha/random records move off start-before-stop, job tasks run to their
 * end, daemons stop last, and at the deadline what is left is stopped.
 * This file, after each of a grid's plans is written and applied, reads
 * the grid's draining nodes from the store and writes what became true:
 * the deadline passed (`node.drain_forced`, once), or nothing is left but
 * stateful records (`node.drain_done`; the node stays cordoned). A node
 * group's machine drained for scale-in goes on to `terminating` in the
 * same transaction (master/sched_groups.c terminates it). For node groups
 * it also starts scale-in drains of non-empty nodes and cancels them when
 * new demand would use the node.
 *
 * Everything is on the node's row (store_drain.c): a master killed in a
 * drain finds it on start and carries on.
 */
#include "master/sched_drain.h"
#include "master/sched_sync.h"

#include "common/log.h"
#include "common/units.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* The deadline passed: say once what is being stopped. */
static void
drain_forced(struct store *st, int64_t grid_id, const struct node_ops *o)
{
	char b[32];

	if (store_begin(st) != 0)
		return;
	if (store_node_drain_forced(st, o->id) != 1 ||
	    store_event_add(st, grid_id, "node.drain_forced", o->name,
	    "node %s: drain deadline passed (%s after it started): stopping "
	    "what is left at once: %d instance(s), %d job(s), %d daemon(s)",
	    o->name, units_format_duration((o->drain_deadline_at -
	    o->drain_started_at) / 1000, b, sizeof b), o->instances, o->jobs,
	    o->daemons) != 0 || store_commit(st) != 0) {
		store_rollback(st);
		return;
	}
	log_warn("drain: node %s: deadline passed, stopping %d instance(s), "
	    "%d job(s), %d daemon(s)", o->name, o->instances, o->jobs,
	    o->daemons);
}

/* Nothing left but stateful records: done (and its machine goes). */
static int
drain_done(struct store *st, int64_t grid_id, const struct node_ops *o,
    int64_t now)
{
	int scale_in = o->machine_id != 0 &&
	    strcmp(o->machine_state, "draining") == 0;
	char b[32], kept[80] = "";

	if (o->stateful > 0)
		snprintf(kept, sizeof kept, "; %d stateful instance(s) stay "
		    "(pinned to it)", o->stateful);
	if (store_begin(st) != 0)
		return -1;
	if (store_node_drain_done(st, o->id, now) != 1 ||
	    store_event_add(st, grid_id, "node.drain_done", o->name,
	    "node %s drained in %s%s%s%s", o->name, units_format_duration(
	    (now - o->drain_started_at) / 1000, b, sizeof b),
	    o->drain_forced ? " (forced at its deadline)" : "", kept,
	    scale_in ? "; terminating its machine" : "") != 0 ||
	    (scale_in && store_machine_state(st, o->machine_id, "draining",
	    "terminating", "scale-in", now) != 1) ||
	    store_commit(st) != 0) {
		store_rollback(st);
		return -1;
	}
	log_info("drain: node %s drained%s", o->name, scale_in ?
	    "; terminating its machine" : "");
	return 0;
}

void
sched_drain_deadlines(struct store *st, int64_t grid_id, const char *grid,
    int64_t now)
{
	struct node_ops *v = NULL;
	size_t n = 0, i;

	if (store_node_drains(st, grid_id, &v, &n) != 0) {
		log_error("drain: grid %s: %s", grid, store_errmsg(st));
		return;
	}
	for (i = 0; i < n; i++)
		if (!v[i].drain_forced && v[i].drain_deadline_at > 0 &&
		    now >= v[i].drain_deadline_at)
			drain_forced(st, grid_id, &v[i]);
	free(v);
}

void
sched_drain_round(struct master *m, struct store *st, int64_t grid_id,
    const char *grid, struct sched *s)
{
	struct node_ops *v = NULL;
	int64_t now = util_now_ms();
	size_t n = 0, i;

	if (store_node_drains(st, grid_id, &v, &n) != 0) {
		log_error("drain: grid %s: %s", grid, store_errmsg(st));
		return;
	}
	for (i = 0; i < n; i++) {
		if (v[i].instances > 0 || v[i].jobs > 0 || v[i].daemons > 0)
			continue;
		if (drain_done(st, grid_id, &v[i], now) == 0) {
			sched_sync_node(st, s, grid_id, v[i].id);
			master_nodes_touched(m);
		}
	}
	free(v);
}

/* ---- node groups ------------------------------------------------------- */

/*
 * Start the drain of a group's node by `by` ("scale-in", "recycle"): the
 * node's drain, its machine draining and a node.drain event saying why,
 * in one transaction; then the scheduler's view. 0, or -1 (nothing
 * written).
 */
static int
drain_group_node(struct store *st, int64_t grid_id, struct sched *s,
    const struct machine *mc, const char *by, int64_t deadline_s,
    const char *why)
{
	int64_t now = util_now_ms();

	if (store_begin(st) != 0)
		return -1;
	if (store_node_drain_start(st, mc->node_id, by, now,
	    now + deadline_s * 1000) != 1 ||
	    store_machine_state(st, mc->id, "joined", "draining", by,
	    now) != 1 ||
	    store_event_add(st, grid_id, "node.drain", mc->name, "%s",
	    why) != 0 ||
	    store_commit(st) != 0) {
		store_rollback(st);
		return -1;
	}
	sched_sync_node(st, s, grid_id, mc->node_id);
	return 0;
}

int
sched_drain_scale_in(struct master *m, struct store *st, int64_t grid_id,
    struct sched *s, const struct machine *mc, int64_t deadline_s,
    int64_t unneeded_for_s)
{
	char b[32], d[32], why[512];

	(void)m;
	snprintf(why, sizeof why, "node %s of group %s: unneeded for %s "
	    "(its instances fit elsewhere): draining it for scale-in, "
	    "deadline %s", mc->name, mc->group,
	    units_format_duration(unneeded_for_s, b, sizeof b),
	    units_format_duration(deadline_s, d, sizeof d));
	if (drain_group_node(st, grid_id, s, mc, "scale-in", deadline_s,
	    why) != 0)
		return -1;
	log_info("drain: node %s of group %s: scale-in drain", mc->name,
	    mc->group);
	return 0;
}

int
sched_drain_recycle(struct store *st, int64_t grid_id, struct sched *s,
    const struct machine *mc, int64_t deadline_s, int64_t max_jobs)
{
	char d[32], why[512];

	snprintf(why, sizeof why, "node %s of group %s ran %lld job(s) "
	    "(max_jobs_per_node %lld): draining it to recycle it (jobs in "
	    "flight end first), deadline %s", mc->name, mc->group,
	    (long long)mc->node_jobs_finished, (long long)max_jobs,
	    units_format_duration(deadline_s, d, sizeof d));
	if (drain_group_node(st, grid_id, s, mc, "recycle", deadline_s,
	    why) != 0)
		return -1;
	log_info("drain: node %s of group %s: recycled after %lld job(s)",
	    mc->name, mc->group, (long long)mc->node_jobs_finished);
	return 0;
}

/*
 * Would the demand of a plan land on node_id if its drain were cancelled?
 * A dry plan with the node open answers; the node's drain is put back.
 */
static int
drain_would_help(struct sched *s, const char *node_id, int64_t deadline_ms,
    uint64_t seed)
{
	struct sched_opts opts;
	struct sched_plan p;
	const struct sched_step *st;
	int help = 0;
	size_t k;

	memset(&opts, 0, sizeof opts);
	opts.dry_run = 1;
	opts.balance_dry_run = 1;
	if (sched_node_cordon(s, node_id, 0, 0, 0) != 0)
		return 0;
	sched_plan_init(&p);
	sched_plan(s, util_now_ms(), seed, &opts, &p);
	for (k = 0; k < p.nsteps && !help; k++) {
		st = &p.steps[k];
		if ((st->kind == SCHED_STEP_PLACE ||
		    st->kind == SCHED_STEP_JOB_ASSIGN) && st->node_id != NULL &&
		    strcmp(st->node_id, node_id) == 0)
			help = 1;
	}
	sched_plan_clear(&p);
	sched_node_cordon(s, node_id, 1, 1, deadline_ms);
	return help;
}

int
sched_drain_cancel_for_demand(struct master *m, struct store *st,
    int64_t grid_id, struct sched *s, int demand, uint64_t seed)
{
	struct node_ops *v = NULL;
	size_t n = 0, i;
	int cancelled = 0;

	if (demand <= 0 || store_node_drains(st, grid_id, &v, &n) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].drain_by, "scale-in") != 0 ||
		    strcmp(v[i].machine_state, "draining") != 0 ||
		    !drain_would_help(s, v[i].id, v[i].drain_deadline_at, seed))
			continue;
		if (store_begin(st) != 0)
			break;
		if (store_node_cordon(st, v[i].id, 0) != 1 ||
		    store_machine_state(st, v[i].machine_id, "draining",
		    "joined", "drain cancelled: new demand", util_now_ms()) !=
		    1 || store_event_add(st, grid_id, "node.drain_cancel",
		    v[i].name, "drain of node %s cancelled: %d instance(s) or "
		    "task(s) wait for a node and it can take them (nothing is "
		    "launched)", v[i].name, demand) != 0 ||
		    store_commit(st) != 0) {
			store_rollback(st);
			continue;
		}
		log_info("drain: node %s: scale-in drain cancelled by new "
		    "demand", v[i].name);
		sched_sync_node(st, s, grid_id, v[i].id);
		master_changed_node(m, v[i].id);
		cancelled++;
	}
	free(v);
	return cancelled;
}
