/*
 * sched_size.c - how many nodes of which group a scale-up needs (see
 * sched.h, "Sizing a scale-up", and docs/autoscaling.md).
 *
 * The real planner does the sizing: virtual nodes made from each group's
 * template are added to the grid's own state, the planner places what it
 * can, and the steps that land on virtual nodes say what they absorb.
 * They are removed again before returning, and the queue reasons of job
 * tasks (which a plan rewrites) are put back, so the next real plan sees
 * the state the caller left. Plans are made dry (balance moves are NOTEs,
 * nothing is applied); a virtual node joins "now", so it attracts no
 * rebalancing while it settles.
 *
 * Cost: one plan for the base, one with the upcoming machines, then per
 * group one plan with all its headroom and a binary search for the
 * smallest count that serves as much (log2(headroom) plans).
 */
#include "scheduler/sched_int.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A saved queue reason of a job task. */
struct size_saved {
	struct sched_job	*j;
	enum sched_queue_why	 why;
	char			*reason;
	int64_t			 due_ms;
};

struct size_ctx {
	struct sched			*s;
	const struct sched_size_group	*g;
	size_t				 ng;
	int64_t				 now_ms;
	uint64_t			 seed;
	int				*have_up;	/* per group: ~u nodes */
	int				*have_new;	/* per group: ~v nodes */
	int				 plans;
};

static void
size_node_id(char *buf, size_t len, int upcoming, size_t gi, int k)
{
	snprintf(buf, len, "~%c%zu-%d", upcoming ? 'u' : 'v', gi, k);
}

static int
size_node_add(struct size_ctx *c, int upcoming, size_t gi, int k,
    char **cause)
{
	const struct sched_size_group *g = &c->g[gi];
	struct sched_node_info ni;
	char id[48], name[128];

	size_node_id(id, sizeof id, upcoming, gi, k);
	snprintf(name, sizeof name, "%s-%s-%d", g->name,
	    upcoming ? "upcoming" : "new", k + 1);
	memset(&ni, 0, sizeof ni);
	ni.id = id;
	ni.name = name;
	ni.labels = g->labels;
	ni.nlabels = g->nlabels;
	ni.cpus = g->cpus;
	ni.memory = g->memory;
	ni.online = 1;
	ni.joined_at_ms = c->now_ms;
	return sched_node_upsert(c->s, &ni, cause);
}

/* Make group gi have exactly n new (~v) virtual nodes. */
static int
size_set_new(struct size_ctx *c, size_t gi, int n, char **cause)
{
	char id[48];

	while (c->have_new[gi] < n) {
		if (size_node_add(c, 0, gi, c->have_new[gi], cause) != 0)
			return -1;
		c->have_new[gi]++;
	}
	while (c->have_new[gi] > n) {
		c->have_new[gi]--;
		size_node_id(id, sizeof id, 0, gi, c->have_new[gi]);
		sched_node_remove(c->s, id);
	}
	return 0;
}

static void
size_plan(struct size_ctx *c, struct sched_plan *p)
{
	struct sched_opts opts;

	memset(&opts, 0, sizeof opts);
	opts.dry_run = 1;
	opts.balance_dry_run = 1;
	opts.no_balance = 1;
	sched_plan_clear(p);
	sched_plan(c->s, c->now_ms, c->seed, &opts, p);
	c->plans++;
}

static int
size_demanding(const struct sched *s, int64_t service_id)
{
	struct sched_service *svc = sched_service_find(s, service_id);

	return svc != NULL && svc->strategy != SCHED_DAEMON;
}

/* Items of demand a plan leaves: numbers not placed, tasks queued. */
static int
size_demand(const struct sched *s, const struct sched_plan *p)
{
	size_t i;
	int n = 0;

	for (i = 0; i < p->nunplaceable; i++)
		if (size_demanding(s, p->unplaceable[i].service_id))
			n++;
	for (i = 0; i < p->nqueued; i++)
		if (p->queued[i].why != SCHED_QUEUE_BACKOFF)
			n++;
	return n;
}

