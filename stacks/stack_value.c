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
#include "stacks/liquid.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK_MAX_STRING	(1024 * 1024)	/* interpolated text */

/* In the Liquid output: the template line that line came from. */
static int
stack_line(const struct stack_ctx *ctx, int line)
{
	if (ctx->linemap != NULL && line >= 1 && (size_t)line <= ctx->nlinemap)
		return ctx->linemap[line - 1];
	return line;
}

static void
stack_err_add(struct stack_ctx *ctx, int line, int col, const char *key,
    char *msg)
{
	struct stack_errors *errs = ctx->errs;
	struct stack_error *e;

	/* (An extends: file's parse shares errs, so n is the test.) */
	if (ctx->full || errs->n > STACK_MAX_ERRORS) {
		free(msg);
		ctx->full = 1;
		return;
	}
	line = stack_line(ctx, line);
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
		    "s:i, s:s, s:s}", "file", ctx->file, "line",
		    stack_line(ctx, n->line), "column", n->col, "key",
		    key != NULL ? key : "", "message", msg));
	free(msg);
}

void
stack_warn_errors(struct stack_ctx *ctx, struct stack_errors *errs,
    const char *prefix)
{
	const struct stack_error *e;
	size_t i;

	if (ctx->warnings == NULL)
		ctx->warnings = json_array();
	for (i = 0; i < errs->n; i++) {
		e = &errs->v[i];
		if (json_array_size(ctx->warnings) >= STACK_MAX_ERRORS)
			break;
		json_array_append_new(ctx->warnings, json_pack("{s:s, s:i, "
		    "s:i, s:s, s:s+}", "file", e->file, "line", e->line,
		    "column", e->col, "key", e->key, "message", prefix,
		    e->message));
	}
	stack_errors_clear(errs);
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
 * digits, '_' and '-', starting with a letter or digit; at most 63.
 */
int
stack_service_name_valid(const char *s)
{
	size_t i;

	/* The first makes the container's name: Docker wants [a-zA-Z0-9]. */
	if (!isalnum((unsigned char)*s))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 63 || !(isalnum((unsigned char)s[i]) ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* Case-insensitive whole-string match against one of words. */
static int
y11_word(const char *s, const char *const *words)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++) {
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	}
	return 0;
}

/* [-+]?digits with '_' or ',' between (Psych's base 10, 2, 8, 16). */
static int
y11_int(const char *s, long long *v)
{
	char clean[80], *end;
	size_t n = 0;
	const char *p = s, *digits;
	int base = 10, neg = 0;
	unsigned long long u;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'b' || p[1] == 'x')) {
		base = p[1] == 'b' ? 2 : 16;
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0')
		base = 8;
	digits = p;
	if (*p == '\0')
		return -1;
	for (; *p != '\0'; p++) {
		if (*p == '_' || *p == ',') {
			/* base 10 wants a digit after each separator */
			if (base == 10 && !isdigit((unsigned char)p[1]))
				return -1;
			continue;
		}
		if ((base == 2 && *p != '0' && *p != '1') ||
		    (base == 8 && (*p < '0' || *p > '7')) ||
		    (base == 10 && !isdigit((unsigned char)*p)) ||
		    (base == 16 && !isxdigit((unsigned char)*p)))
			return -1;
		if (n + 1 >= sizeof clean)
			return -1;
		clean[n++] = *p;
	}
	if (n == 0 || (base == 10 && digits[0] == '0' && digits[1] != '\0'))
		return -1;
	clean[n] = '\0';
	errno = 0;
	u = strtoull(clean, &end, base);
	if (errno != 0 || *end != '\0' || u > (unsigned long long)LLONG_MAX +
	    (unsigned long long)neg)
		return -1;
	*v = neg ? (long long)(0 - u) : (long long)u;
	return 0;
}

