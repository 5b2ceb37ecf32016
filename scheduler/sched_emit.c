/*
 * sched_emit.c - what a draft (one sched_plan() call, struct sched_draft)
 * writes down, shared by the placement pass (sched_place.c), the balancer
 * (sched_balance.c) and the round itself (sched_plan.c): steps and
 * unplaceable instances into the plan, the records whose round flags must
 * be reset, a service's per-node and per-az counts, and the names of
 * strategies, states and step kinds.
 *
 * It calls nothing in the scheduler above sched_int.h's structures, so the
 * files that plan (sched_plan.c -> sched_place.c, sched_balance.c) form a
 * tree over it rather than a circle. Scheduling thread only, like the rest
 * of the library.
 */
#include "scheduler/sched_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

/* Indexed by the enums of sched.h; keep in their order. */
static const char *sched_kind_names[] = {
	"place", "remove", "move", "move-start", "remove-node", "note",
	"job-assign", "job-lost",
};
static const char *sched_strategy_names[] = { "ha", "random", "daemon" };
static const char *sched_state_names[] = {
	"pending", "running", "stopped", "error",
};
static const char *sched_queue_why_names[] = {
	"no-node", "full", "behind", "backoff",
};

#define SCHED_NITEMS(a) (sizeof (a) / sizeof (a)[0])

const char *
sched_step_kind_name(enum sched_step_kind kind)
{
	assert((size_t)kind < SCHED_NITEMS(sched_kind_names));
	return sched_kind_names[kind];
}

const char *
sched_strategy_name(enum sched_strategy strategy)
{
	assert((size_t)strategy < SCHED_NITEMS(sched_strategy_names));
	return sched_strategy_names[strategy];
}

const char *
sched_state_name(enum sched_state state)
{
	assert((size_t)state < SCHED_NITEMS(sched_state_names));
	return sched_state_names[state];
}

const char *
sched_queue_why_name(enum sched_queue_why why)
{
	assert((size_t)why < SCHED_NITEMS(sched_queue_why_names));
	return sched_queue_why_names[why];
}

/* A new step at the end of the draft's plan, zeroed. */
static struct sched_step *
sched_emit_new(struct sched_plan *p)
{
	struct sched_step *st;

	if (p->nsteps == p->steps_cap) {
		p->steps_cap = p->steps_cap ? p->steps_cap * 2 : 64;
		p->steps = xreallocarray(p->steps, p->steps_cap,
		    sizeof *p->steps);
	}
	st = &p->steps[p->nsteps++];
	memset(st, 0, sizeof *st);
	return st;
}

/*
 * Append a step to the draft's plan; reason is printf-formatted. svc,
 * node and peer may be NULL (NOTE, REMOVE_NODE). MOVE_START steps count
 * against plan->nmoves (the caller takes back those that are not budgeted).
 */
void
sched_emit_step(struct sched_draft *d, enum sched_step_kind kind,
    struct sched_service *svc, int no, const struct sched_node *node,
    const struct sched_node *peer, const char *fmt, ...)
{
	struct sched_plan *p = d->plan;
	struct sched_step *st;
	va_list ap;

	assert(kind >= SCHED_STEP_PLACE && kind <= SCHED_STEP_NOTE);
	st = sched_emit_new(p);
	st->kind = kind;
	st->service_id = svc != NULL ? svc->id : 0;
	st->instance_no = no;
	st->node_id = node != NULL ? xstrdup(node->id) : NULL;
	st->peer_node_id = peer != NULL ? xstrdup(peer->id) : NULL;
	va_start(ap, fmt);
	xvasprintf(&st->reason, fmt, ap);
	va_end(ap);
	if (kind == SCHED_STEP_MOVE_START)
		p->nmoves++;
}

