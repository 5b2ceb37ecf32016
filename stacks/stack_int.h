/*
 * stack_int.h - what the files of stacks/ share and nobody else sees.
 *
 * stack_yaml.c turns the YAML text into a tree of struct snode (our own
 * tree, not libyaml's document, so that marks, depth, duplicate keys and
 * alias expansion are under our control); stack.c walks the top level,
 * stack_vars.c the variables, stack_service.c each service, and
 * stack_value.c holds the typed getters they all read scalars through
 * (which is where ${VAR} interpolation and error reporting happen).
 * Everything lives for one stack_parse() call in one struct stack_ctx.
 */
#ifndef BERTH_STACK_INT_H
#define BERTH_STACK_INT_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>

#include "stacks/stack.h"

enum snode_type {
	SNODE_SCALAR = 0,
	SNODE_SEQ,
	SNODE_MAP,
};

struct snode {
	enum snode_type	  type;
	int		  line;		/* 1-based start of the node */
	int		  col;		/* 1-based */
	char		 *str;		/* scalar text, NUL-terminated (owned) */
	size_t		  len;		/* bytes in str */
	int		  quoted;	/* quoted, block or !!str: never typed */
	struct snode	**kids;		/* seq items; map: key, value, ... */
	size_t		  n;		/* entries in kids */
	size_t		  cap;		/* allocated entries of kids */
	size_t		  size;		/* nodes in the subtree, aliases too */
	int		  complete;	/* end event seen (aliases need it) */
	char		 *anchor;	/* &anchor name or NULL (owned) */
};

/* A map's entries: key i is kids[2*i], value kids[2*i+1]. */
#define SNODE_NPAIRS(x)		((x)->n / 2)
#define SNODE_KEY(x, i)		((x)->kids[2 * (i)])
#define SNODE_VAL(x, i)		((x)->kids[2 * (i) + 1])

/* A links / depends_on entry, checked once every service is known. */
struct stack_ref {
	char	*from;		/* the service that names it (owned) */
	char	*to;		/* the service named (owned) */
	char	*path;		/* key path of the entry (owned) */
	int	 line;		/* where the entry is */
	int	 col;
};

/* A link to a service of another stack, checked against the grid. */
struct stack_xref {
	char	*from;		/* the service that names it (owned) */
	char	*stack;		/* the other stack (owned) */
	char	*service;	/* its service (owned) */
	char	*path;		/* key path of the entry (owned) */
	int	 line;		/* where the entry is */
	int	 col;
};

struct stack_vsys;

/* A depends: entry: a child stack. */
struct stack_dep {
	char			*name;	/* its key; installed as PARENT-name */
	char			*file;	/* its stack file (owned) */
	json_t			*variables; /* its variables: values */
	const struct snode	*node;	/* for errors */
	char			*path;	/* "depends.NAME" (owned) */
};

/* A service while the services are read (stack.c, stack_extends.c). */
struct stack_svc {
	const char		*name;	/* its key in services: */
	const struct snode	*node;	/* its mapping */
	char			*path;	/* "services.NAME" (owned) */
	json_t			*spec;	/* stack_service_parse()'s result */
	int			 skipped; /* its only_if/skip_if said so */
	int			 state;	/* extends: 0 to do, 1 doing, 2 done */
};

struct stack_ctx {
	const char		*file;	/* for errors */
	const struct stack_opts	*opts;	/* never NULL (a zeroed one) */
	const struct stack_host	*host;	/* opts->host, or NULL */
	struct stack_errors	*errs;	/* where errors go */
	int			 full;	/* STACK_MAX_ERRORS reached */
	int			 needed; /* a callback said STACK_NEED */
	json_t			*needs;	/* what the caller must supply */
	json_t			*warnings; /* array of warning objects */
	json_t			*vault_writes; /* NAME -> value (to: vault) */
	char			*stack_name; /* the installed name, or NULL */
	int			 lenient; /* raw Liquid text: any key, dups */
	const char		*dir;	/* ctx->file's folder from the stack
					   file's, "" or ending in '/' */
	const char		*extending; /* a file an extends: names: the
					   service wanted from it, else NULL */
	int			 depth;	/* files extended to get here */
	json_t			*values; /* every variable's value, once
					   known (borrowed) */
	json_t			*tree;	/* stack name -> its services' names,
					   for links within a stack and its
					   child stacks (the root's) */
	struct stack_dep	*deps;	/* depends: entries */
	size_t			 ndeps;
	char			*rendered; /* the Liquid output, or NULL */
	size_t			 rendered_len;
	int			*linemap; /* rendered line i+1 -> template */
	size_t			 nlinemap;
	int			 literal; /* no ${VAR}: values as written
					   (job files, job_spec.c) */

	struct snode		**nodes; /* every node, for freeing */
	size_t			 nnodes;
	size_t			 nodes_cap;
	size_t			 expanded; /* node count with aliases */
	size_t			 interpolated; /* bytes made by ${VAR} */

	struct stack_vsys	*vsys;	/* the variables (stack_vars.c) */
	char			**volnames; /* top-level volume names */
	size_t			 nvolnames;
	struct stack_ref	*refs;	/* every links/depends_on entry */
	size_t			 nrefs;
	struct stack_xref	*xrefs;	/* links to other stacks */
	size_t			 nxrefs;
};

/* stack_yaml.c */
struct snode	*stack_yaml_load(struct stack_ctx *, const char *, size_t);
void		 stack_yaml_free(struct stack_ctx *);
int		 stack_utf8_check(struct stack_ctx *, const char *, size_t);

