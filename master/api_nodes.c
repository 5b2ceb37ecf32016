/*
 * api_nodes.c - /v1/grids/{g}/nodes and /v1/nodes/{g}/{node}.
 *
 * Runs on the API threads. A node is addressed by name or id. Deleting a
 * node or resetting its token closes its live agent session (through the
 * hub's outbox; the handler never waits on the agent).
 */
#include "master/api.h"
#include "master/loadring.h"

#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

void
api_node_list(struct api_ctx *ctx)
{
	struct grid g;
	uint64_t gen;
	char key[48], *text;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	/*
	 * Node lists are what dashboards poll. The text is kept until
	 * anything a list shows changes (nodes_gen): the generation is read
	 * before the query, so a change racing with it only makes the
	 * cached text look older than it is.
	 */
	snprintf(key, sizeof key, "nodes:%lld", (long long)g.id);
	gen = atomic_load(&ctx->m->nodes_gen);
	if ((text = api_cache_get(ctx, key, gen)) == NULL) {
		if ((text = store_node_list_text(ctx->st, g.id)) == NULL) {
			api_store_error(ctx);
			return;
		}
		api_cache_put(ctx, key, gen, text);
	}
	api_reply_text(ctx, 200, "application/json", text);
	free(text);
}

/* Resolve cap[0]/cap[1] to a grid and node id; replies on failure. */
int
api_node_lookup(struct api_ctx *ctx, struct grid *g, char id[NODE_ID_LEN + 1])
{
	int rc;

	if (api_grid(ctx, ctx->cap[0], g) != 0)
		return -1;
	rc = store_node_find(ctx->st, g->id, ctx->cap[1], id);
	if (rc == 1)
		return 0;
	if (rc == 0)
		api_error(ctx, 404, NULL, "no node \"%s\" in grid %s",
		    ctx->cap[1], g->name);
	else
		api_store_error(ctx);
	return -1;
}

/*
 * The node's last minutes from the hub's ring (master/loadring.h):
 * "load_history", one sample per 10 s slot, oldest first, and "load_avg",
 * the mean CPU use over the last 1, 5 and 10 minutes (null without data).
 */
static void
api_node_load(struct api_ctx *ctx, const char *id, json_t *o)
{
	static const int mins[] = { 1, 5, 10 };
	struct load_sample *v = NULL;
	json_t *hist = json_array(), *avg = json_object(), *e;
	int64_t now = util_now_ms();
	double sum;
	char t[32], key[8];
	size_t n = 0, i, k, cnt;

	if (ctx->m->loads != NULL)
		n = loadring_get(ctx->m->loads, id, now, &v);
	for (i = 0; i < n; i++) {
		util_iso8601(v[i].at, t, sizeof t);
		e = json_pack("{s:s, s:f}", "at", t, "cpu_pct", v[i].cpu_pct);
		json_object_set_new(e, "mem_used", v[i].mem_used < 0 ?
		    json_null() : json_integer(v[i].mem_used));
		json_object_set_new(e, "mem_total", v[i].mem_total < 0 ?
		    json_null() : json_integer(v[i].mem_total));
		json_object_set_new(e, "containers", v[i].containers < 0 ?
		    json_null() : json_integer(v[i].containers));
		json_array_append_new(hist, e);
	}
	for (k = 0; k < sizeof mins / sizeof mins[0]; k++) {
		sum = 0;
		cnt = 0;
		for (i = 0; i < n; i++) {
			if (now - v[i].at <= (int64_t)mins[k] * 60000) {
				sum += v[i].cpu_pct;
				cnt++;
			}
		}
		snprintf(key, sizeof key, "%dm", mins[k]);
		json_object_set_new(avg, key, cnt > 0 ?
		    json_real(sum / (double)cnt) : json_null());
	}
	free(v);
	json_object_set_new(o, "load_avg", avg);
	json_object_set_new(o, "load_history", hist);
}

/* The grid network's other nodes, as the node's agent is told of them. */
static void
api_node_peers(struct api_ctx *ctx, int64_t grid_id, const char *id,
    json_t *o)
{
	char *text = store_network_peers_text(ctx->st, grid_id);
	json_t *all = text != NULL ? json_loads(text, 0, NULL) : NULL;
	json_t *peers = json_array(), *p;
	size_t i;

	free(text);
	json_array_foreach(all, i, p)
		if (strcmp(json_string_value(json_object_get(p, "node_id")) ?
		    json_string_value(json_object_get(p, "node_id")) : "",
		    id) != 0)
			json_array_append(peers, p);
	json_decref(all);
	json_object_set_new(o, "peers", peers);
}

void
api_node_show(struct api_ctx *ctx)
{
	struct grid g;
	char id[NODE_ID_LEN + 1];
	json_t *o;

	if (api_node_lookup(ctx, &g, id) != 0)
		return;
	if (store_node_get_json(ctx->st, g.id, id, &o) != 1)
		api_store_error(ctx);
	else {
		api_node_load(ctx, id, o);
		api_node_peers(ctx, g.id, id, o);
		api_reply(ctx, 200, o);
	}
}

