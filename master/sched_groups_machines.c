/*
 * sched_groups_machines.c - node groups: provider calls and their
 * results, and each machine's lifecycle (launch, join, timeout, orphans,
 * terminate, forget); docs/autoscaling.md, "Machines".
 */
#include "master/sched_groups_int.h"

/* requested -> launching: mint its join token, then the provider. */
void
groups_launch(struct groups_ctx *c, struct machine *mc)
{
	struct nodegroup *g = groups_find(c, mc->group_id);
	const struct provider *p;
	struct provider_req *req;
	char dir[sizeof mc->data_dir];
	unsigned char hash[TOKEN_HASH_LEN];
	int rc;

	if (g == NULL || (p = provider_find(g->provider)) == NULL)
		return;
	if (!groups_acts(c, g) || g->settings.paused) {
		groups_decide(c, g, "launch", mc->name, 0, "requested %s",
		    g->settings.paused ? "(the group is paused)" :
		    "and not launched yet");
		return;
	}
	dir[0] = '\0';
	if (p == &provider_process || p == &provider_docker) {
		if (snprintf(dir, sizeof dir, "%s/machines",
		    c->m->cfg.data_dir) >= (int)sizeof dir - 70)
			return;	/* a data dir path of 440 bytes: refused */
		(void)mkdir(dir, 0700);
		snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s",
		    mc->name);
	}
	req = xmalloc(sizeof *req);
	groups_req(c, g, mc, PROVIDER_CREATE, req);
	token_new(req->token);
	token_hash(req->token, hash);
	/* The row first: a crash after it leaves a launching machine that
	 * times out (and is deleted by name). */
	if (store_begin(c->st) != 0)
		goto out;
	rc = store_machine_launching(c->st, mc->id, hash, dir, c->now);
	if (rc != 1 || store_event_add(c->st, c->grid_id, "machine.launch",
	    mc->name, "launching machine %s of group %s (%s)", mc->name,
	    g->name, g->provider) != 0 || store_commit(c->st) != 0) {
		store_rollback(c->st);
		goto out;
	}
	snprintf(mc->state, sizeof mc->state, "launching");
	snprintf(mc->data_dir, sizeof mc->data_dir, "%s", dir);
	snprintf(req->data_dir, sizeof req->data_dir, "%s", dir);
	mc->state_at = c->now;
	groups_agent_path(c, g, req->agent, sizeof req->agent);
	groups_agent_url(c, g, req->url, sizeof req->url);
	if (c->m->tls.on)
		snprintf(req->pin, sizeof req->pin, "%s", c->m->tls.pin);
	groups_node_labels(g, req->labels, sizeof req->labels);
	if (p->join == PROVIDER_JOIN_INSTANCE)
		req->count = groups_target(c, g);
	groups_call(c, p, req);
out:
	explicit_bzero(req->token, sizeof req->token);
	free(req);
}

/*
 * Forget a machine whose instance is gone: its node record (with its
 * instance records) and its row, with a machine.terminate event, in one
 * transaction; then its agent's session is closed.
 */
static void
groups_forget(struct groups_ctx *c, struct machine *mc, const char *how)
{
	char name[64];
	int rc = 0;

	if (store_begin(c->st) != 0)
		return;
	if (mc->node_id[0] != '\0')
		rc = store_node_remove(c->st, mc->node_id, name);
	if (rc < 0 || store_machine_delete(c->st, mc->id) != 0 ||
	    store_event_add(c->st, c->grid_id, "machine.terminate", mc->name,
	    "machine %s terminated (%s)%s%s", mc->name, mc->reason, how,
	    rc == 1 ? "; its node record is removed" : "") != 0 ||
	    store_commit(c->st) != 0) {
		store_rollback(c->st);
		return;
	}
	log_info("groups: grid %s: machine %s terminated", c->grid, mc->name);
	if (rc == 1) {
		master_kick_node(c->m, mc->node_id, PROTO_CLOSE_NODE_REMOVED);
		sched_sync_node(c->st, c->s, c->grid_id, mc->node_id);
		master_nodes_touched(c->m);
	}
	snprintf(mc->state, sizeof mc->state, "gone");
}

