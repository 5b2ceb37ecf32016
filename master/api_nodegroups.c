/*
 * api_nodegroups.c - node groups (docs/autoscaling.md):
 *
 *	GET	/v1/grids/{g}/nodegroups		every group, with its size
 *	POST	/v1/grids/{g}/nodegroups		create
 *	GET	/v1/nodegroups/{g}/{name}		one group
 *	PATCH	/v1/nodegroups/{g}/{name}		labels, min, max, settings
 *	DELETE	/v1/nodegroups/{g}/{name}		only without machines
 *	GET	/v1/nodegroups/{g}/{name}/machines	its machines
 *	GET	/v1/grids/{g}/nodegroups/plan		what the next round
 *							would do (no write,
 *							no provider call)
 *	GET	/v1/nodegroups/{g}/{name}/plan		the same, one group
 *
 * A body is checked whole before anything is written: the 422 names
 * every bad field ("errors": [{field, error}], the first also as "field"
 * and "error"), so an operator fixes them in one go. Settings go through
 * nodegroup_settings_table (common/settings.c). Runs on the API threads.
 */
#include "master/api.h"
#include "master/provider.h"
#include "master/provider_aws.h"
#include "master/sched_groups.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Reply 422 with every error of errs (taken). */
static void
ng_reply_errors(struct api_ctx *ctx, json_t *errs)
{
	json_t *first = json_array_get(errs, 0), *o;
	char *msg;

	if (json_array_size(errs) > 1)
		xasprintf(&msg, "%s (and %zu more)", json_string_value(
		    json_object_get(first, "error")), json_array_size(errs) - 1);
	else
		msg = xstrdup(json_string_value(json_object_get(first,
		    "error")));
	o = json_pack("{s:s, s:O, s:o}", "error", msg, "field",
	    json_object_get(first, "field"), "errors", errs);
	free(msg);
	api_reply(ctx, 422, o);
}

static void
ng_err(json_t *errs, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ng_err(json_t *errs, const char *field, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	json_array_append_new(errs, json_pack("{s:s, s:s}", "field", field,
	    "error", msg));
	free(msg);
}

/*
 * Labels: an array of "k=v" (at most 32), keys unique, not the two a
 * group sets itself. Into *out as JSON text when there is no error.
 */
static void
ng_labels(json_t *v, json_t *errs, char *out, size_t len)
{
	json_t *l, *w;
	size_t i, j;
	char field[32], *text;
	const char *s;
	int bad = 0;

	if (!json_is_array(v) || json_array_size(v) > 32) {
		ng_err(errs, "labels", "labels must be an array of at most 32 "
		    "\"key=value\" strings");
		return;
	}
	json_array_foreach(v, i, l) {
		snprintf(field, sizeof field, "labels[%zu]", i);
		s = json_string_value(l);
		if (s == NULL || !util_label_valid(s)) {
			ng_err(errs, field, "a label is \"key=value\" (or "
			    "\"key\") of [a-zA-Z0-9._-]");
			bad = 1;
			continue;
		}
		if (util_label_same_key(s, "ephemeral=true") ||
		    util_label_same_key(s, "berth.group=x")) {
			ng_err(errs, field, "%s is set by the group itself "
			    "(ephemeral=true, berth.group=<name>)", s);
			bad = 1;
			continue;
		}
		for (j = 0; j < i; j++) {
			w = json_array_get(v, j);
			if (json_is_string(w) && util_label_same_key(s,
			    json_string_value(w))) {
				ng_err(errs, field, "the key of %s is given "
				    "twice", s);
				bad = 1;
			}
		}
	}
	if (bad)
		return;
	text = json_dumps(v, JSON_COMPACT);
	if (strlen(text) >= len)
		ng_err(errs, "labels", "labels take more than %zu bytes",
		    len - 1);
	else
		snprintf(out, len, "%s", text);
	free(text);
}

/*
 * The settings of a body: "settings" with the top-level "min" and "max"
 * (the CLI's --min, --max) put in. New object (caller decrefs).
 */
static json_t *
ng_settings_obj(json_t *body, json_t *errs)
{
	json_t *set = json_object_get(body, "settings"), *out;
	const char *k[] = { "min", "max" };
	size_t i;

	if (set != NULL && !json_is_object(set)) {
		ng_err(errs, "settings", "settings must be an object");
		return json_object();
	}
	out = set != NULL ? json_deep_copy(set) : json_object();
	for (i = 0; i < 2; i++)
		if (json_object_get(body, k[i]) != NULL)
			json_object_set(out, k[i], json_object_get(body, k[i]));
	return out;
}

/* Unknown keys of body, each an error. */
static void
ng_unknown(json_t *body, const char *const *allowed, json_t *errs)
{
	const char *key, *const *a;
	json_t *v;

	json_object_foreach(body, key, v) {
		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL)
			ng_err(errs, key, "unknown field \"%.64s\"", key);
	}
}

