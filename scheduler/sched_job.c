/*
 * sched_job.c - job tasks in the scheduler's view: the queue, its pass in
 * a round (sched_plan step 5, after the services' placement and before
 * the balancer) and what sched_apply does with a job step.
 *
 * A job of parallelism N is N tasks, (job id, index). A task is queued
 * (in s->queue) or assigned to one node (in node->jobs), where its demand
 * counts against the node's cpu and memory exactly as an instance record
 * does (sched_node_account()), so services and jobs see each other's
 * reservations. Tasks are placed by the services' filters on a struct
 * sched_demand (sched_filter.c) and spread as ha spreads: among the nodes
 * passing every hard filter, the fewest soft rules broken, then the fewest
 * placements (records and tasks), then the lowest load, then a seeded
 * tie-break.
 *
 * The queue is strict: priority first, then first come first served.
 * A task that cannot be placed holds every node it could run on for the
 * rest of the round, so a task behind it never takes the room it waits
 * for (no starvation of big tasks by small ones), while a task whose nodes
 * are other nodes still runs. Each queued task is listed in the plan with
 * the kind of its reason (no node at all, no room, behind another task,
 * backoff) and the sentence: the demand that more nodes would serve is
 * read off the plan.
 *
 * Tasks assigned to a node that has been offline for job_lost_ms, or that
 * the round removes, are planned JOB_LOST (not while the grid stands
 * down): their attempt failed; the master decides about a retry and
 * upserts the task again.
 *
 * Cost: a full queue pass is O(queued tasks examined x nodes); it runs
 * only when a job, a node, a capacity or the time of a backoff changed
 * (jobs_gen, epoch, jobs_due_ms); otherwise the round lists the queue with
 * its last reasons. Once every node is held, the rest of the queue costs
 * one static filter per node and job. Scheduling thread only.
 */
#include "scheduler/sched_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define SCHED_JOB_NONE	((size_t)-1)	/* qidx of an assigned task */

static uint64_t
sched_hash_job(int64_t id, int index)
{
	return sched_hash_u64((uint64_t)id * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)(uint32_t)index);
}

struct sched_job *
sched_job_find(const struct sched *s, int64_t id, int index)
{
	struct sched_hent *e;
	struct sched_job *j;
	uint64_t h = sched_hash_job(id, index);

	for (e = sched_htab_first(&s->job_hash, h); e != NULL; e = e->next) {
		j = (struct sched_job *)e;
		if (e->h == h && j->id == id && j->index == index)
			return j;
	}
	return NULL;
}

/* ---- the demand -------------------------------------------------------- */

static void
sched_demand_clear(struct sched_demand *d)
{
	size_t i;

	for (i = 0; i < d->nrules; i++)
		affinity_clear(&d->rules[i]);
	free(d->rules);
	free(d->ports);
	free(d->full);
	memset(d, 0, sizeof *d);
}

/* A task's demand from its info: 0, or -1 with *cause (d untouched). */
static int
sched_demand_job(struct sched_demand *d, const struct sched_job_info *ji,
    char **cause)
{
	struct affinity *rules;
	char *why = NULL;
	size_t i;

	rules = xcalloc(ji->naffinity + 1, sizeof *rules);
	for (i = 0; i < ji->naffinity; i++) {
		if (affinity_parse(ji->affinity[i], &rules[i], &why) == 0)
			continue;
		if (cause != NULL)
			xasprintf(cause, "job %s: %s", ji->name, why);
		free(why);
		while (i-- > 0)
			affinity_clear(&rules[i]);
		free(rules);
		return -1;
	}
	memset(d, 0, sizeof *d);
	xasprintf(&d->full, "job %s", ji->name);
	d->rules = rules;
	d->nrules = ji->naffinity;
	for (i = 0; i < d->nrules; i++) {
		if (rules[i].soft)
			d->nsoft++;
		else if (rules[i].kind == AFFINITY_SERVICE ||
		    rules[i].kind == AFFINITY_CONTAINER)
			d->has_dynamic = 1;
	}
	d->mcpus = (int64_t)(ji->cpus * 1000 + 0.5);
	d->mem_limit = ji->memory;
	d->ports = xcalloc(1, sizeof *d->ports);
	return 0;
}

