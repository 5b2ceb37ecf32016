/*
 * api_node_ops.c - node operations: POST /v1/nodes/{g}/{node}/cordon,
 * /uncordon, /drain, /protect and /approve (docs/nodes.md).
 *
 * Runs on the API threads. Each writes the node's row and its event in one
 * transaction and tells the scheduler, whose next round acts on it (a
 * cordon keeps new records off the node; a drain moves them off, master/
 * sched_drain.c ends it). Every reply is the node's JSON as GET shows it.
 * A body is optional; when there is one, it is a JSON object whose every
 * key is known and checked (a 422 names the field).
 */
#include "master/api.h"

#include "common/units.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define DRAIN_DEADLINE_MAX_S	(7 * 86400)

/* The optional body: NULL and 0 when empty; -1 after a reply. */
static int
ops_body(struct api_ctx *ctx, const char *const *allowed, json_t **out)
{
	*out = NULL;
	if (ctx->body_len == 0)
		return 0;
	if ((*out = api_body_object(ctx)) == NULL)
		return -1;
	if (api_only_keys(ctx, *out, "", allowed) != 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Reply with the node's JSON, and tell the scheduler. */
static void
ops_reply(struct api_ctx *ctx, struct grid *g, const char *id)
{
	json_t *o;

	master_changed_node(ctx->m, id);
	if (store_node_get_json(ctx->st, g->id, id, &o) != 1)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, o);
}

/* Read the node's operation state; replies on failure. */
static int
ops_get(struct api_ctx *ctx, const char *id, struct node_ops *o)
{
	if (store_node_ops_get(ctx->st, id, o) == 1)
		return 0;
	/* Gone between the lookup and now: as if it never was. */
	api_error(ctx, 404, NULL, "no node \"%s\"", ctx->cap[1]);
	return -1;
}

/*
 * The start of an operation that takes no body (cordon, uncordon,
 * approve): the grid and node of the path, an empty body, the node's
 * state. 0, or -1 with the error answered.
 */
static int
ops_plain(struct api_ctx *ctx, struct grid *g, char id[NODE_ID_LEN + 1],
    struct node_ops *o)
{
	static const char *const none[] = { NULL };
	json_t *body;

	if (api_node_lookup(ctx, g, id) != 0 || ops_body(ctx, none, &body))
		return -1;
	json_decref(body);
	return ops_get(ctx, id, o);
}

void
api_node_cordon(struct api_ctx *ctx)
{
	struct grid g;
	struct node_ops o;
	char id[NODE_ID_LEN + 1];
	int rc;

	if (ops_plain(ctx, &g, id, &o) != 0)
		return;
	if (store_begin(ctx->st) != 0 ||
	    (rc = store_node_cordon(ctx->st, id, 1)) < 0 ||
	    (rc == 1 && store_event_add(ctx->st, g.id, "node.cordon", o.name,
	    "node %s cordoned: no new instance, daemon or job goes there; "
	    "what runs there stays", o.name) != 0) ||
	    store_commit(ctx->st) != 0) {
		store_rollback(ctx->st);
		api_store_error(ctx);
		return;
	}
	ops_reply(ctx, &g, id);
}

void
api_node_uncordon(struct api_ctx *ctx)
{
	struct grid g;
	struct node_ops o;
	char id[NODE_ID_LEN + 1];
	int rc, draining;

	if (ops_plain(ctx, &g, id, &o) != 0)
		return;
	draining = strcmp(o.drain_state, "draining") == 0;
	if (store_begin(ctx->st) != 0 ||
	    (rc = store_node_cordon(ctx->st, id, 0)) < 0 ||
	    (draining && store_event_add(ctx->st, g.id, "node.drain_cancel",
	    o.name, "drain of node %s cancelled by an operator (%d "
	    "instance(s), %d job(s) still on it)", o.name, o.instances,
	    o.jobs) != 0) ||
	    /* A scale-in's machine stays. */
	    (draining && o.machine_id != 0 && store_machine_state(ctx->st,
	    o.machine_id, "draining", "joined", "drain cancelled",
	    util_now_ms()) < 0) ||
	    (rc == 1 && store_event_add(ctx->st, g.id, "node.uncordon",
	    o.name, "node %s uncordoned: it takes new instances again",
	    o.name) != 0) ||
	    store_commit(ctx->st) != 0) {
		store_rollback(ctx->st);
		api_store_error(ctx);
		return;
	}
	ops_reply(ctx, &g, id);
}

void
api_node_drain(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "deadline_s", NULL };
	struct grid g;
	struct node_ops o;
	char id[NODE_ID_LEN + 1], dur[32];
	int64_t now = util_now_ms(), deadline_s;
	json_t *body, *v;
	int rc;

	if (api_node_lookup(ctx, &g, id) != 0 ||
	    ops_body(ctx, allowed, &body) != 0)
		return;
	v = json_object_get(body, "deadline_s");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > DRAIN_DEADLINE_MAX_S)) {
		api_error(ctx, 422, "deadline_s", "deadline_s must be a whole "
		    "number of seconds from 1 to %d", DRAIN_DEADLINE_MAX_S);
		json_decref(body);
		return;
	}
	deadline_s = v != NULL ? json_integer_value(v) : 0;
	json_decref(body);
	if (ops_get(ctx, id, &o) != 0)
		return;
	if (o.machine_id != 0 && strcmp(o.machine_state, "joined") != 0 &&
	    strcmp(o.machine_state, "draining") != 0) {
		api_error(ctx, 409, NULL, "node %s's machine is %s: there is "
		    "nothing to drain", o.name, o.machine_state);
		return;
	}
	/* The request's, else its group's, else the grid's. */
	if (deadline_s == 0)
		deadline_s = o.group_deadline_s > 0 ? o.group_deadline_s :
		    g.settings.drain_deadline_s;
	if (store_begin(ctx->st) != 0)
		goto fail;
	rc = store_node_drain_start(ctx->st, id, "operator", now,
	    now + deadline_s * 1000);
	if (rc < 0 || (rc == 1 && store_event_add(ctx->st, g.id, "node.drain",
	    o.name, "node %s draining (by an operator): %d instance(s) move "
	    "off start-before-stop, %d job(s) run to their end, %d daemon(s) "
	    "stop last; deadline %s", o.name, o.instances, o.jobs, o.daemons,
	    units_format_duration(deadline_s, dur, sizeof dur)) != 0) ||
	    (rc == 0 && store_event_add(ctx->st, g.id, "node.drain_deadline",
	    o.name, "node %s: drain deadline now %s from now", o.name,
	    units_format_duration(deadline_s, dur, sizeof dur)) != 0) ||
	    store_commit(ctx->st) != 0)
		goto fail;
	ops_reply(ctx, &g, id);
	return;
