/*
 * sched_round.c - one scheduling round (see sched_round.h).
 *
 * Scheduler thread only. For each grid it keeps a struct sched (the
 * library's view), loaded whole when the grid is first seen and then kept
 * in step row by row. A round for a grid: refresh reported load now and
 * then; plan; write every step and its event in one BEGIN IMMEDIATE
 * transaction; apply the plan to the view; tell the hub which nodes'
 * desired sets changed; advance the grid's deploys, and plan again at once
 * if a deploy activated a service or rolled an instance (so a deploy never
 * waits for the next tick). A failed write is not applied: the next round
 * plans the same again. Every row is written through the typed calls of
 * store_instance.c and store_node.c, on this thread's connection.
 */
#include "master/sched_round.h"
#include "master/group_stats.h"
#include "master/sched_deploy.h"
#include "master/sched_drain.h"
#include "master/sched_groups.h"
#include "master/sched_sync.h"

#include "scheduler/sched.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define ROUND_LOAD_MS		10000	/* refresh reported load this often */
#define ROUND_MAX_REPLANS	4	/* plans per grid per round */
#define ROUND_RETENTION_MS	5000	/* look for expired jobs this often */

struct round_grid {
	int64_t			 id;		/* grid id */
	char			 name[64];	/* grid name */
	struct grid_settings	 gs;		/* its settings */
	struct sched		*s;		/* the library's view */
	int64_t			 load_at;	/* mono ms of last load read */
	char			*notes;		/* last round's NOTE reasons */
	json_t			*unplaceable;	/* "service id" -> reason */
	json_t			*logged;	/* reasons already in events */
	int64_t			 retention_at;	/* mono ms of the last sweep */
	int64_t			 intervals_at;	/* mono ms of the last
						   deploy.interval check */
	char			*nofit;		/* node groups: the last reason
						 * no group could serve */
	int			 standing;	/* node groups: stand-down said */
	json_t			*groups_memo;	/* node groups: notes said once */
	int			 seen;		/* still in the store */
};

struct sched_round {
	struct master		*m;		/* the master */
	struct store		*st;		/* this thread's connection */
	struct round_grid	*grids;		/* every grid */
	size_t			 ngrids;
	uint64_t		 seed;		/* bumped every plan */
	int			 loaded;	/* grid list read once */
};

static struct round_grid *
round_grid(struct sched_round *r, int64_t id)
{
	size_t i;

	for (i = 0; i < r->ngrids; i++)
		if (r->grids[i].id == id)
			return &r->grids[i];
	return NULL;
}

static void
round_grid_clear(struct round_grid *g)
{
	sched_free(g->s);
	free(g->notes);
	json_decref(g->unplaceable);
	json_decref(g->logged);
	free(g->nofit);
	json_decref(g->groups_memo);
}

/*
 * End the attempts of tasks whose node is gone (a node removed while the
 * master was down, say) as lost, then read those jobs again.
 */
static void
round_orphans(struct sched_round *r, struct round_grid *g,
    struct sync_orphan *o, size_t n)
{
	struct sync_orphan *more;
	size_t i, nmore;
	int64_t now = util_now_ms();
	char why[128];

	if (n == 0)
		return;
	if (store_begin(r->st) != 0)
		return;
	for (i = 0; i < n; i++) {
		snprintf(why, sizeof why, "node %.12s is gone from the grid",
		    o[i].node_id);
		if (store_job_lost(r->st, o[i].job_id, o[i].idx, o[i].node_id,
		    why, now) < 0) {
			log_error("sched: grid %s: job %lld: %s", g->name,
			    (long long)o[i].job_id, store_errmsg(r->st));
			store_rollback(r->st);
			return;
		}
	}
	if (store_commit(r->st) != 0)
		return;
	for (i = 0; i < n; i++) {
		master_changed_job(r->m, o[i].job_id);
		if (sched_sync_job(r->st, g->s, o[i].job_id, &more,
		    &nmore) == 0 && nmore > 0)
			log_warn("sched: grid %s: job %lld still has a task on "
			    "a node that is gone", g->name,
			    (long long)o[i].job_id);
		free(more);
	}
}

