/*
 * liquid.c - tokenize, parse and render a Liquid template (see liquid.h).
 *
 * Called by stack_parse() (stacks/stack.c) on the caller's thread; pure.
 * The shape follows Liquid 4.0's own: the source is split into text, {% %}
 * tags and {{ }} outputs (Liquid::Tokenizer), a block body collects nodes
 * until a tag it does not know, which its block takes as its own (elsif,
 * else, when, end...) or refuses (Liquid::BlockBody, Block#unknown_tag);
 * rendering walks the tree with a stack of scopes (Liquid::Context): the
 * outermost takes assign and capture, a for loop pushes its own. Output
 * goes to a buffer that also records, for each output line, the template
 * line it came from, so that the YAML read from the output can report
 * errors at the template's line.
 */
#include "stacks/liquid_int.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum lq_ntype {
	N_TEXT = 0, N_OUTPUT, N_IF, N_UNLESS, N_CASE, N_FOR, N_TABLEROW,
	N_ASSIGN, N_CAPTURE, N_RAW, N_COMMENT, N_BREAK, N_CONTINUE, N_CYCLE,
	N_INCREMENT, N_DECREMENT, N_IFCHANGED, N_INCLUDE,
};

struct lq_node;

struct lq_body {
	struct lq_node	**v;
	size_t		  n;
};

/* An if/elsif/else, unless or when branch. */
struct lq_branch {
	struct lq_cond	*cond;
	struct lq_body	*body;
	int		 owns;		/* frees body (when a, b share one) */
};

struct lq_node {
	enum lq_ntype	  t;
	int		  line, col;	/* of the tag, or the text's start */
	char		 *text;		/* N_TEXT, N_RAW */
	size_t		  tlen;
	struct lq_varexpr *ve;		/* N_OUTPUT, N_ASSIGN */
	char		 *name;		/* assign/capture target, for var,
					   increment variable */
	struct lq_branch *br;		/* N_IF, N_UNLESS, N_CASE */
	size_t		  nbr;
	struct lq_expr	 *left;		/* N_CASE */
	struct lq_body	  body;		/* N_FOR, N_TABLEROW, N_CAPTURE,
					   N_COMMENT, N_IFCHANGED */
	struct lq_body	  else_body;	/* N_FOR */
	int		  has_else;
	struct lq_expr	 *coll;		/* N_FOR, N_TABLEROW */
	struct lq_expr	 *limit, *offset, *cols;
	int		  reversed, offset_continue;
	char		 *loopname;	/* "var-collection" */
	struct lq_expr	**cyc;		/* N_CYCLE values */
	size_t		  ncyc;
	struct lq_expr	 *cycname;	/* named cycle's group, or NULL */
	char		 *cyckey;	/* unnamed cycle's key */
};

/* One token of the source. */
enum lq_ttype { LT_TEXT, LT_TAG, LT_VAR };

struct lq_tk {
	enum lq_ttype	 t;
	const char	*s;
	size_t		 n;
	int		 line, col;
};

struct lq_ctx {
	/* parsing */
	struct lq_tk	*tk;
	size_t		 ntk, pos;
	int		 depth;
	int		 trim_next;	/* the last tag ended with -%} */
	/* rendering */
	json_t		*env;		/* the variables (a copy we own) */
	json_t		**scopes;	/* [0] outermost (assign) */
	size_t		 nscopes;
	json_t		*forloops;	/* stack of forloop objects */
	json_t		*for_offsets;	/* offset: continue */
	json_t		*cycles;	/* cycle positions */
	char		*ifchanged;	/* last ifchanged output */
	int		 interrupt;	/* 0, 'b' break, 'c' continue */
	size_t		 steps;
	size_t		 memory;
	const struct liquid_opts *opts;
	/* output */
	struct buf	*out;		/* where output goes (capture swaps) */
	struct buf	 main;
	int		*lines;		/* template line of each output line */
	size_t		 nlines, lcap;
	int		 need_line;	/* the current line has no origin yet */
	int		 last_line;	/* the template's last line */
	/* errors */
	int		 line, col;	/* of the node being worked on */
	int		 syntax;	/* parsing (a syntax error) */
	struct liquid_error *err;
	int		 failed;
};

static void	lq_body_free(struct lq_body *b);

int
lq_fail(struct lq_ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (c->failed)
		return -1;
	c->failed = 1;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	xasprintf(&c->err->message, "Liquid %s: %s", c->syntax ?
	    "syntax error" : "error", msg);
	free(msg);
	c->err->line = c->line;
	c->err->col = c->col;
	return -1;
}

int
lq_charge(struct lq_ctx *c, size_t bytes)
{
	c->memory += bytes;
	if (c->memory > LIQUID_MAX_MEMORY)
		return lq_fail(c, "Memory limits exceeded (the template made "
		    "more than %d bytes)", LIQUID_MAX_MEMORY);
	return 0;
}

int64_t
lq_now(struct lq_ctx *c)
{
	return c->opts != NULL ? c->opts->now : 0;
}

json_t *
lq_find_var(struct lq_ctx *c, const char *name, int *found)
{
	json_t *v;
	size_t i;

	*found = 1;
	for (i = c->nscopes; i > 0; i--) {
		if ((v = json_object_get(c->scopes[i - 1], name)) != NULL)
			return v;
	}
	if ((v = json_object_get(c->env, name)) != NULL)
		return v;
	*found = 0;
	return NULL;
}

static int
lq_step(struct lq_ctx *c)
{
	if (++c->steps > LIQUID_MAX_STEPS)
		return lq_fail(c, "the template takes more than %d steps to "
		    "render", LIQUID_MAX_STEPS);
	return 0;
}

/* ---- tokenizing (Liquid::Tokenizer) ---------------------------------- */

static void
lq_tk_add(struct lq_ctx *c, size_t *cap, enum lq_ttype t, const char *s,
    size_t n, int line, int col)
{
	if (c->ntk == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		c->tk = xreallocarray(c->tk, *cap, sizeof *c->tk);
	}
	c->tk[c->ntk].t = t;
	c->tk[c->ntk].s = s;
	c->tk[c->ntk].n = n;
	c->tk[c->ntk].line = line;
	c->tk[c->ntk].col = col;
	c->ntk++;
}

