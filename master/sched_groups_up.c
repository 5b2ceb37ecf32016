/*
 * sched_groups_up.c - node groups: demand sized with the real planner,
 * the grid's limits, and scale-up (docs/autoscaling.md, "Scale-up").
 */
#include "master/sched_groups_int.h"

/* Demand in a plan: ha/random numbers not placed, tasks no node takes. */
int
groups_plan_demand(const struct sched_plan *p)
{
	size_t i;
	int n = 0;

	n += (int)p->nunplaceable;	/* daemons are filtered by sizing */
	for (i = 0; i < p->nqueued; i++)
		if (p->queued[i].why != SCHED_QUEUE_BACKOFF)
			n++;
	return n;
}

/* Write n requested machines of g with the scale-up event. */
static int
groups_request(struct groups_ctx *c, struct nodegroup *g, int n,
    const char *why)
{
	struct machine mc;
	int k;

	if (n <= 0)
		return 0;
	groups_decide(c, g, "launch", NULL, n, "%s", why);
	if (!groups_acts(c, g))
		return 1;
	if (store_begin(c->st) != 0)
		return -1;
	for (k = 0; k < n; k++)
		if (store_machine_add(c->st, g, c->now, &mc) != 0)
			goto fail;
	g->last_add_at = c->now;
	if (store_nodegroup_marks(c->st, g) != 0 ||
	    store_event_add(c->st, c->grid_id, "nodegroup.scale_up", g->name,
	    "group %s: launching %d machine%s: %s", g->name, n, n == 1 ? "" :
	    "s", why) != 0 || store_commit(c->st) != 0)
		goto fail;
	group_stats_add(g->id, GROUP_STAT_SCALE_UP, 1);
	group_stats_add(g->id, GROUP_STAT_LAUNCH, n);
	log_info("groups: grid %s: group %s: %d machine(s): %s", c->grid,
	    g->name, n, why);
	return 0;
fail:
	store_rollback(c->st);
	return -1;
}

/*
 * The grid's limits: how many more machines may be launched now, by
 * nodes, launches in the last hour and cost (INT_MAX: no limit), and
 * what they are at.
 */
struct groups_budget {
	int		 nodes_left;
	int		 launches_left;
	int64_t		 cost_left;	/* INT64_MAX: no limit */
	int		 nodes;		/* node records + machines on the way */
	int		 launches;	/* launched in the last hour + requested */
	int64_t		 cost;		/* of every machine not gone */
	const char	*hit;		/* the first limit that cut a launch */
	char		 hit_why[200];
};

static void
groups_budget(struct groups_ctx *c, struct groups_budget *b)
{
	struct nodegroup *g;
	int requested = 0, onway = 0, n;
	size_t k;

	memset(b, 0, sizeof *b);
	for (k = 0; k < c->nmach; k++) {
		if (strcmp(c->mach[k].state, "gone") == 0)
			continue;
		if (strcmp(c->mach[k].state, "requested") == 0)
			requested++;
		if (strcmp(c->mach[k].state, "requested") == 0 ||
		    strcmp(c->mach[k].state, "launching") == 0 ||
		    (strcmp(c->mach[k].state, "joined") != 0 &&
		    !c->mach[k].node_exists))
			onway++;
		if ((g = groups_find(c, c->mach[k].group_id)) != NULL)
			b->cost += g->settings.cost_per_hour;
	}
	n = store_grid_node_count(c->st, c->grid_id);
	b->nodes = (n > 0 ? n : 0) + onway;
	n = store_machine_launches_since(c->st, c->grid_id,
	    c->now - 3600 * 1000);
	b->launches = (n > 0 ? n : 0) + requested;
	b->nodes_left = c->gs->max_nodes_total > 0 ?
	    (int)(c->gs->max_nodes_total - b->nodes) : INT_MAX;
	b->launches_left = c->gs->max_launches_per_hour > 0 ?
	    (int)(c->gs->max_launches_per_hour - b->launches) : INT_MAX;
	b->cost_left = c->gs->max_cost_per_hour > 0 ?
	    c->gs->max_cost_per_hour - b->cost : INT64_MAX;
	if (b->nodes_left < 0)
		b->nodes_left = 0;
	if (b->launches_left < 0)
		b->launches_left = 0;
	if (b->cost_left < 0)
		b->cost_left = 0;
}