/* Load the grid's unfinished job tasks (job_id 0), or one job's. */
static void
round_sync_jobs(struct sched_round *r, struct round_grid *g, int64_t job_id)
{
	struct sync_orphan *o = NULL;
	size_t n = 0;
	int rc;

	if (job_id == 0)
		rc = sched_sync_jobs(r->st, g->s, g->id, &o, &n);
	else
		rc = sched_sync_job(r->st, g->s, job_id, &o, &n);
	if (rc != 0)
		log_error("sched: grid %s: job tasks: %s", g->name,
		    store_errmsg(r->st));
	round_orphans(r, g, o, n);
	free(o);
}

/* Re-read the grid list and settings; load new grids whole. */
static void
round_load_grids(struct sched_round *r)
{
	struct sched_settings ss;
	struct round_grid *g;
	struct grid_ref *refs;
	struct grid gr;
	size_t i, n;

	if (store_grid_refs(r->st, &refs, &n) != 0) {
		/* Keep the views as they are; read the list next round. */
		log_error("sched: grid list: %s", store_errmsg(r->st));
		r->loaded = 0;
		return;
	}
	for (i = 0; i < r->ngrids; i++)
		r->grids[i].seen = 0;
	for (i = 0; i < n; i++) {
		if ((g = round_grid(r, refs[i].id)) == NULL) {
			r->grids = xreallocarray(r->grids, r->ngrids + 1,
			    sizeof *r->grids);
			g = &r->grids[r->ngrids++];
			memset(g, 0, sizeof *g);
			g->id = refs[i].id;
			g->s = sched_new();
			g->unplaceable = json_object();
			g->logged = json_object();
			g->load_at = util_mono_ms();
			g->seen = 2;	/* new: load it below */
		} else
			g->seen = 1;
		snprintf(g->name, sizeof g->name, "%s", refs[i].name);
	}
	free(refs);
	for (i = 0; i < r->ngrids; i++) {
		g = &r->grids[i];
		if (g->seen == 0) {
			round_grid_clear(g);
			r->grids[i--] = r->grids[--r->ngrids];
			continue;
		}
		if (store_grid_get_id(r->st, g->id, &gr) == 1)
			g->gs = gr.settings;
		sched_sync_settings(&g->gs, &ss);
		sched_settings_set(g->s, &ss);
		if (g->seen == 2) {
			sched_sync_grid(r->st, g->s, g->id);
			round_sync_jobs(r, g, 0);
			log_info("sched: grid %s loaded: %zu node(s), %zu job "
			    "task(s)", g->name, sched_node_count(g->s),
			    sched_job_count(g->s));
		}
	}
	r->loaded = 1;
}

/* ---- writing a plan --------------------------------------------------- */

/* Stack, service name and revision of a service, for rows and events. */
static int
round_service(struct sched_round *r, int64_t id, char *label, size_t len,
    int64_t *rev)
{
	return store_service_label(r->st, id, label, len, rev) == 1 ? 0 : -1;
}

/*
 * Write one step and its event. 0 or -1. A job step the store could not
 * take (the task is no longer pending) sets *stale.
 */