/* Advance line/col over s[0..n). */
static void
lq_advance(const char *s, size_t n, int *line, int *col)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80)
			(*col)++;
	}
}

static void
lq_tokenize(struct lq_ctx *c, const char *src, size_t len)
{
	const char *p = src, *end = src + len, *q, *e;
	size_t cap = 0;
	int line = 1, col = 1;

	while (p < end) {
		for (q = p; q + 1 < end; q++) {
			if (q[0] == '{' && (q[1] == '%' || q[1] == '{'))
				break;
		}
		if (q + 1 >= end) {
			lq_tk_add(c, &cap, LT_TEXT, p, (size_t)(end - p), line,
			    col);
			lq_advance(p, (size_t)(end - p), &line, &col);
			break;
		}
		if (q > p) {
			lq_tk_add(c, &cap, LT_TEXT, p, (size_t)(q - p), line,
			    col);
			lq_advance(p, (size_t)(q - p), &line, &col);
		}
		if (q[1] == '%') {
			/* {%.*?%} or, unterminated, {% alone */
			for (e = q + 2; e + 1 < end; e++) {
				if (e[0] == '%' && e[1] == '}')
					break;
			}
			e = e + 1 < end ? e + 2 : q + 2;
			lq_tk_add(c, &cap, LT_TAG, q, (size_t)(e - q), line,
			    col);
		} else {
			/* {{.*?}}? or, with no } at all, {{ alone */
			e = memchr(q + 2, '}', (size_t)(end - q - 2));
			if (e != NULL) {
				e++;
				if (e < end && *e == '}')
					e++;
			} else
				e = q + 2;
			lq_tk_add(c, &cap, LT_VAR, q, (size_t)(e - q), line,
			    col);
		}
		lq_advance(q, (size_t)(e - q), &line, &col);
		p = e;
	}
	c->last_line = line;
}

/* ---- the tree --------------------------------------------------------- */

static struct lq_node *
lq_node_new(enum lq_ntype t, const struct lq_tk *tk)
{
	struct lq_node *n = xcalloc(1, sizeof *n);

	n->t = t;
	n->line = tk->line;
	n->col = tk->col;
	return n;
}

static void
lq_node_free(struct lq_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	free(n->text);
	lq_varexpr_free(n->ve);
	free(n->name);
	for (i = 0; i < n->nbr; i++) {
		lq_cond_free(n->br[i].cond);
		if (n->br[i].owns) {
			lq_body_free(n->br[i].body);
			free(n->br[i].body);
		}
	}
	free(n->br);
	lq_expr_free(n->left);
	lq_body_free(&n->body);
	lq_body_free(&n->else_body);
	lq_expr_free(n->coll);
	lq_expr_free(n->limit);
	lq_expr_free(n->offset);
	lq_expr_free(n->cols);
	free(n->loopname);
	for (i = 0; i < n->ncyc; i++)
		lq_expr_free(n->cyc[i]);
	free(n->cyc);
	lq_expr_free(n->cycname);
	free(n->cyckey);
	free(n);
}