/* terminating: the provider deletes it (again) until it is gone. */
void
groups_reap(struct groups_ctx *c, struct machine *mc)
{
	struct nodegroup *g = groups_find(c, mc->group_id);
	const struct provider *p;
	struct provider_req *req;

	if (g == NULL || (p = provider_find(g->provider)) == NULL ||
	    groups_busy(c, mc))
		return;
	/*
	 * Scale-in: its records are gone from the store as soon as the
	 * plan removed them, but its agent may still be stopping and
	 * removing their containers; deleting the machine then would leave
	 * them behind (orphans). So the node is deleted once its agent's
	 * stats say it owns no container, or stop_grace_s + 60 s after the
	 * machine began terminating, whichever comes first. An offline
	 * node waits too (its last count stands): after a master restart
	 * its agent reconnects and reports within seconds.
	 * Finished jobs' containers, which the agent keeps for
	 * job_retention_s (a day), are not waited for: node_containers
	 * leaves them out (store_nodegroup.c). A node that has not
	 * reported a count yet (-1: scaled in seconds after it joined, or
	 * across a master restart before its first stats) waits too:
	 * unknown is not none, and deleting it then left the containers
	 * its agent had not yet removed (tests/e2e/nodegroups_crash.sh).
	 * So does a node whose agent cannot see its engine: its count is
	 * from before, and its containers are not being removed.
	 */
	if (strcmp(mc->reason, "scale-in") == 0 &&
	    (mc->node_containers != 0 || mc->node_engine_down) &&
	    c->now - mc->state_at <
	    (g->settings.stop_grace_s + 60) * 1000) {
		if (c->decisions != NULL && mc->node_containers > 0 &&
		    !mc->node_engine_down)
			groups_decide(c, g, "wait", mc->name, 0, "terminating "
			    "once its agent has removed its %d container(s)",
			    mc->node_containers);
		else if (c->decisions != NULL && mc->node_engine_down)
			groups_decide(c, g, "wait", mc->name, 0, "terminating "
			    "once its agent sees its Docker Engine again and "
			    "has removed its containers");
		else if (c->decisions != NULL)
			groups_decide(c, g, "wait", mc->name, 0, "terminating "
			    "once its agent has said how many containers it "
			    "still has");
		return;
	}
	if (!groups_acts(c, g)) {
		groups_decide(c, g, "terminate", mc->name, 0, "%s",
		    mc->reason);
		return;
	}
	req = xmalloc(sizeof *req);
	groups_req(c, g, mc, PROVIDER_DELETE, req);
	groups_call(c, p, req);
	free(req);
}

static void groups_lost(struct groups_ctx *c, struct machine *mc,
    const char *why);
static void groups_listed_instances(struct groups_ctx *c,
    struct nodegroup *g, const struct provider *p,
    const struct provider_res *res);

/* A made-up machine id for an orphan's delete: negative, by its id. */
static int64_t
groups_orphan_id(const char *id)
{
	uint64_t h = 5381;

	for (; *id != '\0'; id++)
		h = h * 33 + (unsigned char)*id;
	return -1 - (int64_t)(h % 1000000000);
}

/*
 * What the provider has for g: an instance no machine row names is an
 * orphan (a master killed between a create and its answer, an operator's
 * leftover): deleted, with a machine.orphan event. A joined machine
 * whose instance is not listed is lost. Nothing is judged while a
 * machine of g is on its way without an id yet (its create may have
 * made an instance the list shows, not yet the row).
 */
