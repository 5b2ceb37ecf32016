/*
 * liquid_expr.c - Liquid values, markup lexing, expressions, conditions.
 *
 * The lexer and parser follow Liquid 4.0's strict parser (Liquid::Lexer,
 * Liquid::Parser): expressions are a variable with [index] and .key
 * lookups, a quoted string (no escapes), a number, or a range (a..b);
 * filters are "| name: arg, key: arg". Evaluation follows
 * Liquid::VariableLookup, Liquid::Condition and Ruby: only nil and false
 * are false; comparisons of unlike types are Ruby's (an integer and a
 * string cannot be ordered: an error; nil cannot: false); .size, .first
 * and .last apply when the object has no such key. Called from liquid.c
 * on the caller's thread.
 */
#include "stacks/liquid_int.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ------------------------------------------------------------ */

struct lqv
lqv_null(void)
{
	struct lqv v = { LQ_JSON, json_null(), 0, 0 };

	return v;
}

struct lqv
lqv_json(json_t *j)
{
	struct lqv v = { LQ_JSON, j != NULL ? j : json_null(), 0, 0 };

	return v;
}

struct lqv
lqv_copy(const struct lqv *v)
{
	struct lqv c = *v;

	if (c.k == LQ_JSON)
		json_incref(c.j);
	return c;
}

void
lqv_free(struct lqv *v)
{
	if (v->k == LQ_JSON)
		json_decref(v->j);
	v->k = LQ_JSON;
	v->j = NULL;
}

int
lqv_is_nil(const struct lqv *v)
{
	return v->k == LQ_JSON && (v->j == NULL || json_is_null(v->j));
}

int
lqv_truthy(const struct lqv *v)
{
	if (v->k != LQ_JSON)
		return 1;
	return !(v->j == NULL || json_is_null(v->j) || json_is_false(v->j));
}

/* Ruby's String#inspect: "...", with escapes. */
static void
lq_inspect_str(const char *s, size_t n, struct buf *b)
{
	size_t i;
	unsigned char ch;

	buf_append(b, "\"", 1);
	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		switch (ch) {
		case '"': buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\f': buf_append(b, "\\f", 2); break;
		case '\v': buf_append(b, "\\v", 2); break;
		case '\a': buf_append(b, "\\a", 2); break;
		case '\b': buf_append(b, "\\b", 2); break;
		case 0x1b: buf_append(b, "\\e", 2); break;
		case '#':
			if (i + 1 < n && (s[i + 1] == '{' || s[i + 1] == '$' ||
			    s[i + 1] == '@'))
				buf_append(b, "\\#", 2);
			else
				buf_append(b, "#", 1);
			break;
		default:
			if (ch < 0x20 || ch == 0x7f)
				buf_printf(b, "\\x%02X", ch);
			else
				buf_append(b, &s[i], 1);
		}
	}
	buf_append(b, "\"", 1);
}

void
liquid_float_str(double d, char *out, size_t len)
{
	char digits[40], tmp[64], *e, *p;
	int prec, exp10, nd, i;
	size_t o = 0;

	if (isnan(d)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(out, len, d < 0 ? "-Infinity" : "Infinity");
		return;
	}
	if (d == 0) {
		snprintf(out, len, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	/* The shortest digits that read back as d, as Ruby prints. */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	e = strchr(tmp, 'e');
	exp10 = atoi(e + 1);
	nd = 0;
	for (p = tmp; p < e; p++) {
		if (isdigit((unsigned char)*p))
			digits[nd++] = *p;
	}
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	if (d < 0)
		out[o++] = '-';
	if (exp10 < -4 || exp10 >= 16) {
		out[o++] = digits[0];
		out[o++] = '.';
		if (nd > 1) {
			for (i = 1; i < nd; i++)
				out[o++] = digits[i];
		} else
			out[o++] = '0';
		snprintf(out + o, len - o, "e%c%02d", exp10 < 0 ? '-' : '+',
		    abs(exp10));
		return;
	}
	if (exp10 < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = -1; i > exp10; i--)
			out[o++] = '0';
		for (i = 0; i < nd; i++)
			out[o++] = digits[i];
	} else {
		for (i = 0; i <= exp10; i++)
			out[o++] = i < nd ? digits[i] : '0';
		out[o++] = '.';
		if (nd > exp10 + 1) {
			for (i = exp10 + 1; i < nd; i++)
				out[o++] = digits[i];
		} else
			out[o++] = '0';
	}
	out[o] = '\0';
}

static void
lq_json_to_s(json_t *j, struct buf *b, int inspect)
{
	char num[64];
	const char *k;
	json_t *v;
	size_t i;
	int first = 1;

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
			lq_inspect_str(json_string_value(j),
			    json_string_length(j), b);
		else
			buf_append(b, json_string_value(j),
			    json_string_length(j));
		break;
	case JSON_ARRAY:
		/* Liquid outputs an array joined; inside one, Ruby inspects. */
		if (inspect)
			buf_append(b, "[", 1);
		json_array_foreach(j, i, v) {
			if (inspect && i > 0)
				buf_append(b, ", ", 2);
			lq_json_to_s(v, b, inspect);
		}
		if (inspect)
			buf_append(b, "]", 1);
		break;
	case JSON_OBJECT:
		buf_append(b, "{", 1);
		json_object_foreach(j, k, v) {
			if (!first)
				buf_append(b, ", ", 2);
			first = 0;
			lq_inspect_str(k, strlen(k), b);
			buf_append(b, "=>", 2);
			lq_json_to_s(v, b, 1);
		}
		buf_append(b, "}", 1);
		break;
	}
}

