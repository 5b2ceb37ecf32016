/*
 * stack_value.c - errors, ${VAR} interpolation and typed scalar getters.
 *
 * Every value the parser takes from the tree goes through a getter here, so
 * that interpolation is applied to every string and every wrong type is
 * reported the same way, at the node, with its key path. A plain scalar is
 * typed (null, bool, int, float) after interpolation, the way Kontena typed
 * the text it had interpolated; a quoted one is always a string. A field
 * that wants a string takes any non-null scalar as its text ("user: 1000").
 *
 * Also shell-word splitting (the unit parsers live in common/units.c).
 * Pure; called from stack_parse() on the caller's thread.
 */
#include "stacks/stack_int.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK_MAX_STRING	(1024 * 1024)	/* interpolated text */

static void
stack_err_add(struct stack_ctx *ctx, int line, int col, const char *key,
    char *msg)
{
	struct stack_errors *errs = ctx->errs;
	struct stack_error *e;

	if (ctx->full) {
		free(msg);
		return;
	}
	if (errs->n == STACK_MAX_ERRORS) {
		free(msg);
		msg = xstrdup("too many errors; stopped reporting");
		ctx->full = 1;
	}
	errs->v = xreallocarray(errs->v, errs->n + 1, sizeof *errs->v);
	e = &errs->v[errs->n++];
	e->file = xstrdup(ctx->file);
	e->line = line;
	e->col = col;
	e->key = xstrdup(key != NULL ? key : "");
	e->message = msg;
}

void
stack_err(struct stack_ctx *ctx, int line, int col, const char *key,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	stack_err_add(ctx, line, col, key, msg);
}

void
stack_errn(struct stack_ctx *ctx, const struct snode *n, const char *key,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	stack_err_add(ctx, n->line, n->col, key, msg);
}

void
stack_warn(struct stack_ctx *ctx, const struct snode *n, const char *key,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (ctx->warnings == NULL)
		ctx->warnings = json_array();
	if (json_array_size(ctx->warnings) < STACK_MAX_ERRORS)
		json_array_append_new(ctx->warnings, json_pack("{s:s, s:i, "
		    "s:i, s:s, s:s}", "file", ctx->file, "line", n->line,
		    "column", n->col, "key", key != NULL ? key : "",
		    "message", msg));
	free(msg);
}

void
stack_errors_clear(struct stack_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++) {
		free(errs->v[i].file);
		free(errs->v[i].key);
		free(errs->v[i].message);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

char *
stack_errors_format(const struct stack_errors *errs)
{
	const struct stack_error *e;
	char *out = xstrdup(""), *next;
	size_t i;

	for (i = 0; i < errs->n; i++) {
		e = &errs->v[i];
		xasprintf(&next, "%s%s%s:%d:%d: %s%s%s", out, i ? "\n" : "",
		    e->file, e->line, e->col, e->key,
		    *e->key != '\0' ? ": " : "", e->message);
		free(out);
		out = next;
	}
	return out;
}

/* "a.b" + "c" = "a.b.c"; "" + "c" = "c". Caller frees. */
char *
stack_path(const char *path, const char *key)
{
	char *p;

	if (path == NULL || *path == '\0')
		return xstrdup(key);
	xasprintf(&p, "%s.%s", path, key);
	return p;
}

/* "a.b" + 2 = "a.b[2]". */
char *
stack_path_idx(const char *path, size_t i)
{
	char *p;

	xasprintf(&p, "%s[%zu]", path, i);
	return p;
}

int
stack_is_null(const struct snode *n)
{
	if (n->type != SNODE_SCALAR || n->quoted)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

/*
 * A service name as Kontena's master took it: letters (either case),
 * digits, '_' and '-', not starting with '-'; at most 63 of them.
 */
int
stack_service_name_valid(const char *s)
{
	size_t i;

	if (*s == '\0' || *s == '-')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 63 || !(isalnum((unsigned char)s[i]) ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* 0 and *v if s is a whole decimal integer (optional sign). */
int
stack_text_int(const char *s, long long *v)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

int
stack_text_bool(const char *s, int *v)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
	    strcmp(s, "TRUE") == 0)
		*v = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
	    strcmp(s, "FALSE") == 0)
		*v = 0;
	else
		return -1;
	return 0;
}

static int
stack_text_float(const char *s, double *v)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	if (strchr(s, 'x') != NULL || strchr(s, 'X') != NULL)
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(*v))
		return -1;
	return 0;
}

