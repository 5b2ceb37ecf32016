/*
 * api_services.c - /v1/grids/{g}/services and /v1/services/{g}/{s}/{svc}.
 *
 * Runs on the API threads. Listing takes ?stack=S to narrow to one stack.
 */
#include "master/api.h"

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