static int
sched_demand_same(const struct sched_demand *a, const struct sched_demand *b)
{
	size_t i;

	if (a->nrules != b->nrules || a->mcpus != b->mcpus ||
	    a->mem_limit != b->mem_limit || strcmp(a->full, b->full) != 0)
		return 0;
	for (i = 0; i < a->nrules; i++) {
		if (a->rules[i].kind != b->rules[i].kind ||
		    a->rules[i].negate != b->rules[i].negate ||
		    a->rules[i].soft != b->rules[i].soft ||
		    strcmp(a->rules[i].value, b->rules[i].value) != 0)
			return 0;
	}
	return 1;
}

/* ---- queue and node lists ---------------------------------------------- */

static int	sched_job_cmp(const void *, const void *);

/*
 * The queue keeps its order as tasks come and go: a task that leaves
 * leaves a hole (compacted at the next pass, O(queue)); one that arrives
 * after the last in queue order (the usual: a later job of the same
 * priority) keeps the queue sorted. Only an arrival out of order, or a
 * change of priority, makes the next pass sort it.
 */
static void
sched_queue_add(struct sched *s, struct sched_job *j)
{
	size_t k = s->nqueue;

	if (s->nqueue == s->queue_cap) {
		s->queue_cap = s->queue_cap ? s->queue_cap * 2 : 64;
		s->queue = xreallocarray(s->queue, s->queue_cap,
		    sizeof *s->queue);
	}
	while (k > 0 && s->queue[k - 1] == NULL)
		k--;
	if (k > 0 && sched_job_cmp(&s->queue[k - 1], &j) > 0)
		s->queue_sorted = 0;
	j->qidx = s->nqueue;
	s->queue[s->nqueue++] = j;
}

static void
sched_queue_del(struct sched *s, struct sched_job *j)
{
	assert(j->qidx < s->nqueue && s->queue[j->qidx] == j);
	s->queue[j->qidx] = NULL;
	s->nholes++;
	j->qidx = SCHED_JOB_NONE;
}

/* Close the holes, keeping the order. */
static void
sched_queue_compact(struct sched *s)
{
	size_t k, n = 0;

	if (s->nholes == 0)
		return;
	for (k = 0; k < s->nqueue; k++) {
		if (s->queue[k] == NULL)
			continue;
		s->queue[k]->qidx = n;
		s->queue[n++] = s->queue[k];
	}
	s->nqueue = n;
	s->nholes = 0;
}

static void
sched_job_link(struct sched_node *n, struct sched_job *j)
{
	if (n->njobs == n->jobs_cap) {
		n->jobs_cap = n->jobs_cap ? n->jobs_cap * 2 : 8;
		n->jobs = xreallocarray(n->jobs, n->jobs_cap,
		    sizeof *n->jobs);
	}
	j->node_idx = n->njobs;
	n->jobs[n->njobs++] = j;
	j->node = n;
	sched_node_account(n, &j->dm, 1);
}

static void
sched_job_unlink(struct sched_job *j)
{
	struct sched_node *n = j->node;

	assert(n != NULL && n->jobs[j->node_idx] == j);
	n->jobs[j->node_idx] = n->jobs[--n->njobs];
	n->jobs[j->node_idx]->node_idx = j->node_idx;
	sched_node_account(n, &j->dm, -1);
	j->node = NULL;
}

static void
sched_job_free(struct sched_job *j)
{
	sched_demand_clear(&j->dm);
	free(j->name);
	free(j->reason);
	free(j);
}

