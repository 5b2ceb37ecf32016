/*
 * cli.h - what every `berth` command group shares: the parsed global
 * options, argument helpers and output helpers.
 *
 * A command group (cli/cmd_<group>.c) exports one function that takes the
 * words after the group name; it returns the exit status. Failures print
 * one line "berth: <reason>" on stderr (cli_fail()).
 */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <jansson.h>

struct cli {
	const char	*grid;		/* --grid, default "default" */
	int		 json;		/* --json: print JSON, not tables */
	int		 force;		/* --force */
	int		 follow;	/* --follow */
	int		 rotate;	/* --rotate */
	const char	*name;		/* --name */
	const char	**labels;	/* --label values */
	int		 n_labels;
	char		**args;		/* positional words */
	int		 nargs;
};

/* Print "berth: <fmt>" to stderr; returns 1 (the exit status). */
int	 cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_fail() with a malloc'd reason, which it frees; returns 1. */
int	 cli_fail_cause(char *cause);
/*
 * GET path (which it frees) for a list or show command. Returns -1 after
 * printing why it failed; 1 after printing the reply as JSON (--json);
 * 0 with *out the reply for the command to print (caller decrefs). So:
 *	if ((rc = cli_get(c, path, &v)) != 0)
 *		return rc < 0;
 */
int	 cli_get(struct cli *c, char *path, json_t **out);
/* Print v as indented JSON on stdout; returns 0. */
int	 cli_print_json(json_t *v);
/* A string field of o, or "-" when absent or null. */
const char *cli_str(json_t *o, const char *key);
/* Format an integer field of o into buf ("-" when absent). */
const char *cli_int(json_t *o, const char *key, char *buf, size_t len);
/* "1.5 GiB" style size of bytes into buf. */
const char *cli_bytes(long long bytes, char *buf, size_t len);
/* Join a JSON array of strings with sep into buf ("-" if empty). */
const char *cli_join(json_t *arr, const char *sep, char *buf, size_t len);
/* "3s ago" style age of an ISO-8601 time field into buf. */
const char *cli_age(json_t *o, const char *key, char *buf, size_t len);
/* Build "/v1/<fmt>" with each %s argument percent-escaped. */
char	*cli_path(const char *fmt, ...);

int	 cmd_grid(struct cli *c);
int	 cmd_node(struct cli *c);
int	 cmd_service(struct cli *c);
int	 cmd_stack(struct cli *c);

#endif