/* Items a plan puts on nodes whose id starts with prefix. */
static int
size_served(const struct sched *s, const struct sched_plan *p,
    const char *prefix)
{
	const struct sched_step *st;
	size_t i, len = strlen(prefix);
	int n = 0;

	for (i = 0; i < p->nsteps; i++) {
		st = &p->steps[i];
		if (st->node_id == NULL || strncmp(st->node_id, prefix,
		    len) != 0)
			continue;
		if (st->kind == SCHED_STEP_JOB_ASSIGN ||
		    ((st->kind == SCHED_STEP_PLACE ||
		    st->kind == SCHED_STEP_MOVE) &&
		    size_demanding(s, st->service_id)))
			n++;
	}
	return n;
}

/* Per group, its upcoming virtual nodes the plan puts demand on. */
static void
size_upcoming_used(const struct size_ctx *c, const struct sched_plan *p,
    struct sched_size_result *out)
{
	const struct sched_step *st;
	unsigned char **used;
	size_t i, gi;
	int k;

	if (out->upcoming_used == NULL)
		return;
	used = xcalloc(c->ng + 1, sizeof *used);
	for (gi = 0; gi < c->ng; gi++)
		used[gi] = xcalloc((size_t)c->have_up[gi] + 1, 1);
	for (i = 0; i < p->nsteps; i++) {
		st = &p->steps[i];
		if (st->node_id == NULL || strncmp(st->node_id, "~u", 2) != 0 ||
		    !(st->kind == SCHED_STEP_JOB_ASSIGN ||
		    ((st->kind == SCHED_STEP_PLACE ||
		    st->kind == SCHED_STEP_MOVE) &&
		    size_demanding(c->s, st->service_id))))
			continue;
		/* "~u<group>-<k>", as size_node_id() makes it */
		if (sscanf(st->node_id, "~u%zu-%d", &gi, &k) == 2 &&
		    gi < c->ng && k >= 0 && k < c->have_up[gi])
			used[gi][k] = 1;
	}
	for (gi = 0; gi < c->ng; gi++) {
		out->upcoming_used[gi] = 0;
		for (k = 0; k < c->have_up[gi]; k++)
			out->upcoming_used[gi] += used[gi][k];
		free(used[gi]);
	}
	free(used);
}

/* The first reason a plan gives for demand it cannot place. */
static char *
size_reason(const struct sched *s, const struct sched_plan *p)
{
	char *out;
	size_t i;

	for (i = 0; i < p->nunplaceable; i++) {
		struct sched_service *svc;

		if (!size_demanding(s, p->unplaceable[i].service_id))
			continue;
		svc = sched_service_find(s, p->unplaceable[i].service_id);
		xasprintf(&out, "%s#%d: %s", svc->dm.full,
		    p->unplaceable[i].instance_no, p->unplaceable[i].reason);
		return out;
	}
	for (i = 0; i < p->nqueued; i++) {
		struct sched_job *j;

		if (p->queued[i].why == SCHED_QUEUE_BACKOFF)
			continue;
		j = sched_job_find(s, p->queued[i].job_id, p->queued[i].index);
		xasprintf(&out, "job %s#%d: %s", j != NULL ? j->name : "?",
		    p->queued[i].index, p->queued[i].reason);
		return out;
	}
	return NULL;
}

/* The services whose numbers the plan puts on virtual nodes, once each. */
static void
size_services(const struct sched *s, const struct sched_plan *p,
    struct sched_size_result *out)
{
	const struct sched_step *st;
	size_t i, k;

	for (i = 0; i < p->nsteps; i++) {
		st = &p->steps[i];
		if (st->node_id == NULL || st->node_id[0] != '~' ||
		    (st->kind != SCHED_STEP_PLACE &&
		    st->kind != SCHED_STEP_MOVE) ||
		    !size_demanding(s, st->service_id))
			continue;
		for (k = 0; k < out->nservices; k++)
			if (out->services[k] == st->service_id)
				break;
		if (k < out->nservices)
			continue;
		out->services = xreallocarray(out->services,
		    out->nservices + 1, sizeof *out->services);
		out->services[out->nservices++] = st->service_id;
	}
}

static struct size_saved *
size_save_jobs(struct sched *s, size_t *n)
{
	struct size_saved *v;
	size_t i;

	v = xcalloc(s->nqueue + 1, sizeof *v);
	*n = 0;
	for (i = 0; i < s->nqueue; i++) {
		struct sched_job *j = s->queue[i];

		if (j == NULL)
			continue;
		v[*n].j = j;
		v[*n].why = j->why;
		v[*n].reason = j->reason != NULL ? xstrdup(j->reason) : NULL;
		v[*n].due_ms = j->due_ms;
		(*n)++;
	}
	return v;
}

