/*
 * decide.h - what to do about one wanted instance now, as a pure function.
 *
 * plan.h matches the node's containers to the wanted instances (which
 * container is whose, which must go). This module takes one instance from
 * there and decides, from the spec, its container as listed, that
 * container's inspect, the record of past attempts and the time, what the
 * converge pass does now and what it reports: keep, start, create (once
 * the image is here), pull, or wait (backoff, an action in flight, the old
 * container's name still taken). No I/O, no clock, no lock: converge.c
 * reads Docker (observe.h), calls these, and carries the actions out; the
 * unit tests drive every branch without Docker.
 *
 * The decision updates the record's own bookkeeping (running since,
 * backoff reset after a healthy minute, the wait_for_port record): those
 * are part of the record of past attempts it is a function of.
 *
 * Creating is decided in up to three steps, because each needs a fact
 * that costs a Docker call or queues a pull, and is asked only when the
 * one before says so: decide_instance() says DECIDE_CREATE; the caller
 * checks the image and calls decide_image() (present: still CREATE;
 * absent: DECIDE_PULL; check failed: wait with backoff); on PULL it asks
 * pull_want() and calls decide_pull() with the answer.
 */
#ifndef BERTH_AGENT_DECIDE_H
#define BERTH_AGENT_DECIDE_H

#include <stdint.h>

#include "agent/health.h"
#include "agent/hooks.h"
#include "agent/observe.h"
#include "agent/plan.h"
#include "agent/portprobe.h"
#include "agent/pull.h"

struct spec;

#define DECIDE_RETRY_BASE_MS	1000	/* start/create retries: 1 s, 2 s ... */
#define DECIDE_RETRY_CAP_MS	300000	/* ... up to 5 min */
#define DECIDE_HEALTHY_MS	60000	/* running this long resets backoff */
#define DECIDE_NAME_BUSY_MS	500	/* name still in use: look again */
#define DECIDE_SETTLE_POLL_MS	1000	/* a settling container: look again */

/* Whose container held the name a create wanted (a 409 from the engine). */
enum decide_holder {
	DECIDE_HOLDER_OURS,	/* this node's own (an old one on its way out) */
	DECIDE_HOLDER_STRANGER,	/* anyone else's: a name squatter */
};

/* What the agent remembers about one wanted instance (converge thread). */
struct decide_rec {
	int64_t		 service_id;	/* identity with instance */
	int64_t		 instance;
	int64_t		 rev;		/* rev the counters below are for */
	unsigned	 attempts;	/* consecutive starts/creates tried */
	int64_t		 not_before;	/* mono ms: no start/create before */
	int64_t		 running_since;	/* mono ms seen running, 0 if not */
	int		 agent_restarts; /* starts of an exited container */
	char		*error;		/* last create/start/pull failure */
	int		 pull_failed;	/* error is a failed pull's: the pull
					   thread retries, report "pulling" */
	int		 seen;		/* converge.c: wanted in this pass */
	struct portprobe_rec probe;	/* wait_for_port of its container */
	struct health_rec health;	/* its health_check (health.h) */
	struct hook_run	*hook_runs;	/* the hooks its last action ran that
					   ran any (reported in "hooks") */
	size_t		 nhook_runs;
};

/* What the pass does now. */
enum decide_action {
	DECIDE_KEEP,		/* its container runs (or Docker restarts it) */
	DECIDE_START,		/* start the listed container */
	DECIDE_CREATE,		/* create and start (the image is checked) */
	DECIDE_PULL,		/* the image is missing: ask the pull thread */
	DECIDE_WAIT,		/* something is due, but not now */
	DECIDE_STOP,		/* its service is stopped: stop it, keep it */
	DECIDE_RESTART,		/* its health checks failed: restart it */
};

