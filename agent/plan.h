/*
 * plan.h - the converge decision as a pure function.
 *
 * Given what the master wants (identity and rev of each instance) and the
 * containers this node owns (from their labels and Docker state), decide
 * for each wanted instance whether to keep, start or create it, and which
 * containers to remove. No I/O, no clock: backoff gating is the caller's.
 */
#ifndef BERTH_AGENT_PLAN_H
#define BERTH_AGENT_PLAN_H

#include <stddef.h>
#include <stdint.h>

/* Docker's container states as the plan cares about them. */
enum plan_state {
	PLAN_ST_RUNNING,	/* running: leave alone */
	PLAN_ST_PAUSED,		/* paused by hand: leave alone, say so */
	PLAN_ST_RESTARTING,	/* Docker's restart policy is on it */
	PLAN_ST_CREATED,	/* created, never started */
	PLAN_ST_EXITED,		/* exited: the agent restarts it */
	PLAN_ST_DEAD,		/* dead: cannot start, remove and recreate */
	PLAN_ST_REMOVING,	/* on its way out: ignore */
};

/* A container this node owns (label berth.node = our id). */
struct plan_actual {
	int		 labelled;	/* service-id/instance/rev parsed */
	int64_t		 service_id;	/* berth.service-id */
	int64_t		 instance;	/* berth.instance */
	int64_t		 rev;		/* berth.rev */
	enum plan_state	 state;		/* from Docker's State */
	int64_t		 attempt;	/* berth.attempt: a job's container
					   (jobrun.h), 0 for a service's */
	int		 daemon;	/* berth.daemon: a daemon service's */
};

/* A wanted instance. */
struct plan_want {
	int64_t		 service_id;	/* identity with instance */
	int64_t		 instance;
	int64_t		 rev;		/* the wanted revision */
};

enum plan_act {
	PLAN_KEEP,		/* matched and running (or restarting) */
	PLAN_START,		/* matched but created or exited: start it */
	PLAN_CREATE,		/* nothing usable: create and start */
};

/* The decision; arrays sized by the caller (nwant / nactual). */
struct plan {
	enum plan_act	*act;		/* per want */
	long		*match;		/* per want: actual index or -1 */
	int		*remove;	/* per actual: 1 = stop and remove */
};

void	 plan_compute(const struct plan_want *want, size_t nwant,
	    const struct plan_actual *actual, size_t nactual, struct plan *p);

/*
 * Daemons stop last (docs/nodes.md): while another service's container
 * of this node is to be removed (remove[j], a job's aside), a daemon's
 * container to be removed waits: hold[j] = 1, and it goes in a later
 * pass, once the others are gone from Docker. Returns how many are held.
 */
size_t	 plan_hold_daemons(const struct plan_actual *actual, size_t nactual,
	    const int *remove, int *hold);

/* Docker's State string ("running", "exited", ...) to enum plan_state. */
enum plan_state plan_state_parse(const char *s);

#endif
