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
 */
#include "master/sched_groups.h"
#include "master/asg_join.h"
#include "master/group_stats.h"
#include "master/provider.h"
#include "master/sched_drain.h"
#include "master/provider_worker.h"
#include "master/sched_sync.h"
#include "master/token.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/units.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GROUPS_MAX_SCALE_IN	10	/* empty nodes terminated per round */

struct groups_ctx {
	struct master		*m;
	struct store		*st;
	int64_t			 grid_id;
	const char		*grid;
	struct sched		*s;
	int64_t			 now;
	struct nodegroup	*groups;
	size_t			 ngroups;
	struct machine		*mach;
	size_t			 nmach;
	const struct grid_settings *gs;		/* the grid's limits */
	json_t			*memo;		/* the grid's said-once notes */
	int			 dry;		/* a plan: write and call nothing */
	json_t			*decisions;	/* what was (or would be) done */
};

/*
 * One decision: into the plan's list, and for a group in dry_run (in a
 * real round) one `nodegroup.dry_run` event while it stays the same.
 * machine may be NULL, count 0.
 */
static void
groups_decide(struct groups_ctx *c, const struct nodegroup *g,
    const char *action, const char *machine, int count, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
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
static int
groups_acts(const struct groups_ctx *c, const struct nodegroup *g)
{
	return !c->dry && (g == NULL || !g->settings.dry_run);
}

static struct nodegroup *
groups_find(struct groups_ctx *c, int64_t id)
{
	size_t i;

	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i].id == id)
			return &c->groups[i];
	return NULL;
}

/* Seconds as people read them: "15m", "30s". */
static const char *
groups_dur(int64_t s, char *buf, size_t len)
{
	return units_format_duration(s, buf, len);
}

/* ---- what a call is made of -------------------------------------------- */

static void
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
static void
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
static void
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

static void
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

static struct machine *
groups_machine(struct groups_ctx *c, int64_t id)
{
	size_t i;

	for (i = 0; i < c->nmach; i++)
		if (c->mach[i].id == id)
			return &c->mach[i];
	return NULL;
}

/* 1 while a call for mc is on the provider threads (or cooling down). */
static int
groups_busy(struct groups_ctx *c, const struct machine *mc)
{
	return c->m->providers != NULL &&
	    provider_worker_busy(c->m->providers, mc->group_id, mc->id);
}

static void groups_apply(struct groups_ctx *c, struct provider_res *res);

/*
 * Make a call: in place for a provider that is quick (process), or when
 * there are no provider threads (unit tests); else queued, its result
 * applied by a later round.
 */
static void
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
static void
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
static int
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
static int
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

/* requested -> launching: mint its join token, then the provider. */
static void
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
static void
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
	 * them behind (orphans). So an online node is deleted once its
	 * agent's stats say it owns no container, or stop_grace_s + 60 s
	 * after the machine began terminating, whichever comes first.
	 * Finished jobs' containers, which the agent keeps for
	 * job_retention_s (a day), are not waited for: node_containers
	 * leaves them out (store_nodegroup.c).
	 */
	if (strcmp(mc->reason, "scale-in") == 0 && mc->node_online &&
	    mc->node_containers > 0 && c->now - mc->state_at <
	    (g->settings.stop_grace_s + 60) * 1000) {
		if (c->decisions != NULL)
			groups_decide(c, g, "wait", mc->name, 0, "terminating "
			    "once its agent has removed its %d container(s)",
			    mc->node_containers);
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
		if (p == &provider_docker && res->inst[i].machine[0] != '\0' &&
		    snprintf(dir, sizeof dir, "%s/machines/%s",
		    c->m->cfg.data_dir, res->inst[i].machine) <
		    (int)sizeof dir)
			snprintf(req->data_dir, sizeof req->data_dir, "%s", dir);
		groups_call(c, p, req);
		free(req);
	}
	/* Joined machines whose instance the provider no longer has. */
	for (k = 0; k < c->nmach; k++) {
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
static void
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
static void
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
		if ((p = provider_find(g->provider)) == NULL || !p->async ||
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
		if (provider_worker_queue(c->m->providers, p, req) == 0)
			json_object_set_new(c->memo, key,
			    json_integer(util_mono_ms()));
		free(req);
	}
}

/* A provider's answer, in this round (process) or a later one (async). */
static void
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
static void
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

