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

/* The envelope's maps, served to the parser as its environment. */
struct api_stack_inputs {
	json_t	*variables;	/* NAME -> string */
	json_t	*files;		/* path -> content */
};

static const char *
api_stack_getenv(void *arg, const char *name)
{
	struct api_stack_inputs *in = arg;
	json_t *v = json_object_get(in->variables, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *
api_stack_read_file(void *arg, const char *path, char **cause)
{
	struct api_stack_inputs *in = arg;
	json_t *v = json_object_get(in->files, path);

	if (!json_is_string(v)) {
		xasprintf(cause, "%s: not sent with the stack (the CLI sends "
		    "env_file contents along)", path);
		return NULL;
	}
	return xstrdup(json_string_value(v));
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
api_stack_parse(struct api_ctx *ctx, const char *grid, const char *force_name,
    char **source)
{
	struct api_stack_inputs in = { NULL, NULL };
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
		    "use " UTIL_NAME_RULE, name);
		goto out;
	}
	opts.grid = grid;
	opts.name = name;
	opts.getenv = api_stack_getenv;
	opts.read_file = api_stack_read_file;
	opts.arg = &in;
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

/* The stack was removed by a request that raced this one: 404. */
static void
api_stack_gone(struct api_ctx *ctx, const char *name)
{
	api_error(ctx, 404, NULL, "stack %s was removed meanwhile", name);
}

static void
api_stack_reply(struct api_ctx *ctx, int status, int64_t stack_id,
    const char *name)
{
	json_t *o;
	int rc = store_stack_get_json(ctx->st, stack_id, &o);

	if (rc == 1)
		api_reply(ctx, status, o);
	else if (rc == 0)
		api_stack_gone(ctx, name);
	else
		api_store_error(ctx);
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
	if ((spec = api_stack_parse(ctx, g.name, NULL, &source)) == NULL)
		return;
	rc = store_stack_create(ctx->st, g.id, spec, source, &id);
	if (rc == 1)
		api_error(ctx, 409, "name", "stack \"%s\" exists in grid %s "
		    "(use upgrade, or --name)", json_string_value(
		    json_object_get(spec, "name")), g.name);
	else if (rc != 0)
		api_store_error(ctx);
	else
		api_stack_reply(ctx, 201, id, json_string_value(
		    json_object_get(spec, "name")));
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
		api_stack_reply(ctx, 200, id, ctx->cap[1]);
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
	json_t *spec;
	const char *file_ref;
	char *source = NULL, ref[160];
	int64_t id;
	size_t i;
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	if ((spec = api_stack_parse(ctx, g.name, ctx->cap[1], &source)) == NULL)
		return;
	/* The file must be this stack's: another's would replace it. */
	if ((rc = store_stack_ref(ctx->st, id, ref, sizeof ref)) != 1) {
		if (rc == 0)
			api_stack_gone(ctx, ctx->cap[1]);
		else
			api_store_error(ctx);
		goto out;
	}
	file_ref = json_string_value(json_object_get(spec, "stack"));
	if (file_ref == NULL || strcmp(file_ref, ref) != 0) {
		api_error(ctx, 422, "stack", "the file is stack %s, but stack "
		    "%s was installed from %s; remove it and install the other "
		    "file instead", file_ref ? file_ref : "?", ctx->cap[1],
		    ref);
		goto out;
	}
	rc = store_stack_update(ctx->st, id, spec, source, &u);
	if (rc == 1)
		api_stack_gone(ctx, ctx->cap[1]);
	else if (rc != 0)
		api_store_error(ctx);
	else {
		/* New services wait, inactive, for a deploy to reach them. */
		for (i = 0; i < u.nchanged; i++)
			master_changed_service(ctx->m, u.changed[i]);
		for (i = 0; i < u.nremoved; i++)
			master_changed_service(ctx->m, u.removed[i]);
		for (i = 0; i < u.nrescaled; i++)
			master_changed_service(ctx->m, u.rescaled[i]);
		api_notify_nodes(ctx, u.nodes);
		api_stack_reply(ctx, 200, id, ctx->cap[1]);
	}
	store_stack_update_clear(&u);
out:
	json_decref(spec);
	free(source);
}

void
api_stack_delete(struct api_ctx *ctx)
{
	const char *force = api_query(ctx, "force");
	struct grid g;
	json_t *nodes;
	int64_t id, *services;
	size_t n, i;
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
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
	rc = store_stack_delete(ctx->st, id, nodes, &services, &n);
	if (rc == 1)
		api_stack_gone(ctx, ctx->cap[1]);
	else if (rc != 0)
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
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	rc = store_deploy_create(ctx->st, id, &deploy_id);
	if (rc == 0) {
		rc = store_deploy_get_json(ctx->st, id, deploy_id, &o);
		rc = rc == 1 ? 0 : rc == 0 ? 1 : -1;
	}
	if (rc == 1) {		/* removed by a request that raced ours */
		api_stack_gone(ctx, ctx->cap[1]);
		return;
	}
	if (rc != 0) {
		api_store_error(ctx);
		return;
	}
	master_changed_grid(ctx->m, g.id);
	api_reply(ctx, 202, o);
}

void
api_stack_deploy_list(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id;
	json_t *arr;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	if ((arr = store_deploy_list_json(ctx->st, id)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
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
