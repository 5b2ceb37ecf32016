/*
 * provider_worker.h - the provider threads: calls of async providers
 * (exec, docker, aws-asg) run here, never in a scheduling round.
 *
 * The round commits a machine's row (and its event), then queues the
 * call; a provider thread makes it and queues the result for the grid,
 * waking the scheduler; the next round takes the grid's results and
 * applies them, with their events (master/sched_groups.c). One call per
 * machine (and one list per group; an orphan's delete has a negative
 * machine_id, unique within its group) is in flight at a time: until its
 * result was taken the machine is `busy`, and a failed delete or list
 * is not retried before the group's backoff_s has passed. Nothing here
 * is persisted: a master killed with calls in flight finds the rows
 * (launching, terminating) and carries on from them.
 */
#ifndef BERTH_PROVIDER_WORKER_H
#define BERTH_PROVIDER_WORKER_H

#include "master/master.h"
#include "master/provider.h"

struct provider_worker;

struct provider_worker	*provider_worker_start(struct master *m,
			    char **cause);
/* Stop the threads (calls in flight finish; queued ones are dropped). */
void			 provider_worker_free(struct provider_worker *w);
/*
 * Queue req for p (copied; the token in the copy is wiped once used).
 * 0 queued, 1 not: a call for the same machine (or the group's list,
 * machine_id 0) is in flight, its result not yet taken, or cooling down.
 */
int			 provider_worker_queue(struct provider_worker *w,
			    const struct provider *p,
			    const struct provider_req *req);
/* 1 while a call for machine_id (0: group_id's list) is busy. */
int			 provider_worker_busy(struct provider_worker *w,
			    int64_t group_id, int64_t machine_id);
/* Take every result of grid_id (*out malloc'd; clear each). Count. */
size_t			 provider_worker_take(struct provider_worker *w,
			    int64_t grid_id, struct provider_res **out);
/* No call for machine_id (0: group_id's list) for ms (a failed delete). */
void			 provider_worker_cool(struct provider_worker *w,
			    int64_t group_id, int64_t machine_id, int64_t ms);
/* Calls made since start, for tests and metrics. */
uint64_t		 provider_worker_calls(struct provider_worker *w);

#endif
