/*
 * sched_plan.c - one scheduling round (sched_plan) and applying its result
 * to the in-memory view (sched_apply).
 *
 * Called by the master's scheduling thread once per round: sched_plan(),
 * write the steps to the store, sched_apply(). A round, in order:
 *  1. note nodes that finished settling (they may now attract moves);
 *  2. the safety rule: if more than half the nodes went offline within one
 *     offline window, stand down from node removals, replacements and
 *     moves for this round and say so in a NOTE step;
 *  3. reap ephemeral nodes offline past ephemeral_removal_ms; queue the
 *     services with records on draining nodes (sched_drain.c);
 *  4. a placement pass (sched_place.c) for every service that changed, has
 *     a record on a node offline past its grace or on a reaped node, has a
 *     move in flight, or left something unplaced last round;
 *  5. job tasks (sched_job.c): those lost with an offline or removed node,
 *     then the queue, in order, onto the room the services left;
 *  6. spread and load rebalancing (sched_balance.c), within the budget.
 * Tentative records and round flags are undone before sched_plan returns,
 * so the state is as the upserts left it; only caches (eligible sets,
 * balanced verdicts, s->epoch, s->gen, s->last_plan_ms) change.
 */
#include "scheduler/sched_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

void
sched_plan_init(struct sched_plan *plan)
{
	assert(plan != NULL);
	memset(plan, 0, sizeof *plan);
}

void
sched_plan_clear(struct sched_plan *plan)
{
	size_t i;

	assert(plan != NULL);
	for (i = 0; i < plan->nsteps; i++) {
		free(plan->steps[i].node_id);
		free(plan->steps[i].peer_node_id);
		free(plan->steps[i].reason);
	}
	for (i = 0; i < plan->nunplaceable; i++) {
		free(plan->unplaceable[i].node_id);
		free(plan->unplaceable[i].reason);
	}
	free(plan->steps);
	free(plan->unplaceable);
	free(plan->queued);
	memset(plan, 0, sizeof *plan);
}

size_t
sched_plan_nactions(const struct sched_plan *plan)
{
	size_t i, n = 0;

	assert(plan != NULL);
	for (i = 0; i < plan->nsteps; i++) {
		if (plan->steps[i].kind != SCHED_STEP_NOTE)
			n++;
	}
	return n;
}

static int
sched_i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* More than half of the nodes went offline within one offline window? */
static void
sched_draft_safety(struct sched_draft *d)
{
	struct sched *s = d->s;
	struct sched_node *n;
	int64_t *t;
	size_t nt = 0, lo = 0, hi, best = 0, bi = 0;
	uint32_t slot;

	t = xcalloc(s->nnodes + 1, sizeof *t);
	for (slot = 0; slot < s->nslots; slot++) {
		n = s->nodes[slot];
		if (n != NULL && !n->online && n->offline_since_ms > 0)
			t[nt++] = n->offline_since_ms;
	}
	qsort(t, nt, sizeof *t, sched_i64_cmp);
	for (hi = 0; hi < nt; hi++) {
		while (t[hi] - t[lo] > s->set.offline_after_ms)
			lo++;
		if (hi - lo + 1 > best) {
			best = hi - lo + 1;
			bi = lo;
		}
	}
	if (best * 2 > s->nnodes) {
		d->stand_down = 1;
		sched_emit_step(d, SCHED_STEP_NOTE, NULL, 0, NULL, NULL,
		    "stand down: %zu of %zu nodes went offline within %llds "
		    "of each other (offline window %llds), likely a network "
		    "cut; not removing nodes, replacing or moving instances",
		    best, s->nnodes, (long long)((t[bi + best - 1] - t[bi]) /
		    1000), (long long)(s->set.offline_after_ms / 1000));
	}
	free(t);
}

