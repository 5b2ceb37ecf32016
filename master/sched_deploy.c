/*
 * sched_deploy.c - advance deploys (see sched_deploy.h).
 *
 * Scheduler thread only, on its store connection. This file decides; the
 * store holds the state. Each advance reads a snapshot of the grid's
 * unfinished deploys, walks each deploy's services in order to the first
 * unfinished one and takes one step on it. Every change is its own small
 * transaction with its event (store_deploy.c), so a master killed
 * mid-deploy restarts from exactly the recorded state and carries on.
 */
#include "master/sched_deploy.h"
#include "master/group_stats.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* What a step did to a deploy, and so what the machine does next. */
enum deploy_step {
	DEPLOY_STEP_WAIT,	/* instances are on their way: next round */
	DEPLOY_STEP_NEXT,	/* the service is deployed: on to the next */
	DEPLOY_STEP_REPLAN,	/* the scheduler must see a change first */
	DEPLOY_STEP_ENDED,	/* the deploy ended now, or had meanwhile */
	DEPLOY_STEP_ESTORE,	/* a store error: the next round retries */
};
#define DEPLOY_NSTEPS	5

static const char *const deploy_step_names[DEPLOY_NSTEPS] = {
	[DEPLOY_STEP_WAIT] = "wait",
	[DEPLOY_STEP_NEXT] = "next",
	[DEPLOY_STEP_REPLAN] = "replan",
	[DEPLOY_STEP_ENDED] = "ended",
	[DEPLOY_STEP_ESTORE] = "store error",
};

static const char *
deploy_step_name(enum deploy_step step)
{
	assert((unsigned)step < DEPLOY_NSTEPS);
	return deploy_step_names[step];
}

static int
deploy_unfinished(enum deploy_state s)
{
	return s == DEPLOY_CREATED || s == DEPLOY_ONGOING;
}

/* Rolled at once: all but ceil(min_health x placed), at least one. */
static size_t
deploy_batch(const struct deploy_service *v)
{
	size_t keep;

	assert(v->min_health >= 0 && v->min_health <= 1); /* the parser's */
	keep = (size_t)ceil(v->min_health * (double)v->placed);
	return keep < v->placed ? v->placed - keep : 1;
}

static enum deploy_step
deploy_fail(struct store *st, const struct deploy_snap *d, int64_t service_id,
    const char *why, int64_t now)
{
	int rc = store_deploy_fail(st, d, service_id, why, now);

	if (rc < 0)
		return DEPLOY_STEP_ESTORE;
	if (rc == 1)
		log_info("deploy %lld of %s failed: %s", (long long)d->id,
		    d->stack, why);
	return DEPLOY_STEP_ENDED;
}

/* One step on v, the first unfinished service of d. */
static enum deploy_step
deploy_service(struct store *st, const struct deploy_snap *d,
    const struct deploy_service *v, int64_t now,
    const struct sched_deploy_hooks *h)
{
	char why[512], (*nodes)[NODE_ID_LEN + 1];
	const char *reason;
	size_t batch, n, i;
	int rc;

	/*
	 * A service that links to another stack's service starts after its
	 * target is deployed (Kontena's deploy order across stacks).
	 */
	if (v->state == DEPLOY_CREATED) {
		rc = store_service_links_ready(st, v->id, why, sizeof why);
		if (rc < 0)
			return DEPLOY_STEP_ESTORE;
		if (rc == 0) {
			log_debug("deploy %lld of %s: service %s: %s",
			    (long long)d->id, d->stack, v->name, why);
			return DEPLOY_STEP_WAIT;
		}
		if (rc == 2) {
			char msg[600];

			snprintf(msg, sizeof msg, "service %s: %s", v->name,
			    why);
			return deploy_fail(st, d, v->id, msg, now);
		}
	}
	if (v->state == DEPLOY_CREATED &&
	    store_deploy_service_start(st, d, v, now) != 0)
		return DEPLOY_STEP_ESTORE;
	/* Stopped: the new definition waits for `service start`. */
	if (v->stopped)
		return store_deploy_service_stopped(st, d, v, now) != 0 ?
		    DEPLOY_STEP_ESTORE : DEPLOY_STEP_NEXT;
	if (!v->active) {
		if (store_deploy_service_activate(st, d, v, now) != 0)
			return DEPLOY_STEP_ESTORE;
		h->service_changed(h->arg, v->id);
		return DEPLOY_STEP_REPLAN;
	}
	if ((reason = h->unplaceable(h->arg, v->id)) != NULL) {
		snprintf(why, sizeof why, "service %s: %s", v->name, reason);
		return deploy_fail(st, d, v->id, why, now);
	}
	if (v->failed > 0) {
		snprintf(why, sizeof why, "service %s: instance %d on node %s: "
		    "%s", v->name, v->error_no, v->error_node,
		    v->error != NULL ? v->error : "error");
		return deploy_fail(st, d, v->id, why, now);
	}
	/* Roll outdated instances a batch at a time (min_health). */
	batch = deploy_batch(v);
	if (v->outdated > 0 && v->pending < batch) {
		if (store_deploy_service_roll(st, v, batch - v->pending, now,
		    &nodes, &n) != 0)
			return DEPLOY_STEP_ESTORE;
		for (i = 0; i < n; i++)
			h->node_changed(h->arg, nodes[i]);
		free(nodes);
		return DEPLOY_STEP_REPLAN;
	}
	if (v->outdated > 0 || v->pending > 0)
		return DEPLOY_STEP_WAIT;
	/*
	 * Numbers that node groups' machines on their way will take: the
	 * deploy waits for them (its status says which; its timeout holds).
	 */
	if (group_stats_waiting_text(v->id, now, why, sizeof why)) {
		log_debug("deploy %lld of %s: service %s: %s", (long long)d->id,
		    d->stack, v->name, why);
		return DEPLOY_STEP_WAIT;
	}
	if (store_deploy_service_done(st, d, v, now) != 0)
		return DEPLOY_STEP_ESTORE;
	return DEPLOY_STEP_NEXT;
}

