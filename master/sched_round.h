/*
 * sched_round.h - one scheduling round: snapshot -> plan -> store -> hub.
 *
 * Runs only on the scheduler thread (sched_loop.c). The round state keeps
 * the scheduler library's in-memory view of every grid between rounds.
 */
#ifndef BERTH_SCHED_ROUND_H
#define BERTH_SCHED_ROUND_H

#include "master/master.h"

struct sched_round;

struct sched_round	*sched_round_new(struct master *m);
void			 sched_round_free(struct sched_round *r);
/* Run a round for grid_id (0: every grid). */
void			 sched_round_run(struct sched_round *r, int64_t grid_id);

#endif
