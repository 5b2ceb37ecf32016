/*
 * stack_vars.c - the `variables:` section, with the semantics of Opto (the
 * Ruby library Kontena's stack variables were).
 *
 * Called by stack_parse() on the raw stack file, before Liquid: the values
 * resolved here are the template's variables, and every later ${NAME}
 * reads them (stack_vars_text()). A variable's value is, as Opto made it:
 *
 *	a value given by the caller (-v, --values-from), else
 *	its `value:`, else
 *	nothing when its skip_if/only_if say so, else
 *	the first resolver of `from:` that gives one, in order, then `env`
 *	(the variable's own name) unless `from:` has env, then `default:`;
 *
 * then put through its type's sanitizers (upcase, split, to_i, ...) and
 * validators (min, in, options, ...). Variables resolve lazily, in
 * declaration order but each on first use, so one may name another
 * declared later; a cycle is an error. After every value is known, the
 * setters run: `to: env` gives the value a second name for ${}, `to: vault`
 * writes it to the vault with the stack (ctx->vault_writes).
 *
 * The resolvers live in stack_resolvers.c. What only the caller has (the
 * environment, files, the vault, the grid's services, a person to ask)
 * comes through stack_host.c.
 */
#include "stacks/stack_vars.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static const char *const vars_type_names[] = {
	"string", "integer", "boolean", "enum", "uri", "array",
};

/* The options each type takes (Opto's OPTIONS), beyond the common ones. */
static const char *const vars_type_opts[][16] = {
	{ "min_length", "max_length", "empty_is_nil", "hexdigest",
	  "encode_64", "decode_64", "upcase", "downcase", "strip", "chomp",
	  "capitalize", NULL },
	{ "min", "max", "nil_is_zero", NULL },
	{ "truthy", "nil_is", "blank_is", "true", "false", "as", NULL },
	{ "options", "can_be_other", NULL },
	{ "schemes", NULL },
	{ "split", "join", "empty_is_nil", "sort", "uniq", "count", "compact",
	  NULL },
};

static int
vars_in_list(const char *s, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++) {
		if (strcmp(s, list[i]) == 0)
			return 1;
	}
	return 0;
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

struct var *
vars_find(struct stack_ctx *ctx, const char *name, size_t len)
{
	struct stack_vsys *vs = ctx->vsys;
	size_t i;

	if (vs == NULL)
		return NULL;
	for (i = 0; i < vs->n; i++) {
		if (strlen(vs->v[i].name) == len &&
		    strncmp(vs->v[i].name, name, len) == 0)
			return &vs->v[i];
	}
	return NULL;
}

/* The variable that `to: env: NAME` made NAME for, or NULL. */
static struct var *
vars_find_alias(struct stack_ctx *ctx, const char *name, size_t len)
{
	struct stack_vsys *vs = ctx->vsys;
	json_t *a;
	size_t i, j;

	if (vs == NULL)
		return NULL;
	for (i = 0; i < vs->n; i++) {
		json_array_foreach(vs->v[i].aliases, j, a) {
			if (json_string_length(a) == len &&
			    strncmp(json_string_value(a), name, len) == 0)
				return &vs->v[i];
		}
	}
	return NULL;
}

json_t *
vars_opt(const struct var *v, const char *name)
{
	return json_object_get(v->opts, name);
}

int
vars_opt_true(const struct var *v, const char *name)
{
	json_t *o = vars_opt(v, name);

	return o != NULL && !json_is_null(o) && !json_is_false(o);
}

/* ---- YAML to JSON, interpolated ---------------------------------------- */

json_t *
vars_node_json(struct stack_ctx *ctx, const struct snode *n, const char *path,
    int *bad)
{
	json_t *o, *v;
	char *s, *ipath;
	size_t i;

	switch (n->type) {
	case SNODE_SEQ:
		o = json_array();
		for (i = 0; i < n->n; i++) {
			ipath = stack_path_idx(path, i);
			json_array_append_new(o, vars_node_json(ctx, n->kids[i],
			    ipath, bad));
			free(ipath);
		}
		return o;
	case SNODE_MAP:
		o = json_object();
		for (i = 0; i < SNODE_NPAIRS(n); i++) {
			ipath = stack_path(path, SNODE_KEY(n, i)->str);
			json_object_set_new(o, SNODE_KEY(n, i)->str,
			    vars_node_json(ctx, SNODE_VAL(n, i), ipath, bad));
			free(ipath);
		}
		return o;
	case SNODE_SCALAR:
		break;
	}
	if ((s = stack_interpolate(ctx, n, path, n->str)) == NULL) {
		*bad = 1;
		return json_null();
	}
	v = stack_text_json(s, n->quoted);
	free(s);
	return v;
}

/* ---- sanitizers, validators and truth, by type (Opto's types) ---------- */

/* Ruby's String#to_i. */
static long long
vars_ruby_to_i(const char *s)
{
	long long v = 0;
	int neg = 0;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; isdigit((unsigned char)*s) || (*s == '_' &&
	    isdigit((unsigned char)s[1])); s++) {
		if (*s == '_')
			continue;
		if (v > (LLONG_MAX - 9) / 10)
			break;
		v = v * 10 + (*s - '0');
	}
	return neg ? -v : v;
}

/* Ruby's String#split(pattern) (a literal; " " splits on whitespace). */
json_t *
vars_split(const char *s, const char *pat)
{
	json_t *out = json_array();
	const char *p = s, *q;
	size_t pn = strlen(pat);

	if (*s == '\0')
		return out;
	if (strcmp(pat, " ") == 0 || pn == 0) {
		while (*p != '\0') {
			if (pn == 1) {
				while (isspace((unsigned char)*p))
					p++;
				if (*p == '\0')
					break;
				for (q = p; *q != '\0' &&
				    !isspace((unsigned char)*q); q++)
					;
			} else {
				q = p + 1;
				while (((unsigned char)*q & 0xc0) == 0x80)
					q++;
			}
			json_array_append_new(out, json_stringn(p,
			    (size_t)(q - p)));
			p = q;
		}
		return out;
	}
	for (;;) {
		if ((q = strstr(p, pat)) == NULL) {
			json_array_append_new(out, json_string(p));
			break;
		}
		json_array_append_new(out, json_stringn(p, (size_t)(q - p)));
		p = q + pn;
	}
	while (json_array_size(out) > 0 && json_string_length(json_array_get(
	    out, json_array_size(out) - 1)) == 0)
		json_array_remove(out, json_array_size(out) - 1);
	return out;
}

