/*
 * sched_groups.c - node groups: scale-up from demand, machines' lifecycle,
 * scale-in of unneeded nodes (docs/autoscaling.md).
 *
 * Scheduler thread only, inside the round, right after a grid's plan was
 * written and applied: the plan's unplaceable ha/random numbers and queued
 * job tasks are the demand, sized with the real planner (sched_size() in
 * scheduler/sched_size.c) over virtual nodes made from each group's
 * template. Every machine change is written in one transaction with its
 * event; provider calls (the process provider's fork and kill) come after
 * the commit, and what they leave undone is found again from the rows on
 * the next round, or after a restart: a `requested` row is launched, a
 * `launching` one past its provision timeout is terminated, a
 * `terminating` one is signalled until its process is gone, then its
 * node record and its row go in one transaction.
 */
#include "master/sched_groups.h"
#include "master/provider.h"
#include "master/sched_drain.h"
#include "master/sched_sync.h"
#include "master/token.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/units.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <limits.h>
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
};

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

/* ---- the process provider's side --------------------------------------- */

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

/* What a process agent dials: the setting, --agent-url, or the listener. */
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
 * A machine failed to start or join: terminating, with its event and the
 * group's backoff, in one transaction.
 */
static int
groups_fail(struct groups_ctx *c, struct machine *mc, const char *from,
    const char *type, const char *why)
{
	struct nodegroup *g = groups_find(c, mc->group_id);
	char b[32];

	if (g == NULL || store_begin(c->st) != 0)
		return -1;
	groups_backoff(g, c->now);
	if (store_machine_state(c->st, mc->id, from, "terminating", why,
	    c->now) != 1 ||
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
	snprintf(mc->state, sizeof mc->state, "terminating");
	mc->state_at = c->now;
	log_warn("groups: grid %s: machine %s: %s; group %s backs off %llds",
	    c->grid, mc->name, why, g->name, (long long)g->backoff_s);
	provider_process_stop(mc->data_dir, 0);
	return 0;
}

/* requested -> launching: mint its join token, start its agent. */
static void
groups_launch(struct groups_ctx *c, struct machine *mc)
{
	struct nodegroup *g = groups_find(c, mc->group_id);
	struct provider_launch l;
	char token[TOKEN_LEN + 1], agent[PATH_MAX], url[600];
	char dir[sizeof mc->data_dir], *cause = NULL;
	unsigned char hash[TOKEN_HASH_LEN];
	pid_t pid = 0;
	int rc;

	if (g == NULL)
		return;
	if (snprintf(dir, sizeof dir, "%s/machines", c->m->cfg.data_dir) >=
	    (int)sizeof dir - 70)
		return;		/* a data dir path of 440 bytes: refused */
	(void)mkdir(dir, 0700);
	snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s", mc->name);
	token_new(token);
	token_hash(token, hash);
	/* The row first: a crash after it leaves a launching machine that
	 * times out (its process, if any, is found by its data dir). */
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
	mc->state_at = c->now;
	groups_agent_path(c, g, agent, sizeof agent);
	groups_agent_url(c, g, url, sizeof url);
	memset(&l, 0, sizeof l);
	l.agent = agent;
	l.url = url;
	l.pin = c->m->tls.on ? c->m->tls.pin : NULL;
	l.token = token;
	l.name = mc->name;
	l.data_dir = dir;
	l.cpus = g->settings.cpus;
	l.env = g->settings.agent_env;
	if (provider_process_launch(&l, &pid, &cause) != 0) {
		groups_fail(c, mc, "launching", "machine.launch_failed", cause);
		free(cause);
		goto out;
	}
	store_machine_pid(c->st, mc->id, pid);
	mc->pid = pid;
	log_info("groups: grid %s: machine %s launched (pid %ld)", c->grid,
	    mc->name, (long)pid);
out:
	explicit_bzero(token, sizeof token);
}

/* terminating: signal until the process is gone, then forget it all. */
static void
groups_reap(struct groups_ctx *c, struct machine *mc)
{
	struct nodegroup *g = groups_find(c, mc->group_id);
	int64_t grace = g != NULL ? g->settings.stop_grace_s * 1000 : 10000;
	char name[64];
	int rc = 0;

	if (mc->data_dir[0] != '\0' && provider_process_stop(mc->data_dir,
	    c->now - mc->state_at > grace) == 1)
		return;		/* still there: next round */
	if (store_begin(c->st) != 0)
		return;
	if (mc->node_id[0] != '\0')
		rc = store_node_remove(c->st, mc->node_id, name);
	if (rc < 0 || store_machine_delete(c->st, mc->id) != 0 ||
	    store_event_add(c->st, c->grid_id, "machine.terminate", mc->name,
	    "machine %s terminated (%s)%s", mc->name, mc->reason,
	    rc == 1 ? "; its node record is removed" : "") != 0 ||
	    store_commit(c->st) != 0) {
		store_rollback(c->st);
		return;
	}
	log_info("groups: grid %s: machine %s terminated", c->grid, mc->name);
	if (mc->data_dir[0] != '\0' &&
	    provider_process_remove(mc->data_dir) != 0)
		log_warn("groups: cannot remove %s", mc->data_dir);
	if (rc == 1) {
		master_kick_node(c->m, mc->node_id, PROTO_CLOSE_NODE_REMOVED);
		sched_sync_node(c->st, c->s, c->grid_id, mc->node_id);
		master_nodes_touched(c->m);
	}
	snprintf(mc->state, sizeof mc->state, "gone");
}

/* ---- lifecycle of the machines there are ------------------------------- */

/* joined -> terminating, for a reason other than scale-in. */
static void
groups_lost(struct groups_ctx *c, struct machine *mc, const char *why)
{
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
		else if (strcmp(mc->state, "joined") == 0 &&
		    mc->data_dir[0] != '\0' &&
		    provider_process_find(mc->data_dir) == 0)
			groups_lost(c, mc, "its agent process is gone");
		else if (strcmp(mc->state, "launching") == 0 && g != NULL &&
		    !stand_down && c->now - mc->state_at >
		    g->settings.provision_timeout_s * 1000) {
			provider_process_last_line(mc->data_dir, last,
			    sizeof last);
			snprintf(why, sizeof why, "not joined within %s of "
			    "its launch%s%s", groups_dur(
			    g->settings.provision_timeout_s, b, sizeof b),
			    last[0] != '\0' ? "; its agent's last line: " :
			    "", last);
			groups_fail(c, mc, "launching", "machine.timeout", why);
		} else if (strcmp(mc->state, "draining") == 0 &&
		    mc->node_draining) {
			/* Its node drains (master/sched_drain.c ends it). */
		} else if (strcmp(mc->state, "failed") == 0 ||
		    strcmp(mc->state, "draining") == 0) {
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
	log_info("groups: grid %s: group %s: %d machine(s): %s", c->grid,
	    g->name, n, why);
	return 0;
fail:
	store_rollback(c->st);
	return -1;
}

/* 1 when this round launched machines or counts on those on their way. */
static int
groups_scale_up(struct groups_ctx *c, const struct sched_plan *plan,
    uint64_t seed, char **nofit, json_t *waiting)
{
	struct sched_size_group *sg;
	struct sched_size_result r;
	struct machine *mc;
	struct nodegroup *g;
	char ***labels, *cause = NULL, why[600];
	size_t *nlabels, i, k;
	int *launch, *all, *live, *upcoming, demand, any = 0, min_launch;
	int busy = 0;
	json_t *arr, *v;

	sg = xcalloc(c->ngroups + 1, sizeof *sg);
	labels = xcalloc(c->ngroups + 1, sizeof *labels);
	nlabels = xcalloc(c->ngroups + 1, sizeof *nlabels);
	launch = xcalloc(c->ngroups + 1, sizeof *launch);
	all = xcalloc(c->ngroups + 1, sizeof *all);
	live = xcalloc(c->ngroups + 1, sizeof *live);
	upcoming = xcalloc(c->ngroups + 1, sizeof *upcoming);
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
	}
	/* Groups below min launch without demand. */
	for (i = 0; i < c->ngroups; i++) {
		g = &c->groups[i];
		min_launch = (int)g->settings.min - live[i];
		if (min_launch > (int)g->settings.max - all[i])
			min_launch = (int)g->settings.max - all[i];
		if (min_launch > 0 && g->backoff_until <= c->now &&
		    nodegroup_provider_available(g->provider)) {
			snprintf(why, sizeof why, "below its min of %lld",
			    (long long)g->settings.min);
			if (groups_request(c, g, min_launch, why) == 0) {
				all[i] += min_launch;
				upcoming[i] += min_launch;
				any = 1;
			}
		}
	}
	demand = groups_plan_demand(plan);
	if (demand == 0) {
		free(*nofit);
		*nofit = NULL;
		goto out;
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
		if (sg[i].headroom < 0 || g->backoff_until > c->now ||
		    !nodegroup_provider_available(g->provider))
			sg[i].headroom = 0;
	}
	memset(&r, 0, sizeof r);
	r.launch = launch;
	if (sched_size(c->s, sg, c->ngroups, c->now, seed, &r, &cause) != 0) {
		log_error("groups: grid %s: sizing: %s", c->grid, cause);
		free(cause);
		goto out;
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
		snprintf(why, sizeof why, "%d of %d instance(s) or task(s) "
		    "waiting for a node fit on them (sized with %d plan(s))",
		    r.served, r.demand, r.plans);
		if (groups_request(c, &c->groups[i], launch[i], why) == 0)
			any = 1;
	}
	/* What no group serves: one event while the reason holds. */
	if (r.unserved != NULL && (*nofit == NULL ||
	    strcmp(*nofit, r.unserved) != 0)) {
		store_event_add(c->st, c->grid_id, "nodegroup.no_fit", c->grid,
		    "%d instance(s) or task(s) no node group can serve: %s",
		    r.demand - r.served, r.unserved);
		free(*nofit);
		*nofit = r.unserved;
	} else if (r.unserved == NULL) {
		free(*nofit);
		*nofit = NULL;
	} else
		free(r.unserved);
out:
	if (any) {
		/* Launch what was written. */
		free(c->mach);
		c->mach = NULL;
		if (store_machine_list(c->st, c->grid_id, 0, &c->mach,
		    &c->nmach) == 0)
			for (k = 0; k < c->nmach; k++)
				if (strcmp(c->mach[k].state, "requested") == 0)
					groups_launch(c, &c->mach[k]);
	}
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
	int *joined, *draining, done = 0, busy_cap, busy_started = 0;
	char b[32];
	size_t i, k;

	joined = xcalloc(c->ngroups + 1, sizeof *joined);
	draining = xcalloc(c->ngroups + 1, sizeof *draining);
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
	for (k = 0; k < c->nmach && done < GROUPS_MAX_SCALE_IN; k++) {
		mc = &c->mach[k];
		if (strcmp(mc->state, "joined") != 0)
			continue;
		for (i = 0; i < c->ngroups; i++)
			if (c->groups[i].id == mc->group_id)
				break;
		if (i == c->ngroups)
			continue;
		g = &c->groups[i];
		/*
		 * Unneeded: empty (daemons aside), or (docs/nodes.md) its
		 * instances fit on other nodes, as sched_drain_fits() finds
		 * with the node left out; never a protected node, nor one
		 * running a job task.
		 */
		if (mc->node_protected || mc->node_jobs || !mc->node_online ||
		    !mc->node_measured || growing || (mc->node_busy &&
		    sched_drain_fits(c->s, mc->node_id, NULL) != 1)) {
			if (mc->unneeded_since != 0 &&
			    store_machine_unneeded(c->st, mc->id, 0) == 0)
				mc->unneeded_since = 0;
			continue;
		}
		if (mc->unneeded_since == 0) {
			if (store_machine_unneeded(c->st, mc->id, c->now) == 0)
				mc->unneeded_since = c->now;
			continue;
		}
		if (joined[i] <= g->settings.min ||
		    c->now - mc->unneeded_since < g->settings.unneeded_s * 1000 ||
		    c->now - g->last_add_at <
		    g->settings.delay_after_add_s * 1000 ||
		    c->now - g->last_failure_at <
		    g->settings.delay_after_failure_s * 1000)
			continue;
		if (mc->node_busy) {
			/* One such drain per group at a time. */
			if (draining[i] > 0 || busy_started >= busy_cap)
				continue;
			if (sched_drain_scale_in(c->m, c->st, c->grid_id, c->s,
			    mc, g->settings.drain_deadline_s,
			    (c->now - mc->unneeded_since) / 1000) == 0) {
				snprintf(mc->state, sizeof mc->state,
				    "draining");
				joined[i]--;
				draining[i]++;
				busy_started++;
			}
			continue;
		}
		/* Drained (empty: nothing to move) and terminating, with
		 * their events, in one transaction. */
		if (store_begin(c->st) != 0)
			break;
		if (store_machine_state(c->st, mc->id, "joined", "draining",
		    "unneeded", c->now) != 1 ||
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
		snprintf(mc->state, sizeof mc->state, "terminating");
		snprintf(mc->reason, sizeof mc->reason, "scale-in");
		mc->state_at = c->now;
		joined[i]--;
		done++;
		sched_sync_node(c->st, c->s, c->grid_id, mc->node_id);
		provider_process_stop(mc->data_dir, 0);
		log_info("groups: grid %s: scale-in: machine %s", c->grid,
		    mc->name);
	}
	free(joined);
	free(draining);
}

void
sched_groups_round(struct master *m, struct store *st, int64_t grid_id,
    const char *grid, struct sched *s, const struct sched_plan *plan,
    uint64_t seed, char **nofit, int *standing, json_t *waiting)
{
	struct groups_ctx c;
	int growing;

	memset(&c, 0, sizeof c);
	c.m = m;
	c.st = st;
	c.grid_id = grid_id;
	c.grid = grid;
	c.s = s;
	c.now = util_now_ms();
	if (store_nodegroup_list(st, grid_id, &c.groups, &c.ngroups) != 0) {
		log_error("groups: grid %s: %s", grid, store_errmsg(st));
		return;
	}
	if (c.ngroups == 0)
		goto out;
	if (store_machine_list(st, grid_id, 0, &c.mach, &c.nmach) != 0) {
		log_error("groups: grid %s: machines: %s", grid,
		    store_errmsg(st));
		goto out;
	}
	groups_lifecycle(&c, plan->stand_down);
	/* While the safety rule stands down, neither way (a partitioned
	 * master must not double the fleet nor cut it): said once. */
	if (plan->stand_down) {
		if (!*standing)
			store_event_add(st, grid_id, "nodegroup.stand_down",
			    grid, "node groups launch and terminate nothing "
			    "while the scheduler stands down (most nodes "
			    "unreachable at once)");
		*standing = 1;
		goto out;
	}
	*standing = 0;
	/*
	 * New demand a scale-in drain's node could take cancels the drain,
	 * and nothing is launched this round (the node takes it next).
	 */
	if (sched_drain_cancel_for_demand(m, st, grid_id, s,
	    groups_plan_demand(plan), seed) > 0)
		goto out;
	/* Scale-in waits while demand is being served by new machines. */
	growing = groups_scale_up(&c, plan, seed, nofit, waiting);
	groups_scale_in(&c, growing);
out:
	free(c.groups);
	free(c.mach);
}