static void
size_restore_jobs(struct size_saved *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].j->reason);
		v[i].j->reason = v[i].reason;
		v[i].j->why = v[i].why;
		v[i].j->due_ms = v[i].due_ms;
		v[i].j->changed = v[i].j->why_changed = 0;
	}
	free(v);
}

int
sched_size(struct sched *s, const struct sched_size_group *g, size_t ng,
    int64_t now_ms, uint64_t seed, struct sched_size_result *out,
    char **cause)
{
	struct size_ctx c;
	struct sched_plan p;
	struct size_saved *saved;
	size_t gi, nsaved;
	char id[48];
	int k, rc = -1, remaining, most, total, lo, hi, mid;

	memset(&c, 0, sizeof c);
	c.s = s;
	c.g = g;
	c.ng = ng;
	c.now_ms = now_ms;
	c.seed = seed;
	c.have_up = xcalloc(ng + 1, sizeof *c.have_up);
	c.have_new = xcalloc(ng + 1, sizeof *c.have_new);
	for (gi = 0; gi < ng; gi++) {
		out->launch[gi] = 0;
		if (out->upcoming_used != NULL)
			out->upcoming_used[gi] = 0;
	}
	out->demand = out->served = out->plans = 0;
	out->unserved = NULL;
	out->services = NULL;
	out->nservices = 0;
	saved = size_save_jobs(s, &nsaved);
	sched_plan_init(&p);

	size_plan(&c, &p);
	out->demand = size_demand(s, &p);
	if (out->demand == 0) {
		rc = 0;
		goto done;
	}
	/* Machines on their way absorb demand first. */
	for (gi = 0; gi < ng; gi++)
		for (k = 0; k < g[gi].upcoming; k++) {
			if (size_node_add(&c, 1, gi, k, cause) != 0)
				goto done;
			c.have_up[gi]++;
		}
	remaining = out->demand;
	total = 0;
	if (ng > 0) {
		size_plan(&c, &p);
		total = out->served = size_served(s, &p, "~");
		remaining -= out->served;
	}
	/*
	 * Served is counted on every virtual node, not on the group's own:
	 * the planner may prefer a later group's node to an earlier one's
	 * (ha spreads), and what counts is how many nodes of this group it
	 * takes, with those before it, to serve as much as it can.
	 */
	for (gi = 0; gi < ng && remaining > 0; gi++) {
		if (g[gi].headroom <= 0)
			continue;
		if (size_set_new(&c, gi, g[gi].headroom, cause) != 0)
			goto done;
		size_plan(&c, &p);
		most = size_served(s, &p, "~");
		if (most <= total) {
			if (size_set_new(&c, gi, 0, cause) != 0)
				goto done;
			continue;
		}
		/* The fewest nodes that serve as much as all of them. */
		lo = 1;
		hi = g[gi].headroom;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (size_set_new(&c, gi, mid, cause) != 0)
				goto done;
			size_plan(&c, &p);
			if (size_served(s, &p, "~") >= most)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (size_set_new(&c, gi, lo, cause) != 0)
			goto done;
		out->launch[gi] = lo;
		out->served += most - total;
		remaining -= most - total;
		total = most;
	}
	if (out->served > 0 || remaining > 0) {
		size_plan(&c, &p);
		size_services(s, &p, out);
		size_upcoming_used(&c, &p, out);
	}
	if (remaining > 0) {
		out->unserved = size_reason(s, &p);
		if (out->unserved == NULL)
			out->unserved = xstrdup("no node group can take it");
	}
	rc = 0;
done:
	for (gi = 0; gi < ng; gi++) {
		for (k = 0; k < c.have_up[gi]; k++) {
			size_node_id(id, sizeof id, 1, gi, k);
			sched_node_remove(s, id);
		}
		for (k = 0; k < c.have_new[gi]; k++) {
			size_node_id(id, sizeof id, 0, gi, k);
			sched_node_remove(s, id);
		}
	}
	sched_plan_clear(&p);
	size_restore_jobs(saved, nsaved);
	out->plans = c.plans;
	free(c.have_up);
	free(c.have_new);
	if (rc != 0) {
		free(out->unserved);
		out->unserved = NULL;
		free(out->services);
		out->services = NULL;
		out->nservices = 0;
	}
	return rc;
}