static void
lq_body_free(struct lq_body *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		lq_node_free(b->v[i]);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

static void
lq_body_add(struct lq_body *b, struct lq_node *n)
{
	b->v = xreallocarray(b->v, b->n + 1, sizeof *b->v);
	b->v[b->n++] = n;
}

/* ---- parsing (Liquid::BlockBody, the tags) ---------------------------- */

static int	lq_parse_body(struct lq_ctx *, struct lq_body *, char **,
		    char **);

static int
lq_isspace_rb(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' ||
	    ch == '\f' || ch == '\r' || ch == '\0';
}

/* {%- strips the whitespace before the tag from the previous text. */
static void
lq_rstrip_last(struct lq_body *b)
{
	struct lq_node *n;

	if (b->n == 0 || (n = b->v[b->n - 1])->t != N_TEXT)
		return;
	while (n->tlen > 0 && lq_isspace_rb((unsigned char)
	    n->text[n->tlen - 1]))
		n->tlen--;
	n->text[n->tlen] = '\0';
}

/*
 * A tag token "{%[-] name markup [-]%}": its name and markup (malloc'd).
 * -1 if it does not have that shape (not terminated).
 */
static int
lq_tag_split(const struct lq_tk *tk, char **name, char **markup)
{
	const char *s = tk->s + 2, *e = tk->s + tk->n, *m;

	if (tk->n < 4 || e[-2] != '%' || e[-1] != '}')
		return -1;
	e -= 2;
	if (s < e && *s == '-')
		s++;
	while (s < e && isspace((unsigned char)*s))
		s++;
	m = s;
	while (m < e && (isalnum((unsigned char)*m) || *m == '_'))
		m++;
	if (m == s)
		return -1;
	*name = xstrndup(s, (size_t)(m - s));
	while (m < e && isspace((unsigned char)*m))
		m++;
	if (e > m && e[-1] == '-')
		e--;
	*markup = xstrndup(m, (size_t)(e - m));
	return 0;
}

/* The markup of a tag parsed with the strict parser: 0, or an error. */
static int
lq_perror(struct lq_ctx *c, struct lq_parser *p, const char *what)
{
	int rc;

	if (p->err == NULL)
		return 0;
	rc = lq_fail(c, "%s in \"%s\"", p->err, what);
	return rc;
}

static int
lq_parse_block(struct lq_ctx *c, struct lq_body *body, const char *end,
    const char *block, char **tag, char **markup)
{
	int rc;

	if (c->depth >= LIQUID_MAX_DEPTH)
		return lq_fail(c, "Nesting too deep");
	c->depth++;
	rc = lq_parse_body(c, body, tag, markup);
	c->depth--;
	if (rc != 0)
		return -1;
	if (*tag == NULL)
		return lq_fail(c, "'%s' tag was never closed", block);
	(void)end;
	return 0;
}

/* Block#unknown_tag: the error for a tag a block does not take. */
static int
lq_unknown_in(struct lq_ctx *c, const char *block, const char *tag)
{
	if (strcmp(tag, "else") == 0)
		return lq_fail(c, "%s tag does not expect 'else' tag", block);
	if (strncmp(tag, "end", 3) == 0)
		return lq_fail(c, "'%s' is not a valid delimiter for %s tags. "
		    "use end%s", tag, block, block);
	return lq_fail(c, "Unknown tag '%s'", tag);
}

static struct lq_cond *
lq_cond_markup(struct lq_ctx *c, const char *markup)
{
	struct lq_parser p;
	struct lq_cond *cd;

	lq_parser_init(&p, markup);
	cd = lq_parse_cond(&p);
	if (p.err != NULL || cd == NULL) {
		lq_perror(c, &p, markup);
		if (!c->failed)
			lq_fail(c, "Syntax Error in tag 'if' - Valid syntax: "
			    "if [expression]");
		lq_cond_free(cd);
		cd = NULL;
	}
	lq_parser_free(&p);
	return cd;
}

static int
lq_branch_add(struct lq_node *n, struct lq_cond *cd, struct lq_body *body,
    int owns)
{
	n->br = xreallocarray(n->br, n->nbr + 1, sizeof *n->br);
	n->br[n->nbr].cond = cd;
	n->br[n->nbr].body = body;
	n->br[n->nbr].owns = owns;
	n->nbr++;
	return 0;
}

static int
lq_parse_if(struct lq_ctx *c, struct lq_node *n, const char *block,
    const char *markup)
{
	struct lq_cond *cd;
	struct lq_body *body;
	char *tag = NULL, *m = NULL, *cur = xstrdup(markup), *curtag;

	curtag = xstrdup(block);
	for (;;) {
		if (strcmp(curtag, "else") == 0) {
			cd = xcalloc(1, sizeof *cd);
			cd->is_else = 1;
		} else if ((cd = lq_cond_markup(c, cur)) == NULL)
			goto bad;
		body = xcalloc(1, sizeof *body);
		lq_branch_add(n, cd, body, 1);
		if (lq_parse_block(c, body, NULL, block, &tag, &m) != 0)
			goto bad;
		if (strcmp(tag, strcmp(block, "if") == 0 ? "endif" :
		    "endunless") == 0)
			break;
		if (strcmp(tag, "elsif") != 0 && strcmp(tag, "else") != 0) {
			lq_unknown_in(c, block, tag);
			goto bad;
		}
		free(cur);
		free(curtag);
		cur = m;
		curtag = tag;
		m = tag = NULL;
	}
	free(tag);
	free(m);
	free(cur);
	free(curtag);
	return 0;
bad:
	free(tag);
	free(m);
	free(cur);
	free(curtag);
	return -1;
}

/* A lone expression with nothing after it (limit:, cols:, cycle values). */
static struct lq_expr *
lq_expr_markup(struct lq_ctx *c, const char *markup, int rest_ok)
{
	struct lq_parser p;
	struct lq_expr *e;

	lq_parser_init(&p, markup);
	e = lq_parse_expr(&p);
	if (e != NULL && !rest_ok && lq_consume(&p, LQT_END) != 0) {
		lq_expr_free(e);
		e = NULL;
	}
	if (e == NULL) {
		lq_perror(c, &p, markup);
		lq_fail(c, "\"%s\" is not a valid expression", markup);
	}
	lq_parser_free(&p);
	return e;
}

/* case: `case x`, then `when a, b or c` and `else` (Liquid::Case). */
static int
lq_parse_case(struct lq_ctx *c, struct lq_node *n, const char *markup)
{
	struct lq_body junk = { NULL, 0 }, *body;
	struct lq_parser p;
	struct lq_cond *cd;
	struct lq_expr *e;
	char *tag = NULL, *m = NULL;
	int first;

	if ((n->left = lq_expr_markup(c, markup, 1)) == NULL) {
		if (!c->failed)
			lq_fail(c, "Syntax Error in 'case' - Valid syntax: "
			    "case [condition]");
		return -1;
	}
	/* Text before the first when is parsed and dropped. */
	if (lq_parse_block(c, &junk, NULL, "case", &tag, &m) != 0)
		goto bad;
	lq_body_free(&junk);
	for (;;) {
		if (strcmp(tag, "endcase") == 0)
			break;
		body = xcalloc(1, sizeof *body);
		if (strcmp(tag, "when") == 0) {
			lq_parser_init(&p, m);
			first = 1;
			for (;;) {
				if ((e = lq_parse_expr(&p)) == NULL) {
					lq_parser_free(&p);
					lq_fail(c, "Syntax Error in tag 'case' "
					    "- Valid when condition: {%% when "
					    "[condition] [or condition2...] "
					    "%%}");
					if (first) {
						/* no branch owns it yet */
						lq_body_free(body);
						free(body);
					}
					goto bad;
				}
				cd = xcalloc(1, sizeof *cd);
				cd->left = lq_expr_lit(lqv_null());
				strcpy(cd->op, "==");
				cd->right = e;
				lq_branch_add(n, cd, body, first);
				first = 0;
				if (lq_look(&p, LQT_COMMA, 0))
					p.p++;
				else if (!lq_id(&p, "or"))
					break;
			}
			lq_parser_free(&p);
		} else if (strcmp(tag, "else") == 0) {
			if (*m != '\0') {
				free(body);
				lq_fail(c, "Syntax Error in tag 'case' - Valid "
				    "else condition: {%% else %%} (no "
				    "parameters)");
				goto bad;
			}
			cd = xcalloc(1, sizeof *cd);
			cd->is_else = 1;
			lq_branch_add(n, cd, body, 1);
		} else {
			free(body);
			lq_unknown_in(c, "case", tag);
			goto bad;
		}
		free(tag);
		free(m);
		tag = m = NULL;
		if (lq_parse_block(c, body, NULL, "case", &tag, &m) != 0)
			goto bad;
	}
	free(tag);
	free(m);
	return 0;
bad:
	lq_body_free(&junk);
	free(tag);
	free(m);
	return -1;
}

/* for x in coll [reversed] [limit: e] [offset: e|continue] (strict). */
static int
lq_parse_for(struct lq_ctx *c, struct lq_node *n, const char *markup,
    int tablerow)
{
	struct lq_parser p;
	struct lq_token *k;
	const char *cstart;
	char *tag = NULL, *m = NULL;
	struct lq_expr **slot;
	size_t cend;

	lq_parser_init(&p, markup);
	k = &p.tok[p.p];
	if (k->t != LQT_ID) {
		lq_parser_free(&p);
		return lq_fail(c, "Syntax Error in '%s loop' - Valid syntax: "
		    "%s [item] in [collection]", tablerow ? "table_row" :
		    "for", tablerow ? "table_row" : "for");
	}
	n->name = xstrndup(k->s, k->n);
	p.p++;
	if (!lq_id(&p, "in")) {
		lq_parser_free(&p);
		return lq_fail(c, "For loops require an 'in' clause");
	}
	cstart = p.tok[p.p].s;
	if ((n->coll = lq_parse_expr(&p)) == NULL) {
		lq_perror(c, &p, markup);
		lq_parser_free(&p);
		return -1;
	}
	cend = (size_t)(p.tok[p.p - 1].s + p.tok[p.p - 1].n - cstart);
	xasprintf(&n->loopname, "%s-%.*s", n->name, (int)cend, cstart);
	if (!tablerow)
		n->reversed = lq_id(&p, "reversed");
	while (lq_look(&p, LQT_ID, 0) && lq_look(&p, LQT_COLON, 1)) {
		k = &p.tok[p.p];
		if (k->n == 5 && strncmp(k->s, "limit", 5) == 0)
			slot = &n->limit;
		else if (k->n == 6 && strncmp(k->s, "offset", 6) == 0)
			slot = &n->offset;
		else if (tablerow && k->n == 4 && strncmp(k->s, "cols", 4) == 0)
			slot = &n->cols;
		else {
			lq_parser_free(&p);
			return lq_fail(c, "Invalid attribute in for loop. Valid "
			    "attributes are limit and offset");
		}
		p.p += 2;
		if (slot == &n->offset && p.tok[p.p].t == LQT_ID &&
		    p.tok[p.p].n == 8 && strncmp(p.tok[p.p].s, "continue",
		    8) == 0 && (p.tok[p.p + 1].t == LQT_END ||
		    p.tok[p.p + 1].t == LQT_ID)) {
			n->offset_continue = 1;
			p.p++;
			continue;
		}
		lq_expr_free(*slot);
		if ((*slot = lq_parse_expr(&p)) == NULL) {
			lq_perror(c, &p, markup);
			lq_parser_free(&p);
			return -1;
		}
	}
	if (lq_consume(&p, LQT_END) != 0) {
		lq_perror(c, &p, markup);
		lq_parser_free(&p);
		return -1;
	}
	lq_parser_free(&p);
	if (lq_parse_block(c, &n->body, NULL, tablerow ? "tablerow" : "for",
	    &tag, &m) != 0)
		goto bad;
	if (!tablerow && strcmp(tag, "else") == 0) {
		free(tag);
		free(m);
		tag = m = NULL;
		n->has_else = 1;
		if (lq_parse_block(c, &n->else_body, NULL, "for", &tag,
		    &m) != 0)
			goto bad;
	}
	if (strcmp(tag, tablerow ? "endtablerow" : "endfor") != 0) {
		lq_unknown_in(c, tablerow ? "tablerow" : "for", tag);
		goto bad;
	}
	free(tag);
	free(m);
	return 0;
bad:
	free(tag);
	free(m);
	return -1;
}

/* The body of a block that ends at end<name> and takes no other tags. */
static int
lq_parse_plain_block(struct lq_ctx *c, struct lq_body *body,
    const char *block, int ignore_unknown)
{
	char *tag = NULL, *m = NULL, end[32];

	snprintf(end, sizeof end, "end%s", block);
	for (;;) {
		if (lq_parse_block(c, body, NULL, block, &tag, &m) != 0)
			goto bad;
		if (strcmp(tag, end) == 0)
			break;
		if (!ignore_unknown) {
			lq_unknown_in(c, block, tag);
			goto bad;
		}
		free(tag);
		free(m);
		tag = m = NULL;
	}
	free(tag);
	free(m);
	return 0;
bad:
	free(tag);
	free(m);
	return -1;
}

/* {% raw %}...{% endraw %}: the tokens in between, as they are. */
static int
lq_parse_raw(struct lq_ctx *c, struct lq_node *n, const char *markup)
{
	struct buf b = { NULL, 0, 0 };
	const struct lq_tk *tk;
	char *name, *mk;

	if (*markup != '\0')
		return lq_fail(c, "Syntax Error in 'raw' - Valid syntax: raw");
	while (c->pos < c->ntk) {
		tk = &c->tk[c->pos++];
		if (tk->t == LT_TAG && lq_tag_split(tk, &name, &mk) == 0) {
			int end = strcmp(name, "endraw") == 0;

			free(name);
			free(mk);
			if (end) {
				n->text = b.data != NULL ? b.data : xstrdup("");
				n->tlen = b.len;
				return 0;
			}
		}
		buf_append(&b, tk->s, tk->n);
	}
	buf_free(&b);
	return lq_fail(c, "'raw' tag was never closed");
}

/* cycle [name:] a, b, c */
static int
lq_parse_cycle(struct lq_ctx *c, struct lq_node *n, const char *markup)
{
	struct lq_parser p;
	struct lq_expr *e;

	lq_parser_init(&p, markup);
	if ((lq_look(&p, LQT_STRING, 0) || lq_look(&p, LQT_ID, 0) ||
	    lq_look(&p, LQT_NUMBER, 0)) && lq_look(&p, LQT_COLON, 1)) {
		n->cycname = lq_parse_expr(&p);
		p.p++;
	} else
		n->cyckey = xstrdup(markup);
	for (;;) {
		if ((e = lq_parse_expr(&p)) == NULL) {
			lq_perror(c, &p, markup);
			lq_parser_free(&p);
			return lq_fail(c, "Syntax Error in 'cycle' - Valid "
			    "syntax: cycle [name :] var [, var2, var3 ...]");
		}
		n->cyc = xreallocarray(n->cyc, n->ncyc + 1, sizeof *n->cyc);
		n->cyc[n->ncyc++] = e;
		if (!lq_look(&p, LQT_COMMA, 0))
			break;
		p.p++;
	}
	if (lq_consume(&p, LQT_END) != 0) {
		lq_perror(c, &p, markup);
		lq_parser_free(&p);
		return -1;
	}
	lq_parser_free(&p);
	return 0;
}

/* A name as assign and capture take it: [\w\-.\[\]]+ */
static size_t
lq_signature(const char *s)
{
	size_t i = 0;

	while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' ||
	    s[i] == '.' || s[i] == '[' || s[i] == ']')
		i++;
	return i;
}

