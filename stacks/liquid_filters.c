/*
 * liquid_filters.c - Liquid 4.0's standard filters (Liquid::StandardFilters).
 *
 * One table lists every filter with its argument counts; a filter not in
 * it is an error (strict_filters, as Kontena rendered), and so is a wrong
 * number of arguments (Ruby's ArgumentError). Arithmetic follows
 * Liquid::Utils.to_number: integers stay integers (Ruby's floor division
 * and modulo), anything with a decimal point is a BigDecimal, emulated by
 * rounding the double result to the decimal places the operands had, so
 * that 0.1 | plus: 0.2 is 0.3 as in Ruby. Case mapping is ASCII only.
 * Called from liquid_expr.c on the caller's thread; pure (date's "now"
 * comes from the caller's options).
 */
#include "stacks/liquid_int.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A number as Utils.to_number makes it. */
struct lq_num {
	int		 dec;	/* 1: a BigDecimal (d, dp), 0: an Integer (i) */
	long long	 i;
	double		 d;
	int		 dp;	/* decimal places it carries */
};

static int
lq_decimals(const char *s)
{
	const char *dot = strchr(s, '.'), *e;

	if (dot == NULL)
		return 0;
	e = dot + 1;
	while (isdigit((unsigned char)*e))
		e++;
	return (int)(e - dot - 1);
}

static struct lq_num
lq_to_number(const struct lqv *v)
{
	struct lq_num n = { 0, 0, 0, 0 };
	char buf[64], *s, *t, *end;
	const char *p;

	if (v->k != LQ_JSON)
		return n;
	if (json_is_integer(v->j)) {
		n.i = json_integer_value(v->j);
		return n;
	}
	if (json_is_real(v->j)) {
		n.dec = 1;
		n.d = json_real_value(v->j);
		liquid_float_str(n.d, buf, sizeof buf);
		n.dp = strchr(buf, 'e') != NULL ? 17 : lq_decimals(buf);
		return n;
	}
	if (!json_is_string(v->j))
		return n;
	s = xstrdup(json_string_value(v->j));
	for (t = s; isspace((unsigned char)*t); t++)
		;
	end = t + strlen(t);
	while (end > t && isspace((unsigned char)end[-1]))
		*--end = '\0';
	/* /\A-?\d+\.\d+\z/ is a BigDecimal; anything else is to_i. */
	p = t + (*t == '-');
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '.' && isdigit((unsigned char)p[1])) {
			for (p++; isdigit((unsigned char)*p); p++)
				;
			if (*p == '\0') {
				n.dec = 1;
				n.d = strtod(t, NULL);
				n.dp = lq_decimals(t);
				free(s);
				return n;
			}
		}
	}
	errno = 0;
	n.i = strtoll(t, NULL, 10);
	if (errno != 0)
		n.i = 0;
	free(s);
	return n;
}

static double
lq_round_dp(double x, int dp)
{
	char buf[400];

	if (dp > 17 || !isfinite(x) || fabs(x) > 1e300)
		return x;
	snprintf(buf, sizeof buf, "%.*f", dp, x);
	return strtod(buf, NULL);
}

static void
lq_num_set(struct lqv *out, struct lq_num n)
{
	lqv_free(out);
	*out = lqv_json(n.dec ? json_real(n.d) : json_integer(n.i));
}