static void
groups_listed(struct groups_ctx *c, struct nodegroup *g,
    const struct provider_res *res)
{
	const struct provider *p = provider_find(g->provider);
	struct provider_req *req;
	struct machine *mc;
	char key[160], dir[512];
	const char *old;
	size_t i, k;
	int unsure = 0, found;

	snprintf(key, sizeof key, "listfail:%s", g->name);
	old = json_string_value(json_object_get(c->memo, key));
	if (!res->ok) {
		if (old == NULL || strcmp(old, res->cause) != 0) {
			store_event_add(c->st, c->grid_id,
			    "nodegroup.list_failed", g->name, "group %s: "
			    "listing its instances failed: %s", g->name,
			    res->cause);
			json_object_set_new(c->memo, key,
			    json_string(res->cause));
		}
		return;
	}
	if (old != NULL)
		json_object_del(c->memo, key);
	if (p != NULL && p->join == PROVIDER_JOIN_INSTANCE) {
		groups_listed_instances(c, g, p, res);
		return;
	}
	for (k = 0; k < c->nmach; k++) {
		mc = &c->mach[k];
		if (mc->group_id != g->id)
			continue;
		if (strcmp(mc->state, "requested") == 0 ||
		    (strcmp(mc->state, "launching") == 0 &&
		    mc->provider_id[0] == '\0') || groups_busy(c, mc))
			unsure = 1;
	}
	if (unsure || p == NULL || !groups_acts(c, g))
		return;
	for (i = 0; i < res->ninst; i++) {
		found = 0;
		for (k = 0; k < c->nmach && !found; k++) {
			mc = &c->mach[k];
			found = mc->group_id == g->id &&
			    strcmp(mc->state, "gone") != 0 &&
			    ((mc->provider_id[0] != '\0' &&
			    strcmp(mc->provider_id, res->inst[i].id) == 0) ||
			    (res->inst[i].machine[0] != '\0' &&
			    strcmp(mc->name, res->inst[i].machine) == 0));
		}
		if (found)
			continue;
		/*
		 * Its delete was asked for lately: a list made before that
		 * delete ended shows it still (one event, one delete).
		 */
		snprintf(key, sizeof key, "orphan:%s:%.60s", g->name,
		    res->inst[i].id);
		if (json_object_get(c->memo, key) != NULL &&
		    util_mono_ms() - json_integer_value(json_object_get(
		    c->memo, key)) < 60000 + 2000 *
		    g->settings.list_interval_s)
			continue;
		json_object_set_new(c->memo, key, json_integer(util_mono_ms()));
		store_event_add(c->st, c->grid_id, "machine.orphan",
		    res->inst[i].machine[0] ? res->inst[i].machine : g->name,
		    "group %s: instance %s%s%s%s has no machine: deleting it",
		    g->name, res->inst[i].id, res->inst[i].machine[0] ?
		    " (machine " : "", res->inst[i].machine,
		    res->inst[i].machine[0] ? ")" : "");
		log_warn("groups: grid %s: group %s: orphan %s", c->grid,
		    g->name, res->inst[i].id);
		req = xmalloc(sizeof *req);
		groups_req(c, g, NULL, PROVIDER_DELETE, req);
		req->machine_id = groups_orphan_id(res->inst[i].id);
		snprintf(req->provider_id, sizeof req->provider_id, "%s",
		    res->inst[i].id);
		snprintf(req->machine, sizeof req->machine, "%s",
		    res->inst[i].machine);
		if ((p == &provider_docker || p == &provider_process) &&
		    res->inst[i].machine[0] != '\0' &&
		    snprintf(dir, sizeof dir, "%s/machines/%s",
		    c->m->cfg.data_dir, res->inst[i].machine) <
		    (int)sizeof dir)
			snprintf(req->data_dir, sizeof req->data_dir, "%s", dir);
		groups_call(c, p, req);
		free(req);
	}
	/* Joined machines whose instance the provider no longer has (the
	 * process provider's: each round, by its data dir, in
	 * groups_lifecycle). */
	for (k = 0; k < c->nmach && p != &provider_process; k++) {
		mc = &c->mach[k];
		if (mc->group_id != g->id || strcmp(mc->state, "joined") != 0 ||
		    mc->provider_id[0] == '\0')
			continue;
		found = 0;
		for (i = 0; i < res->ninst && !found; i++)
			found = strcmp(mc->provider_id, res->inst[i].id) == 0 ||
			    strcmp(mc->name, res->inst[i].machine) == 0;
		if (!found)
			groups_lost(c, mc, "its instance is gone from the "
			    "provider's list");
	}
}

/* Delete instance id of g, not claimed by any machine: an orphan. */
static void
groups_orphan(struct groups_ctx *c, struct nodegroup *g,
    const struct provider *p, const char *id, const char *why)
{
	struct provider_req *req;

	store_event_add(c->st, c->grid_id, "machine.orphan", g->name,
	    "group %s: instance %s has no machine%s: terminating it", g->name,
	    id, why);
	log_warn("groups: grid %s: group %s: orphan %s", c->grid, g->name,
	    id);
	req = xmalloc(sizeof *req);
	groups_req(c, g, NULL, PROVIDER_DELETE, req);
	req->machine_id = groups_orphan_id(id);
	snprintf(req->provider_id, sizeof req->provider_id, "%s", id);
	groups_call(c, p, req);
	free(req);
}