/* Apply settings (checked) onto g; their errors into errs. */
static void
ng_apply(json_t *set, struct nodegroup *g, json_t *errs)
{
	json_t *e = settings_errors_json(&nodegroup_settings_table,
	    &g->settings, set, "settings.");
	char *key = NULL, *cause = NULL;
	json_t *v;
	size_t i;

	json_array_foreach(e, i, v)
		json_array_append(errs, v);
	if (json_array_size(e) == 0 && settings_apply_json(
	    &nodegroup_settings_table, &g->settings, set, &key, &cause) != 0) {
		ng_err(errs, "settings", "%s", cause);
	}
	free(key);
	free(cause);
	json_decref(e);
}

static void
ng_aws_err(void *arg, const char *field, const char *msg)
{
	char name[64];

	snprintf(name, sizeof name, "settings.%s", field);
	ng_err(arg, name, "%s", msg);
}

/* What a provider needs of the settings (once the provider is known). */
static void
ng_provider_rules(const struct nodegroup *g, json_t *errs)
{
	struct provider_aws_config ac;
	json_t *e;
	size_t i;

	if (strcmp(g->provider, "aws-asg") == 0) {
		memset(&ac, 0, sizeof ac);
		ac.asg_name = g->settings.asg_name;
		ac.region = g->settings.region;
		ac.endpoint = g->settings.endpoint;
		ac.credentials_file = g->settings.credentials_file;
		ac.profile = g->settings.profile;
		json_array_foreach(errs, i, e)
			if (strncmp(json_string_value(json_object_get(e,
			    "field")), "settings.", 9) == 0)
				return;	/* named already */
		provider_aws_config_check(&ac, ng_aws_err, errs);
		return;
	}

	json_array_foreach(errs, i, e)
		if (strcmp(json_string_value(json_object_get(e, "field")),
		    "settings.exec_program") == 0)
			return;		/* named already */
	if (strcmp(g->provider, "exec") == 0 &&
	    g->settings.exec_program[0] == '\0')
		ng_err(errs, "settings.exec_program", "the exec provider needs "
		    "exec_program: the absolute path of the program it runs");
}

static json_t *
ng_json(struct api_ctx *ctx, const struct nodegroup *g)
{
	int size = 0, all = 0;

	if (store_nodegroup_size(ctx->st, g->id, &size, &all) != 0)
		return NULL;
	return nodegroup_to_json(g, size);
}

void
api_nodegroup_list(struct api_ctx *ctx)
{
	struct nodegroup *v;
	struct grid gr;
	json_t *arr, *o;
	size_t i, n;

	if (api_grid(ctx, ctx->cap[0], &gr) != 0)
		return;
	if (store_nodegroup_list(ctx->st, gr.id, &v, &n) != 0) {
		api_store_error(ctx);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		if ((o = ng_json(ctx, &v[i])) == NULL) {
			json_decref(arr);
			free(v);
			api_store_error(ctx);
			return;
		}
		json_array_append_new(arr, o);
	}
	free(v);
	api_reply(ctx, 200, arr);
}