/* Forget task j wherever it is. */
static void
sched_job_forget(struct sched *s, struct sched_job *j)
{
	if (j->node != NULL) {
		sched_job_unlink(j);
		s->epoch++;		/* its room is free again */
	} else
		sched_queue_del(s, j);
	sched_htab_del(&s->job_hash, &j->hent);
	s->njobs--;
	s->jobs_gen++;
	sched_job_free(j);
}

int
sched_job_upsert(struct sched *s, const struct sched_job_info *ji,
    char **cause)
{
	struct sched_demand dm;
	struct sched_node *n = NULL;
	struct sched_job *j;
	int changed = 0, same;

	assert(s != NULL && ji != NULL);
	assert(ji->naffinity == 0 || ji->affinity != NULL);
	if (ji->id <= 0 || ji->index < 0 || ji->name == NULL ||
	    ji->name[0] == '\0') {
		if (cause != NULL)
			xasprintf(cause, "a job task needs an id > 0, an index "
			    ">= 0 and a name");
		return -1;
	}
	if (ji->node_id != NULL &&
	    (n = sched_node_find(s, ji->node_id)) == NULL) {
		if (cause != NULL)
			xasprintf(cause, "job %s#%d on unknown node %s",
			    ji->name, ji->index, ji->node_id);
		return -1;
	}
	if (sched_demand_job(&dm, ji, cause) != 0)
		return -1;
	if ((j = sched_job_find(s, ji->id, ji->index)) == NULL) {
		j = xcalloc(1, sizeof *j);
		j->id = ji->id;
		j->index = ji->index;
		j->name = xstrdup(ji->name);
		j->dm = dm;
		j->qidx = SCHED_JOB_NONE;
		sched_htab_add(&s->job_hash, &j->hent,
		    sched_hash_job(j->id, j->index));
		s->njobs++;
		changed = 1;
	} else {
		same = sched_demand_same(&j->dm, &dm);
		if (!same) {
			if (j->node != NULL)
				sched_node_account(j->node, &j->dm, -1);
			sched_demand_clear(&j->dm);
			j->dm = dm;
			if (j->node != NULL)
				sched_node_account(j->node, &j->dm, 1);
			s->epoch++;
			changed = 1;
		} else
			sched_demand_clear(&dm);
		if (strcmp(j->name, ji->name) != 0) {
			free(j->name);
			j->name = xstrdup(ji->name);
			changed = 1;
		}
	}
	if (j->priority != ji->priority ||
	    j->queued_at_ms != ji->queued_at_ms ||
	    j->not_before_ms != ji->not_before_ms) {
		j->priority = ji->priority;
		j->queued_at_ms = ji->queued_at_ms;
		j->not_before_ms = ji->not_before_ms;
		s->queue_sorted = 0;
		changed = 1;
	}
	if (j->node != n || (n == NULL && j->qidx == SCHED_JOB_NONE)) {
		if (j->node != NULL) {
			sched_job_unlink(j);
			s->epoch++;
		} else if (j->qidx != SCHED_JOB_NONE)
			sched_queue_del(s, j);
		if (n != NULL)
			sched_job_link(n, j);
		else
			sched_queue_add(s, j);
		changed = 1;
	}
	if (changed)
		s->jobs_gen++;
	return 0;
}

int
sched_job_remove(struct sched *s, int64_t id, int index)
{
	struct sched_job *j;

	assert(s != NULL);
	if ((j = sched_job_find(s, id, index)) == NULL)
		return -1;
	sched_job_forget(s, j);
	return 0;
}

size_t
sched_job_count(const struct sched *s)
{
	assert(s != NULL);
	return s->njobs;
}

size_t
sched_job_queued(const struct sched *s)
{
	assert(s != NULL);
	return s->nqueue - s->nholes;
}

static void
sched_job_info_of(const struct sched_job *j, struct sched_job_info *out)
{
	memset(out, 0, sizeof *out);
	out->id = j->id;
	out->index = j->index;
	out->name = j->name;
	out->priority = j->priority;
	out->queued_at_ms = j->queued_at_ms;
	out->not_before_ms = j->not_before_ms;
	out->cpus = (double)j->dm.mcpus / 1000;
	out->memory = j->dm.mem_limit;
	out->node_id = j->node != NULL ? j->node->id : NULL;
}