static struct lq_node *
lq_parse_tag(struct lq_ctx *c, const struct lq_tk *tk, const char *name,
    const char *markup)
{
	struct lq_node *n;
	struct lq_parser p;
	const char *eq;
	size_t sl;

	c->line = tk->line;
	c->col = tk->col;
	if (strcmp(name, "if") == 0 || strcmp(name, "unless") == 0) {
		n = lq_node_new(strcmp(name, "if") == 0 ? N_IF : N_UNLESS, tk);
		if (lq_parse_if(c, n, name, markup) != 0)
			goto bad;
	} else if (strcmp(name, "case") == 0) {
		n = lq_node_new(N_CASE, tk);
		if (lq_parse_case(c, n, markup) != 0)
			goto bad;
	} else if (strcmp(name, "for") == 0 || strcmp(name, "tablerow") == 0) {
		n = lq_node_new(name[0] == 'f' ? N_FOR : N_TABLEROW, tk);
		if (lq_parse_for(c, n, markup, name[0] == 't') != 0)
			goto bad;
	} else if (strcmp(name, "assign") == 0) {
		n = lq_node_new(N_ASSIGN, tk);
		sl = lq_signature(markup);
		eq = markup + sl;
		while (isspace((unsigned char)*eq))
			eq++;
		if (sl == 0 || *eq != '=') {
			lq_fail(c, "Syntax Error in 'assign' - Valid syntax: "
			    "assign [var] = [source]");
			goto bad;
		}
		n->name = xstrndup(markup, sl);
		lq_parser_init(&p, eq + 1);
		n->ve = lq_parse_varexpr(&p);
		if (n->ve == NULL || p.err != NULL) {
			lq_perror(c, &p, markup);
			lq_parser_free(&p);
			goto bad;
		}
		lq_parser_free(&p);
	} else if (strcmp(name, "capture") == 0) {
		n = lq_node_new(N_CAPTURE, tk);
		if ((sl = lq_signature(markup)) == 0) {
			lq_fail(c, "Syntax Error in 'capture' - Valid syntax: "
			    "capture [var]");
			goto bad;
		}
		n->name = xstrndup(markup, sl);
		if (lq_parse_plain_block(c, &n->body, "capture", 0) != 0)
			goto bad;
	} else if (strcmp(name, "comment") == 0) {
		n = lq_node_new(N_COMMENT, tk);
		if (lq_parse_plain_block(c, &n->body, "comment", 1) != 0)
			goto bad;
	} else if (strcmp(name, "ifchanged") == 0) {
		n = lq_node_new(N_IFCHANGED, tk);
		if (lq_parse_plain_block(c, &n->body, "ifchanged", 0) != 0)
			goto bad;
	} else if (strcmp(name, "raw") == 0) {
		n = lq_node_new(N_RAW, tk);
		if (lq_parse_raw(c, n, markup) != 0)
			goto bad;
	} else if (strcmp(name, "break") == 0) {
		n = lq_node_new(N_BREAK, tk);
	} else if (strcmp(name, "continue") == 0) {
		n = lq_node_new(N_CONTINUE, tk);
	} else if (strcmp(name, "cycle") == 0) {
		n = lq_node_new(N_CYCLE, tk);
		if (lq_parse_cycle(c, n, markup) != 0)
			goto bad;
	} else if (strcmp(name, "increment") == 0 ||
	    strcmp(name, "decrement") == 0) {
		n = lq_node_new(name[0] == 'i' ? N_INCREMENT : N_DECREMENT, tk);
		n->name = xstrdup(markup);
		sl = strlen(n->name);
		while (sl > 0 && isspace((unsigned char)n->name[sl - 1]))
			n->name[--sl] = '\0';
	} else if (strcmp(name, "include") == 0) {
		n = lq_node_new(N_INCLUDE, tk);
	} else
		return NULL;	/* not a tag: the caller's business */
	return n;
bad:
	lq_node_free(n);
	return (struct lq_node *)-1;
}