static char *
vars_base64(const unsigned char *in, size_t n, int encode, size_t *outlen)
{
	struct buf b = { NULL, 0, 0 };
	unsigned char *out, *clean;
	size_t i, k = 0;
	int len;

	if (encode) {
		/* Base64.encode64: lines of 60 characters, each ending \n. */
		out = xmalloc(4 * ((n + 2) / 3) + 1);
		len = EVP_EncodeBlock(out, in, (int)n);
		for (i = 0; i < (size_t)len; i += 60) {
			buf_append(&b, out + i, (size_t)len - i < 60 ?
			    (size_t)len - i : 60);
			buf_append(&b, "\n", 1);
		}
		free(out);
		*outlen = b.len;
		return b.data != NULL ? b.data : xstrdup("");
	}
	/* Base64.decode64 skips what is not base64. */
	clean = xmalloc(n + 4);
	for (i = 0; i < n; i++) {
		if (isalnum(in[i]) || in[i] == '+' || in[i] == '/')
			clean[k++] = in[i];
	}
	while (k % 4 != 0)
		clean[k++] = '=';
	out = xmalloc(k / 4 * 3 + 1);
	len = k == 0 ? 0 : EVP_DecodeBlock(out, clean, (int)k);
	if (len < 0)
		len = 0;
	for (i = k; i > 0 && clean[i - 1] == '=' && len > 0; i--)
		len--;
	free(clean);
	out[len] = '\0';
	*outlen = (size_t)len;
	return (char *)out;
}

static char *
vars_hexdigest(const char *algo, const char *s, size_t n)
{
	const EVP_MD *md = NULL;
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int dl;
	char *hex;

	if (strcmp(algo, "md5") == 0)
		md = EVP_md5();
	else if (strcmp(algo, "sha1") == 0)
		md = EVP_sha1();
	else if (strcmp(algo, "sha256") == 0)
		md = EVP_sha256();
	else if (strcmp(algo, "sha384") == 0)
		md = EVP_sha384();
	else if (strcmp(algo, "sha512") == 0)
		md = EVP_sha512();
	if (md == NULL || EVP_Digest(s, n, dg, &dl, md, NULL) != 1)
		return NULL;
	hex = xmalloc(dl * 2 + 1);
	util_hex(dg, dl, hex);
	return hex;
}

/* A JSON string that is valid UTF-8, or NULL. */
static json_t *
vars_strn(const char *s, size_t n)
{
	return json_stringn(s, n);
}

