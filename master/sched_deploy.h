/*
 * sched_deploy.h - the deploy state machine, advanced by the scheduler
 * thread after each plan.
 *
 * A deploy walks its stack's services in order (links, depends_on). For
 * each it activates the service (the scheduler then places it), rolls its
 * instances to the service's revision a batch at a time so that at least
 * min_health of them keep running, and waits until all run. It ends in
 * success, or in error with the reason: an unplaceable instance, an
 * instance in error (a failed pull, say), or the deploy timeout.
 *
 * The machine reads a snapshot of every unfinished deploy from the store
 * (store_deploy_unfinished()), decides, and writes through the typed
 * store_deploy_*() calls; the scheduler round tells it what the latest
 * plan could not place and hears what it changed through the hooks.
 */
#ifndef BERTH_SCHED_DEPLOY_H
#define BERTH_SCHED_DEPLOY_H

#include "master/store.h"

struct sched_deploy_hooks {
	/* Why the latest plan could not place service_id, or NULL. */
	const char	*(*unplaceable)(void *arg, int64_t service_id);
	/* service_id was activated: re-read it into the scheduler. */
	void		 (*service_changed)(void *arg, int64_t service_id);
	/* node_id's desired set changed (an instance's revision). */
	void		 (*node_changed)(void *arg, const char *node_id);
	void		*arg;		/* passed to each hook */
};

/*
 * Advance every unfinished deploy of grid_id as far as it goes now. Sets
 * *replan when a deploy activated a service or rolled instances, which the
 * scheduler should plan for at once. 0, or -1 when a store error held a
 * deploy back (the next round carries on from what the store holds).
 */
int	 sched_deploy_advance(struct store *st, int64_t grid_id,
	    int64_t now_ms, int64_t timeout_ms,
	    const struct sched_deploy_hooks *h, int *replan);

#endif