/*
 * Parse nodes into body until a tag that is not a registered tag: its name
 * and markup go to *tag and *markup (malloc'd), or both stay NULL at the
 * end of the source. 0, or -1 after an error.
 */
static int
lq_parse_body(struct lq_ctx *c, struct lq_body *body, char **tag,
    char **markup)
{
	const struct lq_tk *tk;
	struct lq_node *n;
	char *name, *mk;
	const char *s, *e;
	struct lq_parser p;

	*tag = *markup = NULL;
	while (c->pos < c->ntk) {
		tk = &c->tk[c->pos++];
		c->line = tk->line;
		c->col = tk->col;
		switch (tk->t) {
		case LT_TEXT:
			n = lq_node_new(N_TEXT, tk);
			s = tk->s;
			e = tk->s + tk->n;
			if (c->trim_next)
				while (s < e && lq_isspace_rb((unsigned char)*s))
				{
					if (*s == '\n') {
						n->line++;
						n->col = 1;
					}
					s++;
				}
			c->trim_next = 0;
			n->tlen = (size_t)(e - s);
			n->text = xmalloc(n->tlen + 1);
			memcpy(n->text, s, n->tlen);
			n->text[n->tlen] = '\0';
			lq_body_add(body, n);
			break;
		case LT_VAR:
			if (tk->n > 2 && tk->s[2] == '-')
				lq_rstrip_last(body);
			c->trim_next = tk->n >= 5 && tk->s[tk->n - 3] == '-' &&
			    tk->s[tk->n - 1] == '}' && tk->s[tk->n - 2] == '}';
			if (tk->n < 4 || tk->s[tk->n - 1] != '}' ||
			    tk->s[tk->n - 2] != '}')
				return lq_fail(c, "Variable '%.*s' was not "
				    "properly terminated with regexp: /\\}\\}/",
				    (int)(tk->n > 40 ? 40 : tk->n), tk->s);
			s = tk->s + 2;
			e = tk->s + tk->n - 2;
			if (s < e && *s == '-')
				s++;
			if (e > s && e[-1] == '-')
				e--;
			mk = xstrndup(s, (size_t)(e - s));
			n = lq_node_new(N_OUTPUT, tk);
			lq_parser_init(&p, mk);
			n->ve = lq_parse_varexpr(&p);
			if (n->ve == NULL || p.err != NULL) {
				c->line = tk->line;
				lq_fail(c, "%s in \"{{%s}}\"", p.err != NULL ?
				    p.err : "invalid output", mk);
				lq_parser_free(&p);
				lq_node_free(n);
				free(mk);
				return -1;
			}
			lq_parser_free(&p);
			free(mk);
			lq_body_add(body, n);
			break;
		case LT_TAG:
			if (tk->n > 2 && tk->s[2] == '-')
				lq_rstrip_last(body);
			c->trim_next = tk->n >= 5 && tk->s[tk->n - 3] == '-';
			if (lq_tag_split(tk, &name, &mk) != 0)
				return lq_fail(c, "Tag '%.*s' was not properly "
				    "terminated with regexp: /\\%%\\}/",
				    (int)(tk->n > 40 ? 40 : tk->n), tk->s);
			n = lq_parse_tag(c, tk, name, mk);
			if (n == (struct lq_node *)-1) {
				free(name);
				free(mk);
				return -1;
			}
			if (n == NULL) {
				*tag = name;
				*markup = mk;
				c->line = tk->line;
				c->col = tk->col;
				return 0;
			}
			free(name);
			free(mk);
			lq_body_add(body, n);
			break;
		}
	}
	return 0;
}