/* At most n of g within the budget; which limit cut it in b->hit. */
static int
groups_budget_cap(struct groups_ctx *c, struct groups_budget *b,
    const struct nodegroup *g, int n)
{
	int64_t by_cost;

	if (n > b->nodes_left) {
		n = b->nodes_left;
		if (b->hit == NULL) {
			b->hit = "max_nodes_total";
			snprintf(b->hit_why, sizeof b->hit_why, "the grid's "
			    "max_nodes_total of %lld holds launches back (%d "
			    "nodes and machines on their way, %d more allowed)",
			    (long long)c->gs->max_nodes_total, b->nodes,
			    b->nodes_left);
		}
	}
	if (n > b->launches_left) {
		n = b->launches_left;
		if (b->hit == NULL) {
			b->hit = "max_launches_per_hour";
			snprintf(b->hit_why, sizeof b->hit_why, "the grid's "
			    "max_launches_per_hour of %lld holds launches back "
			    "(%d launched in the last hour, %d more allowed)",
			    (long long)c->gs->max_launches_per_hour,
			    b->launches, b->launches_left);
		}
	}
	if (g->settings.cost_per_hour > 0 && b->cost_left != INT64_MAX) {
		by_cost = b->cost_left / g->settings.cost_per_hour;
		if (n > by_cost) {
			n = (int)by_cost;
			if (b->hit == NULL) {
				b->hit = "max_cost_per_hour";
				snprintf(b->hit_why, sizeof b->hit_why, "the "
				    "grid's max_cost_per_hour of %lld holds "
				    "launches back (%lld per hour now, %lld "
				    "more for a machine of %s)",
				    (long long)c->gs->max_cost_per_hour,
				    (long long)b->cost,
				    (long long)g->settings.cost_per_hour,
				    g->name);
			}
		}
	}
	return n > 0 ? n : 0;
}

/* Spend n machines of g from the budget. */
static void
groups_budget_take(struct groups_budget *b, const struct nodegroup *g, int n)
{
	if (b->nodes_left != INT_MAX)
		b->nodes_left -= n;
	if (b->launches_left != INT_MAX)
		b->launches_left -= n;
	if (b->cost_left != INT64_MAX)
		b->cost_left -= (int64_t)n * g->settings.cost_per_hour;
	b->nodes += n;
	b->launches += n;
	b->cost += (int64_t)n * g->settings.cost_per_hour;
}

/* Why g launches nothing now, or NULL. */
static const char *
groups_blocked(struct groups_ctx *c, const struct nodegroup *g, char *buf,
    size_t len)
{
	char b[32];

	if (g->settings.paused)
		return "the group is paused";
	if (!nodegroup_provider_available(g->provider) ||
	    provider_find(g->provider) == NULL)
		return "its provider is not available";
	if (g->backoff_until > c->now) {
		snprintf(buf, len, "backing off for %s more after a failure",
		    groups_dur((g->backoff_until - c->now + 999) / 1000, b,
		    sizeof b));
		return buf;
	}
	return NULL;
}

/*
 * What the services in waiting wait for, as their deploys say it: the
 * machines on their way, by group ("2 nodes of burst-a"), since the
 * oldest's launch, against its group's provision timeout.
 */
static void
groups_waiting_desc(struct groups_ctx *c, json_t *waiting)
{
	const struct machine *mc, *oldest = NULL;
	const struct nodegroup *g;
	struct buf b = { 0 };
	const char *key;
	json_t *desc;
	void *tmp;
	json_t *v;
	size_t i, k;
	int n, parts = 0;

	if (json_object_size(waiting) == 0)
		return;
	for (i = 0; i < c->ngroups; i++) {
		n = 0;
		for (k = 0; k < c->nmach; k++) {
			mc = &c->mach[k];
			if (mc->group_id != c->groups[i].id ||
			    !(strcmp(mc->state, "requested") == 0 ||
			    strcmp(mc->state, "launching") == 0 ||
			    (strcmp(mc->state, "joined") == 0 &&
			    !mc->node_measured)))
				continue;
			n++;
			if (oldest == NULL || mc->created_at < oldest->created_at)
				oldest = mc;
		}
		if (n > 0)
			buf_printf(&b, "%s%d node%s of %s", parts++ > 0 ?
			    " and " : "", n, n == 1 ? "" : "s",
			    c->groups[i].name);
	}
	if (oldest == NULL || (g = groups_find(c, oldest->group_id)) == NULL) {
		buf_free(&b);
		return;
	}
	desc = json_pack("{s:s, s:I, s:I}", "text", b.data, "since",
	    (json_int_t)oldest->created_at, "timeout_s",
	    (json_int_t)g->settings.provision_timeout_s);
	json_object_foreach_safe(waiting, tmp, key, v)
		json_object_set(waiting, key, desc);
	json_decref(desc);
	buf_free(&b);
}

