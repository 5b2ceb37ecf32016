/*
 * cli.h - what every `berth` command shares: the parsed invocation
 * (struct cli), the option ids, argument and output helpers, and the
 * commands' functions.
 *
 * A command is one row of cmd_table (cli/cmd.c) and one function here,
 * defined in cli/cmd_<group>.c. By the time the function runs, args.c has
 * checked its words against the row: the number of positional words is
 * within the row's bounds and every option given is one the row accepts.
 * The function returns the exit status. Failures print one line
 * "berth: <reason>" on stderr (cli_fail()).
 */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <jansson.h>
#include <stdio.h>


/*
 * Every option the CLI knows, an index into cmd_options[] (cli/cmd.c).
 * A new option is an id here and a row there.
 */
enum cli_opt {
	CLI_OPT_GRID,		/* global */
	CLI_OPT_JSON,		/* global */
	CLI_OPT_HELP,		/* global */
	CLI_OPT_VERSION,	/* global */
	CLI_OPT_FORCE,
	CLI_OPT_FOLLOW,
	CLI_OPT_ROTATE,
	CLI_OPT_NAME,
	CLI_OPT_LABEL,
	CLI_OPT_VAR,		/* -v NAME=VALUE (stacks) */
	CLI_OPT_VALUES_FROM,
	CLI_OPT_VALUES_TO,
	CLI_OPT_NO_DEPLOY,
	CLI_OPT_DRY_RUN,
	CLI_OPT_UPSERT,
	CLI_OPT_CPUS,		/* job run */
	CLI_OPT_MEMORY,
	CLI_OPT_AFFINITY,
	CLI_OPT_TIMEOUT,
	CLI_OPT_RETRIES,
	CLI_OPT_BACKOFF,
	CLI_OPT_PARALLEL,
	CLI_OPT_PRIORITY,
	CLI_OPT_ENV,
	CLI_OPT_WAIT,
	CLI_OPT_FILE,
	CLI_OPT_STATE,		/* job ls */
	CLI_OPT_TAIL,
	CLI_OPT_SINCE,
	CLI_OPT_TIMESTAMPS,
	CLI_OPT_INTERACTIVE,
	CLI_OPT_TTY,
	CLI_OPT_YES,
	CLI_OPT_PROVIDER,	/* nodegroup create */
	CLI_OPT_MIN,
	CLI_OPT_MAX,
	CLI_OPT_SET,
	CLI_OPT_DEADLINE,	/* node drain */
	CLI_OPT_NO_WAIT,
	CLI_OPT_OFF,		/* node protect */
	CLI_OPT_GROUP,		/* grid cloud-config */
	CLI_OPT_TTL,		/* master join-token */
	CLI_OPT__COUNT
};

struct cmd_entry;
struct cmd_group;

/* One option's occurrences, in the order given. */
struct cli_optval {
	int		 n;		/* times given; 0: absent */
	const char	**v;		/* its values (value options), n of them */
	char		 letter;	/* first given as -letter; 0: as --name
					   (for the reason when it is refused) */
};

/* A parsed invocation (args.c fills it; the commands read it). */
struct cli {
	const struct cmd_group	*group;	/* the group named, or NULL */
	const struct cmd_entry	*cmd;	/* the command, or NULL (help only) */
	const char	*grid;		/* --grid, $BERTH_GRID, or "default" */
	int		 json;		/* --json: print JSON, not tables */
	struct cli_optval opts[CLI_OPT__COUNT];
	char		**args;		/* positional words after the verb */
	int		 nargs;
	int		 dashdash;	/* how many of args came before "--"
					   (nargs when there was none) */
};

/* How many times option o was given (0 when absent). */
int	 cli_flag(const struct cli *c, enum cli_opt o);
/* The last value of option o, or NULL when absent. */
const char *cli_value(const struct cli *c, enum cli_opt o);
/* Every value of option o in order; *n is their number. */
const char **cli_values(const struct cli *c, enum cli_opt o, int *n);

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
/*
 * Ask the question (a destructive command says what it destroys) and
 * read y or n: 1 to go ahead. Asked only when stdin and stdout are a
 * terminal; --yes (and a script, which has no terminal) goes ahead.
 */