static json_t *
vars_sanitize_string(struct stack_ctx *ctx, struct var *v, json_t *in)
{
	json_t *o;
	char *s, *t, *e;
	size_t n, i;

	if (in == NULL || json_is_null(in))
		return NULL;
	s = stack_json_str(in);
	if (json_is_array(in) || json_is_object(in)) {
		struct buf b = { NULL, 0, 0 };

		free(s);
		stack_json_text(in, &b, 1);
		s = b.data != NULL ? b.data : xstrdup("");
	}
	n = strlen(s);
	if (vars_opt_true(v, "encode_64")) {
		t = vars_base64((unsigned char *)s, n, 1, &n);
		free(s);
		s = t;
	}
	if (vars_opt_true(v, "decode_64")) {
		t = vars_base64((unsigned char *)s, n, 0, &n);
		free(s);
		s = t;
	}
	if ((o = vars_opt(v, "hexdigest")) != NULL && !json_is_null(o) &&
	    !json_is_false(o)) {
		t = json_is_string(o) ? vars_hexdigest(json_string_value(o), s,
		    n) : NULL;
		if (t == NULL) {
			stack_errn(ctx, v->key, v->path, "invalid hexdigest, "
			    "valid options: md5, sha1, sha256, sha384, sha512 "
			    "and null/false");
			v->bad = 1;
			free(s);
			return NULL;
		}
		free(s);
		s = t;
		n = strlen(s);
	}
	if (vars_opt_true(v, "upcase"))
		for (i = 0; i < n; i++)
			s[i] = (char)toupper((unsigned char)s[i]);
	if (vars_opt_true(v, "downcase"))
		for (i = 0; i < n; i++)
			s[i] = (char)tolower((unsigned char)s[i]);
	if (vars_opt_true(v, "strip")) {
		for (t = s; isspace((unsigned char)*t); t++)
			;
		for (e = s + n; e > t && (isspace((unsigned char)e[-1]) ||
		    e[-1] == '\0'); e--)
			;
		memmove(s, t, (size_t)(e - t));
		n = (size_t)(e - t);
		s[n] = '\0';
	}
	if (vars_opt_true(v, "chomp") && n > 0) {
		if (n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n')
			n -= 2;
		else if (s[n - 1] == '\n' || s[n - 1] == '\r')
			n--;
		s[n] = '\0';
	}
	if (vars_opt_true(v, "capitalize"))
		for (i = 0; i < n; i++)
			s[i] = (char)(i == 0 ? toupper((unsigned char)s[i]) :
			    tolower((unsigned char)s[i]));
	/* empty_is_nil (default true): blank is no value */
	o = vars_opt(v, "empty_is_nil");
	if (o == NULL || (!json_is_null(o) && !json_is_false(o))) {
		for (t = s; isspace((unsigned char)*t); t++)
			;
		if (*t == '\0') {
			free(s);
			return NULL;
		}
	}
	o = vars_strn(s, n);
	free(s);
	if (o == NULL) {
		stack_errn(ctx, v->key, v->path, "the value is not UTF-8 text");
		v->bad = 1;
	}
	return o;
}

static json_t *
vars_sanitize_integer(struct stack_ctx *ctx, struct var *v, json_t *in)
{
	if (in == NULL || json_is_null(in))
		return vars_opt_true(v, "nil_is_zero") ? json_integer(0) : NULL;
	if (json_is_integer(in))
		return json_incref(in);
	if (json_is_real(in)) {
		double d = json_real_value(in);

		if (!isfinite(d) || fabs(d) >= 9.2e18) {
			stack_errn(ctx, v->key, v->path, "%g is not an integer",
			    d);
			v->bad = 1;
			return NULL;
		}
		return json_integer((json_int_t)d);	/* to_i truncates */
	}
	if (json_is_string(in)) {
		long long i;

		if (stack_text_int(json_string_value(in), &i) != 0 &&
		    v->key != NULL)
			stack_warn(ctx, v->key, v->path, "\"%s\" is not an "
			    "integer; as Kontena (Ruby's to_i), the value is "
			    "%lld", json_string_value(in),
			    vars_ruby_to_i(json_string_value(in)));
		return json_integer(vars_ruby_to_i(json_string_value(in)));
	}
	stack_errn(ctx, v->key, v->path, "a %s cannot be made an integer",
	    json_is_boolean(in) ? "boolean" : json_is_array(in) ? "list" :
	    "mapping");
	v->bad = 1;
	return NULL;
}

/* Boolean's to_bool: nil_is, blank_is, or in truthy (lower case). */
static int
vars_to_bool(const struct var *v, json_t *in)
{
	json_t *truthy = vars_opt(v, "truthy"), *t;
	char *s, *p, *e;
	size_t i;
	int r = 0;

	if (in == NULL || json_is_null(in))
		return vars_opt_true(v, "nil_is");
	if (json_is_boolean(in))
		return json_is_true(in);
	s = stack_json_str(in);
	for (p = s; isspace((unsigned char)*p); p++)
		;
	for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	if (*p == '\0') {
		free(s);
		return vars_opt_true(v, "blank_is");
	}
	for (e = p; *e != '\0'; e++)
		*e = (char)tolower((unsigned char)*e);
	if (truthy == NULL || !json_is_array(truthy)) {
		static const char *const dflt[] = { "true", "yes", "1", "on",
		    "enabled", "enable", NULL };

		r = vars_in_list(p, dflt);
	} else {
		json_array_foreach(truthy, i, t) {
			char *ts = stack_json_str(t);

			if (strcmp(ts, p) == 0)
				r = 1;
			free(ts);
		}
	}
	free(s);
	return r;
}

static json_t *
vars_sanitize_boolean(struct stack_ctx *ctx, struct var *v, json_t *in)
{
	json_t *as = vars_opt(v, "as"), *o;
	char *how = as != NULL && !json_is_null(as) ? stack_json_str(as) :
	    xstrdup("boolean");
	int b = vars_to_bool(v, in);
	size_t i;

	for (i = 0; how[i] != '\0'; i++)
		how[i] = (char)tolower((unsigned char)how[i]);
	if (strcmp(how, "boolean") == 0)
		o = json_boolean(b);
	else if (strcmp(how, "integer") == 0) {
		o = vars_opt(v, b ? "true" : "false");
		o = o != NULL && json_is_integer(o) ? json_incref(o) :
		    json_integer(b);
	} else {
		o = vars_opt(v, b ? "true" : "false");
		o = o != NULL && !json_is_null(o) ? json_incref(o) :
		    json_string(b ? "true" : "false");
	}
	free(how);
	return o;
}

/* Array options' split: a string, default ",". */
static json_t *
vars_sanitize_array(struct stack_ctx *ctx, struct var *v, json_t *in)
{
	json_t *a, *o, *r, *x;
	char *sep, *s;
	size_t i, j;

	if (in == NULL || json_is_null(in))
		a = json_array();
	else if (json_is_array(in))
		a = json_copy(in);
	else if (json_is_string(in)) {
		o = vars_opt(v, "split");
		sep = o != NULL && !json_is_null(o) ? stack_json_str(o) :
		    xstrdup(",");
		a = vars_split(json_string_value(in), sep);
		free(sep);
	} else
		a = json_pack("[O]", in);
	if (vars_opt_true(v, "sort")) {
		/* Strings and numbers, each among their own (Ruby's sort). */
		for (i = 1; i < json_array_size(a); i++) {
			for (j = i; j > 0; j--) {
				json_t *p = json_array_get(a, j - 1);
				json_t *q = json_array_get(a, j);
				int cmp;

				if (json_is_string(p) && json_is_string(q))
					cmp = strcmp(json_string_value(p),
					    json_string_value(q));
				else if (json_is_number(p) && json_is_number(q))
					cmp = json_number_value(p) >
					    json_number_value(q) ? 1 : -1;
				else {
					stack_errn(ctx, v->key, v->path, "sort: "
					    "the list mixes values that cannot "
					    "be compared");
					v->bad = 1;
					json_decref(a);
					return NULL;
				}
				if (cmp <= 0)
					break;
				json_incref(p);
				json_array_set(a, j - 1, q);
				json_array_set_new(a, j, p);
			}
		}
	}
	if (vars_opt_true(v, "uniq")) {
		r = json_array();
		json_array_foreach(a, i, x) {
			for (j = 0; j < json_array_size(r); j++) {
				if (json_equal(json_array_get(r, j), x))
					break;
			}
			if (j == json_array_size(r))
				json_array_append(r, x);
		}
		json_decref(a);
		a = r;
	}
	if (vars_opt_true(v, "compact")) {
		r = json_array();
		json_array_foreach(a, i, x) {
			if (!json_is_null(x))
				json_array_append(r, x);
		}
		json_decref(a);
		a = r;
	}
	if (vars_opt_true(v, "empty_is_nil") && json_array_size(a) == 0) {
		json_decref(a);
		return NULL;
	}
	if ((o = vars_opt(v, "join")) != NULL && !json_is_null(o) &&
	    !json_is_false(o)) {
		struct buf b = { NULL, 0, 0 };

		sep = stack_json_str(o);
		json_array_foreach(a, i, x) {
			if (i > 0)
				buf_append(&b, sep, strlen(sep));
			s = stack_json_str(x);
			buf_append(&b, s, strlen(s));
			free(s);
		}
		free(sep);
		json_decref(a);
		a = json_stringn(b.data != NULL ? b.data : "", b.len);
		buf_free(&b);
		return a != NULL ? a : json_string("");
	}
	if (vars_opt_true(v, "count")) {
		o = json_integer((json_int_t)json_array_size(a));
		json_decref(a);
		return o;
	}
	return a;
}

json_t *
vars_sanitize(struct stack_ctx *ctx, struct var *v, json_t *in)
{
	switch (v->type) {
	case VT_STRING:
		return vars_sanitize_string(ctx, v, in);
	case VT_INTEGER:
		return vars_sanitize_integer(ctx, v, in);
	case VT_BOOLEAN:
		return vars_sanitize_boolean(ctx, v, in);
	case VT_ARRAY:
		return vars_sanitize_array(ctx, v, in);
	case VT_ENUM:
	case VT_URI:
		break;
	}
	return in != NULL && !json_is_null(in) ? json_incref(in) : NULL;
}

int
vars_truthy(const struct var *v)
{
	json_t *x = v->val;
	const char *s;

	switch (v->type) {
	case VT_STRING:
		if (x == NULL || !json_is_string(x))
			return x != NULL && !json_is_null(x);
		s = json_string_value(x);
		while (isspace((unsigned char)*s))
			s++;
		return *s != '\0' && strcmp(json_string_value(x), "false") != 0;
	case VT_BOOLEAN:
		return vars_to_bool(v, x);
	case VT_ARRAY:
		/* Opto's own check would crash here; the intent is "any". */
		return x != NULL && ((json_is_array(x) &&
		    json_array_size(x) > 0) || (!json_is_array(x) &&
		    !json_is_null(x)));
	case VT_URI:
		if (x == NULL || json_is_null(x))
			return 0;
		{
			char *t = stack_json_str(x), *p = t;
			int r;

			while (isspace((unsigned char)*p))
				p++;
			r = *p != '\0';
			free(t);
			return r;
		}
	case VT_INTEGER:
	case VT_ENUM:
		break;
	}
	return x != NULL && !json_is_null(x);
}

/* Ruby's ===/== of a value and an `in:`/condition operand. */
int
vars_eq(json_t *a, json_t *b)
{
	if (a == NULL)
		a = json_null();
	if (b == NULL)
		b = json_null();
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b);
}