void
lq_to_s(const struct lqv *v, struct buf *b, int inspect)
{
	switch (v->k) {
	case LQ_JSON:
		if (v->j != NULL)
			lq_json_to_s(v->j, b, inspect);
		break;
	case LQ_RANGE:
		buf_printf(b, "%lld..%lld", v->r0, v->r1);
		break;
	case LQ_EMPTY:
	case LQ_BLANK:
		break;
	}
}

char *
lq_str(const struct lqv *v)
{
	struct buf b = { NULL, 0, 0 };

	lq_to_s(v, &b, 0);
	return b.data != NULL ? b.data : xstrdup("");
}

json_t *
lq_range_array(struct lq_ctx *c, long long a, long long b)
{
	json_t *arr = json_array();
	long long i;

	if (b >= a && (unsigned long long)(b - a) >= LIQUID_MAX_STEPS) {
		lq_fail(c, "range %lld..%lld is too large (more than %d "
		    "items)", a, b, LIQUID_MAX_STEPS);
		json_decref(arr);
		return NULL;
	}
	for (i = a; i <= b; i++)
		json_array_append_new(arr, json_integer(i));
	if (lq_charge(c, json_array_size(arr) * 16) != 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* ---- the lexer (Liquid::Lexer) ---------------------------------------- */

static int
lq_ident_start(int ch)
{
	return isalpha(ch) || ch == '_';
}

static int
lq_word(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '-';
}

int
lq_lex(const char *m, struct lq_token **out, size_t *n, char **err)
{
	struct lq_token *v = NULL;
	size_t cap = 0, cnt = 0, k;
	const char *s = m, *q;
	enum lq_tok t;

	*err = NULL;
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof *v);
		}
		if (*s == '\0') {
			v[cnt].t = LQT_END;
			v[cnt].s = s;
			v[cnt].n = 0;
			cnt++;
			break;
		}
		q = s;
		/* COMPARISON_OPERATOR: ==|!=|<>|<=?|>=?|contains(?=\s) */
		if ((s[0] == '=' && s[1] == '=') || (s[0] == '!' &&
		    s[1] == '=') || (s[0] == '<' && s[1] == '>')) {
			t = LQT_COMPARISON;
			s += 2;
		} else if (s[0] == '<' || s[0] == '>') {
			t = LQT_COMPARISON;
			s += s[1] == '=' ? 2 : 1;
		} else if (strncmp(s, "contains", 8) == 0 &&
		    isspace((unsigned char)s[8])) {
			t = LQT_COMPARISON;
			s += 8;
		} else if (*s == '\'' || *s == '"') {
			if ((q = strchr(s + 1, *s)) == NULL)
				goto bad;
			t = LQT_STRING;
			q = s;
			s = strchr(s + 1, *s) + 1;
		} else if (isdigit((unsigned char)*s) || (*s == '-' &&
		    isdigit((unsigned char)s[1]))) {
			/* NUMBER_LITERAL: -?\d+(\.\d+)? */
			t = LQT_NUMBER;
			s++;
			while (isdigit((unsigned char)*s))
				s++;
			if (*s == '.' && isdigit((unsigned char)s[1])) {
				s++;
				while (isdigit((unsigned char)*s))
					s++;
			}
		} else if (lq_ident_start((unsigned char)*s)) {
			/* IDENTIFIER: [a-zA-Z_][\w-]*\?? */
			t = LQT_ID;
			s++;
			while (lq_word((unsigned char)*s))
				s++;
			if (*s == '?')
				s++;
		} else if (s[0] == '.' && s[1] == '.') {
			t = LQT_DOTDOT;
			s += 2;
		} else {
			switch (*s) {
			case '|': t = LQT_PIPE; break;
			case '.': t = LQT_DOT; break;
			case ':': t = LQT_COLON; break;
			case ',': t = LQT_COMMA; break;
			case '[': t = LQT_OPEN_SQUARE; break;
			case ']': t = LQT_CLOSE_SQUARE; break;
			case '(': t = LQT_OPEN_ROUND; break;
			case ')': t = LQT_CLOSE_ROUND; break;
			case '?': t = LQT_QUESTION; break;
			case '-': t = LQT_DASH; break;
			default:
				goto bad;
			}
			s++;
		}
		v[cnt].t = t;
		v[cnt].s = q;
		v[cnt].n = (size_t)(s - q);
		cnt++;
	}
	*out = v;
	*n = cnt;
	return 0;