/* ---- output with the line map ---------------------------------------- */

static int
lq_emit(struct lq_ctx *c, const char *s, size_t n, int line, int advance)
{
	size_t i, start = 0;

	if (c->out != &c->main) {
		if (lq_charge(c, n) != 0)
			return -1;
		buf_append(c->out, s, n);
		return 0;
	}
	if (c->main.len + n > LIQUID_MAX_OUTPUT)
		return lq_fail(c, "the rendered template is larger than %d "
		    "bytes", LIQUID_MAX_OUTPUT);
	for (i = 0; i < n; i++) {
		if (c->need_line) {
			if (c->nlines == c->lcap) {
				c->lcap = c->lcap ? c->lcap * 2 : 256;
				c->lines = xreallocarray(c->lines, c->lcap,
				    sizeof *c->lines);
			}
			c->lines[c->nlines++] = line;
			c->need_line = 0;
		}
		if (s[i] == '\n') {
			c->need_line = 1;
			if (advance)
				line++;
		}
	}
	(void)start;
	buf_append(&c->main, s, n);
	return 0;
}

static int
lq_emit_value(struct lq_ctx *c, const struct lqv *v, int line)
{
	struct buf b = { NULL, 0, 0 };
	int rc;

	lq_to_s(v, &b, 0);
	rc = lq_emit(c, b.data != NULL ? b.data : "", b.len, line, 0);
	buf_free(&b);
	return rc;
}

/* ---- rendering -------------------------------------------------------- */

static int	lq_render_body(struct lq_ctx *, const struct lq_body *);

static void
lq_push_scope(struct lq_ctx *c)
{
	c->scopes = xreallocarray(c->scopes, c->nscopes + 1,
	    sizeof *c->scopes);
	c->scopes[c->nscopes++] = json_object();
}

static void
lq_pop_scope(struct lq_ctx *c)
{
	json_decref(c->scopes[--c->nscopes]);
}

/* Render body into a string (capture, ifchanged). */
static int
lq_render_to(struct lq_ctx *c, const struct lq_body *body, struct buf *b)
{
	struct buf *save = c->out;
	int rc;

	c->out = b;
	rc = lq_render_body(c, body);
	c->out = save;
	return rc;
}

/* Utils.slice_collection over a for loop's collection. */
static json_t *
lq_collection(struct lq_ctx *c, struct lqv *coll)
{
	json_t *arr, *v;
	const char *k;

	if (coll->k == LQ_RANGE)
		return lq_range_array(c, coll->r0, coll->r1);
	if (coll->k != LQ_JSON)
		return json_array();
	if (json_is_array(coll->j))
		return json_incref(coll->j);
	if (json_is_string(coll->j))
		return json_string_length(coll->j) == 0 ? json_array() :
		    json_pack("[O]", coll->j);
	if (json_is_object(coll->j)) {
		arr = json_array();
		json_object_foreach(coll->j, k, v)
			json_array_append_new(arr, json_pack("[sO]", k, v));
		return arr;
	}
	return json_array();
}

/* Ruby's to_i of a for loop's limit/offset value. */
static int
lq_loop_int(struct lq_ctx *c, const struct lqv *v, long long *out)
{
	char *s;

	if (lqv_is_nil(v)) {
		*out = 0;
		return 0;
	}
	if (v->k == LQ_JSON && json_is_integer(v->j)) {
		*out = json_integer_value(v->j);
		return 0;
	}
	if (v->k == LQ_JSON && json_is_real(v->j)) {
		*out = (long long)json_real_value(v->j);
		return 0;
	}
	if (v->k == LQ_JSON && json_is_string(v->j)) {
		s = lq_str(v);
		*out = strtoll(s, NULL, 10);
		free(s);
		return 0;
	}
	return lq_fail(c, "undefined method `to_i' for a %s",
	    v->k == LQ_JSON && json_is_boolean(v->j) ? "boolean" :
	    "collection");
}

