/*
 * sched_groups.c - node groups: scale-up from demand, machines' lifecycle,
 * scale-in of unneeded nodes (docs/autoscaling.md).
 *
 * Scheduler thread only, inside the round, right after a grid's plan was
 * written and applied: the plan's unplaceable ha/random numbers and queued
 * job tasks are the demand, sized with the real planner (sched_size() in
 * scheduler/sched_size.c) over virtual nodes made from each group's
 * template. Every machine change is written in one transaction with its
 * event; provider calls come after the commit, through the provider's
 * vtable (master/provider.h): in place for the process provider (fork,
 * kill), on the provider threads for the others (master/
 * provider_worker.c), whose results the next round applies (groups_apply)
 * with their events. What a call leaves undone is found again from the
 * rows on the next round, or after a restart: a `requested` row is
 * launched, a `launching` one past its provision timeout is terminated, a
 * `terminating` one is deleted until its provider says it is gone, then
 * its node record and its row go in one transaction; a `failed` one
 * (the provider made nothing) is forgotten.
 *
 * The same pass also runs dry (a plan request, `berth nodegroup plan`,
 * and groups with dry_run): it writes nothing, calls no provider, and
 * lists the decisions it would make instead (struct groups_ctx.dry,
 * decisions).
 *
 * This file holds the pass (sched_groups_round), its context and small
 * helpers, and the plan API; the provider calls, their results and the
 * machines' lifecycle are in sched_groups_machines.c, demand and
 * scale-up in sched_groups_up.c, scale-in in sched_groups_in.c, and what
 * they share in sched_groups_int.h.
 */
#include "master/sched_groups_int.h"

/*
 * One decision: into the plan's list, and for a group in dry_run (in a
 * real round) one `nodegroup.dry_run` event while it stays the same.
 * machine may be NULL, count 0.
 */
void
groups_decide(struct groups_ctx *c, const struct nodegroup *g,
    const char *action, const char *machine, int count, const char *fmt, ...)
{
	char *why, key[96];
	const char *old;
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	xvasprintf(&why, fmt, ap);
	va_end(ap);
	if (c->decisions != NULL) {
		o = json_pack("{s:s, s:s, s:s}", "group", g != NULL ? g->name :
		    "", "action", action, "reason", why);
		if (machine != NULL)
			json_object_set_new(o, "machine", json_string(machine));
		if (count > 0)
			json_object_set_new(o, "count", json_integer(count));
		json_array_append_new(c->decisions, o);
	}
	if (!c->dry && g != NULL && g->settings.dry_run && c->memo != NULL) {
		snprintf(key, sizeof key, "dry:%s:%s:%s", g->name, action,
		    machine != NULL ? machine : "");
		old = json_string_value(json_object_get(c->memo, key));
		if (old == NULL || strcmp(old, why) != 0) {
			char what[128];

			if (count > 0)
				snprintf(what, sizeof what, "%s %d machine%s",
				    action, count, count == 1 ? "" : "s");
			else
				snprintf(what, sizeof what, "%s %s", action,
				    machine != NULL ? machine : "");
			store_event_add(c->st, c->grid_id, "nodegroup.dry_run",
			    g->name, "dry-run: group %s would %s: %s",
			    g->name, what, why);
			json_object_set_new(c->memo, key, json_string(why));
		}
	}
	free(why);
}

/* 1 when this pass may act on g: write, call its provider. */
int
groups_acts(const struct groups_ctx *c, const struct nodegroup *g)
{
	return !c->dry && (g == NULL || !g->settings.dry_run);
}

struct nodegroup *
groups_find(struct groups_ctx *c, int64_t id)
{
	size_t i;

	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i].id == id)
			return &c->groups[i];
	return NULL;
}

/* Seconds as people read them: "15m", "30s". */
const char *
groups_dur(int64_t s, char *buf, size_t len)
{
	return units_format_duration(s, buf, len);
}

/* ---- what a call is made of -------------------------------------------- */

