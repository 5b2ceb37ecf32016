/*
 * portprobe.h - deploy.wait_for_port: does a container's port answer yet?
 *
 * A container whose desired entry has wait_for_port = N is reported
 * "starting", not "running", until a TCP connect to 127.0.0.1:N inside the
 * container's own network namespace succeeds. Never to the container's
 * bridge address: the probe enters the namespace through
 * /proc/<pid>/ns/net with setns(2), which changes only the calling thread,
 * so every probe runs on its own short-lived thread (never on the converge
 * thread or a worker) and that thread exits when the probe ends. With
 * network_mode host the probe connects in the agent's own namespace.
 *
 * Two parts:
 *  - the record and its decisions (struct portprobe_rec): pure, no I/O, no
 *    clock, no lock; the converge thread owns one per instance;
 *  - the launcher (struct portprobe): at most PORTPROBE_MAX probes at once,
 *    each on its own thread; results come back through a queue, and
 *    done(arg) wakes the converge thread, like workers.h.
 */
#ifndef BERTH_AGENT_PORTPROBE_H
#define BERTH_AGENT_PORTPROBE_H

#include <stdint.h>

#include <pthread.h>
#include <stdatomic.h>

struct health_spec;

#define PORTPROBE_MAX		16	/* probe threads at once */
#define PORTPROBE_TIMEOUT_MS	300	/* one connect attempt */
#define PORTPROBE_FAST_MS	250	/* probe cadence, first 10 s */
#define PORTPROBE_MID_MS	1000	/* then, up to 60 s */
#define PORTPROBE_SLOW_MS	2000	/* then (the plain converge poll) */

/* One instance's probe history; converge thread only. */
struct portprobe_rec {
	char		*key;		/* container start it is for, or NULL */
	int		 passed;	/* the port answered for key */
	int		 busy;		/* a probe of this instance runs */
	int64_t		 since;		/* mono ms key was first seen */
	int64_t		 last;		/* mono ms of the last probe, 0 none */
	char		*error;		/* why probing is impossible, or NULL */
	int		 logged;	/* error was logged for key */
};

/* "<container id>@<State.StartedAt>": a restart makes a new key. */
char	*portprobe_key(const char *container_id, const char *started_at);

/* Probe interval for an instance starting for this long. */
int	 portprobe_interval_ms(int64_t starting_for_ms);

/*
 * The container of this record's instance runs, as start key (NULL: not
 * known yet, e.g. inspect failed). Returns 1 if it is to be reported
 * "starting", 0 for "running" (port 0: no wait_for_port; or it passed for
 * key). *launch: probe now. *due: ms until the next probe is due (after
 * the one launched now, if any), -1 if none.
 */
int	 portprobe_decide(struct portprobe_rec *r, int port, const char *key,
	    int64_t now, int *launch, int64_t *due);
/* A probe was handed to the launcher at now. */
void	 portprobe_launched(struct portprobe_rec *r, int64_t now);
/*
 * A probe's result: it answered (ok), or not, or could not be done (cause,
 * taken). Returns 1 when cause is new for this key (log it once).
 */
int	 portprobe_result(struct portprobe_rec *r, const char *key, int ok,
	    char *cause);
/* Forget everything (not running, no wait_for_port, or freed). */
void	 portprobe_rec_clear(struct portprobe_rec *r);

/* One probe: filled in by the converge thread, the outcome by the probe. */
struct portprobe_job {
	int64_t		 service_id;	/* the instance it is for */
	int64_t		 instance;
	char		*container_id;	/* for the inspect cache */
	char		*key;		/* portprobe_key() it was made for */
	int		 pid;		/* the container's State.Pid; 0: own netns */
	int		 port;		/* 1-65535 */
	/* A health_check probe (health.h) instead of a wait_for_port one. */
	struct health_spec *health;	/* its own copy, or NULL */
	char		*addr;		/* health: the container's IPv4, or
					   NULL for 127.0.0.1 */

	/* Filled in by the probe thread. */
	int		 ok;		/* connect succeeded */
	int		 gone;		/* pid is gone: re-inspect */
	char		*cause;		/* could not probe at all, or NULL */
	char		*why;		/* health: why the probe failed */

	pthread_t	 thread;	/* the probe's thread */
	struct portprobe_job *next;	/* queue link */
};

void	 portprobe_job_free(struct portprobe_job *job);

/*
 * The connect itself, on the calling thread (setns()s it when pid > 0):
 * fills ok, gone, cause; a health job runs health_run() there instead
 * (ends early once *stop is set; stop may be NULL). For tests and for the
 * probe threads only.
 */
void	 portprobe_run(struct portprobe_job *job, int timeout_ms,
	    const atomic_int *stop);

struct portprobe;

struct portprobe *portprobe_new(void (*done)(void *), void *arg);
/*
 * Joins every probe thread (a wait_for_port probe ends within
 * PORTPROBE_TIMEOUT_MS, a health probe within a poll slice of the stop).
 */
void	 portprobe_free(struct portprobe *p);
/* Start job on a new thread (takes it); -1 (job not taken) when full. */
int	 portprobe_launch(struct portprobe *p, struct portprobe_job *job);
/* One finished probe (its thread joined; caller frees), or NULL. */
struct portprobe_job *portprobe_take(struct portprobe *p);
/* Wait up to ms until no probe runs; 0 if none runs, -1 on timeout. */
int	 portprobe_wait(struct portprobe *p, int ms);

#endif