bad:
	k = 0;
	while (s[k] != '\0' && (s[k] & 0xc0) == 0x80)
		k++;
	if (*s == '\'' || *s == '"')
		xasprintf(err, "Unexpected character %c (a quote that is "
		    "never closed)", *s);
	else
		xasprintf(err, "Unexpected character %.*s",
		    (int)(((unsigned char)*s >= 0xc0) ? (*s & 0xe0) == 0xc0 ?
		    2 : (*s & 0xf0) == 0xe0 ? 3 : 4 : 1), s);
	free(v);
	return -1;
}

/* ---- the parser (Liquid::Parser) -------------------------------------- */

static const char *
lq_tok_name(enum lq_tok t)
{
	static const char *const names[] = {
		"end_of_string", "comparison", "string", "number", "id",
		"dotdot", "pipe", "dot", "colon", "comma", "open_square",
		"close_square", "open_round", "close_round", "question", "dash",
	};

	return names[t];
}

void
lq_parser_init(struct lq_parser *p, const char *markup)
{
	char *err;

	memset(p, 0, sizeof *p);
	p->markup = markup;
	if (lq_lex(markup, &p->tok, &p->ntok, &err) != 0) {
		p->err = err;
		/* A parser with nothing but the end, so callers stop. */
		p->tok = xcalloc(1, sizeof *p->tok);
		p->tok[0].t = LQT_END;
		p->tok[0].s = markup + strlen(markup);
		p->ntok = 1;
	}
}

void
lq_parser_free(struct lq_parser *p)
{
	free(p->tok);
	free(p->err);
	memset(p, 0, sizeof *p);
}

static void
lq_perr(struct lq_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
lq_perr(struct lq_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err != NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&p->err, fmt, ap);
	va_end(ap);
}

static struct lq_token *
lq_cur(struct lq_parser *p)
{
	return &p->tok[p->p < p->ntok ? p->p : p->ntok - 1];
}

int
lq_consume(struct lq_parser *p, enum lq_tok t)
{
	struct lq_token *k = lq_cur(p);

	if (k->t != t) {
		lq_perr(p, "Expected %s but found %s", lq_tok_name(t),
		    lq_tok_name(k->t));
		return -1;
	}
	if (p->p < p->ntok - 1)
		p->p++;
	return 0;
}

int
lq_look(struct lq_parser *p, enum lq_tok t, size_t ahead)
{
	return p->p + ahead < p->ntok && p->tok[p->p + ahead].t == t;
}

int
lq_id(struct lq_parser *p, const char *word)
{
	struct lq_token *k = lq_cur(p);

	if (k->t != LQT_ID || k->n != strlen(word) ||
	    strncmp(k->s, word, k->n) != 0)
		return 0;
	p->p++;
	return 1;
}

struct lq_expr *
lq_expr_lit(struct lqv v)
{
	struct lq_expr *e = xcalloc(1, sizeof *e);

	e->t = LQE_LIT;
	e->lit = v;
	return e;
}

void
lq_expr_free(struct lq_expr *e)
{
	size_t i;

	if (e == NULL)
		return;
	lqv_free(&e->lit);
	lq_expr_free(e->a);
	lq_expr_free(e->b);
	free(e->name);
	for (i = 0; i < e->nlk; i++)
		lq_expr_free(e->lk[i].key);
	free(e->lk);
	free(e->markup);
	free(e);
}

/* A literal from the markup of a string or number token. */
static struct lq_expr *
lq_token_lit(struct lq_token *k)
{
	char *s = xstrndup(k->s, k->n), *end;
	struct lq_expr *e;
	long long i;

	if (k->t == LQT_STRING) {
		e = lq_expr_lit(lqv_json(json_stringn(k->s + 1, k->n - 2)));
		if (e->lit.j == NULL || json_is_null(e->lit.j)) {
			lqv_free(&e->lit);
			e->lit = lqv_json(json_string(""));
		}
	} else if (strchr(s, '.') == NULL) {
		errno = 0;
		i = strtoll(s, &end, 10);
		if (errno != 0)
			e = lq_expr_lit(lqv_json(json_real(strtod(s, NULL))));
		else
			e = lq_expr_lit(lqv_json(json_integer(i)));
	} else
		e = lq_expr_lit(lqv_json(json_real(strtod(s, NULL))));
	e->markup = s;
	return e;
}

