/*
 * sched_round.c - one scheduling round (see sched_round.h).
 *
 * Interim: the round runs on the scheduler thread and keeps its store
 * connection; planning arrives with the scheduler library.
 */
#include "master/sched_round.h"

#include "common/xmalloc.h"

#include <stdlib.h>

struct sched_round {
	struct master	*m;	/* the master */
	struct store	*st;	/* the scheduler thread's connection */
};

struct sched_round *
sched_round_new(struct master *m)
{
	struct sched_round *r = xcalloc(1, sizeof *r);

	r->m = m;
	r->st = master_store(m);
	return r;
}

void
sched_round_free(struct sched_round *r)
{
	free(r);
}

void
sched_round_run(struct sched_round *r, int64_t grid_id)
{
	(void)r;
	(void)grid_id;
}
