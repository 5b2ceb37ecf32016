/*
 * api_jobs.c - /v1/grids/{g}/jobs and /v1/jobs/{g}/{j} with its cancel and
 * logs routes (docs/jobs.md, docs/api.md "Jobs").
 *
 * Runs on the API threads. A job arrives as JSON or as YAML (the same
 * parser, stacks/job_spec.c, reads both: every field checked, 422 naming
 * the first bad one with its line, every error listed; nothing stored on
 * refusal). Creating, cancelling and deleting each write their rows and
 * events in one transaction, then tell the scheduler (which queues and
 * places the tasks) and the hub (whose agents stop or remove containers).
 * A job is named by its name or its id.
 */
#include "master/api.h"

#include "stacks/job_spec.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* The first of errs as the body's error/field/line, and all of them. */
static void
api_job_refuse(struct api_ctx *ctx, const struct stack_errors *errs)
{
	json_t *body, *arr = json_array();
	char *msg;
	size_t i;

	for (i = 0; i < errs->n; i++)
		json_array_append_new(arr, json_pack("{s:i, s:i, s:s, s:s}",
		    "line", errs->v[i].line, "column", errs->v[i].col, "key",
		    errs->v[i].key, "message", errs->v[i].message));
	xasprintf(&msg, "%s%s%s (line %d)%s", errs->v[0].key,
	    errs->v[0].key[0] != '\0' ? ": " : "", errs->v[0].message,
	    errs->v[0].line, errs->n > 1 ? "; and more, see errors" : "");
	body = json_pack("{s:s, s:i, s:o}", "error", msg, "line",
	    errs->v[0].line, "errors", arr);
	if (errs->v[0].key[0] != '\0')
		json_object_set_new(body, "field", json_string(errs->v[0].key));
	free(msg);
	api_reply(ctx, 422, body);
}

void
api_job_list(struct api_ctx *ctx)
{
	const char *state = api_query(ctx, "state");
	enum job_state st;
	struct grid g;
	json_t *arr;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (state != NULL && job_state_parse(state, &st) != 0) {
		api_error(ctx, 422, "state", "state must be one of pending, "
		    "assigned, running, succeeded, failed, timed_out, "
		    "cancelled");
		return;
	}
	if ((arr = store_job_list_json(ctx->st, g.id, state)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
}

static void
api_job_reply(struct api_ctx *ctx, int status, int64_t id)
{
	json_t *o;

	if (store_job_get_json(ctx->st, id, &o) != 1)
		api_store_error(ctx);
	else
		api_reply(ctx, status, o);
}

void
api_job_create(struct api_ctx *ctx)
{
	struct stack_errors errs = { 0 };
	struct grid g;
	json_t *spec;
	int64_t id;
	char name[64];
	int rc;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (ctx->body_len == 0) {
		api_error(ctx, 400, NULL, "request body is empty; expected a "
		    "job (JSON or YAML)");
		return;
	}
	if ((spec = job_spec_parse(ctx->body, ctx->body_len, "job",
	    &errs)) == NULL) {
		api_job_refuse(ctx, &errs);
		stack_errors_clear(&errs);
		return;
	}
	rc = store_job_create(ctx->st, g.id, spec, util_now_ms(), &id, name);
	json_decref(spec);
	if (rc == 1) {
		api_error(ctx, 409, "name", "a job \"%s\" exists in grid %s "
		    "(remove it with berth job rm, or choose another name)",
		    name, g.name);
		return;
	}
	if (rc != 0) {
		api_store_error(ctx);
		return;
	}
	master_changed_job(ctx->m, id);
	api_job_reply(ctx, 201, id);
}

/* Resolve cap[0], cap[1] to a job; replies on failure. */
static int
api_job_lookup(struct api_ctx *ctx, struct grid *g, int64_t *id)
{
	int rc;

	if (api_grid(ctx, ctx->cap[0], g) != 0)
		return -1;
	rc = store_job_find(ctx->st, g->id, ctx->cap[1], id);
	if (rc == 1)
		return 0;
	if (rc == 0)
		api_error(ctx, 404, NULL, "no job \"%s\" in grid %s",
		    ctx->cap[1], g->name);
	else
		api_store_error(ctx);
	return -1;
}

void
api_job_show(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id;

	if (api_job_lookup(ctx, &g, &id) == 0)
		api_job_reply(ctx, 200, id);
}

static void
api_job_touched(struct api_ctx *ctx, int64_t id, struct job_touched *t)
{
	size_t i;

	master_changed_job(ctx->m, id);
	for (i = 0; i < t->n; i++)
		master_desired_changed(ctx->m, t->nodes[i]);
	store_job_touched_free(t);
}

void
api_job_cancel(struct api_ctx *ctx)
{
	struct job_touched t = { NULL, 0 };
	struct grid g;
	int64_t id;
	int rc;

	if (api_job_lookup(ctx, &g, &id) != 0)
		return;
	rc = store_job_cancel(ctx->st, id, "cancelled by an operator",
	    util_now_ms(), &t);
	if (rc < 0) {
		api_store_error(ctx);
		return;
	}
	if (rc == 0) {
		api_error(ctx, 409, NULL, "job %s has finished already; "
		    "nothing to cancel", ctx->cap[1]);
		return;
	}
	api_job_touched(ctx, id, &t);
	api_job_reply(ctx, 200, id);
}

void
api_job_delete(struct api_ctx *ctx)
{
	struct job_touched t = { NULL, 0 };
	const char *force = api_query(ctx, "force");
	struct grid g;
	int64_t id;
	int rc;

	if (api_job_lookup(ctx, &g, &id) != 0)
		return;
	rc = store_job_delete(ctx->st, id, force != NULL &&
	    strcmp(force, "0") != 0 && strcmp(force, "false") != 0,
	    "by an operator", util_now_ms(), &t);
	if (rc < 0) {
		api_store_error(ctx);
		return;
	}
	if (rc == 0) {
		api_error(ctx, 409, NULL, "job %s has not finished; cancel it "
		    "first, or remove it with force (berth job rm --force)",
		    ctx->cap[1]);
		return;
	}
	api_job_touched(ctx, id, &t);
	api_reply(ctx, 204, NULL);
}
