/*
 * sched_drain.h - drains on the scheduling thread: their end, their
 * deadline, and node groups' scale-in drains (docs/nodes.md).
 */
#ifndef BERTH_SCHED_DRAIN_H
#define BERTH_SCHED_DRAIN_H

#include "master/master.h"
#include "master/store.h"

#include "scheduler/sched.h"

/*
 * Before grid_id's plan for now: a draining node past its deadline gets
 * its node.drain_forced event (once), naming what the plan will stop.
 */
void	 sched_drain_deadlines(struct store *st, int64_t grid_id,
	    const char *grid, int64_t now);
/*
 * After grid_id's plan was written and applied to s: a draining node with
 * nothing left but stateful records is drained (node.drain_done; a
 * scale-in's machine goes on to terminating), and s learns it.
 */
void	 sched_drain_round(struct master *m, struct store *st,
	    int64_t grid_id, const char *grid, struct sched *s);

/*
 * Node groups: drain a joined machine's node for scale-in (the machine
 * becomes draining, the node drains with the group's deadline; one
 * transaction with node.drain). 0 or -1.
 */
int	 sched_drain_scale_in(struct master *m, struct store *st,
	    int64_t grid_id, struct sched *s, const struct machine *mc,
	    int64_t deadline_s, int64_t unneeded_for_s);
/*
 * Node groups: drain a joined machine's node to recycle it after
 * max_jobs_per_node jobs (docs/autoscaling.md), the same way but by
 * "recycle": new demand does not cancel it. 0 or -1.
 */
int	 sched_drain_recycle(struct store *st, int64_t grid_id,
	    struct sched *s, const struct machine *mc, int64_t deadline_s,
	    int64_t max_jobs);

/*
 * Node groups: demand (instances and tasks waiting for a node) cancels
 * each scale-in drain whose node would take some of it (a dry plan with
 * the node open says so): the node is uncordoned, its machine joined
 * again, node.drain_cancel. Returns the drains cancelled; the caller
 * launches nothing in that round.
 */
int	 sched_drain_cancel_for_demand(struct master *m, struct store *st,
	    int64_t grid_id, struct sched *s, int demand, uint64_t seed);

#endif