void
api_nodegroup_create(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "name", "provider", "labels",
	    "min", "max", "settings", NULL };
	struct nodegroup g;
	struct grid gr;
	json_t *body, *errs, *v, *set;
	const char *const *p, *why = NULL;
	int rc;

	if (api_grid(ctx, ctx->cap[0], &gr) != 0)
		return;
	if ((body = api_body_object(ctx)) == NULL)
		return;
	errs = json_array();
	memset(&g, 0, sizeof g);
	g.grid_id = gr.id;
	nodegroup_settings_default(&g.settings);
	snprintf(g.labels, sizeof g.labels, "[]");
	ng_unknown(body, allowed, errs);
	v = json_object_get(body, "name");
	if (!json_is_string(v) || !util_name_valid(json_string_value(v)))
		ng_err(errs, "name", "name is required: [a-z0-9-], 1 to 63 "
		    "characters");
	else
		snprintf(g.name, sizeof g.name, "%s", json_string_value(v));
	v = json_object_get(body, "provider");
	for (p = nodegroup_providers; json_is_string(v) && *p != NULL; p++)
		if (strcmp(*p, json_string_value(v)) == 0)
			break;
	if (!json_is_string(v) || *p == NULL)
		ng_err(errs, "provider", "provider is required: process, "
		    "docker, exec or aws-asg");
	else if (!nodegroup_provider_available(*p) ||
	    provider_find(*p) == NULL)
		ng_err(errs, "provider", "provider %s is not available in "
		    "this build", *p);
	else if (!provider_find(*p)->available(&why))
		ng_err(errs, "provider", "provider %s cannot run here: %s", *p,
		    why);
	else
		snprintf(g.provider, sizeof g.provider, "%s", *p);
	if ((v = json_object_get(body, "labels")) != NULL)
		ng_labels(v, errs, g.labels, sizeof g.labels);
	set = ng_settings_obj(body, errs);
	ng_apply(set, &g, errs);
	json_decref(set);
	ng_provider_rules(&g, errs);
	if (json_array_size(errs) > 0) {
		ng_reply_errors(ctx, errs);
		goto out;
	}
	json_decref(errs);
	if (store_begin(ctx->st) != 0) {
		api_store_error(ctx);
		goto out;
	}
	rc = store_nodegroup_create(ctx->st, &g);
	if (rc == 1) {
		store_rollback(ctx->st);
		api_error(ctx, 409, "name", "node group \"%s\" exists in grid "
		    "%s", g.name, gr.name);
		goto out;
	}
	if (rc != 0 || store_event_add(ctx->st, gr.id, "nodegroup.create",
	    g.name, "node group %s created (%s, min %lld, max %lld)", g.name,
	    g.provider, (long long)g.settings.min,
	    (long long)g.settings.max) != 0 || store_commit(ctx->st) != 0) {
		store_rollback(ctx->st);
		api_store_error(ctx);
		goto out;
	}
	api_reply(ctx, 201, nodegroup_to_json(&g, 0));
	master_changed_grid(ctx->m, gr.id);
out:
	json_decref(body);
}

/* Grid cap[0], group cap[1]: 0, or -1 after replying 404 or 500. */
static int
ng_get(struct api_ctx *ctx, struct grid *gr, struct nodegroup *g)
{
	int rc;

	if (api_grid(ctx, ctx->cap[0], gr) != 0)
		return -1;
	rc = store_nodegroup_get(ctx->st, gr->id, ctx->cap[1], g);
	if (rc < 0)
		api_store_error(ctx);
	else if (rc == 0)
		api_error(ctx, 404, NULL, "no node group \"%s\" in grid %s",
		    ctx->cap[1], gr->name);
	return rc == 1 ? 0 : -1;
}

