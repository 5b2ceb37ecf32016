/*
 * opt.h - the option engine: one table declares every flag of a daemon.
 *
 * berth-master and berth-agent each describe their options as one array of
 * struct opt (master/config.c, agent/config.c), the way tmux's
 * options-table.c and Redis's config.c do. A row names the long flag, the
 * environment variable (and its aliases), the type and bounds, the default,
 * the field of the daemon's config struct it fills, a help line and whether
 * the value is a secret. From that one row opt_parse() reads the flag and
 * the environment, validates, applies the default, and opt_usage() prints
 * --help; nothing else in the daemon repeats the option's name.
 *
 *	static const struct opt rows[] = {
 *		{ .flag = "tick-ms", .env = { "BERTH_TICK_MS" },
 *		  .type = OPT_INT, .min = 10, .max = 60000, .unit = "ms",
 *		  .def = "1000", .offset = offsetof(struct cfg, tick_ms),
 *		  .help = "scheduler tick between event wake-ups" },
 *	};
 *
 * Precedence: a flag beats the environment, which beats the default. Among
 * a row's environment names the first that is set wins, so the berth name
 * goes first and the Kontena aliases after it. Defaults are text and go
 * through the same parser as any value, so a default can never be invalid
 * without the daemon's own --help test noticing.
 *
 * Rules a type cannot express live with their row: .set parses a value into
 * more than one field (the agent's labels), .check runs once every source
 * has been read and may turn the final value into derived fields (the
 * agent's URL into host and port). Rules that span rows (a pin needs a
 * wss:// URL) stay in the daemon's config.c after opt_parse().
 *
 * Errors name where the bad value came from, the flag (--tick-ms) or the
 * variable (BERTH_TICK_MS, or KONTENA_URI when the alias was used), and
 * quote the value, except for secrets: a row marked OPT_SECRET never shows
 * its default in --help, never has its value quoted in an error, and is
 * zeroed when freed.
 *
 * The engine is for daemon flags read once at start-up, on the main thread,
 * before any other thread exists. Grid and node-group settings (the API's)
 * have their own table elsewhere.
 */
#ifndef BERTH_OPT_H
#define BERTH_OPT_H

#include <stddef.h>
#include <stdio.h>

enum opt_type {
	OPT_STRING,	/* text; char * owned by the config */
	OPT_PATH,	/* a file or directory: parsed as OPT_STRING, shown
			   as PATH in --help */
	OPT_INT,	/* a whole number in [min, max]; int; .unit says
			   what it counts (a duration: "ms" or "s") */
	OPT_BOOL,	/* 1/0, true/false, yes/no; a bare --flag is 1; int */
	OPT_ENUM,	/* one word of .choices; char * */
	OPT_CUSTOM,	/* .set parses it; the daemon frees what it made */
};

/* Row flags. */
#define OPT_SECRET	0x1	/* a token: never shown, never quoted */

/* Table flags. */
#define OPT_EMPTY_IS_UNSET 0x1	/* an empty env var counts as unset and an
				   empty flag value is an error (the
				   master); without it an empty value is a
				   value like any other (the agent) */

#define OPT_ENV_MAX	3	/* environment names per row */

struct opt {
	const char	*flag;		/* long flag without the "--" */
	const char	*env[OPT_ENV_MAX]; /* first set wins; NULL-padded */
	enum opt_type	 type;		/* how a value parses */
	const char	*arg;		/* --help's name for the value, e.g.
					   "URL" (default from the type) */
	const char	*def;		/* default, as text; NULL for none */
	const char	*def_help;	/* --help's words for a default that is
					   computed later ("the hostname") */
	size_t		 offset;	/* field in the daemon's config */
	int		 min, max;	/* OPT_INT bounds, inclusive */
	const char	*unit;		/* OPT_INT: "ms", "s", or NULL */
	const char	*choices;	/* OPT_ENUM: "error|warn|info|debug" */
	int		 flags;		/* OPT_SECRET */
	const char	*help;		/* one line for --help */

	/*
	 * OPT_CUSTOM: parse value into cfg, replacing what an earlier source
	 * set. from names the source for errors. 0, or -1 with *cause.
	 */
	int		(*set)(void *cfg, const char *from, const char *value,
			    char **cause);
	/*
	 * Optional, any type: called once after every source was read, in
	 * table order, with from naming the source of the final value (the
	 * first env name when it is the default or unset). May normalize the
	 * field and fill derived ones. 0, or -1 with *cause.
	 */
	int		(*check)(void *cfg, const char *from, char **cause);
};

/* Flags that the caller handles itself, listed in --help only. */
struct opt_extra {
	const char	*left;		/* "--print-routes" */
	const char	*help;		/* one line */
};

/* A daemon's table. */
struct opt_table {
	const char		*prog;	/* "berth-master": usage, --version */
	const char		*about;	/* paragraph under the usage line */
	const struct opt	*opts;	/* the rows */
	size_t			 nopts;	/* rows in opts */
	const struct opt_extra	*extra;	/* NULL-terminated, or NULL */
	const char		*footer; /* text after the options, or NULL */
	int			 flags;	/* OPT_EMPTY_IS_UNSET */
};

/* How opt_parse() reads the environment; tests pass a fake. */
typedef const char *(*opt_getenv_fn)(const char *name, void *arg);

/*
 * Fill cfg (zeroed by the caller) from argv, the environment (get, or
 * getenv(3) when NULL) and the defaults. Returns 0; 1 when --help or
 * --version was asked for (printed to out); -1 with *cause, one line that
 * names the flag or variable, on a bad flag or value. In every case cfg
 * must be released with opt_free() (and the daemon's own frees).
 */
int	 opt_parse(const struct opt_table *t, void *cfg, int argc,
	    char **argv, opt_getenv_fn get, void *arg, FILE *out,
	    char **cause);
/* Print --help for the table. */
void	 opt_usage(const struct opt_table *t, FILE *out);
/* Free (zeroing secrets) every string field of the table; not OPT_CUSTOM. */
void	 opt_free(const struct opt_table *t, void *cfg);
/* The row of a flag name (without "--"), or NULL. */
const struct opt *opt_find(const struct opt_table *t, const char *flag);

#endif
