/*
 * stack_vars.c - the `variables:` section: declare, resolve, type-check.
 *
 * Called by stack_parse() after `stack:` is known and before anything else
 * is read, because every later string is interpolated with the values
 * resolved here (ctx->vars). Variables resolve in the order they are
 * declared; GRID and STACK come first, automatically. A variable's value
 * is the first of: `value`, each `from:` resolver in order (env, file,
 * interpolate; prompt is skipped since berth never asks), `default`. A
 * required variable (the default) without a value is an error.
 *
 * Kontena resolvers that need things berth does not have (Vault, random
 * generators, service lookups, arithmetic) are errors that say so; the
 * parser is deterministic and I/O-free, so it cannot generate or fetch.
 */
#include "stacks/stack_int.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Resolvers and setters berth refuses, with the reason given. */
static const struct {
	const char	*name;
	const char	*why;
} vars_unsupported[] = {
	{ "vault", "Vault-backed variables are not supported by berth "
	    "(it has no vault); use from: env or a default" },
	{ "random_string", "generated values (random_string) are not "
	    "supported by berth; pass the value with from: env" },
	{ "random_number", "generated values (random_number) are not "
	    "supported by berth; pass the value with from: env" },
	{ "random_uuid", "generated values (random_uuid) are not supported "
	    "by berth; pass the value with from: env" },
	{ "evaluate", "arithmetic (evaluate) is not supported by berth; "
	    "pass the computed value with from: env" },
	{ "service_link", "service_link lookups are not supported by berth; "
	    "pass the service name with from: env" },
	{ "service_instances", "service_instances lookups are not supported "
	    "by berth; pass the number with from: env" },
	{ "vault_cert_prompt", "Vault certificates are not supported by "
	    "berth" },
	{ "certificates", "Kontena certificates are not supported by berth" },
};

static const char *
vars_why(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof vars_unsupported / sizeof vars_unsupported[0];
	    i++) {
		if (strcmp(vars_unsupported[i].name, name) == 0)
			return vars_unsupported[i].why;
	}
	return NULL;
}

static int
vars_name_valid(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	}
	return 1;
}

static void
vars_add(struct stack_ctx *ctx, const char *name, const char *text, int at)
{
	ctx->vars = xreallocarray(ctx->vars, ctx->nvars + 1,
	    sizeof *ctx->vars);
	ctx->vars[ctx->nvars].name = xstrdup(name);
	ctx->vars[ctx->nvars].text = text != NULL ? xstrdup(text) : NULL;
	ctx->vars[ctx->nvars].declared_at = at;
	ctx->nvars++;
}

static const struct stack_var *
vars_get(struct stack_ctx *ctx, const char *name)
{
	size_t i;

	for (i = 0; i < ctx->nvars; i++) {
		if (strcmp(ctx->vars[i].name, name) == 0)
			return &ctx->vars[i];
	}
	return NULL;
}

void
stack_vars_free(struct stack_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nvars; i++) {
		free(ctx->vars[i].name);
		free(ctx->vars[i].text);
	}
	free(ctx->vars);
	ctx->vars = NULL;
	ctx->nvars = 0;
	for (i = 0; i < ctx->npending; i++)
		free(ctx->pending[i]);
	free(ctx->pending);
	ctx->pending = NULL;
	ctx->npending = 0;
}

static int
vars_truthy(const struct stack_var *v)
{
	return v->text != NULL && *v->text != '\0' &&
	    strcmp(v->text, "false") != 0;
}

/*
 * only_if / skip_if: a name, a list of names (all truthy), or a mapping of
 * name: value (all equal). Returns 1 when the condition holds, -1 on error.
 */