/*
 * variable_signature: id ('[' expression ']')* ('.' variable_signature)?.
 * A lone true/false/nil/null/empty/blank is a literal (Expression.parse).
 */
static struct lq_expr *
lq_parse_lookup(struct lq_parser *p)
{
	struct lq_token *k = lq_cur(p);
	struct lq_expr *e = xcalloc(1, sizeof *e), *key;
	const char *start = k->s;
	size_t end;

	e->t = LQE_LOOKUP;
	e->name = xstrndup(k->s, k->n);
	lq_consume(p, LQT_ID);
	for (;;) {
		if (lq_look(p, LQT_OPEN_SQUARE, 0)) {
			p->p++;
			key = lq_parse_expr(p);
			if (key == NULL || lq_consume(p, LQT_CLOSE_SQUARE) != 0) {
				lq_expr_free(key);
				lq_expr_free(e);
				return NULL;
			}
			e->lk = xreallocarray(e->lk, e->nlk + 1,
			    sizeof *e->lk);
			e->lk[e->nlk].key = key;
			e->lk[e->nlk++].command = 0;
		} else if (lq_look(p, LQT_DOT, 0)) {
			p->p++;
			k = lq_cur(p);
			if (k->t != LQT_ID) {
				lq_perr(p, "Expected id but found %s",
				    lq_tok_name(k->t));
				lq_expr_free(e);
				return NULL;
			}
			key = lq_expr_lit(lqv_json(json_stringn(k->s, k->n)));
			e->lk = xreallocarray(e->lk, e->nlk + 1,
			    sizeof *e->lk);
			e->lk[e->nlk].key = key;
			e->lk[e->nlk++].command = (k->n == 4 &&
			    (strncmp(k->s, "size", 4) == 0 ||
			    strncmp(k->s, "last", 4) == 0)) || (k->n == 5 &&
			    strncmp(k->s, "first", 5) == 0);
			p->p++;
		} else
			break;
	}
	end = (size_t)(p->tok[p->p > 0 ? p->p - 1 : 0].s +
	    p->tok[p->p > 0 ? p->p - 1 : 0].n - start);
	e->markup = xstrndup(start, end);
	if (e->nlk == 0) {
		struct lqv lit;
		int is = 1;

		if (strcmp(e->name, "true") == 0)
			lit = lqv_json(json_true());
		else if (strcmp(e->name, "false") == 0)
			lit = lqv_json(json_false());
		else if (strcmp(e->name, "nil") == 0 ||
		    strcmp(e->name, "null") == 0)
			lit = lqv_null();
		else if (strcmp(e->name, "empty") == 0) {
			lit.k = LQ_EMPTY;
			lit.j = NULL;
		} else if (strcmp(e->name, "blank") == 0) {
			lit.k = LQ_BLANK;
			lit.j = NULL;
		} else
			is = 0;
		if (is) {
			e->t = LQE_LIT;
			e->lit = lit;
		}
	}
	return e;
}

struct lq_expr *
lq_parse_expr(struct lq_parser *p)
{
	struct lq_token *k = lq_cur(p);
	struct lq_expr *e, *a, *b;

	if (p->err != NULL)
		return NULL;
	switch (k->t) {
	case LQT_ID:
		return lq_parse_lookup(p);
	case LQT_STRING:
	case LQT_NUMBER:
		e = lq_token_lit(k);
		p->p++;
		return e;
	case LQT_OPEN_ROUND:
		p->p++;
		if ((a = lq_parse_expr(p)) == NULL)
			return NULL;
		if (lq_consume(p, LQT_DOTDOT) != 0 ||
		    (b = lq_parse_expr(p)) == NULL) {
			lq_expr_free(a);
			return NULL;
		}
		if (lq_consume(p, LQT_CLOSE_ROUND) != 0) {
			lq_expr_free(a);
			lq_expr_free(b);
			return NULL;
		}
		e = xcalloc(1, sizeof *e);
		e->t = LQE_RANGE;
		e->a = a;
		e->b = b;
		return e;
	default:
		if (k->t == LQT_END)
			lq_perr(p, "expected an expression (a variable, a "
			    "string, a number or a range), found nothing");
		else
			lq_perr(p, "\"%.*s\" is not a valid expression",
			    (int)k->n, k->s);
		return NULL;
	}
}

