/*
 * api_lifecycle.c - stop, start, restart and remove: POST
 * /v1/services/{g}/{s}/{svc}/stop|start|restart, DELETE
 * /v1/services/{g}/{s}/{svc}, POST /v1/stacks/{g}/{s}/stop|start|restart.
 *
 * Runs on the API threads. Each handler resolves the names, makes one
 * store_lifecycle_*() call (one transaction with its events) and then
 * tells the scheduler which services changed and the hub which nodes'
 * desired sets did; it never waits for an agent. stop answers with the
 * service (or stack) as it is now; start and restart answer 202 with the
 * deploy they began, which the CLI follows as it follows `stack deploy`.
 * docs/lifecycle.md has the semantics, docs/api.md the shapes.
 */
#include "master/api.h"

#include <stdlib.h>
#include <string.h>

enum lc_op { LC_OP_STOP, LC_OP_START, LC_OP_RESTART, LC_OP_REMOVE };

/* Resolve cap[0], cap[1] (and cap[2] unless stack_only); replies on failure. */
static int
lc_lookup(struct api_ctx *ctx, int stack_only, struct grid *g,
    int64_t *stack_id, int64_t *service_id)
{
	int rc;

	if (api_grid(ctx, ctx->cap[0], g) != 0)
		return -1;
	rc = store_stack_find(ctx->st, g->id, ctx->cap[1], stack_id);
	if (rc == 0)
		api_error(ctx, 404, NULL, "no stack \"%s\" in grid %s",
		    ctx->cap[1], g->name);
	if (rc != 1)
		goto fail;
	*service_id = 0;
	if (stack_only)
		return 0;
	rc = store_service_find(ctx->st, g->id, ctx->cap[1], ctx->cap[2],
	    service_id);
	if (rc == 0)
		api_error(ctx, 404, NULL, "no service %s/%s in grid %s",
		    ctx->cap[1], ctx->cap[2], g->name);
	if (rc == 1)
		return 0;
fail:
	if (rc < 0)
		api_store_error(ctx);
	return -1;
}

static int
lc_force(struct api_ctx *ctx)
{
	const char *f = api_query(ctx, "force");

	return f != NULL && (strcmp(f, "1") == 0 || strcmp(f, "true") == 0);
}

static void
lc_run(struct api_ctx *ctx, enum lc_op op, int stack_only)
{
	struct lifecycle lc;
	struct grid g;
	enum lifecycle_rc rc;
	int64_t stack_id, service_id;
	int rc2;
	json_t *o, *v;
	size_t i;

	if (lc_lookup(ctx, stack_only, &g, &stack_id, &service_id) != 0)
		return;
	switch (op) {
	case LC_OP_STOP:
		rc = store_lifecycle_stop(ctx->st, stack_id, service_id, &lc);
		break;
	case LC_OP_START:
		rc = store_lifecycle_start(ctx->st, stack_id, service_id, &lc);
		break;
	case LC_OP_RESTART:
		rc = store_lifecycle_restart(ctx->st, stack_id, service_id,
		    &lc);
		break;
	default:
		rc = store_lifecycle_remove(ctx->st, stack_id, service_id,
		    lc_force(ctx), &lc);
		break;
	}
	if (rc == LC_ERROR) {
		api_store_error(ctx);
		goto out;
	}
	if (rc == LC_GONE) {
		api_error(ctx, 404, NULL, stack_only ? "stack %s was removed "
		    "meanwhile" : "service %s/%s was removed meanwhile",
		    ctx->cap[1], ctx->cap[2]);
		goto out;
	}
	if (rc != LC_OK) {
		api_error(ctx, 409, NULL, "%s", lc.cause != NULL ? lc.cause :
		    "refused");
		goto out;
	}
	for (i = 0; i < lc.nservices; i++)
		master_changed_service(ctx->m, lc.services[i]);
	json_array_foreach(lc.nodes, i, v)
		master_desired_changed(ctx->m, json_string_value(v));
	if (lc.deploy_id != 0)
		master_changed_grid(ctx->m, g.id);

	if (op == LC_OP_REMOVE) {
		api_reply(ctx, 204, NULL);
		goto out;
	}
	/* Done; the answer is read after the commit, and a forced delete
	 * may have come in between: 404, not a store error. */
	if (lc.deploy_id != 0)
		rc2 = store_deploy_get_json(ctx->st, stack_id, lc.deploy_id, &o);
	else if (stack_only)
		rc2 = store_stack_get_json(ctx->st, stack_id, &o);
	else
		rc2 = store_service_get_json(ctx->st, g.id, ctx->cap[1],
		    ctx->cap[2], &o);
	if (rc2 == 1)
		api_reply(ctx, lc.deploy_id != 0 ? 202 : 200, o);
	else if (rc2 == 0)
		api_error(ctx, 404, NULL, stack_only ? "stack %s was removed "
		    "meanwhile" : "service %s/%s was removed meanwhile",
		    ctx->cap[1], ctx->cap[2]);
	else
		api_store_error(ctx);
out:
	lifecycle_clear(&lc);
}

void
api_service_stop(struct api_ctx *ctx)
{
	lc_run(ctx, LC_OP_STOP, 0);
}

void
api_service_start(struct api_ctx *ctx)
{
	lc_run(ctx, LC_OP_START, 0);
}

void
api_service_restart(struct api_ctx *ctx)
{
	lc_run(ctx, LC_OP_RESTART, 0);
}

void
api_service_delete(struct api_ctx *ctx)
{
	lc_run(ctx, LC_OP_REMOVE, 0);
}

void
api_stack_stop(struct api_ctx *ctx)
{
	lc_run(ctx, LC_OP_STOP, 1);
}

void
api_stack_start(struct api_ctx *ctx)
{
	lc_run(ctx, LC_OP_START, 1);
}

void
api_stack_restart(struct api_ctx *ctx)
{
	lc_run(ctx, LC_OP_RESTART, 1);
}
