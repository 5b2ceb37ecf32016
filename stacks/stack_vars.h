/*
 * stack_vars.h - what stack_vars.c (declarations, types, conditions,
 * resolution) and stack_resolvers.c (every resolver and setter) share.
 * Internal to stacks/.
 */
#ifndef BERTH_STACK_VARS_H
#define BERTH_STACK_VARS_H

#include "stacks/stack_int.h"

enum vtype { VT_STRING, VT_INTEGER, VT_BOOLEAN, VT_ENUM, VT_URI, VT_ARRAY };

enum vstate { VS_NEW = 0, VS_RESOLVING, VS_DONE };

/* One `from:` entry, in the order written. */
struct vres {
	const char		*name;	/* env, file, vault, ... */
	const struct snode	*hint;	/* its value, or NULL (implicit) */
	const struct snode	*at;	/* for errors: the hint, or the key */
	char			*path;	/* "variables.X.from.NAME" (owned) */
};

/* One variable: declared in the file, or automatic (GRID, STACK, ...). */
struct var {
	char		 *name;		/* as declared (owned) */
	char		 *path;		/* "variables.NAME" (owned) */
	const struct snode *key;	/* its key, for errors (NULL: automatic) */
	enum vtype	  type;
	json_t		 *opts;		/* type options (min, split, ...) */
	const char	 *label;	/* label:, for prompts (borrowed) */
	const struct snode *value;	/* value:, or NULL */
	const struct snode *dflt;	/* default:, or NULL */
	const struct snode *from;	/* from:, or NULL */
	const struct snode *to;		/* to:, or NULL */
	json_t		 *only_if;	/* the conditions, as JSON, or NULL */
	json_t		 *skip_if;
	json_t		 *in;		/* in: list, or NULL */
	int		  required;	/* required: (default 1) */
	struct vres	 *res;		/* resolvers, then env and default */
	size_t		  nres;
	json_t		 *aliases;	/* to: env names (array of strings) */
	const struct snode *vault_to;	/* to: vault's name, or NULL */
	enum vstate	  state;
	json_t		 *val;		/* the value, NULL when it has none */
	char		 *text;		/* what ${NAME} gives, NULL if none */
	const char	 *origin;	/* which resolver gave it (static) */
	json_t		 *choices;	/* a service_link's candidates */
	int		  asked;	/* a prompt had no one to ask */
	int		  skipped;	/* skip_if/only_if said so */
	int		  vault;	/* from or to vault: never stored */
	int		  bad;		/* an error was reported for it */
	int		  automatic;	/* GRID, STACK, PLATFORM, ... */
};

struct stack_vsys {
	struct var	*v;		/* every variable, automatic first */
	size_t		 n;
	json_t		*forced;	/* opts->values (borrowed) */
	json_t		*previous;	/* opts->previous (borrowed) */
	struct snode	 nowhere;	/* a node at 1:1, for warnings */
};

/* stack_vars.c */
struct var	*vars_find(struct stack_ctx *, const char *, size_t);
json_t		*vars_opt(const struct var *, const char *);
int		 vars_opt_true(const struct var *, const char *);
json_t		*vars_node_json(struct stack_ctx *, const struct snode *,
		    const char *, int *);
json_t		*vars_split(const char *, const char *);
json_t		*vars_sanitize(struct stack_ctx *, struct var *, json_t *);
int		 vars_truthy(const struct var *);
int		 vars_eq(json_t *, json_t *);
json_t		*vars_enum_values(const struct var *);
int		 vars_cond(struct stack_ctx *, struct var *, json_t *, int);
void		 vars_resolve(struct stack_ctx *, struct var *);

/* stack_resolvers.c */
int		 vars_resolvers_read(struct stack_ctx *, struct var *);
/* 0 and *got (a new reference or NULL: nothing), -1 (reported). */
int		 vars_run_resolver(struct stack_ctx *, struct var *,
		    const struct vres *, json_t **);
void		 vars_missing(struct stack_ctx *, struct var *);
void		 vars_setters(struct stack_ctx *, struct var *);
/* 1 allowed, 0 scheme not allowed, -1 not a URI. */
int		 vars_uri_ok(const struct var *, const char *);
const char	*vars_schemes_text(const struct var *);
void		 vars_var_free(struct var *);
size_t		 vars_utf8_len(const char *, size_t);

#endif