static void
lq_filter_clear(struct lq_filter *f)
{
	size_t i;

	free(f->name);
	for (i = 0; i < f->nargs; i++)
		lq_expr_free(f->args[i]);
	free(f->args);
	for (i = 0; i < f->nkw; i++) {
		free(f->kwnames[i]);
		lq_expr_free(f->kwargs[i]);
	}
	free(f->kwnames);
	free(f->kwargs);
}

void
lq_varexpr_free(struct lq_varexpr *v)
{
	size_t i;

	if (v == NULL)
		return;
	lq_expr_free(v->e);
	for (i = 0; i < v->nf; i++)
		lq_filter_clear(&v->f[i]);
	free(v->f);
	free(v);
}

/* expression ('|' id (':' argument (',' argument)*)?)* end_of_string */
struct lq_varexpr *
lq_parse_varexpr(struct lq_parser *p)
{
	struct lq_varexpr *v = xcalloc(1, sizeof *v);
	struct lq_filter *f;
	struct lq_token *k;
	struct lq_expr *a;

	if ((v->e = lq_parse_expr(p)) == NULL)
		goto bad;
	while (lq_look(p, LQT_PIPE, 0)) {
		p->p++;
		k = lq_cur(p);
		if (k->t != LQT_ID) {
			lq_perr(p, "Expected id but found %s",
			    lq_tok_name(k->t));
			goto bad;
		}
		v->f = xreallocarray(v->f, v->nf + 1, sizeof *v->f);
		f = &v->f[v->nf++];
		memset(f, 0, sizeof *f);
		f->name = xstrndup(k->s, k->n);
		p->p++;
		if (!lq_look(p, LQT_COLON, 0))
			continue;
		p->p++;
		do {
			char *kw = NULL;

			if (lq_look(p, LQT_ID, 0) && lq_look(p, LQT_COLON, 1)) {
				k = lq_cur(p);
				kw = xstrndup(k->s, k->n);
				p->p += 2;
			}
			if ((a = lq_parse_expr(p)) == NULL) {
				free(kw);
				goto bad;
			}
			if (kw != NULL) {
				f->kwnames = xreallocarray(f->kwnames,
				    f->nkw + 1, sizeof *f->kwnames);
				f->kwargs = xreallocarray(f->kwargs,
				    f->nkw + 1, sizeof *f->kwargs);
				f->kwnames[f->nkw] = kw;
				f->kwargs[f->nkw++] = a;
			} else {
				f->args = xreallocarray(f->args, f->nargs + 1,
				    sizeof *f->args);
				f->args[f->nargs++] = a;
			}
		} while (lq_look(p, LQT_COMMA, 0) && (p->p++, 1));
	}
	if (lq_consume(p, LQT_END) != 0)
		goto bad;
	return v;
bad:
	lq_varexpr_free(v);
	return NULL;
}

void
lq_cond_free(struct lq_cond *c)
{
	struct lq_cond *n;

	while (c != NULL) {
		n = c->next;
		lq_expr_free(c->left);
		lq_expr_free(c->right);
		free(c);
		c = n;
	}
}

/* comparison (('and' | 'or') comparison)* end_of_string (If#strict_parse) */
struct lq_cond *
lq_parse_cond(struct lq_parser *p)
{
	struct lq_cond *head = NULL, **tail = &head, *c;
	struct lq_token *k;

	for (;;) {
		c = xcalloc(1, sizeof *c);
		*tail = c;
		tail = &c->next;
		if ((c->left = lq_parse_expr(p)) == NULL)
			goto bad;
		k = lq_cur(p);
		if (k->t == LQT_COMPARISON) {
			snprintf(c->op, sizeof c->op, "%.*s", (int)k->n, k->s);
			p->p++;
			if ((c->right = lq_parse_expr(p)) == NULL)
				goto bad;
		}
		if (lq_id(p, "and"))
			c->rel = 'a';
		else if (lq_id(p, "or"))
			c->rel = 'o';
		else
			break;
	}
	if (lq_consume(p, LQT_END) != 0)
		goto bad;
	return head;
bad:
	lq_cond_free(head);
	return NULL;
}

/* ---- evaluation ------------------------------------------------------- */

/* Utils.to_integer: an Integer, or Integer(to_s) (else an error). */
int
lq_to_integer(struct lq_ctx *c, const struct lqv *v, long long *out)
{
	char *s, *end;

	if (v->k == LQ_JSON && json_is_integer(v->j)) {
		*out = json_integer_value(v->j);
		return 0;
	}
	s = lq_str(v);
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (*s == '\0' || isspace((unsigned char)*s) || *end != '\0' ||
	    errno != 0) {
		free(s);
		return lq_fail(c, "invalid integer");
	}
	free(s);
	return 0;
}