/* Name of the YAML type of a node, for "must be X, not Y" messages. */
const char *
stack_type_name(const struct snode *n)
{
	long long i;
	double d;
	int b;

	switch (n->type) {
	case SNODE_SEQ:
		return "list";
	case SNODE_MAP:
		return "mapping";
	case SNODE_SCALAR:
		break;
	}
	if (n->quoted)
		return "string";
	if (stack_is_null(n))
		return "null";
	if (stack_text_bool(n->str, &b) == 0)
		return "boolean";
	if (stack_text_int(n->str, &i) == 0)
		return "integer";
	if (stack_text_float(n->str, &d) == 0)
		return "number";
	return "string";
}

static const struct stack_var *
stack_var_find(struct stack_ctx *ctx, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ctx->nvars; i++) {
		if (strlen(ctx->vars[i].name) == len &&
		    strncmp(ctx->vars[i].name, name, len) == 0)
			return &ctx->vars[i];
	}
	return NULL;
}

static int
stack_var_pending(struct stack_ctx *ctx, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ctx->npending; i++) {
		if (strlen(ctx->pending[i]) == len &&
		    strncmp(ctx->pending[i], name, len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Replace ${NAME} and $NAME in s by the value of NAME; "$$" is a "$". A "$"
 * followed by anything else is kept (so "$(cmd)" and "a$" pass). Returns a
 * new string, or NULL after reporting the problem at n under path.
 */
char *
stack_interpolate(struct stack_ctx *ctx, const struct snode *n,
    const char *path, const char *s)
{
	const struct stack_var *v;
	const char *p = s, *name, *end;
	size_t nlen;
	char *out;
	size_t olen = 0, ocap;
	int failed = 0;

	if (strchr(s, '$') == NULL)
		return xstrdup(s);
	ocap = strlen(s) + 1;
	out = xmalloc(ocap);
	while (*p != '\0') {
		const char *add = p;
		size_t alen = 1;

		if (p[0] == '$' && p[1] == '$') {
			add = "$";
			p += 2;
		} else if (p[0] == '$' && (p[1] == '{' || p[1] == '_' ||
		    isalpha((unsigned char)p[1]))) {
			if (p[1] == '{') {
				name = p + 2;
				if ((end = strchr(name, '}')) == NULL) {
					stack_errn(ctx, n, path, "unterminated "
					    "\"${\" (write \"$$\" for a "
					    "literal \"$\")");
					failed = 1;
					break;
				}
				nlen = (size_t)(end - name);
				p = end + 1;
			} else {
				name = p + 1;
				for (end = name; *end == '_' ||
				    isalnum((unsigned char)*end); end++)
					;
				nlen = (size_t)(end - name);
				p = end;
			}
			v = stack_var_find(ctx, name, nlen);
			if (v == NULL) {
				if (nlen == 0)
					stack_errn(ctx, n, path, "empty "
					    "variable name in \"${}\"");
				else if (stack_var_pending(ctx, name, nlen))
					stack_errn(ctx, n, path, "variable "
					    "\"%.*s\" is used before it is "
					    "resolved (declare it earlier)",
					    (int)nlen, name);
				else
					stack_errn(ctx, n, path, "undeclared "
					    "variable \"%.*s\" (declare it "
					    "under variables:, or write \"$$\" "
					    "for a literal \"$\")",
					    (int)nlen, name);
				failed = 1;
				continue;
			}
			add = v->text != NULL ? v->text : "";
			alen = strlen(add);
		} else
			p++;
		if (olen + alen + 1 > STACK_MAX_STRING) {
			stack_errn(ctx, n, path, "value longer than %d bytes "
			    "after interpolation", STACK_MAX_STRING);
			failed = 1;
			break;
		}
		while (olen + alen + 1 > ocap) {
			ocap *= 2;
			out = xrealloc(out, ocap);
		}
		memcpy(out + olen, add, alen);
		olen += alen;
	}
	out[olen] = '\0';
	/* Many small values each naming one big variable add up. */
	if (!failed && (ctx->interpolated += olen) > STACK_MAX_EXPANSION) {
		stack_errn(ctx, n, path, "interpolation made more than %d "
		    "bytes in all", STACK_MAX_EXPANSION);
		failed = 1;
	}
	if (failed) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * The interpolated text of a scalar and whether it stays typed (plain).
 * NULL if n is not a scalar or interpolation failed (reported).
 */
static char *
stack_scalar(struct stack_ctx *ctx, const struct snode *n, const char *path,
    const char *want)
{
	if (n->type != SNODE_SCALAR) {
		stack_errn(ctx, n, path, "must be %s, not a %s", want,
		    stack_type_name(n));
		return NULL;
	}
	return stack_interpolate(ctx, n, path, n->str);
}

int
stack_get_str(struct stack_ctx *ctx, const struct snode *n, const char *path,
    char **out)
{
	*out = NULL;
	if (stack_is_null(n)) {
		stack_errn(ctx, n, path, "must be a string, not null");
		return -1;
	}
	if ((*out = stack_scalar(ctx, n, path, "a string")) == NULL)
		return -1;
	return 0;
}

int
stack_get_int(struct stack_ctx *ctx, const struct snode *n, const char *path,
    long long min, long long max, long long *out)
{
	char *s;
	int r = -1;

	if ((s = stack_scalar(ctx, n, path, "an integer")) == NULL)
		return -1;
	if (n->quoted || stack_text_int(s, out) != 0) {
		stack_errn(ctx, n, path, "must be an integer, not %s\"%s\"",
		    n->quoted ? "the string " : "", s);
	} else if (*out < min || *out > max) {
		stack_errn(ctx, n, path, "%lld is out of range (%lld to %lld)",
		    *out, min, max);
	} else
		r = 0;
	free(s);
	return r;
}

int
stack_get_num(struct stack_ctx *ctx, const struct snode *n, const char *path,
    double min, double max, double *out)
{
	char *s;
	int r = -1;

	if ((s = stack_scalar(ctx, n, path, "a number")) == NULL)
		return -1;
	if (n->quoted || stack_text_float(s, out) != 0) {
		stack_errn(ctx, n, path, "must be a number, not %s\"%s\"",
		    n->quoted ? "the string " : "", s);
	} else if (*out < min || *out > max) {
		stack_errn(ctx, n, path, "%g is out of range (%g to %g)",
		    *out, min, max);
	} else
		r = 0;
	free(s);
	return r;
}

int
stack_get_bool(struct stack_ctx *ctx, const struct snode *n, const char *path,
    int *out)
{
	char *s;
	int r = -1;

	if ((s = stack_scalar(ctx, n, path, "true or false")) == NULL)
		return -1;
	if (n->quoted || stack_text_bool(s, out) != 0) {
		stack_errn(ctx, n, path, "must be true or false, not %s\"%s\"",
		    n->quoted ? "the string " : "", s);
	} else
		r = 0;
	free(s);
	return r;
}

int
stack_want_map(struct stack_ctx *ctx, const struct snode *n, const char *path)
{
	if (n->type == SNODE_MAP)
		return 0;
	stack_errn(ctx, n, path, "must be a mapping, not a %s",
	    stack_type_name(n));
	return -1;
}

int
stack_want_seq(struct stack_ctx *ctx, const struct snode *n, const char *path)
{
	if (n->type == SNODE_SEQ)
		return 0;
	stack_errn(ctx, n, path, "must be a list, not a %s",
	    stack_type_name(n));
	return -1;
}

/* A list of strings, as a new JSON array; -1 if any item is bad. */
int
stack_get_strlist(struct stack_ctx *ctx, const struct snode *n,
    const char *path, json_t **out)
{
	char *ipath, *s;
	size_t i;
	int r = 0;

	*out = NULL;
	if (stack_want_seq(ctx, n, path) != 0)
		return -1;
	*out = json_array();
	for (i = 0; i < n->n; i++) {
		ipath = stack_path_idx(path, i);
		if (stack_get_str(ctx, n->kids[i], ipath, &s) == 0)
			json_array_append_new(*out, json_string(s));
		else
			r = -1;
		free(s);
		free(ipath);
	}
	return r;
}

void
stack_unknown_key(struct stack_ctx *ctx, const struct snode *key,
    const char *path, const char *where)
{
	if (strcmp(key->str, "<<") == 0) {
		stack_errn(ctx, key, path, "YAML merge keys (<<) are not "
		    "supported");
	} else
		stack_errn(ctx, key, path, "unknown key \"%s\" in %s",
		    key->str, where);
}

json_t *
stack_shell_split(const char *s, char **cause)
{
	json_t *words = json_array();
	char *w = xmalloc(strlen(s) + 1);
	size_t wl = 0;
	int inword = 0;
	char q;

	while (*s != '\0') {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			if (inword) {
				json_array_append_new(words,
				    json_stringn(w, wl));
				wl = 0;
				inword = 0;
			}
			s++;
			continue;
		}
		inword = 1;
		if (*s == '\\') {
			s++;
			if (*s == '\n')
				s++;
			else if (*s != '\0')
				w[wl++] = *s++;
		} else if (*s == '\'' || *s == '"') {
			q = *s++;
			while (*s != '\0' && *s != q) {
				if (q == '"' && *s == '\\' &&
				    (s[1] == '"' || s[1] == '\\' ||
				    s[1] == '$' || s[1] == '`'))
					s++;
				w[wl++] = *s++;
			}
			if (*s == '\0') {
				xasprintf(cause, "unterminated %c quote", q);
				json_decref(words);
				free(w);
				return NULL;
			}
			s++;
		} else
			w[wl++] = *s++;
	}
	if (inword)
		json_array_append_new(words, json_stringn(w, wl));
	free(w);
	return words;
}
