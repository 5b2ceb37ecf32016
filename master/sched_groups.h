/*
 * sched_groups.h - node groups on the scheduling thread: scale-up from a
 * plan's demand, the machines' lifecycle, scale-in (docs/autoscaling.md).
 */
#ifndef BERTH_SCHED_GROUPS_H
#define BERTH_SCHED_GROUPS_H

#include "master/master.h"
#include "master/store.h"

#include "scheduler/sched.h"

/*
 * After grid_id's plan was written and applied to s: carry every machine
 * a step further, launch what the demand in plan needs, terminate what is
 * unneeded. *nofit is the grid's last "no group can serve" reason (owned;
 * an event is written only when it changes); *standing is 1 while the
 * scheduler's stand-down holds (one event when it starts); memo keeps the
 * grid's said-once notes (limits, dry-run decisions). gs has the grid's
 * limits (max_nodes_total ...). waiting gets a
 * key (the service id in decimal) per service whose unplaced numbers the
 * machines launched or on their way will take: its deploy waits for them
 * instead of failing.
 */
void	 sched_groups_round(struct master *m, struct store *st,
	    int64_t grid_id, const char *grid, const struct grid_settings *gs,
	    struct sched *s, const struct sched_plan *plan, uint64_t seed,
	    char **nofit, int *standing, json_t *memo, json_t *waiting);

/*
 * The decisions the scheduler's next round of grid_id would make, made by
 * the same code without a write or a provider call: {grid, at, groups:
 * [{name, provider, size, min, max, paused, dry_run, backoff_until?}],
 * decisions: [{group, action, count?, machine?, reason}]} (new
 * reference), or NULL when no round answered within timeout_ms. Any
 * thread but the scheduler's (it waits for that thread).
 */
json_t	*sched_groups_plan(struct master *m, int64_t grid_id,
	    int64_t timeout_ms);

#endif
