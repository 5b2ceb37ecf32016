/*
 * pull.c - the pull thread: one image at a time, off the converge path.
 *
 * DESIGN: pulls can take minutes (or, with no registry reachable, fail after
 * a DNS timeout), so they never run on the converge thread. The converge
 * thread calls pull_want() (under p->lock, never blocking on I/O); the pull
 * thread takes queued images one by one, pulls with its own struct docker,
 * records the outcome and calls done() so converge runs a pass at once.
 * Invariant: an image is in the queue at most once (status QUEUED), and a
 * failed image is not queued again before its retry time.
 */
#include "agent/pull.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agent/backoff.h"
#include "agent/docker.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

enum pull_entry_state {
	PE_QUEUED,		/* waiting for the pull thread */
	PE_RUNNING,		/* being pulled */
	PE_FAILED,		/* failed; retry after retry_at */
	PE_DONE,		/* pulled (asked again: it went away) */
};

struct pull_entry {
	char		*image;		/* reference as wanted */
	enum pull_entry_state state;	/* see above */
	unsigned	 fails;		/* consecutive failures */
	int64_t		 retry_at;	/* monotonic ms: no pull before */
	char		*error;		/* last failure's reason */
};

struct pull {
	pthread_mutex_t	 lock;		/* guards entries and wake */
	pthread_cond_t	 cond;		/* signalled on queue or stop */
	struct pull_entry *entries;	/* every image ever wanted */
	size_t		 nentries;	/* entries used */
	pthread_t	 thread;	/* the pull thread */
	int		 started;	/* thread was created */
	char		*socket;	/* Docker socket path */
	const atomic_int *stop;		/* shutdown flag (the converge's) */
	void		(*done)(void *); /* wake the converge thread */
	void		*done_arg;	/* its argument */
};

struct pull *
pull_new(const char *docker_socket, const atomic_int *stop,
    void (*done)(void *), void *arg)
{
	struct pull *p = xcalloc(1, sizeof *p);

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->socket = xstrdup(docker_socket);
	p->stop = stop;
	p->done = done;
	p->done_arg = arg;
	return p;
}

static struct pull_entry *
pull_find(struct pull *p, const char *image)
{
	size_t i;

	for (i = 0; i < p->nentries; i++) {
		if (strcmp(p->entries[i].image, image) == 0)
			return &p->entries[i];
	}
	return NULL;
}

enum pull_status
pull_want(struct pull *p, const char *image, int64_t now_ms, char **error)
{
	struct pull_entry *e;
	enum pull_status st = PULL_PULLING;

	pthread_mutex_lock(&p->lock);
	e = pull_find(p, image);
	if (e == NULL) {
		p->entries = xreallocarray(p->entries, p->nentries + 1,
		    sizeof *p->entries);
		e = &p->entries[p->nentries++];
		memset(e, 0, sizeof *e);
		e->image = xstrdup(image);
		e->state = PE_DONE;	/* queued just below */
	}
	switch (e->state) {
	case PE_QUEUED:
	case PE_RUNNING:
		break;
	case PE_FAILED:
		if (now_ms < e->retry_at)
			break;
		/* FALLTHROUGH */
	case PE_DONE:
		e->state = PE_QUEUED;
		pthread_cond_signal(&p->cond);
		break;
	}
	/* While retrying, the last failure is still the news. */
	if (e->fails > 0 && e->error != NULL) {
		st = PULL_FAILED;
		*error = xstrdup(e->error);
	}
	pthread_mutex_unlock(&p->lock);
	return st;
}

static void *
pull_main(void *arg)
{
	struct pull *p = arg;
	struct docker *d = docker_new(p->socket, p->stop);
	struct pull_entry *e;
	char *image, *cause = NULL, esc[512];
	size_t i;
	int rc;
	int64_t t0;

	pthread_mutex_lock(&p->lock);
	while (!atomic_load(p->stop)) {
		e = NULL;
		for (i = 0; i < p->nentries; i++) {
			if (p->entries[i].state == PE_QUEUED) {
				e = &p->entries[i];
				break;
			}
		}
		if (e == NULL) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		e->state = PE_RUNNING;
		image = xstrdup(e->image);
		pthread_mutex_unlock(&p->lock);

		log_info("pull %s: started", log_escape(esc, sizeof esc, image));
		t0 = util_mono_ms();
		rc = docker_pull(d, image, &cause);

		pthread_mutex_lock(&p->lock);
		e = pull_find(p, image);	/* entries may have moved */
		if (rc == 0) {
			log_info("pull %s: done in %lld ms",
			    log_escape(esc, sizeof esc, image),
			    (long long)(util_mono_ms() - t0));
			e->state = PE_DONE;
			e->fails = 0;
			free(e->error);
			e->error = NULL;
		} else {
			e->state = PE_FAILED;
			e->retry_at = util_mono_ms() + backoff_plain_ms(e->fails,
			    PULL_RETRY_BASE_MS, PULL_RETRY_CAP_MS);
			e->fails++;
			free(e->error);
			e->error = cause;
			log_warn("%s (attempt %u, next in %lld s)",
			    log_escape(esc, sizeof esc, cause), e->fails,
			    (long long)((e->retry_at - util_mono_ms()) / 1000));
			cause = NULL;
		}
		free(image);
		pthread_mutex_unlock(&p->lock);
		p->done(p->done_arg);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	docker_free(d);
	return NULL;
}

void
pull_start(struct pull *p)
{
	if (pthread_create(&p->thread, NULL, pull_main, p) != 0)
		fatalx("pull: cannot create thread");
	p->started = 1;
}

void
pull_free(struct pull *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	for (i = 0; i < p->nentries; i++) {
		free(p->entries[i].image);
		free(p->entries[i].error);
	}
	free(p->entries);
	free(p->socket);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}
