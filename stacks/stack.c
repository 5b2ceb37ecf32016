/*
 * stack.c - stack_parse(): a Kontena stack file to berth's normalized JSON.
 *
 * Called by the master's stack API handlers and by the CLI, on their own
 * threads; pure (no I/O, clock, locks or globals: everything lives in one
 * struct stack_ctx on the stack of the call). The steps:
 *
 *   1. the raw text: size cap, UTF-8, Kontena's Liquid tags ({% %}, {{ }},
 *      which Kontena expanded before YAML parsing and berth does not);
 *   2. YAML to a tree (stack_yaml.c), with depth and node caps;
 *   3. `stack:` (the name is needed for the automatic STACK variable);
 *   4. `variables:` (stack_vars.c); from here every string is interpolated;
 *   5. `volumes:`, then each service (stack_service.c);
 *   6. links/depends_on checked and the services put in dependency order.
 *
 * Errors are collected, not returned at the first; a step that cannot go on
 * (bad UTF-8, YAML syntax) stops there since what follows would be noise.
 */
#include "stacks/stack_int.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define STACK_MAX_SERVICES	1000	/* keeps the ordering quadratic-safe */

/*
 * Kontena ran the whole file through Liquid before reading it as YAML, so
 * tags hide in comments too ("# {% if x %}"). Report each line that has
 * one. The column counts characters, as libyaml's marks do.
 */
