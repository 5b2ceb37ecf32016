/*
 * api_grids.c - /v1/grids: create, list, show, settings, delete, tokens.
 *
 * Runs on the API threads. Creating a grid mints its token and returns it
 * once in the reply ("token"); GET .../token shows it again (unsealed with
 * the master key), POST .../token rotates it: the old token admits no new
 * node, nodes that joined keep their own node tokens.
 */
#include "master/api.h"
#include "master/grid.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void
api_grid_list(struct api_ctx *ctx)
{
	json_t *arr = store_grid_list_json(ctx->st);

	if (arr == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
}

void
api_grid_show(struct api_ctx *ctx)
{
	struct grid g;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	api_reply(ctx, 200, grid_to_json(&g));
}

/*
 * Apply a "settings" object onto gs through the grid settings table: an
 * unknown key or a bad value replies 422 naming "settings.<key>", leaves
 * gs untouched and returns -1.
 */
static int
grid_settings_apply(struct api_ctx *ctx, json_t *obj, struct grid_settings *gs)
{
	char *key = NULL, *cause = NULL, field[96];

	if (settings_apply_json(&grid_settings_table, gs, obj, &key,
	    &cause) == 0)
		return 0;
	if (key != NULL)
		snprintf(field, sizeof field, "settings.%s", key);
	else
		snprintf(field, sizeof field, "settings");
	api_error(ctx, 422, field, "%s", cause);
	free(key);
	free(cause);
	return -1;
}

void
api_grid_create(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "name", "settings", NULL };
	struct grid_settings gs;
	struct grid g;
	json_t *body, *name, *settings, *out;
	char token[TOKEN_LEN + 1];
	int rc;

	if ((body = api_body_object(ctx)) == NULL)
		return;
	if (api_only_keys(ctx, body, "", allowed) != 0)
		goto out;
	name = json_object_get(body, "name");
	if (!json_is_string(name)) {
		api_error(ctx, 422, "name", "name is required: a string of "
		    UTIL_NAME_RULE);
		goto out;
	}
	if (!util_name_valid(json_string_value(name))) {
		api_error(ctx, 422, "name", "name \"%.80s\" is invalid: use "
		    UTIL_NAME_RULE, json_string_value(name));
		goto out;
	}
	grid_settings_default(&gs);
	settings = json_object_get(body, "settings");
	if (settings != NULL && grid_settings_apply(ctx, settings, &gs) != 0)
		goto out;

	rc = grid_create(ctx->m, ctx->st, json_string_value(name), &gs, &g,
	    token);
	if (rc == 1)
		api_error(ctx, 409, "name", "grid \"%s\" exists",
		    json_string_value(name));
	else if (rc != 0)
		api_store_error(ctx);
	else {
		out = grid_to_json(&g);
		json_object_set_new(out, "token", json_string(token));
		api_reply(ctx, 201, out);
		master_changed_grid(ctx->m, g.id);
	}
	OPENSSL_cleanse(token, sizeof token);
out:
	json_decref(body);
}

void
api_grid_patch(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "settings", NULL };
	struct grid_settings old;
	struct grid g;
	json_t *body, *settings;
	char *diff = NULL;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if ((body = api_body_object(ctx)) == NULL)
		return;
	if (api_only_keys(ctx, body, "", allowed) != 0)
		goto out;
	if ((settings = json_object_get(body, "settings")) == NULL) {
		api_error(ctx, 422, "settings", "nothing to change: expected "
		    "{\"settings\": {...}}");
		goto out;
	}
	old = g.settings;
	if (grid_settings_apply(ctx, settings, &g.settings) != 0)
		goto out;
	diff = settings_diff(&grid_settings_table, &old, &g.settings);
	if (store_begin(ctx->st) != 0 ||
	    store_grid_update_settings(ctx->st, g.id, &g.settings) != 0 ||
	    store_event_add(ctx->st, g.id, "grid.settings", g.name,
	    "settings changed: %s", diff != NULL ? diff : "nothing") != 0 ||
	    store_commit(ctx->st) != 0) {
		api_store_error(ctx);
		goto out;
	}
	api_reply(ctx, 200, grid_to_json(&g));
	master_changed_grid(ctx->m, g.id);
out:
	free(diff);
	json_decref(body);
}

void
api_grid_delete(struct api_ctx *ctx)
{
	struct grid g;
	int rc;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	rc = store_grid_delete(ctx->st, g.id);
	if (rc == 1)
		api_error(ctx, 409, NULL, "grid \"%s\" is not empty: remove its "
		    "stacks and nodes first", g.name);
	else if (rc != 0)
		api_store_error(ctx);
	else {
		grid_token_file_remove(ctx->m, g.name);
		api_reply(ctx, 204, NULL);
		master_changed_grid(ctx->m, g.id);
	}
}

void
api_grid_token_get(struct api_ctx *ctx)
{
	struct grid g;
	char token[TOKEN_LEN + 1];

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (grid_token_get(ctx->m, ctx->st, g.id, token) != 0) {
		api_error(ctx, 500, NULL, "cannot unseal the grid token (was "
		    "master.key replaced?)");
		return;
	}
	api_reply(ctx, 200, json_pack("{s:s, s:s}", "grid", g.name,
	    "token", token));
	OPENSSL_cleanse(token, sizeof token);
}

void
api_grid_token_rotate(struct api_ctx *ctx)
{
	struct grid g;
	char token[TOKEN_LEN + 1];

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (grid_token_rotate(ctx->m, ctx->st, &g, token) != 0) {
		api_store_error(ctx);
		return;
	}
	api_reply(ctx, 200, json_pack("{s:s, s:s}", "grid", g.name,
	    "token", token));
	OPENSSL_cleanse(token, sizeof token);
}