size_t
sched_job_list(const struct sched *s, struct sched_job_info **out)
{
	struct sched_job_info *l;
	struct sched_node *n;
	size_t k, i = 0;
	uint32_t slot;

	assert(s != NULL && out != NULL);
	l = xcalloc(s->njobs + 1, sizeof *l);
	for (k = 0; k < s->nqueue; k++)
		if (s->queue[k] != NULL)
			sched_job_info_of(s->queue[k], &l[i++]);
	for (slot = 0; slot < s->nslots; slot++) {
		if ((n = s->nodes[slot]) == NULL)
			continue;
		for (k = 0; k < n->njobs; k++)
			if (!n->jobs[k]->tentative)
				sched_job_info_of(n->jobs[k], &l[i++]);
	}
	*out = l;
	return i;
}

/* A node goes (sched_node_drop): its tasks go with it. */
void
sched_job_drop_node(struct sched *s, struct sched_node *n)
{
	while (n->njobs > 0)
		sched_job_forget(s, n->jobs[n->njobs - 1]);
}

void
sched_job_free_all(struct sched *s)
{
	struct sched_node *n;
	uint32_t slot;
	size_t k;

	for (k = 0; k < s->nqueue; k++)
		if (s->queue[k] != NULL)
			sched_job_free(s->queue[k]);
	for (slot = 0; slot < s->nslots; slot++) {
		if ((n = s->nodes[slot]) == NULL)
			continue;
		for (k = 0; k < n->njobs; k++)
			sched_job_free(n->jobs[k]);
		free(n->jobs);
		n->jobs = NULL;
		n->njobs = 0;
	}
	free(s->queue);
	free(s->jtent);
	free(s->held);
	sched_htab_free(&s->job_hash);
}

/* ---- the pass ------------------------------------------------------------ */

/* Queue order: priority (higher first), then queued_at, id, index. */
static int
sched_job_cmp(const void *a, const void *b)
{
	const struct sched_job *x = *(struct sched_job *const *)a;
	const struct sched_job *y = *(struct sched_job *const *)b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->queued_at_ms != y->queued_at_ms)
		return x->queued_at_ms < y->queued_at_ms ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void
sched_queue_sort(struct sched *s)
{
	size_t k;

	sched_queue_compact(s);
	if (s->queue_sorted)
		return;
	qsort(s->queue, s->nqueue, sizeof *s->queue, sched_job_cmp);
	for (k = 0; k < s->nqueue; k++)
		s->queue[k]->qidx = k;
	s->queue_sorted = 1;
}

static void
sched_jtent_add(struct sched *s, struct sched_job *j)
{
	if (s->njtent == s->jtent_cap) {
		s->jtent_cap = s->jtent_cap ? s->jtent_cap * 2 : 64;
		s->jtent = xreallocarray(s->jtent, s->jtent_cap,
		    sizeof *s->jtent);
	}
	s->jtent[s->njtent++] = j;
}

void
sched_job_undo(struct sched *s)
{
	struct sched_job *j;

	while (s->njtent > 0) {
		j = s->jtent[--s->njtent];
		if (j->tentative) {
			sched_job_unlink(j);
			j->tentative = 0;
		}
		j->doomed = 0;
	}
}