/* A joined machine whose node is up and holds nothing but daemons. */
int
groups_idle(const struct machine *mc)
{
	return strcmp(mc->state, "joined") == 0 && mc->node_exists &&
	    mc->node_online && mc->node_measured && !mc->node_busy &&
	    !mc->node_jobs && !mc->node_draining;
}

/*
 * A group that could take demand but has no node template (cpus 0, none
 * learned yet): a plan's decision line each round, and one
 * nodegroup.no_template event while it holds (on is 0 once it no longer
 * does).
 */
static void
groups_no_template(struct groups_ctx *c, const struct nodegroup *g, int on)
{
	char key[96];

	snprintf(key, sizeof key, "no_template:%s", g->name);
	if (!on) {
		if (!c->dry && c->memo != NULL)
			json_object_del(c->memo, key);
		return;
	}
	if (c->decisions != NULL)
		groups_decide(c, g, "wait", NULL, 0, "no node template: cpus "
		    "not set and no node of the group joined yet to learn it "
		    "from; it cannot scale from zero (berth nodegroup set %s "
		    "cpus=N, or min=1)", g->name);
	if (c->dry || c->memo == NULL || json_object_get(c->memo, key) != NULL)
		return;
	store_event_add(c->st, c->grid_id, "nodegroup.no_template", g->name,
	    "node group %s cannot scale from zero: its node template is not "
	    "set (cpus 0) and no node of it joined yet to learn it from; set "
	    "it (berth nodegroup set %s cpus=N memory=SIZE) or keep min=1",
	    g->name, g->name);
	log_warn("groups: grid %s: group %s has no node template", c->grid,
	    g->name);
	json_object_set_new(c->memo, key, json_true());
}