/*
 * What a group-level provider (aws-asg) lists. Its instances are learnt
 * at join, so a launching machine names none: an instance no machine is
 * bound to is an orphan only once it has been seen for the group's
 * provision timeout without joining (its agent would have been bound by
 * then). A launch the provider says failed backs the group off.
 */
static void
groups_listed_instances(struct groups_ctx *c, struct nodegroup *g,
    const struct provider *p, const struct provider_res *res)
{
	struct machine *mc;
	char key[384], prefix[96], b[32];
	const char *k2;
	json_t *v, *tmp;
	int64_t mono = util_mono_ms();
	size_t i, k;
	int found;

	if (res->failed[0] != '\0' && groups_acts(c, g) &&
	    store_begin(c->st) == 0) {
		groups_backoff(g, c->now);
		if (store_nodegroup_marks(c->st, g) != 0 ||
		    store_event_add(c->st, c->grid_id, "nodegroup.backoff",
		    g->name, "group %s: a launch failed at the provider (%s); "
		    "no launch for %s", g->name, res->failed, groups_dur(
		    g->backoff_s, b, sizeof b)) != 0 ||
		    store_commit(c->st) != 0)
			store_rollback(c->st);
		else
			log_warn("groups: grid %s: group %s: launch failed: "
			    "%s; backs off %llds", c->grid, g->name,
			    res->failed, (long long)g->backoff_s);
	}
	snprintf(prefix, sizeof prefix, "seen:%s:", g->name);
	for (i = 0; i < res->ninst; i++) {
		found = 0;
		for (k = 0; k < c->nmach && !found; k++) {
			mc = &c->mach[k];
			found = mc->group_id == g->id &&
			    strcmp(mc->state, "gone") != 0 &&
			    strcmp(mc->provider_id, res->inst[i].id) == 0;
		}
		snprintf(key, sizeof key, "%s%s", prefix, res->inst[i].id);
		if (found) {
			json_object_del(c->memo, key);
			continue;
		}
		if ((v = json_object_get(c->memo, key)) == NULL) {
			json_object_set_new(c->memo, key, json_integer(mono));
			continue;
		}
		if (mono - json_integer_value(v) <=
		    g->settings.provision_timeout_s * 1000 ||
		    !groups_acts(c, g))
			continue;
		/* Asked once; a list made before it ended shows it again. */
		json_object_set_new(c->memo, key, json_integer(mono));
		groups_orphan(c, g, p, res->inst[i].id, ", not joined within "
		    "the provision timeout");
	}
	/* Forget what the provider no longer has. */
	json_object_foreach_safe(c->memo, tmp, k2, v) {
		if (strncmp(k2, prefix, strlen(prefix)) != 0)
			continue;
		for (i = 0; i < res->ninst; i++)
			if (strcmp(k2 + strlen(prefix), res->inst[i].id) == 0)
				break;
		if (i == res->ninst)
			json_object_del(c->memo, k2);
	}
	/* Joined machines whose instance the provider no longer has. */
	for (k = 0; k < c->nmach; k++) {
		mc = &c->mach[k];
		if (mc->group_id != g->id || strcmp(mc->state, "joined") != 0 ||
		    mc->provider_id[0] == '\0')
			continue;
		for (i = 0; i < res->ninst; i++)
			if (strcmp(mc->provider_id, res->inst[i].id) == 0)
				break;
		if (i == res->ninst)
			groups_lost(c, mc, "its instance is gone from the "
			    "provider's list");
	}
}

/*
 * The instance ids agents presented with a group's token (the hub noted
 * them, master/asg_join.h): each checked on the provider threads, unless
 * there is no launching machine left to bind it to.
 */
