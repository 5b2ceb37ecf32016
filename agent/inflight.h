/*
 * inflight.h - which Docker actions are under way, and what that forbids.
 *
 * The converge thread hands actions to the worker pool (workers.h) and
 * records each here until its result comes back; the next pass asks this
 * table before it plans an action again. Pure bookkeeping: no I/O, no
 * clock, no lock (converge thread only), so it is unit tested alone.
 *
 * Rules:
 *  - an instance (service id + instance number) with any action in flight
 *    gets no new create or start: never two creates of one instance, and a
 *    replacement's create waits for the removal of the old container;
 *  - a container with a removal in flight is not removed again;
 *  - a container of an instance with a create or start in flight is not
 *    removed yet (that action may still be starting it): it is removed on
 *    a later pass, once the action has ended;
 *  - a job attempt (jobrun.h) with any action in flight gets no other:
 *    never two creates of one attempt, no start or stop beside them.
 */
#ifndef BERTH_AGENT_INFLIGHT_H
#define BERTH_AGENT_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

enum inflight_kind {
	INFLIGHT_CREATE,	/* create + start a new container */
	INFLIGHT_START,		/* start an existing container */
	INFLIGHT_REMOVE,	/* stop (own grace) + force-remove */
	INFLIGHT_STOP,		/* stop (own grace), keep: a job's, a stopped service's */
	INFLIGHT_RESTART,	/* restart (own grace): failed health checks */
};

struct inflight_entry {
	uint64_t	 seq;		/* the action's id (inflight_add) */
	enum inflight_kind kind;	/* what it does */
	int		 labelled;	/* service_id/instance are known */
	int64_t		 service_id;	/* the instance it is for */
	int64_t		 instance;
	int64_t		 attempt;	/* a job attempt's action, or 0 */
	char		*container_id;	/* START/REMOVE/STOP: its container */
};

struct inflight {
	struct inflight_entry *e;	/* actions under way */
	size_t		 n;		/* entries used */
	uint64_t	 next_seq;	/* last id given out */
};

/* Record an action; returns its id (never 0). container_id is copied. */
uint64_t inflight_add(struct inflight *t, enum inflight_kind kind,
	    int labelled, int64_t service_id, int64_t instance,
	    const char *container_id);
/* Record an action of job attempt `attempt` (jobrun.h); its id. */
uint64_t inflight_add_job(struct inflight *t, enum inflight_kind kind,
	    int64_t attempt, const char *container_id);
/* Any action in flight for this job attempt. */
int	 inflight_attempt_busy(const struct inflight *t, int64_t attempt);
/* The action with this id has ended (its result was applied). */
void	 inflight_done(struct inflight *t, uint64_t seq);
/* Free every entry; the table can be used again. */
void	 inflight_clear(struct inflight *t);

/* Any action in flight for this instance: no create or start now. */
int	 inflight_instance_busy(const struct inflight *t, int64_t service_id,
	    int64_t instance);
/* May this container be removed now? (labelled: its identity is known.) */
int	 inflight_may_remove(const struct inflight *t, int labelled,
	    int64_t service_id, int64_t instance, const char *container_id);
/* A removal of this container is in flight. */
int	 inflight_removing(const struct inflight *t, const char *container_id);

#endif