/* Psych's FLOAT: [-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)? */
static int
y11_float(const char *s, double *v)
{
	const char *p = s;
	char *clean, *end;
	size_t n = 0;
	int rc = -1;

	/* Never longer than s: '_' and ',' are only dropped. */
	clean = xmalloc(strlen(s) + 1);

	if (*p == '-' || *p == '+')
		clean[n++] = *p++;
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p) || *p == '_' || *p == ',') {
			if (*p != '_' && *p != ',')
				clean[n++] = *p;
			p++;
		}
	}
	if (*p != '.')
		goto out;
	if (n == 0 || !isdigit((unsigned char)clean[n - 1]))
		if (!isdigit((unsigned char)p[1]))
			goto out;	/* "." or "-." is a string */
	clean[n++] = *p++;
	while (isdigit((unsigned char)*p))
		clean[n++] = *p++;
	if (*p == 'e' || *p == 'E') {
		if ((p[1] != '-' && p[1] != '+') || !isdigit((unsigned char)p[2]))
			goto out;
		clean[n++] = *p++;
		clean[n++] = *p++;
		while (isdigit((unsigned char)*p))
			clean[n++] = *p++;
	}
	if (*p != '\0')
		goto out;
	clean[n] = '\0';
	*v = strtod(clean, &end);
	rc = 0;
out:
	free(clean);
	return rc;
}

enum stack_y11
stack_yaml11(const char *s, long long *i, double *d, int *b)
{
	static const char *const yes[] = { "yes", "true", "on", NULL };
	static const char *const no[] = { "no", "false", "off", NULL };
	static const char *const nul[] = { "null", "~", NULL };

	if (*s == '\0' || y11_word(s, nul))
		return Y11_NULL;
	if (y11_word(s, yes)) {
		*b = 1;
		return Y11_BOOL;
	}
	if (y11_word(s, no)) {
		*b = 0;
		return Y11_BOOL;
	}
	if (strcasecmp(s, ".inf") == 0 || strcasecmp(s, "+.inf") == 0 ||
	    strcasecmp(s, "-.inf") == 0 || strcasecmp(s, ".nan") == 0)
		return Y11_STR;		/* berth takes no infinities */
	if (y11_int(s, i) == 0)
		return Y11_INT;
	if (y11_float(s, d) == 0 && isfinite(*d))
		return Y11_FLOAT;
	return Y11_STR;
}

json_t *
stack_scalar_json(const struct snode *n)
{
	return stack_text_json(n->str, n->quoted);
}

json_t *
stack_text_json(const char *s, int quoted)
{
	long long i;
	double d;
	int b;

	if (quoted)
		return json_string(s);
	switch (stack_yaml11(s, &i, &d, &b)) {
	case Y11_NULL:
		return json_null();
	case Y11_BOOL:
		return json_boolean(b);
	case Y11_INT:
		return json_integer(i);
	case Y11_FLOAT:
		return json_real(d);
	case Y11_STR:
		break;
	}
	return json_string(s);
}

void
stack_dns_name(const char *name, char *out, size_t len)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < len; i++)
		out[i] = name[i] == '_' ? '-' : (char)tolower(
		    (unsigned char)name[i]);
	out[i] = '\0';
}

/* 0 and *v if s is an integer as YAML 1.1 reads one (0755, 0x1f, 1_000). */
int
stack_text_int(const char *s, long long *v)
{
	double d;
	int b;

	return stack_yaml11(s, v, &d, &b) == Y11_INT ? 0 : -1;
}

/* true/false, yes/no, on/off in any case (YAML 1.1). */
int
stack_text_bool(const char *s, int *v)
{
	long long i;
	double d;

	return stack_yaml11(s, &i, &d, v) == Y11_BOOL ? 0 : -1;
}

