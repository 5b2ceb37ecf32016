/*
 * api_network.c - the grid network (docs/network.md).
 *
 * GET /v1/grids/{g}/networks	[the grid network]
 * GET /v1/networks/{g}/{name}	the network: prefix, VXLAN id, domain,
 *				every node's subnet and underlay address
 *
 * A grid has one network, "grid"; the list form leaves room for more.
 */
#include "master/api.h"
#include "master/store.h"

#include "common/netaddr.h"

#include <string.h>

void
api_network_list(struct api_ctx *ctx)
{
	struct grid g;
	json_t *o;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if ((o = store_network_json(ctx->st, g.id)) == NULL) {
		api_store_error(ctx);
		return;
	}
	api_reply(ctx, 200, json_pack("[o]", o));
}

void
api_network_show(struct api_ctx *ctx)
{
	struct grid g;
	json_t *o;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (strcmp(ctx->cap[1], NET_GRID_NETWORK) != 0) {
		api_error(ctx, 404, NULL, "no network %s in grid %s (a grid "
		    "has one network, \"" NET_GRID_NETWORK "\")", ctx->cap[1],
		    g.name);
		return;
	}
	if ((o = store_network_json(ctx->st, g.id)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, o);
}