/* Demand in a plan: ha/random numbers not placed, tasks no node takes. */
static int
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
static int
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
static int
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

/*
 * A joined machine whose node is online and holds nothing but daemons
 * (no ha/random record, no job task) is unneeded; above its group's min,
 * outside the delays after a launch or a failure, and unneeded for the
 * group's unneeded_s, it is drained (an empty node's drain is its daemons
 * stopping with it) and terminated. unneeded_since is persisted, so a
 * restart does not reset the clock.
 */
static void
groups_scale_in(struct groups_ctx *c, int growing)
{
	struct machine *mc;
	struct nodegroup *g;
	int *joined, *draining, *idle, done = 0, busy_cap, busy_started = 0;
	char b[32];
	size_t i, k;

	joined = xcalloc(c->ngroups + 1, sizeof *joined);
	draining = xcalloc(c->ngroups + 1, sizeof *draining);
	idle = xcalloc(c->ngroups + 1, sizeof *idle);
	for (k = 0; k < c->nmach; k++)
		for (i = 0; i < c->ngroups; i++)
			if (c->groups[i].id == c->mach[k].group_id &&
			    groups_idle(&c->mach[k]))
				idle[i]++;
	for (k = 0; k < c->nmach; k++)
		for (i = 0; i < c->ngroups; i++)
			if (c->groups[i].id == c->mach[k].group_id &&
			    (strcmp(c->mach[k].state, "joined") == 0 ||
			    strcmp(c->mach[k].state, "launching") == 0 ||
			    strcmp(c->mach[k].state, "requested") == 0))
				joined[i]++;
			else if (c->groups[i].id == c->mach[k].group_id &&
			    strcmp(c->mach[k].state, "draining") == 0)
				draining[i]++;
	/* Non-empty nodes: grid-wide max(1, 10 %) of them a round. */
	busy_cap = (int)c->nmach / 10;
	if (busy_cap < 1)
		busy_cap = 1;
	/*
	 * Empty nodes first (pass 0), then busy ones (pass 1): an empty
	 * node chosen here is cordoned in the same transaction, so a busy
	 * node's instances are not counted as fitting on a node that is
	 * being terminated in this very round (they would then fit nowhere,
	 * and its drain would end forced at its deadline, instances down).
	 */
	for (k = 0; k < 2 * c->nmach && done < GROUPS_MAX_SCALE_IN; k++) {
		mc = &c->mach[k % c->nmach];
		if (strcmp(mc->state, "joined") != 0 ||
		    (mc->node_busy != 0) != (k >= c->nmach))
			continue;
		for (i = 0; i < c->ngroups; i++)
			if (c->groups[i].id == mc->group_id)
				break;
		if (i == c->ngroups)
			continue;
		g = &c->groups[i];
		/*
		 * Kraken's "destroy after N jobs" (docs/autoscaling.md): a
		 * node that ran max_jobs_per_node jobs is drained (a job in
		 * flight ends first) and terminated, whatever min, demand or
		 * the delays say: min launches its replacement. Never a
		 * protected node; nothing while the group is paused.
		 */
		if (g->settings.max_jobs_per_node > 0 &&
		    mc->node_jobs_finished >= g->settings.max_jobs_per_node &&
		    mc->node_exists && !mc->node_protected &&
		    !g->settings.paused) {
			groups_decide(c, g, "drain", mc->name, 0, "ran %lld "
			    "job(s) (max_jobs_per_node %lld): recycling it",
			    (long long)mc->node_jobs_finished,
			    (long long)g->settings.max_jobs_per_node);
			if (groups_acts(c, g) && sched_drain_recycle(c->st,
			    c->grid_id, c->s, mc, g->settings.drain_deadline_s,
			    g->settings.max_jobs_per_node) == 0) {
				snprintf(mc->state, sizeof mc->state,
				    "draining");
				joined[i]--;
				draining[i]++;
			}
			continue;
		}
		/*
		 * Unneeded: empty (daemons aside), or (docs/nodes.md) its
		 * instances fit on other nodes, as sched_drain_fits() finds
		 * with the node left out; never a protected node, nor one
		 * running a job task.
		 */
		if (mc->node_protected || mc->node_jobs || !mc->node_online ||
		    !mc->node_measured || growing || (mc->node_busy &&
		    sched_drain_fits(c->s, mc->node_id, NULL) != 1)) {
			if (mc->unneeded_since != 0 && !c->dry &&
			    store_machine_unneeded(c->st, mc->id, 0) == 0)
				mc->unneeded_since = 0;
			continue;
		}
		if (mc->unneeded_since == 0) {
			if (!c->dry && store_machine_unneeded(c->st, mc->id,
			    c->now) == 0)
				mc->unneeded_since = c->now;
			continue;
		}
		/* min + spare stay; and spare idle nodes (below). */
		if (joined[i] <= g->settings.min + g->settings.spare ||
		    (!mc->node_busy && idle[i] <= g->settings.spare) ||
		    c->now - mc->unneeded_since < g->settings.unneeded_s * 1000 ||
		    c->now - g->last_add_at <
		    g->settings.delay_after_add_s * 1000 ||
		    c->now - g->last_failure_at <
		    g->settings.delay_after_failure_s * 1000)
			continue;
		if (g->settings.paused) {
			if (c->decisions != NULL)
				groups_decide(c, g, "wait", mc->name, 0,
				    "unneeded for %s, but the group is paused",
				    groups_dur((c->now - mc->unneeded_since) /
				    1000, b, sizeof b));
			continue;
		}
		if (mc->node_busy) {
			/* One such drain per group at a time. */
			if (draining[i] > 0 || busy_started >= busy_cap)
				continue;
			groups_decide(c, g, "drain", mc->name, 0, "unneeded for "
			    "%s (its instances fit on other nodes, above min "
			    "%lld)", groups_dur((c->now - mc->unneeded_since) /
			    1000, b, sizeof b), (long long)g->settings.min);
			if (!groups_acts(c, g)) {
				draining[i]++;
				busy_started++;
				continue;
			}
			if (sched_drain_scale_in(c->m, c->st, c->grid_id, c->s,
			    mc, g->settings.drain_deadline_s,
			    (c->now - mc->unneeded_since) / 1000) == 0) {
				group_stats_add(g->id, GROUP_STAT_SCALE_DOWN, 1);
				snprintf(mc->state, sizeof mc->state,
				    "draining");
				joined[i]--;
				draining[i]++;
				busy_started++;
			}
			continue;
		}
		groups_decide(c, g, "drain", mc->name, 0, "unneeded for %s "
		    "(nothing but daemons on it, above min %lld)",
		    groups_dur((c->now - mc->unneeded_since) / 1000, b,
		    sizeof b), (long long)g->settings.min);
		joined[i]--;
		idle[i]--;
		done++;
		if (!groups_acts(c, g))
			continue;
		/* Drained (empty: nothing to move) and terminating, with
		 * their events, in one transaction. */
		if (store_begin(c->st) != 0)
			break;
		if (store_machine_state(c->st, mc->id, "joined", "draining",
		    "unneeded", c->now) != 1 ||
		    store_node_cordon(c->st, mc->node_id, 1) < 0 ||
		    store_event_add(c->st, c->grid_id, "node.drain", mc->name,
		    "node %s of group %s: unneeded for %s (nothing but daemons "
		    "on it, above min %lld): draining", mc->name, g->name,
		    groups_dur((c->now - mc->unneeded_since) / 1000, b,
		    sizeof b), (long long)g->settings.min) != 0 ||
		    store_machine_state(c->st, mc->id, "draining",
		    "terminating", "scale-in", c->now) != 1 ||
		    store_event_add(c->st, c->grid_id, "node.drain_done",
		    mc->name, "node %s drained: terminating its machine",
		    mc->name) != 0 || store_commit(c->st) != 0) {
			store_rollback(c->st);
			break;
		}
		group_stats_add(g->id, GROUP_STAT_SCALE_DOWN, 1);
		snprintf(mc->state, sizeof mc->state, "terminating");
		snprintf(mc->reason, sizeof mc->reason, "scale-in");
		mc->state_at = c->now;
		sched_sync_node(c->st, c->s, c->grid_id, mc->node_id);
		log_info("groups: grid %s: scale-in: machine %s", c->grid,
		    mc->name);
		groups_reap(c, mc);
	}
	free(joined);
	free(draining);
	free(idle);
}

/* ---- plans asked for by the API ---------------------------------------- */

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