/* Tasks on nodes offline past job_lost_ms, or being removed: lost. */
static void
sched_job_lost(struct sched_draft *d)
{
	struct sched *s = d->s;
	struct sched_node *n;
	struct sched_job *j;
	uint32_t slot;
	size_t k;
	int64_t off;
	int forced;

	for (slot = 0; slot < s->nslots; slot++) {
		n = s->nodes[slot];
		if (n == NULL || n->njobs == 0)
			continue;
		off = n->online || n->offline_since_ms <= 0 ? 0 :
		    d->now - n->offline_since_ms;
		forced = sched_drain_forced(d, n);
		if (!n->doomed && !forced && (d->stand_down ||
		    off <= s->set.job_lost_ms))
			continue;
		for (k = 0; k < n->njobs; k++) {
			j = n->jobs[k];
			if (j->doomed || j->tentative)
				continue;
			if (forced && !n->doomed)
				sched_emit_job_step(d, SCHED_STEP_JOB_LOST, j, n,
				    "node %s: drain deadline passed: job %s#%d "
				    "is stopped", sched_node_label(n), j->name,
				    j->index);
			else if (n->doomed)
				sched_emit_job_step(d, SCHED_STEP_JOB_LOST, j, n,
				    "node %s is being removed: job %s#%d is "
				    "lost with it", sched_node_label(n), j->name,
				    j->index);
			else
				sched_emit_job_step(d, SCHED_STEP_JOB_LOST, j, n,
				    "node %s offline %llds > %llds: job %s#%d "
				    "counts as lost", sched_node_label(n),
				    (long long)(off / 1000),
				    (long long)(s->set.job_lost_ms / 1000),
				    j->name, j->index);
			j->doomed = 1;
			sched_jtent_add(s, j);
		}
	}
}

/* The phrase for a node that passes every filter but is held. */
struct sched_held_arg {
	const struct sched	*s;
	char			 buf[160];
};

static const char *
sched_held_phrase(void *arg, const struct sched_node *n)
{
	struct sched_held_arg *a = arg;
	const struct sched_job *h = a->s->held[n->slot];

	if (h == NULL)
		return NULL;
	snprintf(a->buf, sizeof a->buf, "are held for job %s#%d ahead in "
	    "the queue (priority %d)", h->name, h->index, h->priority);
	return a->buf;
}

/* Is candidate (soft, total, load, tb) better than the best so far? */
struct sched_job_key {
	int		 soft;		/* soft rules broken */
	size_t		 total;		/* records and tasks on the node */
	int		 load;		/* cpu %, rounded */
	uint64_t	 tb;		/* seeded tie-break */
};

static int
sched_job_key_less(const struct sched_job_key *a, const struct sched_job_key *b)
{
	if (a->soft != b->soft)
		return a->soft < b->soft;
	if (a->total != b->total)
		return a->total < b->total;
	if (a->load != b->load)
		return a->load < b->load;
	return a->tb < b->tb;
}

/* What one queued task's look at the nodes found. */
struct sched_job_scan {
	struct sched_node	*best;		/* where it goes, or NULL */
	size_t			 elig;		/* nodes passing the static
						 * filters, online */
	size_t			 held;		/* of those, held */
	const struct sched_job	*holder;	/* the first holder seen */
};

static void
sched_job_scan(struct sched_draft *d, struct sched_job *j, int look,
    struct sched_job_scan *sc)
{
	struct sched *s = d->s;
	struct sched_job_key key, best = { 0, 0, 0, 0 };
	struct sched_node *n;
	uint64_t salt = sched_hash_u64(d->seed ^ sched_hash_job(j->id,
	    j->index));
	uint32_t slot;

	memset(sc, 0, sizeof *sc);
	for (slot = 0; slot < s->nslots; slot++) {
		n = s->nodes[slot];
		if (n == NULL || !n->online || n->doomed || n->cordoned ||
		    !sched_filter_static(&j->dm, n))
			continue;
		sc->elig++;
		if (s->held[slot] != NULL) {
			sc->held++;
			if (sc->holder == NULL)
				sc->holder = s->held[slot];
			continue;
		}
		if (!look || !sched_filter_dynamic(&j->dm, n) ||
		    !sched_filter_fits(&j->dm, n))
			continue;
		key.soft = sched_filter_soft(&j->dm, n);
		key.total = n->ninst + n->njobs;
		key.load = (int)(n->load_cpu + 0.5);
		key.tb = sched_hash_u64(salt ^ slot);
		if (sc->best == NULL || sched_job_key_less(&key, &best)) {
			sc->best = n;
			best = key;
		}
	}
}

