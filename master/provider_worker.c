/*
 * provider_worker.c - the provider threads (see provider_worker.h).
 *
 * A small pool (PROVIDER_THREADS) takes calls from one queue, so a
 * program that hangs until its timeout holds one thread, not every
 * group. The `busy` table holds a key per machine (or group list) from
 * queueing until the round took its result, and after a failed delete
 * or list until its cool-down ends.
 */
#include "master/provider_worker.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PROVIDER_THREADS	2

struct pw_call {
	const struct provider	*p;
	struct provider_req	 req;
	struct pw_call		*next;
};

struct pw_busy {
	int64_t			 group_id;
	int64_t			 machine_id;	/* 0: the group's list */
	int64_t			 until;		/* 0: in flight; else mono
						 * ms the cool-down ends */
};

struct provider_worker {
	struct master		*m;
	pthread_t		 threads[PROVIDER_THREADS];
	int			 nthreads;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;
	struct pw_call		*head, *tail;	/* queued calls */
	struct provider_res	*res;		/* results not yet taken */
	size_t			 nres;
	struct pw_busy		*busy;
	size_t			 nbusy;
	uint64_t		 calls;
};

static struct pw_busy *
pw_busy_find(struct provider_worker *w, int64_t group_id, int64_t machine_id)
{
	size_t i;

	for (i = 0; i < w->nbusy; i++)
		if (w->busy[i].machine_id == machine_id &&
		    (machine_id > 0 || w->busy[i].group_id == group_id))
			return &w->busy[i];
	return NULL;
}

static void
pw_busy_drop(struct provider_worker *w, struct pw_busy *b)
{
	*b = w->busy[--w->nbusy];
}

static void *
pw_main(void *arg)
{
	struct provider_worker *w = arg;
	struct provider_res res;
	struct pw_call *c;
	int64_t t0;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && w->head == NULL)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break;
		c = w->head;
		w->head = c->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->calls++;
		pthread_mutex_unlock(&w->lock);

		t0 = util_mono_ms();
		provider_call(c->p, &c->req, &res);
		explicit_bzero(c->req.token, sizeof c->req.token);
		log_debug("provider: %s %s %s: %s in %lldms", c->p->name,
		    c->req.op == PROVIDER_CREATE ? "create" :
		    c->req.op == PROVIDER_DELETE ? "delete" :
		    c->req.op == PROVIDER_JOIN ? "join check" : "list",
		    c->req.machine[0] ? c->req.machine : c->req.group,
		    res.ok ? "ok" : res.cause,
		    (long long)(util_mono_ms() - t0));

		pthread_mutex_lock(&w->lock);
		w->res = xreallocarray(w->res, w->nres + 1, sizeof *w->res);
		w->res[w->nres++] = res;
		pthread_mutex_unlock(&w->lock);
		master_changed_grid(w->m, c->req.grid_id);
		free(c);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct provider_worker *
provider_worker_start(struct master *m, char **cause)
{
	struct provider_worker *w = xcalloc(1, sizeof *w);

	w->m = m;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (w->nthreads = 0; w->nthreads < PROVIDER_THREADS; w->nthreads++)
		if (pthread_create(&w->threads[w->nthreads], NULL, pw_main,
		    w) != 0) {
			xasprintf(cause, "cannot start the provider threads");
			provider_worker_free(w);
			return NULL;
		}
	return w;
}

void
provider_worker_free(struct provider_worker *w)
{
	struct pw_call *c;
	size_t i;
	int t;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (t = 0; t < w->nthreads; t++)
		pthread_join(w->threads[t], NULL);
	while ((c = w->head) != NULL) {
		w->head = c->next;
		explicit_bzero(c->req.token, sizeof c->req.token);
		free(c);
	}
	for (i = 0; i < w->nres; i++)
		provider_res_clear(&w->res[i]);
	free(w->res);
	free(w->busy);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

int
provider_worker_queue(struct provider_worker *w, const struct provider *p,
    const struct provider_req *req)
{
	struct pw_busy *b;
	struct pw_call *c;

	pthread_mutex_lock(&w->lock);
	if ((b = pw_busy_find(w, req->group_id, req->machine_id)) != NULL) {
		if (b->until == 0 || b->until > util_mono_ms()) {
			pthread_mutex_unlock(&w->lock);
			return 1;
		}
		pw_busy_drop(w, b);
	}
	w->busy = xreallocarray(w->busy, w->nbusy + 1, sizeof *w->busy);
	w->busy[w->nbusy++] = (struct pw_busy){ req->group_id,
	    req->machine_id, 0 };
	c = xcalloc(1, sizeof *c);
	c->p = p;
	c->req = *req;
	if (w->tail != NULL)
		w->tail->next = c;
	else
		w->head = c;
	w->tail = c;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int
provider_worker_busy(struct provider_worker *w, int64_t group_id,
    int64_t machine_id)
{
	struct pw_busy *b;
	int busy = 0;

	pthread_mutex_lock(&w->lock);
	if ((b = pw_busy_find(w, group_id, machine_id)) != NULL) {
		if (b->until == 0 || b->until > util_mono_ms())
			busy = 1;
		else
			pw_busy_drop(w, b);
	}
	pthread_mutex_unlock(&w->lock);
	return busy;
}

size_t
provider_worker_take(struct provider_worker *w, int64_t grid_id,
    struct provider_res **out)
{
	struct provider_res *r;
	struct pw_busy *b;
	size_t i, n = 0;

	*out = NULL;
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->nres; ) {
		r = &w->res[i];
		if (r->grid_id != grid_id) {
			i++;
			continue;
		}
		*out = xreallocarray(*out, n + 1, sizeof **out);
		(*out)[n++] = *r;
		if ((b = pw_busy_find(w, r->group_id, r->machine_id)) != NULL)
			pw_busy_drop(w, b);
		w->res[i] = w->res[--w->nres];
	}
	pthread_mutex_unlock(&w->lock);
	return n;
}

void
provider_worker_cool(struct provider_worker *w, int64_t group_id,
    int64_t machine_id, int64_t ms)
{
	struct pw_busy *b;

	pthread_mutex_lock(&w->lock);
	if ((b = pw_busy_find(w, group_id, machine_id)) == NULL) {
		w->busy = xreallocarray(w->busy, w->nbusy + 1,
		    sizeof *w->busy);
		b = &w->busy[w->nbusy++];
		b->group_id = group_id;
		b->machine_id = machine_id;
	}
	b->until = util_mono_ms() + (ms > 0 ? ms : 1);
	pthread_mutex_unlock(&w->lock);
}

uint64_t
provider_worker_calls(struct provider_worker *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->lock);
	n = w->calls;
	pthread_mutex_unlock(&w->lock);
	return n;
}