/* Ephemeral nodes offline past the removal time; replacement triggers. */
static void
sched_draft_nodes(struct sched_draft *d)
{
	struct sched *s = d->s;
	struct sched_node *n;
	struct sched_inst *i;
	uint32_t slot;
	size_t k;
	int64_t off;

	for (slot = 0; slot < s->nslots; slot++) {
		n = s->nodes[slot];
		if (n == NULL || n->online || n->offline_since_ms <= 0)
			continue;
		off = d->now - n->offline_since_ms;
		if (n->ephemeral && off > s->set.ephemeral_removal_ms &&
		    !d->stand_down) {
			if (d->opts->balance_dry_run) {
				sched_emit_step(d, SCHED_STEP_NOTE, NULL, 0,
				    n, NULL, "dry-run: would remove ephemeral "
				    "node %s (offline %llds > %llds)",
				    sched_node_label(n), (long long)(off / 1000),
				    (long long)(s->set.ephemeral_removal_ms /
				    1000));
			} else {
				sched_emit_step(d, SCHED_STEP_REMOVE_NODE,
				    NULL, 0, n, NULL, "ephemeral node %s "
				    "offline %llds > %llds: removing it and its "
				    "%zu instance record%s", sched_node_label(n),
				    (long long)(off / 1000),
				    (long long)(s->set.ephemeral_removal_ms /
				    1000), n->ninst, n->ninst == 1 ? "" : "s");
				n->doomed = 1;
				for (k = 0; k < n->ninst; k++) {
					i = n->inst[k];
					i->doomed = 1;
					sched_emit_mark(s, i);
					i->svc->pass = SCHED_PASS_QUEUED;
				}
				continue;
			}
		}
		for (k = 0; k < n->ninst; k++) {
			if (sched_inst_replaceable(d, n->inst[k]))
				n->inst[k]->svc->pass = SCHED_PASS_QUEUED;
		}
	}
}

/* Undo everything the round did to the live structures. */
static void
sched_draft_undo(struct sched_draft *d)
{
	struct sched *s = d->s;
	size_t k;
	uint32_t slot;

	for (k = 0; k < s->nmarked; k++)
		s->marked[k]->doomed = s->marked[k]->moving = 0;
	s->nmarked = 0;
	sched_job_undo(s);
	while (s->ntent > 0)
		sched_inst_unlink(s, s->tent[--s->ntent]);
	for (slot = 0; slot < s->nslots; slot++) {
		if (s->nodes[slot] != NULL)
			s->nodes[slot]->doomed = 0;
	}
	for (k = 0; k < s->nsvcs; k++) {
		s->svcs[k]->pass = SCHED_PASS_NONE;
		s->svcs[k]->unplaced = 0;
		s->svcs[k]->started = 0;
	}
}

int
sched_plan(struct sched *s, int64_t now_ms, uint64_t seed,
    const struct sched_opts *opts, struct sched_plan *out)
{
	static const struct sched_opts no_opts;
	struct sched_draft d;
	struct sched_service *svc;
	struct sched_node *n;
	uint32_t slot;
	size_t k, before;

	assert(s != NULL && out != NULL);
	/* Not from inside another plan (nothing tentative or marked). */
	assert(s->ntent == 0 && s->nmarked == 0 && s->njtent == 0);
	memset(out, 0, sizeof *out);
	out->now_ms = now_ms;
	out->seed = seed;
	out->dry_run = opts != NULL && opts->dry_run;
	out->gen = s->gen++;
	memset(&d, 0, sizeof d);
	d.s = s;
	d.plan = out;
	d.opts = opts != NULL ? opts : &no_opts;
	d.now = now_ms;
	d.seed = seed;
	d.moves_left = s->set.max_moves_per_round;

	/* 1. Nodes that settled since the last round may attract moves. */
	for (slot = 0; slot < s->nslots; slot++) {
		n = s->nodes[slot];
		if (n != NULL && n->online &&
		    n->joined_at_ms + s->set.settle_ms > s->last_plan_ms &&
		    n->joined_at_ms + s->set.settle_ms <= now_ms) {
			s->epoch++;
			break;
		}
	}
	s->last_plan_ms = now_ms;

	sched_draft_safety(&d);				/* 2 */
	out->stand_down = d.stand_down;
	sched_draft_nodes(&d);				/* 3 */
	sched_drain_queue(&d);
	for (k = 0; k < s->ndirty; k++)			/* 4 */
		s->dirty[k]->pass = SCHED_PASS_QUEUED;
	for (k = 0; k < s->nsvcs; k++) {
		svc = s->svcs[k];
		if (svc->pass == SCHED_PASS_NONE)
			continue;
		before = out->nsteps;
		sched_service_pass(&d, svc);
		if (out->nsteps != before || svc->unplaced)
			svc->pass = SCHED_PASS_CHANGED;
	}
	sched_job_pass(&d);				/* 5 */
	if (!d.stand_down && !d.opts->no_balance) {	/* 6 */
		sched_balance(&d);
		sched_balance_load(&d);
	}
	sched_draft_undo(&d);
	SCHED_CHECK_AFTER(s, "sched_plan");
	SCHED_CHECK_PLAN(s, out);
	return 0;
}

/* Applying. */

static void
sched_apply_fail(char **cause, const struct sched_step *st, const char *why)
{
	if (cause == NULL || *cause != NULL)
		return;
	xasprintf(cause, "%s step for service %lld #%d on %s skipped: %s",
	    sched_step_kind_name(st->kind), (long long)st->service_id,
	    st->instance_no, st->node_id != NULL ? st->node_id : "-", why);
}