/* The enum's option values: a list, a list of {value, ...}, or a map. */
json_t *
vars_enum_values(const struct var *v)
{
	json_t *opts = vars_opt(v, "options"), *out = json_array(), *o, *x;
	const char *k;
	size_t i;

	if (json_is_object(opts)) {
		json_object_foreach(opts, k, o)
			json_array_append_new(out, json_string(k));
	} else if (json_is_array(opts)) {
		json_array_foreach(opts, i, o) {
			if (json_is_object(o)) {
				if ((x = json_object_get(o, "value")) != NULL)
					json_array_append(out, x);
			} else
				json_array_append(out, o);
		}
	}
	return out;
}

/* Validators (after a value is set): 0, or -1 with the error reported. */
static int
vars_validate(struct stack_ctx *ctx, struct var *v)
{
	json_t *x = v->val, *in = v->in, *o, *vals;
	long long lim;
	size_t i, len;
	char *s;
	int ok;

	if (x == NULL || json_is_null(x))
		return 0;
	if (in != NULL && json_array_size(in) > 0 && v->type != VT_ENUM) {
		ok = 0;
		json_array_foreach(in, i, o)
			ok |= vars_eq(x, o);
		if (!ok) {
			s = stack_json_str(x);
			stack_errn(ctx, v->key, v->path, "value \"%s\" is not "
			    "one of those allowed (in:)", s);
			free(s);
			return -1;
		}
	}
	switch (v->type) {
	case VT_STRING:
		if (!json_is_string(x))
			break;
		len = vars_utf8_len(json_string_value(x),
		    json_string_length(x));
		if ((o = vars_opt(v, "min_length")) != NULL &&
		    json_is_integer(o) && (long long)len < (lim =
		    json_integer_value(o))) {
			stack_errn(ctx, v->key, v->path, "too short: the "
			    "minimum length is %lld, the value has %zu", lim,
			    len);
			return -1;
		}
		if ((o = vars_opt(v, "max_length")) != NULL &&
		    json_is_integer(o) && (long long)len > (lim =
		    json_integer_value(o))) {
			stack_errn(ctx, v->key, v->path, "too long: the "
			    "maximum length is %lld, the value has %zu", lim,
			    len);
			return -1;
		}
		break;
	case VT_INTEGER:
		if (!json_is_integer(x))
			break;
		/* Opto's minimum is 0 unless min: says otherwise. */
		o = vars_opt(v, "min");
		lim = o == NULL ? 0 : json_is_integer(o) ?
		    json_integer_value(o) : LLONG_MIN;
		if (json_integer_value(x) < lim && (o == NULL ||
		    json_is_integer(o))) {
			stack_errn(ctx, v->key, v->path, "too small: the "
			    "minimum is %lld, the value is %lld", lim,
			    (long long)json_integer_value(x));
			return -1;
		}
		if ((o = vars_opt(v, "max")) != NULL && json_is_integer(o) &&
		    json_integer_value(x) > json_integer_value(o)) {
			stack_errn(ctx, v->key, v->path, "too large: the "
			    "maximum is %lld, the value is %lld",
			    (long long)json_integer_value(o),
			    (long long)json_integer_value(x));
			return -1;
		}
		break;
	case VT_ENUM:
		vals = vars_enum_values(v);
		if (json_array_size(vals) == 0) {
			json_decref(vals);
			stack_errn(ctx, v->key, v->path, "no options defined "
			    "for enum");
			return -1;
		}
		if (vars_opt_true(v, "can_be_other")) {
			json_decref(vals);
			break;
		}
		ok = 0;
		if (in != NULL && json_array_size(in) > 0) {
			json_array_foreach(in, i, o)
				ok |= vars_eq(x, o);
		} else {
			json_array_foreach(vals, i, o)
				ok |= vars_eq(x, o);
		}
		json_decref(vals);
		if (!ok) {
			s = stack_json_str(x);
			stack_errn(ctx, v->key, v->path, "value \"%s\" is not "
			    "one of the options", s);
			free(s);
			return -1;
		}
		break;
	case VT_URI:
		s = stack_json_str(x);
		ok = vars_uri_ok(v, s);
		if (ok != 1) {
			if (ok == 0)
				stack_errn(ctx, v->key, v->path, "URI \"%s\": "
				    "its scheme is not allowed (schemes: %s)",
				    s, vars_schemes_text(v));
			else
				stack_errn(ctx, v->key, v->path, "\"%s\" is not "
				    "a URI", s);
			free(s);
			return -1;
		}
		free(s);
		break;
	case VT_BOOLEAN:
	case VT_ARRAY:
		break;
	}
	return 0;
}