static int
lq_render_for(struct lq_ctx *c, const struct lq_node *n)
{
	struct lqv coll, lim, off;
	json_t *items, *seg, *loop, *prev, *item;
	long long from = 0, to = 0, len, i, cols = 0, row = 1, col = 0;
	size_t k;
	int rc = -1, tab = n->t == N_TABLEROW, has_to = 0;

	if (n->offset_continue) {
		from = json_integer_value(json_object_get(c->for_offsets,
		    n->loopname));
	} else if (n->offset != NULL) {
		if (lq_eval(c, n->offset, &off) != 0)
			return -1;
		rc = lq_loop_int(c, &off, &from);
		lqv_free(&off);
		if (rc != 0)
			return -1;
	}
	if (lq_eval(c, n->coll, &coll) != 0)
		return -1;
	items = lq_collection(c, &coll);
	lqv_free(&coll);
	if (items == NULL)
		return -1;
	if (n->limit != NULL) {
		if (lq_eval(c, n->limit, &lim) != 0) {
			json_decref(items);
			return -1;
		}
		if (!lqv_is_nil(&lim)) {
			if (lq_loop_int(c, &lim, &to) != 0) {
				lqv_free(&lim);
				json_decref(items);
				return -1;
			}
			to += from;
			has_to = 1;
		}
		lqv_free(&lim);
	}
	if (tab && n->cols != NULL) {
		struct lqv cv;

		if (lq_eval(c, n->cols, &cv) != 0 ||
		    lq_loop_int(c, &cv, &cols) != 0) {
			json_decref(items);
			return -1;
		}
		lqv_free(&cv);
	}
	seg = json_array();
	for (k = 0; k < json_array_size(items); k++) {
		if (has_to && to <= (long long)k)
			break;
		if ((long long)k >= from)
			json_array_append(seg, json_array_get(items, k));
	}
	json_decref(items);
	if (n->reversed) {
		json_t *r = json_array();

		for (k = json_array_size(seg); k > 0; k--)
			json_array_append(r, json_array_get(seg, k - 1));
		json_decref(seg);
		seg = r;
	}
	len = (long long)json_array_size(seg);
	json_object_set_new(c->for_offsets, n->loopname,
	    json_integer(from + len));
	if (len == 0) {
		json_decref(seg);
		if (tab)
			return lq_emit(c, "<tr class=\"row1\">\n</tr>\n", 24,
			    n->line, 0);
		return n->has_else ? lq_render_body(c, &n->else_body) : 0;
	}
	lq_push_scope(c);
	prev = json_array_size(c->forloops) > 0 ? json_array_get(c->forloops,
	    json_array_size(c->forloops) - 1) : json_null();
	loop = json_pack("{s:s, s:I, s:O}", "name", n->loopname, "length",
	    (json_int_t)len, "parentloop", prev);
	json_array_append(c->forloops, loop);
	json_object_set(c->scopes[c->nscopes - 1], tab ? "tablerowloop" :
	    "forloop", loop);
	if (tab && lq_emit(c, "<tr class=\"row1\">\n", 18, n->line, 0) != 0)
		goto out;
	for (i = 0; i < len; i++) {
		if (lq_step(c) != 0)
			goto out;
		item = json_array_get(seg, (size_t)i);
		json_object_set(c->scopes[c->nscopes - 1], n->name, item);
		json_object_set_new(loop, "index", json_integer(i + 1));
		json_object_set_new(loop, "index0", json_integer(i));
		json_object_set_new(loop, "rindex", json_integer(len - i));
		json_object_set_new(loop, "rindex0", json_integer(len - i - 1));
		json_object_set_new(loop, "first", json_boolean(i == 0));
		json_object_set_new(loop, "last", json_boolean(i == len - 1));
		if (tab) {
			col++;
			json_object_set_new(loop, "col", json_integer(col));
			json_object_set_new(loop, "col0", json_integer(col - 1));
			json_object_set_new(loop, "row", json_integer(row));
			json_object_set_new(loop, "col_first",
			    json_boolean(col == 1));
			json_object_set_new(loop, "col_last",
			    json_boolean(cols > 0 && col == cols));
			{
				char td[48];

				snprintf(td, sizeof td, "<td class=\"col%lld\">",
				    col);
				if (lq_emit(c, td, strlen(td), n->line, 0) != 0)
					goto out;
			}
		}
		if (lq_render_body(c, &n->body) != 0)
			goto out;
		if (tab) {
			if (lq_emit(c, "</td>", 5, n->line, 0) != 0)
				goto out;
			if (cols > 0 && col == cols && i < len - 1) {
				char tr[48];

				col = 0;
				row++;
				snprintf(tr, sizeof tr, "</tr>\n<tr class=\"row"
				    "%lld\">", row);
				if (lq_emit(c, tr, strlen(tr), n->line, 0) != 0)
					goto out;
			}
		}
		if (c->interrupt == 'b') {
			c->interrupt = 0;
			break;
		}
		c->interrupt = 0;
	}
	if (tab && lq_emit(c, "</tr>\n", 6, n->line, 0) != 0)
		goto out;
	rc = 0;
out:
	json_array_remove(c->forloops, json_array_size(c->forloops) - 1);
	json_decref(loop);
	json_decref(seg);
	lq_pop_scope(c);
	return rc;
}

