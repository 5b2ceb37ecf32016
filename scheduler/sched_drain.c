/*
 * sched_drain.c - cordoned and draining nodes (docs/nodes.md).
 *
 * A cordoned node takes no new record: sched_node_open() (sched_int.h) is
 * false for it, so no placement, move target, daemon or job task goes
 * there; what runs there stays. A draining node is cordoned too, and
 * empties itself, one round at a time:
 *  - a running ha/random record is replaced start-before-stop (a
 *    MOVE_START elsewhere; the old record goes once the new one runs, as
 *    in any move), at most max(1, instances - ceil(min_health *
 *    instances)) of a service in flight at once, so the service keeps
 *    its instances running throughout and never has fewer than
 *    min_health of them;
 *  - a record that is not running (pending, stopped, failed) has nothing
 *    to keep up: it is replaced at once (a MOVE), or stopped if it fits
 *    nowhere;
 *  - a job task running there is never stopped: the drain waits for it;
 *  - once nothing else is left (no ha/random record, no job task), its
 *    daemons stop: daemons go last;
 *  - at the drain deadline (drain_deadline_ms) whatever is left is stopped
 *    at once: records replaced or removed, job tasks lost (their attempt
 *    fails and is retried elsewhere, as the job's retries allow).
 * Stateful records are pinned to their node's data: a drain leaves them.
 * The master decides when a drain is done (no record but stateful ones,
 * no task) and writes its events (master/sched_drain.c).
 */
#include "scheduler/sched_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

/* The deadline passed: what is left on n is stopped now. */
int
sched_drain_forced(const struct sched_draft *d, const struct sched_node *n)
{
	return n->draining && n->drain_deadline_ms > 0 &&
	    d->now >= n->drain_deadline_ms;
}

/* Moves of svc a drain may have in flight at once. */
static int
sched_drain_parallel(const struct sched_service *svc)
{
	int keep = (int)ceil(svc->min_health * svc->instances - 1e-9);
	int n = svc->instances - keep;

	return n < 1 ? 1 : n;
}

enum sched_drain_act
sched_drain_want(const struct sched_draft *d, const struct sched_inst *i)
{
	const struct sched_node *n = i->node;
	const struct sched_service *svc = i->svc;

	if (!n->draining || svc->dm.stateful ||
	    svc->strategy == SCHED_DAEMON || i->doomed || i->moving)
		return SCHED_DRAIN_NONE;
	if (sched_drain_forced(d, n))
		return SCHED_DRAIN_NOW;
	/* Offline: the offline rules (grace, replacement) apply. */
	if (!n->online)
		return SCHED_DRAIN_NONE;
	if (i->state != SCHED_RUNNING)
		return SCHED_DRAIN_NOW;
	/* A replacement whose original is gone moves once it is settled. */
	if (i->move_target)
		return SCHED_DRAIN_NONE;
	if (svc->nmoving + svc->started >= sched_drain_parallel(svc))
		return SCHED_DRAIN_NONE;
	return SCHED_DRAIN_MOVE;
}

/* Nothing but daemons and stateful records left on n (daemons may go). */
int
sched_drain_clear(const struct sched_node *n)
{
	const struct sched_inst *i;
	size_t k;

	for (k = 0; k < n->ninst; k++) {
		i = n->inst[k];
		if (i->doomed || i->svc->strategy == SCHED_DAEMON ||
		    i->svc->dm.stateful)
			continue;
		return 0;
	}
	for (k = 0; k < n->njobs; k++)
		if (!n->jobs[k]->doomed)
			return 0;
	return 1;
}

/* Every service with a record on a draining node gets a pass. */
void
sched_drain_queue(struct sched_draft *d)
{
	struct sched *s = d->s;
	struct sched_node *n;
	uint32_t slot;
	size_t k;

	for (slot = 0; slot < s->nslots; slot++) {
		n = s->nodes[slot];
		if (n == NULL || !n->draining)
			continue;
		for (k = 0; k < n->ninst; k++)
			if (n->inst[k]->svc->pass == SCHED_PASS_NONE)
				n->inst[k]->svc->pass = SCHED_PASS_QUEUED;
	}
}

/* ---- the scale-in simulation ------------------------------------------- */

int
sched_drain_fits(struct sched *s, const char *node_id, char **why)
{
	struct sched_node *n, *m, **took;
	struct sched_inst *i;
	struct sched_service *svc;
	size_t k, ntook = 0, nw, w;
	uint64_t bits;
	uint32_t slot;
	int ok = 1;

	if (why != NULL)
		*why = NULL;
	if ((n = sched_node_find(s, node_id)) == NULL)
		return -1;
	if (n->njobs > 0) {
		if (why != NULL)
			xasprintf(why, "job %s#%d runs on it", n->jobs[0]->name,
			    n->jobs[0]->index);
		return 0;
	}
	took = xcalloc(n->ninst + 1, sizeof *took);
	for (k = 0; k < n->ninst && ok; k++) {
		i = n->inst[k];
		svc = i->svc;
		if (svc->strategy == SCHED_DAEMON)
			continue;
		if (svc->dm.stateful) {
			if (why != NULL)
				xasprintf(why, "%s#%d is stateful (pinned to "
				    "it)", svc->dm.full, i->no);
			ok = 0;
			break;
		}
		if (!svc->elig_valid)
			sched_elig_build(s, svc);
		m = NULL;
		nw = (s->nslots + 63) / 64;
		for (w = 0; w < nw && m == NULL; w++) {
			for (bits = svc->elig[w]; bits != 0; bits &= bits - 1) {
				slot = (uint32_t)(w * 64) +
				    (uint32_t)__builtin_ctzll(bits);
				m = s->nodes[slot];
				if (m != n && sched_node_open(m) &&
				    sched_filter_dynamic(&svc->dm, m) &&
				    sched_filter_fits(&svc->dm, m))
					break;
				m = NULL;
			}
		}
		if (m == NULL) {
			if (why != NULL)
				xasprintf(why, "%s#%d fits on no other node",
				    svc->dm.full, i->no);
			ok = 0;
			break;
		}
		/* Count it there for the next ones. */
		sched_node_account(m, &svc->dm, 1);
		took[ntook++] = m;
	}
	/* Undo, in the same order. */
	for (k = 0, w = 0; k < n->ninst && w < ntook; k++) {
		i = n->inst[k];
		if (i->svc->strategy == SCHED_DAEMON || i->svc->dm.stateful)
			continue;
		sched_node_account(took[w++], &i->svc->dm, -1);
	}
	free(took);
	return ok;
}