/* Ruby's String#to_i: optional sign, digits (with _), then anything. */
static long long
lq_ruby_to_i(const char *s)
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

/* RangeLookup: integers, nil and strings by to_i, else to_integer. */
static int
lq_range_int(struct lq_ctx *c, const struct lqv *v, long long *out)
{
	if (v->k == LQ_JSON && json_is_integer(v->j)) {
		*out = json_integer_value(v->j);
		return 0;
	}
	if (lqv_is_nil(v)) {
		*out = 0;
		return 0;
	}
	if (v->k == LQ_JSON && json_is_string(v->j)) {
		*out = lq_ruby_to_i(json_string_value(v->j));
		return 0;
	}
	return lq_to_integer(c, v, out);
}

/* One lookup step of VariableLookup#evaluate on *obj. */
static int
lq_lookup_step(struct lq_ctx *c, struct lqv *obj, const struct lqv *key,
    int command, const char *markup)
{
	json_t *j = obj->k == LQ_JSON ? obj->j : NULL, *r;
	const char *ks;
	long long i, n;
	struct lqv nv;

	if (j != NULL && json_is_object(j) && key->k == LQ_JSON &&
	    json_is_string(key->j) &&
	    (r = json_object_get(j, json_string_value(key->j))) != NULL) {
		nv = lqv_json(json_incref(r));
		goto out;
	}
	if (j != NULL && json_is_array(j) && key->k == LQ_JSON &&
	    json_is_integer(key->j)) {
		i = json_integer_value(key->j);
		n = (long long)json_array_size(j);
		if (i < 0)
			i += n;
		nv = i >= 0 && i < n ? lqv_json(json_incref(json_array_get(j,
		    (size_t)i))) : lqv_null();
		goto out;
	}
	if (command && key->k == LQ_JSON && json_is_string(key->j)) {
		ks = json_string_value(key->j);
		if (strcmp(ks, "size") == 0) {
			if (obj->k == LQ_RANGE) {
				nv = lqv_json(json_integer(obj->r1 >= obj->r0 ?
				    obj->r1 - obj->r0 + 1 : 0));
				goto out;
			}
			if (j != NULL && (json_is_array(j) ||
			    json_is_object(j) || json_is_string(j) ||
			    json_is_integer(j))) {
				if (json_is_array(j))
					n = (long long)json_array_size(j);
				else if (json_is_object(j))
					n = (long long)json_object_size(j);
				else if (json_is_integer(j))
					n = 8;	/* Integer#size */
				else
					n = (long long)lq_utf8_len(
					    json_string_value(j),
					    json_string_length(j));
				nv = lqv_json(json_integer(n));
				goto out;
			}
		} else if (obj->k == LQ_RANGE) {
			nv = obj->r1 >= obj->r0 ? lqv_json(json_integer(
			    strcmp(ks, "first") == 0 ? obj->r0 : obj->r1)) :
			    lqv_null();
			goto out;
		} else if (j != NULL && json_is_array(j)) {
			n = (long long)json_array_size(j);
			nv = n == 0 ? lqv_null() : lqv_json(json_incref(
			    json_array_get(j, strcmp(ks, "first") == 0 ? 0 :
			    (size_t)(n - 1))));
			goto out;
		} else if (j != NULL && json_is_object(j) &&
		    strcmp(ks, "first") == 0) {
			void *it = json_object_iter(j);

			nv = it == NULL ? lqv_null() : lqv_json(json_pack(
			    "[sO]", json_object_iter_key(it),
			    json_object_iter_value(it)));
			goto out;
		}
	}
	{
		char *kst = lq_str(key);
		int rc = lq_fail(c, "undefined variable %s", kst);

		(void)markup;
		free(kst);
		return rc;
	}
out:
	lqv_free(obj);
	*obj = nv;
	return 0;
}

int
lq_eval(struct lq_ctx *c, const struct lq_expr *e, struct lqv *out)
{
	struct lqv a, b, key;
	long long x, y;
	json_t *v;
	size_t i;
	int found;

	switch (e->t) {
	case LQE_LIT:
		*out = lqv_copy(&e->lit);
		return 0;
	case LQE_RANGE:
		if (lq_eval(c, e->a, &a) != 0)
			return -1;
		if (lq_eval(c, e->b, &b) != 0) {
			lqv_free(&a);
			return -1;
		}
		if (lq_range_int(c, &a, &x) != 0 ||
		    lq_range_int(c, &b, &y) != 0) {
			lqv_free(&a);
			lqv_free(&b);
			return -1;
		}
		lqv_free(&a);
		lqv_free(&b);
		out->k = LQ_RANGE;
		out->j = NULL;
		out->r0 = x;
		out->r1 = y;
		return 0;
	case LQE_LOOKUP:
		v = lq_find_var(c, e->name, &found);
		if (!found)
			return lq_fail(c, "undefined variable %s", e->name);
		*out = lqv_json(json_incref(v));
		for (i = 0; i < e->nlk; i++) {
			if (lq_eval(c, e->lk[i].key, &key) != 0) {
				lqv_free(out);
				return -1;
			}
			if (lq_lookup_step(c, out, &key, e->lk[i].command,
			    e->markup) != 0) {
				lqv_free(&key);
				lqv_free(out);
				return -1;
			}
			lqv_free(&key);
		}
		return 0;
	}
	return lq_fail(c, "internal error: bad expression");
}

