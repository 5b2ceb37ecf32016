/*
 * plan.c - decide what converging means, without doing it.
 *
 * Called by converge.c on the converge thread each pass. Rules:
 *  - a container is the instance's if its service-id and instance labels
 *    match; the rev must match too, otherwise it is replaced (removed here,
 *    created by the caller);
 *  - of several matching containers the best (running or paused >
 *    restarting >
 *    created/exited) is kept, the rest removed: a crash between create and
 *    remove never leaves duplicates;
 *  - dead containers cannot be started: removed, and the instance created;
 *  - a container whose labels do not parse, or whose instance is not
 *    wanted, is removed (it carries our berth.node, so it is ours);
 *  - a container being removed by Docker is ignored;
 *  - a job's container (label berth.attempt) is not the plan's: jobrun.h
 *    decides about it.
 * Matching by labels, never by name, is what makes a re-sync after a
 * reconnect or an agent restart touch nothing that already runs.
 */
#include "agent/plan.h"

#include <string.h>

enum plan_state
plan_state_parse(const char *s)
{
	if (s == NULL)
		return PLAN_ST_EXITED;
	if (strcmp(s, "running") == 0)
		return PLAN_ST_RUNNING;
	if (strcmp(s, "paused") == 0)
		return PLAN_ST_PAUSED;
	if (strcmp(s, "restarting") == 0)
		return PLAN_ST_RESTARTING;
	if (strcmp(s, "created") == 0)
		return PLAN_ST_CREATED;
	if (strcmp(s, "dead") == 0)
		return PLAN_ST_DEAD;
	if (strcmp(s, "removing") == 0)
		return PLAN_ST_REMOVING;
	return PLAN_ST_EXITED;	/* "exited" and anything unknown */
}

/* Higher is better to keep; -1 never kept. */
static int
plan_rank(enum plan_state st)
{
	switch (st) {
	case PLAN_ST_RUNNING:
	case PLAN_ST_PAUSED:
		return 3;
	case PLAN_ST_RESTARTING:
		return 2;
	case PLAN_ST_CREATED:
	case PLAN_ST_EXITED:
		return 1;
	default:
		return -1;
	}
}

void
plan_compute(const struct plan_want *want, size_t nwant,
    const struct plan_actual *actual, size_t nactual, struct plan *p)
{
	size_t i, j;
	long best;
	int r, claimed;

	for (j = 0; j < nactual; j++)
		p->remove[j] = 0;

	for (i = 0; i < nwant; i++) {
		best = -1;
		for (j = 0; j < nactual; j++) {
			const struct plan_actual *a = &actual[j];

			if (a->attempt > 0 || !a->labelled ||
			    a->service_id != want[i].service_id ||
			    a->instance != want[i].instance ||
			    a->state == PLAN_ST_REMOVING)
				continue;
			r = plan_rank(a->state);
			if (a->rev != want[i].rev || r < 0) {
				p->remove[j] = 1;
				continue;
			}
			if (best < 0 || r > plan_rank(actual[best].state)) {
				if (best >= 0)
					p->remove[best] = 1;
				best = (long)j;
			} else
				p->remove[j] = 1;
		}
		p->match[i] = best;
		if (best < 0)
			p->act[i] = PLAN_CREATE;
		else if (actual[best].state == PLAN_ST_CREATED ||
		    actual[best].state == PLAN_ST_EXITED)
			p->act[i] = PLAN_START;
		else
			p->act[i] = PLAN_KEEP;
	}

	/* Containers no wanted instance claims. */
	for (j = 0; j < nactual; j++) {
		if (actual[j].state == PLAN_ST_REMOVING ||
		    actual[j].attempt > 0)
			continue;
		claimed = 0;
		for (i = 0; i < nwant && !claimed; i++) {
			if (actual[j].labelled &&
			    actual[j].service_id == want[i].service_id &&
			    actual[j].instance == want[i].instance)
				claimed = 1;
		}
		if (!claimed)
			p->remove[j] = 1;
	}
}

size_t
plan_hold_daemons(const struct plan_actual *a, size_t n, const int *remove,
    int *hold)
{
	size_t j, held = 0;
	int others = 0;

	for (j = 0; j < n; j++) {
		hold[j] = 0;
		if (remove[j] && a[j].labelled && !a[j].daemon &&
		    a[j].attempt == 0)
			others = 1;
	}
	if (!others)
		return 0;
	for (j = 0; j < n; j++)
		if (remove[j] && a[j].labelled && a[j].daemon) {
			hold[j] = 1;
			held++;
		}
	return held;
}
