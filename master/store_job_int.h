/*
 * store_job_int.h - what store_job.c (the API's reads and edits) and
 * store_job_run.c (the scheduler's and the hub's transitions) share.
 * Private to those two files; the interface is store.h.
 *
 * Every transition of a job goes through job_attempt_end() and
 * job_refresh(), inside the caller's transaction, so a state and its
 * event are always written together.
 */
#ifndef BERTH_STORE_JOB_INT_H
#define BERTH_STORE_JOB_INT_H

#include "master/store.h"

/* How an attempt ended. */
struct job_end {
	enum job_state	 state;		/* succeeded, failed, timed_out,
					   cancelled */
	int		 has_exit;	/* exit_code is set */
	int64_t		 exit_code;	/* the container's */
	int		 nostart;	/* failed before it ran */
	int		 retry;		/* a retry may follow (if left) */
	int		 quiet;		/* no task event (the caller writes
					   one for the job) */
	const char	*reason;	/* a sentence */
};

/*
 * End attempt `attempt` (assigned or running) as e says; its task then
 * waits for a retry (if e->retry, the state is failed or timed out and
 * the job has retries left: backoff doubling from the job's) or ends; the
 * node counts a job finished if the attempt ran there; the job's state
 * follows. 1 ended, 0 it was not unfinished, -1 error.
 */
int	 job_attempt_end(struct store *st, int64_t attempt,
	    const struct job_end *e, int64_t now);
/*
 * The job's state from its tasks'; written (with started_at, finished_at
 * and, for a job of several tasks that finished, an event unless quiet)
 * when it changed. 0 or -1.
 */
int	 job_refresh(struct store *st, int64_t job_id, int quiet,
	    int64_t now);
/* What `berth job wait` exits with (store.h, JOB_EXIT_*). */
int64_t	 job_exit_status(enum job_state s, int has_exit, int64_t exit_code,
	    int nostart);
/* "build" for a job of one task, "build#2" for task 2 of several. */
void	 job_task_label(const char *name, int parallel, int idx, char *buf,
	    size_t len);
/* Add node_id to t unless it is there. */
void	 job_touch_add(struct job_touched *t, const char *node_id);

#endif
