/*
 * sched_deploy.h - the deploy state machine, advanced by the scheduler thread
 * after each plan.
 *
 * A deploy walks its stack's services in order (links, depends_on). For
 * each it activates the service (the scheduler then places it), rolls its
 * instances to the service's revision a batch at a time so that at least
 * min_health of them keep running, and waits until all run. It ends in
 * success, or in error with the reason: an unplaceable instance, an
 * instance in error (a failed pull, say), or the deploy timeout.
 */
#ifndef BERTH_SCHED_DEPLOY_H
#define BERTH_SCHED_DEPLOY_H

#include "master/store.h"

struct deploy_hooks {
	/* Why the latest plan could not place service_id, or NULL. */
	const char	*(*unplaceable)(void *arg, int64_t service_id);
	/* service_id was activated: re-read it into the scheduler. */
	void		 (*service_changed)(void *arg, int64_t service_id);
	/* node_id's desired set changed (an instance's revision). */
	void		 (*node_changed)(void *arg, const char *node_id);
	void		*arg;
};

/*
 * Advance every unfinished deploy of grid_id. Returns 1 when it changed
 * something the scheduler should plan again for, 0 otherwise, -1 on a
 * store error.
 */
int	 deploy_advance(struct store *st, int64_t grid_id, int64_t now_ms,
	    int64_t timeout_ms, const struct deploy_hooks *h);

#endif