static int
vars_cond(struct stack_ctx *ctx, const struct snode *n, const char *path)
{
	const struct stack_var *v;
	const struct snode *k;
	char *want, *ipath;
	size_t i, cnt;
	int ok = 1, bad = 0;

	cnt = n->type == SNODE_SCALAR ? 1 :
	    n->type == SNODE_SEQ ? n->n : SNODE_NPAIRS(n);
	for (i = 0; i < cnt; i++) {
		k = n->type == SNODE_SCALAR ? n : n->type == SNODE_SEQ ?
		    n->kids[i] : SNODE_KEY(n, i);
		ipath = n->type == SNODE_SEQ ? stack_path_idx(path, i) :
		    xstrdup(path);
		if (k->type != SNODE_SCALAR) {
			stack_errn(ctx, k, ipath, "must name a variable, not "
			    "a %s", stack_type_name(k));
			bad = 1;
		} else if ((v = vars_get(ctx, k->str)) == NULL) {
			stack_errn(ctx, k, ipath, "condition names undeclared "
			    "variable \"%s\" (or one declared later)", k->str);
			bad = 1;
		} else if (n->type == SNODE_MAP) {
			if (stack_get_str(ctx, SNODE_VAL(n, i), ipath,
			    &want) != 0)
				bad = 1;
			else if (v->text == NULL || strcmp(v->text, want) != 0)
				ok = 0;
			free(want);
		} else if (!vars_truthy(v))
			ok = 0;
		free(ipath);
	}
	return bad ? -1 : ok;
}

/* Keys a variable may have beyond the common ones, by type. */
static const struct {
	const char	*type;
	const char	*keys[4];
} vars_type_keys[] = {
	{ "string",	{ "min_length", "max_length", NULL } },
	{ "integer",	{ "min", "max", NULL } },
	{ "boolean",	{ NULL } },
	{ "enum",	{ "options", NULL } },
	{ "uri",	{ "schemes", NULL } },
	{ "array",	{ "split", "uniq", "compact", NULL } },
};

/* Everything one variable's mapping says, picked out by key. */
struct vars_decl {
	const struct snode	*type, *dflt, *value, *from, *to, *required;
	const struct snode	*only_if, *skip_if, *in;
	const struct snode	*opt[4];	/* the type's own keys */
	int			 t;		/* index in vars_type_keys */
};

static int
vars_decl_read(struct stack_ctx *ctx, const struct snode *map,
    const char *path, struct vars_decl *d)
{
	static const char *common[] = { "type", "default", "value", "from",
	    "to", "required", "only_if", "skip_if", "in", "description",
	    "label", NULL };
	const struct snode *k, *v, **slot;
	char *kpath;
	size_t i, j;

	memset(d, 0, sizeof *d);
	d->t = -1;
	for (i = 0; i < SNODE_NPAIRS(map); i++) {
		if (SNODE_KEY(map, i)->type == SNODE_SCALAR &&
		    strcmp(SNODE_KEY(map, i)->str, "type") == 0)
			d->type = SNODE_VAL(map, i);
	}
	if (d->type == NULL) {
		stack_errn(ctx, map, path, "type is required (string, "
		    "integer, boolean, enum, uri or array)");
		return -1;
	}
	if (d->type->type == SNODE_SCALAR) {
		for (j = 0; j < sizeof vars_type_keys /
		    sizeof vars_type_keys[0]; j++) {
			if (strcmp(d->type->str, vars_type_keys[j].type) == 0)
				d->t = (int)j;
		}
	}
	if (d->t < 0) {
		kpath = stack_path(path, "type");
		stack_errn(ctx, d->type, kpath, "unknown variable type \"%s\" "
		    "(expected string, integer, boolean, enum, uri or array)",
		    d->type->type == SNODE_SCALAR ? d->type->str : "");
		free(kpath);
		return -1;
	}
	for (i = 0; i < SNODE_NPAIRS(map); i++) {
		k = SNODE_KEY(map, i);
		v = SNODE_VAL(map, i);
		if (k->type != SNODE_SCALAR)
			continue;
		kpath = stack_path(path, k->str);
		slot = NULL;
		for (j = 0; common[j] != NULL; j++) {
			if (strcmp(k->str, common[j]) == 0)
				break;
		}
		switch (j) {
		case 0: slot = &d->type; break;
		case 1: slot = &d->dflt; break;
		case 2: slot = &d->value; break;
		case 3: slot = &d->from; break;
		case 4: slot = &d->to; break;
		case 5: slot = &d->required; break;
		case 6: slot = &d->only_if; break;
		case 7: slot = &d->skip_if; break;
		case 8: slot = &d->in; break;
		case 9: case 10: break;		/* description, label */
		default:
			for (j = 0; vars_type_keys[d->t].keys[j] != NULL; j++) {
				if (strcmp(k->str,
				    vars_type_keys[d->t].keys[j]) == 0)
					slot = &d->opt[j];
			}
			if (slot == NULL) {
				stack_errn(ctx, k, kpath, "option \"%s\" of "
				    "type %s variables is not supported by "
				    "berth", k->str, d->type->str);
			}
			break;
		}
		if (slot != NULL)
			*slot = v;
		free(kpath);
	}
	return 0;
}

