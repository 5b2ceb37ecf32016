/*
 * stack_extends.c - a service's `extends:`, as Kontena applied it.
 *
 * Called by stack.c's stack_services() once every service is read, on the
 * parser's thread; pure. `extends: NAME` takes the service NAME of this
 * file, `extends: {file: F, service: NAME}` the service NAME of the file F
 * (beside this one; read through the caller, rendered with this stack's
 * variables: ext_file()). What the parent gives, as Kontena's
 * CLI merged it (its ServiceExtender, then its service generator run over
 * the parent's generated service and the child's keys):
 *
 *	environment	the parent's, the child's entries replacing the
 *			parent's of the same key in place, new ones after;
 *	secrets		the child's, then the parent's of other secrets;
 *	links		the parent's links and depends_on (Kontena folded
 *			depends_on into links) unless the child has links;
 *			the child's depends_on are added;
 *	image, entrypoint, instances, stateful, ports, volumes, affinity,
 *	cpus, cpu_shares, privileged, cap_add, cap_drop, network_mode, pid,
 *	user, hooks, health_check, stop_signal, stop_grace_period, read_only
 *			the parent's unless the child has the key.
 *
 * command, deploy, mem_limit, memswap_limit, shm_size and logging did not
 * survive Kontena's merge (the generated parent named them cmd,
 * deploy_opts, memory, ... and the generator read only the YAML names), so
 * a service never had its parent's: berth does the same, and warns.
 */
#include "stacks/stack_int.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* The keys the child has, else the parent's value (same spec field). */
static const char *const ext_inherited[] = {
	"image", "entrypoint", "instances", "stateful", "ports", "volumes",
	"affinity", "cpus", "cpu_shares", "privileged", "cap_add", "cap_drop",
	"network_mode", "pid", "user", "hooks", "health_check", "stop_signal",
	"stop_grace_period", "read_only", NULL,
};

/* Keys Kontena's merge lost. */
static const char *const ext_lost[] = {
	"command", "deploy", "mem_limit", "memswap_limit", "shm_size",
	"logging", NULL,
};

/* Whether spec's service was given key (its " given" list). */
static int
ext_given(json_t *spec, const char *key)
{
	json_t *g = json_object_get(spec, " given"), *x;
	size_t i;

	json_array_foreach(g, i, x) {
		if (strcmp(json_string_value(x), key) == 0)
			return 1;
	}
	return 0;
}

/* Whether list (of strings or objects) holds x. */
static int
ext_has(json_t *list, json_t *x)
{
	json_t *y;
	size_t i;

	json_array_foreach(list, i, y) {
		if (json_equal(x, y))
			return 1;
	}
	return 0;
}

/*
 * Links the child has from its parent: ordered and checked like its own
 * (ctx->refs and ctx->xrefs), at the extends: entry.
 */
static void
ext_refs(struct stack_ctx *ctx, const char *from, json_t *list, int links,
    const struct snode *at, const char *path)
{
	const char *s, *slash;
	struct stack_ref *r;
	struct stack_xref *x;
	json_t *e;
	size_t i, slen;

	json_array_foreach(list, i, e) {
		s = json_string_value(e);
		if ((slash = strchr(s, '/')) != NULL) {
			slen = (size_t)(slash - s);
			if (ctx->stack_name == NULL ||
			    strlen(ctx->stack_name) != slen ||
			    strncmp(s, ctx->stack_name, slen) != 0) {
				ctx->xrefs = xreallocarray(ctx->xrefs,
				    ctx->nxrefs + 1, sizeof *ctx->xrefs);
				x = &ctx->xrefs[ctx->nxrefs++];
				x->from = xstrdup(from);
				x->stack = xstrndup(s, slen);
				x->service = xstrndup(slash + 1,
				    strcspn(slash + 1, ":"));
				x->path = xstrdup(path);
				x->line = at->line;
				x->col = at->col;
				continue;
			}
			s = slash + 1;
		}
		ctx->refs = xreallocarray(ctx->refs, ctx->nrefs + 1,
		    sizeof *ctx->refs);
		r = &ctx->refs[ctx->nrefs++];
		r->from = xstrdup(from);
		r->to = xstrndup(s, links ? strcspn(s, ":") : strlen(s));
		r->path = xstrdup(path);
		r->line = at->line;
		r->col = at->col;
	}
}