void
groups_agent_path(struct groups_ctx *c, const struct nodegroup *g,
    char *buf, size_t len)
{
	if (g->settings.agent[0] != '\0')
		snprintf(buf, len, "%s", g->settings.agent);
	else if (c->m->cfg.agent_binary != NULL &&
	    c->m->cfg.agent_binary[0] != '\0')
		snprintf(buf, len, "%s", c->m->cfg.agent_binary);
	else
		snprintf(buf, len, "%s/berth-agent", c->m->self_dir);
}

/* What a new agent dials: the setting, --agent-url, or the listener. */
void
groups_agent_url(struct groups_ctx *c, const struct nodegroup *g, char *buf,
    size_t len)
{
	const char *listen = c->m->cfg.agent_listen, *colon;
	const char *scheme = c->m->tls.on ? "wss" : "ws";

	if (g->settings.agent_url[0] != '\0') {
		snprintf(buf, len, "%s", g->settings.agent_url);
		return;
	}
	if (c->m->cfg.agent_url != NULL && c->m->cfg.agent_url[0] != '\0') {
		snprintf(buf, len, "%s", c->m->cfg.agent_url);
		return;
	}
	colon = strrchr(listen, ':');
	if (colon == NULL) {
		snprintf(buf, len, "%s://127.0.0.1:%s", scheme, listen);
		return;
	}
	/* A wildcard listener is dialled on loopback. */
	if ((colon - listen == 7 && strncmp(listen, "0.0.0.0", 7) == 0) ||
	    colon == listen || (colon - listen == 4 &&
	    strncmp(listen, "[::]", 4) == 0))
		snprintf(buf, len, "%s://127.0.0.1%s", scheme, colon);
	else
		snprintf(buf, len, "%s://%s", scheme, listen);
}

/* The labels of g's nodes, JSON: the forced two, then the group's. */
void
groups_node_labels(const struct nodegroup *g, char *buf, size_t len)
{
	json_t *arr = json_array(), *own = json_loads(g->labels, 0, NULL), *v;
	char l[128], *text;
	size_t i;

	json_array_append_new(arr, json_string("ephemeral=true"));
	snprintf(l, sizeof l, "berth.group=%s", g->name);
	json_array_append_new(arr, json_string(l));
	json_array_foreach(own, i, v)
		if (json_is_string(v))
			json_array_append(arr, v);
	json_decref(own);
	text = json_dumps(arr, JSON_COMPACT);
	snprintf(buf, len, "%s", text);
	free(text);
	json_decref(arr);
}

void
groups_req(struct groups_ctx *c, const struct nodegroup *g,
    const struct machine *mc, enum provider_op op, struct provider_req *r)
{
	memset(r, 0, sizeof *r);
	r->op = op;
	r->grid_id = c->grid_id;
	r->group_id = g->id;
	snprintf(r->grid, sizeof r->grid, "%s", c->grid);
	snprintf(r->group, sizeof r->group, "%s", g->name);
	r->settings = g->settings;
	r->count = 1;
	if (mc != NULL) {
		r->machine_id = mc->id;
		snprintf(r->machine, sizeof r->machine, "%s", mc->name);
		snprintf(r->provider_id, sizeof r->provider_id, "%s",
		    mc->provider_id);
		snprintf(r->data_dir, sizeof r->data_dir, "%s", mc->data_dir);
		r->since_ms = c->now - mc->state_at;
	}
}

struct machine *
groups_machine(struct groups_ctx *c, int64_t id)
{
	size_t i;

	for (i = 0; i < c->nmach; i++)
		if (c->mach[i].id == id)
			return &c->mach[i];
	return NULL;
}

/* 1 while a call for mc is on the provider threads (or cooling down). */
int
groups_busy(struct groups_ctx *c, const struct machine *mc)
{
	return c->m->providers != NULL &&
	    provider_worker_busy(c->m->providers, mc->group_id, mc->id);
}

/*
 * Make a call: in place for a provider that is quick (process), or when
 * there are no provider threads (unit tests); else queued, its result
 * applied by a later round.
 */
void
groups_call(struct groups_ctx *c, const struct provider *p,
    struct provider_req *req)
{
	struct provider_res res;

