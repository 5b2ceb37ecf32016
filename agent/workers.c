/*
 * workers.c - the Docker action pool (see workers.h).
 *
 * DESIGN: a job queue and a done queue under one mutex; idle workers wait
 * on a condvar (the Redis bio.c shape). Each worker owns a struct docker,
 * made on its own thread, and learns the engine's API version before its
 * first action. A job runs to the end of its Docker calls; a stop with
 * grace may take the container's StopTimeout, which is why removals run
 * here and in parallel instead of holding the converge pass.
 *
 * Shutdown: the owner sets *stop (shared with every struct docker, so a
 * call in progress aborts from curl's progress callback within about a
 * second), then workers_free() wakes and joins the threads; jobs still
 * queued are dropped: the next agent re-plans from what Docker shows.
 */
#include "agent/workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agent/docker.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"

struct workers {
	pthread_mutex_t	 lock;		/* guards the queues */
	pthread_cond_t	 cond;		/* a job was queued, or stop */
	struct work	*queue;		/* queued jobs, oldest first */
	struct work	*queue_tail;	/* last queued job */
	struct work	*done_head;	/* finished jobs, oldest first */
	struct work	*done_tail;	/* last finished job */
	pthread_t	*threads;	/* the workers */
	int		 nthreads;	/* how many */
	int		 started;	/* threads created */
	char		*socket;	/* Docker socket path */
	const atomic_int *stop;		/* shutdown flag (owned by converge) */
	void		(*done)(void *); /* wake the converge thread */
	void		*done_arg;	/* its argument */
};

void
work_free(struct work *job)
{
	size_t i;

	if (job == NULL)
		return;
	free(job->name);
	free(job->body);
	free(job->id);
	free(job->cause);
	free(job->holder_id);
	free(job->holder_node);
	hooks_free(job->hooks, job->nhooks);
	for (i = 0; i < job->nruns; i++)
		hook_run_clear(&job->runs[i]);
	free(job->runs);
	free(job);
}

struct workers *
workers_new(const char *docker_socket, int n, const atomic_int *stop,
    void (*done)(void *), void *arg)
{
	struct workers *w = xcalloc(1, sizeof *w);

	if (n < 1)
		n = 1;
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->threads = xcalloc((size_t)n, sizeof *w->threads);
	w->nthreads = n;
	w->socket = xstrdup(docker_socket);
	w->stop = stop;
	w->done = done;
	w->done_arg = arg;
	return w;
}

/*
 * Run job's hooks of type t in order (pre_start in a container of its own
 * made from job->body, the others in job->id) until one fails. 0, or -1
 * when a pre_start or post_start hook failed: job->rc, cause and
 * hook_failed say so. A failed pre_stop is only recorded.
 */
static int
workers_hooks(struct docker *d, struct work *job, enum hook_type t)
{
	struct hook_run *run;
	size_t i;
	int ok;

	for (i = 0; i < job->nhooks; i++) {
		if (job->hooks[i].type != t)
			continue;
		job->runs = xreallocarray(job->runs, job->nruns + 1,
		    sizeof *job->runs);
		run = &job->runs[job->nruns++];
		memset(run, 0, sizeof *run);
		if (t == HOOK_PRE_START)
			ok = hook_container(d, job->name, job->body,
			    &job->hooks[i], run);
		else
			ok = hook_exec(d, job->id, &job->hooks[i], run);
		if (ok || t == HOOK_PRE_STOP)
			continue;
		free(job->cause);
		job->cause = hook_run_failure(run);
		job->rc = -1;
		job->hook_failed = 1;
		return -1;
	}
	return 0;
}

/* post_start after a start: a failure stops the container again. */
static void
workers_post_start(struct docker *d, struct work *job)
{
	char *cause = NULL;

	if (workers_hooks(d, job, HOOK_POST_START) == 0)
		return;
	if (docker_stop(d, job->id, -1, &cause) != 0) {
		log_warn("%s", cause);
		free(cause);
	}
}

/* Create and start; on a start failure the container stays (created). */
static void
workers_create(struct docker *d, struct work *job)
{
	int rc;
	json_t *o;
	const char *s;
	char *cause = NULL;

	if (workers_hooks(d, job, HOOK_PRE_START) != 0)
		return;
	job->rc = docker_create(d, job->name, job->body, &job->id,
	    &job->cause);
	if (job->rc == DOCKER_NO_IMAGE)
		job->rc = WORK_NO_IMAGE;
	else if (job->rc == DOCKER_NO_ANSWER)
		job->rc = WORK_UNCERTAIN;
	else if (job->rc == DOCKER_NAME_TAKEN) {
		/* Whose is it? The converge thread decides what that means. */
		job->rc = WORK_NAME_TAKEN;
		if ((o = docker_inspect(d, job->name, &cause)) == NULL) {
			free(cause);
			return;
		}
		if ((s = json_string_value(json_object_get(o, "Id"))) != NULL)
			job->holder_id = xstrdup(s);
		s = json_string_value(json_object_get(json_object_get(
		    json_object_get(o, "Config"), "Labels"), PROTO_LABEL_NODE));
		if (s != NULL)
			job->holder_node = xstrdup(s);
		json_decref(o);
	}
	if (job->rc != 0)
		return;
	job->created = 1;
	if ((rc = docker_start(d, job->id, &job->cause)) != 0)
		job->rc = rc == DOCKER_NO_ANSWER ? WORK_UNCERTAIN : -1;
	else
		workers_post_start(d, job);
}

