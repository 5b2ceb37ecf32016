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
 * Apply a "settings" object onto gs. Each key is bounded; an unknown key
 * or a bad value replies 422 naming "settings.<key>" and returns -1.
 */
static int
grid_settings_apply(struct api_ctx *ctx, json_t *obj, struct grid_settings *gs)
{
	static const struct {
		const char	*name;	/* JSON key */
		size_t		 off;	/* into struct grid_settings */
		int64_t		 min, max;
	} keys[] = {
		{ "heartbeat_interval_s",
		  offsetof(struct grid_settings, heartbeat_interval_s), 1, 3600 },
		{ "offline_after_s",
		  offsetof(struct grid_settings, offline_after_s), 1, 86400 },
		{ "ephemeral_removal_s",
		  offsetof(struct grid_settings, ephemeral_removal_s), 1,
		  86400 * 30 },
		{ "ha_grace_s", offsetof(struct grid_settings, ha_grace_s), 0,
		  86400 },
		{ "random_grace_s",
		  offsetof(struct grid_settings, random_grace_s), 0, 86400 },
		{ "rebalance_settle_s",
		  offsetof(struct grid_settings, rebalance_settle_s), 0, 86400 },
		{ "move_cooldown_s",
		  offsetof(struct grid_settings, move_cooldown_s), 0, 86400 },
	};
	const char *key;
	json_t *v;
	size_t i;
	char field[96];

	if (!json_is_object(obj)) {
		api_error(ctx, 422, "settings", "settings must be an object");
		return -1;
	}
	json_object_foreach(obj, key, v) {
		snprintf(field, sizeof field, "settings.%s", key);
		if (strcmp(key, "dry_run") == 0) {
			if (!json_is_boolean(v)) {
				api_error(ctx, 422, field, "%s must be true or "
				    "false", field);
				return -1;
			}
			gs->dry_run = json_is_true(v);
			continue;
		}
		for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (strcmp(keys[i].name, key) == 0)
				break;
		if (i == sizeof keys / sizeof keys[0]) {
			api_error(ctx, 422, field, "unknown setting \"%s\"", key);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < keys[i].min ||
		    json_integer_value(v) > keys[i].max) {
			api_error(ctx, 422, field, "%s must be a whole number "
			    "of seconds from %lld to %lld", field,
			    (long long)keys[i].min, (long long)keys[i].max);
			return -1;
		}
		*(int64_t *)((char *)gs + keys[i].off) = json_integer_value(v);
	}
	if (gs->offline_after_s < gs->heartbeat_interval_s) {
		api_error(ctx, 422, "settings.offline_after_s",
		    "offline_after_s (%lld) must be at least "
		    "heartbeat_interval_s (%lld)",
		    (long long)gs->offline_after_s,
		    (long long)gs->heartbeat_interval_s);
		return -1;
	}
	return 0;
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
		    "[a-z0-9-], 1 to 63 characters");
		goto out;
	}
	if (!util_name_valid(json_string_value(name))) {
		api_error(ctx, 422, "name", "name \"%.80s\" is invalid: use "
		    "[a-z0-9-], 1 to 63 characters", json_string_value(name));
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
	struct grid g;
	json_t *body, *settings;

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
	if (grid_settings_apply(ctx, settings, &g.settings) != 0)
		goto out;
	if (store_begin(ctx->st) != 0 ||
	    store_grid_update_settings(ctx->st, g.id, &g.settings) != 0 ||
	    store_event_add(ctx->st, g.id, "grid.settings", g.name,
	    "settings changed: heartbeat %llds, offline after %llds, "
	    "ephemeral removal %llds, ha grace %llds, random grace %llds%s",
	    (long long)g.settings.heartbeat_interval_s,
	    (long long)g.settings.offline_after_s,
	    (long long)g.settings.ephemeral_removal_s,
	    (long long)g.settings.ha_grace_s,
	    (long long)g.settings.random_grace_s,
	    g.settings.dry_run ? ", dry run" : "") != 0 ||
	    store_commit(ctx->st) != 0) {
		api_store_error(ctx);
		goto out;
	}
	api_reply(ctx, 200, grid_to_json(&g));
	master_changed_grid(ctx->m, g.id);
out:
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