void
groups_joins(struct groups_ctx *c)
{
	struct asg_join_ask ask[32];
	const struct provider *p;
	struct provider_req *req;
	struct nodegroup *g;
	char why[400];
	size_t i, k, n;
	int free_rows;

	n = asg_join_take(c->grid_id, ask, sizeof ask / sizeof ask[0]);
	for (i = 0; i < n; i++) {
		g = groups_find(c, ask[i].group_id);
		if (g == NULL || (p = provider_find(g->provider)) == NULL ||
		    p->join != PROVIDER_JOIN_INSTANCE) {
			asg_join_refuse(ask[i].group_id, ask[i].id, "its node "
			    "group is gone or does not join by instance id");
			continue;
		}
		for (k = 0, free_rows = 0; k < c->nmach; k++)
			if (c->mach[k].group_id == g->id &&
			    strcmp(c->mach[k].state, "launching") == 0 &&
			    c->mach[k].provider_id[0] == '\0')
				free_rows++;
		if (free_rows == 0) {
			snprintf(why, sizeof why, "no launching machine of "
			    "group %s to claim instance %.64s", g->name,
			    ask[i].id);
			asg_join_refuse(g->id, ask[i].id, why);
			store_event_add(c->st, c->grid_id, "machine.unmatched",
			    g->name, "group %s: %s", g->name, why);
			continue;
		}
		req = xmalloc(sizeof *req);
		groups_req(c, g, NULL, PROVIDER_JOIN, req);
		/* Its own key on the provider threads (not an orphan's). */
		req->machine_id = groups_orphan_id(ask[i].id) - 1000000000;
		snprintf(req->provider_id, sizeof req->provider_id, "%s",
		    ask[i].id);
		groups_call(c, p, req);
		free(req);
	}
}

/*
 * A checked instance id: bound to the oldest launching machine of its
 * group that has none, in one transaction with its event; the agent is
 * admitted as that machine when it comes back (master/hub_admit.c).
 */
static void
groups_joined_check(struct groups_ctx *c, struct nodegroup *g,
    const struct provider_res *res)
{
	unsigned char ghash[32], sealed[TOKEN_SEAL_LEN], jhash[32];
	struct machine *mc = NULL;
	char why[PROVIDER_CAUSE_MAX + 64];
	size_t k;
	int rc;

	if (!res->ok && !res->nothing) {
		log_warn("groups: grid %s: group %s: checking instance %s: %s",
		    c->grid, g->name, res->id, res->cause);
		asg_join_retry(g->id, res->id);
		return;
	}
	if (!res->ok) {
		/* None of the group's instances: the agent waits as a
		 * pending node for an operator (docs/nodes.md). */
		asg_join_unknown(g->id, res->id, res->cause);
		store_event_add(c->st, c->grid_id, "machine.unmatched",
		    g->name, "group %s: an agent presented %s: %s; it may "
		    "join as a pending node", g->name, res->id, res->cause);
		return;
	}
	for (k = 0; k < c->nmach; k++) {
		if (c->mach[k].group_id != g->id)
			continue;
		if (strcmp(c->mach[k].provider_id, res->id) == 0) {
			asg_join_bound(g->id, res->id);	/* bound already */
			return;
		}
		if (strcmp(c->mach[k].state, "launching") == 0 &&
		    c->mach[k].provider_id[0] == '\0' && (mc == NULL ||
		    c->mach[k].id < mc->id))
			mc = &c->mach[k];
	}
	if (mc == NULL) {
		snprintf(why, sizeof why, "no launching machine of group %s "
		    "to claim instance %.64s", g->name, res->id);
		asg_join_refuse(g->id, res->id, why);
		store_event_add(c->st, c->grid_id, "machine.unmatched",
		    g->name, "group %s: %s", g->name, why);
		return;
	}
	if (store_nodegroup_token(c->st, g->id, ghash, sealed,
	    sizeof sealed) != 1) {
		asg_join_refuse(g->id, res->id, "the node group has no join "
		    "token");
		return;
	}
	asg_join_hash(ghash, res->id, jhash);
	if (store_begin(c->st) != 0)
		return;
	rc = store_machine_bind(c->st, mc->id, res->id, jhash, res->az);
	if (rc != 1 || store_event_add(c->st, c->grid_id, "machine.bind",
	    mc->name, "machine %s is instance %s (%s), protected from "
	    "scale-in", mc->name, res->id, res->az) != 0 ||
	    store_commit(c->st) != 0) {
		store_rollback(c->st);
		asg_join_retry(g->id, res->id);
		return;
	}
	snprintf(mc->provider_id, sizeof mc->provider_id, "%s", res->id);
	asg_join_bound(g->id, res->id);
	log_info("groups: grid %s: machine %s is instance %s (%s)", c->grid,
	    mc->name, res->id, res->az);
}

/*
 * aws-asg: since when a failed launch matters (its oldest launching
 * machine's launch, after the last failure already acted on), or 0 when
 * no machine is launching.
 */