static int
round_write_step(struct sched_round *r, struct round_grid *g,
    const struct sched_step *st, int64_t now, char *stale)
{
	char label[160] = "", subject[192], name[64];
	int64_t rev = 0;
	int rc = 0;

	if (st->kind == SCHED_STEP_JOB_ASSIGN) {
		int64_t attempt;

		/* 0: the task is no longer pending (cancelled meanwhile);
		 * the job is read again after the plan is applied. */
		rc = store_job_assign(r->st, st->job_id, st->instance_no,
		    st->node_id, st->reason, now, &attempt);
		*stale = rc == 0;
		return rc < 0 ? -1 : 0;
	}
	if (st->kind == SCHED_STEP_JOB_LOST)
		return store_job_lost(r->st, st->job_id, st->instance_no,
		    st->node_id, st->reason, now) < 0 ? -1 : 0;
	if (st->service_id > 0 &&
	    round_service(r, st->service_id, label, sizeof label, &rev) != 0)
		return -1;	/* the service went away meanwhile */
	snprintf(subject, sizeof subject, "%s#%d", label, st->instance_no);
	switch (st->kind) {
	case SCHED_STEP_PLACE:
		rc = store_instance_add(r->st, st->service_id, st->instance_no,
		    st->node_id, rev, 0, 0, now);
		break;
	case SCHED_STEP_REMOVE:
		rc = store_instance_delete(r->st, st->service_id,
		    st->instance_no, st->node_id);
		if (rc == 0 && st->completes_move && st->peer_node_id)
			rc = store_instance_move_done(r->st, st->service_id,
			    st->instance_no, st->peer_node_id);
		break;
	case SCHED_STEP_MOVE:
		rc = store_instance_delete(r->st, st->service_id,
		    st->instance_no, st->peer_node_id);
		if (rc == 0)
			rc = store_instance_add(r->st, st->service_id,
			    st->instance_no, st->node_id, rev, 0, now, now);
		break;
	case SCHED_STEP_MOVE_START:
		rc = store_instance_add(r->st, st->service_id, st->instance_no,
		    st->node_id, rev, 1, now, now);
		break;
	case SCHED_STEP_REMOVE_NODE:
		rc = store_node_remove(r->st, st->node_id, name);
		snprintf(subject, sizeof subject, "%s", rc == 1 ? name :
		    st->node_id);
		rc = rc >= 0 ? 0 : -1;
		if (rc == 0)
			master_kick_node(r->m, st->node_id,
			    PROTO_CLOSE_NODE_REMOVED);
		break;
	case SCHED_STEP_NOTE:
	case SCHED_STEP_JOB_ASSIGN:
	case SCHED_STEP_JOB_LOST:
		break;
	}
	if (rc != 0)
		return -1;
	return store_event_add(r->st, g->id, st->kind == SCHED_STEP_REMOVE_NODE ?
	    "node.remove" : st->kind == SCHED_STEP_NOTE ? "sched.note" :
	    st->kind == SCHED_STEP_PLACE ? "sched.place" :
	    st->kind == SCHED_STEP_REMOVE ? "sched.remove" : "sched.move",
	    st->kind == SCHED_STEP_NOTE ? g->name : subject, "%s", st->reason);
}

/* NOTE steps repeat every round while their cause holds: log changes only. */
static int
round_notes_changed(struct round_grid *g, const struct sched_plan *p)
{
	struct buf b = { 0 };
	size_t i;
	int changed;

	for (i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == SCHED_STEP_NOTE)
			buf_printf(&b, "%s\n", p->steps[i].reason);
	changed = (b.data == NULL) != (g->notes == NULL) ||
	    (b.data != NULL && strcmp(b.data, g->notes) != 0);
	free(g->notes);
	g->notes = b.data;
	return changed;
}

static void
round_unplaceable(struct sched_round *r, struct round_grid *g,
    const struct sched_plan *p)
{
	char key[32], label[160];
	json_t *old;
	int64_t rev;
	size_t i;

	json_object_clear(g->unplaceable);
	for (i = 0; i < p->nunplaceable; i++) {
		snprintf(key, sizeof key, "%lld",
		    (long long)p->unplaceable[i].service_id);
		if (json_object_get(g->unplaceable, key) == NULL)
			json_object_set_new(g->unplaceable, key,
			    json_string(p->unplaceable[i].reason));
		old = json_object_get(g->logged, key);
		if (old != NULL && strcmp(json_string_value(old),
		    p->unplaceable[i].reason) == 0)
			continue;
		json_object_set_new(g->logged, key,
		    json_string(p->unplaceable[i].reason));
		if (round_service(r, p->unplaceable[i].service_id, label,
		    sizeof label, &rev) == 0)
			store_event_add(r->st, g->id, "sched.unplaceable",
			    label, "cannot place instance %d: %s",
			    p->unplaceable[i].instance_no,
			    p->unplaceable[i].reason);
	}
}