/*
 * Run the from: resolvers; *text is set by the first that has a value.
 * Returns -1 if a resolver was refused (the "no value" error would be
 * noise then).
 */
static int
vars_from(struct stack_ctx *ctx, const char *name, const struct snode *from,
    const char *path, char **text)
{
	const struct snode *k, *h, *p;
	char *kpath, *hint, *cause, *got;
	const char *why;
	size_t i, n, j;
	int ignore, refused = 0;

	n = from->type == SNODE_MAP ? SNODE_NPAIRS(from) : 1;
	if (from->type == SNODE_SEQ) {
		stack_errn(ctx, from, path, "must be a mapping of resolvers "
		    "(env: NAME, ...) or one resolver name, not a list");
		return -1;
	}
	for (i = 0; i < n; i++) {
		k = from->type == SNODE_MAP ? SNODE_KEY(from, i) : from;
		h = from->type == SNODE_MAP ? SNODE_VAL(from, i) : NULL;
		if (k->type != SNODE_SCALAR)
			continue;
		kpath = stack_path(path, k->str);
		hint = NULL;
		if ((why = vars_why(k->str)) != NULL) {
			stack_errn(ctx, k, kpath, "%s", why);
			refused = 1;
		} else if (strcmp(k->str, "prompt") == 0) {
			/* berth never prompts: env or default decide */
		} else if (strcmp(k->str, "env") == 0) {
			if (h != NULL && !stack_is_null(h) &&
			    stack_get_str(ctx, h, kpath, &hint) != 0)
				goto next;
			/* No environment given: every variable is unset. */
			if (stack_host_getenv(ctx, hint != NULL ? hint : name,
			    &got) == 1 && *text == NULL)
				*text = got;
			else
				free(got);
		} else if (strcmp(k->str, "interpolate") == 0) {
			if (h == NULL) {
				stack_errn(ctx, k, kpath, "needs a template");
				goto next;
			}
			if (stack_get_str(ctx, h, kpath, &hint) == 0 &&
			    *text == NULL) {
				*text = hint;
				hint = NULL;
			}
		} else if (strcmp(k->str, "file") == 0) {
			ignore = 0;
			p = h;
			if (h != NULL && h->type == SNODE_MAP) {
				p = NULL;
				for (j = 0; j < SNODE_NPAIRS(h); j++) {
					if (strcmp(SNODE_KEY(h, j)->str,
					    "path") == 0)
						p = SNODE_VAL(h, j);
					else if (strcmp(SNODE_KEY(h, j)->str,
					    "ignore_errors") == 0)
						stack_get_bool(ctx,
						    SNODE_VAL(h, j), kpath,
						    &ignore);
					else
						stack_unknown_key(ctx,
						    SNODE_KEY(h, j), kpath,
						    "from: file");
				}
			}
			if (p == NULL) {
				stack_errn(ctx, k, kpath, "needs a path");
				goto next;
			}
			if (stack_get_str(ctx, p, kpath, &hint) != 0)
				goto next;
			cause = NULL;
			if (stack_host_read(ctx, hint, STACK_FILE_CWD, &got,
			    NULL, &cause) == STACK_NEED)
				;
			else if (got == NULL && !ignore) {
				stack_errn(ctx, p, kpath, "cannot read \"%s\": "
				    "%s", hint, cause ? cause : "failed");
			}
			free(cause);
			if (got != NULL && *text == NULL)
				*text = got;
			else
				free(got);
		} else {
			stack_errn(ctx, k, kpath, "unknown resolver \"%s\" "
			    "(berth supports env, file, interpolate and "
			    "prompt, which is skipped)", k->str);
			refused = 1;
		}
next:
		free(hint);
		free(kpath);
	}
	return refused ? -1 : 0;
}

/* The text of default/value: a scalar, or for arrays a list joined by
 * commas. NULL for null. */