/* stack_value.c: errors */
void	 stack_err(struct stack_ctx *, int, int, const char *, const char *,
	     ...) __attribute__((format(printf, 5, 6)));
void	 stack_errn(struct stack_ctx *, const struct snode *, const char *,
	     const char *, ...) __attribute__((format(printf, 4, 5)));
char	*stack_path(const char *, const char *);
char	*stack_path_idx(const char *, size_t);

void	 stack_warn(struct stack_ctx *, const struct snode *, const char *,
	     const char *, ...) __attribute__((format(printf, 4, 5)));
/* Each error of errs as a warning, its message after prefix; clears errs. */
void	 stack_warn_errors(struct stack_ctx *, struct stack_errors *,
	     const char *);

/* stack_host.c: the caller's callbacks; each records what it needs */
void	 stack_host_need(struct stack_ctx *, json_t *);
int	 stack_host_getenv(struct stack_ctx *, const char *, char **);
int	 stack_host_read(struct stack_ctx *, const char *,
	     enum stack_file_base, char **, size_t *, char **);
int	 stack_host_prompt(struct stack_ctx *, const struct stack_prompt *,
	     json_t **);
int	 stack_host_vault(struct stack_ctx *, const char *, char **, size_t *);
json_t	*stack_host_vault_names(struct stack_ctx *);
int	 stack_host_random(struct stack_ctx *, void *, size_t);
int	 stack_host_service(struct stack_ctx *, const char *, const char *,
	     json_t **);
json_t	*stack_host_services(struct stack_ctx *);

/* stack_value.c: typed getters; each reports its own error, returns -1 */
int	 stack_is_null(const struct snode *);
const char *stack_type_name(const struct snode *);
char	*stack_interpolate(struct stack_ctx *, const struct snode *,
	     const char *, const char *);
int	 stack_get_str(struct stack_ctx *, const struct snode *, const char *,
	     char **);
int	 stack_get_int(struct stack_ctx *, const struct snode *, const char *,
	     long long, long long, long long *);
int	 stack_get_num(struct stack_ctx *, const struct snode *, const char *,
	     double, double, double *);
int	 stack_get_bool(struct stack_ctx *, const struct snode *, const char *,
	     int *);
int	 stack_get_strlist(struct stack_ctx *, const struct snode *,
	     const char *, json_t **);
int	 stack_want_map(struct stack_ctx *, const struct snode *, const char *);
int	 stack_want_seq(struct stack_ctx *, const struct snode *, const char *);
void	 stack_unknown_key(struct stack_ctx *, const struct snode *,
	     const char *, const char *);
/* What YAML 1.1 (Psych, Kontena's parser) makes of a plain scalar. */
enum stack_y11 { Y11_NULL, Y11_BOOL, Y11_INT, Y11_FLOAT, Y11_STR };
enum stack_y11 stack_yaml11(const char *, long long *, double *, int *);
json_t	*stack_scalar_json(const struct snode *);
json_t	*stack_text_json(const char *, int);
int	 stack_text_int(const char *, long long *);
int	 stack_service_name_valid(const char *);
int	 stack_text_bool(const char *, int *);

/* stack_value.c: JSON values as text */
struct buf;
void	 stack_json_text(json_t *, struct buf *, int);
char	*stack_json_str(json_t *);
json_t	*stack_node_json(const struct snode *);

/* stack_vars.c */
void	 stack_vars_resolve(struct stack_ctx *, const struct snode *,
	     const char *, const char *, json_t *, json_t *);
/*
 * The text ${name} (len bytes) stands for: NULL when the variable is
 * unset; *st is 0, -1 when no such variable, -2 after an error reported.
 */
const char *stack_vars_text(struct stack_ctx *, const char *, size_t, int *);
/*
 * A service's or volume's only_if and skip_if (either may be NULL), as
 * Kontena's reader tested them: 1 keep it, 0 leave it out, -1 error.
 */
int	 stack_vars_keep(struct stack_ctx *, const struct snode *,
	     const struct snode *, const char *);
void	 stack_vars_free(struct stack_ctx *);

/* stack_service.c */
json_t	*stack_service_parse(struct stack_ctx *, const char *,
	     const struct snode *, const char *);
/* Append KEY=VALUE to env, replacing an earlier KEY in place. */
void	 stack_env_put(json_t *, const char *);

/* stack_extends.c: a service's extends: applied to svcs[i].spec */
int	 stack_extends(struct stack_ctx *, struct stack_svc *, size_t, size_t);

/*
 * stack.c: another file (an extends: file or a child stack's) through the
 * pipeline with opts, in a ctx of its own that shares ctx's errors and
 * passes its needs, warnings and vault writes on: the stack, or (when
 * extending names a service) that service in a one-element array; with
 * *source (malloc'd) the file's text when source is not NULL. NULL after
 * an error (at the node and path given when the file cannot be read) or a
 * need.
 */
json_t	*stack_parse_file(struct stack_ctx *, const char *,
	     const struct stack_opts *, const char *, const struct snode *,
	     const char *, char **);

/* stack_depends.c: depends: (child stacks) */
void	 stack_depends_read(struct stack_ctx *, const struct snode *,
	     const char *);
json_t	*stack_depends_parse(struct stack_ctx *, const char *);
void	 stack_depends_free(struct stack_ctx *);
/* A top-level key's value in map, or NULL. */
const struct snode *stack_top(const struct snode *, const char *);

#endif