static void
workers_remove(struct docker *d, struct work *job)
{
	char *cause = NULL, esc[512];

	/* A failed stop still goes on to the forced remove. */
	if (job->stop_first)
		workers_hooks(d, job, HOOK_PRE_STOP);
	if (job->stop_first && docker_stop(d, job->id, -1, &cause) != 0) {
		log_warn("%s", log_escape(esc, sizeof esc, cause));
		free(cause);
	}
	job->rc = docker_remove(d, job->id, &job->cause);
}

static void
workers_run(struct docker *d, struct work *job)
{
	switch (job->kind) {
	case INFLIGHT_CREATE:
		workers_create(d, job);
		break;
	case INFLIGHT_START:
		job->rc = docker_start(d, job->id, &job->cause);
		if (job->rc == DOCKER_NO_ANSWER)
			job->rc = WORK_UNCERTAIN;
		else if (job->rc == 0)
			workers_post_start(d, job);
		break;
	case INFLIGHT_REMOVE:
		workers_remove(d, job);
		break;
	case INFLIGHT_STOP:
		workers_hooks(d, job, HOOK_PRE_STOP);
		job->rc = docker_stop(d, job->id, -1, &job->cause);
		break;
	case INFLIGHT_RESTART:
		workers_hooks(d, job, HOOK_PRE_STOP);
		job->rc = docker_restart(d, job->id, &job->cause);
		if (job->rc == 0)
			workers_post_start(d, job);
		break;
	}
}

static void *
workers_main(void *arg)
{
	struct workers *w = arg;
	struct docker *d = docker_new(w->socket, w->stop);
	struct work *job;
	char *version = NULL, *cause = NULL;
	int have_version = 0;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!atomic_load(w->stop) && w->queue == NULL)
			pthread_cond_wait(&w->cond, &w->lock);
		if (atomic_load(w->stop))
			break;
		job = w->queue;
		w->queue = job->next;
		if (w->queue == NULL)
			w->queue_tail = NULL;
		job->next = NULL;
		pthread_mutex_unlock(&w->lock);

		/* Speak the engine's API version if it is older than ours. */
		if (!have_version) {
			if (docker_version(d, &version, &cause) == 0)
				have_version = 1;
			free(version);
			free(cause);
			version = cause = NULL;
		}
		workers_run(d, job);

		pthread_mutex_lock(&w->lock);
		if (w->done_tail != NULL)
			w->done_tail->next = job;
		else
			w->done_head = job;
		w->done_tail = job;
		pthread_mutex_unlock(&w->lock);
		w->done(w->done_arg);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	docker_free(d);
	return NULL;
}

void
workers_start(struct workers *w)
{
	int i;

	for (i = 0; i < w->nthreads; i++) {
		if (pthread_create(&w->threads[i], NULL, workers_main, w) != 0)
			fatalx("workers: cannot create thread");
	}
	w->started = 1;
}

void
workers_submit(struct workers *w, struct work *job)
{
	job->next = NULL;
	job->rc = 0;
	job->created = 0;
	pthread_mutex_lock(&w->lock);
	if (w->queue_tail != NULL)
		w->queue_tail->next = job;
	else
		w->queue = job;
	w->queue_tail = job;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

struct work *
workers_take(struct workers *w)
{
	struct work *job;

	pthread_mutex_lock(&w->lock);
	job = w->done_head;
	if (job != NULL) {
		w->done_head = job->next;
		if (w->done_head == NULL)
			w->done_tail = NULL;
		job->next = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	return job;
}

static void
workers_free_list(struct work *job)
{
	struct work *next;

	for (; job != NULL; job = next) {
		next = job->next;
		work_free(job);
	}
}

void
workers_free(struct workers *w)
{
	int i;

	if (w == NULL)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		for (i = 0; i < w->nthreads; i++)
			pthread_join(w->threads[i], NULL);
	}
	workers_free_list(w->queue);
	workers_free_list(w->done_head);
	free(w->threads);
	free(w->socket);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