/*
 * A parent from another file may mount named volumes; this stack must
 * declare them (that file's volumes: are not this stack's).
 */
static void
ext_volumes(struct stack_ctx *ctx, json_t *vols, const struct snode *at,
    const char *path)
{
	const char *s;
	json_t *e;
	size_t i, j, n;

	json_array_foreach(vols, i, e) {
		s = json_string_value(e);
		n = strcspn(s, ":");
		if (*s == '/' || s[n] == '\0')
			continue;
		for (j = 0; j < ctx->nvolnames; j++) {
			if (strlen(ctx->volnames[j]) == n &&
			    strncmp(ctx->volnames[j], s, n) == 0)
				break;
		}
		if (j == ctx->nvolnames)
			stack_errn(ctx, at, path, "volume \"%s\" (of the "
			    "service extended): named volume \"%.*s\" is not "
			    "declared under this stack's volumes:", s, (int)n,
			    s);
	}
}

/* Child's spec over parent's, as the comment at the top says. */
static void
ext_merge(struct stack_ctx *ctx, json_t *child, json_t *parent,
    const struct snode *at, const char *path, int other_file)
{
	json_t *env, *e, *sec, *l, *pl;
	const char *name = json_string_value(json_object_get(child, "name"));
	size_t i;

	for (i = 0; ext_inherited[i] != NULL; i++) {
		if (!ext_given(child, ext_inherited[i]))
			json_object_set_new(child, ext_inherited[i],
			    json_deep_copy(json_object_get(parent,
			    ext_inherited[i])));
	}
	if (other_file && !ext_given(child, "volumes"))
		ext_volumes(ctx, json_object_get(child, "volumes"), at, path);
	for (i = 0; ext_lost[i] != NULL; i++) {
		if (ext_given(parent, ext_lost[i]) &&
		    !ext_given(child, ext_lost[i]))
			stack_warn(ctx, at, path, "the service extended has "
			    "%s, which Kontena's extends did not carry over "
			    "and berth does not either: give it here",
			    ext_lost[i]);
	}

	env = json_deep_copy(json_object_get(parent, "env"));
	json_array_foreach(json_object_get(child, "env"), i, e)
		stack_env_put(env, json_string_value(e));
	json_object_set_new(child, "env", env);

	sec = json_object_get(child, "secrets");
	json_array_foreach(json_object_get(parent, "secrets"), i, e) {
		json_t *s2;
		size_t j;
		int dup = 0;

		json_array_foreach(sec, j, s2) {
			dup |= json_equal(json_object_get(s2, "secret"),
			    json_object_get(e, "secret"));
		}
		if (!dup)
			json_array_append(sec, e);
	}

	if (ext_given(child, "links"))
		return;
	l = json_deep_copy(json_object_get(parent, "links"));
	json_object_set_new(child, "links", l);
	ext_refs(ctx, name, l, 1, at, path);
	pl = json_deep_copy(json_object_get(parent, "depends_on"));
	ext_refs(ctx, name, pl, 0, at, path);
	json_array_foreach(json_object_get(child, "depends_on"), i, e) {
		if (!ext_has(pl, e))
			json_array_append(pl, e);
	}
	json_object_set_new(child, "depends_on", pl);
	l = json_object_get(child, "stack_links");
	json_array_foreach(json_object_get(parent, "stack_links"), i, e) {
		if (!ext_has(l, e))
			json_array_append(l, e);
	}
}

/* The automatic variables, which an extends: file sets for itself. */
static int
ext_automatic(const char *name)
{
	return strcmp(name, "GRID") == 0 || strcmp(name, "STACK") == 0 ||
	    strcmp(name, "PLATFORM") == 0 || strcmp(name, "PARENT_STACK") == 0;
}

/*
 * The service of another file, which gets this stack's variables with
 * their values (Kontena added them to the file's own) and its name.
 */
