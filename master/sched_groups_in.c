/*
 * sched_groups_in.c - node groups: scale-in of unneeded nodes, empty ones
 * first, busy ones drained (docs/autoscaling.md, "Scale-down").
 */
#include "master/sched_groups_int.h"

/*
 * A joined machine whose node is online and holds nothing but daemons
 * (no ha/random record, no job task) is unneeded; above its group's min,
 * outside the delays after a launch or a failure, and unneeded for the
 * group's unneeded_s, it is drained (an empty node's drain is its daemons
 * stopping with it) and terminated. unneeded_since is persisted, so a
 * restart does not reset the clock.
 */
void
groups_scale_in(struct groups_ctx *c, int growing)
{
	struct machine *mc;
	struct nodegroup *g;
	int *joined, *draining, *idle, done = 0, busy_cap, busy_started = 0;
	char b[32];
	size_t i, k;

	joined = xcalloc(c->ngroups + 1, sizeof *joined);
	draining = xcalloc(c->ngroups + 1, sizeof *draining);
	idle = xcalloc(c->ngroups + 1, sizeof *idle);
	for (k = 0; k < c->nmach; k++)
		for (i = 0; i < c->ngroups; i++)
			if (c->groups[i].id == c->mach[k].group_id &&
			    groups_idle(&c->mach[k]))
				idle[i]++;
	for (k = 0; k < c->nmach; k++)
		for (i = 0; i < c->ngroups; i++)
			if (c->groups[i].id == c->mach[k].group_id &&
			    (strcmp(c->mach[k].state, "joined") == 0 ||
			    strcmp(c->mach[k].state, "launching") == 0 ||
			    strcmp(c->mach[k].state, "requested") == 0))
				joined[i]++;
			else if (c->groups[i].id == c->mach[k].group_id &&
			    strcmp(c->mach[k].state, "draining") == 0)
				draining[i]++;
	/* Non-empty nodes: grid-wide max(1, 10 %) of them a round. */
	busy_cap = (int)c->nmach / 10;
	if (busy_cap < 1)
		busy_cap = 1;
	/*
	 * Empty nodes first (pass 0), then busy ones (pass 1): an empty
	 * node chosen here is cordoned in the same transaction, so a busy
	 * node's instances are not counted as fitting on a node that is
	 * being terminated in this very round (they would then fit nowhere,
	 * and its drain would end forced at its deadline, instances down).
	 */
	for (k = 0; k < 2 * c->nmach && done < GROUPS_MAX_SCALE_IN; k++) {
		mc = &c->mach[k % c->nmach];
		if (strcmp(mc->state, "joined") != 0 ||
		    (mc->node_busy != 0) != (k >= c->nmach))
			continue;
		for (i = 0; i < c->ngroups; i++)
			if (c->groups[i].id == mc->group_id)
				break;
		if (i == c->ngroups)
			continue;
		g = &c->groups[i];
		/*
		 * Kraken's "destroy after N jobs" (docs/autoscaling.md): a
		 * node that ran max_jobs_per_node jobs is drained (a job in
		 * flight ends first) and terminated, whatever min, demand or
		 * the delays say: min launches its replacement. Never a
		 * protected node; nothing while the group is paused.
		 */
		if (g->settings.max_jobs_per_node > 0 &&
		    mc->node_jobs_finished >= g->settings.max_jobs_per_node &&
		    mc->node_exists && !mc->node_protected &&
		    !g->settings.paused) {
			groups_decide(c, g, "drain", mc->name, 0, "ran %lld "
			    "job(s) (max_jobs_per_node %lld): recycling it",
			    (long long)mc->node_jobs_finished,
			    (long long)g->settings.max_jobs_per_node);
			if (groups_acts(c, g) && sched_drain_recycle(c->st,
			    c->grid_id, c->s, mc, g->settings.drain_deadline_s,
			    g->settings.max_jobs_per_node) == 0) {
				snprintf(mc->state, sizeof mc->state,
				    "draining");
				joined[i]--;
				draining[i]++;
			}
			continue;
		}
		/*
		 * Unneeded: empty (daemons aside), or (docs/nodes.md) its
		 * instances fit on other nodes, as sched_drain_fits() finds
		 * with the node left out; never a protected node, nor one
		 * running a job task.
		 */
		if (mc->node_protected || mc->node_jobs || !mc->node_online ||
		    !mc->node_measured || growing || (mc->node_busy &&
		    sched_drain_fits(c->s, mc->node_id, NULL) != 1)) {
			if (mc->unneeded_since != 0 && !c->dry &&
			    store_machine_unneeded(c->st, mc->id, 0) == 0)
				mc->unneeded_since = 0;
			continue;
		}
		if (mc->unneeded_since == 0) {
			if (!c->dry && store_machine_unneeded(c->st, mc->id,
			    c->now) == 0)
				mc->unneeded_since = c->now;
			continue;
		}
		/* min + spare stay; and spare idle nodes (below). */
		if (joined[i] <= g->settings.min + g->settings.spare ||
		    (!mc->node_busy && idle[i] <= g->settings.spare) ||
		    c->now - mc->unneeded_since < g->settings.unneeded_s * 1000 ||
		    c->now - g->last_add_at <
		    g->settings.delay_after_add_s * 1000 ||
		    c->now - g->last_failure_at <
		    g->settings.delay_after_failure_s * 1000)
			continue;
		if (g->settings.paused) {
			if (c->decisions != NULL)
				groups_decide(c, g, "wait", mc->name, 0,
				    "unneeded for %s, but the group is paused",
				    groups_dur((c->now - mc->unneeded_since) /
				    1000, b, sizeof b));
			continue;
		}
		if (mc->node_busy) {
			/* One such drain per group at a time. */
			if (draining[i] > 0 || busy_started >= busy_cap)
				continue;
			groups_decide(c, g, "drain", mc->name, 0, "unneeded for "
			    "%s (its instances fit on other nodes, above min "
			    "%lld)", groups_dur((c->now - mc->unneeded_since) /
			    1000, b, sizeof b), (long long)g->settings.min);
			if (!groups_acts(c, g)) {
				draining[i]++;
				busy_started++;
				continue;
			}
			if (sched_drain_scale_in(c->m, c->st, c->grid_id, c->s,
			    mc, g->settings.drain_deadline_s,
			    (c->now - mc->unneeded_since) / 1000) == 0) {
				group_stats_add(g->id, GROUP_STAT_SCALE_DOWN, 1);
				snprintf(mc->state, sizeof mc->state,
				    "draining");
				joined[i]--;
				draining[i]++;
				busy_started++;
			}
			continue;
		}
		groups_decide(c, g, "drain", mc->name, 0, "unneeded for %s "
		    "(nothing but daemons on it, above min %lld)",
		    groups_dur((c->now - mc->unneeded_since) / 1000, b,
		    sizeof b), (long long)g->settings.min);
		joined[i]--;
		idle[i]--;
		done++;
		if (!groups_acts(c, g))
			continue;
		/* Drained (empty: nothing to move) and terminating, with
		 * their events, in one transaction. */
		if (store_begin(c->st) != 0)
			break;
		if (store_machine_state(c->st, mc->id, "joined", "draining",
		    "unneeded", c->now) != 1 ||
		    store_node_cordon(c->st, mc->node_id, 1) < 0 ||
		    store_event_add(c->st, c->grid_id, "node.drain", mc->name,
		    "node %s of group %s: unneeded for %s (nothing but daemons "
		    "on it, above min %lld): draining", mc->name, g->name,
		    groups_dur((c->now - mc->unneeded_since) / 1000, b,
		    sizeof b), (long long)g->settings.min) != 0 ||
		    store_machine_state(c->st, mc->id, "draining",
		    "terminating", "scale-in", c->now) != 1 ||
		    store_event_add(c->st, c->grid_id, "node.drain_done",
		    mc->name, "node %s drained: terminating its machine",
		    mc->name) != 0 || store_commit(c->st) != 0) {
			store_rollback(c->st);
			break;
		}
		group_stats_add(g->id, GROUP_STAT_SCALE_DOWN, 1);
		snprintf(mc->state, sizeof mc->state, "terminating");
		snprintf(mc->reason, sizeof mc->reason, "scale-in");
		mc->state_at = c->now;
		sched_sync_node(c->st, c->s, c->grid_id, mc->node_id);
		log_info("groups: grid %s: scale-in: machine %s", c->grid,
		    mc->name);
		groups_reap(c, mc);
	}
	free(joined);
	free(draining);
	free(idle);
}

/* ---- plans asked for by the API ---------------------------------------- */