/*
 * Queued tasks whose reason changed in this plan: their index in
 * p->queued into *out (caller frees). The reason becomes the task's
 * queue_reason (berth job show); a job.queued event is written when a
 * job's first task starts to wait, or waits for another kind of reason
 * (not each time the reason's words change). The library says what
 * changed (struct sched_queued's changed flags): a failed write leaves a
 * reason unwritten until it changes again.
 */
static size_t
round_queue_changed(const struct sched_plan *p, size_t **out)
{
	size_t i, n = 0;

	*out = xcalloc(p->nqueued + 1, sizeof **out);
	for (i = 0; i < p->nqueued; i++)
		if (p->queued[i].changed)
			(*out)[n++] = i;
	return n;
}

/* Plan once for g and carry it out. */
static void
round_plan(struct sched_round *r, struct round_grid *g)
{
	struct sched_opts opts;
	struct sched_plan plan;
	const struct sched_step *st;
	const struct sched_queued *q;
	int64_t now = util_now_ms();
	char *cause = NULL;
	size_t i, nact, nq, *qch;
	char *stale;
	int notes, ok = 1;
	json_t *waiting, *v;
	const char *key;

	if (util_mono_ms() - g->load_at > ROUND_LOAD_MS) {
		sched_sync_load(r->st, g->s, g->id);
		g->load_at = util_mono_ms();
	}
	memset(&opts, 0, sizeof opts);
	opts.balance_dry_run = g->gs.dry_run;
	/* Drains past their deadline: said before this plan stops them. */
	sched_drain_deadlines(r->st, g->id, g->name, now);
	sched_plan_init(&plan);
	sched_plan(g->s, now, ++r->seed, &opts, &plan);
	nact = sched_plan_nactions(&plan);
	notes = round_notes_changed(g, &plan);
	nq = round_queue_changed(&plan, &qch);
	stale = xcalloc(plan.nsteps + 1, 1);
	if (nact > 0 || notes || plan.nunplaceable > 0 || nq > 0) {
		if (store_begin(r->st) != 0) {
			sched_plan_clear(&plan);
			free(qch);
			free(stale);
			return;
		}
		for (i = 0; i < plan.nsteps && ok; i++) {
			st = &plan.steps[i];
			if (st->kind == SCHED_STEP_NOTE && !notes)
				continue;
			if (round_write_step(r, g, st, now, &stale[i]) != 0) {
				log_error("sched: grid %s: cannot write step "
				    "(%s): %s", g->name, st->reason,
				    store_errmsg(r->st));
				ok = 0;
			}
		}
		round_unplaceable(r, g, &plan);
		for (i = 0; i < nq && ok; i++) {
			q = &plan.queued[qch[i]];
			if (store_job_queue_reason(r->st, q->job_id, q->index,
			    q->reason, q->index == 0 && q->why_changed) < 0) {
				log_error("sched: grid %s: queue reason: %s",
				    g->name, store_errmsg(r->st));
				ok = 0;
			}
		}
		if (!ok || store_commit(r->st) != 0) {
			store_rollback(r->st);
			/* Re-read what the failed steps touched. */
			sched_plan_clear(&plan);
			free(qch);
			free(stale);
			sched_sync_grid(r->st, g->s, g->id);
			round_sync_jobs(r, g, 0);
			return;
		}
	} else
		json_object_clear(g->unplaceable);
	free(qch);
	if (nact > 0) {
		master_nodes_touched(r->m);
		if (sched_apply(g->s, &plan, &cause) != 0) {
			log_warn("sched: grid %s: %s", g->name, cause);
			free(cause);
		}
		for (i = 0; i < plan.nsteps; i++) {
			st = &plan.steps[i];
			if (st->kind == SCHED_STEP_NOTE ||
			    st->kind == SCHED_STEP_REMOVE_NODE)
				continue;
			master_desired_changed(r->m, st->node_id);
			if (st->peer_node_id != NULL)
				master_desired_changed(r->m, st->peer_node_id);
			/*
			 * A lost task may be retried (pending with a
			 * backoff), an assignment the store refused (the
			 * task was cancelled meanwhile) must not stay: read
			 * the job again either way.
			 */
			if (st->kind == SCHED_STEP_JOB_LOST ||
			    (st->kind == SCHED_STEP_JOB_ASSIGN && stale[i]))
				round_sync_jobs(r, g, st->job_id);
		}
		log_debug("sched: grid %s: %zu step(s)", g->name, nact);
	}
	/* Drains that ended (docs/nodes.md). */
	sched_drain_round(r->m, r->st, g->id, g->name, g->s);
	/*
	 * Node groups act on what this plan could not place; a service
	 * whose numbers their machines will take is not unplaceable for
	 * its deploy, which waits for the capacity instead of failing.
	 */
	waiting = json_object();
	if (g->groups_memo == NULL)
		g->groups_memo = json_object();
	sched_groups_round(r->m, r->st, g->id, g->name, &g->gs, g->s, &plan,
	    ++r->seed, &g->nofit, &g->standing, g->groups_memo, waiting);
	json_object_foreach(waiting, key, v)
		json_object_del(g->unplaceable, key);
	group_stats_waiting(g->id, waiting);	/* deploys say what for */
	json_decref(waiting);
	sched_plan_clear(&plan);
	free(stale);
}