	if (p->async && c->m->providers != NULL) {
		provider_worker_queue(c->m->providers, p, req);
		explicit_bzero(req->token, sizeof req->token);
		return;
	}
	provider_call(p, req, &res);
	explicit_bzero(req->token, sizeof req->token);
	groups_apply(c, &res);
	provider_res_clear(&res);
}

/* Back the group off after a failure: 1 backoff, doubling, to the max. */
void
groups_backoff(struct nodegroup *g, int64_t now)
{
	int64_t b = g->backoff_s > 0 ? g->backoff_s * 2 : g->settings.backoff_s;

	if (b > g->settings.backoff_max_s)
		b = g->settings.backoff_max_s;
	if (b < g->settings.backoff_s)
		b = g->settings.backoff_s;
	g->backoff_s = b;
	g->backoff_until = now + b * 1000;
	g->last_failure_at = now;
}

/*
 * A machine failed to start or join: `to` (terminating, or failed when
 * the provider made nothing), with its event and the group's backoff, in
 * one transaction.
 */
int
groups_fail(struct groups_ctx *c, struct machine *mc, const char *from,
    const char *to, const char *type, const char *why)
{
	struct nodegroup *g = groups_find(c, mc->group_id);
	char b[32];

	if (g == NULL || store_begin(c->st) != 0)
		return -1;
	groups_backoff(g, c->now);
	if (store_machine_state(c->st, mc->id, from, to, why, c->now) != 1 ||
	    store_event_add(c->st, c->grid_id, type, mc->name, "machine %s: %s",
	    mc->name, why) != 0 ||
	    store_nodegroup_marks(c->st, g) != 0 ||
	    store_event_add(c->st, c->grid_id, "nodegroup.backoff", g->name,
	    "group %s: no launch for %s after machine %s failed", g->name,
	    groups_dur(g->backoff_s, b, sizeof b), mc->name) != 0 ||
	    store_commit(c->st) != 0) {
		store_rollback(c->st);
		return -1;
	}
	group_stats_add(g->id, GROUP_STAT_FAILURE, 1);
	snprintf(mc->state, sizeof mc->state, "%s", to);
	snprintf(mc->reason, sizeof mc->reason, "%s", why);
	mc->state_at = c->now;
	log_warn("groups: grid %s: machine %s: %s; group %s backs off %llds",
	    c->grid, mc->name, why, g->name, (long long)g->backoff_s);
	return 0;
}

/*
 * A group-level provider's target (aws-asg): the machines the group
 * should have now, every row but those gone or failed. An absolute
 * number, so a call repeated after a crash launches nothing twice.
 */
int
groups_target(struct groups_ctx *c, const struct nodegroup *g)
{
	size_t i;
	int n = 0;

	for (i = 0; i < c->nmach; i++)
		if (c->mach[i].group_id == g->id &&
		    strcmp(c->mach[i].state, "gone") != 0 &&
		    strcmp(c->mach[i].state, "failed") != 0)
			n++;
	return n;
}

/*
 * A plan request waits here until the scheduler thread's next round of
 * its grid answers it. One list for the process (one master).
 */
struct groups_plan_req {
	int64_t			 grid_id;
	char			*answer;	/* set by the round: JSON text
						 * (no jansson value crosses
						 * threads) */
	struct groups_plan_req	*next;
};

static pthread_mutex_t groups_plan_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t groups_plan_cond = PTHREAD_COND_INITIALIZER;
static struct groups_plan_req *groups_plan_reqs;

json_t *
sched_groups_plan(struct master *m, int64_t grid_id, int64_t timeout_ms)
{
	struct groups_plan_req req = { grid_id, NULL, NULL }, **pp;
	struct timespec ts;
	json_t *answer;
	char *text;

	pthread_mutex_lock(&groups_plan_lock);
	req.next = groups_plan_reqs;
	groups_plan_reqs = &req;
	pthread_mutex_unlock(&groups_plan_lock);
	master_changed_grid(m, grid_id);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&groups_plan_lock);
	while (req.answer == NULL)
		if (pthread_cond_timedwait(&groups_plan_cond,
		    &groups_plan_lock, &ts) != 0)
			break;
	for (pp = &groups_plan_reqs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == &req) {
			*pp = req.next;
			break;
		}
	text = req.answer;
	pthread_mutex_unlock(&groups_plan_lock);
	if (text == NULL)
		return NULL;
	answer = json_loads(text, 0, NULL);
	free(text);
	return answer;
}