/* Why. */
enum decide_reason {
	DECIDE_R_RUNNING,	/* KEEP: running (its port answers, if any) */
	DECIDE_R_PORT_WAIT,	/* KEEP: running, wait_for_port not yet */
	DECIDE_R_SETTLING,	/* KEEP: running, not up for settle_s yet */
	DECIDE_R_PAUSED,	/* KEEP: paused by hand */
	DECIDE_R_RESTARTING,	/* KEEP: Docker's restart policy is on it */
	DECIDE_R_EXITED,	/* START: it exited (stopped by hand, ...) */
	DECIDE_R_CREATED,	/* START: created, never started */
	DECIDE_R_ABSENT,	/* CREATE: no container of its rev */
	DECIDE_R_NO_IMAGE,	/* PULL: the image is not on the node */
	DECIDE_R_IN_FLIGHT,	/* WAIT: an action of this instance runs */
	DECIDE_R_BACKOFF,	/* WAIT: before not_before (retry backoff) */
	DECIDE_R_NAME_TAKEN,	/* WAIT: its old container holds the name */
	DECIDE_R_IMAGE_ERROR,	/* WAIT: the image check failed (backoff) */
	DECIDE_R_PULLING,	/* WAIT: the pull is queued or running */
	DECIDE_R_PULL_FAILED,	/* WAIT: the last pull failed (pull.c) */
	DECIDE_R_STOP,		/* STOP: running, but its service is stopped */
	DECIDE_R_HELD,		/* KEEP: stopped (or absent), as its service */
	DECIDE_R_HEALTH_WAIT,	/* KEEP: running, no health probe passed yet */
	DECIDE_R_UNHEALTHY,	/* RESTART: HEALTH_FAILS_RESTART probes failed */
	DECIDE_R_NETWORK_WAIT,	/* WAIT: the grid network is not in place */
};

/* The state reported to the master (docs/protocol.md). */
enum decide_state {
	DECIDE_ST_PENDING,	/* no container yet */
	DECIDE_ST_PULLING,	/* waiting for its image */
	DECIDE_ST_CREATED,	/* created, not started */
	DECIDE_ST_STARTING,	/* running, not settled yet (or its
				   wait_for_port has not answered) */
	DECIDE_ST_RUNNING,	/* running, settled */
	DECIDE_ST_PAUSED,	/* paused by hand (docker pause) */
	DECIDE_ST_CRASHING,	/* keeps exiting: Docker restarts it, or
				   it restarted and has not settled */
	DECIDE_ST_STOPPED,	/* exited: exit_code */
	DECIDE_ST_ERROR,	/* the last create/start/pull failed */
	DECIDE_ST_REMOVING,	/* a container on its way out */
};

/* What the pass knows besides the container: its plan, its actions. */
struct decide_facts {
	enum plan_act	 act;		/* plan_compute()'s verdict */
	int		 busy;		/* an action of it is in flight */
	int		 name_taken;	/* a listed container has its name */
	int64_t		 up_ms;		/* how long its container has run since
					   its last start (wall clock against
					   State.StartedAt), -1 unknown */
};

/* The decision, and what to report. */
struct decide_out {
	enum decide_action action;	/* what to do now */
	enum decide_reason reason;	/* why */
	enum decide_state state;	/* what to report */
	const char	*error;		/* its error (the record's), or NULL */
	const char	*output;	/* last lines before an exit, or NULL */
	int		 has_exit;	/* exit_code is meaningful */
	int		 exit_code;	/* the container's last exit code */
	int		 restarts;	/* Docker's restarts + the agent's */
	int		 soon;		/* something moves: pass again soon */
	int64_t		 due;		/* ms until a pass is due, -1 none */
	int		 reinspect;	/* its inspect predates the start */
	int		 probe;		/* launch a wait_for_port probe now */
	char		*probe_key;	/* its key (the caller frees) */
	int		 probe_pid;	/* its namespace: State.Pid, 0 own */
	int		 probes_only;	/* STARTING only until its probes
					   (port, health) of this start pass:
					   nothing else (settle_s, a create
					   in flight) holds it */
	enum health_status health;	/* HEALTH_NONE without a health_check */
	const char	*health_error;	/* the last failed probe's reason */
	int		 health_restarts; /* restarts for failed probes */
	int		 health_probe;	/* launch a health probe now */
	char		*health_key;	/* its key (the caller frees) */
	int		 health_pid;	/* its namespace: State.Pid, 0 own */
	const char	*health_addr;	/* address to probe (the inspect's) */
	char		*msg;		/* error's storage when made here
					   ("unhealthy: ..."; caller frees) */
};

