/*
 * stack.c - stack_parse(): a Kontena stack file to berth's normalized JSON.
 *
 * Called by the master's stack API handlers and by the CLI, on their own
 * threads; pure (no I/O, clock, locks or globals: everything lives in one
 * struct stack_ctx on the stack of the call). Kontena's pipeline:
 *
 *   1. the raw text: size cap, UTF-8, then YAML (lenient when it holds
 *      Liquid tags, which sit in comments or read as flow mappings);
 *   2. `stack:` (the name is needed for the automatic STACK variable) and
 *      `variables:` resolved from the raw tree (stack_vars.c);
 *   3. Liquid over the text with the variables' values (liquid.c), the
 *      output read as YAML again, strictly, its lines mapped back to the
 *      template's for errors; from here every string is interpolated
 *      (${NAME});
 *   4. `volumes:`, then each service (stack_service.c), the only_if and
 *      skip_if of both tested, extends: applied (stack_extends.c);
 *   5. links/depends_on checked and the services put in dependency order.
 *
 * A file an extends: names goes through the same pipeline in a ctx of its
 * own (stack_parse_file()), for the one service wanted; so does each
 * child stack (depends:, stack_depends.c), whole.
 *
 * Errors are collected, not returned at the first; a step that cannot go on
 * (bad UTF-8, YAML syntax) stops there since what follows would be noise.
 */
#include "stacks/stack_int.h"
#include "stacks/liquid.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define STACK_MAX_SERVICES	1000	/* keeps the ordering quadratic-safe */

/* "[user/]name"; returns the installed name (after the slash), or NULL. */
static char *
stack_name(struct stack_ctx *ctx, const struct snode *v, char **full)
{
	const struct stack_opts *o = ctx->opts;
	const char *slash, *name;
	char *s;
	size_t i;

	*full = NULL;
	if (stack_get_str(ctx, v, "stack", &s) != 0)
		return NULL;
	slash = strchr(s, '/');
	name = slash != NULL ? slash + 1 : s;
	if (slash != NULL) {
		for (i = 0; s + i < slash; i++) {
			if (strchr("abcdefghijklmnopqrstuvwxyz0123456789._-",
			    s[i]) == NULL)
				break;
		}
		if (slash == s || s + i != slash) {
			stack_errn(ctx, v, "stack", "\"%s\": the user part must "
			    "be lower-case letters, digits, '.', '_' or '-'",
			    s);
			free(s);
			return NULL;
		}
	}
	if (o->name == NULL && !util_name_valid(name)) {
		stack_errn(ctx, v, "stack", "\"%s\" is not a valid stack name "
		    "(" UTIL_NAME_RULE ", after an optional user/)", s);
		free(s);
		return NULL;
	}
	*full = s;
	if (o->name != NULL) {
		if (!util_name_valid(o->name)) {
			stack_errn(ctx, v, "stack", "--name \"%s\" is not a "
			    "valid stack name (" UTIL_NAME_RULE ")",
			    o->name);
			return NULL;
		}
		return xstrdup(o->name);
	}
	return xstrdup(name);
}