static char *
vars_node_text(struct stack_ctx *ctx, const struct snode *n,
    const char *path, int *bad)
{
	struct buf b = { NULL, 0, 0 };
	char *s;
	size_t i;

	if (stack_is_null(n))
		return NULL;
	if (n->type == SNODE_SEQ) {
		for (i = 0; i < n->n; i++) {
			if (stack_get_str(ctx, n->kids[i], path, &s) != 0) {
				*bad = 1;
				continue;
			}
			if (i > 0)
				buf_append(&b, ",", 1);
			buf_append(&b, s, strlen(s));
			free(s);
		}
		return b.data != NULL ? b.data : xstrdup("");
	}
	if (stack_get_str(ctx, n, path, &s) != 0) {
		*bad = 1;
		return NULL;
	}
	return s;
}

/* Type-check text and make its JSON value; NULL after an error. */
static json_t *
vars_typed(struct stack_ctx *ctx, const struct snode *at, const char *path,
    const struct vars_decl *d, char **text)
{
	const char *type = vars_type_keys[d->t].type, *sep = ",";
	long long i, lim;
	size_t j, len;
	int b;
	char *tok, *s, *save, *opt;
	json_t *arr;

	if (strcmp(type, "integer") == 0) {
		if (stack_text_int(*text, &i) != 0) {
			stack_errn(ctx, at, path, "value \"%s\" is not an "
			    "integer", *text);
			return NULL;
		}
		if (d->opt[0] != NULL &&
		    stack_get_int(ctx, d->opt[0], path, LLONG_MIN, LLONG_MAX,
		    &lim) == 0 && i < lim) {
			stack_errn(ctx, at, path, "value %lld is below the "
			    "minimum %lld", i, lim);
			return NULL;
		}
		if (d->opt[1] != NULL &&
		    stack_get_int(ctx, d->opt[1], path, LLONG_MIN, LLONG_MAX,
		    &lim) == 0 && i > lim) {
			stack_errn(ctx, at, path, "value %lld is above the "
			    "maximum %lld", i, lim);
			return NULL;
		}
		return json_integer(i);
	}
	if (strcmp(type, "boolean") == 0) {
		if (stack_text_bool(*text, &b) != 0) {
			for (s = *text; *s != '\0'; s++)
				*s = (char)tolower((unsigned char)*s);
			if (strcmp(*text, "yes") == 0 ||
			    strcmp(*text, "on") == 0 ||
			    strcmp(*text, "1") == 0)
				b = 1;
			else if (strcmp(*text, "no") == 0 ||
			    strcmp(*text, "off") == 0 ||
			    strcmp(*text, "0") == 0)
				b = 0;
			else {
				stack_errn(ctx, at, path, "value \"%s\" is not "
				    "a boolean (true/false, yes/no, on/off, "
				    "1/0)", *text);
				return NULL;
			}
		}
		free(*text);
		*text = xstrdup(b ? "true" : "false");
		return json_boolean(b);
	}
	if (strcmp(type, "string") == 0) {
		len = strlen(*text);
		if (d->opt[0] != NULL &&
		    stack_get_int(ctx, d->opt[0], path, 0, LLONG_MAX,
		    &lim) == 0 && (long long)len < lim) {
			stack_errn(ctx, at, path, "value is shorter than "
			    "min_length %lld", lim);
			return NULL;
		}
		if (d->opt[1] != NULL &&
		    stack_get_int(ctx, d->opt[1], path, 0, LLONG_MAX,
		    &lim) == 0 && (long long)len > lim) {
			stack_errn(ctx, at, path, "value is longer than "
			    "max_length %lld", lim);
			return NULL;
		}
	} else if (strcmp(type, "enum") == 0) {
		if (d->opt[0] == NULL || d->opt[0]->type != SNODE_SEQ) {
			stack_errn(ctx, at, path, "an enum needs a list of "
			    "options");
			return NULL;
		}
		for (j = 0; j < d->opt[0]->n; j++) {
			const struct snode *o = d->opt[0]->kids[j];

			if (o->type == SNODE_MAP) {
				for (len = 0; len < SNODE_NPAIRS(o); len++) {
					if (strcmp(SNODE_KEY(o, len)->str,
					    "value") == 0)
						break;
				}
				if (len == SNODE_NPAIRS(o))
					continue;
				o = SNODE_VAL(o, len);
			}
			if (stack_get_str(ctx, o, path, &opt) != 0)
				return NULL;
			b = strcmp(opt, *text) == 0;
			free(opt);
			if (b)
				break;
		}
		if (j == d->opt[0]->n) {
			stack_errn(ctx, at, path, "value \"%s\" is not one of "
			    "the enum's options", *text);
			return NULL;
		}
	} else if (strcmp(type, "uri") == 0) {
		s = strstr(*text, "://");
		if (s == NULL || s == *text) {
			stack_errn(ctx, at, path, "value \"%s\" is not a URI",
			    *text);
			return NULL;
		}
		b = 0;
		if (d->opt[0] == NULL) {
			b = strncmp(*text, "http://", 7) == 0 ||
			    strncmp(*text, "https://", 8) == 0;
		} else if (stack_get_strlist(ctx, d->opt[0], path,
		    &arr) == 0) {
			for (j = 0; j < json_array_size(arr); j++) {
				opt = (char *)json_string_value(
				    json_array_get(arr, j));
				if (strlen(opt) == (size_t)(s - *text) &&
				    strncmp(opt, *text, strlen(opt)) == 0)
					b = 1;
			}
			json_decref(arr);
		} else
			return NULL;
		if (!b) {
			stack_errn(ctx, at, path, "URI \"%s\" has a scheme "
			    "that is not allowed", *text);
			return NULL;
		}
	} else if (strcmp(type, "array") == 0) {
		opt = NULL;
		if (d->opt[0] != NULL && stack_get_str(ctx, d->opt[0], path,
		    &opt) == 0 && *opt != '\0')
			sep = opt;
		arr = json_array();
		s = xstrdup(*text);
		for (tok = strtok_r(s, sep, &save); tok != NULL;
		    tok = strtok_r(NULL, sep, &save)) {
			for (j = 0; j < json_array_size(arr); j++) {
				if (strcmp(json_string_value(
				    json_array_get(arr, j)), tok) == 0)
					break;
			}
			if (d->opt[1] != NULL && j < json_array_size(arr))
				continue;	/* uniq */
			json_array_append_new(arr, json_string(tok));
		}
		free(s);
		free(opt);
		return arr;
	}
	return json_string(*text);
}

