/*
 * stack_resolvers.c - every resolver and setter of a stack variable.
 *
 * Opto's resolvers (env, file, interpolate, evaluate, variable, yaml,
 * condition, random_string, random_number, random_uuid, default) and
 * Kontena's own (prompt, vault, service_link, service_instances,
 * certificates, vault_cert_prompt), with the semantics of their Ruby
 * sources; the setters env and vault. A resolver gives a value or
 * nothing (then the next one is tried). Those that generate or ask
 * (random_*, prompt, service_link, the certificate pickers) give the
 * installed stack's value on an upgrade instead (the stack's answers are
 * kept, as Kontena kept them). Called from stack_vars.c; pure: what only
 * the caller has comes through stack_host.c.
 */
#include "stacks/stack_vars.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
vars_utf8_len(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

void
vars_var_free(struct var *v)
{
	free(v->name);
	free(v->path);
	json_decref(v->opts);
	for (size_t i = 0; i < v->nres; i++)
		free(v->res[i].path);
	json_decref(v->only_if);
	json_decref(v->skip_if);
	json_decref(v->in);
	free(v->res);
	json_decref(v->aliases);
	json_decref(v->val);
	free(v->text);
	json_decref(v->choices);
}

/* Resolvers berth knows; anything else in from: is an error. */
static const char *const vars_resolvers[] = {
	"env", "file", "interpolate", "evaluate", "variable", "yaml",
	"condition", "random_string", "random_number", "random_uuid",
	"prompt", "vault", "service_link", "service_instances",
	"certificates", "vault_cert_prompt", "default", NULL,
};

static int
vars_known_resolver(const char *s)
{
	size_t i;

	for (i = 0; vars_resolvers[i] != NULL; i++) {
		if (strcmp(vars_resolvers[i], s) == 0)
			return 1;
	}
	return 0;
}

static void
vars_res_add(struct var *v, const char *name, const struct snode *hint,
    const struct snode *at)
{
	char *from;

	v->res = xreallocarray(v->res, v->nres + 1, sizeof *v->res);
	v->res[v->nres].name = name;
	v->res[v->nres].hint = hint;
	v->res[v->nres].at = hint != NULL ? hint : at;
	if (strcmp(name, "default") == 0)
		v->res[v->nres].path = stack_path(v->path, "default");
	else if (hint == NULL && at == v->key)
		v->res[v->nres].path = xstrdup(v->path);
	else {
		from = stack_path(v->path, "from");
		v->res[v->nres].path = stack_path(from, name);
		free(from);
	}
	v->nres++;
}

/* The static name for s from the table (resolver names live forever). */
static const char *
vars_res_name(const char *s)
{
	size_t i;

	for (i = 0; vars_resolvers[i] != NULL; i++) {
		if (strcmp(vars_resolvers[i], s) == 0)
			return vars_resolvers[i];
	}
	return NULL;
}

/*
 * from: as Opto's normalize_from_to reads it: a mapping (in order), one
 * name (its hint is the variable's name), or a list of names or of
 * one-entry mappings. Then env (the variable's own name) unless from: has
 * env, then default (Kontena made env every variable's fallback).
 */
int
vars_resolvers_read(struct stack_ctx *ctx, struct var *v)
{
	const struct snode *f = v->from, *k, *t = v->to, *h;
	char *path;
	size_t i, j, n;
	int bad = 0, has_env = 0;

	if (f != NULL && !stack_is_null(f)) {
		path = stack_path(v->path, "from");
		n = f->type == SNODE_MAP ? SNODE_NPAIRS(f) : f->type ==
		    SNODE_SEQ ? f->n : 1;
		for (i = 0; i < n; i++) {
			if (f->type == SNODE_MAP) {
				k = SNODE_KEY(f, i);
				h = SNODE_VAL(f, i);
			} else if (f->type == SNODE_SEQ &&
			    f->kids[i]->type == SNODE_MAP) {
				for (j = 0; j < SNODE_NPAIRS(f->kids[i]); j++) {
					k = SNODE_KEY(f->kids[i], j);
					if (!vars_known_resolver(k->str)) {
						stack_errn(ctx, k, path, "unknown "
						    "resolver \"%s\"", k->str);
						bad = 1;
						continue;
					}
					has_env |= strcmp(k->str, "env") == 0;
					vars_res_add(v, vars_res_name(k->str),
					    SNODE_VAL(f->kids[i], j), k);
				}
				continue;
			} else {
				k = f->type == SNODE_SEQ ? f->kids[i] : f;
				h = NULL;
			}
			if (k->type != SNODE_SCALAR ||
			    !vars_known_resolver(k->str)) {
				stack_errn(ctx, k, path, "unknown resolver "
				    "\"%s\" (resolvers: env, file, "
				    "interpolate, evaluate, variable, yaml, "
				    "condition, random_string, random_number, "
				    "random_uuid, prompt, vault, service_link, "
				    "service_instances, certificates, "
				    "vault_cert_prompt)", k->str);
				bad = 1;
				continue;
			}
			has_env |= strcmp(k->str, "env") == 0;
			vars_res_add(v, vars_res_name(k->str), h, k);
			if (strcmp(k->str, "vault") == 0)
				v->vault = 1;
		}
		free(path);
	}
	if (!has_env)
		vars_res_add(v, "env", NULL, v->key);
	vars_res_add(v, "default", v->dflt, v->key);

	/* to: env (a second name for ${}) and to: vault. */
	v->aliases = json_array();
	if (t != NULL && !stack_is_null(t)) {
		path = stack_path(v->path, "to");
		n = t->type == SNODE_MAP ? SNODE_NPAIRS(t) : t->type ==
		    SNODE_SEQ ? t->n : 1;
		for (i = 0; i < n; i++) {
			k = t->type == SNODE_MAP ? SNODE_KEY(t, i) : t->type ==
			    SNODE_SEQ ? t->kids[i] : t;
			h = t->type == SNODE_MAP ? SNODE_VAL(t, i) : NULL;
			if (k->type != SNODE_SCALAR) {
				stack_errn(ctx, k, path, "to: names setters "
				    "(env, vault)");
				bad = 1;
			} else if (strcmp(k->str, "env") == 0) {
				json_t *x = h == NULL ? json_string(v->name) :
				    vars_node_json(ctx, h, path, &bad);

				if (json_is_object(x))
					json_array_append(v->aliases,
					    json_object_get(x, "name"));
				else if (json_is_array(x))
					json_array_extend(v->aliases, x);
				else if (json_is_string(x))
					json_array_append(v->aliases, x);
				json_decref(x);
			} else if (strcmp(k->str, "vault") == 0) {
				v->vault_to = h != NULL ? h : k;
				v->vault = 1;
			} else {
				stack_errn(ctx, k, path, "unknown setter "
				    "\"%s\" (setters: env, vault)", k->str);
				bad = 1;
			}
		}
		free(path);
	}
	return bad ? -1 : 0;
}

/* ---- evaluate: Ruby arithmetic over numbers ----------------------------- */

struct ev {
	const char	*p;
	char		 err[160];
};

struct evnum {
	int		 f;	/* a Float */
	long long	 i;
	double		 d;
};

static int	ev_sum(struct ev *, struct evnum *);

static double
ev_d(const struct evnum *n)
{
	return n->f ? n->d : (double)n->i;
}

static int
ev_fail(struct ev *e, const char *msg)
{
	if (e->err[0] == '\0')
		snprintf(e->err, sizeof e->err, "%s", msg);
	return -1;
}

/* A number literal as Ruby reads one: 12, 1.5 (not "1." nor ".5"). */
static int
ev_atom(struct ev *e, struct evnum *n)
{
	const char *s = e->p;
	char buf[64];
	size_t k;

	if (*s == '(') {
		e->p++;
		if (ev_sum(e, n) != 0)
			return -1;
		if (*e->p != ')')
			return ev_fail(e, "a ( without its )");
		e->p++;
		return 0;
	}
	if (!isdigit((unsigned char)*s))
		return ev_fail(e, "a number was expected");
	while (isdigit((unsigned char)*s))
		s++;
	n->f = 0;
	if (*s == '.' && isdigit((unsigned char)s[1])) {
		s++;
		while (isdigit((unsigned char)*s))
			s++;
		n->f = 1;
	} else if (*s == '.' && s[1] != '.')
		return ev_fail(e, "a number ends in a dot");
	k = (size_t)(s - e->p);
	if (k >= sizeof buf)
		return ev_fail(e, "a number is too long");
	memcpy(buf, e->p, k);
	buf[k] = '\0';
	errno = 0;
	if (n->f)
		n->d = strtod(buf, NULL);
	else {
		n->i = strtoll(buf, NULL, 10);
		if (errno != 0)
			return ev_fail(e, "an integer is too large");
	}
	e->p = s;
	return 0;
}

/* Unary minus and plus bind looser than ** (Ruby: -2 ** 2 is -4). */
static int ev_unary(struct ev *, struct evnum *);

static int
ev_pow(struct ev *e, struct evnum *n)
{
	struct evnum b;
	long long r, i;

	if (ev_atom(e, n) != 0)
		return -1;
	if (e->p[0] == '*' && e->p[1] == '*') {
		e->p += 2;
		if (ev_unary(e, &b) != 0)	/* right associative */
			return -1;
		if (!n->f && !b.f && b.i >= 0) {
			r = 1;
			for (i = 0; i < b.i; i++) {
				if (__builtin_mul_overflow(r, n->i, &r))
					return ev_fail(e, "the result is too "
					    "large");
			}
			n->i = r;
		} else {
			n->d = pow(ev_d(n), ev_d(&b));
			n->f = 1;
		}
	}
	return 0;
}

static int
ev_unary(struct ev *e, struct evnum *n)
{
	int neg = 0;

	while (*e->p == '-' || *e->p == '+') {
		if (*e->p == '-')
			neg = !neg;
		e->p++;
	}
	if (ev_pow(e, n) != 0)
		return -1;
	if (neg) {
		if (n->f)
			n->d = -n->d;
		else if (n->i == LLONG_MIN)
			return ev_fail(e, "the result is too large");
		else
			n->i = -n->i;
	}
	return 0;
}

static int
ev_product(struct ev *e, struct evnum *n)
{
	struct evnum b;
	char op;
	long long q;

	if (ev_unary(e, n) != 0)
		return -1;
	while ((*e->p == '*' && e->p[1] != '*') || *e->p == '/') {
		op = *e->p++;
		if (ev_unary(e, &b) != 0)
			return -1;
		if (!n->f && !b.f) {
			if (op == '*') {
				if (__builtin_mul_overflow(n->i, b.i, &n->i))
					return ev_fail(e, "the result is too "
					    "large");
				continue;
			}
			if (b.i == 0)
				return ev_fail(e, "divided by 0");
			/* Ruby's integer division floors. */
			q = n->i / b.i;
			if ((n->i % b.i != 0) && ((n->i < 0) != (b.i < 0)))
				q--;
			n->i = q;
			continue;
		}
		n->d = op == '*' ? ev_d(n) * ev_d(&b) : ev_d(n) / ev_d(&b);
		n->f = 1;
	}
	return 0;
}

static int
ev_sum(struct ev *e, struct evnum *n)
{
	struct evnum b;
	char op;

	if (ev_product(e, n) != 0)
		return -1;
	while (*e->p == '+' || *e->p == '-') {
		op = *e->p++;
		if (ev_product(e, &b) != 0)
			return -1;
		if (!n->f && !b.f) {
			if (op == '+' ? __builtin_add_overflow(n->i, b.i,
			    &n->i) : __builtin_sub_overflow(n->i, b.i, &n->i))
				return ev_fail(e, "the result is too large");
			continue;
		}
		n->d = op == '+' ? ev_d(n) + ev_d(&b) : ev_d(n) - ev_d(&b);
		n->f = 1;
	}
	return 0;
}

/* ${var} / $var / $a.b in an interpolate or evaluate hint (Opto's). */
static int
vars_template(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    const char *tmpl, struct buf *out)
{
	const char *p = tmpl, *name, *end;
	struct var *o;
	char *s;
	size_t len;

	while (*p != '\0') {
		if (p[0] == '$' && (p == tmpl || p[-1] != '$') && p[1] != '$' &&
		    (p[1] == '{' || p[1] == '.' || p[1] == '_' ||
		    isalnum((unsigned char)p[1]))) {
			name = p + 1 + (p[1] == '{');
			for (end = name; *end == '_' || *end == '.' ||
			    isalnum((unsigned char)*end); end++)
				;
			if (end == name) {
				buf_append(out, p++, 1);
				continue;
			}
			len = (size_t)(end - name);
			p = *end == '}' ? end + 1 : end;
			if ((o = vars_find(ctx, name, len)) == NULL) {
				stack_errn(ctx, r->at, r->path, "%s: variable "
				    "%.*s is not declared", r->name, (int)len,
				    name);
				return -1;
			}
			vars_resolve(ctx, o);
			if (ctx->needed)
				return -1;
			if (o->val == NULL) {
				stack_errn(ctx, r->at, r->path, "%s: variable "
				    "%.*s has no value", r->name, (int)len,
				    name);
				return -1;
			}
			s = stack_json_str(o->val);
			buf_append(out, s, strlen(s));
			free(s);
			continue;
		}
		buf_append(out, p++, 1);
	}
	return 0;
}

/* The hint's text as written, "$$" made "$" (as Kontena read the file). */
static char *
vars_hint_raw(const struct snode *h)
{
	struct buf b = { NULL, 0, 0 };
	const char *p;

	for (p = h->str; *p != '\0'; p++) {
		if (p[0] == '$' && p[1] == '$')
			p++;
		buf_append(&b, p, 1);
	}
	return b.data != NULL ? b.data : xstrdup("");
}

static int
vars_evaluate(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	struct buf b = { NULL, 0, 0 };
	struct ev e;
	struct evnum n;
	char *raw, *s, *q;

	if (r->hint == NULL || r->hint->type != SNODE_SCALAR) {
		stack_errn(ctx, r->at, r->path, "evaluate takes a "
		    "calculation (\"${a} * 2\")");
		return -1;
	}
	raw = vars_hint_raw(r->hint);
	if (vars_template(ctx, v, r, raw, &b) != 0) {
		free(raw);
		buf_free(&b);
		return -1;
	}
	free(raw);
	/* Opto removes whitespace, then wants only ( ) - + / * 0-9 . */
	s = b.data != NULL ? b.data : xstrdup("");
	for (q = s, raw = s; *raw != '\0'; raw++) {
		if (!isspace((unsigned char)*raw))
			*q++ = *raw;
	}
	*q = '\0';
	if (*s == '\0' || strspn(s, "()-+/*0123456789.") != strlen(s)) {
		stack_errn(ctx, r->at, r->path, "evaluate: '%s' does not look "
		    "like a number or a calculation", s);
		free(s);
		return -1;
	}
	memset(&e, 0, sizeof e);
	e.p = s;
	if (ev_sum(&e, &n) != 0 || *e.p != '\0') {
		stack_errn(ctx, r->at, r->path, "evaluate: '%s': %s", s,
		    e.err[0] != '\0' ? e.err : "syntax error");
		free(s);
		return -1;
	}
	free(s);
	if (n.f && !isfinite(n.d)) {
		stack_errn(ctx, r->at, r->path, "evaluate: the result is not "
		    "a finite number");
		return -1;
	}
	*got = n.f ? json_real(n.d) : json_integer(n.i);
	return 0;
}

static int
vars_interpolate_res(struct stack_ctx *ctx, struct var *v,
    const struct vres *r, json_t **got)
{
	struct buf b = { NULL, 0, 0 };
	char *raw;

	if (r->hint == NULL || r->hint->type != SNODE_SCALAR) {
		stack_errn(ctx, r->at, r->path, "interpolate takes a template "
		    "(\"mysql://${user}@db\")");
		return -1;
	}
	raw = vars_hint_raw(r->hint);
	if (vars_template(ctx, v, r, raw, &b) != 0) {
		free(raw);
		buf_free(&b);
		return -1;
	}
	free(raw);
	*got = json_stringn(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

/* ---- the generators ----------------------------------------------------- */

/* A uniform number in [0, n) from the caller's random bytes. */
static int
vars_uniform(struct stack_ctx *ctx, unsigned long long n,
    unsigned long long *out)
{
	unsigned long long r, lim;

	if (n == 0)
		return -1;
	lim = ULLONG_MAX - ULLONG_MAX % n;
	do {
		if (stack_host_random(ctx, &r, sizeof r) != 0)
			return -1;
	} while (r >= lim);
	*out = r % n;
	return 0;
}

/* random_string's charsets (Opto's), as a list of pieces. */
static json_t *
vars_charset(const char *name)
{
	static const char *const named[][2] = {
		{ "numbers", "0123456789" },
		{ "downcase", "abcdefghijklmnopqrstuvwxyz" },
		{ "upcase", "ABCDEFGHIJKLMNOPQRSTUVWXYZ" },
		{ "letters", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz" },
		{ "alphanumeric", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789" },
		{ "hex", "0123456789abcdef" },
		{ "hex_upcase", "0123456789ABCDEF" },
		{ "base64", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789+/" },
	};
	json_t *out = json_array();
	const char *p;
	size_t i, k;
	long long a, b, x;
	char buf[32];

	for (i = 0; i < sizeof named / sizeof named[0]; i++) {
		if (strcmp(name, named[i][0]) == 0) {
			for (p = named[i][1]; *p != '\0'; p++)
				json_array_append_new(out, json_stringn(p, 1));
			return out;
		}
	}
	if (strcmp(name, "ascii_printable") == 0) {
		for (i = 33; i <= 126; i++) {
			buf[0] = (char)i;
			json_array_append_new(out, json_stringn(buf, 1));
		}
		return out;
	}
	/* "0-9" style numeric ranges, "a-f" letter ranges */
	if (sscanf(name, "%lld-%lld%zn", &a, &b, &k) == 2 && k == strlen(name) &&
	    isdigit((unsigned char)name[0])) {
		for (x = a; x <= b && json_array_size(out) < 10000; x++) {
			snprintf(buf, sizeof buf, "%lld", x);
			json_array_append_new(out, json_string(buf));
		}
		return out;
	}
	if (strlen(name) == 3 && name[1] == '-' && islower((unsigned char)
	    name[0]) && islower((unsigned char)name[2])) {
		for (i = (unsigned char)name[0]; i <= (unsigned char)name[2];
		    i++) {
			buf[0] = (char)i;
			json_array_append_new(out, json_stringn(buf, 1));
		}
		return out;
	}
	/* Otherwise: the characters given. */
	for (p = name; *p != '\0'; p += k) {
		k = 1;
		while (((unsigned char)p[k] & 0xc0) == 0x80)
			k++;
		json_array_append_new(out, json_stringn(p, k));
	}
	return out;
}

static int
vars_random_string(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	json_t *hint, *len, *cs, *chars;
	struct buf b = { NULL, 0, 0 };
	unsigned long long pick;
	long long n = 0, i;
	char *csname;
	int bad = 0;

	hint = r->hint != NULL ? vars_node_json(ctx, r->hint, r->path, &bad) :
	    json_null();
	if (bad) {
		json_decref(hint);
		return -1;
	}
	if (json_is_object(hint)) {
		len = json_object_get(hint, "length");
		if (!json_is_integer(len)) {
			stack_errn(ctx, r->at, r->path, "random_string: "
			    "length is required (and charset: numbers, "
			    "letters, alphanumeric, hex, base64, "
			    "ascii_printable, a range such as 0-5, or the "
			    "characters to use)");
			json_decref(hint);
			return -1;
		}
		n = json_integer_value(len);
		cs = json_object_get(hint, "charset");
	} else {
		if (json_is_integer(hint))
			n = json_integer_value(hint);
		else if (json_is_string(hint))
			n = strtoll(json_string_value(hint), NULL, 10);
		cs = NULL;
		if (n <= 0) {
			stack_errn(ctx, r->at, r->path, "random_string takes "
			    "a length, or {length, charset}");
			json_decref(hint);
			return -1;
		}
	}
	csname = cs != NULL && !json_is_null(cs) ? stack_json_str(cs) :
	    xstrdup("alphanumeric");
	if (strcmp(csname, "base64") == 0 && n % 4 != 0) {
		stack_errn(ctx, r->at, r->path, "random_string: the length "
		    "must be divisible by 4 when using base64");
		free(csname);
		json_decref(hint);
		return -1;
	}
	chars = vars_charset(csname);
	free(csname);
	json_decref(hint);
	if (n > 65536 || json_array_size(chars) == 0) {
		stack_errn(ctx, r->at, r->path, "random_string: %s",
		    n > 65536 ? "longer than 65536" : "the charset is empty");
		json_decref(chars);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (vars_uniform(ctx, json_array_size(chars), &pick) != 0) {
			stack_errn(ctx, r->at, r->path, "random_string: no "
			    "source of randomness here");
			buf_free(&b);
			json_decref(chars);
			return -1;
		}
		buf_append(&b, json_string_value(json_array_get(chars, pick)),
		    json_string_length(json_array_get(chars, pick)));
	}
	json_decref(chars);
	*got = json_stringn(b.data, b.len);
	buf_free(&b);
	return 0;
}

static int
vars_random_number(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	json_t *hint, *lo, *hi;
	unsigned long long pick, u;
	int bad = 0;

	hint = r->hint != NULL ? vars_node_json(ctx, r->hint, r->path, &bad) :
	    json_null();
	lo = json_object_get(hint, "min");
	hi = json_object_get(hint, "max");
	if (bad || !json_is_object(hint) || !json_is_number(lo) ||
	    !json_is_number(hi)) {
		if (!bad)
			stack_errn(ctx, r->at, r->path, "random_number takes "
			    "{min: N, max: M}");
		json_decref(hint);
		return -1;
	}
	if (json_is_integer(lo) && json_is_integer(hi)) {
		long long a = json_integer_value(lo), b = json_integer_value(hi);

		if (a > b) {
			json_decref(hint);
			return 0;	/* rand(5..1) is nil */
		}
		u = (unsigned long long)b - (unsigned long long)a;
		if (u == ULLONG_MAX) {
			if (stack_host_random(ctx, &pick, sizeof pick) != 0)
				goto norand;
		} else if (vars_uniform(ctx, u + 1, &pick) != 0)
			goto norand;
		*got = json_integer((json_int_t)((unsigned long long)a + pick));
	} else {
		double a = json_number_value(lo), b = json_number_value(hi);

		if (a > b) {
			json_decref(hint);
			return 0;
		}
		if (stack_host_random(ctx, &pick, sizeof pick) != 0)
			goto norand;
		*got = json_real(a + (b - a) * ((double)(pick >> 11) /
		    (double)(1ULL << 53)));
	}
	json_decref(hint);
	return 0;
norand:
	stack_errn(ctx, r->at, r->path, "random_number: no source of "
	    "randomness here");
	json_decref(hint);
	return -1;
}

static int
vars_random_uuid(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	unsigned char u[16];
	char s[40];

	if (stack_host_random(ctx, u, sizeof u) != 0) {
		stack_errn(ctx, r->at, r->path, "random_uuid: no source of "
		    "randomness here");
		return -1;
	}
	u[6] = (u[6] & 0x0f) | 0x40;	/* version 4 */
	u[8] = (u[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	*got = json_string(s);
	return 0;
}

/* ---- the readers -------------------------------------------------------- */

/* env: one name or a list, each read in turn (Opto's conversions). */
static int
vars_env(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	json_t *hint, *names, *n;
	const char *s;
	char *val;
	size_t i;
	int bad = 0, rc;

	hint = r->hint != NULL && !stack_is_null(r->hint) ?
	    vars_node_json(ctx, r->hint, r->path, &bad) : json_string(v->name);
	if (bad) {
		json_decref(hint);
		return -1;
	}
	names = json_is_array(hint) ? json_incref(hint) :
	    json_pack("[O]", hint);
	json_decref(hint);
	json_array_foreach(names, i, n) {
		s = json_is_string(n) ? json_string_value(n) : NULL;
		if (s == NULL)
			continue;
		if ((rc = stack_host_getenv(ctx, s, &val)) == STACK_NEED)
			break;
		if (rc != 1)
			continue;
		/* digits are integers, true/false booleans, null/nil none */
		if (*val != '\0' && strspn(val, "0123456789") == strlen(val) &&
		    strlen(val) < 19)
			*got = json_integer(strtoll(val, NULL, 10));
		else if (strcmp(val, "true") == 0)
			*got = json_true();
		else if (strcmp(val, "false") == 0)
			*got = json_false();
		else if (strcmp(val, "null") == 0 || strcmp(val, "nil") == 0)
			*got = NULL;
		else
			*got = json_string(val);
		free(val);
		if (*got != NULL)
			break;
	}
	json_decref(names);
	return 0;
}

static int
vars_file(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	json_t *hint, *p;
	char *data, *cause;
	size_t len;
	int bad = 0, ignore = 0, rc;

	hint = r->hint != NULL ? vars_node_json(ctx, r->hint, r->path, &bad) :
	    json_null();
	p = json_is_object(hint) ? json_object_get(hint, "path") : hint;
	if (json_is_object(hint)) {
		json_t *ie = json_object_get(hint, "ignore_errors");

		ignore = ie != NULL && !json_is_null(ie) && !json_is_false(ie);
	}
	if (bad || !json_is_string(p)) {
		if (!bad)
			stack_errn(ctx, r->at, r->path, "file takes a path, or "
			    "{path, ignore_errors}");
		json_decref(hint);
		return -1;
	}
	rc = stack_host_read(ctx, json_string_value(p), STACK_FILE_CWD, &data,
	    &len, &cause);
	if (rc == STACK_NEED) {
		json_decref(hint);
		return 0;
	}
	if (rc != 0) {
		if (!ignore)
			stack_errn(ctx, r->at, r->path, "file: cannot read "
			    "\"%s\": %s", json_string_value(p), cause);
		free(cause);
		json_decref(hint);
		return ignore ? 0 : -1;
	}
	*got = json_stringn(data, len);
	if (*got == NULL)
		stack_errn(ctx, r->at, r->path, "file: \"%s\" is not UTF-8 "
		    "text", json_string_value(p));
	free(data);
	json_decref(hint);
	return *got != NULL ? 0 : -1;
}

/* Read YAML text into JSON (for the yaml resolver). */
static json_t *
vars_yaml_text(const char *text, size_t len, char **cause)
{
	struct stack_errors errs = { NULL, 0 };
	struct stack_ctx sub;
	struct snode *root;
	json_t *out = NULL;

	memset(&sub, 0, sizeof sub);
	sub.file = "yaml";
	sub.errs = &errs;
	if (stack_utf8_check(&sub, text, len) == 0 &&
	    (root = stack_yaml_load(&sub, text, len)) != NULL &&
	    errs.n == 0)
		out = stack_node_json(root);
	if (out == NULL) {
		if (errs.n > 0)
			xasprintf(cause, "line %d: %s", errs.v[0].line,
			    errs.v[0].message);
		else
			*cause = xstrdup("not YAML");
	}
	stack_yaml_free(&sub);
	stack_errors_clear(&errs);
	return out;
}

static int
vars_yaml(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	json_t *hint, *doc = NULL, *file, *var, *key, *x;
	struct var *o;
	char *data = NULL, *cause = NULL, *ks, *part, *save;
	size_t len;
	int bad = 0, rc;

	hint = r->hint != NULL ? vars_node_json(ctx, r->hint, r->path, &bad) :
	    json_null();
	if (bad || !json_is_object(hint)) {
		if (!bad)
			stack_errn(ctx, r->at, r->path, "yaml takes {file: "
			    "PATH or variable: NAME, key: KEY}");
		json_decref(hint);
		return -1;
	}
	file = json_object_get(hint, "file");
	var = json_object_get(hint, "variable");
	key = json_object_get(hint, "key");
	if (json_is_string(file)) {
		rc = stack_host_read(ctx, json_string_value(file),
		    STACK_FILE_CWD, &data, &len, &cause);
		if (rc == STACK_NEED) {
			json_decref(hint);
			return 0;
		}
		if (rc != 0) {
			stack_errn(ctx, r->at, r->path, "yaml: cannot read "
			    "\"%s\": %s", json_string_value(file), cause);
			free(cause);
			json_decref(hint);
			return -1;
		}
	} else if (json_is_string(var)) {
		o = vars_find(ctx, json_string_value(var),
		    json_string_length(var));
		if (o == NULL) {
			stack_errn(ctx, r->at, r->path, "yaml: no variable "
			    "%s", json_string_value(var));
			json_decref(hint);
			return -1;
		}
		vars_resolve(ctx, o);
		data = o->val != NULL ? stack_json_str(o->val) : xstrdup("");
		len = strlen(data);
	} else {
		stack_errn(ctx, r->at, r->path, "yaml: file or variable is "
		    "required");
		json_decref(hint);
		return -1;
	}
	if (len == 0)
		doc = json_null();
	else if ((doc = vars_yaml_text(data, len, &cause)) == NULL) {
		stack_errn(ctx, r->at, r->path, "yaml: %s", cause);
		free(cause);
		free(data);
		json_decref(hint);
		return -1;
	}
	free(data);
	if (key != NULL && !json_is_null(key)) {
		if (!json_is_object(doc)) {
			stack_errn(ctx, r->at, r->path, "yaml: the source is "
			    "not a mapping");
			json_decref(doc);
			json_decref(hint);
			return -1;
		}
		ks = stack_json_str(key);
		if ((x = json_object_get(doc, ks)) != NULL)
			*got = json_incref(x);
		else if (strchr(ks, '.') != NULL) {
			x = doc;
			for (part = strtok_r(ks, ".", &save); part != NULL &&
			    x != NULL; part = strtok_r(NULL, ".", &save))
				x = json_is_object(x) ? json_object_get(x,
				    part) : NULL;
			*got = x != NULL ? json_incref(x) : NULL;
		}
		free(ks);
	} else
		*got = json_incref(doc);
	json_decref(doc);
	json_decref(hint);
	return 0;
}

static int
vars_variable(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	struct var *o;

	if (r->hint == NULL || r->hint->type != SNODE_SCALAR ||
	    (o = vars_find(ctx, r->hint->str, strlen(r->hint->str))) == NULL) {
		stack_errn(ctx, r->at, r->path, "variable: %s%s is not "
		    "declared", r->hint != NULL && r->hint->type ==
		    SNODE_SCALAR ? "variable " : "a variable name",
		    r->hint != NULL && r->hint->type == SNODE_SCALAR ?
		    r->hint->str : "");
		return -1;
	}
	vars_resolve(ctx, o);
	*got = o->val != NULL ? json_incref(o->val) : NULL;
	return 0;
}

/* condition: [{if: cond, then: x}, {elsif: cond, then: y}, {else: z}] */
static int
vars_condition(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	json_t *hint, *c, *cond;
	size_t i;
	int bad = 0, t;

	hint = r->hint != NULL ? vars_node_json(ctx, r->hint, r->path, &bad) :
	    json_null();
	if (bad || !json_is_array(hint)) {
		if (!bad)
			stack_errn(ctx, r->at, r->path, "condition takes a "
			    "list of {if: ..., then: ...}, {elsif: ..., then: "
			    "...} and {else: ...}");
		json_decref(hint);
		return -1;
	}
	json_array_foreach(hint, i, c) {
		if (!json_is_object(c)) {
			stack_errn(ctx, r->at, r->path, "condition: each entry "
			    "is a mapping");
			json_decref(hint);
			return -1;
		}
		if (json_object_get(c, "else") != NULL) {
			*got = json_incref(json_object_get(c, "else"));
			break;
		}
		cond = json_object_get(c, "if");
		if (cond == NULL)
			cond = json_object_get(c, "elsif");
		if (cond == NULL || json_object_get(c, "then") == NULL) {
			stack_errn(ctx, r->at, r->path, "condition: an entry "
			    "needs if (or elsif) and then, or else");
			json_decref(hint);
			return -1;
		}
		if ((t = vars_cond(ctx, v, cond, 1)) < 0) {
			json_decref(hint);
			return -1;
		}
		if (t) {
			*got = json_incref(json_object_get(c, "then"));
			break;
		}
	}
	if (*got != NULL && json_is_null(*got)) {
		json_decref(*got);
		*got = NULL;
	}
	json_decref(hint);
	return 0;
}

/* ---- what the operator and the master answer ---------------------------- */

static json_t *
vars_previous(struct stack_ctx *ctx, const struct var *v)
{
	json_t *p = ctx->vsys->previous != NULL ?
	    json_object_get(ctx->vsys->previous, v->name) : NULL;

	return p != NULL && !json_is_null(p) ? p : NULL;
}

static json_t *
vars_default_json(struct stack_ctx *ctx, struct var *v)
{
	int bad = 0;
	json_t *d;

	if (v->dflt == NULL)
		return NULL;
	d = vars_node_json(ctx, v->dflt, v->path, &bad);
	if (bad || json_is_null(d)) {
		json_decref(d);
		return NULL;
	}
	return d;
}

/* Ask (or find the answer given): 0 and *got, or -1. */
static int
vars_ask(struct stack_ctx *ctx, struct var *v, struct stack_prompt *p,
    json_t **got)
{
	int rc = stack_host_prompt(ctx, p, got);

	if (rc == 0)
		v->asked = 1;		/* nobody to ask */
	if (rc == 1 && *got != NULL && json_is_null(*got)) {
		json_decref(*got);
		*got = NULL;
	}
	return 0;
}

/* Kontena's prompt resolver: select (enum), yes/no (boolean), else ask. */
static int
vars_prompt(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	struct stack_prompt p;
	char question[512];
	json_t *echo = vars_opt(v, "echo"), *dflt;
	const char *hint = r->hint != NULL && r->hint->type == SNODE_SCALAR &&
	    strcmp(r->hint->str, v->name) != 0 ? r->hint->str : NULL;
	int rc;

	memset(&p, 0, sizeof p);
	if (hint != NULL)
		snprintf(question, sizeof question, "%s :", hint);
	else
		snprintf(question, sizeof question, "%s %s :", v->type ==
		    VT_ENUM ? "Select" : v->type == VT_BOOLEAN ? "Enable" :
		    "Enter", v->label != NULL ? v->label : v->name);
	dflt = vars_default_json(ctx, v);
	p.variable = v->name;
	p.type = v->type == VT_ENUM ? "enum" : v->type == VT_BOOLEAN ?
	    "boolean" : v->type == VT_INTEGER ? "integer" : v->type ==
	    VT_ARRAY ? "array" : v->type == VT_URI ? "uri" : "string";
	p.question = question;
	p.def = v->type == VT_BOOLEAN && dflt == NULL ? json_true() : dflt;
	if (v->type == VT_BOOLEAN && dflt == NULL)
		dflt = p.def;
	p.echo = echo == NULL || json_is_null(echo) || !json_is_false(echo);
	if (v->type == VT_ENUM) {
		p.choices = vars_enum_values(v);
		p.other = vars_opt_true(v, "can_be_other");
	}
	rc = vars_ask(ctx, v, &p, got);
	json_decref(p.choices);
	json_decref(dflt);
	return rc;
}

static int
vars_vault(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	json_t *hint;
	char *val;
	size_t len;
	int bad = 0;

	v->vault = 1;
	hint = r->hint != NULL ? vars_node_json(ctx, r->hint, r->path, &bad) :
	    json_string(v->name);
	if (bad || !json_is_string(hint) || json_string_length(hint) == 0) {
		if (!bad)
			stack_errn(ctx, r->at, r->path, "vault: missing or "
			    "empty vault secret name");
		json_decref(hint);
		return -1;
	}
	if (stack_host_vault(ctx, json_string_value(hint), &val, &len) == 1 &&
	    val != NULL) {
		*got = json_stringn(val, len);
		explicit_bzero(val, len);
		free(val);
	}
	json_decref(hint);
	return 0;
}

/* Kontena's service_link: pick one of the grid's services, by prompt. */
static int
vars_service_link(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	struct stack_prompt p;
	json_t *hint, *all, *s, *choices, *pr, *nf, *imf;
	const char *img, *nm;
	char question[512];
	size_t i;
	int bad = 0, rc;

	hint = r->hint != NULL ? vars_node_json(ctx, r->hint, r->path, &bad) :
	    json_null();
	pr = json_object_get(hint, "prompt");
	if (bad || !json_is_object(hint) || !json_is_string(pr)) {
		if (!bad)
			stack_errn(ctx, r->at, r->path, "service_link: prompt "
			    "missing (service_link: {prompt, name, image})");
		json_decref(hint);
		return -1;
	}
	nf = json_object_get(hint, "name");
	imf = json_object_get(hint, "image");
	all = stack_host_services(ctx);
	choices = json_array();
	json_array_foreach(all, i, s) {
		img = json_string_value(json_object_get(s, "image"));
		nm = json_string_value(json_object_get(s, "name"));
		if (json_is_string(imf) && (img == NULL || strstr(img,
		    json_string_value(imf)) == NULL))
			continue;
		if (json_is_string(nf) && (nm == NULL || strstr(nm,
		    json_string_value(nf)) == NULL))
			continue;
		json_array_append(choices, json_object_get(s, "link"));
	}
	json_decref(all);
	json_decref(v->choices);
	v->choices = json_incref(choices);
	rc = 0;
	if (json_array_size(choices) > 0) {
		memset(&p, 0, sizeof p);
		snprintf(question, sizeof question, "%s", json_string_value(pr));
		p.variable = v->name;
		p.type = "service_link";
		p.question = question;
		p.choices = choices;
		p.echo = 1;
		p.other = !v->required;		/* "<none>" */
		rc = vars_ask(ctx, v, &p, got);
	}
	json_decref(choices);
	json_decref(hint);
	return rc;
}

static int
vars_service_instances(struct stack_ctx *ctx, struct var *v,
    const struct vres *r, json_t **got)
{
	json_t *info = NULL;

	if (r->hint == NULL || r->hint->type != SNODE_SCALAR) {
		stack_errn(ctx, r->at, r->path, "service_instances takes a "
		    "service name of this stack");
		return -1;
	}
	if (ctx->stack_name != NULL && stack_host_service(ctx,
	    ctx->stack_name, r->hint->str, &info) == 1) {
		if (json_is_integer(json_object_get(info, "instances")))
			*got = json_incref(json_object_get(info, "instances"));
		json_decref(info);
	}
	return 0;
}

static int
vars_vault_cert_prompt(struct stack_ctx *ctx, struct var *v,
    const struct vres *r, json_t **got)
{
	struct stack_prompt p;
	json_t *names = stack_host_vault_names(ctx), *choices = json_array(), *n;
	char question[512], *low;
	size_t i, k;
	int rc = 0;

	json_array_foreach(names, i, n) {
		low = xstrdup(json_string_value(n));
		for (k = 0; low[k] != '\0'; k++)
			low[k] = (char)tolower((unsigned char)low[k]);
		if (strstr(low, "ssl") != NULL || strstr(low, "cert") != NULL)
			json_array_append(choices, n);
		free(low);
	}
	json_decref(names);
	if (json_array_size(choices) > 0) {
		memset(&p, 0, sizeof p);
		snprintf(question, sizeof question, "%s", r->hint != NULL &&
		    r->hint->type == SNODE_SCALAR && strcmp(r->hint->str,
		    v->name) != 0 ? r->hint->str : "Select SSL certs");
		p.variable = v->name;
		p.type = "vault_cert_prompt";
		p.question = question;
		p.choices = choices;
		p.multi = 1;
		p.echo = 1;
		rc = vars_ask(ctx, v, &p, got);
	}
	json_decref(choices);
	return rc;
}

int
vars_run_resolver(struct stack_ctx *ctx, struct var *v, const struct vres *r,
    json_t **got)
{
	const char *n = r->name;
	json_t *prev;

	*got = NULL;
	/* An upgrade keeps what was generated or answered before. */
	if ((prev = vars_previous(ctx, v)) != NULL &&
	    (strncmp(n, "random_", 7) == 0 || strcmp(n, "prompt") == 0 ||
	    strcmp(n, "service_link") == 0 || strcmp(n, "certificates") == 0 ||
	    strcmp(n, "vault_cert_prompt") == 0 || strcmp(n, "default") == 0)) {
		*got = json_incref(prev);
		return 0;
	}
	if (strcmp(n, "env") == 0)
		return vars_env(ctx, v, r, got);
	if (strcmp(n, "default") == 0) {
		*got = vars_default_json(ctx, v);
		return 0;
	}
	if (strcmp(n, "file") == 0)
		return vars_file(ctx, v, r, got);
	if (strcmp(n, "interpolate") == 0)
		return vars_interpolate_res(ctx, v, r, got);
	if (strcmp(n, "evaluate") == 0)
		return vars_evaluate(ctx, v, r, got);
	if (strcmp(n, "variable") == 0)
		return vars_variable(ctx, v, r, got);
	if (strcmp(n, "yaml") == 0)
		return vars_yaml(ctx, v, r, got);
	if (strcmp(n, "condition") == 0)
		return vars_condition(ctx, v, r, got);
	if (strcmp(n, "random_string") == 0)
		return vars_random_string(ctx, v, r, got);
	if (strcmp(n, "random_number") == 0)
		return vars_random_number(ctx, v, r, got);
	if (strcmp(n, "random_uuid") == 0)
		return vars_random_uuid(ctx, v, r, got);
	if (strcmp(n, "prompt") == 0)
		return vars_prompt(ctx, v, r, got);
	if (strcmp(n, "vault") == 0)
		return vars_vault(ctx, v, r, got);
	if (strcmp(n, "service_link") == 0)
		return vars_service_link(ctx, v, r, got);
	if (strcmp(n, "service_instances") == 0)
		return vars_service_instances(ctx, v, r, got);
	if (strcmp(n, "vault_cert_prompt") == 0)
		return vars_vault_cert_prompt(ctx, v, r, got);
	/* certificates: berth keeps no certificates, so there are none to
	   pick (Kontena gave nothing on a grid without any too). */
	return 0;
}

/* ---- after the values --------------------------------------------------- */

/* A required variable without a value: say how to give it one. */
void
vars_missing(struct stack_ctx *ctx, struct var *v)
{
	struct buf b = { NULL, 0, 0 };
	json_t *c;
	size_t i;

	v->bad = 1;
	if (v->choices != NULL && json_array_size(v->choices) > 0) {
		json_array_foreach(v->choices, i, c) {
			if (i > 0)
				buf_append(&b, ", ", 2);
			buf_append(&b, json_string_value(c),
			    json_string_length(c));
		}
		stack_errn(ctx, v->key, v->path, "variable \"%s\" needs a "
		    "value: choose one of %s (-v %s=STACK/SERVICE)", v->name,
		    b.data, v->name);
		buf_free(&b);
	} else if (v->asked)
		stack_errn(ctx, v->key, v->path, "variable \"%s\" needs a "
		    "value: berth asks for it only on a terminal; pass "
		    "-v %s=VALUE (or set %s in the environment)", v->name,
		    v->name, v->name);
	else
		stack_errn(ctx, v->key, v->path, "variable \"%s\" has no value "
		    "(give it a default, pass -v %s=VALUE, or set %s in the "
		    "environment)", v->name, v->name, v->name);
}

/* to: vault writes the value with the stack (the caller stores it). */
void
vars_setters(struct stack_ctx *ctx, struct var *v)
{
	json_t *name;
	char *s;
	int bad = 0;

	if (v->vault_to == NULL || v->val == NULL)
		return;
	name = v->vault_to->type == SNODE_SCALAR &&
	    strcmp(v->vault_to->str, "vault") == 0 ? json_string(v->name) :
	    vars_node_json(ctx, v->vault_to, v->path, &bad);
	if (bad || !json_is_string(name) || json_string_length(name) == 0) {
		if (!bad)
			stack_errn(ctx, v->vault_to, v->path, "to: vault needs "
			    "the secret's name");
		v->bad = 1;
		json_decref(name);
		return;
	}
	if (ctx->vault_writes == NULL)
		ctx->vault_writes = json_object();
	s = stack_json_str(v->val);
	json_object_set_new(ctx->vault_writes, json_string_value(name),
	    json_string(s));
	explicit_bzero(s, strlen(s));
	free(s);
	json_decref(name);
}

const char *
vars_schemes_text(const struct var *v)
{
	static char buf[256];
	json_t *s = vars_opt(v, "schemes"), *x;
	size_t i, o = 0;

	if (!json_is_array(s))
		return "http, https";
	buf[0] = '\0';
	json_array_foreach(s, i, x) {
		if (o < sizeof buf)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s",
			    i ? ", " : "", json_is_string(x) ?
			    json_string_value(x) : "?");
	}
	return buf;
}

/* URI.parse's scheme, checked against schemes: (default http, https). */
int
vars_uri_ok(const struct var *v, const char *s)
{
	json_t *schemes = vars_opt(v, "schemes"), *x;
	size_t i, n;

	for (n = 0; s[n] != '\0'; n++) {
		if (isspace((unsigned char)s[n]) || s[n] == '"' ||
		    s[n] == '<' || s[n] == '>' || s[n] == '\\' ||
		    s[n] == '^' || s[n] == '`' || s[n] == '{' ||
		    s[n] == '|' || s[n] == '}')
			return -1;
	}
	if (schemes != NULL && (json_is_null(schemes) ||
	    (json_is_array(schemes) && json_array_size(schemes) == 0)))
		return 1;
	n = 0;
	if (isalpha((unsigned char)s[0])) {
		for (n = 1; isalnum((unsigned char)s[n]) || s[n] == '+' ||
		    s[n] == '-' || s[n] == '.'; n++)
			;
		if (s[n] != ':')
			n = 0;
	}
	if (!json_is_array(schemes))
		return (n == 4 && strncasecmp(s, "http", 4) == 0) ||
		    (n == 5 && strncasecmp(s, "https", 5) == 0);
	json_array_foreach(schemes, i, x) {
		if (json_is_string(x) && json_string_length(x) == n &&
		    strncmp(json_string_value(x), s, n) == 0)
			return 1;
	}
	return 0;
}
