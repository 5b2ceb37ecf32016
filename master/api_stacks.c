/*
 * api_stacks.c - /v1/grids/{g}/stacks and /v1/stacks/{g}/{s}[...].
 *
 * Runs on the API threads. A stack arrives as the file itself
 * (application/yaml, or the same document in JSON) or as the CLI's
 * envelope {"source", "name"?, "variables"?, "files"?}, which carries the
 * values only the operator's machine had (`from: env`, env_file). The
 * master parses it again (stacks/), refuses it with every error (file,
 * line, column, key) and stores nothing, or stores source and services in
 * one transaction.
 */
#include "master/api.h"

#include "stacks/stack.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* What the parser may ask for, served from the request and the store. */
struct api_stack_inputs {
	struct api_ctx	*ctx;		/* the request */
	int64_t		 grid_id;	/* the grid it installs into */
	json_t		*variables;	/* NAME -> string */
	json_t		*files;		/* path -> content */
};

static int
api_stack_getenv(void *arg, const char *name, char **value)
{
	struct api_stack_inputs *in = arg;
	json_t *v = json_object_get(in->variables, name);

	if (!json_is_string(v))
		return 0;
	*value = xstrdup(json_string_value(v));
	return 1;
}

static int
api_stack_read_file(void *arg, const char *path, enum stack_file_base base,
    char **data, size_t *len, char **cause)
{
	struct api_stack_inputs *in = arg;
	json_t *v = json_object_get(in->files, path);

	if (!json_is_string(v)) {
		xasprintf(cause, "%s: not sent with the stack (the CLI sends "
		    "the files a stack names along)", path);
		return -1;
	}
	*len = json_string_length(v);
	*data = xmalloc(*len + 1);
	memcpy(*data, json_string_value(v), *len + 1);
	return 0;
}

/* stack/service in the grid: 1 (and its image and instances), 0, -1. */
static int
api_stack_service_find(void *arg, const char *stack, const char *service,
    json_t **info)
{
	struct api_stack_inputs *in = arg;
	int64_t stack_id;
	json_t *svc;

	if (store_stack_find(in->ctx->st, in->grid_id, stack, &stack_id) != 1)
		return -1;
	if (store_service_get_json(in->ctx->st, in->grid_id, stack, service,
	    &svc) != 1)
		return 0;
	{
		*info = json_pack("{s:O?, s:O?}", "image", json_object_get(svc,
		    "image"), "instances", json_object_get(svc, "instances"));
		json_decref(svc);
	}
	return 1;
}

static int
api_is_yaml(const char *ctype)
{
	return ctype != NULL && (strncmp(ctype, "application/yaml", 16) == 0 ||
	    strncmp(ctype, "application/x-yaml", 18) == 0 ||
	    strncmp(ctype, "text/yaml", 9) == 0 ||
	    strncmp(ctype, "text/x-yaml", 11) == 0);
}

/*
 * Parse the request body into a normalized stack. On failure replies (400
 * for a bad envelope, 422 with every stack error) and returns NULL; on
 * success *source is the text to store (caller frees).
 */