fail:
	store_rollback(ctx->st);
	api_store_error(ctx);
}

void
api_node_protect(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "protected", NULL };
	struct grid g;
	struct node_ops o;
	char id[NODE_ID_LEN + 1];
	json_t *body, *v;
	int rc, on = 1;

	if (api_node_lookup(ctx, &g, id) != 0 ||
	    ops_body(ctx, allowed, &body) != 0)
		return;
	v = json_object_get(body, "protected");
	if (v != NULL && !json_is_boolean(v)) {
		api_error(ctx, 422, "protected", "protected must be true or "
		    "false");
		json_decref(body);
		return;
	}
	if (v != NULL)
		on = json_is_true(v);
	json_decref(body);
	if (ops_get(ctx, id, &o) != 0)
		return;
	if (store_begin(ctx->st) != 0 ||
	    (rc = store_node_protect(ctx->st, id, on)) < 0 ||
	    (rc == 1 && store_event_add(ctx->st, g.id, on ? "node.protect" :
	    "node.unprotect", o.name, on ? "node %s protected: scale-in "
	    "never chooses it" : "node %s no longer protected from scale-in",
	    o.name) != 0) ||
	    store_commit(ctx->st) != 0) {
		store_rollback(ctx->st);
		api_store_error(ctx);
		return;
	}
	ops_reply(ctx, &g, id);
}

/*
 * Admit a pending node (docs/nodes.md, "Pending nodes"): from the next
 * scheduler round it is a node like any other, and the hub sends its
 * agent its desired set. A node that is not pending: 409.
 */
void
api_node_approve(struct api_ctx *ctx)
{
	struct grid g;
	struct node_ops o;
	char id[NODE_ID_LEN + 1];
	int rc;

	if (ops_plain(ctx, &g, id, &o) != 0)
		return;
	if (store_begin(ctx->st) != 0 ||
	    (rc = store_node_approve(ctx->st, id)) < 0 ||
	    (rc == 1 && store_event_add(ctx->st, g.id, "node.approve", o.name,
	    "node %s approved by an operator: it takes instances, daemons "
	    "and jobs from now on", o.name) != 0) ||
	    store_commit(ctx->st) != 0) {
		store_rollback(ctx->st);
		api_store_error(ctx);
		return;
	}
	if (rc == 0) {
		api_error(ctx, 409, NULL, "node %s is not pending: it was "
		    "admitted already", o.name);
		return;
	}
	/* The hub sends its agent its desired set (empty until the next
	 * round places something there). */
	master_desired_changed(ctx->m, id);
	ops_reply(ctx, &g, id);
}
