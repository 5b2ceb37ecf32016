/*
 * sched_loop.h - the scheduling loop thread of the master.
 *
 * Wakes on sched_loop_wake() (node joined or left, service changed,
 * instance failed) and on a short tick; each round marks nodes offline,
 * plans with the scheduler library, writes the plan in one transaction and
 * tells the hub which nodes' desired sets changed.
 */
#ifndef BERTH_SCHED_LOOP_H
#define BERTH_SCHED_LOOP_H

#include "master/master.h"

struct sched_loop	*sched_loop_start(struct master *m, char **cause);
/* Stop the thread; notifications are still safe until sched_loop_free(). */
void			 sched_loop_stop(struct sched_loop *l); /* NULL ok */
void			 sched_loop_free(struct sched_loop *l); /* NULL ok */
/*
 * Run rounds (on) or not (off) (docs/ha.md, "Roles"): a clustered master
 * starts inactive and its watcher turns it on while it leads. Off, the
 * round in progress ends (its writes fail once the store is fenced) and
 * the loop's views are dropped; on again, they are built from the store.
 * A single master's loop is active from the start. Any thread.
 */
void			 sched_loop_set_active(struct sched_loop *l, int on);

/* The rounds run since start, for GET /metrics (any thread). */
struct sched_loop_stats {
	long long	 rounds;	/* rounds run */
	double		 busy_s;	/* their total time */
	double		 max_s;		/* the longest */
};
void			 sched_loop_stats(struct sched_loop *l,
			    struct sched_loop_stats *out);	/* NULL ok */
/*
 * Ask for a round soon. Any thread; never blocks on the round.
 *	wake	grid_id's settings or membership changed (0: every grid)
 *	node	a node's row or its instances' reported states changed
 *	service	a service was created, changed, scaled or removed
 *	job	a job was created, cancelled or removed, or an attempt of it
 *		started or ended
 */
void			 sched_loop_wake(struct sched_loop *l, int64_t grid_id);
void			 sched_loop_node(struct sched_loop *l,
			    const char *node_id);
/* sched_loop_node() for n nodes at once (one lock). */
void			 sched_loop_nodes(struct sched_loop *l,
			    const char *const *node_ids, size_t n);
void			 sched_loop_service(struct sched_loop *l,
			    int64_t service_id);
/* A job was created, cancelled, deleted, or its tasks' states changed. */
void			 sched_loop_job(struct sched_loop *l, int64_t job_id);

#endif
