/*
 * workers.h - a bounded pool of threads that run Docker actions.
 *
 * The converge thread decides; workers only execute. It submits a struct
 * work (create + start, start, stop + remove, or a job's stop), a worker
 * runs it with
 * its own struct docker (a CURL easy handle per thread), fills in the
 * outcome and puts it on the done queue, then calls done(arg) to wake the
 * converge thread, which takes results with workers_take() and applies
 * them to its own records. Nothing else crosses: workers never see the
 * desired set or the per-instance records.
 */
#ifndef BERTH_AGENT_WORKERS_H
#define BERTH_AGENT_WORKERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "agent/hooks.h"
#include "agent/inflight.h"

#define WORKERS_DEFAULT		8	/* BERTH_DOCKER_CONCURRENCY */
#define WORKERS_MAX		64

/* work.rc: the image was missing when creating (pull it, then retry). */
#define WORK_NO_IMAGE		(-2)
/* work.rc: the engine did not answer (DOCKER_NO_ANSWER): it may have. */
#define WORK_UNCERTAIN		(-3)
/* work.rc: a container already has the name (holder_* say whose). */
#define WORK_NAME_TAKEN		(-4)

/* One action and, once run, its outcome. */
struct work {
	uint64_t	 seq;		/* converge's id (inflight_add) */
	enum inflight_kind kind;	/* what to do */
	int		 labelled;	/* service_id/instance/rev are known */
	int64_t		 service_id;	/* the instance it is for */
	int64_t		 instance;
	int64_t		 rev;
	int64_t		 attempt;	/* a job attempt's action, or 0 */
	char		*name;		/* CREATE: container name; else for logs */
	char		*body;		/* CREATE: the create body */
	char		*id;		/* START/REMOVE: in; CREATE: out */
	int		 stop_first;	/* REMOVE: stop with its grace first */
	int		 was_exited;	/* START: the container had exited */
	struct hook	*hooks;		/* to run around it (hooks.h): CREATE
					   pre_start, post_start; START,
					   RESTART post_start; REMOVE, STOP,
					   RESTART pre_stop */
	size_t		 nhooks;

	/* Filled in by the worker. */
	int		 rc;		/* 0, -1, WORK_NO_IMAGE or
					   WORK_NAME_TAKEN */
	int		 created;	/* CREATE: the container exists */
	char		*holder_id;	/* NAME_TAKEN: the holder's id, or NULL */
	char		*holder_node;	/* ... its berth.node label, or NULL */
	char		*cause;		/* why rc != 0 */
	struct hook_run	*runs;		/* the hooks it ran, in order */
	size_t		 nruns;
	int		 hook_failed;	/* rc != 0 because a hook failed */
	struct work	*next;		/* queue link */
};

struct workers;

/*
 * n threads (1..WORKERS_MAX) on the engine at docker_socket. Calls abort
 * once *stop is non-zero. done(arg) runs on a worker after each result.
 */
struct workers *workers_new(const char *docker_socket, int n,
	    const atomic_int *stop, void (*done)(void *), void *arg);
void	 workers_start(struct workers *w);
/* Set *stop first: wakes the threads, joins them, frees queued work. */
void	 workers_free(struct workers *w);

/* Converge thread: queue an action (takes ownership). */
void	 workers_submit(struct workers *w, struct work *job);
/* Converge thread: one finished action (caller frees), or NULL. */
struct work *workers_take(struct workers *w);

void	 work_free(struct work *job);

#endif