/* ---- conditions (only_if, skip_if, condition:) -------------------------- */

/* Ruby's <, <=, >, >= of a value and an operand: 1/0, -1 error. */
static int
vars_order(struct stack_ctx *ctx, const struct var *at, json_t *a, json_t *b,
    const char *op)
{
	double x, y;
	int cmp;

	if (a != NULL && b != NULL && json_is_number(a) && json_is_number(b)) {
		x = json_number_value(a);
		y = json_number_value(b);
		cmp = x < y ? -1 : x > y;
	} else if (a != NULL && b != NULL && json_is_string(a) &&
	    json_is_string(b))
		cmp = strcmp(json_string_value(a), json_string_value(b));
	else {
		stack_errn(ctx, at->key, at->path, "a condition compares "
		    "(%s) values that cannot be ordered", op);
		return -1;
	}
	if (strcmp(op, "lt") == 0)
		return cmp < 0;
	if (strcmp(op, "lte") == 0)
		return cmp <= 0;
	return cmp > 0;		/* gt; and gte, which Opto checks as > */
}

/* One "name: value" or "name: {op: operand}" test. */
static int
vars_cond_pair(struct stack_ctx *ctx, struct var *at, const char *name,
    json_t *want)
{
	struct var *o = vars_find(ctx, name, strlen(name));
	json_t *val, *op;
	const char *k;
	char *s, *w;
	size_t i;
	int r = 1, t;

	if (o == NULL) {
		stack_errn(ctx, at->key, at->path, "a condition names "
		    "undeclared variable \"%s\"", name);
		return -1;
	}
	vars_resolve(ctx, o);
	val = o->val;
	if (!json_is_object(want))
		return vars_eq(val, want);
	json_object_foreach(want, k, op) {
		if (strcmp(k, "lt") == 0 || strcmp(k, "lte") == 0 ||
		    strcmp(k, "gt") == 0 || strcmp(k, "gte") == 0) {
			if ((t = vars_order(ctx, at, val, op, k)) < 0)
				return -1;
			r &= t;
		} else if (strcmp(k, "eq") == 0)
			r &= vars_eq(val, op);
		else if (strcmp(k, "ne") == 0)
			r &= !vars_eq(val, op);
		else if (strcmp(k, "start_with") == 0 ||
		    strcmp(k, "end_with") == 0 || strcmp(k, "contain") == 0) {
			if (strcmp(k, "contain") == 0 && val != NULL &&
			    json_is_array(val)) {
				t = 0;
				for (i = 0; i < json_array_size(val); i++)
					t |= vars_eq(json_array_get(val, i),
					    op);
				r &= t;
				continue;
			}
			s = val != NULL ? stack_json_str(val) : xstrdup("");
			w = stack_json_str(op);
			if (strcmp(k, "start_with") == 0)
				r &= strncmp(s, w, strlen(w)) == 0;
			else if (strcmp(k, "end_with") == 0)
				r &= strlen(s) >= strlen(w) && strcmp(s +
				    strlen(s) - strlen(w), w) == 0;
			else
				r &= strstr(s, w) != NULL;
			free(s);
			free(w);
		} else if (strcmp(k, "any_of") == 0) {
			json_t *list = json_is_string(op) ? vars_split(
			    json_string_value(op), ",") : json_incref(op);

			if (!json_is_array(list)) {
				json_decref(list);
				stack_errn(ctx, at->key, at->path, "any_of takes "
				    "a list or a comma separated string");
				return -1;
			}
			t = 0;
			for (i = 0; i < json_array_size(list); i++)
				t |= vars_eq(val, json_array_get(list, i));
			json_decref(list);
			r &= t;
		} else {
			stack_errn(ctx, at->key, at->path, "unknown condition "
			    "operator \"%s\" (lt, lte, gt, gte, eq, ne, "
			    "start_with, end_with, contain, any_of)", k);
			return -1;
		}
	}
	return r;
}

/* A name's truth: the variable's type decides (Opto's true?). */
static int
vars_cond_name(struct stack_ctx *ctx, struct var *at, const char *name)
{
	struct var *o = vars_find(ctx, name, strlen(name));

	if (o == NULL) {
		stack_errn(ctx, at->key, at->path, "a condition names "
		    "undeclared variable \"%s\"", name);
		return -1;
	}
	vars_resolve(ctx, o);
	return vars_truthy(o);
}

/*
 * Opto's conditions: a name, a list of names (and of name: value maps), or
 * a map of name: value / name: {op: operand}. all: every test must hold
 * (only_if, condition's if), else any (skip_if). 1/0, -1 error.
 */