/* ---- deploy hooks --------------------------------------------------- */

struct round_hook_arg {
	struct sched_round	*r;	/* the round */
	struct round_grid	*g;	/* the grid being advanced */
};

static const char *
round_hook_unplaceable(void *arg, int64_t service_id)
{
	struct round_hook_arg *a = arg;
	char key[32];

	snprintf(key, sizeof key, "%lld", (long long)service_id);
	return json_string_value(json_object_get(a->g->unplaceable, key));
}

static void
round_hook_service(void *arg, int64_t service_id)
{
	struct round_hook_arg *a = arg;

	sched_sync_service(a->r->st, a->g->s, a->g->id, service_id);
}

static void
round_hook_node(void *arg, const char *node_id)
{
	struct round_hook_arg *a = arg;

	master_desired_changed(a->r->m, node_id);
}

/* Finished jobs past the grid's retention go, with their containers. */
static void
round_retention(struct sched_round *r, struct round_grid *g)
{
	struct job_touched t = { NULL, 0 };
	size_t i;
	int removed = 0;

	if (util_mono_ms() - g->retention_at < ROUND_RETENTION_MS)
		return;
	g->retention_at = util_mono_ms();
	if (store_job_retention(r->st, g->id, g->gs.job_retention_s * 1000,
	    g->gs.job_retention_max, util_now_ms(), &removed, &t) != 0) {
		log_error("sched: grid %s: job retention: %s", g->name,
		    store_errmsg(r->st));
		return;
	}
	if (removed > 0)
		log_info("sched: grid %s: retention removed %d finished "
		    "job(s)", g->name, removed);
	for (i = 0; i < t.n; i++)
		master_desired_changed(r->m, t.nodes[i]);
	store_job_touched_free(&t);
}

/*
 * deploy.interval: services due for their periodic deploy get one (the
 * store says which, from the deploys it keeps); checked once a second.
 */
static void
round_intervals(struct sched_round *r, struct round_grid *g)
{
	int n;

	if (util_mono_ms() - g->intervals_at < 1000)
		return;
	g->intervals_at = util_mono_ms();
	if (store_deploy_intervals(r->st, g->id, util_now_ms(), &n) != 0)
		log_error("sched: grid %s: periodic deploys: %s", g->name,
		    store_errmsg(r->st));
	else if (n > 0)
		log_info("sched: grid %s: %d periodic deploy(s) (deploy."
		    "interval)", g->name, n);
}