static long long
lq_floordiv(long long a, long long b)
{
	long long q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static long long
lq_floormod(long long a, long long b)
{
	long long m = a % b;

	if (m != 0 && ((m < 0) != (b < 0)))
		m += b;
	return m;
}

/* apply_operation: Integer op Integer, or BigDecimal (then to_f). */
static int
lq_arith(struct lq_ctx *c, struct lqv *in, struct lqv *arg, char op)
{
	struct lq_num a = lq_to_number(in), b = lq_to_number(arg);
	struct lq_num r = { 0, 0, 0, 0 };
	double x, y;

	r.dec = a.dec || b.dec;
	r.dp = 0;
	if (!r.dec) {
		switch (op) {
		case '+':
			if (__builtin_add_overflow(a.i, b.i, &r.i))
				goto overflow;
			break;
		case '-':
			if (__builtin_sub_overflow(a.i, b.i, &r.i))
				goto overflow;
			break;
		case '*':
			if (__builtin_mul_overflow(a.i, b.i, &r.i))
				goto overflow;
			break;
		case '/':
		case '%':
			if (b.i == 0)
				return lq_fail(c, "divided by 0");
			if (a.i == LLONG_MIN && b.i == -1)
				goto overflow;
			r.i = op == '/' ? lq_floordiv(a.i, b.i) :
			    lq_floormod(a.i, b.i);
			break;
		}
		lq_num_set(in, r);
		return 0;
	}
	x = a.dec ? a.d : (double)a.i;
	y = b.dec ? b.d : (double)b.i;
	switch (op) {
	case '+':
		r.d = lq_round_dp(x + y, a.dp > b.dp ? a.dp : b.dp);
		break;
	case '-':
		r.d = lq_round_dp(x - y, a.dp > b.dp ? a.dp : b.dp);
		break;
	case '*':
		r.d = lq_round_dp(x * y, a.dp + b.dp);
		break;
	case '/':
		if (y == 0)
			return lq_fail(c, "divided by 0");
		r.d = x / y;
		break;
	case '%':
		if (y == 0)
			return lq_fail(c, "divided by 0");
		r.d = fmod(x, y);
		if (r.d != 0 && ((r.d < 0) != (y < 0)))
			r.d += y;
		r.d = lq_round_dp(r.d, a.dp > b.dp ? a.dp : b.dp);
		break;
	}
	lq_num_set(in, r);
	return 0;
overflow:
	return lq_fail(c, "integer overflow (berth's Liquid numbers are "
	    "64-bit)");
}

/* ---- helpers ---------------------------------------------------------- */

static void
lq_set_str(struct lqv *out, const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	lqv_free(out);
	*out = lqv_json(j != NULL ? j : json_string(""));
}

static void
lq_set_json(struct lqv *out, json_t *j)
{
	lqv_free(out);
	*out = lqv_json(j);
}

/* Byte offset of character ci in s (n bytes); n when past the end. */
static size_t
lq_char_off(const char *s, size_t n, size_t ci)
{
	size_t i = 0, k = 0;

	while (i < n) {
		if (k == ci)
			return i;
		i++;
		while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		k++;
	}
	return n;
}

/* InputIterator: arrays flattened, a hash as one item, nil as none. */
static void
lq_flatten(json_t *src, json_t *dst)
{
	json_t *v;
	size_t i;

	json_array_foreach(src, i, v) {
		if (json_is_array(v))
			lq_flatten(v, dst);
		else
			json_array_append(dst, v);
	}
}

static json_t *
lq_iter(struct lq_ctx *c, const struct lqv *in)
{
	json_t *out;

	if (in->k == LQ_RANGE)
		return lq_range_array(c, in->r0, in->r1);
	if (in->k != LQ_JSON || json_is_null(in->j))
		return json_array();
	out = json_array();
	if (json_is_array(in->j))
		lq_flatten(in->j, out);
	else
		json_array_append(out, in->j);
	return out;
}

/* Ruby's <=>, or -2 when the two cannot be compared. */
static int
lq_cmp(json_t *a, json_t *b, int natural)
{
	size_t la, lb, i;
	int r;

	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);

		if (json_is_integer(a) && json_is_integer(b)) {
			long long p = json_integer_value(a);
			long long q = json_integer_value(b);

			return p < q ? -1 : p > q;
		}
		return x < y ? -1 : x > y;
	}
	if (json_is_string(a) && json_is_string(b)) {
		const char *s = json_string_value(a), *t = json_string_value(b);

		la = json_string_length(a);
		lb = json_string_length(b);
		for (i = 0; i < la && i < lb; i++) {
			int x = (unsigned char)s[i], y = (unsigned char)t[i];

			if (natural) {
				x = tolower(x);
				y = tolower(y);
			}
			if (x != y)
				return x < y ? -1 : 1;
		}
		return la < lb ? -1 : la > lb;
	}
	if (json_is_array(a) && json_is_array(b)) {
		la = json_array_size(a);
		lb = json_array_size(b);
		for (i = 0; i < la && i < lb; i++) {
			r = lq_cmp(json_array_get(a, i), json_array_get(b, i),
			    natural);
			if (r != 0)
				return r;
		}
		return la < lb ? -1 : la > lb;
	}
	if (json_is_boolean(a) && json_is_boolean(b) &&
	    json_is_true(a) == json_is_true(b))
		return 0;
	return -2;
}

