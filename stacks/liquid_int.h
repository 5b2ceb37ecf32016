/*
 * liquid_int.h - what the files of the Liquid engine share.
 *
 * liquid.c tokenizes a template and parses it into a tree of struct
 * lq_node, then renders the tree; liquid_expr.c lexes tag markup and
 * parses and evaluates expressions, conditions and values (with Ruby's
 * semantics for comparison, truthiness and to_s); liquid_filters.c holds
 * the standard filters. Everything of one render lives in one struct
 * lq_ctx.
 */
#ifndef BERTH_LIQUID_INT_H
#define BERTH_LIQUID_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "stacks/liquid.h"
#include "common/util.h"

/* A value: a jansson value, or one of Liquid's own kinds. */
enum lq_kind {
	LQ_JSON = 0,		/* j holds it (null, bool, number, ...) */
	LQ_RANGE,		/* r0..r1, inclusive */
	LQ_EMPTY,		/* the `empty` literal */
	LQ_BLANK,		/* the `blank` literal */
};

struct lqv {
	enum lq_kind	 k;	/* which */
	json_t		*j;	/* LQ_JSON: a reference we own */
	long long	 r0, r1; /* LQ_RANGE */
};

/* An expression. */
enum lq_etype {
	LQE_LIT = 0,		/* lit */
	LQE_RANGE,		/* a .. b */
	LQE_LOOKUP,		/* name, then lookups */
};

struct lq_lookup {
	struct lq_expr	*key;	/* [expr], or a literal string (.key) */
	int		 command; /* .size/.first/.last without brackets */
};

struct lq_expr {
	enum lq_etype	 t;
	struct lqv	 lit;	/* LQE_LIT */
	struct lq_expr	*a, *b;	/* LQE_RANGE */
	char		*name;	/* LQE_LOOKUP: the variable */
	struct lq_lookup *lk;	/* then these, in order */
	size_t		 nlk;
	char		*markup; /* as written (for offset: continue, names) */
};

/* An expression with filters: {{ x | f: a, k: b }} and assign's source. */
struct lq_filter {
	char		 *name;
	struct lq_expr	**args;		/* positional */
	size_t		  nargs;
	char		**kwnames;	/* keyword arguments */
	struct lq_expr	**kwargs;
	size_t		  nkw;
};

struct lq_varexpr {
	struct lq_expr	 *e;
	struct lq_filter *f;
	size_t		  nf;
};

/* A condition: left [op right], chained with and/or (right to left). */
struct lq_cond {
	struct lq_expr	*left;
	char		 op[12];	/* "", "==", "<", "contains", ... */
	struct lq_expr	*right;
	int		 rel;		/* 0 none, 'a' and, 'o' or: to next */
	struct lq_cond	*next;
	int		 is_else;	/* an else branch */
};

/* The lexer's tokens for tag markup. */
enum lq_tok {
	LQT_END = 0, LQT_COMPARISON, LQT_STRING, LQT_NUMBER, LQT_ID,
	LQT_DOTDOT, LQT_PIPE, LQT_DOT, LQT_COLON, LQT_COMMA, LQT_OPEN_SQUARE,
	LQT_CLOSE_SQUARE, LQT_OPEN_ROUND, LQT_CLOSE_ROUND, LQT_QUESTION,
	LQT_DASH,
};

struct lq_token {
	enum lq_tok	 t;
	const char	*s;	/* into the markup */
	size_t		 n;
};

struct lq_parser {
	struct lq_token	*tok;
	size_t		 ntok;
	size_t		 p;
	char		*err;	/* first error (malloc'd) */
	const char	*markup;
};

struct lq_ctx;

/* liquid_expr.c: values */
struct lqv	 lqv_null(void);
struct lqv	 lqv_json(json_t *j);		/* takes j */
struct lqv	 lqv_copy(const struct lqv *v);
void		 lqv_free(struct lqv *v);
int		 lqv_truthy(const struct lqv *v);
int		 lqv_is_nil(const struct lqv *v);
/* Ruby's to_s of v appended to b (arrays joined, as Liquid outputs). */
void		 lq_to_s(const struct lqv *v, struct buf *b, int inspect);
char		*lq_str(const struct lqv *v);	/* to_s, malloc'd */
/* A JSON array of a range (for iteration, join, ...). */
json_t		*lq_range_array(struct lq_ctx *c, long long a, long long b);

/* liquid_expr.c: markup */
int		 lq_lex(const char *markup, struct lq_token **out, size_t *n,
		    char **err);
void		 lq_parser_init(struct lq_parser *p, const char *markup);
void		 lq_parser_free(struct lq_parser *p);
struct lq_expr	*lq_parse_expr(struct lq_parser *p);
struct lq_varexpr *lq_parse_varexpr(struct lq_parser *p);
struct lq_cond	*lq_parse_cond(struct lq_parser *p);
int		 lq_consume(struct lq_parser *p, enum lq_tok t);
int		 lq_look(struct lq_parser *p, enum lq_tok t, size_t ahead);
int		 lq_id(struct lq_parser *p, const char *word);
void		 lq_expr_free(struct lq_expr *e);
void		 lq_varexpr_free(struct lq_varexpr *v);
void		 lq_cond_free(struct lq_cond *c);
struct lq_expr	*lq_expr_lit(struct lqv v);

/* liquid_expr.c: evaluation (errors through lq_fail) */
int		 lq_eval(struct lq_ctx *c, const struct lq_expr *e,
		    struct lqv *out);
int		 lq_eval_varexpr(struct lq_ctx *c, const struct lq_varexpr *v,
		    struct lqv *out);
int		 lq_eval_cond(struct lq_ctx *c, const struct lq_cond *cd,
		    int *res);
int		 lq_equal(const struct lqv *a, const struct lqv *b);
int		 lq_to_integer(struct lq_ctx *c, const struct lqv *v,
		    long long *out);

/* Characters (code points) in a UTF-8 string of n bytes. */
static inline size_t
lq_utf8_len(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* liquid_filters.c */
int		 lq_filter(struct lq_ctx *c, const char *name, struct lqv *in,
		    struct lqv *args, size_t nargs, json_t *kwargs);

/* liquid.c: errors and resource accounting */
int		 lq_fail(struct lq_ctx *c, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
int		 lq_charge(struct lq_ctx *c, size_t bytes);
int64_t		 lq_now(struct lq_ctx *c);
json_t		*lq_find_var(struct lq_ctx *c, const char *name, int *found);

#endif