int	 cli_confirm(const struct cli *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A service's instance count as a person reads it: "2", "1 per node". */
const char *cli_instances(json_t *svc, char *buf, size_t len);
/* argv as a shell would need it typed: words quoted where needed. */
const char *cli_shell_join(json_t *arr, char *buf, size_t len);

/*
 * The commands, by file. Each takes the parsed invocation, whose args are
 * the words after the verb, and returns the exit status.
 */
/* cmd_grid.c */
int	 cmd_grid_ls(struct cli *c);
/* cmd_master.c */
int	 cmd_master_ls(struct cli *c);
int	 cmd_master_rm(struct cli *c);
int	 cmd_master_join_token(struct cli *c);
int	 cmd_grid_show(struct cli *c);
int	 cmd_grid_create(struct cli *c);
int	 cmd_grid_set(struct cli *c);
void	 cmd_grid_set_help(FILE *f);	/* the settings, after the options */
int	 cmd_grid_rm(struct cli *c);
int	 cmd_grid_token(struct cli *c);
int	 cmd_grid_cloud_config(struct cli *c);
int	 cmd_grid_events(struct cli *c);
/* cmd_node.c */
int	 cmd_nodegroup_ls(struct cli *c);
int	 cmd_nodegroup_show(struct cli *c);
int	 cmd_nodegroup_create(struct cli *c);
int	 cmd_nodegroup_set(struct cli *c);
void	 cmd_nodegroup_set_help(FILE *f);
int	 cmd_nodegroup_rm(struct cli *c);
int	 cmd_nodegroup_machines(struct cli *c);
int	 cmd_nodegroup_plan(struct cli *c);

int	 cmd_node_ls(struct cli *c);
int	 cmd_node_show(struct cli *c);
int	 cmd_node_label(struct cli *c);
int	 cmd_node_cordon(struct cli *c);
int	 cmd_node_uncordon(struct cli *c);
int	 cmd_node_drain(struct cli *c);
int	 cmd_node_protect(struct cli *c);
int	 cmd_node_approve(struct cli *c);
int	 cmd_node_rm(struct cli *c);
/* cmd_stack.c */
int	 cmd_stack_install(struct cli *c);
int	 cmd_stack_upgrade(struct cli *c);
int	 cmd_stack_ls(struct cli *c);
int	 cmd_stack_show(struct cli *c);
int	 cmd_stack_rm(struct cli *c);
int	 cmd_stack_deploy(struct cli *c);
int	 cmd_stack_validate(struct cli *c);
/* cmd_network.c */
int	 cmd_network_ls(struct cli *c);
int	 cmd_network_show(struct cli *c);
/* cmd_vault.c */
int	 cmd_vault_ls(struct cli *c);
int	 cmd_vault_write(struct cli *c);
int	 cmd_vault_update(struct cli *c);
int	 cmd_vault_read(struct cli *c);
int	 cmd_vault_rm(struct cli *c);
/*
 * Follow deploy id of stack s to its end with progress lines, as `stack
 * install` does. 0 when every service of it deployed.
 */
int	 stack_follow_deploy(struct cli *c, const char *s, long long id,
	    json_t **last);
int	 cmd_stack_deploys(struct cli *c);
/* cmd_service.c */
int	 cmd_service_ls(struct cli *c);
int	 cmd_service_show(struct cli *c);
int	 cmd_service_scale(struct cli *c);
int	 cmd_service_containers(struct cli *c);
/* cmd_job.c */
int	 cmd_job_run(struct cli *c);
int	 cmd_job_ls(struct cli *c);
int	 cmd_job_show(struct cli *c);
int	 cmd_job_cancel(struct cli *c);
int	 cmd_job_rm(struct cli *c);
int	 cmd_job_wait(struct cli *c);
/* cmd_logs.c */
int	 cmd_service_logs(struct cli *c);
int	 cmd_stack_logs(struct cli *c);
int	 cmd_container_logs(struct cli *c);
int	 cmd_job_logs(struct cli *c);
/* Split "stack/svc" into buf (len bytes): 0, or -1 after saying why. */
int	 service_split(const char *in, char *buf, size_t len, char **stack,
	    char **svc);
/* cmd_exec.c */
int	 cmd_service_exec(struct cli *c);
int	 cmd_container_exec(struct cli *c);
/* cmd_lifecycle.c */
int	 cmd_service_stop(struct cli *c);
int	 cmd_service_start(struct cli *c);
int	 cmd_service_restart(struct cli *c);
int	 cmd_service_rm(struct cli *c);
int	 cmd_stack_stop(struct cli *c);
int	 cmd_stack_start(struct cli *c);
int	 cmd_stack_restart(struct cli *c);
/* help.c */
int	 cmd_version(struct cli *c);
int	 cmd_help(struct cli *c);

#endif