/* Does the value appear in the `in:` list? */
static int
vars_in(struct stack_ctx *ctx, const struct snode *in, const char *path,
    const char *text)
{
	json_t *arr;
	size_t j;
	int found = 0;

	if (stack_get_strlist(ctx, in, path, &arr) != 0) {
		json_decref(arr);
		return -1;
	}
	for (j = 0; j < json_array_size(arr); j++) {
		if (strcmp(json_string_value(json_array_get(arr, j)),
		    text) == 0)
			found = 1;
	}
	json_decref(arr);
	if (!found)
		stack_errn(ctx, in, path, "value \"%s\" is not in the list",
		    text);
	return found ? 0 : -1;
}

/* to: env: NAME - the value is also known as NAME. */
static void
vars_to_env(struct stack_ctx *ctx, const struct snode *v, const char *path,
    char **alias)
{
	free(*alias);
	*alias = NULL;
	if (stack_get_str(ctx, v, path, alias) != 0)
		return;
	if (!vars_name_valid(*alias)) {
		stack_errn(ctx, v, path, "\"%s\" is not a valid variable "
		    "name", *alias);
		free(*alias);
		*alias = NULL;
	}
}

static void
vars_one(struct stack_ctx *ctx, const struct snode *key,
    const struct snode *map, const char *path, json_t *out)
{
	struct vars_decl d;
	const struct snode *k;
	char *text = NULL, *kpath, *alias = NULL;
	json_t *val = NULL;
	int required = 1, bad = 0, c;
	size_t i;

	if (stack_want_map(ctx, map, path) != 0 ||
	    vars_decl_read(ctx, map, path, &d) != 0)
		goto out;
	if (d.required != NULL) {
		kpath = stack_path(path, "required");
		stack_get_bool(ctx, d.required, kpath, &required);
		free(kpath);
	}
	if (d.only_if != NULL) {
		kpath = stack_path(path, "only_if");
		if ((c = vars_cond(ctx, d.only_if, kpath)) != 1)
			bad = 1;
		if (c == 0)
			required = 0;
		free(kpath);
	}
	if (!bad && d.skip_if != NULL) {
		kpath = stack_path(path, "skip_if");
		if ((c = vars_cond(ctx, d.skip_if, kpath)) != 0)
			bad = 1;
		if (c == 1)
			required = 0;
		free(kpath);
	}
	if (bad)
		goto out;	/* condition false, or broken: leave unset */
	if (d.value != NULL) {
		kpath = stack_path(path, "value");
		text = vars_node_text(ctx, d.value, kpath, &bad);
		free(kpath);
	}
	if (d.from != NULL) {
		kpath = stack_path(path, "from");
		if (vars_from(ctx, key->str, d.from, kpath, &text) != 0)
			required = 0;	/* already reported */
		free(kpath);
	}
	if (text == NULL && d.dflt != NULL) {
		kpath = stack_path(path, "default");
		text = vars_node_text(ctx, d.dflt, kpath, &bad);
		free(kpath);
	}
	if (d.to != NULL) {
		kpath = stack_path(path, "to");
		if (stack_want_map(ctx, d.to, kpath) == 0) {
			for (i = 0; i < SNODE_NPAIRS(d.to); i++) {
				k = SNODE_KEY(d.to, i);
				if (strcmp(k->str, "vault") == 0)
					stack_errn(ctx, k, kpath, "%s",
					    vars_why("vault"));
				else if (strcmp(k->str, "env") != 0)
					stack_unknown_key(ctx, k, kpath,
					    "to (berth supports env)");
				else
					vars_to_env(ctx, SNODE_VAL(d.to, i),
					    kpath, &alias);
			}
		}
		free(kpath);
	}
	if (bad)
		goto out;
	if (text == NULL) {
		if (required) {
			stack_errn(ctx, key, path, "variable \"%s\" has no "
			    "value (berth does not prompt: give it a default "
			    "or set it through from: env)", key->str);
		}
		goto out;
	}
	if ((val = vars_typed(ctx, key, path, &d, &text)) == NULL)
		goto out;
	if (d.in != NULL) {
		kpath = stack_path(path, "in");
		vars_in(ctx, d.in, kpath, text);
		free(kpath);
	}
out:
	json_object_set_new(out, key->str, val != NULL ? val : json_null());
	vars_add(ctx, key->str, text, (int)ctx->nvars);
	if (alias != NULL)
		vars_add(ctx, alias, text, (int)ctx->nvars);
	free(alias);
	free(text);
}