static int
lq_render_node(struct lq_ctx *c, const struct lq_node *n)
{
	struct lqv v, w;
	struct buf b = { NULL, 0, 0 };
	json_t *cur;
	char *key;
	size_t i;
	long long x;
	int res, rc = 0, any;

	c->line = n->line;
	c->col = n->col;
	if (lq_step(c) != 0)
		return -1;
	switch (n->t) {
	case N_TEXT:
	case N_RAW:
		return lq_emit(c, n->text, n->tlen, n->line, n->t == N_TEXT);
	case N_OUTPUT:
		if (lq_eval_varexpr(c, n->ve, &v) != 0)
			return -1;
		rc = lq_emit_value(c, &v, n->line);
		lqv_free(&v);
		return rc;
	case N_IF:
	case N_UNLESS:
		for (i = 0; i < n->nbr; i++) {
			if (lq_eval_cond(c, n->br[i].cond, &res) != 0)
				return -1;
			if (n->t == N_UNLESS && i == 0)
				res = !res;
			if (res)
				return lq_render_body(c, n->br[i].body);
		}
		return 0;
	case N_CASE:
		if (lq_eval(c, n->left, &v) != 0)
			return -1;
		any = 0;
		for (i = 0; i < n->nbr && rc == 0; i++) {
			if (n->br[i].cond->is_else) {
				if (!any) {
					rc = lq_render_body(c, n->br[i].body);
					break;
				}
				continue;
			}
			if (lq_eval(c, n->br[i].cond->right, &w) != 0) {
				rc = -1;
				break;
			}
			if (lq_equal(&v, &w)) {
				any = 1;
				rc = lq_render_body(c, n->br[i].body);
			}
			lqv_free(&w);
		}
		lqv_free(&v);
		return rc;
	case N_FOR:
	case N_TABLEROW:
		return lq_render_for(c, n);
	case N_ASSIGN:
		if (lq_eval_varexpr(c, n->ve, &v) != 0)
			return -1;
		if (v.k == LQ_RANGE) {
			/* A range assigned stays a range: keep it as JSON. */
			json_t *a = lq_range_array(c, v.r0, v.r1);

			if (a == NULL)
				return -1;
			lqv_free(&v);
			v = lqv_json(a);
		}
		if (v.k == LQ_JSON && json_is_string(v.j) &&
		    lq_charge(c, json_string_length(v.j)) != 0) {
			lqv_free(&v);
			return -1;
		}
		json_object_set(c->scopes[0], n->name, v.k == LQ_JSON ? v.j :
		    json_string(""));
		lqv_free(&v);
		return 0;
	case N_CAPTURE:
		if (lq_render_to(c, &n->body, &b) != 0) {
			buf_free(&b);
			return -1;
		}
		json_object_set_new(c->scopes[0], n->name,
		    json_stringn(b.data != NULL ? b.data : "", b.len));
		buf_free(&b);
		return 0;
	case N_COMMENT:
		return 0;
	case N_BREAK:
		c->interrupt = 'b';
		return 0;
	case N_CONTINUE:
		c->interrupt = 'c';
		return 0;
	case N_CYCLE:
		if (n->cycname != NULL) {
			if (lq_eval(c, n->cycname, &v) != 0)
				return -1;
			key = lq_str(&v);
			lqv_free(&v);
		} else
			key = xstrdup(n->cyckey);
		x = json_integer_value(json_object_get(c->cycles, key));
		if (x < 0 || (size_t)x >= n->ncyc)
			x = 0;
		if (lq_eval(c, n->cyc[x], &v) != 0) {
			free(key);
			return -1;
		}
		json_object_set_new(c->cycles, key, json_integer(
		    (size_t)x + 1 >= n->ncyc ? 0 : x + 1));
		free(key);
		rc = lq_emit_value(c, &v, n->line);
		lqv_free(&v);
		return rc;
	case N_INCREMENT:
	case N_DECREMENT:
		cur = json_object_get(c->env, n->name);
		if (cur == NULL || json_is_null(cur))
			x = 0;
		else if (json_is_integer(cur))
			x = json_integer_value(cur);
		else
			return lq_fail(c, "%s can't be coerced into Integer",
			    json_is_string(cur) ? "String" : "value");
		if (n->t == N_DECREMENT)
			x--;
		json_object_set_new(c->env, n->name, json_integer(
		    n->t == N_INCREMENT ? x + 1 : x));
		{
			char num[32];

			snprintf(num, sizeof num, "%lld", x);
			return lq_emit(c, num, strlen(num), n->line, 0);
		}
	case N_IFCHANGED:
		if (lq_render_to(c, &n->body, &b) != 0) {
			buf_free(&b);
			return -1;
		}
		if (c->ifchanged == NULL || strcmp(c->ifchanged,
		    b.data != NULL ? b.data : "") != 0) {
			free(c->ifchanged);
			c->ifchanged = xstrdup(b.data != NULL ? b.data : "");
			rc = lq_emit(c, c->ifchanged, b.len, n->line, 0);
		}
		buf_free(&b);
		return rc;
	case N_INCLUDE:
		return lq_fail(c, "This liquid context does not allow includes "
		    "(a stack file has no template file system)");
	}
	return 0;
}

static int
lq_render_body(struct lq_ctx *c, const struct lq_body *body)
{
	size_t i;

	for (i = 0; i < body->n; i++) {
		if (lq_render_node(c, body->v[i]) != 0)
			return -1;
		if (c->interrupt)
			break;
	}
	return 0;
}

/* ---- the entry points ------------------------------------------------- */

int
liquid_has_tags(const char *src, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (src[i] == '{' && (src[i + 1] == '%' || src[i + 1] == '{'))
			return 1;
	}
	return 0;
}

void
liquid_output_free(struct liquid_output *out)
{
	free(out->text);
	free(out->lines);
	memset(out, 0, sizeof *out);
}

void
liquid_error_clear(struct liquid_error *err)
{
	free(err->message);
	memset(err, 0, sizeof *err);
}

int
liquid_render(const char *src, size_t len, json_t *vars,
    const struct liquid_opts *opts, struct liquid_output *out,
    struct liquid_error *err)
{
	struct lq_ctx c;
	struct lq_body root = { NULL, 0 };
	char *tag = NULL, *markup = NULL;
	int rc = -1;

	memset(&c, 0, sizeof c);
	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	c.err = err;
	c.opts = opts;
	c.syntax = 1;
	lq_tokenize(&c, src, len);
	if (lq_parse_body(&c, &root, &tag, &markup) != 0)
		goto out;
	if (tag != NULL) {
		/* Document#unknown_tag */
		if (strcmp(tag, "else") == 0 || strcmp(tag, "end") == 0)
			lq_fail(&c, "Unexpected outer '%s' tag", tag);
		else
			lq_fail(&c, "Unknown tag '%s'", tag);
		goto out;
	}
	c.syntax = 0;
	c.env = json_is_object(vars) ? json_copy(vars) : json_object();
	lq_push_scope(&c);
	c.forloops = json_array();
	c.for_offsets = json_object();
	c.cycles = json_object();
	c.out = &c.main;
	c.need_line = 1;
	if (lq_render_body(&c, &root) != 0)
		goto out;
	/* The line after a final newline is the template's last. */
	if (c.need_line) {
		c.need_line = 0;
		c.lines = xreallocarray(c.lines, c.nlines + 1,
		    sizeof *c.lines);
		c.lines[c.nlines++] = c.last_line;
	}
	out->text = c.main.data != NULL ? c.main.data : xstrdup("");
	out->len = c.main.len;
	c.main.data = NULL;
	if (c.nlines == 0) {
		c.lines = xcalloc(1, sizeof *c.lines);
		c.lines[0] = 1;
		c.nlines = 1;
	}
	out->lines = c.lines;
	out->nlines = c.nlines;
	c.lines = NULL;
	rc = 0;
out:
	free(tag);
	free(markup);
	lq_body_free(&root);
	free(c.tk);
	while (c.nscopes > 0)
		lq_pop_scope(&c);
	free(c.scopes);
	json_decref(c.env);
	json_decref(c.forloops);
	json_decref(c.for_offsets);
	json_decref(c.cycles);
	free(c.ifchanged);
	buf_free(&c.main);
	free(c.lines);
	if (rc != 0 && err->message == NULL) {
		err->message = xstrdup("Liquid error: internal error");
		err->line = c.line;
	}
	return rc;
}