static void
round_grid_run(struct sched_round *r, struct round_grid *g)
{
	struct round_hook_arg arg = { r, g };
	struct sched_deploy_hooks hooks = { round_hook_unplaceable,
	    round_hook_service, round_hook_node, &arg };
	int i, replan;

	round_intervals(r, g);
	for (i = 0; i < ROUND_MAX_REPLANS; i++) {
		round_plan(r, g);
		/* A store error is logged there; the next round retries. */
		sched_deploy_advance(r->st, g->id, util_now_ms(),
		    (int64_t)r->m->cfg.deploy_timeout_s * 1000, &hooks,
		    &replan);
		if (!replan)
			break;
	}
	round_retention(r, g);
}

/* ---- the round ------------------------------------------------------ */

struct sched_round *
sched_round_new(struct master *m)
{
	struct sched_round *r = xcalloc(1, sizeof *r);

	r->m = m;
	r->st = master_store(m);
	store_set_mmap(r->st);		/* the round reads the whole grid */
	r->seed = (uint64_t)util_now_ms();
	return r;
}

void
sched_round_free(struct sched_round *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ngrids; i++)
		round_grid_clear(&r->grids[i]);
	free(r->grids);
	free(r);
}

/* The grid a node or service is in (store), or 0 when it is gone. */
static int64_t
round_owner(struct sched_round *r, const char *node_id, int64_t service_id)
{
	int64_t grid = 0;
	int rc;

	if (node_id != NULL)
		rc = store_node_grid(r->st, node_id, &grid);
	else
		rc = store_service_grid(r->st, service_id, &grid);
	return rc == 1 ? grid : 0;
}

void
sched_round_run(struct sched_round *r, const struct sched_changes *ch)
{
	struct round_grid *g;
	char *plan_now;
	int64_t owner;
	size_t i, j;

	if (!r->loaded || ch->grids_changed)
		round_load_grids(r);
	plan_now = xcalloc(r->ngrids + 1, 1);
	for (i = 0; i < ch->nnodes; i++) {
		owner = round_owner(r, ch->nodes[i], 0);
		for (j = 0; j < r->ngrids; j++) {
			g = &r->grids[j];
			if (sched_sync_node(r->st, g->s, g->id,
			    ch->nodes[i]) == 1 || g->id == owner)
				plan_now[j] = 1;
		}
	}
	for (i = 0; i < ch->nservices; i++) {
		owner = round_owner(r, NULL, ch->services[i]);
		for (j = 0; j < r->ngrids; j++) {
			g = &r->grids[j];
			if (g->id == owner)
				plan_now[j] = 1;
			if (g->id == owner || owner == 0)
				sched_sync_service(r->st, g->s, g->id,
				    ch->services[i]);
		}
	}
	for (i = 0; i < ch->njobs; i++) {
		/* One grid (the usual): no need to look the job's up. */
		if (r->ngrids == 1)
			owner = r->grids[0].id;
		else if (store_job_grid(r->st, ch->jobs[i], &owner) != 1)
			owner = 0;
		for (j = 0; j < r->ngrids; j++) {
			g = &r->grids[j];
			if (g->id == owner || owner == 0)
				round_sync_jobs(r, g, ch->jobs[i]);
			if (g->id == owner)
				plan_now[j] = 1;
		}
	}
	for (i = 0; i < ch->ngrids; i++)
		for (j = 0; j < r->ngrids; j++)
			if (r->grids[j].id == ch->grids[i])
				plan_now[j] = 1;
	for (j = 0; j < r->ngrids; j++) {
		/*
		 * A master that stopped leading (deposed, or a leader
		 * stopping) ends its round here: each grid left would only
		 * wait out the fenced store's bound (docs/ha.md).
		 */
		if (!master_leads(r->m))
			break;
		if (ch->all || plan_now[j])
			round_grid_run(r, &r->grids[j]);
	}
	free(plan_now);
}