static json_t *
stack_volumes(struct stack_ctx *ctx, const struct snode *vols)
{
	json_t *out = json_array(), *ext;
	const struct snode *k, *v, *e;
	char *path, *epath, *s;
	size_t i, j;
	int b;

	if (vols == NULL || stack_is_null(vols) ||
	    stack_want_map(ctx, vols, "volumes") != 0)
		return out;
	for (i = 0; i < SNODE_NPAIRS(vols); i++) {
		k = SNODE_KEY(vols, i);
		v = SNODE_VAL(vols, i);
		path = stack_path("volumes", k->str);
		/* Left out by its only_if/skip_if: not declared at all. */
		if (v->type == SNODE_MAP && stack_vars_keep(ctx, stack_top(v,
		    "only_if"), stack_top(v, "skip_if"), path) == 0) {
			free(path);
			continue;
		}
		ctx->volnames = xreallocarray(ctx->volnames,
		    ctx->nvolnames + 1, sizeof *ctx->volnames);
		ctx->volnames[ctx->nvolnames++] = xstrdup(k->str);
		ext = NULL;
		if (stack_want_map(ctx, v, path) != 0)
			goto next;
		for (j = 0; j < SNODE_NPAIRS(v); j++) {
			e = SNODE_VAL(v, j);
			epath = stack_path(path, SNODE_KEY(v, j)->str);
			if (strcmp(SNODE_KEY(v, j)->str, "only_if") == 0 ||
			    strcmp(SNODE_KEY(v, j)->str, "skip_if") == 0)
				;
			else if (strcmp(SNODE_KEY(v, j)->str, "external") != 0) {
				if (strcmp(SNODE_KEY(v, j)->str, "driver") == 0 ||
				    strcmp(SNODE_KEY(v, j)->str, "driver_opts")
				    == 0 || strcmp(SNODE_KEY(v, j)->str,
				    "scope") == 0)
					stack_errn(ctx, SNODE_KEY(v, j), epath,
					    "berth supports external volumes "
					    "only (driver, driver_opts and "
					    "scope are not supported)");
				else
					stack_unknown_key(ctx, SNODE_KEY(v, j),
					    epath, "a volume");
			} else if (e->type == SNODE_MAP) {
				s = NULL;
				if (SNODE_NPAIRS(e) != 1 ||
				    strcmp(SNODE_KEY(e, 0)->str, "name") != 0) {
					stack_errn(ctx, e, epath, "must be true "
					    "or {name: NAME}");
				} else if (stack_get_str(ctx, SNODE_VAL(e, 0),
				    epath, &s) == 0) {
					json_decref(ext);
					ext = json_pack("{s:s}", "name", s);
				}
				free(s);
			} else if (stack_get_bool(ctx, e, epath, &b) == 0) {
				if (!b)
					stack_errn(ctx, e, epath, "berth "
					    "supports external volumes only");
				else {
					json_decref(ext);
					ext = json_pack("{s:s}", "name",
					    k->str);
				}
			}
			free(epath);
		}
		if (ext == NULL && SNODE_NPAIRS(v) == (size_t)(stack_top(v,
		    "only_if") != NULL) + (stack_top(v, "skip_if") != NULL))
			stack_errn(ctx, v, path, "external is required (berth "
			    "supports external volumes only)");
		if (ext != NULL)
			json_array_append_new(out, json_pack("{s:s, s:o}",
			    "name", k->str, "external", ext));
next:
		free(path);
	}
	return out;
}