static int64_t
groups_failed_since(struct groups_ctx *c, const struct nodegroup *g)
{
	int64_t since = 0;
	size_t k;

	for (k = 0; k < c->nmach; k++)
		if (c->mach[k].group_id == g->id &&
		    strcmp(c->mach[k].state, "launching") == 0 &&
		    (since == 0 || c->mach[k].state_at < since))
			since = c->mach[k].state_at;
	if (since != 0 && since <= g->last_failure_at)
		since = g->last_failure_at + 1;
	return since;
}

/* Groups whose provider lists: a list every list_interval_s. */
void
groups_list_due(struct groups_ctx *c)
{
	const struct provider *p;
	struct provider_req *req;
	struct nodegroup *g;
	char key[96];
	json_t *v;
	size_t i;

	if (c->m->providers == NULL || c->memo == NULL)
		return;
	for (i = 0; i < c->ngroups; i++) {
		g = &c->groups[i];
		if ((p = provider_find(g->provider)) == NULL ||
		    p->list == NULL || (!p->async && p != &provider_process) ||
		    g->settings.list_interval_s <= 0 || !groups_acts(c, g) ||
		    g->settings.paused)
			continue;
		snprintf(key, sizeof key, "list:%s", g->name);
		v = json_object_get(c->memo, key);
		if (v != NULL && util_mono_ms() - json_integer_value(v) <
		    g->settings.list_interval_s * 1000)
			continue;
		req = xmalloc(sizeof *req);
		groups_req(c, g, NULL, PROVIDER_LIST, req);
		req->machine_id = 0;
		req->count = 0;
		if (p->join == PROVIDER_JOIN_INSTANCE)
			req->since_ms = groups_failed_since(c, g);
		if (!p->async) {
			/* The process provider's agents: a look at
			 * <data-dir>/machines and /proc, here. */
			if (snprintf(req->data_dir, sizeof req->data_dir,
			    "%s/machines", c->m->cfg.data_dir) <
			    (int)sizeof req->data_dir) {
				json_object_set_new(c->memo, key,
				    json_integer(util_mono_ms()));
				groups_call(c, p, req);
			}
		} else if (provider_worker_queue(c->m->providers, p, req) == 0)
			json_object_set_new(c->memo, key,
			    json_integer(util_mono_ms()));
		free(req);
	}
}

/* A provider's answer, in this round (process) or a later one (async). */
void
groups_apply(struct groups_ctx *c, struct provider_res *res)
{
	struct machine *mc = groups_machine(c, res->machine_id);
	struct nodegroup *g = groups_find(c, res->group_id);
	char why[PROVIDER_CAUSE_MAX + 64];

	if (res->op == PROVIDER_LIST) {
		if (g != NULL)
			groups_listed(c, g, res);
		return;
	}
	if (res->op == PROVIDER_JOIN) {
		if (g != NULL)
			groups_joined_check(c, g, res);
		else
			asg_join_refuse(res->group_id, res->id, "its node "
			    "group is gone");
		return;
	}
	if (res->machine_id < 0 && g != NULL && !res->ok)
		log_warn("groups: grid %s: group %s: deleting an orphan: %s",
		    c->grid, g->name, res->cause);
	if (mc == NULL || g == NULL)
		return;		/* forgotten meanwhile (a list finds strays) */
	switch (res->op) {
	case PROVIDER_CREATE:
		if (res->ok) {
			if (res->pid > 0 && store_machine_pid(c->st, mc->id,
			    res->pid) == 0)
				mc->pid = res->pid;
			if (res->id[0] != '\0' && store_machine_provider_id(
			    c->st, mc->id, res->id) == 0)
				snprintf(mc->provider_id,
				    sizeof mc->provider_id, "%s", res->id);
			log_info("groups: grid %s: machine %s launched (%s)",
			    c->grid, mc->name, res->id);
			break;
		}
		snprintf(why, sizeof why, "%s create failed: %s",
		    g->provider, res->cause);
		if (strcmp(mc->state, "launching") == 0)
			groups_fail(c, mc, "launching", res->nothing ?
			    "failed" : "terminating", "machine.launch_failed",
			    why);
		break;
	case PROVIDER_DELETE:
		if (res->ok && !res->again) {
			if (strcmp(mc->state, "terminating") == 0)
				groups_forget(c, mc, "");
			break;
		}
		if (res->ok)
			break;		/* still stopping: again next round */
		store_event_add(c->st, c->grid_id, "machine.delete_failed",
		    mc->name, "machine %s: %s delete failed (tried again in "
		    "%llds): %s", mc->name, g->provider,
		    (long long)g->settings.backoff_s, res->cause);
		log_warn("groups: grid %s: machine %s: delete failed: %s",
		    c->grid, mc->name, res->cause);
		if (c->m->providers != NULL)
			provider_worker_cool(c->m->providers, g->id, mc->id,
			    g->settings.backoff_s * 1000);
		break;
	case PROVIDER_LIST:
	case PROVIDER_JOIN:
		break;
	}
}