static json_t *
ext_file(struct stack_ctx *ctx, const char *file, const char *service,
    const struct snode *at, const char *path)
{
	struct stack_opts o = *ctx->opts;
	json_t *vals = json_object(), *x, *out, *svc = NULL;
	const char *k;

	json_object_foreach(ctx->values, k, x) {
		if (!ext_automatic(k) && !json_is_null(x))
			json_object_set(vals, k, x);
	}
	o.name = ctx->stack_name;
	o.values = vals;
	out = stack_parse_file(ctx, file, &o, service, at, path, NULL);
	if (out != NULL)
		svc = json_incref(json_array_get(out, 0));
	json_decref(out);
	json_decref(vals);
	return svc;
}

int
stack_extends(struct stack_ctx *ctx, struct stack_svc *sv, size_t n,
    size_t i)
{
	const struct snode *ext, *k;
	json_t *parent = NULL;
	char *path, *kpath, *val[3] = { NULL, NULL, NULL };
	static const char *const keys[] = { "service", "file", "stack" };
	size_t j, m;
	int rc = -1;

	if (sv[i].state == 2)
		return 0;
	if (sv[i].state == 1) {
		stack_errn(ctx, sv[i].node, sv[i].path, "extends: a loop of "
		    "services extending each other");
		return -1;
	}
	if (sv[i].spec == NULL || sv[i].node->type != SNODE_MAP ||
	    (ext = stack_top(sv[i].node, "extends")) == NULL) {
		sv[i].state = 2;
		return 0;
	}
	sv[i].state = 1;
	path = stack_path(sv[i].path, "extends");
	if (ext->type == SNODE_SCALAR) {
		if (stack_get_str(ctx, ext, path, &val[0]) != 0)
			goto out;
		for (j = 0; j < n; j++) {
			if (strcmp(sv[j].name, val[0]) == 0)
				break;
		}
		if (j == n) {
			stack_errn(ctx, ext, path, "no service \"%s\" in %s",
			    val[0], ctx->file);
			goto out;
		}
		if (j == i) {
			stack_errn(ctx, ext, path, "a service cannot extend "
			    "itself");
			goto out;
		}
		if (sv[j].spec == NULL)		/* an extends: file's */
			sv[j].spec = stack_service_parse(ctx, sv[j].name,
			    sv[j].node, sv[j].path);
		if (stack_extends(ctx, sv, n, j) != 0)
			goto out;
		parent = json_incref(sv[j].spec);
	} else if (ext->type == SNODE_MAP) {
		for (j = 0; j < SNODE_NPAIRS(ext); j++) {
			k = SNODE_KEY(ext, j);
			kpath = stack_path(path, k->str);
			for (m = 0; m < 3; m++) {
				if (strcmp(k->str, keys[m]) == 0)
					break;
			}
			if (m == 3)
				stack_unknown_key(ctx, k, kpath, "extends");
			else {
				free(val[m]);
				val[m] = NULL;
				stack_get_str(ctx, SNODE_VAL(ext, j), kpath,
				    &val[m]);
			}
			free(kpath);
		}
		if (val[0] == NULL) {
			stack_errn(ctx, ext, path, "extends needs service: "
			    "(and file:)");
			goto out;
		}
		if (val[1] == NULL && val[2] != NULL) {
			stack_errn(ctx, ext, path, "extends from a stack of "
			    "Kontena's stack registry (%s) is not supported "
			    "by berth: save the stack file beside this one "
			    "and name it with file:", val[2]);
			goto out;
		}
		if (val[1] == NULL) {
			stack_errn(ctx, ext, path, "extends needs file: (the "
			    "stack file the service is in) with service:");
			goto out;
		}
		if ((parent = ext_file(ctx, val[1], val[0], ext, path)) ==
		    NULL)
			goto out;
	} else {
		stack_errn(ctx, ext, path, "must be a service name or "
		    "{file, service}, not a %s", stack_type_name(ext));
		goto out;
	}
	ext_merge(ctx, sv[i].spec, parent, ext, path, ext->type == SNODE_MAP);
	rc = 0;
out:
	sv[i].state = 2;
	json_decref(parent);
	for (m = 0; m < 3; m++)
		free(val[m]);
	free(path);
	return rc;
}