static const char *
lq_class(json_t *j)
{
	switch (json_typeof(j)) {
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

/* item[property], as the property filters read it; -1 on TypeError. */
static int
lq_prop(json_t *item, json_t *prop, json_t **out)
{
	const char *p;

	*out = NULL;
	if (json_is_object(item)) {
		if (json_is_string(prop))
			*out = json_object_get(item, json_string_value(prop));
		return 0;
	}
	if (json_is_string(item) && json_is_string(prop)) {
		/* "hello"["ell"]: the substring, when it is there. */
		p = json_string_value(prop);
		if (memmem(json_string_value(item), json_string_length(item),
		    p, json_string_length(prop)) != NULL)
			*out = prop;
		return 0;
	}
	if (json_is_array(item) || json_is_integer(item))
		return -1;
	return 0;
}

static int
lq_prop_error(struct lq_ctx *c, json_t *prop)
{
	return lq_fail(c, "cannot select the property '%s'",
	    json_is_string(prop) ? json_string_value(prop) : "?");
}

/* Merge sort with a comparison that can fail. */
static int
lq_sort(struct lq_ctx *c, json_t **v, size_t n, json_t *prop, int natural)
{
	json_t **tmp, *a, *b;
	size_t w, i, l, r, m, e, k;
	int cmp;

	tmp = xreallocarray(NULL, n + 1, sizeof *tmp);
	for (w = 1; w < n; w *= 2) {
		for (i = 0; i < n; i += 2 * w) {
			l = i;
			m = i + w < n ? i + w : n;
			e = i + 2 * w < n ? i + 2 * w : n;
			r = m;
			k = i;
			while (l < m || r < e) {
				if (l == m) {
					tmp[k++] = v[r++];
					continue;
				}
				if (r == e) {
					tmp[k++] = v[l++];
					continue;
				}
				a = v[l];
				b = v[r];
				if (prop != NULL && (lq_prop(a, prop, &a) != 0 ||
				    lq_prop(b, prop, &b) != 0)) {
					free(tmp);
					return lq_prop_error(c, prop);
				}
				/* nil_safe_compare: nils go last. */
				if (a == NULL || json_is_null(a))
					cmp = b == NULL || json_is_null(b) ? 0 :
					    1;
				else if (b == NULL || json_is_null(b))
					cmp = -1;
				else if ((cmp = lq_cmp(a, b, natural)) == -2) {
					free(tmp);
					return lq_fail(c, "comparison of %s with "
					    "%s failed", lq_class(a),
					    lq_class(b));
				}
				tmp[k++] = cmp <= 0 ? v[l++] : v[r++];
			}
		}
		memcpy(v, tmp, n * sizeof *v);
	}
	free(tmp);
	return 0;
}

/* Ruby's String#split(pattern) into a new array. */
static json_t *
lq_split(const char *s, size_t n, const char *pat, size_t pn)
{
	json_t *out = json_array();
	const char *p = s, *end = s + n, *q;
	size_t k;

	if (n == 0)
		return out;
	if (pn == 1 && *pat == ' ') {
		/* awk-style: runs of whitespace, leading ones ignored */
		for (;;) {
			while (p < end && isspace((unsigned char)*p))
				p++;
			if (p >= end)
				break;
			q = p;
			while (q < end && !isspace((unsigned char)*q))
				q++;
			json_array_append_new(out, json_stringn(p, (size_t)(q -
			    p)));
			p = q;
		}
		return out;
	}
	if (pn == 0) {
		while (p < end) {
			k = 1;
			while (p + k < end && ((unsigned char)p[k] & 0xc0) ==
			    0x80)
				k++;
			json_array_append_new(out, json_stringn(p, k));
			p += k;
		}
		return out;
	}
	for (;;) {
		q = memmem(p, (size_t)(end - p), pat, pn);
		if (q == NULL) {
			json_array_append_new(out, json_stringn(p,
			    (size_t)(end - p)));
			break;
		}
		json_array_append_new(out, json_stringn(p, (size_t)(q - p)));
		p = q + pn;
	}
	/* Trailing empty fields go. */
	while (json_array_size(out) > 0 && json_string_length(json_array_get(
	    out, json_array_size(out) - 1)) == 0)
		json_array_remove(out, json_array_size(out) - 1);
	return out;
}

/* gsub/sub of a literal string. */
static void
lq_replace(struct buf *b, const char *s, size_t n, const char *pat,
    size_t pn, const char *rep, size_t rn, int all)
{
	const char *p = s, *end = s + n, *q;

	if (pn == 0) {
		/* gsub("") puts rep between every character. */
		if (!all) {
			buf_append(b, rep, rn);
			buf_append(b, s, n);
			return;
		}
		while (p < end) {
			size_t k = 1;

			buf_append(b, rep, rn);
			while (p + k < end && ((unsigned char)p[k] & 0xc0) ==
			    0x80)
				k++;
			buf_append(b, p, k);
			p += k;
		}
		buf_append(b, rep, rn);
		return;
	}
	while ((q = memmem(p, (size_t)(end - p), pat, pn)) != NULL) {
		buf_append(b, p, (size_t)(q - p));
		buf_append(b, rep, rn);
		p = q + pn;
		if (!all)
			break;
	}
	buf_append(b, p, (size_t)(end - p));
}

static const char *
lq_html(char ch)
{
	switch (ch) {
	case '&': return "&amp;";
	case '>': return "&gt;";
	case '<': return "&lt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	}
	return NULL;
}

/* escape_once: & that starts an entity (&name; &#123;) stays. */
static int
lq_entity(const char *s, const char *end)
{
	const char *p = s + 1;

	if (p < end && *p == '#') {
		p++;
		if (p >= end || !isdigit((unsigned char)*p))
			return 0;
		while (p < end && isdigit((unsigned char)*p))
			p++;
	} else {
		if (p >= end || !isalpha((unsigned char)*p))
			return 0;
		while (p < end && isalpha((unsigned char)*p))
			p++;
	}
	return p < end && *p == ';';
}

/* Time.parse for the ISO forms: 2018-01-31[ T]12:30[:45][Z|+hh:mm]. */
static int
lq_parse_time(const char *s, time_t *t)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0, n = 0, off = 0, oh, om;
	const char *p;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return -1;
	p = s + n;
	if (*p == 'T' || *p == ' ') {
		n = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
			return -1;
		p += 1 + n;
		if (*p == ':') {
			n = 0;
			if (sscanf(p + 1, "%2d%n", &se, &n) != 1)
				return -1;
			p += 1 + n;
		}
		if (*p == 'Z')
			p++;
		else if ((*p == '+' || *p == '-') &&
		    sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) {
			off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
			p += 6;
		}
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = timegm(&tm) - off;
	return 0;
}

/* Decimal rounding half away from zero on the shortest digits of x. */
static double
lq_round_half_up(double x, int n)
{
	char buf[64];
	double p;

	if (!isfinite(x))
		return x;
	if (n > 15 || n < -15)
		return x;
	/* Go through the printed digits, so that 2.675 rounds to 2.68. */
	liquid_float_str(x, buf, sizeof buf);
	p = pow(10, n);
	x = strtod(buf, NULL);
	{
		double y = x * p;
		char b2[64];

		snprintf(b2, sizeof b2, "%.10f", fabs(y));
		y = floor(strtod(b2, NULL) + 0.5);
		return (x < 0 ? -y : y) / p;
	}
}

/* ---- the filters ------------------------------------------------------ */

typedef int lq_filter_fn(struct lq_ctx *, struct lqv *, struct lqv *,
    size_t);

#define ARG_STR(i, dflt)	(nargs > (i) ? lq_str(&args[i]) : xstrdup(dflt))

static int
f_size(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	long long n = 0;
	json_t *j = in->j;

	if (in->k == LQ_RANGE)
		n = in->r1 >= in->r0 ? in->r1 - in->r0 + 1 : 0;
	else if (in->k == LQ_JSON) {
		if (json_is_string(j))
			n = (long long)lq_utf8_len(json_string_value(j),
			    json_string_length(j));
		else if (json_is_array(j))
			n = (long long)json_array_size(j);
		else if (json_is_object(j))
			n = (long long)json_object_size(j);
		else if (json_is_integer(j))
			n = 8;
	}
	lq_set_json(in, json_integer(n));
	return 0;
}

static int
f_case(struct lqv *in, int how)
{
	char *s = lq_str(in);
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (how == 'u' || (how == 'c' && i == 0))
			s[i] = (char)toupper((unsigned char)s[i]);
		else
			s[i] = (char)tolower((unsigned char)s[i]);
	}
	lq_set_str(in, s, strlen(s));
	free(s);
	return 0;
}

static int
f_downcase(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_case(in, 'd');
}

static int
f_upcase(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_case(in, 'u');
}

static int
f_capitalize(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_case(in, 'c');
}

static int
f_escape(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	char *s;
	const char *r;
	size_t i;

	if (lqv_is_nil(in))
		return 0;
	s = lq_str(in);
	for (i = 0; s[i] != '\0'; i++) {
		if ((r = lq_html(s[i])) != NULL)
			buf_append(&b, r, strlen(r));
		else
			buf_append(&b, &s[i], 1);
	}
	lq_set_str(in, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	free(s);
	return 0;
}

static int
f_escape_once(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	char *s = lq_str(in);
	const char *r;
	size_t i, len = strlen(s);

	for (i = 0; i < len; i++) {
		if (s[i] == '&' && lq_entity(s + i, s + len))
			buf_append(&b, "&", 1);
		else if ((r = lq_html(s[i])) != NULL)
			buf_append(&b, r, strlen(r));
		else
			buf_append(&b, &s[i], 1);
	}
	lq_set_str(in, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	free(s);
	return 0;
}

static int
f_url_encode(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	char *s;
	size_t i;
	unsigned char ch;

	if (lqv_is_nil(in))
		return 0;
	s = lq_str(in);
	for (i = 0; s[i] != '\0'; i++) {
		ch = (unsigned char)s[i];
		if (isalnum(ch) || ch == '_' || ch == '.' || ch == '-' ||
		    ch == '~')
			buf_append(&b, &s[i], 1);
		else if (ch == ' ')
			buf_append(&b, "+", 1);
		else
			buf_printf(&b, "%%%02X", ch);
	}
	lq_set_str(in, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	free(s);
	return 0;
}

static int
f_url_decode(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	char *s, hex[3];
	size_t i;
	json_t *j;

	if (lqv_is_nil(in))
		return 0;
	s = lq_str(in);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '+')
			buf_append(&b, " ", 1);
		else if (s[i] == '%' && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char ch;

			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			hex[2] = '\0';
			ch = (char)strtol(hex, NULL, 16);
			buf_append(&b, &ch, 1);
			i += 2;
		} else
			buf_append(&b, &s[i], 1);
	}
	free(s);
	j = json_stringn(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	if (j == NULL)
		return lq_fail(c, "invalid byte sequence in UTF-8");
	lq_set_json(in, j);
	return 0;
}

static int
f_slice(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	long long off, len = 1, size;
	char *s;
	size_t a, b;
	json_t *out;

	if (lq_to_integer(c, &args[0], &off) != 0 ||
	    (nargs > 1 && !lqv_is_nil(&args[1]) &&
	    lq_to_integer(c, &args[1], &len) != 0))
		return -1;
	if (in->k == LQ_JSON && json_is_array(in->j)) {
		size = (long long)json_array_size(in->j);
		out = json_array();
		if (off < 0)
			off += size;
		if (off >= 0 && off <= size && len >= 0) {
			for (; off < size && len > 0; off++, len--)
				json_array_append(out, json_array_get(in->j,
				    (size_t)off));
		}
		lq_set_json(in, out);
		return 0;
	}
	s = lq_str(in);
	size = (long long)lq_utf8_len(s, strlen(s));
	if (off < 0)
		off += size;
	if (off < 0 || off > size || len < 0) {
		free(s);
		lq_set_str(in, "", 0);
		return 0;
	}
	if (len > size - off)
		len = size - off;
	a = lq_char_off(s, strlen(s), (size_t)off);
	b = lq_char_off(s, strlen(s), (size_t)(off + len));
	lq_set_str(in, s + a, b - a);
	free(s);
	return 0;
}

static int
f_truncate(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	long long len = 50, l;
	char *s, *ts;
	size_t chars, off;
	struct buf b = { NULL, 0, 0 };

	if (lqv_is_nil(in))
		return 0;
	if (nargs > 0 && lq_to_integer(c, &args[0], &len) != 0)
		return -1;
	s = lq_str(in);
	ts = ARG_STR(1, "...");
	l = len - (long long)lq_utf8_len(ts, strlen(ts));
	if (l < 0)
		l = 0;
	chars = lq_utf8_len(s, strlen(s));
	if ((long long)chars > len) {
		off = lq_char_off(s, strlen(s), (size_t)l);
		buf_append(&b, s, off);
		buf_append(&b, ts, strlen(ts));
		lq_set_str(in, b.data, b.len);
		buf_free(&b);
	} else
		lq_set_str(in, s, strlen(s));
	free(s);
	free(ts);
	return 0;
}

static int
f_truncatewords(struct lq_ctx *c, struct lqv *in, struct lqv *args,
    size_t nargs)
{
	long long words = 15, l;
	json_t *list;
	char *s, *ts;
	struct buf b = { NULL, 0, 0 };
	size_t i;

	if (lqv_is_nil(in))
		return 0;
	s = lq_str(in);
	list = lq_split(s, strlen(s), " ", 1);
	free(s);
	if (nargs > 0 && lq_to_integer(c, &args[0], &words) != 0) {
		json_decref(list);
		return -1;
	}
	l = words - 1 < 0 ? 0 : words - 1;
	if ((long long)json_array_size(list) > l) {
		ts = ARG_STR(1, "...");
		for (i = 0; i <= (size_t)l && i < json_array_size(list); i++) {
			if (i > 0)
				buf_append(&b, " ", 1);
			buf_append(&b, json_string_value(json_array_get(list,
			    i)), json_string_length(json_array_get(list, i)));
		}
		buf_append(&b, ts, strlen(ts));
		lq_set_str(in, b.data, b.len);
		buf_free(&b);
		free(ts);
	}
	json_decref(list);
	return 0;
}

static int
f_split(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	char *s = lq_str(in), *p = lq_str(&args[0]);
	json_t *out = lq_split(s, strlen(s), p, strlen(p));

	free(s);
	free(p);
	if (lq_charge(c, json_array_size(out) * 32) != 0) {
		json_decref(out);
		return -1;
	}
	lq_set_json(in, out);
	return 0;
}

static int
f_strip_any(struct lqv *in, int left, int right)
{
	char *s = lq_str(in), *p = s, *e = s + strlen(s);

	if (left)
		while (*p != '\0' && (isspace((unsigned char)*p)))
			p++;
	if (right)
		while (e > p && (isspace((unsigned char)e[-1]) || e[-1] == '\0'))
			e--;
	lq_set_str(in, p, (size_t)(e - p));
	free(s);
	return 0;
}

static int
f_strip(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_strip_any(in, 1, 1);
}

static int
f_lstrip(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_strip_any(in, 1, 0);
}

static int
f_rstrip(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_strip_any(in, 0, 1);
}

/* Remove from s every [open...close] span (non-greedy, case as given). */
static void
lq_cut(struct buf *b, const char *s, const char *open, const char *close)
{
	const char *p = s, *q, *e;

	while ((q = strstr(p, open)) != NULL &&
	    (e = strstr(q + strlen(open), close)) != NULL) {
		buf_append(b, p, (size_t)(q - p));
		p = e + strlen(close);
	}
	buf_append(b, p, strlen(p));
}

static int
f_strip_html(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	struct buf b1 = { NULL, 0, 0 }, b2 = { NULL, 0, 0 }, b3 = { NULL, 0, 0 };
	struct buf b4 = { NULL, 0, 0 };
	char *s = lq_str(in);

	lq_cut(&b1, s, "<script", "</script>");
	lq_cut(&b2, b1.data != NULL ? b1.data : "", "<!--", "-->");
	lq_cut(&b3, b2.data != NULL ? b2.data : "", "<style", "</style>");
	lq_cut(&b4, b3.data != NULL ? b3.data : "", "<", ">");
	lq_set_str(in, b4.data != NULL ? b4.data : "", b4.len);
	free(s);
	buf_free(&b1);
	buf_free(&b2);
	buf_free(&b3);
	buf_free(&b4);
	return 0;
}

static int
f_strip_newlines(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	char *s = lq_str(in);
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && s[i + 1] == '\n'))
			continue;
		buf_append(&b, &s[i], 1);
	}
	lq_set_str(in, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	free(s);
	return 0;
}

static int
f_newline_to_br(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	char *s = lq_str(in);

	lq_replace(&b, s, strlen(s), "\n", 1, "<br />\n", 7, 1);
	free(s);
	if (lq_charge(c, b.len) != 0) {
		buf_free(&b);
		return -1;
	}
	lq_set_str(in, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

static int
f_join(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	json_t *list = lq_iter(c, in), *v;
	char *glue = ARG_STR(0, " ");
	struct buf b = { NULL, 0, 0 };
	struct lqv x;
	size_t i;

	if (list == NULL) {
		free(glue);
		return -1;
	}
	json_array_foreach(list, i, v) {
		if (i > 0)
			buf_append(&b, glue, strlen(glue));
		x = lqv_json(json_incref(v));
		lq_to_s(&x, &b, 0);
		lqv_free(&x);
	}
	json_decref(list);
	free(glue);
	if (lq_charge(c, b.len) != 0) {
		buf_free(&b);
		return -1;
	}
	lq_set_str(in, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

static int
f_sort_any(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs,
    int natural)
{
	json_t *list = lq_iter(c, in), **v, *out;
	size_t i, n;

	if (list == NULL)
		return -1;
	n = json_array_size(list);
	v = xreallocarray(NULL, n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = json_array_get(list, i);
	if (lq_sort(c, v, n, nargs > 0 && !lqv_is_nil(&args[0]) &&
	    args[0].k == LQ_JSON ? args[0].j : NULL, natural) != 0) {
		free(v);
		json_decref(list);
		return -1;
	}
	out = json_array();
	for (i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(list);
	lq_set_json(in, out);
	return 0;
}

static int
f_sort(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	return f_sort_any(c, in, args, nargs, 0);
}

static int
f_sort_natural(struct lq_ctx *c, struct lqv *in, struct lqv *args,
    size_t nargs)
{
	return f_sort_any(c, in, args, nargs, 1);
}

static int
f_where(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	json_t *list = lq_iter(c, in), *out, *v, *got, *prop;
	struct lqv a, b;
	size_t i;

	if (list == NULL)
		return -1;
	prop = args[0].k == LQ_JSON ? args[0].j : json_null();
	out = json_array();
	json_array_foreach(list, i, v) {
		if (lq_prop(v, prop, &got) != 0) {
			json_decref(list);
			json_decref(out);
			return lq_prop_error(c, prop);
		}
		if (nargs < 2 || lqv_is_nil(&args[1])) {
			if (got != NULL && !json_is_null(got) &&
			    !json_is_false(got))
				json_array_append(out, v);
		} else if (got != NULL) {
			a = lqv_json(json_incref(got));
			b = lqv_copy(&args[1]);
			if (lq_equal(&a, &b))
				json_array_append(out, v);
			lqv_free(&a);
			lqv_free(&b);
		}
	}
	json_decref(list);
	lq_set_json(in, out);
	return 0;
}

static int
f_uniq(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	json_t *list = lq_iter(c, in), *out, *keys, *v, *k, *w;
	json_t *prop = nargs > 0 && args[0].k == LQ_JSON &&
	    !json_is_null(args[0].j) ? args[0].j : NULL;
	size_t i, j;

	if (list == NULL)
		return -1;
	out = json_array();
	keys = json_array();
	json_array_foreach(list, i, v) {
		k = v;
		if (prop != NULL && lq_prop(v, prop, &k) != 0) {
			json_decref(list);
			json_decref(out);
			json_decref(keys);
			return lq_prop_error(c, prop);
		}
		if (k == NULL)
			k = json_null();
		json_array_foreach(keys, j, w) {
			if (json_equal(w, k))
				break;
		}
		if (j == json_array_size(keys)) {
			json_array_append(keys, k);
			json_array_append(out, v);
		}
	}
	json_decref(keys);
	json_decref(list);
	lq_set_json(in, out);
	return 0;
}

static int
f_reverse(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	json_t *list = lq_iter(c, in), *out;
	size_t i;

	if (list == NULL)
		return -1;
	out = json_array();
	for (i = json_array_size(list); i > 0; i--)
		json_array_append(out, json_array_get(list, i - 1));
	json_decref(list);
	lq_set_json(in, out);
	return 0;
}

static int
f_map(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	json_t *list = lq_iter(c, in), *out, *v, *got;
	json_t *prop = args[0].k == LQ_JSON ? args[0].j : json_null();
	size_t i;

	if (list == NULL)
		return -1;
	out = json_array();
	json_array_foreach(list, i, v) {
		if (json_is_string(prop) &&
		    strcmp(json_string_value(prop), "to_liquid") == 0) {
			json_array_append(out, v);
			continue;
		}
		if (lq_prop(v, prop, &got) != 0) {
			json_decref(list);
			json_decref(out);
			return lq_prop_error(c, prop);
		}
		json_array_append(out, got != NULL ? got : json_null());
	}
	json_decref(list);
	lq_set_json(in, out);
	return 0;
}

static int
f_compact(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	json_t *list = lq_iter(c, in), *out, *v, *got;
	json_t *prop = nargs > 0 && args[0].k == LQ_JSON &&
	    !json_is_null(args[0].j) ? args[0].j : NULL;
	size_t i;

	if (list == NULL)
		return -1;
	out = json_array();
	json_array_foreach(list, i, v) {
		got = v;
		if (prop != NULL && lq_prop(v, prop, &got) != 0) {
			json_decref(list);
			json_decref(out);
			return lq_prop_error(c, prop);
		}
		if (got != NULL && !json_is_null(got))
			json_array_append(out, v);
	}
	json_decref(list);
	lq_set_json(in, out);
	return 0;
}

static int
f_replace_any(struct lq_ctx *c, struct lqv *in, struct lqv *args,
    size_t nargs, int all, int remove)
{
	char *s = lq_str(in), *pat = lq_str(&args[0]);
	char *rep = remove ? xstrdup("") : ARG_STR(1, "");
	struct buf b = { NULL, 0, 0 };

	lq_replace(&b, s, strlen(s), pat, strlen(pat), rep, strlen(rep), all);
	free(s);
	free(pat);
	free(rep);
	if (lq_charge(c, b.len) != 0) {
		buf_free(&b);
		return -1;
	}
	lq_set_str(in, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

static int
f_replace(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	return f_replace_any(c, in, args, nargs, 1, 0);
}

static int
f_replace_first(struct lq_ctx *c, struct lqv *in, struct lqv *args,
    size_t nargs)
{
	return f_replace_any(c, in, args, nargs, 0, 0);
}

static int
f_remove(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	return f_replace_any(c, in, args, nargs, 1, 1);
}

static int
f_remove_first(struct lq_ctx *c, struct lqv *in, struct lqv *args,
    size_t nargs)
{
	return f_replace_any(c, in, args, nargs, 0, 1);
}

static int
f_append_any(struct lq_ctx *c, struct lqv *in, struct lqv *args, int pre)
{
	char *s = lq_str(in), *t = lq_str(&args[0]);
	struct buf b = { NULL, 0, 0 };

	buf_append(&b, pre ? t : s, strlen(pre ? t : s));
	buf_append(&b, pre ? s : t, strlen(pre ? s : t));
	free(s);
	free(t);
	if (lq_charge(c, b.len) != 0) {
		buf_free(&b);
		return -1;
	}
	lq_set_str(in, b.data, b.len);
	buf_free(&b);
	return 0;
}

static int
f_append(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	return f_append_any(c, in, args, 0);
}

static int
f_prepend(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	return f_append_any(c, in, args, 1);
}

static int
f_concat(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	json_t *list;

	if (args[0].k != LQ_JSON || !json_is_array(args[0].j))
		return lq_fail(c, "concat filter requires an array argument");
	if ((list = lq_iter(c, in)) == NULL)
		return -1;
	json_array_extend(list, args[0].j);
	if (lq_charge(c, json_array_size(list) * 16) != 0) {
		json_decref(list);
		return -1;
	}
	lq_set_json(in, list);
	return 0;
}

static int
f_date(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	char *fmt = lq_str(&args[0]), *s, out[512];
	time_t t;
	struct tm tm;
	size_t n;

	if (*fmt == '\0') {
		free(fmt);
		return 0;
	}
	if (in->k == LQ_JSON && json_is_integer(in->j))
		t = (time_t)json_integer_value(in->j);
	else if (in->k == LQ_JSON && json_is_string(in->j)) {
		s = lq_str(in);
		if (*s == '\0') {
			free(s);
			free(fmt);
			return 0;
		}
		if (strcasecmp(s, "now") == 0 || strcasecmp(s, "today") == 0) {
			if (lq_now(c) == 0) {
				free(s);
				free(fmt);
				return lq_fail(c, "date: \"now\" is not "
				    "available here");
			}
			t = (time_t)lq_now(c);
		} else if (strspn(s, "0123456789") == strlen(s))
			t = (time_t)strtoll(s, NULL, 10);
		else if (lq_parse_time(s, &t) != 0) {
			free(s);
			free(fmt);
			return 0;	/* unparseable: the input as it is */
		}
		free(s);
	} else {
		free(fmt);
		return 0;
	}
	if (gmtime_r(&t, &tm) == NULL) {
		free(fmt);
		return 0;
	}
	n = strftime(out, sizeof out, fmt, &tm);
	free(fmt);
	lq_set_str(in, out, n);
	return 0;
}

static int
f_first_last(struct lq_ctx *c, struct lqv *in, int last)
{
	json_t *j = in->j, *r = NULL;
	void *it;

	if (in->k == LQ_RANGE) {
		if (in->r1 >= in->r0)
			r = json_integer(last ? in->r1 : in->r0);
	} else if (in->k == LQ_JSON && json_is_array(j)) {
		if (json_array_size(j) > 0)
			r = json_incref(json_array_get(j, last ?
			    json_array_size(j) - 1 : 0));
	} else if (!last && in->k == LQ_JSON && json_is_object(j)) {
		if ((it = json_object_iter(j)) != NULL)
			r = json_pack("[sO]", json_object_iter_key(it),
			    json_object_iter_value(it));
	}
	lq_set_json(in, r != NULL ? r : json_null());
	return 0;
}

static int
f_first(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_first_last(c, in, 0);
}

static int
f_last(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_first_last(c, in, 1);
}

static int
f_abs(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	struct lq_num x = lq_to_number(in);

	if (x.dec)
		x.d = fabs(x.d);
	else if (x.i == LLONG_MIN)
		return lq_fail(c, "integer overflow");
	else
		x.i = llabs(x.i);
	lq_num_set(in, x);
	return 0;
}

static int
f_plus(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t n)
{
	return lq_arith(c, in, &args[0], '+');
}

static int
f_minus(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t n)
{
	return lq_arith(c, in, &args[0], '-');
}

static int
f_times(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t n)
{
	return lq_arith(c, in, &args[0], '*');
}

static int
f_divided_by(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t n)
{
	return lq_arith(c, in, &args[0], '/');
}

static int
f_modulo(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t n)
{
	return lq_arith(c, in, &args[0], '%');
}

static int
f_round(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	struct lq_num x = lq_to_number(in), p = { 0, 0, 0, 0 };
	long long digits, m = 1;
	int i;

	if (nargs > 0)
		p = lq_to_number(&args[0]);
	digits = p.dec ? (long long)p.d : p.i;
	if (!x.dec) {
		if (digits < 0) {
			for (i = 0; i < -digits && i < 18; i++)
				m *= 10;
			x.i = (x.i >= 0 ? (x.i + m / 2) / m :
			    -((-x.i + m / 2) / m)) * m;
		}
		lq_num_set(in, x);
		return 0;
	}
	if (!isfinite(x.d))
		return lq_fail(c, "%s", isnan(x.d) ? "NaN" : "Infinity");
	x.d = lq_round_half_up(x.d, (int)(digits > 20 ? 20 : digits < -20 ?
	    -20 : digits));
	if (nargs == 0 || digits == 0) {
		if (fabs(x.d) >= 9.2e18)
			return lq_fail(c, "integer overflow");
		x.dec = 0;
		x.i = (long long)x.d;
	}
	lq_num_set(in, x);
	return 0;
}

static int
f_ceil_floor(struct lq_ctx *c, struct lqv *in, int up)
{
	struct lq_num x = lq_to_number(in);

	if (x.dec) {
		if (!isfinite(x.d))
			return lq_fail(c, "%s", isnan(x.d) ? "NaN" :
			    "Infinity");
		x.d = up ? ceil(x.d) : floor(x.d);
		if (fabs(x.d) >= 9.2e18)
			return lq_fail(c, "integer overflow");
		x.dec = 0;
		x.i = (long long)x.d;
	}
	lq_num_set(in, x);
	return 0;
}

static int
f_ceil(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_ceil_floor(c, in, 1);
}

static int
f_floor(struct lq_ctx *c, struct lqv *in, struct lqv *a, size_t n)
{
	return f_ceil_floor(c, in, 0);
}

static int
f_at_bound(struct lq_ctx *c, struct lqv *in, struct lqv *args, int least)
{
	struct lq_num x = lq_to_number(in), b = lq_to_number(&args[0]);
	double xv = x.dec ? x.d : (double)x.i, bv = b.dec ? b.d : (double)b.i;

	if ((least && bv > xv) || (!least && bv < xv))
		x = b;
	lq_num_set(in, x);
	return 0;
}

static int
f_at_least(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t n)
{
	return f_at_bound(c, in, args, 1);
}

static int
f_at_most(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t n)
{
	return f_at_bound(c, in, args, 0);
}

static int
f_default(struct lq_ctx *c, struct lqv *in, struct lqv *args, size_t nargs)
{
	json_t *j = in->k == LQ_JSON ? in->j : NULL;
	int use;

	use = !lqv_truthy(in) || (j != NULL && ((json_is_string(j) &&
	    json_string_length(j) == 0) || (json_is_array(j) &&
	    json_array_size(j) == 0) || (json_is_object(j) &&
	    json_object_size(j) == 0)));
	if (use) {
		lqv_free(in);
		*in = nargs > 0 ? lqv_copy(&args[0]) :
		    lqv_json(json_string(""));
	}
	return 0;
}

static const struct {
	const char	*name;
	int		 min, max;	/* arguments after the input */
	lq_filter_fn	*fn;
} lq_filters[] = {
	{ "abs", 0, 0, f_abs },
	{ "append", 1, 1, f_append },
	{ "at_least", 1, 1, f_at_least },
	{ "at_most", 1, 1, f_at_most },
	{ "capitalize", 0, 0, f_capitalize },
	{ "ceil", 0, 0, f_ceil },
	{ "compact", 0, 1, f_compact },
	{ "concat", 1, 1, f_concat },
	{ "date", 1, 1, f_date },
	{ "default", 0, 1, f_default },
	{ "divided_by", 1, 1, f_divided_by },
	{ "downcase", 0, 0, f_downcase },
	{ "escape", 0, 0, f_escape },
	{ "escape_once", 0, 0, f_escape_once },
	{ "first", 0, 0, f_first },
	{ "floor", 0, 0, f_floor },
	{ "h", 0, 0, f_escape },
	{ "join", 0, 1, f_join },
	{ "last", 0, 0, f_last },
	{ "lstrip", 0, 0, f_lstrip },
	{ "map", 1, 1, f_map },
	{ "minus", 1, 1, f_minus },
	{ "modulo", 1, 1, f_modulo },
	{ "newline_to_br", 0, 0, f_newline_to_br },
	{ "plus", 1, 1, f_plus },
	{ "prepend", 1, 1, f_prepend },
	{ "remove", 1, 1, f_remove },
	{ "remove_first", 1, 1, f_remove_first },
	{ "replace", 1, 2, f_replace },
	{ "replace_first", 1, 2, f_replace_first },
	{ "reverse", 0, 0, f_reverse },
	{ "round", 0, 1, f_round },
	{ "rstrip", 0, 0, f_rstrip },
	{ "size", 0, 0, f_size },
	{ "slice", 1, 2, f_slice },
	{ "sort", 0, 1, f_sort },
	{ "sort_natural", 0, 1, f_sort_natural },
	{ "split", 1, 1, f_split },
	{ "strip", 0, 0, f_strip },
	{ "strip_html", 0, 0, f_strip_html },
	{ "strip_newlines", 0, 0, f_strip_newlines },
	{ "times", 1, 1, f_times },
	{ "truncate", 0, 2, f_truncate },
	{ "truncatewords", 0, 2, f_truncatewords },
	{ "uniq", 0, 1, f_uniq },
	{ "upcase", 0, 0, f_upcase },
	{ "url_decode", 0, 0, f_url_decode },
	{ "url_encode", 0, 0, f_url_encode },
	{ "where", 1, 2, f_where },
};

int
lq_filter(struct lq_ctx *c, const char *name, struct lqv *in,
    struct lqv *args, size_t nargs, json_t *kwargs)
{
	size_t i, n = nargs;
	struct lqv *all = args;
	int rc;

	for (i = 0; i < sizeof lq_filters / sizeof lq_filters[0]; i++) {
		if (strcmp(lq_filters[i].name, name) == 0)
			break;
	}
	if (i == sizeof lq_filters / sizeof lq_filters[0])
		return lq_fail(c, "undefined filter %s", name);
	/* Keyword arguments arrive as one more argument, a hash. */
	if (kwargs != NULL) {
		all = xcalloc(nargs + 2, sizeof *all);
		memcpy(all, args, nargs * sizeof *all);
		all[n++] = lqv_json(json_incref(kwargs));
	}
	if ((int)n < lq_filters[i].min || (int)n > lq_filters[i].max) {
		if (lq_filters[i].min == lq_filters[i].max)
			rc = lq_fail(c, "wrong number of arguments (given %zu, "
			    "expected %d) in filter %s", n + 1,
			    lq_filters[i].min + 1, name);
		else
			rc = lq_fail(c, "wrong number of arguments (given %zu, "
			    "expected %d..%d) in filter %s", n + 1,
			    lq_filters[i].min + 1, lq_filters[i].max + 1, name);
	} else
		rc = lq_filters[i].fn(c, in, all, n);
	if (kwargs != NULL) {
		lqv_free(&all[n - 1]);
		free(all);
	}
	return rc;
}
