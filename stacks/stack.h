/*
 * stack.h - parse and validate Kontena-format stack files.
 *
 * The master calls stack_parse() on the body of POST /v1/grids/{g}/stacks
 * and stores the normalized JSON it returns; the CLI may call it to check a
 * file before sending it. The library is pure: it never reads files, the
 * environment or the clock, and keeps no state between calls, so any thread
 * may call it. What it needs from outside (values of `from: env` variables,
 * the contents of env_file and `from: file`) it asks for through the
 * callbacks in struct stack_opts.
 *
 * Every problem found is reported, not just the first, each with the file,
 * line and column it is at and the dotted key path it concerns
 * ("services.web.deploy.strategy"). docs/stack-file.md lists every key.
 */
#ifndef BERTH_STACK_H
#define BERTH_STACK_H

#include <stddef.h>

#include <jansson.h>

/* Limits that keep hostile input from costing more than it is worth. */
#define STACK_MAX_INPUT		(1024 * 1024)	/* bytes of YAML */
#define STACK_MAX_DEPTH		64		/* nested collections */
#define STACK_MAX_NODES		100000		/* nodes, aliases expanded */
#define STACK_MAX_ERRORS	100		/* errors kept; then one more */
#define STACK_MAX_EXPANSION	(16 * 1024 * 1024) /* bytes out of ${VAR} */
#define STACK_MAX_VARIABLES	256		/* declared variables */
#define STACK_MAX_LIST		1000		/* ports or volumes per service */

struct stack_error {
	char	*file;		/* file name as given */
	int	 line;		/* 1-based */
	int	 col;		/* 1-based */
	char	*key;		/* dotted path e.g. "services.web.image", or "" */
	char	*message;	/* what is wrong, without the position */
};

struct stack_errors {
	struct stack_error	*v;	/* the errors, in the order found */
	size_t			 n;	/* how many */
};

/* Free every error and leave errs empty; safe on an empty list. */
void	 stack_errors_clear(struct stack_errors *errs);
/*
 * "file:line:col: key: message" lines (": key" left out when the key is
 * empty) joined with '\n', no trailing newline. The caller frees it.
 */
char	*stack_errors_format(const struct stack_errors *errs);

struct stack_opts {
	const char *grid;	/* value of the automatic GRID variable */
	const char *name;	/* --name override; NULL = from `stack:` */
	/*
	 * Lookup for `from: env` variables and env_file / `from: file`
	 * contents; either may be NULL (then using them is an error).
	 * getenv returns a borrowed string or NULL when unset. read_file
	 * returns malloc'd, NUL-terminated content, or NULL with *cause set
	 * (malloc'd; the library frees it).
	 */
	const char *(*getenv)(void *arg, const char *name);
	char	*(*read_file)(void *arg, const char *path, char **cause);
	void	*arg;		/* passed to both callbacks */
};

/*
 * Parse YAML (or its JSON form: JSON is valid YAML) of len bytes; buf need
 * not be NUL-terminated. file names the input in errors; opts may be NULL.
 * On success returns the normalized stack as a new jansson object (the
 * caller owns the reference) with errs->n == 0. On failure returns NULL and
 * errs holds all errors found. errs must be empty or cleared on entry.
 * The shape of the object is documented in docs/stack-file.md.
 */
json_t	*stack_parse(const char *buf, size_t len, const char *file,
	    const struct stack_opts *opts, struct stack_errors *errs);

/*
 * Split s into words the way a POSIX shell would without expanding
 * anything: whitespace separates, '...' and "..." quote, backslash
 * escapes. Returns a new JSON array of strings, or NULL with *cause on an
 * unterminated quote.
 */
json_t	*stack_shell_split(const char *s, char **cause);

/*
 * The keys of a normalized stack that berth keeps but does not act on yet
 * (stack_warn.c's table), one "field: accepted but not acted on: why"
 * string each, in a new array. spec may be NULL (no warnings).
 */
json_t	*stack_warnings(json_t *spec);

#endif