void
api_node_patch(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "labels", NULL };
	struct grid g;
	char id[NODE_ID_LEN + 1], field[32], *text = NULL;
	json_t *body, *labels, *v, *o;
	size_t i;

	if (api_node_lookup(ctx, &g, id) != 0)
		return;
	if ((body = api_body_object(ctx)) == NULL)
		return;
	if (api_only_keys(ctx, body, "", allowed) != 0)
		goto out;
	labels = json_object_get(body, "labels");
	if (!json_is_array(labels)) {
		api_error(ctx, 422, "labels", "labels must be an array of "
		    "\"key=value\" strings");
		goto out;
	}
	if (json_array_size(labels) > 256) {
		api_error(ctx, 422, "labels", "at most 256 labels");
		goto out;
	}
	json_array_foreach(labels, i, v) {
		size_t j;

		snprintf(field, sizeof field, "labels[%zu]", i);
		if (!json_is_string(v) ||
		    !util_label_valid(json_string_value(v))) {
			api_error(ctx, 422, field, "%s is not a key=value label "
			    "(key: letters, digits, . _ -; value: printable, "
			    "no spaces or commas)", field);
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (util_label_same_key(json_string_value(v),
			    json_string_value(json_array_get(labels, j)))) {
				api_error(ctx, 422, field, "%s repeats the key "
				    "of labels[%zu]", field, j);
				goto out;
			}
		}
	}
	text = json_dumps(labels, JSON_COMPACT);
	if (store_begin(ctx->st) != 0 ||
	    store_node_set_labels(ctx->st, id, text) != 0 ||
	    store_event_add(ctx->st, g.id, "node.labels", ctx->cap[1],
	    "labels set to %s", text) != 0 ||
	    store_commit(ctx->st) != 0) {
		api_store_error(ctx);
		goto out;
	}
	if (store_node_get_json(ctx->st, g.id, id, &o) != 1) {
		api_store_error(ctx);
		goto out;
	}
	api_reply(ctx, 200, o);
	master_changed_node(ctx->m, id);
out:
	free(text);
	json_decref(body);
}

/*
 * Remove a node. A connected node is refused unless ?force=1: its agent is
 * alive and would run its containers on, unmanaged. Either way the id is
 * revoked: the agent cannot rejoin under it with the grid token and get
 * its containers made again (it must start over as a new node).
 */
void
api_node_delete(struct api_ctx *ctx)
{
	const char *force = api_query(ctx, "force");
	struct grid g;
	char id[NODE_ID_LEN + 1], name[64], why[128];
	int64_t *jobs = NULL;
	size_t njobs = 0, i;
	json_t *o;
	int rc, pending = 0;

	if (api_node_lookup(ctx, &g, id) != 0)
		return;
	if ((rc = store_node_connected(ctx->st, id)) < 0) {
		api_store_error(ctx);
		return;
	}
	/* A pending node runs nothing of ours: turned away without --force. */
	if (rc == 1 && (pending = store_node_pending(ctx->st, id)) < 0) {
		api_store_error(ctx);
		return;
	}
	if (rc == 1 && !pending && (force == NULL || (strcmp(force, "1") != 0 &&
	    strcmp(force, "true") != 0))) {
		api_error(ctx, 409, NULL, "node %s is connected: its agent "
		    "would keep its containers running; stop the agent first, "
		    "or remove it with --force (?force=1), which also revokes "
		    "its id", ctx->cap[1]);
		return;
	}
	if (store_node_get_json(ctx->st, g.id, id, &o) != 1) {
		api_store_error(ctx);
		return;
	}
	snprintf(name, sizeof name, "%s", json_string_value(json_object_get(o,
	    "name")));
	json_decref(o);
	snprintf(why, sizeof why, "node %s was removed by an operator", name);
	if (store_begin(ctx->st) != 0 ||
	    store_event_add(ctx->st, g.id, "node.remove", name,
	    "node %s (%s) removed by an operator%s; its id is revoked", name,
	    id, pending ? " while pending (turned away)" : rc == 1 ?
	    " while connected" : "") != 0 ||
	    store_job_node_gone(ctx->st, id, why, util_now_ms(), &jobs,
	    &njobs) != 0 ||
	    store_node_delete(ctx->st, id) != 0 ||
	    store_node_revoke(ctx->st, id, g.id, name) != 0 ||
	    store_commit(ctx->st) != 0) {
		free(jobs);
		store_rollback(ctx->st);
		api_store_error(ctx);
		return;
	}
	master_kick_node(ctx->m, id, PROTO_CLOSE_NODE_REMOVED);
	master_changed_node(ctx->m, id);
	for (i = 0; i < njobs; i++)
		master_changed_job(ctx->m, jobs[i]);
	free(jobs);
	api_reply(ctx, 204, NULL);
}

void
api_node_token_reset(struct api_ctx *ctx)
{
	struct grid g;
	char id[NODE_ID_LEN + 1];

	if (api_node_lookup(ctx, &g, id) != 0)
		return;
	if (store_begin(ctx->st) != 0 ||
	    store_node_clear_token(ctx->st, id) != 0 ||
	    store_event_add(ctx->st, g.id, "node.token", ctx->cap[1],
	    "node token reset; the node must rejoin with the grid token") != 0 ||
	    store_commit(ctx->st) != 0) {
		api_store_error(ctx);
		return;
	}
	master_kick_node(ctx->m, id, PROTO_CLOSE_TOKEN_RESET);
	api_reply(ctx, 200, json_pack("{s:s, s:b}", "node", id, "reset", 1));
}