int
lq_eval_varexpr(struct lq_ctx *c, const struct lq_varexpr *v,
    struct lqv *out)
{
	struct lqv *args;
	json_t *kw;
	size_t i, j;
	int rc = 0;

	if (lq_eval(c, v->e, out) != 0)
		return -1;
	for (i = 0; i < v->nf && rc == 0; i++) {
		args = xcalloc(v->f[i].nargs + 1, sizeof *args);
		kw = v->f[i].nkw > 0 ? json_object() : NULL;
		for (j = 0; j < v->f[i].nargs && rc == 0; j++)
			rc = lq_eval(c, v->f[i].args[j], &args[j]);
		for (j = 0; j < v->f[i].nkw && rc == 0; j++) {
			struct lqv a;

			if ((rc = lq_eval(c, v->f[i].kwargs[j], &a)) == 0) {
				json_object_set_new(kw, v->f[i].kwnames[j],
				    a.k == LQ_JSON ? json_incref(a.j) :
				    json_null());
				lqv_free(&a);
			}
		}
		if (rc == 0)
			rc = lq_filter(c, v->f[i].name, out, args,
			    v->f[i].nargs, kw);
		for (j = 0; j < v->f[i].nargs; j++)
			lqv_free(&args[j]);
		free(args);
		json_decref(kw);
	}
	if (rc != 0)
		lqv_free(out);
	return rc;
}

/* Ruby's == of two JSON values: numbers by value, the rest structurally. */
static int
lq_json_equal(json_t *a, json_t *b)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		json_array_foreach(a, i, v) {
			if (!lq_json_equal(v, json_array_get(b, i)))
				return 0;
		}
		return 1;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach(a, k, v) {
			if (json_object_get(b, k) == NULL ||
			    !lq_json_equal(v, json_object_get(b, k)))
				return 0;
		}
		return 1;
	default:
		return json_equal(a, b);
	}
}

/* x.empty? for empty; blank? does not exist in plain Ruby: nil. */
static int
lq_method_literal(const struct lqv *lit, const struct lqv *x, int *res)
{
	json_t *j = x->k == LQ_JSON ? x->j : NULL;

	if (lit->k == LQ_BLANK)
		return -1;		/* nil: neither true nor false */
	if (x->k == LQ_RANGE) {
		*res = x->r1 < x->r0;
		return 0;
	}
	if (j != NULL && json_is_string(j)) {
		*res = json_string_length(j) == 0;
		return 0;
	}
	if (j != NULL && json_is_array(j)) {
		*res = json_array_size(j) == 0;
		return 0;
	}
	if (j != NULL && json_is_object(j)) {
		*res = json_object_size(j) == 0;
		return 0;
	}
	return -1;
}

int
lq_equal(const struct lqv *a, const struct lqv *b)
{
	int r;

	if (a->k == LQ_EMPTY || a->k == LQ_BLANK)
		return lq_method_literal(a, b, &r) == 0 && r;
	if (b->k == LQ_EMPTY || b->k == LQ_BLANK)
		return lq_method_literal(b, a, &r) == 0 && r;
	if (a->k == LQ_RANGE || b->k == LQ_RANGE)
		return a->k == b->k && a->r0 == b->r0 && a->r1 == b->r1;
	return lq_json_equal(a->j, b->j);
}

static const char *
lq_ruby_class(const struct lqv *v)
{
	if (v->k == LQ_RANGE)
		return "Range";
	if (v->k != LQ_JSON)
		return "Liquid::Expression::MethodLiteral";
	switch (json_typeof(v->j)) {
	case JSON_NULL: return "NilClass";
	case JSON_TRUE: return "TrueClass";
	case JSON_FALSE: return "FalseClass";
	case JSON_INTEGER: return "Integer";
	case JSON_REAL: return "Float";
	case JSON_STRING: return "String";
	case JSON_ARRAY: return "Array";
	case JSON_OBJECT: return "Hash";
	}
	return "Object";
}

