/*
 * sched_sync.h - keep a grid's in-memory scheduler view (scheduler/) in
 * step with the store, one row at a time.
 *
 * Scheduler thread only. A grid is loaded whole once (sched_sync_grid);
 * afterwards only the rows named by change notifications are re-read.
 */
#ifndef BERTH_SCHED_SYNC_H
#define BERTH_SCHED_SYNC_H

#include "master/store.h"
#include "scheduler/sched.h"

/* Load every node, active service and instance of grid_id into s. 0, or
 * -1 when a read failed (what was read is loaded). */
int	 sched_sync_grid(struct store *st, struct sched *s, int64_t grid_id);
/*
 * Re-read node id and its instances' states into s. 1 if the node is
 * in grid_id, 0 if it is not (or gone: then it is removed from s), -1.
 */
int	 sched_sync_node(struct store *st, struct sched *s, int64_t grid_id,
	    const char *id);
/* Re-read service id and its instances. 1 in grid, 0 not/gone, -1. */
int	 sched_sync_service(struct store *st, struct sched *s, int64_t grid_id,
	    int64_t id);
/*
 * Job tasks (docs/jobs.md). Load the grid's unfinished tasks into s;
 * re-read one job's tasks (finished ones leave s, queued ones wait, the
 * others are on their node). A task whose attempt's node no longer exists
 * is not loaded: its (job id, index, node) goes to *orphans (caller
 * frees), *norphans of them, for the caller to end as lost. 0 or -1.
 */
struct sync_orphan {
	int64_t	 job_id;			/* the job */
	int	 idx;				/* its task */
	char	 node_id[NODE_ID_LEN + 1];	/* the node that is gone */
};
int	 sched_sync_jobs(struct store *st, struct sched *s, int64_t grid_id,
	    struct sync_orphan **orphans, size_t *norphans);
int	 sched_sync_job(struct store *st, struct sched *s, int64_t job_id,
	    struct sync_orphan **orphans, size_t *norphans);
/* Refresh every node's reported load (cpu, memory). 0 or -1. */
int	 sched_sync_load(struct store *st, struct sched *s, int64_t grid_id);
/* Map the grid's settings onto the scheduler's. */
void	 sched_sync_settings(const struct grid_settings *gs,
	    struct sched_settings *out);

#endif