static int
stack_svc_index(json_t *svcs, const char *name)
{
	size_t i;

	for (i = 0; i < json_array_size(svcs); i++) {
		if (strcmp(json_string_value(json_object_get(
		    json_array_get(svcs, i), "name")), name) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Check links/depends_on and return the services in dependency order: a
 * service comes after everything it names; among those ready, the one
 * declared first goes first, so the order is stable. The entries of a
 * service left out (only_if/skip_if) do not count; naming one is an error.
 */
static json_t *
stack_order(struct stack_ctx *ctx, json_t *svcs, const struct stack_svc *sv,
    size_t nsv)
{
	json_t *out = json_array();
	size_t n = json_array_size(svcs), i, r, done = 0;
	int *from, *to, *indeg, *placed, f, t;
	struct stack_ref *ref;
	struct buf cyc = { NULL, 0, 0 };

	from = xcalloc(ctx->nrefs + 1, sizeof *from);
	to = xcalloc(ctx->nrefs + 1, sizeof *to);
	indeg = xcalloc(n + 1, sizeof *indeg);
	placed = xcalloc(n + 1, sizeof *placed);
	for (r = 0; r < ctx->nrefs; r++) {
		ref = &ctx->refs[r];
		f = stack_svc_index(svcs, ref->from);
		t = stack_svc_index(svcs, ref->to);
		from[r] = f;
		to[r] = t;
		if (f < 0)
			continue;
		if (t < 0) {
			for (i = 0; i < nsv; i++) {
				if (strcmp(sv[i].name, ref->to) == 0)
					break;
			}
			stack_err(ctx, ref->line, ref->col, ref->path,
			    "unknown service \"%s\" (%s)", ref->to, i < nsv ?
			    "left out by its only_if/skip_if" :
			    "not in this stack");
		} else
			indeg[f]++;
	}
	while (done < n) {
		for (i = 0; i < n; i++) {
			if (!placed[i] && indeg[i] == 0)
				break;
		}
		if (i == n)
			break;
		placed[i] = 1;
		done++;
		json_array_append(out, json_array_get(svcs, i));
		for (r = 0; r < ctx->nrefs; r++) {
			if (to[r] == (int)i && from[r] >= 0)
				indeg[from[r]]--;
		}
	}
	if (done < n) {
		for (i = 0; i < n; i++) {
			if (!placed[i])
				buf_printf(&cyc, "%s%s", cyc.len ? ", " : "",
				    json_string_value(json_object_get(
				    json_array_get(svcs, i), "name")));
		}
		for (r = 0; r < ctx->nrefs; r++) {
			if (from[r] >= 0 && to[r] >= 0 && !placed[from[r]] &&
			    !placed[to[r]])
				break;
		}
		ref = &ctx->refs[r < ctx->nrefs ? r : 0];
		stack_err(ctx, ref->line, ref->col, ref->path, "dependency "
		    "cycle (links/depends_on) between services %s", cyc.data);
		buf_free(&cyc);
	}
	free(from);
	free(to);
	free(indeg);
	free(placed);
	return out;
}

/* Service names: valid, and no two the same to DNS. */
static void
stack_services_names(struct stack_ctx *ctx, const struct snode *svcs,
    size_t i, const char *path)
{
	const struct snode *k = SNODE_KEY(svcs, i);
	char dns[64], other[64];
	size_t j;

	if (!stack_service_name_valid(k->str)) {
		stack_errn(ctx, k, path, "\"%s\" is not a valid service name "
		    "(1 to 63 of letters, digits, '_' and '-', the first a "
		    "letter or digit)", k->str);
		return;
	}
	/*
	 * Kontena took capitals and '_' in service names; DNS will use them
	 * lower-cased with '-' for '_', which two services must not share.
	 */
	stack_dns_name(k->str, dns, sizeof dns);
	for (j = 0; j < i; j++) {
		stack_dns_name(SNODE_KEY(svcs, j)->str, other, sizeof other);
		if (strcmp(dns, other) == 0 && strcmp(k->str,
		    SNODE_KEY(svcs, j)->str) != 0)
			stack_errn(ctx, k, path, "services \"%s\" and \"%s\" "
			    "would have the same DNS name \"%s\"",
			    SNODE_KEY(svcs, j)->str, k->str, dns);
	}
}

/*
 * Every service: read (one left out by its only_if/skip_if too, as Kontena
 * validated it, but with its errors as warnings), then extends: applied,
 * then the image required of each that stays, then the order. Reading an
 * extends: file (ctx->extending) there is just the one service wanted,
 * with what it extends, and the stack that uses it checks the rest.
 */
static json_t *
stack_services(struct stack_ctx *ctx, const struct snode *svcs)
{
	json_t *out = json_array(), *ordered, *spec;
	struct stack_errors mine = { NULL, 0 }, *saved;
	struct stack_svc *sv;
	size_t i, n;
	int keep;

	if (svcs == NULL || stack_is_null(svcs) ||
	    stack_want_map(ctx, svcs, "services") != 0) {
		if (ctx->extending != NULL)
			stack_err(ctx, 1, 1, "services", "no service \"%s\" "
			    "here (extends: names it)", ctx->extending);
		return out;
	}
	n = SNODE_NPAIRS(svcs);
	if (n > STACK_MAX_SERVICES) {
		stack_errn(ctx, svcs, "services", "more than %d services",
		    STACK_MAX_SERVICES);
		return out;
	}
	sv = xcalloc(n + 1, sizeof *sv);
	for (i = 0; i < n; i++) {
		sv[i].name = SNODE_KEY(svcs, i)->str;
		sv[i].node = SNODE_VAL(svcs, i);
		sv[i].path = stack_path("services", sv[i].name);
		if (ctx->extending != NULL)
			continue;	/* read when extends: needs it */
		stack_services_names(ctx, svcs, i, sv[i].path);
		keep = 1;
		if (sv[i].node->type == SNODE_MAP)
			keep = stack_vars_keep(ctx, stack_top(sv[i].node,
			    "only_if"), stack_top(sv[i].node, "skip_if"),
			    sv[i].path);
		sv[i].skipped = keep == 0;
		if (!sv[i].skipped) {
			sv[i].spec = stack_service_parse(ctx, sv[i].name,
			    sv[i].node, sv[i].path);
			continue;
		}
		saved = ctx->errs;
		ctx->errs = &mine;
		sv[i].spec = stack_service_parse(ctx, sv[i].name, sv[i].node,
		    sv[i].path);
		ctx->errs = saved;
		stack_warn_errors(ctx, &mine, "(a service left out by its "
		    "only_if/skip_if) ");
	}
	if (ctx->extending != NULL) {
		for (i = 0; i < n; i++) {
			if (strcmp(sv[i].name, ctx->extending) == 0)
				break;
		}
		if (i == n)
			stack_errn(ctx, svcs, "services", "no service \"%s\" "
			    "here (extends: names it)", ctx->extending);
		else {
			if (sv[i].spec == NULL)
				sv[i].spec = stack_service_parse(ctx,
				    sv[i].name, sv[i].node, sv[i].path);
			stack_extends(ctx, sv, n, i);
			json_array_append(out, sv[i].spec);
		}
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (sv[i].skipped)
			continue;
		stack_extends(ctx, sv, n, i);
		spec = sv[i].spec;
		if (json_is_null(json_object_get(spec, "image")))
			stack_errn(ctx, sv[i].node, sv[i].path, "image is "
			    "required%s", json_object_get(spec, " build") !=
			    NULL ? " (berth does not build images: build and "
			    "push the image, then name it with image:)" : "");
		json_array_append(out, spec);
	}
done:
	for (i = 0; i < n && ctx->extending == NULL; i++) {
		if (sv[i].spec != NULL) {
			json_object_del(sv[i].spec, " given");
			json_object_del(sv[i].spec, " build");
			json_object_del(sv[i].spec, " extends");
		}
	}
	ordered = ctx->extending != NULL ? json_incref(out) :
	    stack_order(ctx, out, sv, n);
	json_decref(out);
	for (i = 0; i < n; i++) {
		json_decref(sv[i].spec);
		free(sv[i].path);
	}
	free(sv);
	return ordered;
}

/*
 * Links to other stacks' services: each target must exist in the grid now
 * (Kontena checked the same when it created the service). Without a
 * service_find callback (the CLI's own parse) they are not checked. Those
 * of a service left out do not count.
 */
static void
stack_xrefs_check(struct stack_ctx *ctx, json_t *svcs)
{
	const struct stack_xref *x;
	json_t *names, *n;
	size_t i, j;
	int rc;

	for (i = 0; i < ctx->nxrefs; i++) {
		x = &ctx->xrefs[i];
		if (stack_svc_index(svcs, x->from) < 0)
			continue;
		/* A stack of this tree (a parent, a child): not installed
		   yet, but its services are known. */
		if ((names = json_object_get(ctx->tree, x->stack)) != NULL) {
			json_array_foreach(names, j, n) {
				if (strcmp(json_string_value(n), x->service) ==
				    0)
					break;
			}
			rc = j < json_array_size(names) ? 1 : 0;
		} else
			rc = stack_host_service(ctx, x->stack, x->service,
			    NULL);
		if (rc == -1)
			stack_err(ctx, x->line, x->col, x->path, "link to "
			    "%s/%s: there is no stack %s in grid %s (install "
			    "it first)", x->stack, x->service, x->stack,
			    ctx->opts->grid != NULL ? ctx->opts->grid : "");
		else if (rc == 0)
			stack_err(ctx, x->line, x->col, x->path, "link to "
			    "%s/%s: stack %s has no service %s", x->stack,
			    x->service, x->stack, x->service);
	}
}

void
stack_result_clear(struct stack_result *res)
{
	json_decref(res->needs);
	json_decref(res->warnings);
	json_decref(res->vault_writes);
	memset(res, 0, sizeof *res);
}

static void
stack_ctx_free(struct stack_ctx *ctx)
{
	size_t i;

	stack_yaml_free(ctx);
	stack_vars_free(ctx);
	for (i = 0; i < ctx->nvolnames; i++)
		free(ctx->volnames[i]);
	free(ctx->volnames);
	for (i = 0; i < ctx->nrefs; i++) {
		free(ctx->refs[i].from);
		free(ctx->refs[i].to);
		free(ctx->refs[i].path);
	}
	free(ctx->refs);
	for (i = 0; i < ctx->nxrefs; i++) {
		free(ctx->xrefs[i].from);
		free(ctx->xrefs[i].stack);
		free(ctx->xrefs[i].service);
		free(ctx->xrefs[i].path);
	}
	free(ctx->xrefs);
	stack_depends_free(ctx);
	json_decref(ctx->needs);
	json_decref(ctx->warnings);
	json_decref(ctx->vault_writes);
	free(ctx->stack_name);
	free(ctx->rendered);
	free(ctx->linemap);
}

json_t *
stack_parse(const char *buf, size_t len, const char *file,
    const struct stack_opts *opts, struct stack_errors *errs)
{
	struct stack_result res = { NULL, NULL, NULL };
	json_t *out;

	out = stack_parse_ex(buf, len, file, opts, errs, &res);
	if (out == NULL && errs->n == 0 && res.needs != NULL) {
		/* A caller without a needs loop: say that input was missing. */
		struct stack_errors *e = errs;

		e->v = xcalloc(1, sizeof *e->v);
		e->n = 1;
		e->v[0].file = xstrdup(file != NULL ? file : "-");
		e->v[0].line = 1;
		e->v[0].col = 1;
		e->v[0].key = xstrdup("");
		e->v[0].message = xstrdup("the stack needs input this caller "
		    "cannot give (an environment variable, a file or an "
		    "answer)");
	}
	stack_result_clear(&res);
	return out;
}

const struct snode *
stack_top(const struct snode *map, const char *key)
{
	size_t i;

	for (i = 0; i < SNODE_NPAIRS(map); i++) {
		if (SNODE_KEY(map, i)->type == SNODE_SCALAR &&
		    strcmp(SNODE_KEY(map, i)->str, key) == 0)
			return SNODE_VAL(map, i);
	}
	return NULL;
}

/*
 * The Liquid pass: render the raw text with the resolved variables and
 * read the output as YAML. Errors in the output are reported at the
 * template's lines (ctx->linemap). NULL after an error.
 */
static const struct snode *
stack_render(struct stack_ctx *ctx, const char *buf, size_t len, json_t *vars)
{
	struct liquid_opts lo = { ctx->opts->now };
	struct liquid_output lout;
	struct liquid_error lerr;
	const struct snode *root;

	if (liquid_render(buf, len, vars, &lo, &lout, &lerr) != 0) {
		stack_err(ctx, lerr.line > 0 ? lerr.line : 1, lerr.col > 0 ?
		    lerr.col : 1, "", "%s", lerr.message);
		liquid_error_clear(&lerr);
		return NULL;
	}
	ctx->rendered = lout.text;
	ctx->rendered_len = lout.len;
	ctx->linemap = lout.lines;
	ctx->nlinemap = lout.nlines;
	ctx->expanded = 0;
	ctx->lenient = 0;
	root = stack_yaml_load(ctx, ctx->rendered, ctx->rendered_len);
	return root;
}

/* Stack labels: "key=value" with a key of [a-z0-9.-] (Kontena's rule). */
static json_t *
stack_labels(struct stack_ctx *ctx, const struct snode *v)
{
	json_t *l, *out = json_array();
	const char *s;
	size_t i, k;
	char *path;

	if (v == NULL || stack_is_null(v))
		return out;
	if (stack_get_strlist(ctx, v, "labels", &l) != 0) {
		json_decref(l);
		return out;
	}
	for (i = 0; i < json_array_size(l); i++) {
		s = json_string_value(json_array_get(l, i));
		k = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-");
		if (k == 0 || s[k] != '=') {
			path = stack_path_idx("labels", i);
			stack_errn(ctx, v->kids[i], path, "\"%s\" is not a "
			    "label (key=value, the key of a-z, 0-9, '.' and "
			    "'-')", s);
			free(path);
		} else
			json_array_append(out, json_array_get(l, i));
	}
	json_decref(l);
	return out;
}

/* Top-level keys Kontena knew; berth reads each (or ignores it, said). */
static const char *const stack_top_keys[] = {
	"stack", "version", "description", "variables", "volumes",
	"services", "expose", "labels", "meta", "data", "depends",
	"networks", "errors", NULL,
};

/*
 * The pipeline on one file, into ctx (set up by the caller): the stack as
 * JSON, or, for an extends: file (ctx->extending), the service wanted from
 * it as a one-element array; NULL after errors or a need.
 */
static json_t *
stack_run(struct stack_ctx *ctx, const char *buf, size_t len)
{
	struct stack_errors *errs = ctx->errs;
	const struct snode *raw, *root, *k, *v;
	json_t *out = NULL, *vars = NULL, *vols = NULL, *svcs = NULL;
	json_t *labels = NULL, *meta = NULL, *lvars = NULL, *children = NULL;
	char *full = NULL, *name = NULL, *version = NULL, *desc = NULL;
	char *expose = NULL;
	size_t i, j, before;
	int tags;

	if (len > STACK_MAX_INPUT) {
		stack_err(ctx, 1, 1, "", "the stack file is %zu bytes; the "
		    "limit is %d", len, STACK_MAX_INPUT);
		goto out;
	}
	if (stack_utf8_check(ctx, buf, len) != 0)
		goto out;
	/*
	 * As Kontena: the raw text is YAML too (Liquid tags sit in comments
	 * or in values, and {{ x }} reads as a flow mapping); the stack name
	 * and the variables come from it, the rest from the text rendered
	 * with their values.
	 */
	tags = liquid_has_tags(buf, len);
	ctx->lenient = tags;
	if ((raw = stack_yaml_load(ctx, buf, len)) == NULL)
		goto out;
	if (stack_want_map(ctx, raw, "") != 0)
		goto out;
	if (ctx->extending != NULL) {
		/* The stack's own name (an extends: file's stack: is not). */
		if (ctx->opts->name != NULL)
			name = xstrdup(ctx->opts->name);
	} else if ((k = stack_top(raw, "stack")) == NULL)
		stack_errn(ctx, raw, "stack", "stack is required "
		    "([user/]name)");
	else
		name = stack_name(ctx, k, &full);
	if (name != NULL && ctx->stack_name == NULL)
		ctx->stack_name = xstrdup(name);
	/* Before the variables: each child stack is one. */
	if (ctx->extending == NULL)
		stack_depends_read(ctx, stack_top(raw, "depends"), name);
	vars = json_object();
	lvars = json_object();
	before = errs->n;
	stack_vars_resolve(ctx, stack_top(raw, "variables"),
	    ctx->opts->grid != NULL ? ctx->opts->grid : "", name != NULL ?
	    name : "", vars, lvars);
	ctx->values = lvars;
	/* A template rendered without its variables' values says nothing. */
	if (ctx->needed || (tags && errs->n > before))
		goto done;
	root = raw;
	if (tags && (root = stack_render(ctx, buf, len, lvars)) == NULL)
		goto out;
	if (stack_want_map(ctx, root, "") != 0)
		goto out;
	if (ctx->extending != NULL) {
		svcs = stack_services(ctx, stack_top(root, "services"));
		if (errs->n == 0 && !ctx->needed)
			out = json_incref(svcs);
		goto done;
	}

	for (i = 0; i < SNODE_NPAIRS(root); i++) {
		k = SNODE_KEY(root, i);
		for (j = 0; stack_top_keys[j] != NULL; j++) {
			if (strcmp(k->str, stack_top_keys[j]) == 0)
				break;
		}
		if (stack_top_keys[j] == NULL)
			stack_warn(ctx, k, k->str, "unknown top-level key "
			    "\"%s\" ignored (as Kontena ignored it)", k->str);
		else if (strcmp(k->str, "networks") == 0)
			stack_warn(ctx, k, k->str, "networks ignored: the "
			    "services of a grid share one network");
	}
	if ((v = stack_top(root, "version")) != NULL && !stack_is_null(v))
		stack_get_str(ctx, v, "version", &version);
	if ((v = stack_top(root, "description")) != NULL && !stack_is_null(v))
		stack_get_str(ctx, v, "description", &desc);
	labels = stack_labels(ctx, stack_top(root, "labels"));
	v = stack_top(root, "meta");
	meta = v != NULL && !stack_is_null(v) ? stack_node_json(v) :
	    json_object();
	vols = stack_volumes(ctx, stack_top(root, "volumes"));
	svcs = stack_services(ctx, stack_top(root, "services"));
	if (name != NULL) {
		json_t *names = json_array(), *x;

		json_array_foreach(svcs, i, x)
			json_array_append(names, json_object_get(x, "name"));
		json_object_set_new(ctx->tree, name, names);
	}
	children = json_array();
	if (ctx->ndeps > 0 && name != NULL && errs->n == before &&
	    !ctx->needed) {
		json_decref(children);
		children = stack_depends_parse(ctx, name);
	}
	if (errs->n == 0 && !ctx->needed)
		stack_xrefs_check(ctx, svcs);
	if (stack_top(root, "services") == NULL && json_array_size(vols) == 0)
		stack_errn(ctx, root, "services", "services is required");
	if ((v = stack_top(root, "expose")) != NULL && !stack_is_null(v) &&
	    stack_get_str(ctx, v, "expose", &expose) == 0 &&
	    stack_svc_index(svcs, expose) < 0) {
		stack_errn(ctx, v, "expose", "unknown service \"%s\"",
		    expose);
	}
done:
	if (ctx->needed) {
		/* What is missing first; errors after a missing value are
		   noise, and the parse with it will find the real ones. */
		json_decref(out);
		out = NULL;
		goto out;
	}
	if (errs->n > 0 || ctx->extending != NULL)
		goto out;

	out = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:O, s:O, s:O, s:O, "
	    "s:O, s:s?, s:O}", "stack", full, "name", name, "version", version,
	    "description", desc, "expose", expose, "variables", vars,
	    "volumes", vols, "services", svcs, "labels", labels, "meta", meta,
	    "parent", ctx->opts->parent, "children", children);
	if (out == NULL)
		stack_err(ctx, 1, 1, "", "internal error building the result");
out:
	ctx->values = NULL;
	json_decref(vars);
	json_decref(lvars);
	json_decref(vols);
	json_decref(svcs);
	json_decref(labels);
	json_decref(meta);
	json_decref(children);
	free(full);
	free(name);
	free(version);
	free(desc);
	free(expose);
	return out;
}

json_t *
stack_parse_ex(const char *buf, size_t len, const char *file,
    const struct stack_opts *opts, struct stack_errors *errs,
    struct stack_result *res)
{
	static const struct stack_opts no_opts;
	struct stack_ctx ctx;
	json_t *out;

	memset(&ctx, 0, sizeof ctx);
	ctx.file = file != NULL ? file : "-";
	ctx.opts = opts != NULL ? opts : &no_opts;
	ctx.host = ctx.opts->host;
	ctx.errs = errs;
	ctx.tree = json_object();
	out = stack_run(&ctx, buf, len);
	json_decref(ctx.tree);
	if (ctx.needed)		/* errors then are noise (stack_run()) */
		stack_errors_clear(errs);
	if (res != NULL) {
		res->needs = ctx.needed ? json_incref(ctx.needs) : NULL;
		res->warnings = ctx.warnings != NULL ?
		    json_incref(ctx.warnings) : json_array();
		res->vault_writes = out != NULL && ctx.vault_writes != NULL ?
		    json_incref(ctx.vault_writes) : json_object();
	}
	stack_ctx_free(&ctx);
	return out;
}

json_t *
stack_parse_file(struct stack_ctx *outer, const char *file,
    const struct stack_opts *o, const char *extending,
    const struct snode *at, const char *path, char **source)
{
	struct stack_ctx ctx;
	json_t *out, *x;
	char *data, *cause, *full, *dir, *slash;
	size_t len, i;
	int rc;

	if (source != NULL)
		*source = NULL;
	if (outer->depth >= STACK_MAX_FILES) {
		stack_errn(outer, at, path, "more than %d files in a chain of "
		    "%s (a loop?)", STACK_MAX_FILES, extending != NULL ?
		    "extends" : "child stacks");
		return NULL;
	}
	rc = stack_host_read(outer, file, STACK_FILE_STACK, &data, &len,
	    &cause);
	if (rc != 0) {
		if (rc != STACK_NEED)
			stack_errn(outer, at, path, "cannot read \"%s\": %s",
			    file, cause);
		free(cause);
		return NULL;
	}
	if (*file == '/' || outer->dir == NULL)
		full = xstrdup(file);
	else
		xasprintf(&full, "%s%s", outer->dir, file);
	dir = xstrdup(full);
	slash = strrchr(dir, '/');
	*(slash != NULL ? slash + 1 : dir) = '\0';

	memset(&ctx, 0, sizeof ctx);
	ctx.file = full;
	ctx.dir = dir;
	ctx.opts = o;
	ctx.host = o->host;
	ctx.errs = outer->errs;
	ctx.extending = extending;
	ctx.depth = outer->depth + 1;
	ctx.tree = outer->tree;
	out = stack_run(&ctx, data, len);
	if (ctx.needed) {
		json_array_foreach(ctx.needs, i, x)
			stack_host_need(outer, json_incref(x));
	}
	if (ctx.warnings != NULL) {
		if (outer->warnings == NULL)
			outer->warnings = json_array();
		json_array_extend(outer->warnings, ctx.warnings);
	}
	if (ctx.vault_writes != NULL) {
		if (outer->vault_writes == NULL)
			outer->vault_writes = json_object();
		json_object_update(outer->vault_writes, ctx.vault_writes);
	}
	if (ctx.full)
		outer->full = 1;
	stack_ctx_free(&ctx);
	if (out != NULL && source != NULL)
		*source = data;
	else
		free(data);
	free(full);
	free(dir);
	return out;
}

json_t *
stack_env_names(const char *buf, size_t len)
{
	struct stack_errors errs = { NULL, 0 };
	const struct snode *root, *vars, *map, *from, *k, *h;
	struct stack_ctx ctx;
	json_t *out = json_array(), *x;
	size_t i, j, m;

	memset(&ctx, 0, sizeof ctx);
	ctx.file = "-";
	ctx.errs = &errs;
	ctx.lenient = 1;
	if (len > STACK_MAX_INPUT || stack_utf8_check(&ctx, buf, len) != 0 ||
	    (root = stack_yaml_load(&ctx, buf, len)) == NULL ||
	    root->type != SNODE_MAP ||
	    (vars = stack_top(root, "variables")) == NULL ||
	    vars->type != SNODE_MAP)
		goto out;
	for (i = 0; i < SNODE_NPAIRS(vars); i++) {
		if (SNODE_KEY(vars, i)->type != SNODE_SCALAR)
			continue;
		json_array_append_new(out,
		    json_string(SNODE_KEY(vars, i)->str));
		map = SNODE_VAL(vars, i);
		if (map->type != SNODE_MAP ||
		    (from = stack_top(map, "from")) == NULL ||
		    from->type != SNODE_MAP || (h = stack_top(from,
		    "env")) == NULL)
			continue;
		m = h->type == SNODE_SEQ ? h->n : 1;
		for (j = 0; j < m; j++) {
			k = h->type == SNODE_SEQ ? h->kids[j] : h;
			/* A name made of ${...} is the master's to ask for. */
			if (k->type == SNODE_SCALAR && *k->str != '\0' &&
			    strchr(k->str, '$') == NULL)
				json_array_append_new(out,
				    json_string(k->str));
		}
	}
out:
	/* Each name once. */
	for (i = 0; i < json_array_size(out); i++) {
		for (j = i + 1; j < json_array_size(out); j++) {
			x = json_array_get(out, j);
			if (json_equal(x, json_array_get(out, i)))
				json_array_remove(out, j--);
		}
	}
	stack_yaml_free(&ctx);
	stack_errors_clear(&errs);
	return out;
}

json_t *
stack_values_load(const char *buf, size_t len, const char *file,
    char **cause)
{
	struct stack_errors errs = { NULL, 0 };
	const struct snode *root;
	struct stack_ctx ctx;
	json_t *out = NULL;

	memset(&ctx, 0, sizeof ctx);
	ctx.file = file;
	ctx.errs = &errs;
	*cause = NULL;
	if (len > STACK_MAX_INPUT)
		xasprintf(cause, "%s: larger than %d bytes", file,
		    STACK_MAX_INPUT);
	else if (stack_utf8_check(&ctx, buf, len) == 0 &&
	    (root = stack_yaml_load(&ctx, buf, len)) != NULL &&
	    errs.n == 0) {
		if (root->type != SNODE_MAP || stack_is_null(root))
			xasprintf(cause, "%s: expected a mapping of variable "
			    "names to values", file);
		else
			out = stack_node_json(root);
	}
	if (out == NULL && *cause == NULL) {
		char *m = stack_errors_format(&errs);

		*cause = m;
	}
	stack_yaml_free(&ctx);
	stack_errors_clear(&errs);
	return out;
}