void
stack_vars_resolve(struct stack_ctx *ctx, const struct snode *vars,
    const char *grid, const char *stack, json_t *out)
{
	const struct snode *k;
	char *path;
	size_t i;

	vars_add(ctx, "GRID", grid, -1);
	vars_add(ctx, "STACK", stack, -1);
	if (vars == NULL || stack_is_null(vars))
		return;
	if (stack_want_map(ctx, vars, "variables") != 0)
		return;
	if (SNODE_NPAIRS(vars) > STACK_MAX_VARIABLES) {
		stack_errn(ctx, vars, "variables", "more than %d variables",
		    STACK_MAX_VARIABLES);
		return;
	}
	for (i = 0; i < SNODE_NPAIRS(vars); i++) {
		k = SNODE_KEY(vars, i);
		if (k->type != SNODE_SCALAR)
			continue;
		ctx->pending = xreallocarray(ctx->pending, ctx->npending + 1,
		    sizeof *ctx->pending);
		ctx->pending[ctx->npending++] = xstrdup(k->str);
	}
	for (i = 0; i < SNODE_NPAIRS(vars); i++) {
		k = SNODE_KEY(vars, i);
		if (k->type != SNODE_SCALAR)
			continue;
		path = stack_path("variables", k->str);
		if (strcmp(k->str, "GRID") == 0 ||
		    strcmp(k->str, "STACK") == 0) {
			stack_errn(ctx, k, path, "%s is set automatically and "
			    "cannot be declared", k->str);
		} else if (!vars_name_valid(k->str)) {
			stack_errn(ctx, k, path, "\"%s\" is not a valid "
			    "variable name (letters, digits and _, not "
			    "starting with a digit)", k->str);
		} else
			vars_one(ctx, k, SNODE_VAL(vars, i), path, out);
		free(path);
	}
}
