/*
 * inflight.c - the table of Docker actions under way (see inflight.h).
 *
 * Converge thread only. A linear table: it holds at most the actions of
 * one node's converge passes, and a pass looks each container up once.
 */
#include "agent/inflight.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

uint64_t
inflight_add(struct inflight *t, enum inflight_kind kind, int labelled,
    int64_t service_id, int64_t instance, const char *container_id)
{
	struct inflight_entry *e;

	t->e = xreallocarray(t->e, t->n + 1, sizeof *t->e);
	e = &t->e[t->n++];
	e->seq = ++t->next_seq;
	e->kind = kind;
	e->labelled = labelled;
	e->service_id = service_id;
	e->instance = instance;
	e->attempt = 0;
	e->container_id = container_id != NULL ? xstrdup(container_id) : NULL;
	return e->seq;
}

uint64_t
inflight_add_job(struct inflight *t, enum inflight_kind kind, int64_t attempt,
    const char *container_id)
{
	uint64_t seq = inflight_add(t, kind, 0, 0, 0, container_id);

	t->e[t->n - 1].attempt = attempt;
	return seq;
}

int
inflight_attempt_busy(const struct inflight *t, int64_t attempt)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->e[i].attempt == attempt && attempt > 0)
			return 1;
	}
	return 0;
}

void
inflight_done(struct inflight *t, uint64_t seq)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->e[i].seq == seq) {
			free(t->e[i].container_id);
			t->e[i] = t->e[--t->n];
			return;
		}
	}
}

void
inflight_clear(struct inflight *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->e[i].container_id);
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

int
inflight_instance_busy(const struct inflight *t, int64_t service_id,
    int64_t instance)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->e[i].labelled && t->e[i].service_id == service_id &&
		    t->e[i].instance == instance)
			return 1;
	}
	return 0;
}

int
inflight_removing(const struct inflight *t, const char *container_id)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->e[i].kind == INFLIGHT_REMOVE &&
		    t->e[i].container_id != NULL &&
		    strcmp(t->e[i].container_id, container_id) == 0)
			return 1;
	}
	return 0;
}

int
inflight_may_remove(const struct inflight *t, int labelled,
    int64_t service_id, int64_t instance, const char *container_id)
{
	const struct inflight_entry *e;
	size_t i;

	for (i = 0; i < t->n; i++) {
		e = &t->e[i];
		if (e->container_id != NULL &&
		    strcmp(e->container_id, container_id) == 0)
			return 0;	/* removing (or starting) it already */
		if (labelled && e->labelled && e->kind != INFLIGHT_REMOVE &&
		    e->service_id == service_id && e->instance == instance)
			return 0;	/* a create/start may be on it */
	}
	return 1;
}