/* Take d as far as it goes now. */
static enum deploy_step
deploy_one(struct store *st, const struct deploy_snap *d, int64_t now,
    int64_t timeout_ms, const struct sched_deploy_hooks *h)
{
	const struct deploy_service *v, *cur = NULL;
	enum deploy_step step;
	char why[1024], *wait;
	size_t i;
	int rc;

	assert(deploy_unfinished(d->state));
	if (d->state == DEPLOY_CREATED &&
	    (rc = store_deploy_start(st, d, now)) != 1)
		return rc == 0 ? DEPLOY_STEP_ENDED : DEPLOY_STEP_ESTORE;
	for (i = 0; i < d->nservices && cur == NULL; i++)
		if (deploy_unfinished(d->services[i].state))
			cur = &d->services[i];
	if (now - d->created_at > timeout_ms) {
		/* Say what it waited for: a pull retried all along, say. */
		wait = cur != NULL ? store_deploy_wait_reason(st, cur->id) :
		    NULL;
		/* Or the node groups' machines it waited for. */
		if (wait == NULL && cur != NULL) {
			char cap[320];

			if (group_stats_waiting_text(cur->id, now, cap,
			    sizeof cap))
				wait = xstrdup(cap);
		}
		snprintf(why, sizeof why, "timed out after %llds%s%s%s%s",
		    (long long)(timeout_ms / 1000), cur != NULL ?
		    ": service " : "", cur != NULL ? cur->name : "",
		    wait != NULL ? ": " : "", wait != NULL ? wait : "");
		free(wait);
		return deploy_fail(st, d, cur != NULL ? cur->id : 0, why, now);
	}
	for (i = 0; i < d->nservices; i++) {
		v = &d->services[i];
		if (!deploy_unfinished(v->state))
			continue;
		step = deploy_service(st, d, v, now, h);
		log_debug("deploy %lld of %s: service %s: %s",
		    (long long)d->id, d->stack, v->name,
		    deploy_step_name(step));
		if (step != DEPLOY_STEP_NEXT)
			return step;
	}
	rc = store_deploy_succeed(st, d, now);
	return rc < 0 ? DEPLOY_STEP_ESTORE : DEPLOY_STEP_ENDED;
}

int
sched_deploy_advance(struct store *st, int64_t grid_id, int64_t now_ms,
    int64_t timeout_ms, const struct sched_deploy_hooks *h, int *replan)
{
	struct deploy_snap *v;
	enum deploy_step step;
	size_t n, i;
	int rc = 0;

	*replan = 0;
	if (store_deploy_unfinished(st, grid_id, &v, &n) != 0) {
		log_warn("deploys of grid %lld: cannot read them: %s",
		    (long long)grid_id, store_errmsg(st));
		return -1;
	}
	for (i = 0; i < n; i++) {
		step = deploy_one(st, &v[i], now_ms, timeout_ms, h);
		if (step == DEPLOY_STEP_REPLAN)
			*replan = 1;
		else if (step == DEPLOY_STEP_ESTORE) {
			log_warn("deploy %lld of %s: store: %s",
			    (long long)v[i].id, v[i].stack, store_errmsg(st));
			rc = -1;
		}
	}
	store_deploy_snaps_free(v, n);
	return rc;
}
