/*
 * stack_depends.c - `depends:`, a stack's child stacks, as Kontena had them.
 *
 *	depends:
 *	  db:
 *	    stack: db.yml		# a file beside this one
 *	    variables:			# values for its variables
 *	      size: 10
 *
 * Each child is installed as PARENT-NAME ("app-db") with PARENT_STACK set
 * to the parent's name, and the parent has a variable NAME whose value is
 * that installed name (so that it can link to "${db}/postgres"). Values
 * given to the parent as "NAME.VAR" (-v db.size=20) go to the child as VAR,
 * over the file's. Kontena read depends: from the file as written (no
 * ${} or Liquid in it), and so does berth. A child's children are children
 * of it in turn.
 *
 * The parse gives the whole tree: the stack's "children" are the child
 * stacks, each parsed like a stack file of its own (stack_parse_file()),
 * with its "source" (the file's text) for the master to keep. On an
 * upgrade, the installed children's values come in opts->previous as
 * "NAME.VAR". Called from stack.c on the parser's thread; pure.
 */
#include "stacks/stack_int.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* Kontena's stack registry ("user/name[:version]"), which berth lacks. */
static int
dep_registry(const char *s)
{
	size_t n = strlen(s);

	if (n > 4 && (strcmp(s + n - 4, ".yml") == 0 ||
	    strcmp(s + n - 5, ".yaml") == 0))
		return 0;
	return strchr(s, '/') != NULL && strchr(strchr(s, '/') + 1, '/') ==
	    NULL && *s != '/' && *s != '.';
}

void
stack_depends_read(struct stack_ctx *ctx, const struct snode *deps,
    const char *name)
{
	const struct snode *e, *k, *v;
	struct stack_dep *d;
	char *path, *kpath, *file, *installed;
	json_t *vars;
	size_t i, j;
	int bad;

	if (deps == NULL || stack_is_null(deps) ||
	    stack_want_map(ctx, deps, "depends") != 0)
		return;
	for (i = 0; i < SNODE_NPAIRS(deps); i++) {
		k = SNODE_KEY(deps, i);
		e = SNODE_VAL(deps, i);
		path = stack_path("depends", k->str);
		file = NULL;
		vars = NULL;
		bad = 0;
		if (stack_want_map(ctx, e, path) != 0) {
			free(path);
			continue;
		}
		for (j = 0; j < SNODE_NPAIRS(e); j++) {
			kpath = stack_path(path, SNODE_KEY(e, j)->str);
			v = SNODE_VAL(e, j);
			if (strcmp(SNODE_KEY(e, j)->str, "stack") == 0) {
				free(file);
				file = NULL;
				/* As written: Kontena did not interpolate. */
				if (v->type != SNODE_SCALAR || stack_is_null(v)) {
					stack_errn(ctx, v, kpath, "must be the "
					    "child's stack file");
					bad = 1;
				} else
					file = xstrdup(v->str);
			} else if (strcmp(SNODE_KEY(e, j)->str,
			    "variables") == 0) {
				if (stack_is_null(v))
					;
				else if (v->type != SNODE_MAP) {
					stack_errn(ctx, v, kpath, "must be a "
					    "mapping of variable names to "
					    "values");
					bad = 1;
				} else {
					json_decref(vars);
					vars = stack_node_json(v);
				}
			} else {
				stack_unknown_key(ctx, SNODE_KEY(e, j), kpath,
				    "a child stack (stack, variables)");
				bad = 1;
			}
			free(kpath);
		}
		if (!bad && file == NULL) {
			stack_errn(ctx, e, path, "stack is required (the "
			    "child's stack file)");
			bad = 1;
		}
		if (!bad && (strncmp(file, "http://", 7) == 0 ||
		    strncmp(file, "https://", 8) == 0)) {
			stack_errn(ctx, e, path, "child stacks from a URL (%s) "
			    "are not supported by berth: save the file beside "
			    "this one and name it", file);
			bad = 1;
		} else if (!bad && dep_registry(file)) {
			stack_errn(ctx, e, path, "child stacks from Kontena's "
			    "stack registry (%s) are not supported by berth: "
			    "save the stack file beside this one and name it "
			    "(e.g. %s.yml)", file, strchr(file, '/') + 1);
			bad = 1;
		}
		installed = NULL;
		if (!bad && name != NULL) {
			xasprintf(&installed, "%s-%s", name, k->str);
			if (!util_name_valid(installed)) {
				stack_errn(ctx, k, path, "the child stack would "
				    "be installed as \"%s\", not a valid stack "
				    "name (1 to 63 of a-z, 0-9 and -)",
				    installed);
				bad = 1;
			}
			free(installed);
		}
		if (bad) {
			free(file);
			json_decref(vars);
			free(path);
			continue;
		}
		ctx->deps = xreallocarray(ctx->deps, ctx->ndeps + 1,
		    sizeof *ctx->deps);
		d = &ctx->deps[ctx->ndeps++];
		d->name = xstrdup(k->str);
		d->file = file;
		d->variables = vars != NULL ? vars : json_object();
		d->node = e;
		d->path = path;
	}
}

/* The entries of m named "prefix.X", as X. A new object. */
static json_t *
dep_prefixed(json_t *m, const char *prefix)
{
	json_t *out = json_object(), *v;
	size_t n = strlen(prefix);
	const char *k;

	json_object_foreach(m, k, v) {
		if (strncmp(k, prefix, n) == 0 && k[n] == '.' && k[n + 1] != '\0')
			json_object_set(out, k + n + 1, v);
	}
	return out;
}

json_t *
stack_depends_parse(struct stack_ctx *ctx, const char *name)
{
	const struct stack_dep *d;
	struct stack_opts o;
	json_t *out = json_array(), *vals, *prev, *forced, *child;
	char *installed, *source;
	size_t i;

	for (i = 0; i < ctx->ndeps; i++) {
		d = &ctx->deps[i];
		xasprintf(&installed, "%s-%s", name, d->name);
		vals = json_deep_copy(d->variables);
		forced = dep_prefixed(ctx->opts->values, d->name);
		json_object_update(vals, forced);
		json_decref(forced);
		prev = dep_prefixed(ctx->opts->previous, d->name);
		o = *ctx->opts;
		o.name = installed;
		o.parent = name;
		o.values = vals;
		o.previous = prev;
		child = stack_parse_file(ctx, d->file, &o, NULL, d->node,
		    d->path, &source);
		if (child != NULL) {
			json_object_set_new(child, "source",
			    json_string(source));
			json_object_set_new(child, "file", json_string(d->file));
			json_array_append_new(out, child);
		}
		free(source);
		json_decref(vals);
		json_decref(prev);
		free(installed);
	}
	return out;
}

void
stack_depends_free(struct stack_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->ndeps; i++) {
		free(ctx->deps[i].name);
		free(ctx->deps[i].file);
		json_decref(ctx->deps[i].variables);
		free(ctx->deps[i].path);
	}
	free(ctx->deps);
	ctx->deps = NULL;
	ctx->ndeps = 0;
}