static int
sched_apply_step(struct sched *s, const struct sched_plan *plan,
    const struct sched_step *st, char **cause)
{
	struct sched_service *svc = NULL;
	struct sched_node *n = NULL, *peer = NULL;
	struct sched_inst *i;

	if (st->kind == SCHED_STEP_NOTE)
		return 0;
	if (st->kind == SCHED_STEP_JOB_ASSIGN || st->kind == SCHED_STEP_JOB_LOST)
		return sched_job_apply(s, st, cause);
	if (st->node_id != NULL && (n = sched_node_find(s, st->node_id)) ==
	    NULL) {
		sched_apply_fail(cause, st, "node is gone");
		return -1;
	}
	if (st->kind == SCHED_STEP_REMOVE_NODE) {
		sched_node_drop(s, n);
		return 0;
	}
	if ((svc = sched_service_find(s, st->service_id)) == NULL) {
		sched_apply_fail(cause, st, "service is gone");
		return -1;
	}
	if (st->peer_node_id != NULL)
		peer = sched_node_find(s, st->peer_node_id);
	svc->version++;
	switch (st->kind) {
	case SCHED_STEP_MOVE:
		if (peer != NULL &&
		    (i = sched_inst_find(s, svc, st->instance_no, peer)) != NULL)
			sched_inst_unlink(s, i);
		s->epoch++;
		/* FALLTHROUGH */
	case SCHED_STEP_PLACE:
	case SCHED_STEP_MOVE_START:
		if (sched_inst_find(s, svc, st->instance_no, n) != NULL) {
			sched_apply_fail(cause, st, "already there");
			return -1;
		}
		i = sched_inst_link(s, svc, n, st->instance_no, 0);
		i->created_at_ms = plan->now_ms;
		if (st->kind != SCHED_STEP_PLACE)
			i->moved_at_ms = plan->now_ms;
		if (st->kind == SCHED_STEP_MOVE_START) {
			i->move_target = 1;
			svc->nmoving++;
		}
		return 0;
	case SCHED_STEP_REMOVE:
		if ((i = sched_inst_find(s, svc, st->instance_no, n)) == NULL) {
			sched_apply_fail(cause, st, "no such instance");
			return -1;
		}
		sched_inst_unlink(s, i);
		s->epoch++;
		if (st->completes_move && peer != NULL &&
		    (i = sched_inst_find(s, svc, st->instance_no, peer)) !=
		    NULL && i->move_target) {
			i->move_target = 0;
			svc->nmoving--;
		}
		return 0;
	default:
		return 0;
	}
}

int
sched_apply(struct sched *s, const struct sched_plan *plan, char **cause)
{
	struct sched_service *svc;
	size_t k, j;
	int rc = 0;

	assert(s != NULL && plan != NULL);
	/* A plan of this state's past: sched_plan() took plan->gen from it. */
	assert(plan->gen < s->gen);
	assert(plan->nsteps == 0 || plan->steps != NULL);
	for (k = 0; k < plan->nsteps; k++) {
		if (sched_apply_step(s, plan, &plan->steps[k], cause) == 0)
			continue;
		rc = -1;
		/* Its service must be looked at again next round. */
		if (plan->steps[k].service_id > 0 && (svc = sched_service_find(s,
		    plan->steps[k].service_id)) != NULL)
			sched_service_dirty(s, svc);
	}
	/*
	 * Services the plan settled leave the dirty list; those changed
	 * since it was made, with a move in flight, or with something
	 * unplaced stay for the next round. svc->unplaced carries the last
	 * of these into the loop only: it is a round flag, and one left set
	 * on a service off the list would make the next round's pass look
	 * as if it had changed something (and keep the balancer away).
	 */
	for (k = 0; k < plan->nunplaceable; k++) {
		if ((svc = sched_service_find(s,
		    plan->unplaceable[k].service_id)) != NULL)
			svc->unplaced = 1;
	}
	for (k = 0, j = 0; k < s->ndirty; k++) {
		svc = s->dirty[k];
		if (svc->dirty_gen <= plan->gen && svc->nmoving == 0 &&
		    !svc->unplaced)
			svc->dirty = 0;
		else
			s->dirty[j++] = svc;
	}
	s->ndirty = j;
	for (k = 0; k < plan->nunplaceable; k++) {
		if ((svc = sched_service_find(s,
		    plan->unplaceable[k].service_id)) != NULL)
			svc->unplaced = 0;
	}
	SCHED_CHECK_AFTER(s, "sched_apply");
	return rc;
}