/* <, >, <=, >=: 1/0, 2 when the operands cannot be compared (nil). */
static int
lq_order(struct lq_ctx *c, const struct lqv *a, const struct lqv *b,
    const char *op, int *res)
{
	int cmp, an, bn, as, bs;

	an = a->k == LQ_JSON && json_is_number(a->j);
	bn = b->k == LQ_JSON && json_is_number(b->j);
	as = a->k == LQ_JSON && json_is_string(a->j);
	bs = b->k == LQ_JSON && json_is_string(b->j);
	/* Only numbers and strings respond to < in plain Ruby. */
	if (!(an || as) || !(bn || bs)) {
		*res = 0;
		return 0;
	}
	if (an != bn)
		return lq_fail(c, "comparison of %s with %s failed",
		    lq_ruby_class(a), lq_ruby_class(b));
	if (an) {
		if (json_is_integer(a->j) && json_is_integer(b->j)) {
			long long x = json_integer_value(a->j);
			long long y = json_integer_value(b->j);

			cmp = x < y ? -1 : x > y;
		} else {
			double x = json_number_value(a->j);
			double y = json_number_value(b->j);

			if (isnan(x) || isnan(y)) {
				*res = 0;
				return 0;
			}
			cmp = x < y ? -1 : x > y;
		}
	} else {
		size_t la = json_string_length(a->j);
		size_t lb = json_string_length(b->j);

		cmp = memcmp(json_string_value(a->j), json_string_value(b->j),
		    la < lb ? la : lb);
		if (cmp == 0)
			cmp = la < lb ? -1 : la > lb;
	}
	if (strcmp(op, "<") == 0)
		*res = cmp < 0;
	else if (strcmp(op, ">") == 0)
		*res = cmp > 0;
	else if (strcmp(op, "<=") == 0)
		*res = cmp <= 0;
	else
		*res = cmp >= 0;
	return 0;
}

static int
lq_contains(const struct lqv *a, const struct lqv *b)
{
	json_t *v;
	size_t i;
	char *needle;
	int r;

	if (!lqv_truthy(a) || !lqv_truthy(b))
		return 0;
	if (a->k == LQ_RANGE) {
		if (b->k == LQ_JSON && json_is_number(b->j))
			return json_number_value(b->j) >= (double)a->r0 &&
			    json_number_value(b->j) <= (double)a->r1;
		return 0;
	}
	if (a->k != LQ_JSON)
		return 0;
	if (json_is_string(a->j)) {
		needle = lq_str(b);
		r = memmem(json_string_value(a->j), json_string_length(a->j),
		    needle, strlen(needle)) != NULL;
		free(needle);
		return r;
	}
	if (json_is_array(a->j)) {
		json_array_foreach(a->j, i, v) {
			struct lqv x = { LQ_JSON, v, 0, 0 };

			if (lq_equal(&x, b))
				return 1;
		}
		return 0;
	}
	if (json_is_object(a->j) && b->k == LQ_JSON && json_is_string(b->j))
		return json_object_get(a->j, json_string_value(b->j)) != NULL;
	return 0;
}

/* One comparison; *res is its truth. */
static int
lq_eval_one(struct lq_ctx *c, const struct lq_cond *cd, int *res)
{
	struct lqv a, b;
	int rc = 0;

	if (lq_eval(c, cd->left, &a) != 0)
		return -1;
	if (cd->op[0] == '\0') {
		*res = lqv_truthy(&a);
		lqv_free(&a);
		return 0;
	}
	if (lq_eval(c, cd->right, &b) != 0) {
		lqv_free(&a);
		return -1;
	}
	if (strcmp(cd->op, "==") == 0)
		*res = lq_equal(&a, &b);
	else if (strcmp(cd->op, "!=") == 0 || strcmp(cd->op, "<>") == 0)
		*res = !lq_equal(&a, &b);
	else if (strcmp(cd->op, "contains") == 0)
		*res = lq_contains(&a, &b);
	else
		rc = lq_order(c, &a, &b, cd->op, res);
	lqv_free(&a);
	lqv_free(&b);
	return rc;
}

/*
 * Liquid evaluates a chain right to left: "a and b or c" is
 * a and (b or c); each step stops early as Condition#evaluate does.
 */
int
lq_eval_cond(struct lq_ctx *c, const struct lq_cond *cd, int *res)
{
	if (cd->is_else) {
		*res = 1;
		return 0;
	}
	for (;;) {
		if (lq_eval_one(c, cd, res) != 0)
			return -1;
		if (cd->rel == 'o' && *res)
			return 0;
		if (cd->rel == 'a' && !*res)
			return 0;
		if (cd->rel == 0 || cd->next == NULL)
			return 0;
		cd = cd->next;
	}
}