/* ---- lifecycle of the machines there are ------------------------------- */

/* joined -> terminating, for a reason other than scale-in. */
static void
groups_lost(struct groups_ctx *c, struct machine *mc, const char *why)
{
	struct nodegroup *g = groups_find(c, mc->group_id);

	if (!groups_acts(c, g)) {
		groups_decide(c, g, "terminate", mc->name, 0, "%s", why);
		return;
	}
	if (store_begin(c->st) != 0)
		return;
	if (store_machine_state(c->st, mc->id, "joined", "terminating", why,
	    c->now) != 1 || store_event_add(c->st, c->grid_id,
	    "machine.lost", mc->name, "machine %s: %s", mc->name, why) != 0 ||
	    store_commit(c->st) != 0) {
		store_rollback(c->st);
		return;
	}
	snprintf(mc->state, sizeof mc->state, "terminating");
	snprintf(mc->reason, sizeof mc->reason, "%s", why);
	mc->state_at = c->now;
	log_warn("groups: grid %s: machine %s: %s", c->grid, mc->name, why);
}

/*
 * Each machine a step further. While the scheduler stands down (it may be
 * this master that is cut off), no machine is timed out.
 */
void
groups_lifecycle(struct groups_ctx *c, int stand_down)
{
	struct machine *mc;
	struct nodegroup *g;
	char why[512], last[200], b[32];
	size_t i;

	for (i = 0; i < c->nmach; i++) {
		mc = &c->mach[i];
		g = groups_find(c, mc->group_id);
		if (strcmp(mc->state, "requested") == 0)
			groups_launch(c, mc);
		else if (strcmp(mc->state, "joined") == 0 && !mc->node_exists)
			groups_lost(c, mc, "its node record was removed");
		else if (strcmp(mc->state, "joined") == 0 && g != NULL &&
		    strcmp(g->provider, "process") == 0 &&
		    mc->data_dir[0] != '\0' &&
		    provider_process_find(mc->data_dir) == 0)
			groups_lost(c, mc, "its agent process is gone");
		else if (strcmp(mc->state, "launching") == 0 && g != NULL &&
		    !stand_down && c->now - mc->state_at >
		    g->settings.provision_timeout_s * 1000) {
			last[0] = '\0';
			if (mc->data_dir[0] != '\0')
				provider_process_last_line(mc->data_dir, last,
				    sizeof last);
			snprintf(why, sizeof why, "not joined within %s of "
			    "its launch%s%s", groups_dur(
			    g->settings.provision_timeout_s, b, sizeof b),
			    last[0] != '\0' ? "; its agent's last line: " :
			    "", last);
			if (!groups_acts(c, g))
				groups_decide(c, g, "terminate", mc->name, 0,
				    "%s", why);
			else
				groups_fail(c, mc, "launching", "terminating",
				    "machine.timeout", why);
		} else if (strcmp(mc->state, "draining") == 0 &&
		    mc->node_draining) {
			/* Its node drains (master/sched_drain.c ends it). */
		} else if (strcmp(mc->state, "failed") == 0) {
			/* The provider made nothing: nothing to delete. */
			if (groups_acts(c, g))
				groups_forget(c, mc, ": nothing was created");
			else
				groups_decide(c, g, "forget", mc->name, 0,
				    "%s", mc->reason);
		} else if (strcmp(mc->state, "draining") == 0 &&
		    groups_acts(c, g)) {
			/* Left by a crash in between: carry on. */
			if (store_machine_state(c->st, mc->id, mc->state,
			    "terminating", mc->reason, c->now) == 1) {
				snprintf(mc->state, sizeof mc->state,
				    "terminating");
				mc->state_at = c->now;
			}
		}
		if (strcmp(mc->state, "terminating") == 0)
			groups_reap(c, mc);
	}
}

/* ---- scale-up ---------------------------------------------------------- */