static int
stack_text_float(const char *s, double *v)
{
	long long i;
	int b;

	switch (stack_yaml11(s, &i, v, &b)) {
	case Y11_INT:
		*v = (double)i;
		return 0;
	case Y11_FLOAT:
		return 0;
	default:
		return -1;
	}
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

/*
 * Replace $NAME and ${NAME} in s by the value of NAME, the way Kontena
 * matched them (/(?<!\$)\$(?!\$)\{?\w+\}?/): an opening brace and a closing
 * one are each optional ("${GRID" is GRID's value). "$$" is a "$". A "$"
 * not followed by a name ("$(cmd)", "a$", "$1") is kept. Returns a new
 * string, or NULL after reporting the problem at n under path.
 */
char *
stack_interpolate(struct stack_ctx *ctx, const struct snode *n,
    const char *path, const char *s)
{
	const char *p = s, *name, *end, *add;
	size_t nlen, alen, olen = 0, ocap;
	char *out;
	int failed = 0, st;

	if (ctx->literal || strchr(s, '$') == NULL)
		return xstrdup(s);
	ocap = strlen(s) + 1;
	out = xmalloc(ocap);
	while (*p != '\0') {
		add = p;
		alen = 1;
		if (p[0] == '$' && p[1] == '$') {
			add = "$";
			p += 2;
		} else if (p[0] == '$' && (p[1] == '_' ||
		    isalpha((unsigned char)p[1]) || (p[1] == '{' &&
		    (p[2] == '_' || isalpha((unsigned char)p[2]))))) {
			name = p + 1 + (p[1] == '{');
			for (end = name; *end == '_' ||
			    isalnum((unsigned char)*end); end++)
				;
			nlen = (size_t)(end - name);
			p = *end == '}' ? end + 1 : end;
			add = stack_vars_text(ctx, name, nlen, &st);
			if (st != 0) {
				if (st == -1)
					stack_errn(ctx, n, path, "undeclared "
					    "variable \"%.*s\" (declare it "
					    "under variables:, or write \"$$\" "
					    "for a literal \"$\")",
					    (int)nlen, name);
				failed = 1;
				continue;
			}
			if (add == NULL)
				add = "";
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

/* Ruby's to_s of a JSON value; arrays joined by commas (berth's choice
 * for ${VAR}), or, with inspect, Ruby's inspect of arrays and strings. */
void
stack_json_text(json_t *j, struct buf *b, int inspect)
{
	char num[64];
	const char *k;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_NULL:
		if (inspect)
			buf_append(b, "nil", 3);
		break;
	case JSON_TRUE:
		buf_append(b, "true", 4);
		break;
	case JSON_FALSE:
		buf_append(b, "false", 5);
		break;
	case JSON_INTEGER:
		buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL:
		liquid_float_str(json_real_value(j), num, sizeof num);
		buf_append(b, num, strlen(num));
		break;
	case JSON_STRING:
		if (inspect)
			buf_append(b, "\"", 1);
		buf_append(b, json_string_value(j), json_string_length(j));
		if (inspect)
			buf_append(b, "\"", 1);
		break;
	case JSON_ARRAY:
		if (inspect)
			buf_append(b, "[", 1);
		json_array_foreach(j, i, v) {
			if (i > 0)
				buf_append(b, inspect ? ", " : ",", inspect ?
				    2 : 1);
			stack_json_text(v, b, inspect);
		}
		if (inspect)
			buf_append(b, "]", 1);
		break;
	case JSON_OBJECT:
		buf_append(b, "{", 1);
		i = 0;
		json_object_foreach(j, k, v) {
			buf_printf(b, "%s\"%s\"=>", i++ ? ", " : "", k);
			stack_json_text(v, b, 1);
		}
		buf_append(b, "}", 1);
		break;
	}
}

char *
stack_json_str(json_t *j)
{
	struct buf b = { NULL, 0, 0 };

	stack_json_text(j, &b, 0);
	return b.data != NULL ? b.data : xstrdup("");
}

/* A subtree as JSON, scalars typed as YAML 1.1 reads them. */
json_t *
stack_node_json(const struct snode *n)
{
	json_t *o;
	size_t i;

	switch (n->type) {
	case SNODE_SEQ:
		o = json_array();
		for (i = 0; i < n->n; i++)
			json_array_append_new(o, stack_node_json(n->kids[i]));
		return o;
	case SNODE_MAP:
		o = json_object();
		for (i = 0; i < SNODE_NPAIRS(n); i++)
			json_object_set_new(o, SNODE_KEY(n, i)->str,
			    stack_node_json(SNODE_VAL(n, i)));
		return o;
	case SNODE_SCALAR:
		break;
	}
	return stack_scalar_json(n);
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
	stack_errn(ctx, key, path, "unknown key \"%s\" in %s", key->str,
	    where);
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