static json_t *
api_stack_parse(struct api_ctx *ctx, const struct grid *g,
    const char *force_name, char **source)
{
	struct api_stack_inputs in = { ctx, g->id, NULL, NULL };
	struct stack_host host;
	struct stack_errors errs = { 0 };
	struct stack_opts opts;
	const char *file = "stack.yml", *text = ctx->body, *name;
	size_t len = ctx->body_len, i;
	json_t *env = NULL, *spec = NULL, *arr, *v;
	json_error_t jerr;

	memset(&opts, 0, sizeof opts);
	name = force_name ? force_name : api_query(ctx, "name");
	if (len == 0) {
		api_error(ctx, 400, NULL, "request body is empty; expected a "
		    "stack file");
		return NULL;
	}
	if (!api_is_yaml(ctx->content_type)) {
		env = json_loadb(ctx->body, ctx->body_len,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (env == NULL) {
			api_error(ctx, 400, NULL, "malformed JSON at line %d "
			    "column %d: %s (send a stack file as "
			    "application/yaml)", jerr.line, jerr.column,
			    jerr.text);
			return NULL;
		}
		if (json_is_object(env) &&
		    json_object_get(env, "source") != NULL) {
			static const char *const allowed[] = { "source", "name",
			    "file", "variables", "files", NULL };

			if (api_only_keys(ctx, env, "", allowed) != 0)
				goto out;
			v = json_object_get(env, "source");
			if (!json_is_string(v)) {
				api_error(ctx, 422, "source", "source must be "
				    "the stack file as a string");
				goto out;
			}
			text = json_string_value(v);
			len = json_string_length(v);
			v = json_object_get(env, "file");
			if (json_is_string(v))
				file = json_string_value(v);
			v = json_object_get(env, "name");
			if (v != NULL && !json_is_string(v)) {
				api_error(ctx, 422, "name", "name must be a "
				    "string");
				goto out;
			}
			if (name == NULL && v != NULL)
				name = json_string_value(v);
			in.variables = json_object_get(env, "variables");
			in.files = json_object_get(env, "files");
			if ((in.variables && !json_is_object(in.variables)) ||
			    (in.files && !json_is_object(in.files))) {
				api_error(ctx, 422, in.files &&
				    !json_is_object(in.files) ? "files" :
				    "variables", "variables and files must be "
				    "objects of strings");
				goto out;
			}
		}
	}
	if (name != NULL && !util_name_valid(name)) {
		api_error(ctx, 422, "name", "stack name \"%.80s\" is invalid: "
		    "use [a-z0-9-], 1 to 63 characters", name);
		goto out;
	}
	memset(&host, 0, sizeof host);
	host.getenv = api_stack_getenv;
	host.read_file = api_stack_read_file;
	host.service_find = api_stack_service_find;
	host.arg = &in;
	opts.grid = g->name;
	opts.name = name;
	opts.host = &host;
	spec = stack_parse(text, len, file, &opts, &errs);
	if (spec == NULL) {
		json_t *body;

		arr = json_array();
		for (i = 0; i < errs.n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:i, s:i,"
			    " s:s, s:s}", "file", errs.v[i].file, "line",
			    errs.v[i].line, "column", errs.v[i].col, "key",
			    errs.v[i].key, "message", errs.v[i].message));
		body = json_pack("{s:s, s:o}", "error", "invalid stack file",
		    "errors", arr);
		if (errs.n > 0) {
			char *msg;

			xasprintf(&msg, "%s:%d:%d: %s%s%s%s", errs.v[0].file,
			    errs.v[0].line, errs.v[0].col, errs.v[0].key,
			    errs.v[0].key[0] ? ": " : "", errs.v[0].message,
			    errs.n > 1 ? " (and more, see errors)" : "");
			json_object_set_new(body, "error", json_string(msg));
			free(msg);
			if (errs.v[0].key[0] != '\0')
				json_object_set_new(body, "field",
				    json_string(errs.v[0].key));
			json_object_set_new(body, "line",
			    json_integer(errs.v[0].line));
		}
		stack_errors_clear(&errs);
		api_reply(ctx, 422, body);
		goto out;
	}
	*source = xstrndup(text, len);
out:
	json_decref(env);
	return spec;
}