/* 1 when someone waits for a plan of grid_id. */
static int
groups_plan_wanted(int64_t grid_id)
{
	struct groups_plan_req *r;
	int want = 0;

	pthread_mutex_lock(&groups_plan_lock);
	for (r = groups_plan_reqs; r != NULL; r = r->next)
		if (r->grid_id == grid_id && r->answer == NULL)
			want = 1;
	pthread_mutex_unlock(&groups_plan_lock);
	return want;
}

/* Answer every request for grid_id with plan (taken). */
static void
groups_plan_answer(int64_t grid_id, json_t *plan)
{
	struct groups_plan_req *r;
	char *text = json_dumps(plan, JSON_COMPACT);

	json_decref(plan);
	pthread_mutex_lock(&groups_plan_lock);
	for (r = groups_plan_reqs; r != NULL; r = r->next)
		if (r->grid_id == grid_id && r->answer == NULL)
			r->answer = xstrdup(text);
	pthread_cond_broadcast(&groups_plan_cond);
	pthread_mutex_unlock(&groups_plan_lock);
	free(text);
}

/* ---- the round ----------------------------------------------------------- */

/* Results of the provider threads for this grid, applied. */
static void
groups_results(struct groups_ctx *c)
{
	struct provider_res *res;
	size_t i, n;

	if (c->m->providers == NULL)
		return;
	n = provider_worker_take(c->m->providers, c->grid_id, &res);
	for (i = 0; i < n; i++) {
		groups_apply(c, &res[i]);
		provider_res_clear(&res[i]);
	}
	free(res);
}

/* One pass: real (c->dry 0) or a plan (c->dry 1, decisions listed). */
static void
groups_pass(struct groups_ctx *c, const struct sched_plan *plan,
    uint64_t seed, char **nofit, int *standing, json_t *waiting)
{
	int growing;

	if (!c->dry)
		group_stats_demand(c->grid_id, groups_plan_demand(plan));
	groups_lifecycle(c, plan->stand_down);
	/* While the safety rule stands down, neither way (a partitioned
	 * master must not double the fleet nor cut it): said once. */
	if (plan->stand_down) {
		groups_decide(c, NULL, "stand_down", NULL, 0, "node groups "
		    "launch and terminate nothing while the scheduler stands "
		    "down (most nodes unreachable at once)");
		if (!c->dry && !*standing)
			store_event_add(c->st, c->grid_id,
			    "nodegroup.stand_down", c->grid, "node groups "
			    "launch and terminate nothing while the scheduler "
			    "stands down (most nodes unreachable at once)");
		if (!c->dry)
			*standing = 1;
		return;
	}
	if (!c->dry) {
		*standing = 0;
		groups_list_due(c);
	}
	/*
	 * New demand a scale-in drain's node could take cancels the drain,
	 * and nothing is launched this round (the node takes it next).
	 */
	if (!c->dry && sched_drain_cancel_for_demand(c->m, c->st, c->grid_id,
	    c->s, groups_plan_demand(plan), seed) > 0)
		return;
	/* Scale-in waits while demand is being served by new machines. */
	growing = groups_scale_up(c, plan, seed, nofit, waiting);
	groups_scale_in(c, growing);
}