void
api_nodegroup_show(struct api_ctx *ctx)
{
	struct nodegroup g;
	struct grid gr;
	json_t *o;

	if (ng_get(ctx, &gr, &g) != 0)
		return;
	if ((o = ng_json(ctx, &g)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, o);
}

void
api_nodegroup_patch(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "labels", "min", "max",
	    "settings", NULL };
	struct nodegroup g, old;
	struct grid gr;
	json_t *body, *errs, *v, *set, *o;
	char *diff = NULL;

	if (ng_get(ctx, &gr, &g) != 0)
		return;
	if ((body = api_body_object(ctx)) == NULL)
		return;
	old = g;
	errs = json_array();
	ng_unknown(body, allowed, errs);
	if (json_object_size(body) == 0)
		ng_err(errs, "settings", "nothing to change: expected labels, "
		    "min, max or settings");
	if ((v = json_object_get(body, "labels")) != NULL)
		ng_labels(v, errs, g.labels, sizeof g.labels);
	set = ng_settings_obj(body, errs);
	ng_apply(set, &g, errs);
	json_decref(set);
	ng_provider_rules(&g, errs);
	if (json_array_size(errs) > 0) {
		ng_reply_errors(ctx, errs);
		goto out;
	}
	json_decref(errs);
	diff = settings_diff(&nodegroup_settings_table, &old.settings,
	    &g.settings);
	if (store_begin(ctx->st) != 0 ||
	    store_nodegroup_update(ctx->st, &g) != 0 ||
	    store_event_add(ctx->st, gr.id, "nodegroup.settings", g.name,
	    "node group %s changed: %s%s%s", g.name, diff != NULL ? diff : "",
	    diff != NULL && strcmp(old.labels, g.labels) != 0 ? ", " : "",
	    strcmp(old.labels, g.labels) != 0 ? "labels" : diff != NULL ? "" :
	    "nothing") != 0 || store_commit(ctx->st) != 0) {
		store_rollback(ctx->st);
		api_store_error(ctx);
		goto out;
	}
	if ((o = ng_json(ctx, &g)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, o);
	master_changed_grid(ctx->m, gr.id);
out:
	free(diff);
	json_decref(body);
}

void
api_nodegroup_delete(struct api_ctx *ctx)
{
	struct nodegroup g;
	struct grid gr;
	int rc, size = 0, all = 0;

	if (ng_get(ctx, &gr, &g) != 0)
		return;
	if (store_begin(ctx->st) != 0) {
		api_store_error(ctx);
		return;
	}
	rc = store_nodegroup_delete(ctx->st, g.id);
	if (rc == 1) {
		store_rollback(ctx->st);
		store_nodegroup_size(ctx->st, g.id, &size, &all);
		api_error(ctx, 409, NULL, "node group %s still has %d "
		    "machine(s): set max=0 and min=0, wait for them to go, "
		    "then remove it", g.name, all);
		return;
	}
	if (rc != 0 || store_event_add(ctx->st, gr.id, "nodegroup.remove",
	    g.name, "node group %s removed", g.name) != 0 ||
	    store_commit(ctx->st) != 0) {
		store_rollback(ctx->st);
		api_store_error(ctx);
		return;
	}
	api_reply(ctx, 204, NULL);
	master_changed_grid(ctx->m, gr.id);
}

void
api_nodegroup_machines(struct api_ctx *ctx)
{
	struct nodegroup g;
	struct machine *v;
	struct grid gr;
	json_t *arr;
	size_t i, n;

	if (ng_get(ctx, &gr, &g) != 0)
		return;
	if (store_machine_list(ctx->st, gr.id, g.id, &v, &n) != 0) {
		api_store_error(ctx);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, machine_to_json(&v[i]));
	free(v);
	api_reply(ctx, 200, arr);
}

/* The plan of grid gr, decisions of group (NULL: all) only. */
static void
ng_plan_reply(struct api_ctx *ctx, const struct grid *gr, const char *group)
{
	json_t *plan = sched_groups_plan(ctx->m, gr->id, 10000), *keep, *v;
	json_t *gs, *gkeep;
	const char *name;
	size_t i;

	if (plan == NULL) {
		api_error(ctx, 503, NULL, "the scheduler did not answer within "
		    "10s; try again");
		return;
	}
	if (group != NULL) {
		keep = json_array();
		json_array_foreach(json_object_get(plan, "decisions"), i, v) {
			name = json_string_value(json_object_get(v, "group"));
			/* The grid's own (limits, no fit) concern it too. */
			if (name == NULL || name[0] == '\0' ||
			    strcmp(name, group) == 0)
				json_array_append(keep, v);
		}
		json_object_set_new(plan, "decisions", keep);
		gs = json_object_get(plan, "groups");
		gkeep = json_array();
		json_array_foreach(gs, i, v)
			if (strcmp(json_string_value(json_object_get(v,
			    "name")), group) == 0)
				json_array_append(gkeep, v);
		json_object_set_new(plan, "groups", gkeep);
	}
	api_reply(ctx, 200, plan);
}

void
api_nodegroup_plan_grid(struct api_ctx *ctx)
{
	struct grid gr;

	if (api_grid(ctx, ctx->cap[0], &gr) != 0)
		return;
	ng_plan_reply(ctx, &gr, NULL);
}

void
api_nodegroup_plan(struct api_ctx *ctx)
{
	struct nodegroup g;
	struct grid gr;

	if (ng_get(ctx, &gr, &g) != 0)
		return;
	ng_plan_reply(ctx, &gr, g.name);
}
