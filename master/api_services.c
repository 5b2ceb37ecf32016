/*
 * api_services.c - /v1/grids/{g}/services and /v1/services/{g}/{s}/{svc}
 * with its scale and containers routes.
 *
 * Runs on the API threads. Listing takes ?stack=S to narrow to one stack.
 * Scaling writes the service's instance count and its event in one
 * transaction and tells the scheduler; the containers route lists the
 * service's instances with what their agents last reported.
 */
#include "master/api.h"

#include <stdio.h>

void
api_service_list(struct api_ctx *ctx)
{
	struct grid g;
	json_t *arr;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	arr = store_service_list_json(ctx->st, g.id, api_query(ctx, "stack"));
	if (arr == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
}

void
api_service_show(struct api_ctx *ctx)
{
	struct grid g;
	json_t *o;
	int rc;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	rc = store_service_get_json(ctx->st, g.id, ctx->cap[1], ctx->cap[2], &o);
	if (rc == 1)
		api_reply(ctx, 200, o);
	else if (rc == 0)
		api_error(ctx, 404, NULL, "no service %s/%s in grid %s",
		    ctx->cap[1], ctx->cap[2], g.name);
	else
		api_store_error(ctx);
}

/* Resolve cap[0..2] to a service id; replies on failure. */
static int
api_service_lookup(struct api_ctx *ctx, struct grid *g, int64_t *id)
{
	int rc;

	if (api_grid(ctx, ctx->cap[0], g) != 0)
		return -1;
	rc = store_service_find(ctx->st, g->id, ctx->cap[1], ctx->cap[2], id);
	if (rc == 1)
		return 0;
	if (rc == 0)
		api_error(ctx, 404, NULL, "no service %s/%s in grid %s",
		    ctx->cap[1], ctx->cap[2], g->name);
	else
		api_store_error(ctx);
	return -1;
}

/* The service was removed (with its stack) by a request that raced ours. */
static void
api_service_gone(struct api_ctx *ctx)
{
	api_error(ctx, 404, NULL, "service %s/%s was removed meanwhile",
	    ctx->cap[1], ctx->cap[2]);
}

void
api_service_scale(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "instances", NULL };
	struct grid g;
	json_t *body, *n, *o;
	char label[160];
	int64_t id;
	int rc;

	if (api_service_lookup(ctx, &g, &id) != 0)
		return;
	snprintf(label, sizeof label, "%s/%s", ctx->cap[1], ctx->cap[2]);
	if ((body = api_body_object(ctx)) == NULL)
		return;
	if (api_only_keys(ctx, body, "", allowed) != 0)
		goto out;
	n = json_object_get(body, "instances");
	if (!json_is_integer(n) || json_integer_value(n) < 0 ||
	    json_integer_value(n) > 10000) {
		api_error(ctx, 422, "instances", "instances must be a whole "
		    "number from 0 to 10000");
		goto out;
	}
	if (store_begin(ctx->st) != 0 ||
	    (rc = store_service_scale(ctx->st, id,
	    (int)json_integer_value(n))) < 0) {
		api_store_error(ctx);
		goto out;
	}
	if (rc == 1) {
		store_rollback(ctx->st);
		api_service_gone(ctx);
		goto out;
	}
	if (store_event_add(ctx->st, g.id, "service.scale", label,
	    "service %s/%s scaled to %lld", ctx->cap[1], ctx->cap[2],
	    (long long)json_integer_value(n)) != 0 ||
	    store_commit(ctx->st) != 0) {
		api_store_error(ctx);
		goto out;
	}
	master_changed_service(ctx->m, id);
	rc = store_service_get_json(ctx->st, g.id, ctx->cap[1], ctx->cap[2],
	    &o);
	if (rc == 1)
		api_reply(ctx, 200, o);
	else if (rc == 0)
		api_service_gone(ctx);
	else
		api_store_error(ctx);
out:
	json_decref(body);
}

void
api_service_containers(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id;
	json_t *arr;

	if (api_service_lookup(ctx, &g, &id) != 0)
		return;
	if ((arr = store_service_containers_json(ctx->st, id)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
}