static int
groups_load(struct groups_ctx *c)
{
	size_t k;

	if (store_nodegroup_list(c->st, c->grid_id, &c->groups,
	    &c->ngroups) != 0) {
		log_error("groups: grid %s: %s", c->grid, store_errmsg(c->st));
		return -1;
	}
	if (c->ngroups > 0 && store_machine_list(c->st, c->grid_id, 0,
	    &c->mach, &c->nmach) != 0) {
		log_error("groups: grid %s: machines: %s", c->grid,
		    store_errmsg(c->st));
		return -1;
	}
	/*
	 * A node the store has seen measured may not be in the scheduler's
	 * view yet (its change is synced in a later round). Sizing reads
	 * the view, so until it is there the machine still counts as on its
	 * way: else the round sizes a machine too many for its demand.
	 */
	for (k = 0; c->s != NULL && k < c->nmach; k++)
		if (c->mach[k].node_measured && c->mach[k].node_id[0] != '\0' &&
		    !sched_node_measured(c->s, c->mach[k].node_id))
			c->mach[k].node_measured = 0;
	return 0;
}

static void
groups_unload(struct groups_ctx *c)
{
	free(c->groups);
	free(c->mach);
	c->groups = NULL;
	c->mach = NULL;
	c->ngroups = c->nmach = 0;
}

/* The plan's answer: every group's state and the decisions. */
static json_t *
groups_plan_json(struct groups_ctx *c, json_t *decisions)
{
	json_t *groups = json_array(), *o;
	char t[40];
	size_t i, k;
	int size;

	for (i = 0; i < c->ngroups; i++) {
		size = 0;
		for (k = 0; k < c->nmach; k++)
			if (c->mach[k].group_id == c->groups[i].id &&
			    (strcmp(c->mach[k].state, "requested") == 0 ||
			    strcmp(c->mach[k].state, "launching") == 0 ||
			    strcmp(c->mach[k].state, "joined") == 0))
				size++;
		o = json_pack("{s:s, s:s, s:i, s:I, s:I, s:b, s:b}", "name",
		    c->groups[i].name, "provider", c->groups[i].provider,
		    "size", size, "min", (json_int_t)c->groups[i].settings.min,
		    "max", (json_int_t)c->groups[i].settings.max, "paused",
		    c->groups[i].settings.paused, "dry_run",
		    c->groups[i].settings.dry_run);
		if (c->groups[i].backoff_until > c->now) {
			util_iso8601(c->groups[i].backoff_until, t, sizeof t);
			json_object_set_new(o, "backoff_until", json_string(t));
		}
		json_array_append_new(groups, o);
	}
	util_iso8601(c->now, t, sizeof t);
	return json_pack("{s:s, s:s, s:o, s:o}", "grid", c->grid, "at", t,
	    "groups", groups, "decisions", decisions);
}

void
sched_groups_round(struct master *m, struct store *st, int64_t grid_id,
    const char *grid, const struct grid_settings *gs, struct sched *s,
    const struct sched_plan *plan, uint64_t seed, char **nofit,
    int *standing, json_t *memo, json_t *waiting)
{
	struct groups_ctx c;
	json_t *decisions, *scratch;
	char *nofit_copy;
	int standing_copy;

	memset(&c, 0, sizeof c);
	c.m = m;
	c.st = st;
	c.grid_id = grid_id;
	c.grid = grid;
	c.gs = gs;
	c.s = s;
	c.memo = memo;
	c.now = util_now_ms();
	if (groups_load(&c) != 0)
		goto out;
	/* A plan first, if asked for: what this round is about to do. */
	if (groups_plan_wanted(grid_id)) {
		c.dry = 1;
		c.decisions = decisions = json_array();
		nofit_copy = NULL;
		standing_copy = *standing;
		scratch = json_object();
		if (c.ngroups > 0)
			groups_pass(&c, plan, seed, &nofit_copy,
			    &standing_copy, scratch);
		json_decref(scratch);
		free(nofit_copy);
		groups_plan_answer(grid_id, groups_plan_json(&c, decisions));
		c.dry = 0;
		c.decisions = NULL;
		groups_unload(&c);
		if (groups_load(&c) != 0)
			goto out;
	}
	if (c.ngroups == 0)
		goto out;
	groups_results(&c);
	groups_joins(&c);
	groups_pass(&c, plan, seed, nofit, standing, waiting);
out:
	groups_unload(&c);
}