/* A job step (JOB_ASSIGN, JOB_LOST) for task j on node. */
void
sched_emit_job_step(struct sched_draft *d, enum sched_step_kind kind,
    const struct sched_job *j, const struct sched_node *node,
    const char *fmt, ...)
{
	struct sched_step *st;
	va_list ap;

	assert(kind == SCHED_STEP_JOB_ASSIGN || kind == SCHED_STEP_JOB_LOST);
	st = sched_emit_new(d->plan);
	st->kind = kind;
	st->job_id = j->id;
	st->instance_no = j->index;
	st->node_id = xstrdup(node->id);
	va_start(ap, fmt);
	xvasprintf(&st->reason, fmt, ap);
	va_end(ap);
}

/* List queued task j, with the reason its last queue pass gave. */
void
sched_emit_queued(struct sched_draft *d, const struct sched_job *j)
{
	struct sched_plan *p = d->plan;
	struct sched_queued *q;

	if (p->nqueued == p->queued_cap) {
		p->queued_cap = p->queued_cap ? p->queued_cap * 2 : 16;
		p->queued = xreallocarray(p->queued, p->queued_cap,
		    sizeof *p->queued);
	}
	q = &p->queued[p->nqueued++];
	q->job_id = j->id;
	q->index = j->index;
	q->priority = j->priority;
	q->why = j->why;
	q->cpus = (double)j->dm.mcpus / 1000;
	q->memory = j->dm.mem_limit;
	q->due_ms = j->due_ms;
	q->reason = j->reason != NULL ? j->reason : "queued";
	q->changed = j->changed;
	q->why_changed = j->why_changed;
}

/* The step just emitted, to set its flags (completes_move, aborts_move). */
struct sched_step *
sched_emit_last(struct sched_draft *d)
{
	assert(d->plan->nsteps > 0);
	return &d->plan->steps[d->plan->nsteps - 1];
}

/*
 * Record that svc#no could not be placed (node: where it was wanted or is
 * still recorded, or NULL). Takes ownership of reason.
 */
void
sched_emit_unplaceable(struct sched_draft *d, struct sched_service *svc,
    int no, const struct sched_node *node, char *reason)
{
	struct sched_plan *p = d->plan;
	struct sched_unplaceable *u;

	assert(svc != NULL && reason != NULL);
	if (p->nunplaceable == p->unplaceable_cap) {
		p->unplaceable_cap = p->unplaceable_cap ?
		    p->unplaceable_cap * 2 : 16;
		p->unplaceable = xreallocarray(p->unplaceable,
		    p->unplaceable_cap, sizeof *p->unplaceable);
	}
	u = &p->unplaceable[p->nunplaceable++];
	u->service_id = svc->id;
	u->instance_no = no;
	u->node_id = node != NULL ? xstrdup(node->id) : NULL;
	u->reason = reason;
	svc->unplaced = 1;
}

/* Remember a record whose doomed/moving flag the round's undo resets. */
void
sched_emit_mark(struct sched *s, struct sched_inst *i)
{
	if (s->nmarked == s->marked_cap) {
		s->marked_cap = s->marked_cap ? s->marked_cap * 2 : 64;
		s->marked = xreallocarray(s->marked, s->marked_cap,
		    sizeof *s->marked);
	}
	s->marked[s->nmarked++] = i;
}

/*
 * Per-node (s->cnt) and per-az (s->azcnt) counts of svc's live (not
 * doomed) records. s->cnt is all zero outside a count; sched_uncount()
 * zeroes it again. s->azcnt is reset here and left as it is after.
 */
void
sched_count(struct sched *s, struct sched_service *svc)
{
	struct sched_inst *i;
	size_t k;

	if (s->azcnt_cap < s->naz) {
		s->azcnt = xreallocarray(s->azcnt, (size_t)s->naz,
		    sizeof *s->azcnt);
		s->azcnt_cap = s->naz;
	}
	memset(s->azcnt, 0, (size_t)s->naz * sizeof *s->azcnt);
	for (k = 0; k < svc->ninst; k++) {
		i = svc->inst[k];
		if (i->doomed)
			continue;
		s->cnt[i->node->slot]++;
		s->azcnt[i->node->az]++;
	}
}

void
sched_uncount(struct sched *s, struct sched_service *svc)
{
	size_t k;

	for (k = 0; k < svc->ninst; k++)
		s->cnt[svc->inst[k]->node->slot] = 0;
}
