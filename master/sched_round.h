/*
 * sched_round.h - one scheduling round: sync -> plan -> store -> hub ->
 * deploys.
 *
 * Runs only on the scheduler thread (sched_loop.c). The round state keeps
 * one in-memory scheduler view (scheduler/) per grid between rounds and
 * re-reads only the rows that change notifications name.
 */
#ifndef BERTH_SCHED_ROUND_H
#define BERTH_SCHED_ROUND_H

#include "master/master.h"

/* What changed since the last round (collected by sched_loop.c). */
struct sched_changes {
	int		 all;		/* a tick: plan every grid */
	int		 grids_changed;	/* grid list or settings changed */
	int64_t		*grids;		/* grids to plan */
	size_t		 ngrids;
	char		**nodes;	/* node ids whose rows changed */
	size_t		 nnodes;
	int64_t		*services;	/* service ids that changed */
	size_t		 nservices;
	int64_t		*jobs;		/* job ids that changed */
	size_t		 njobs;
};

struct sched_round;

struct sched_round	*sched_round_new(struct master *m);
void			 sched_round_free(struct sched_round *r);
void			 sched_round_run(struct sched_round *r,
			    const struct sched_changes *ch);

#endif