/* Set a task's reason (taken); note whether it or its kind changed. */
static void
sched_job_why(struct sched_job *j, enum sched_queue_why why, char *reason,
    int64_t due)
{
	j->changed = j->reason == NULL || reason == NULL ||
	    strcmp(j->reason, reason) != 0;
	j->why_changed = j->reason == NULL || j->why != why;
	free(j->reason);
	j->why = why;
	j->reason = reason;
	j->due_ms = due;
}

/* Place what can be placed, in queue order; say why the rest waits. */
static void
sched_job_queue(struct sched_draft *d)
{
	struct sched *s = d->s;
	struct sched_held_arg ha = { s, "" };
	struct sched_job_scan sc;
	struct sched_job *j, *prev = NULL;
	struct sched_node *n;
	int64_t due = INT64_MAX;
	size_t k, free_nodes = 0;
	uint32_t slot;
	char *reason, secs[32];

	sched_queue_sort(s);
	if (s->held_cap < s->slot_cap) {
		s->held = xreallocarray(s->held, s->slot_cap, sizeof *s->held);
		s->held_cap = s->slot_cap;
	}
	if (s->held_cap > 0)	/* no node yet: held is NULL */
		memset(s->held, 0, s->held_cap * sizeof *s->held);
	for (slot = 0; slot < s->nslots; slot++) {
		n = s->nodes[slot];
		if (n != NULL && n->online && !n->doomed && !n->cordoned)
			free_nodes++;
	}
	for (k = 0; k < s->nqueue; k++) {
		j = s->queue[k];
		if (j->not_before_ms > d->now) {
			snprintf(secs, sizeof secs, "%lld",
			    (long long)((j->not_before_ms - d->now + 999) /
			    1000));
			xasprintf(&reason, "retry waits out its backoff: "
			    "placed in %ss at the earliest", secs);
			sched_job_why(j, SCHED_QUEUE_BACKOFF, reason,
			    j->not_before_ms);
			if (j->not_before_ms < due)
				due = j->not_before_ms;
			sched_emit_queued(d, j);
			continue;
		}
		/*
		 * Every node held: nothing more is placed this round, and a
		 * sibling of the task before has the same answer.
		 */
		if (free_nodes == 0 && prev != NULL && prev->id == j->id &&
		    prev->why != SCHED_QUEUE_BACKOFF) {
			sched_job_why(j, prev->why, xstrdup(prev->reason), 0);
			sched_emit_queued(d, j);
			continue;
		}
		/*
		 * Every node held, and nothing about the nodes changed since
		 * the pass that found it behind: it still is (the scan would
		 * only say so again, at O(nodes) for each such task).
		 */
		if (free_nodes == 0 && j->why == SCHED_QUEUE_BEHIND &&
		    j->reason != NULL && s->jobs_seen_epoch == s->epoch) {
			j->changed = j->why_changed = 0;
			sched_emit_queued(d, j);
			continue;
		}
		/*
		 * No node passed its filters the last time and none changed
		 * since (the epoch counts node and capacity changes): the
		 * same answer, without a scan and a new sentence.
		 */
		if (j->why == SCHED_QUEUE_NO_NODE && j->reason != NULL &&
		    s->jobs_seen_epoch == s->epoch) {
			j->changed = j->why_changed = 0;
			sched_emit_queued(d, j);
			continue;
		}
		sched_job_scan(d, j, free_nodes > 0, &sc);
		if (sc.best != NULL) {
			n = sc.best;
			sched_emit_job_step(d, SCHED_STEP_JOB_ASSIGN, j, n,
			    "place job %s#%d on %s (priority %d, queued %llds; "
			    "%s had %zu placement%s)", j->name, j->index,
			    sched_node_label(n), j->priority,
			    (long long)((d->now - j->queued_at_ms) / 1000),
			    sched_node_label(n), n->ninst + n->njobs,
			    n->ninst + n->njobs == 1 ? "" : "s");
			sched_job_link(n, j);
			j->tentative = 1;
			sched_jtent_add(s, j);
			sched_job_why(j, SCHED_QUEUE_NO_NODE, NULL, 0);
			continue;
		}
		prev = j;
		if (sc.elig == 0) {
			sched_job_why(j, SCHED_QUEUE_NO_NODE,
			    sched_filter_why(s, &j->dm, NULL, NULL), 0);
			sched_emit_queued(d, j);
			continue;
		}
		if (free_nodes == 0 || sc.held == sc.elig) {
			/* No holder's name: the text stays the same while the
			 * tasks ahead come and go (no rewrite, no event). */
			sched_job_why(j, SCHED_QUEUE_BEHIND, xstrdup("every "
			    "node it could use is held for tasks ahead of it "
			    "in the queue (priority, then arrival)"), 0);
		} else
			sched_job_why(j, SCHED_QUEUE_FULL, sched_filter_why(s,
			    &j->dm, sched_held_phrase, &ha), 0);
		sched_emit_queued(d, j);
		/* Hold the nodes it could use for it. */
		for (slot = 0; slot < s->nslots && free_nodes > 0; slot++) {
			n = s->nodes[slot];
			if (n == NULL || !n->online || n->doomed ||
			    n->cordoned || s->held[slot] != NULL ||
			    !sched_filter_static(&j->dm, n))
				continue;
			s->held[slot] = j;
			free_nodes--;
		}
	}
	s->jobs_seen_gen = s->jobs_gen;
	s->jobs_seen_epoch = s->epoch;
	s->jobs_due_ms = due;
	/* A plan that is not applied (a dry run, a failed write) must not
	 * leave the next round thinking its placements were made. */
	for (k = 0; k < s->njtent; k++)
		if (s->jtent[k]->tentative)
			s->jobs_due_ms = d->now;
}

