/*
 * loadring.c - nodes' recent load (see loadring.h).
 *
 * One mutex guards a small hash of nodes, each with a ring of
 * LOADRING_SLOTS samples. The hub adds a sample per stats frame (a few
 * microseconds under the lock); the API copies one node's ring out. Every
 * minute an add sweeps out the nodes silent for a whole span.
 */
#include "master/loadring.h"

#include "common/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOADRING_BUCKETS	1024	/* power of two */
#define LOADRING_SPAN_MS	((int64_t)LOADRING_STEP_MS * LOADRING_SLOTS)
#define LOADRING_SWEEP_MS	60000

struct loadring_node {
	struct loadring_node *next;		/* hash chain */
	char		 id[40];		/* node id */
	struct load_sample ring[LOADRING_SLOTS]; /* by slot, circular */
	size_t		 head;			/* index of the newest */
	size_t		 n;			/* samples held */
};

struct loadring {
	pthread_mutex_t	 lock;
	struct loadring_node *by_id[LOADRING_BUCKETS];
	int64_t		 swept_at;		/* ms of the last sweep */
};

static size_t
loadring_hash(const char *id)
{
	size_t h = 5381;

	while (*id != '\0')
		h = h * 33 + (unsigned char)*id++;
	return h & (LOADRING_BUCKETS - 1);
}

struct loadring *
loadring_new(void)
{
	struct loadring *r = xcalloc(1, sizeof *r);

	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void
loadring_free(struct loadring *r)
{
	struct loadring_node *e, *next;
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < LOADRING_BUCKETS; i++)
		for (e = r->by_id[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Forget nodes silent for a whole span (lock held). */
static void
loadring_sweep(struct loadring *r, int64_t now)
{
	struct loadring_node **pp, *e;
	size_t i;

	for (i = 0; i < LOADRING_BUCKETS; i++) {
		pp = &r->by_id[i];
		while ((e = *pp) != NULL) {
			if (e->n == 0 ||
			    now - e->ring[e->head].at > LOADRING_SPAN_MS) {
				*pp = e->next;
				free(e);
			} else
				pp = &e->next;
		}
	}
	r->swept_at = now;
}

void
loadring_add(struct loadring *r, const char *node_id, int64_t now_ms,
    double cpu_pct, int64_t mem_used, int64_t mem_total, int64_t containers)
{
	struct loadring_node *e;
	struct load_sample *s;
	size_t b = loadring_hash(node_id);

	pthread_mutex_lock(&r->lock);
	if (now_ms - r->swept_at >= LOADRING_SWEEP_MS)
		loadring_sweep(r, now_ms);
	for (e = r->by_id[b]; e != NULL; e = e->next)
		if (strcmp(e->id, node_id) == 0)
			break;
	if (e == NULL) {
		e = xcalloc(1, sizeof *e);
		snprintf(e->id, sizeof e->id, "%s", node_id);
		e->next = r->by_id[b];
		r->by_id[b] = e;
	}
	s = e->n > 0 ? &e->ring[e->head] : NULL;
	if (s == NULL || s->at / LOADRING_STEP_MS != now_ms / LOADRING_STEP_MS) {
		/* A new slot. */
		if (e->n > 0)
			e->head = (e->head + 1) % LOADRING_SLOTS;
		if (e->n < LOADRING_SLOTS)
			e->n++;
		s = &e->ring[e->head];
		memset(s, 0, sizeof *s);
	}
	s->at = now_ms;
	if (cpu_pct >= 0) {
		s->cpu_pct = (s->cpu_pct * s->n + cpu_pct) / (s->n + 1);
		s->n++;
	}
	s->mem_used = mem_used;
	s->mem_total = mem_total;
	s->containers = containers;
	pthread_mutex_unlock(&r->lock);
}

size_t
loadring_get(struct loadring *r, const char *node_id, int64_t now_ms,
    struct load_sample **out)
{
	struct loadring_node *e;
	struct load_sample *v = NULL;
	size_t i, k, n = 0;

	*out = NULL;
	pthread_mutex_lock(&r->lock);
	for (e = r->by_id[loadring_hash(node_id)]; e != NULL; e = e->next)
		if (strcmp(e->id, node_id) == 0)
			break;
	if (e != NULL && e->n > 0) {
		v = xcalloc(e->n, sizeof *v);
		for (i = 0; i < e->n; i++) {
			/* Oldest first: head - (n - 1) ... head. */
			k = (e->head + LOADRING_SLOTS - (e->n - 1 - i)) %
			    LOADRING_SLOTS;
			if (now_ms - e->ring[k].at < LOADRING_SPAN_MS)
				v[n++] = e->ring[k];
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (n == 0) {
		free(v);
		return 0;
	}
	*out = v;
	return n;
}
