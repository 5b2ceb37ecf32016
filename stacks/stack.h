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
#include <stdint.h>

#include <jansson.h>

/* Limits that keep hostile input from costing more than it is worth. */
#define STACK_MAX_INPUT		(1024 * 1024)	/* bytes of YAML */
#define STACK_MAX_DEPTH		64		/* nested collections */
#define STACK_MAX_NODES		100000		/* nodes, aliases expanded */
#define STACK_MAX_ERRORS	100		/* errors kept; then one more */
#define STACK_MAX_EXPANSION	(16 * 1024 * 1024) /* bytes out of ${VAR} */
#define STACK_MAX_VARIABLES	256		/* declared variables */
#define STACK_MAX_LIST		1000		/* ports or volumes per service */
#define STACK_MAX_FILES		8		/* extends: files in a chain */

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

/* Where a file a stack names is looked for (the caller decides). */
enum stack_file_base {
	STACK_FILE_CWD,		/* `from: file`, `yaml: file`: the caller's
				   working directory, as Kontena read them */
	STACK_FILE_STACK,	/* env_file, extends and depends files:
				   beside the stack file */
};

/*
 * A callback that needs something only the operator can give (an
 * environment variable the request did not carry, a file, an answer to a
 * prompt) returns STACK_NEED; the parse then ends without errors and
 * lists what it needs in struct stack_result's needs, for the caller to
 * ask and parse again.
 */
#define STACK_NEED	(-2)

/* A question for the operator (a `prompt`, `service_link`, ... resolver). */
struct stack_prompt {
	const char	*variable;	/* the variable it is for */
	const char	*type;		/* its type: string, integer, ... */
	const char	*question;	/* the text to show */
	json_t		*def;		/* the default answer, or NULL */
	json_t		*choices;	/* array of allowed answers, or NULL */
	int		 other;		/* an answer not in choices is fine */
	int		 multi;		/* several choices may be picked */
	int		 echo;		/* 0: a secret, do not echo it */
};

/*
 * What the parser may ask of its caller. Every callback may be NULL: then
 * what needs it is unavailable (an unset environment variable, a file that
 * cannot be read, a secret that does not exist, no one to ask). arg is
 * passed to each.
 */
struct stack_host {
	/* 1 and *value (malloc'd) when set, 0 when unset, or STACK_NEED. */
	int	(*getenv)(void *arg, const char *name, char **value);
	/*
	 * 0 and *data (malloc'd, NUL-terminated, *len bytes), -1 with *cause
	 * (malloc'd; the library frees it), or STACK_NEED.
	 */
	int	(*read_file)(void *arg, const char *path,
		    enum stack_file_base base, char **data, size_t *len,
		    char **cause);
	/*
	 * 1 and *answer (a new reference; JSON null for an empty answer), 0
	 * when there is no one to ask (the resolver gives nothing), or
	 * STACK_NEED.
	 */
	int	(*prompt)(void *arg, const struct stack_prompt *p,
		    json_t **answer);
	/*
	 * The vault: 1 when secret name exists (and, when value is not NULL,
	 * its value in *value, malloc'd, *len bytes), 0 when it does not.
	 */
	int	(*vault_read)(void *arg, const char *name, char **value,
		    size_t *len);
	/* Every secret's name (a new array reference), for
	   vault_cert_prompt. */
	json_t	*(*vault_names)(void *arg);
	/* len random bytes into buf (generated values). */
	void	(*random)(void *arg, void *buf, size_t len);
	/*
	 * A service of the grid, for links to other stacks and the
	 * service_instances resolver: 1 and *info (a new reference to an
	 * object with "image" and "instances") when stack/service exists,
	 * 0 when the stack has no such service, -1 when there is no such
	 * stack.
	 */
	int	(*service_find)(void *arg, const char *stack,
		    const char *service, json_t **info);
	/*
	 * Every service of the grid as an array of {"link": "stack/svc",
	 * "name", "image"} (a new reference), for the service_link resolver.
	 */
	json_t	*(*services)(void *arg);
	void	*arg;
};

struct stack_opts {
	const char		*grid;	/* value of the automatic GRID */
	const char		*name;	/* --name override; NULL = `stack:` */
	const char		*platform; /* PLATFORM; NULL = the grid */
	const char		*parent; /* PARENT_STACK (a child stack's
					   parent), or NULL */
	json_t			*values; /* NAME -> value set before anything
					   resolves (-v, --values-from), or
					   NULL; borrowed */
	json_t			*previous; /* NAME -> value of the installed
					   stack (an upgrade), or NULL */
	int64_t			 now;	/* epoch seconds, for Liquid's date
					   "now"; 0: not available */
	const struct stack_host	*host;	/* callbacks, or NULL */
};

/* What a parse produced besides the stack (see stack_parse_ex()). */
struct stack_result {
	json_t	*needs;		/* array of what the caller must supply
				   ({"kind": "env"|"file"|"prompt", ...}),
				   or NULL */
	json_t	*warnings;	/* array of {file, line, column, key,
				   message}: accepted, but worth saying */
	json_t	*vault_writes;	/* NAME -> value for `to: vault`: the caller
				   writes them with the stack; never log */
};

/* Release what res holds and leave it empty. */
void	 stack_result_clear(struct stack_result *res);

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
 * stack_parse() that also fills res (which must be zeroed on entry): its
 * warnings, the secrets to write, and, when a callback returned
 * STACK_NEED, what the caller must supply: then it returns NULL with no
 * error in errs and res->needs set.
 */
json_t	*stack_parse_ex(const char *buf, size_t len, const char *file,
	    const struct stack_opts *opts, struct stack_errors *errs,
	    struct stack_result *res);

/*
 * The environment variables the file's variables may read: every
 * variable's own name and the names its `env:` resolvers give, as a new
 * array of strings (empty when the file cannot be read as YAML). The CLI
 * sends their values along so that the master need not ask for them.
 */
json_t	*stack_env_names(const char *buf, size_t len);

/*
 * A file of variable values (--values-from): a YAML mapping of NAME to
 * value, scalars typed as YAML 1.1 reads them. A new object, or NULL with
 * *cause (malloc'd) naming the line.
 */
json_t	*stack_values_load(const char *buf, size_t len, const char *file,
	    char **cause);

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

/*
 * A service's name as the grid's DNS knows it (docs/dns.md): lower case,
 * '_' made '-'. Install refuses two services of a stack that share one.
 */
void	 stack_dns_name(const char *name, char *out, size_t len);

#endif