static int
stack_liquid_check(struct stack_ctx *ctx, const char *buf, size_t len)
{
	size_t i;
	int line = 1, col = 1, found = 0, reported = 0;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			line++;
			col = 1;
			reported = 0;
			continue;
		}
		if (!reported && buf[i] == '{' && i + 1 < len &&
		    (buf[i + 1] == '%' || buf[i + 1] == '{')) {
			stack_err(ctx, line, col, "", "Liquid template tag "
			    "\"{%c\" is not supported by berth (Kontena "
			    "expanded templates before parsing; write plain "
			    "YAML with ${VAR} variables instead)", buf[i + 1]);
			found = reported = 1;
		}
		if (((unsigned char)buf[i] & 0xc0) != 0x80)
			col++;
	}
	return found ? -1 : 0;
}

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
		    "(1 to 63 of a-z, 0-9 and -, after an optional user/)", s);
		free(s);
		return NULL;
	}
	*full = s;
	if (o->name != NULL) {
		if (!util_name_valid(o->name)) {
			stack_errn(ctx, v, "stack", "--name \"%s\" is not a "
			    "valid stack name (1 to 63 of a-z, 0-9 and -)",
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
		ctx->volnames = xreallocarray(ctx->volnames,
		    ctx->nvolnames + 1, sizeof *ctx->volnames);
		ctx->volnames[ctx->nvolnames++] = xstrdup(k->str);
		ext = NULL;
		if (stack_want_map(ctx, v, path) != 0)
			goto next;
		for (j = 0; j < SNODE_NPAIRS(v); j++) {
			e = SNODE_VAL(v, j);
			epath = stack_path(path, SNODE_KEY(v, j)->str);
			if (strcmp(SNODE_KEY(v, j)->str, "external") != 0) {
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
		if (ext == NULL && SNODE_NPAIRS(v) == 0)
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
 * declared first goes first, so the order is stable.
 */
static json_t *
stack_order(struct stack_ctx *ctx, json_t *svcs)
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
		if (t < 0) {
			stack_err(ctx, ref->line, ref->col, ref->path,
			    "unknown service \"%s\" (not in this stack)",
			    ref->to);
		} else if (f >= 0)
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

static json_t *
stack_services(struct stack_ctx *ctx, const struct snode *svcs)
{
	json_t *out = json_array(), *ordered;
	const struct snode *k;
	char *path;
	size_t i;

	if (svcs == NULL || stack_is_null(svcs) ||
	    stack_want_map(ctx, svcs, "services") != 0)
		return out;
	if (SNODE_NPAIRS(svcs) > STACK_MAX_SERVICES) {
		stack_errn(ctx, svcs, "services", "more than %d services",
		    STACK_MAX_SERVICES);
		return out;
	}
	for (i = 0; i < SNODE_NPAIRS(svcs); i++) {
		k = SNODE_KEY(svcs, i);
		path = stack_path("services", k->str);
		if (!util_name_valid(k->str)) {
			stack_errn(ctx, k, path, "\"%s\" is not a valid service "
			    "name (1 to 63 of a-z, 0-9 and -)", k->str);
		}
		json_array_append_new(out, stack_service_parse(ctx, k->str,
		    SNODE_VAL(svcs, i), path));
		free(path);
	}
	ordered = stack_order(ctx, out);
	json_decref(out);
	return ordered;
}

/* Top-level keys berth refuses, and why. */
static const struct {
	const char	*name;
	const char	*why;
} stack_refused[] = {
	{ "networks", "networks are not supported by berth: services of a "
	    "grid share one network" },
	{ "certificates", "Kontena certificates are not supported by berth" },
	{ "secrets", "Vault secrets are not supported by berth" },
	{ "depends", "child stacks (depends) are not supported by berth" },
	{ "parent", "child stacks (parent) are not supported by berth" },
	{ "data", "Kontena's data key is not supported by berth" },
};

/*
 * Links to other stacks' services: each target must exist in the grid now
 * (Kontena checked the same when it created the service). Without a
 * service_find callback (the CLI's own parse) they are not checked.
 */
static void
stack_xrefs_check(struct stack_ctx *ctx)
{
	const struct stack_xref *x;
	size_t i;
	int rc;

	for (i = 0; i < ctx->nxrefs; i++) {
		x = &ctx->xrefs[i];
		rc = stack_host_service(ctx, x->stack, x->service, NULL);
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
		free(ctx->xrefs[i].stack);
		free(ctx->xrefs[i].service);
		free(ctx->xrefs[i].path);
	}
	free(ctx->xrefs);
	json_decref(ctx->needs);
	json_decref(ctx->warnings);
	json_decref(ctx->vault_writes);
	free(ctx->stack_name);
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

json_t *
stack_parse_ex(const char *buf, size_t len, const char *file,
    const struct stack_opts *opts, struct stack_errors *errs,
    struct stack_result *res)
{
	static const struct stack_opts no_opts;
	static const char *keys[] = { "stack", "version", "description",
	    "variables", "volumes", "services", "expose", NULL };
	const struct snode *at[7] = { NULL }, *root, *k;
	struct stack_ctx ctx;
	json_t *out = NULL, *vars = NULL, *vols = NULL, *svcs = NULL;
	char *full = NULL, *name = NULL, *version = NULL, *desc = NULL;
	char *expose = NULL;
	size_t i, j;

	memset(&ctx, 0, sizeof ctx);
	ctx.file = file != NULL ? file : "-";
	ctx.opts = opts != NULL ? opts : &no_opts;
	ctx.host = ctx.opts->host;
	ctx.errs = errs;

	if (len > STACK_MAX_INPUT) {
		stack_err(&ctx, 1, 1, "", "the stack file is %zu bytes; the "
		    "limit is %d", len, STACK_MAX_INPUT);
		goto out;
	}
	if (stack_utf8_check(&ctx, buf, len) != 0 ||
	    stack_liquid_check(&ctx, buf, len) != 0)
		goto out;
	if ((root = stack_yaml_load(&ctx, buf, len)) == NULL)
		goto out;
	if (stack_want_map(&ctx, root, "") != 0)
		goto out;

	for (i = 0; i < SNODE_NPAIRS(root); i++) {
		k = SNODE_KEY(root, i);
		for (j = 0; keys[j] != NULL; j++) {
			if (strcmp(k->str, keys[j]) == 0)
				break;
		}
		if (keys[j] != NULL) {
			at[j] = SNODE_VAL(root, i);
			continue;
		}
		for (j = 0; j < sizeof stack_refused / sizeof stack_refused[0];
		    j++) {
			if (strcmp(k->str, stack_refused[j].name) == 0)
				break;
		}
		if (j < sizeof stack_refused / sizeof stack_refused[0])
			stack_errn(&ctx, k, k->str, "%s", stack_refused[j].why);
		else
			stack_unknown_key(&ctx, k, k->str, "the top level");
	}

	if (at[0] == NULL)
		stack_errn(&ctx, root, "stack", "stack is required "
		    "([user/]name)");
	else
		name = stack_name(&ctx, at[0], &full);
	if (name != NULL)
		ctx.stack_name = xstrdup(name);
	vars = json_object();
	stack_vars_resolve(&ctx, at[3], ctx.opts->grid != NULL ?
	    ctx.opts->grid : "", name != NULL ? name : "", vars);
	if (at[1] != NULL && !stack_is_null(at[1]))
		stack_get_str(&ctx, at[1], "version", &version);
	if (at[2] != NULL && !stack_is_null(at[2]))
		stack_get_str(&ctx, at[2], "description", &desc);
	vols = stack_volumes(&ctx, at[4]);
	svcs = stack_services(&ctx, at[5]);
	if (errs->n == 0 && !ctx.needed)
		stack_xrefs_check(&ctx);
	if (at[5] == NULL && json_array_size(vols) == 0)
		stack_errn(&ctx, root, "services", "services is required");
	if (at[6] != NULL && !stack_is_null(at[6]) &&
	    stack_get_str(&ctx, at[6], "expose", &expose) == 0 &&
	    stack_svc_index(svcs, expose) < 0) {
		stack_errn(&ctx, at[6], "expose", "unknown service \"%s\"",
		    expose);
	}
	if (ctx.needed) {
		/* What is missing first; errors after a missing value are
		   noise, and the parse with it will find the real ones. */
		stack_errors_clear(errs);
		goto out;
	}
	if (errs->n > 0)
		goto out;

	out = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:O, s:O, s:O}",
	    "stack", full, "name", name, "version", version,
	    "description", desc, "expose", expose, "variables", vars,
	    "volumes", vols, "services", svcs);
	if (out == NULL)
		stack_err(&ctx, 1, 1, "", "internal error building the result");
out:
	if (res != NULL) {
		res->needs = ctx.needed ? json_incref(ctx.needs) : NULL;
		res->warnings = ctx.warnings != NULL ?
		    json_incref(ctx.warnings) : json_array();
		res->vault_writes = out != NULL && ctx.vault_writes != NULL ?
		    json_incref(ctx.vault_writes) : json_object();
	}
	json_decref(vars);
	json_decref(vols);
	json_decref(svcs);
	free(full);
	free(name);
	free(version);
	free(desc);
	free(expose);
	stack_ctx_free(&ctx);
	return out;
}