/* 1 when this round launched machines or counts on those on their way. */
int
groups_scale_up(struct groups_ctx *c, const struct sched_plan *plan,
    uint64_t seed, char **nofit, json_t *waiting)
{
	struct sched_size_group *sg;
	struct sched_size_result r;
	struct groups_budget bud;
	struct machine *mc;
	struct nodegroup *g;
	char ***labels, *cause = NULL, why[600], bbuf[128];
	const char *blocked;
	size_t *nlabels, i, k;
	int *launch, *all, *live, *upcoming, *idle, *used, *notmpl, demand;
	int any = 0;
	int min_launch;
	int busy = 0, n, want;
	json_t *arr, *v;
	const char *old;

	sg = xcalloc(c->ngroups + 1, sizeof *sg);
	labels = xcalloc(c->ngroups + 1, sizeof *labels);
	nlabels = xcalloc(c->ngroups + 1, sizeof *nlabels);
	launch = xcalloc(c->ngroups + 1, sizeof *launch);
	all = xcalloc(c->ngroups + 1, sizeof *all);
	live = xcalloc(c->ngroups + 1, sizeof *live);
	upcoming = xcalloc(c->ngroups + 1, sizeof *upcoming);
	idle = xcalloc(c->ngroups + 1, sizeof *idle);
	used = xcalloc(c->ngroups + 1, sizeof *used);
	notmpl = xcalloc(c->ngroups + 1, sizeof *notmpl);
	groups_budget(c, &bud);
	for (k = 0; k < c->nmach; k++) {
		mc = &c->mach[k];
		for (i = 0; i < c->ngroups; i++)
			if (c->groups[i].id == mc->group_id)
				break;
		if (i == c->ngroups || strcmp(mc->state, "gone") == 0)
			continue;
		all[i]++;
		if (strcmp(mc->state, "requested") == 0 ||
		    strcmp(mc->state, "launching") == 0 ||
		    (strcmp(mc->state, "joined") == 0 && !mc->node_measured))
			upcoming[i]++;
		if (strcmp(mc->state, "requested") == 0 ||
		    strcmp(mc->state, "launching") == 0 ||
		    strcmp(mc->state, "joined") == 0)
			live[i]++;
		if (groups_idle(mc))
			idle[i]++;
	}
	/* Groups below min (+ spare) launch without demand. */
	for (i = 0; i < c->ngroups; i++) {
		g = &c->groups[i];
		want = (int)(g->settings.min + g->settings.spare) - live[i];
		if (want > (int)g->settings.max - all[i])
			want = (int)g->settings.max - all[i];
		if (want <= 0)
			continue;
		if ((blocked = groups_blocked(c, g, bbuf, sizeof bbuf)) !=
		    NULL) {
			if (c->decisions != NULL)
				groups_decide(c, g, "wait", NULL, 0, "below its "
				    "min of %lld%s, but %s",
				    (long long)g->settings.min,
				    g->settings.spare > 0 ? " plus its spare" :
				    "", blocked);
			continue;
		}
		min_launch = groups_budget_cap(c, &bud, g, want);
		snprintf(why, sizeof why, "below its min of %lld%s",
		    (long long)g->settings.min, g->settings.spare > 0 ?
		    " plus its spare" : "");
		if (min_launch > 0 && groups_request(c, g, min_launch,
		    why) >= 0) {
			groups_budget_take(&bud, g, min_launch);
			all[i] += min_launch;
			upcoming[i] += min_launch;
			any = 1;
		}
	}
	demand = groups_plan_demand(plan);
	if (demand == 0) {
		free(*nofit);
		*nofit = NULL;
		goto limits;
	}
	for (i = 0; i < c->ngroups; i++) {
		g = &c->groups[i];
		arr = json_loads(g->labels, 0, NULL);
		labels[i] = xcalloc(json_array_size(arr) + 3, sizeof **labels);
		xasprintf(&labels[i][nlabels[i]++], "ephemeral=true");
		xasprintf(&labels[i][nlabels[i]++], "berth.group=%s", g->name);
		json_array_foreach(arr, k, v)
			if (json_is_string(v))
				labels[i][nlabels[i]++] =
				    xstrdup(json_string_value(v));
		json_decref(arr);
		sg[i].name = g->name;
		sg[i].labels = (const char *const *)labels[i];
		sg[i].nlabels = nlabels[i];
		sg[i].cpus = (double)g->settings.cpus;
		sg[i].memory = g->settings.memory;
		sg[i].upcoming = upcoming[i];
		sg[i].headroom = (int)g->settings.max - all[i];
		if (sg[i].headroom < 0 || groups_blocked(c, g, bbuf,
		    sizeof bbuf) != NULL)
			sg[i].headroom = 0;
		/*
		 * No template (docs/autoscaling.md): a new node of the group
		 * cannot be sized, so the group takes no demand until its
		 * cpus are set or learned from its first node (min).
		 */
		if (g->settings.cpus == 0 && sg[i].headroom > 0) {
			sg[i].headroom = 0;
			notmpl[i] = 1;
		}
		/* The grid's limits, as far as this group alone goes. */
		if (sg[i].headroom > 0) {
			struct groups_budget probe = bud;

			sg[i].headroom = groups_budget_cap(c, &probe, g,
			    sg[i].headroom);
			if (probe.hit != NULL && bud.hit == NULL) {
				bud.hit = probe.hit;
				snprintf(bud.hit_why, sizeof bud.hit_why, "%s",
				    probe.hit_why);
			}
		}
		if (c->decisions != NULL && (blocked = groups_blocked(c, g,
		    bbuf, sizeof bbuf)) != NULL)
			groups_decide(c, g, "wait", NULL, 0, "%s", blocked);
	}
	memset(&r, 0, sizeof r);
	r.launch = launch;
	r.upcoming_used = used;
	if (sched_size(c->s, sg, c->ngroups, c->now, seed, &r, &cause) != 0) {
		log_error("groups: grid %s: sizing: %s", c->grid, cause);
		free(cause);
		goto limits;
	}
	busy = r.served > 0;
	for (k = 0; k < r.nservices; k++) {
		char key[32];

		snprintf(key, sizeof key, "%lld", (long long)r.services[k]);
		json_object_set_new(waiting, key, json_true());
	}
	free(r.services);
	for (i = 0; i < c->ngroups; i++) {
		if (launch[i] <= 0)
			continue;
		/* Groups one after the other share the grid's budget. */
		n = groups_budget_cap(c, &bud, &c->groups[i], launch[i]);
		if (n <= 0)
			continue;
		snprintf(why, sizeof why, "%d of %d instance(s) or task(s) "
		    "waiting for a node fit on them (sized with %d plan(s))",
		    r.served, r.demand, r.plans);
		if (groups_request(c, &c->groups[i], n, why) >= 0) {
			groups_budget_take(&bud, &c->groups[i], n);
			any = 1;
		}
	}
	/*
	 * What no group serves: one event while the reason holds. When a
	 * grid limit held launches back, that is the reason (below).
	 */
	if (r.unserved != NULL && bud.hit == NULL) {
		if (c->decisions != NULL)
			groups_decide(c, NULL, "no_fit", NULL, 0, "%d "
			    "instance(s) or task(s) no node group can serve: "
			    "%s", r.demand - r.served, r.unserved);
		if (!c->dry && (*nofit == NULL ||
		    strcmp(*nofit, r.unserved) != 0)) {
			store_event_add(c->st, c->grid_id, "nodegroup.no_fit",
			    c->grid, "%d instance(s) or task(s) no node group "
			    "can serve: %s", r.demand - r.served, r.unserved);
			free(*nofit);
			*nofit = r.unserved;
			r.unserved = NULL;
		}
	} else if (r.unserved == NULL && !c->dry) {
		free(*nofit);
		*nofit = NULL;
	}
	/* Demand left while a group lacks its template: said once. */
	for (i = 0; i < c->ngroups; i++)
		groups_no_template(c, &c->groups[i], notmpl[i] &&
		    r.served < r.demand);
	free(r.unserved);
limits:
	/*
	 * Spare: warm idle nodes beyond demand. Machines on their way that
	 * sizing put no demand on will be idle and count; those this round
	 * launched for demand will not.
	 */
	for (i = 0; i < c->ngroups; i++) {
		g = &c->groups[i];
		want = (int)g->settings.spare - idle[i] - (upcoming[i] -
		    used[i]);
		if (want > (int)g->settings.max - all[i] - launch[i])
			want = (int)g->settings.max - all[i] - launch[i];
		if (want <= 0 || groups_blocked(c, g, bbuf, sizeof bbuf) !=
		    NULL)
			continue;
		n = groups_budget_cap(c, &bud, g, want);
		snprintf(why, sizeof why, "%d idle node(s) and %d more on the "
		    "way, below its spare of %lld", idle[i], upcoming[i] -
		    used[i], (long long)g->settings.spare);
		if (n > 0 && groups_request(c, g, n, why) >= 0) {
			groups_budget_take(&bud, g, n);
			any = 1;
		}
	}
	/* A limit that held a launch back: one event while it holds. */
	old = c->memo != NULL ? json_string_value(json_object_get(c->memo,
	    "limit")) : NULL;
	if (bud.hit != NULL) {
		groups_decide(c, NULL, "limit", NULL, 0, "launches stopped: %s",
		    bud.hit_why);
		if (!c->dry && c->memo != NULL && (old == NULL ||
		    strcmp(old, bud.hit) != 0)) {
			store_event_add(c->st, c->grid_id, "nodegroup.limit",
			    c->grid, "node groups launch no more: %s",
			    bud.hit_why);
			log_warn("groups: grid %s: limit: %s", c->grid,
			    bud.hit_why);
			json_object_set_new(c->memo, "limit",
			    json_string(bud.hit));
		}
	} else if (!c->dry && c->memo != NULL && old != NULL)
		json_object_del(c->memo, "limit");
	if (any && !c->dry) {
		/* Launch what was written. */
		free(c->mach);
		c->mach = NULL;
		if (store_machine_list(c->st, c->grid_id, 0, &c->mach,
		    &c->nmach) == 0)
			for (k = 0; k < c->nmach; k++)
				if (strcmp(c->mach[k].state, "requested") == 0)
					groups_launch(c, &c->mach[k]);
	}
	if (!c->dry)
		groups_waiting_desc(c, waiting);
	for (i = 0; i < c->ngroups; i++) {
		for (k = 0; k < nlabels[i]; k++)
			free(labels[i][k]);
		free(labels[i]);
	}
	free(labels);
	free(nlabels);
	free(sg);
	free(launch);
	free(all);
	free(live);
	free(upcoming);
	free(idle);
	free(used);
	free(notmpl);
	return busy || any;
}

/* ---- scale-in ---------------------------------------------------------- */
