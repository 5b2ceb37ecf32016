/*
 * jobrun.h - jobs on the agent: the desired frame's job entries, and what
 * to do about one attempt now, as a pure function (docs/jobs.md).
 *
 * A desired frame carries "jobs" (the node's unfinished attempts, each
 * with its phase: "run" until the master has seen it start, then
 * "started") and "jobs_done" (ids of finished attempts whose containers
 * stay). converge.c matches the node's job containers (label berth.attempt)
 * to them and asks jobrun_decide() for each; the unit tests drive every
 * branch without Docker. The rules that make an attempt run at most once:
 *
 *  - a container is created only for an attempt in phase "run", from a
 *    desired frame of the session that is live now, with no container of
 *    that attempt listed, no action of it in flight, and none created by
 *    this agent before (jobrun_rec.created): a master that lost the node
 *    and gave the task to another node cannot have it started here, and a
 *    container removed behind the agent's back is reported "missing", not
 *    run again;
 *  - the container's name carries the attempt id, so even two agents on
 *    one engine (an old one killed mid-create) cannot both create it;
 *  - it runs once: no restart policy, and an exited container is never
 *    started again; a created one (never ran) is started, once;
 *  - a running container past its timeout is stopped; one of a finished
 *    attempt (cancelled, lost) is stopped and kept; a job container of no
 *    attempt the master names is removed.
 *
 * Pure: no I/O, no clock, no lock.
 */
#ifndef BERTH_AGENT_JOBRUN_H
#define BERTH_AGENT_JOBRUN_H

#include <stddef.h>
#include <stdint.h>

#include "agent/observe.h"
#include "agent/pull.h"

/* One unfinished attempt the master wants on this node. */
struct jobrun_spec {
	int64_t		 attempt;	/* attempt id (label berth.attempt) */
	int64_t		 job_id;	/* its job */
	int		 index;		/* its task (BERTH_JOB_INDEX) */
	char		*name;		/* container name */
	char		*image;		/* image reference */
	int		 started;	/* phase "started": never create */
	int64_t		 timeout_s;	/* longest run; 0: none */
	char		*body;		/* POST /containers/create JSON */
};

/* What the agent remembers about one attempt (converge thread). */
struct jobrun_rec {
	int64_t		 attempt;	/* whose */
	int		 created;	/* this agent created its container */
	char		*error;		/* why it could not start, or NULL */
	int		 seen;		/* converge.c: wanted in this pass */
};

enum jobrun_action {
	JOBRUN_NONE,		/* nothing to do */
	JOBRUN_CREATE,		/* create and start (once the image is here) */
	JOBRUN_START,		/* start its created container (never ran) */
	JOBRUN_STOP,		/* stop it (timeout, or a finished attempt) */
	JOBRUN_WAIT,		/* not now (in flight, no live session) */
};

/* The report for the state frame's "jobs" (docs/protocol.md). */
enum jobrun_state {
	JOBRUN_ST_PENDING,	/* no container yet */
	JOBRUN_ST_PULLING,	/* its image is being pulled */
	JOBRUN_ST_RUNNING,	/* its container runs */
	JOBRUN_ST_EXITED,	/* it ended: exit_code, oom, timed_out */
	JOBRUN_ST_ERROR,	/* it could not start: error */
	JOBRUN_ST_MISSING,	/* it started, and its container is gone */
};

struct jobrun_facts {
	int		 busy;		/* an action of it is in flight */
	int		 live;		/* the desired set came in the session
					   that is open now */
	int64_t		 now_ms;	/* wall clock, epoch ms */
};

struct jobrun_out {
	enum jobrun_action action;
	int		 report;	/* put it in the state frame */
	enum jobrun_state state;
	int		 has_exit;	/* exited: exit_code is set */
	int		 exit_code;
	int		 oom_killed;	/* exited: killed for memory */
	int		 timed_out;	/* exited: ran past its timeout */
	const char	*error;		/* error: why (the record's) */
	int64_t		 due;		/* ms until a pass is due, -1 none */
};

/*
 * Decide for an unfinished attempt s (done NULL) or a finished one (s NULL,
 * done 1). m is its listed container or NULL, ins m's inspect or NULL
 * when jobrun_needs_inspect() said it is not needed; r its record (NULL
 * for a finished one).
 */
void	 jobrun_decide(const struct jobrun_spec *s, int done,
	    const struct observe_container *m,
	    const struct observe_inspect *ins, const struct jobrun_rec *r,
	    const struct jobrun_facts *f, struct jobrun_out *out);
/*
 * Does the decision for s need m's inspect? A running job with a timeout
 * (its start time), an exited one with a timeout or killed (137: the OOM
 * killer or a stop; its times, OOMKilled) or whose code the list did not
 * give. The others are decided from the list alone: a stream of short
 * jobs costs one list call a pass, not an inspect per container.
 */
int	 jobrun_needs_inspect(const struct jobrun_spec *s,
	    const struct observe_container *m);
/* After JOBRUN_CREATE: the image check (1, 0, -1) and, when it is
 * missing, pull_want()'s answer and error (taken into r). */
void	 jobrun_image(struct jobrun_rec *r, int image_rc, enum pull_status st,
	    char *error, struct jobrun_out *out);

/*
 * The "jobs" and "jobs_done" of a desired frame (text). Bad entries are
 * logged and skipped. 0, or -1 with *cause when the frame is unusable.
 * *specs (spec_free), *done (free) belong to the caller.
 */
int	 jobrun_parse_desired(const char *text, const char *node_id,
	    struct jobrun_spec **specs, size_t *nspecs, int64_t **done,
	    size_t *ndone, char **cause);
/* One entry (a JSON object as text) into s; for tests. 0, or -1. */
int	 jobrun_parse_one(const char *text, const char *node_id,
	    struct jobrun_spec *s, char **cause);
void	 jobrun_spec_free(struct jobrun_spec *specs, size_t n);

void	 jobrun_rec_clear(struct jobrun_rec *r);
const char *jobrun_state_name(enum jobrun_state st);
/* Docker's RFC 3339 time ("2024-05-01T10:00:00.123456789Z") in epoch
 * ms, or -1 (also for Docker's zero time "0001-01-01T00:00:00Z"). */
int64_t	 jobrun_time_ms(const char *s);

#endif