/*
 * Decide for spec s. m is plan_compute()'s match for it (NULL if none)
 * and ins m's inspect (NULL when m is); f->act must agree with m. r is the
 * instance's record (a new rev starts it afresh). *out is filled in.
 */
void	 decide_instance(const struct spec *s,
	    const struct observe_container *m,
	    const struct observe_inspect *ins, struct decide_rec *r,
	    const struct decide_facts *f, int64_t now, struct decide_out *out);
/*
 * After DECIDE_CREATE: the image check's answer (observe_image(): 1, 0,
 * -1 with cause, which this takes). 1 keeps CREATE; 0 makes it PULL; -1
 * is a failed attempt (backoff) and a WAIT.
 */
void	 decide_image(struct decide_rec *r, int image_rc, char *cause,
	    int64_t now, struct decide_out *out);
/* After DECIDE_PULL: pull_want()'s answer and error (taken). */
void	 decide_pull(struct decide_rec *r, enum pull_status st, char *error,
	    struct decide_out *out);

/*
 * After DECIDE_CREATE of an instance that joins the grid network: it is
 * not in place yet, for the reason why (netplane_hold()). A WAIT, state
 * "pending", with "waiting for the grid network: WHY" as its error.
 */
void	 decide_network_wait(struct decide_rec *r, const char *why,
	    struct decide_out *out);

/* The state of a listed container before any desired set is known. */
enum decide_state decide_listed_state(enum plan_state st);

const char *decide_state_name(enum decide_state st);
const char *decide_reason_name(enum decide_reason why);

/* Records: a fresh one; free what it holds (the struct is the caller's). */
void	 decide_rec_init(struct decide_rec *r, int64_t service_id,
	    int64_t instance, int64_t rev);
void	 decide_rec_clear(struct decide_rec *r);

/* Worker results, applied by converge.c to the record of their rev. */
/* A create or start failed (cause taken): backoff from now. */
void	 decide_rec_failed(struct decide_rec *r, char *cause, int64_t now);
/* A create failed on a name still in use: not the instance's fault. */
void	 decide_rec_name_busy(struct decide_rec *r, int64_t now);
/*
 * A create failed because a container holds the name (cause, the engine's
 * words, taken; holder_id may be NULL). One of ours on its way out: look
 * again soon, no error. Anyone else's: nothing the agent will remove (it
 * is not its container), so the instance is in error with the engine's
 * reason and retried with the backoff, 1 s, 2 s, 4 s ... up to 5 min.
 */
void	 decide_rec_name_taken(struct decide_rec *r, enum decide_holder who,
	    const char *name, const char *holder_id, char *cause,
	    int64_t now);
/*
 * Is c, a listed container of this node carrying spec s's identity labels
 * (service id, instance), the instance's own? It is when it has the name
 * the agent gives the instance (s->name: Docker keeps names unique per
 * engine, and the agent never creates the instance under another). One
 * under another name (made by hand with copied labels, say) is a
 * stranger: never kept, never reported as the instance; it is removed.
 */
int	 decide_is_own(const struct spec *s, const struct observe_container *c);
/* Created and started (attempts count until a healthy minute). */
void	 decide_rec_created(struct decide_rec *r);
/* The hooks an action ran (copied; n 0 forgets them). */
void	 decide_rec_hook_runs(struct decide_rec *r, const struct hook_run *runs,
	    size_t n);
/* A restart for failed health probes ended (ok: it was restarted). */
void	 decide_rec_health_restarted(struct decide_rec *r, int ok);
/* An existing container was started (was_exited: the agent restarted it). */
void	 decide_rec_started(struct decide_rec *r, int was_exited, int64_t now);

#endif