void
sched_job_pass(struct sched_draft *d)
{
	struct sched *s = d->s;
	size_t k;

	sched_job_lost(d);
	sched_queue_compact(s);
	if (s->nqueue == 0)
		return;
	if (s->jobs_seen_gen != s->jobs_gen ||
	    s->jobs_seen_epoch != s->epoch || d->now >= s->jobs_due_ms ||
	    !s->queue_sorted) {
		sched_job_queue(d);
		return;
	}
	/* Nothing changed since the last pass: the same queue, reasons. */
	for (k = 0; k < s->nqueue; k++) {
		s->queue[k]->changed = s->queue[k]->why_changed = 0;
		sched_emit_queued(d, s->queue[k]);
	}
}

/* ---- applying ------------------------------------------------------------ */

int
sched_job_apply(struct sched *s, const struct sched_step *st, char **cause)
{
	struct sched_job *j = sched_job_find(s, st->job_id, st->instance_no);
	struct sched_node *n;

	if (st->kind == SCHED_STEP_JOB_LOST) {
		/* Gone already (its node was removed first): fine. */
		if (j != NULL)
			sched_job_forget(s, j);
		return 0;
	}
	assert(st->kind == SCHED_STEP_JOB_ASSIGN);
	if (j == NULL || j->node != NULL ||
	    (n = sched_node_find(s, st->node_id)) == NULL) {
		if (cause != NULL && *cause == NULL)
			xasprintf(cause, "job-assign step for job %lld#%d on "
			    "%s skipped: %s", (long long)st->job_id,
			    st->instance_no, st->node_id, j == NULL ?
			    "no such task" : j->node != NULL ?
			    "already assigned" : "node is gone");
		return -1;
	}
	sched_queue_del(s, j);
	sched_job_link(n, j);
	s->jobs_gen++;
	return 0;
}