void
api_stack_list(struct api_ctx *ctx)
{
	struct grid g;
	json_t *arr;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if ((arr = store_stack_list_json(ctx->st, g.id)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
}

static void
api_stack_reply(struct api_ctx *ctx, int status, int64_t stack_id)
{
	json_t *o;

	if (store_stack_get_json(ctx->st, stack_id, &o) != 1)
		api_store_error(ctx);
	else
		api_reply(ctx, status, o);
}

void
api_stack_create(struct api_ctx *ctx)
{
	struct grid g;
	json_t *spec;
	char *source = NULL;
	int64_t id;
	int rc;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if ((spec = api_stack_parse(ctx, &g, NULL, &source)) == NULL)
		return;
	rc = store_stack_create(ctx->st, g.id, spec, source, &id);
	if (rc == 1)
		api_error(ctx, 409, "name", "stack \"%s\" exists in grid %s "
		    "(use upgrade, or --name)", json_string_value(
		    json_object_get(spec, "name")), g.name);
	else if (rc != 0)
		api_store_error(ctx);
	else
		api_stack_reply(ctx, 201, id);
	free(source);
	json_decref(spec);
}

/* Resolve cap[0]/cap[1] to a grid and stack id; replies on failure. */
static int
api_stack_lookup(struct api_ctx *ctx, struct grid *g, int64_t *id)
{
	int rc;

	if (api_grid(ctx, ctx->cap[0], g) != 0)
		return -1;
	rc = store_stack_find(ctx->st, g->id, ctx->cap[1], id);
	if (rc == 1)
		return 0;
	if (rc == 0)
		api_error(ctx, 404, NULL, "no stack \"%s\" in grid %s",
		    ctx->cap[1], g->name);
	else
		api_store_error(ctx);
	return -1;
}

void
api_stack_show(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id;

	if (api_stack_lookup(ctx, &g, &id) == 0)
		api_stack_reply(ctx, 200, id);
}

static void
api_notify_nodes(struct api_ctx *ctx, json_t *nodes)
{
	json_t *v;
	size_t i;

	json_array_foreach(nodes, i, v)
		master_desired_changed(ctx->m, json_string_value(v));
}

void
api_stack_upgrade(struct api_ctx *ctx)
{
	struct stack_update u;
	struct grid g;
	json_t *spec, *keep, *svc;
	char *source = NULL, links[512];
	int64_t id;
	size_t i;
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	if ((spec = api_stack_parse(ctx, &g, ctx->cap[1], &source)) == NULL)
		return;
	keep = json_object();
	json_array_foreach(json_object_get(spec, "services"), i, svc)
		json_object_set(keep, json_string_value(json_object_get(svc,
		    "name")), json_true());
	rc = store_stack_linked_from(ctx->st, id, keep, links, sizeof links);
	json_decref(keep);
	if (rc != 0) {
		if (rc < 0)
			api_store_error(ctx);
		else
			api_error(ctx, 409, "services", "the upgrade removes "
			    "services that other stacks link to (%s); remove "
			    "those links first", links);
		json_decref(spec);
		free(source);
		return;
	}
	if (store_stack_update(ctx->st, id, spec, source, &u) != 0)
		api_store_error(ctx);
	else {
		/* New services wait, inactive, for a deploy to reach them. */
		for (i = 0; i < u.nchanged; i++)
			master_changed_service(ctx->m, u.changed[i]);
		for (i = 0; i < u.nremoved; i++)
			master_changed_service(ctx->m, u.removed[i]);
		api_notify_nodes(ctx, u.nodes);
		api_stack_reply(ctx, 200, id);
	}
	store_stack_update_clear(&u);
	json_decref(spec);
	free(source);
}

void
api_stack_delete(struct api_ctx *ctx)
{
	const char *force = api_query(ctx, "force");
	char links[512];
	struct grid g;
	json_t *nodes;
	int64_t id, *services;
	size_t n, i;
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	/* Kontena refused this too: their links would point nowhere. */
	rc = store_stack_linked_from(ctx->st, id, NULL, links, sizeof links);
	if (rc < 0) {
		api_store_error(ctx);
		return;
	}
	if (rc > 0) {
		api_error(ctx, 409, NULL, "stack %s is linked from other "
		    "stacks (%s); remove those links first", ctx->cap[1],
		    links);
		return;
	}
	if (force == NULL || (strcmp(force, "1") != 0 &&
	    strcmp(force, "true") != 0)) {
		rc = store_deploy_running(ctx->st, id);
		if (rc < 0) {
			api_store_error(ctx);
			return;
		}
		if (rc == 1) {
			api_error(ctx, 409, NULL, "stack %s has a deploy in "
			    "progress; wait for it or remove with --force",
			    ctx->cap[1]);
			return;
		}
	}
	nodes = json_array();
	if (store_stack_delete(ctx->st, id, nodes, &services, &n) != 0)
		api_store_error(ctx);
	else {
		for (i = 0; i < n; i++)
			master_changed_service(ctx->m, services[i]);
		free(services);
		api_notify_nodes(ctx, nodes);
		api_reply(ctx, 204, NULL);
	}
	json_decref(nodes);
}

void
api_stack_deploy(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id, deploy_id;
	json_t *o;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	if (store_deploy_create(ctx->st, id, &deploy_id) != 0 ||
	    store_deploy_get_json(ctx->st, id, deploy_id, &o) != 1) {
		api_store_error(ctx);
		return;
	}
	master_changed_grid(ctx->m, g.id);
	api_reply(ctx, 202, o);
}

void
api_stack_deploy_show(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id, deploy_id;
	char *end;
	json_t *o;
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	deploy_id = strtoll(ctx->cap[2], &end, 10);
	if (*end != '\0' || deploy_id <= 0) {
		api_error(ctx, 404, NULL, "no deploy \"%s\"", ctx->cap[2]);
		return;
	}
	rc = store_deploy_get_json(ctx->st, id, deploy_id, &o);
	if (rc == 1)
		api_reply(ctx, 200, o);
	else if (rc == 0)
		api_error(ctx, 404, NULL, "no deploy %lld of stack %s",
		    (long long)deploy_id, ctx->cap[1]);
	else
		api_store_error(ctx);
}