int
vars_cond(struct stack_ctx *ctx, struct var *at, json_t *c, int all)
{
	json_t *x, *w;
	const char *k;
	size_t i;
	int r, any = 0, every = 1;

	if (c == NULL || json_is_null(c))
		return all ? 1 : 0;
	if (json_is_string(c)) {
		r = vars_cond_name(ctx, at, json_string_value(c));
		return r;
	}
	if (json_is_array(c)) {
		json_array_foreach(c, i, x) {
			if (json_is_object(x))
				r = vars_cond(ctx, at, x, 1);
			else if (json_is_string(x))
				r = vars_cond_name(ctx, at,
				    json_string_value(x));
			else {
				stack_errn(ctx, at->key, at->path, "a condition "
				    "list holds names or name: value maps");
				return -1;
			}
			if (r < 0)
				return -1;
			any |= r;
			every &= r;
		}
		return all ? every : any;
	}
	if (json_is_object(c)) {
		json_object_foreach(c, k, w) {
			if ((r = vars_cond_pair(ctx, at, k, w)) < 0)
				return -1;
			any |= r;
			every &= r;
		}
		return all ? every : any;
	}
	stack_errn(ctx, at->key, at->path, "invalid syntax for a condition");
	return -1;
}

/* skip?: skip_if any true, or only_if not all true. */
static int
vars_skip(struct stack_ctx *ctx, struct var *v)
{
	int r;

	if (v->skip_if != NULL) {
		if ((r = vars_cond(ctx, v, v->skip_if, 0)) != 0)
			return r;
	}
	if (v->only_if != NULL) {
		if ((r = vars_cond(ctx, v, v->only_if, 1)) < 0)
			return -1;
		return !r;
	}
	return 0;
}

/* ---- resolution --------------------------------------------------------- */

static void
vars_set_text(struct var *v)
{
	free(v->text);
	v->text = v->val == NULL || json_is_null(v->val) ? NULL :
	    stack_json_str(v->val);
}

/* The variable's value after set(): sanitized (the caller validates). */
static void
vars_set(struct stack_ctx *ctx, struct var *v, json_t *raw)
{
	json_decref(v->val);
	v->val = vars_sanitize(ctx, v, raw);
	vars_set_text(v);
}

void
vars_resolve(struct stack_ctx *ctx, struct var *v)
{
	struct stack_vsys *vs = ctx->vsys;
	json_t *forced, *got = NULL;
	size_t i;
	int r, bad = 0;

	if (v->state == VS_DONE)
		return;
	if (v->state == VS_RESOLVING) {
		if (!v->bad)
			stack_errn(ctx, v->key, v->path, "variable \"%s\" "
			    "depends on itself (through its resolvers or "
			    "conditions)", v->name);
		v->bad = 1;
		return;
	}
	v->state = VS_RESOLVING;
	forced = vs->forced != NULL ? json_object_get(vs->forced, v->name) :
	    NULL;
	if (forced != NULL) {
		v->origin = "value given";
		vars_set(ctx, v, forced);
		goto done;
	}
	if (v->value != NULL) {
		got = vars_node_json(ctx, v->value, v->path, &bad);
		if (bad)
			v->bad = 1;
		if (got != NULL && !json_is_null(got)) {
			v->origin = "value";
			vars_set(ctx, v, got);
			json_decref(got);
			goto done;
		}
		json_decref(got);
		got = NULL;
	}
	if ((r = vars_skip(ctx, v)) != 0) {
		if (r < 0)
			v->bad = 1;
		v->skipped = 1;
		goto done;
	}
	for (i = 0; i < v->nres && !ctx->needed; i++) {
		r = vars_run_resolver(ctx, v, &v->res[i], &got);
		if (r < 0) {
			v->bad = 1;
			break;
		}
		if (got != NULL && !json_is_null(got)) {
			v->origin = v->res[i].name;
			break;
		}
		json_decref(got);
		got = NULL;
	}
	if (!ctx->needed)
		vars_set(ctx, v, got);
	json_decref(got);
done:
	v->state = VS_DONE;
}

const char *
stack_vars_text(struct stack_ctx *ctx, const char *name, size_t len, int *st)
{
	struct var *v = vars_find(ctx, name, len);

	*st = 0;
	if (v == NULL && (v = vars_find_alias(ctx, name, len)) == NULL) {
		*st = -1;
		return NULL;
	}
	vars_resolve(ctx, v);
	if (v->bad && v->state != VS_DONE) {
		*st = -2;
		return NULL;
	}
	return v->text;
}

/*
 * Kontena's reader tested a service's (or volume's) only_if and skip_if
 * itself, not through Opto: a name holds when its variable's value is not
 * nil, false or "false" (a name no variable has is nil); a list holds
 * names (each of them, for only_if; any, for skip_if); a map's entries
 * hold when the variable's value equals the one given. Anything else was
 * a TypeError.
 */
static int
vars_keep_one(struct stack_ctx *ctx, const struct snode *c, const char *path,
    int all)
{
	json_t *val, *want;
	const struct snode *x;
	char *s, *ipath;
	size_t i, n;
	long long yi;
	double yd;
	int r, yb, any = 0, every = 1;

	if (c->type == SNODE_MAP) {
		for (i = 0; i < SNODE_NPAIRS(c); i++) {
			val = json_object_get(ctx->values,
			    SNODE_KEY(c, i)->str);
			want = stack_node_json(SNODE_VAL(c, i));
			r = vars_eq(val, want);
			json_decref(want);
			any |= r;
			every &= r;
		}
		return all ? every : any;
	}
	n = c->type == SNODE_SEQ ? c->n : 1;
	for (i = 0; i < n; i++) {
		x = c->type == SNODE_SEQ ? c->kids[i] : c;
		r = 0;
		if (x->type == SNODE_SCALAR) {
			ipath = c->type == SNODE_SEQ ? stack_path_idx(path, i) :
			    xstrdup(path);
			if (c->type != SNODE_SEQ && !x->quoted &&
			    stack_yaml11(x->str, &yi, &yd, &yb) != Y11_STR) {
				stack_errn(ctx, x, ipath, "a condition is a "
				    "variable name, a list of them or a map of "
				    "name: value");
				free(ipath);
				return -1;
			}
			if (stack_get_str(ctx, x, ipath, &s) != 0) {
				free(ipath);
				return -1;
			}
			val = json_object_get(ctx->values, s);
			r = val != NULL && !json_is_null(val) &&
			    !json_is_false(val) && !(json_is_string(val) &&
			    strcmp(json_string_value(val), "false") == 0);
			free(s);
			free(ipath);
		}
		any |= r;
		every &= r;
	}
	return all ? every : any;
}

int
stack_vars_keep(struct stack_ctx *ctx, const struct snode *only,
    const struct snode *skip, const char *path)
{
	char *p;
	int r;

	if (skip != NULL && !stack_is_null(skip)) {
		p = stack_path(path, "skip_if");
		r = vars_keep_one(ctx, skip, p, 0);
		free(p);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	if (only != NULL && !stack_is_null(only)) {
		p = stack_path(path, "only_if");
		r = vars_keep_one(ctx, only, p, 1);
		free(p);
		return r;
	}
	return 1;
}

/* ---- declarations ------------------------------------------------------- */

static void
vars_add_auto(struct stack_vsys *vs, const char *name, const char *value)
{
	struct var *v;

	vs->v = xreallocarray(vs->v, vs->n + 1, sizeof *vs->v);
	v = &vs->v[vs->n++];
	memset(v, 0, sizeof *v);
	v->name = xstrdup(name);
	v->path = xstrdup(name);
	v->automatic = 1;
	v->type = VT_STRING;
	v->opts = json_object();
	v->state = VS_DONE;
	v->val = json_string(value);
	v->text = xstrdup(value);
	v->required = 1;
}

/* Read one declaration; 0, or -1 (reported) when it cannot be used. */
static int
vars_declare(struct stack_ctx *ctx, struct var *v, const struct snode *key,
    const struct snode *map)
{
	const struct snode *k, *val, *type = NULL;
	json_t *x, *o;
	const char *ks;
	char *kpath;
	size_t i, t;
	int bad = 0, b;

	v->key = key;
	v->name = xstrdup(key->str);
	v->path = stack_path("variables", key->str);
	v->opts = json_object();
	v->required = 1;
	if (stack_want_map(ctx, map, v->path) != 0)
		return -1;
	for (i = 0; i < SNODE_NPAIRS(map); i++) {
		if (strcmp(SNODE_KEY(map, i)->str, "type") == 0)
			type = SNODE_VAL(map, i);
	}
	if (type == NULL) {
		stack_errn(ctx, map, v->path, "type is required (string, "
		    "integer, boolean, enum, uri or array)");
		return -1;
	}
	for (t = 0; t < sizeof vars_type_names / sizeof vars_type_names[0];
	    t++) {
		if (type->type == SNODE_SCALAR &&
		    strcmp(type->str, vars_type_names[t]) == 0)
			break;
	}
	if (t == sizeof vars_type_names / sizeof vars_type_names[0]) {
		kpath = stack_path(v->path, "type");
		stack_errn(ctx, type, kpath, "unknown variable type \"%s\" "
		    "(berth has string, integer, boolean, enum, uri and array; "
		    "Opto's group is not supported)", type->type ==
		    SNODE_SCALAR ? type->str : "");
		free(kpath);
		return -1;
	}
	v->type = (enum vtype)t;
	for (i = 0; i < SNODE_NPAIRS(map); i++) {
		k = SNODE_KEY(map, i);
		val = SNODE_VAL(map, i);
		ks = k->str;
		kpath = stack_path(v->path, ks);
		if (strcmp(ks, "default") == 0)
			v->dflt = val;
		else if (strcmp(ks, "value") == 0)
			v->value = val;
		else if (strcmp(ks, "from") == 0)
			v->from = val;
		else if (strcmp(ks, "to") == 0)
			v->to = val;
		else if (strcmp(ks, "only_if") == 0 ||
		    strcmp(ks, "skip_if") == 0) {
			x = vars_node_json(ctx, val, kpath, &bad);
			if (ks[0] == 'o')
				v->only_if = x;
			else
				v->skip_if = x;
		} else if (strcmp(ks, "required") == 0) {
			if (stack_get_bool(ctx, val, kpath, &b) == 0)
				v->required = b;
			else
				bad = 1;
		} else if (strcmp(ks, "in") == 0) {
			x = vars_node_json(ctx, val, kpath, &bad);
			if (!json_is_array(x)) {
				stack_errn(ctx, val, kpath, "must be a list of "
				    "the values allowed");
				bad = 1;
				json_decref(x);
			} else
				v->in = x;
		} else if (strcmp(ks, "validate") == 0 ||
		    strcmp(ks, "transform") == 0) {
			/* Opto reads type options here too. */
			x = vars_node_json(ctx, val, kpath, &bad);
			if (json_is_array(x) && ks[0] == 't') {
				json_array_foreach(x, t, o) {
					if (json_is_string(o))
						json_object_set_new(v->opts,
						    json_string_value(o),
						    json_true());
				}
			} else if (json_is_object(x))
				json_object_update(v->opts, x);
			else {
				stack_errn(ctx, val, kpath, "must be a mapping "
				    "of options%s", ks[0] == 't' ? " or a list" :
				    "");
				bad = 1;
			}
			json_decref(x);
		} else if (strcmp(ks, "type") == 0 ||
		    strcmp(ks, "description") == 0 ||
		    strcmp(ks, "label") == 0) {
			if (strcmp(ks, "label") == 0 && val->type ==
			    SNODE_SCALAR)
				v->label = val->str;
		} else if (strcmp(ks, "echo") == 0) {
			json_object_set_new(v->opts, "echo",
			    vars_node_json(ctx, val, kpath, &bad));
		} else if (vars_in_list(ks, vars_type_opts[v->type])) {
			json_object_set_new(v->opts, ks, vars_node_json(ctx, val,
			    kpath, &bad));
		} else
			stack_warn(ctx, k, kpath, "option \"%s\" means nothing "
			    "to a variable of type %s: ignored", ks,
			    vars_type_names[v->type]);
		free(kpath);
	}
	if (vars_resolvers_read(ctx, v) != 0)
		bad = 1;
	return bad ? -1 : 0;
}

/*
 * After every value is known: validate, then the setters of the variables
 * that are not skipped and are valid (Opto's Group#run).
 */
static void
vars_finish(struct stack_ctx *ctx, json_t *out, json_t *lvars)
{
	struct stack_vsys *vs = ctx->vsys;
	struct var *v;
	size_t i;

	for (i = 0; i < vs->n; i++) {
		v = &vs->v[i];
		if (v->automatic) {
			json_object_set(lvars, v->name, v->val);
			continue;
		}
		if (!v->bad && !v->skipped) {
			if (v->val == NULL && v->required)
				vars_missing(ctx, v);
			else if (vars_validate(ctx, v) != 0)
				v->bad = 1;
			else
				vars_setters(ctx, v);
		}
		/* A secret's value is never stored (Kontena kept it out of
		   the stack's values too). */
		json_object_set(out, v->name, v->vault || v->val == NULL ?
		    json_null() : v->val);
		json_object_set(lvars, v->name, v->val != NULL ? v->val :
		    json_null());
	}
}

/* "CHILD.NAME": a value for a child stack's variable. */
static int
vars_for_child(const struct stack_ctx *ctx, const char *name)
{
	size_t i, n;

	for (i = 0; i < ctx->ndeps; i++) {
		n = strlen(ctx->deps[i].name);
		if (strncmp(name, ctx->deps[i].name, n) == 0 && name[n] == '.')
			return 1;
	}
	return 0;
}

void
stack_vars_resolve(struct stack_ctx *ctx, const struct snode *vars,
    const char *grid, const char *stack, json_t *out, json_t *lvars)
{
	const struct stack_opts *o = ctx->opts;
	struct stack_vsys *vs;
	const struct snode *k;
	const char *name;
	json_t *val;
	size_t i;

	vs = ctx->vsys = xcalloc(1, sizeof *vs);
	vs->forced = o->values;
	vs->previous = o->previous;
	vars_add_auto(vs, "GRID", grid);
	vars_add_auto(vs, "STACK", stack);
	vars_add_auto(vs, "PLATFORM", o->platform != NULL ? o->platform :
	    grid);
	if (o->parent != NULL)
		vars_add_auto(vs, "PARENT_STACK", o->parent);
	/* Each child stack: its installed name (Kontena's dependency
	   variables). */
	for (i = 0; i < ctx->ndeps; i++) {
		char *installed;

		xasprintf(&installed, "%s-%s", stack, ctx->deps[i].name);
		vars_add_auto(vs, ctx->deps[i].name, installed);
		free(installed);
	}
	if (vars != NULL && !stack_is_null(vars) &&
	    stack_want_map(ctx, vars, "variables") == 0) {
		if (SNODE_NPAIRS(vars) > STACK_MAX_VARIABLES) {
			stack_errn(ctx, vars, "variables", "more than %d "
			    "variables", STACK_MAX_VARIABLES);
			return;
		}
		vs->v = xreallocarray(vs->v, vs->n + SNODE_NPAIRS(vars) + 1,
		    sizeof *vs->v);
		for (i = 0; i < SNODE_NPAIRS(vars); i++) {
			k = SNODE_KEY(vars, i);
			if (k->type != SNODE_SCALAR)
				continue;
			if (vars_find(ctx, k->str, strlen(k->str)) != NULL) {
				char *path = stack_path("variables", k->str);

				stack_errn(ctx, k, path, "%s is set "
				    "automatically and cannot be declared",
				    k->str);
				free(path);
				continue;
			}
			if (!vars_name_valid(k->str)) {
				char *path = stack_path("variables", k->str);

				stack_errn(ctx, k, path, "\"%s\" is not a valid "
				    "variable name (letters, digits and _, not "
				    "starting with a digit)", k->str);
				free(path);
				continue;
			}
			memset(&vs->v[vs->n], 0, sizeof vs->v[vs->n]);
			if (vars_declare(ctx, &vs->v[vs->n], k,
			    SNODE_VAL(vars, i)) != 0) {
				vs->v[vs->n].bad = 1;
				vs->v[vs->n].state = VS_DONE;
			}
			vs->n++;
		}
	}
	/* Values given for names the stack does not declare do nothing. */
	json_object_foreach(vs->forced, name, val) {
		/*
		 * An extends: file has every variable of the stack's with
		 * its value (Kontena added them to the file's own).
		 */
		if (ctx->extending != NULL) {
			struct var *v;

			if (vars_find(ctx, name, strlen(name)) != NULL)
				continue;
			vars_add_auto(vs, name, "");
			v = &vs->v[vs->n - 1];
			json_decref(v->val);
			v->val = json_incref(val);
			vars_set_text(v);
			continue;
		}
		if (vars_find(ctx, name, strlen(name)) == NULL &&
		    !vars_for_child(ctx, name))
			stack_warn(ctx, vars != NULL ? vars : &vs->nowhere,
			    "variables", "a value was given for \"%s\", which "
			    "this stack does not declare: ignored", name);
	}
	for (i = 0; i < vs->n && !ctx->needed; i++)
		vars_resolve(ctx, &vs->v[i]);
	if (ctx->needed)
		return;
	vars_finish(ctx, out, lvars);
}

void
stack_vars_free(struct stack_ctx *ctx)
{
	struct stack_vsys *vs = ctx->vsys;
	size_t i;

	if (vs == NULL)
		return;
	for (i = 0; i < vs->n; i++)
		vars_var_free(&vs->v[i]);
	free(vs->v);
	free(vs);
	ctx->vsys = NULL;
}
