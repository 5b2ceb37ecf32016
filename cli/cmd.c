/*
 * cmd.c - the CLI's tables: every option, every command group and every
 * command, and the lookups in them. args.c parses against these tables
 * and help.c prints them; nothing else knows a command's words.
 *
 * To add a command: write its function (int cmd_<group>_<verb>(struct
 * cli *), declared in cli.h) in cli/cmd_<group>.c and add its row to
 * cmd_table. To add an option: an id in enum cli_opt (cli.h), its row in
 * cmd_options, and its bit in the .opts of each command that takes it.
 * cmd_check() runs at every start and aborts on a row that breaks the
 * rules below, so any test run catches it.
 */
#include "cli/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(CLI_OPT__COUNT <= 64, "a command's option set is 64 bits");

#define N(a)	(sizeof (a) / sizeof (a)[0])

const struct cmd_option cmd_options[CLI_OPT__COUNT] = {
	[CLI_OPT_GRID] = { "grid", 0, "G", 0,
	    "the grid (default: $BERTH_GRID, else \"default\")" },
	[CLI_OPT_JSON] = { "json", 0, NULL, 0,
	    "print JSON instead of a table" },
	[CLI_OPT_HELP] = { "help", 'h', NULL, 0,
	    "print help and exit" },
	[CLI_OPT_VERSION] = { "version", 0, NULL, 0,
	    "print the version and exit" },
	[CLI_OPT_FORCE] = { "force", 'f', NULL, 0,
	    "go ahead where the master would refuse" },
	[CLI_OPT_FOLLOW] = { "follow", 'f', NULL, 0,
	    "keep printing new entries until interrupted" },
	[CLI_OPT_ROTATE] = { "rotate", 0, NULL, 0,
	    "mint a new grid token first (joined nodes keep their own)" },
	[CLI_OPT_NAME] = { "name", 0, "NAME", 0,
	    "the name to give it" },
	[CLI_OPT_LABEL] = { "label", 0, "k=v", CMD_OPTION_REPEAT,
	    "a label (repeat for more)" },
	[CLI_OPT_VAR] = { "var", 'v', "K=V", CMD_OPTION_REPEAT,
	    "give stack variable K the value V (repeat for more); it wins "
	    "over every resolver" },
	[CLI_OPT_VALUES_FROM] = { "values-from", 0, "F", CMD_OPTION_REPEAT,
	    "read variable values from YAML file F (NAME: value); -v wins" },
	[CLI_OPT_VALUES_TO] = { "values-to", 0, "F", 0,
	    "write the stack's variable values to F as YAML (secrets stay in "
	    "the vault)" },
	[CLI_OPT_NO_DEPLOY] = { "no-deploy", 0, NULL, 0,
	    "write the stack but do not deploy it" },
	[CLI_OPT_DRY_RUN] = { "dry-run", 0, NULL, 0,
	    "check everything and print what would be written, writing "
	    "nothing" },
	[CLI_OPT_UPSERT] = { "upsert", 'u', NULL, 0,
	    "write the secret if it does not exist yet" },
	[CLI_OPT_CPUS] = { "cpus", 0, "N", 0,
	    "cpus it reserves on its node while it runs (1.5 is fine)" },
	[CLI_OPT_MEMORY] = { "memory", 0, "SIZE", 0,
	    "memory limit, reserved on its node (512M, 2GiB)" },
	[CLI_OPT_AFFINITY] = { "affinity", 0, "RULE", CMD_OPTION_REPEAT,
	    "a placement rule, as services' (label==berth.group=ci); "
	    "repeat for more" },
	[CLI_OPT_TIMEOUT] = { "timeout", 0, "DUR", 0,
	    "stop it when it runs longer (30s, 10m, 2h); none by default" },
	[CLI_OPT_RETRIES] = { "retries", 0, "N", 0,
	    "run it again this many times when an attempt fails (0)" },
	[CLI_OPT_BACKOFF] = { "backoff", 0, "DUR", 0,
	    "wait before the first retry, doubling after (10s)" },
	[CLI_OPT_PARALLEL] = { "parallel", 0, "N", 0,
	    "run N tasks of it, each with BERTH_JOB_INDEX 0..N-1 (1)" },
	[CLI_OPT_PRIORITY] = { "priority", 0, "N", 0,
	    "higher runs first when nodes are scarce, -1000..1000 (0)" },
	[CLI_OPT_ENV] = { "env", 'e', "K=V", CMD_OPTION_REPEAT,
	    "an environment variable (repeat for more)" },
	[CLI_OPT_WAIT] = { "wait", 0, NULL, 0,
	    "follow it to the end and exit with its status" },
	[CLI_OPT_FILE] = { "file", 'f', "FILE", 0,
	    "read the job from a YAML (or JSON) file" },
	[CLI_OPT_STATE] = { "state", 0, "STATE", 0,
	    "only jobs in this state (pending, running, failed, ...)" },
	[CLI_OPT_TAIL] = { "tail", 'n', "N", 0,
	    "only the last N lines (\"all\": every line kept)" },
	[CLI_OPT_SINCE] = { "since", 0, "DUR", 0,
	    "only lines since a time (RFC 3339) or that long ago (30s, 10m, "
	    "2h)" },
	[CLI_OPT_TIMESTAMPS] = { "timestamps", 't', NULL, 0,
	    "print each line's time" },
	[CLI_OPT_INTERACTIVE] = { "interactive", 'i', NULL, 0,
	    "pass stdin to the command" },
	[CLI_OPT_TTY] = { "tty", 't', NULL, 0,
	    "run the command on a terminal (raw, resized with this one)" },
	[CLI_OPT_YES] = { "yes", 'y', NULL, 0,
	    "do not ask (it asks only on a terminal)" },
	[CLI_OPT_PROVIDER] = { "provider", 0, "P", 0,
	    "what makes its machines: process (docker, exec and aws-asg "
	    "are to come)" },
	[CLI_OPT_MIN] = { "min", 0, "N", 0,
	    "machines kept even without demand (0)" },
	[CLI_OPT_MAX] = { "max", 0, "N", 0,
	    "machines at most (10)" },
	[CLI_OPT_SET] = { "set", 0, "key=value", CMD_OPTION_REPEAT,
	    "a setting (see `berth nodegroup set --help`); repeat for more" },
	[CLI_OPT_DEADLINE] = { "deadline", 0, "DUR", 0,
	    "stop what is still there after this long (default: the "
	    "group's, else the grid's drain_deadline_s, 10m)" },
	[CLI_OPT_NO_WAIT] = { "no-wait", 0, NULL, 0,
	    "start it and return at once" },
	[CLI_OPT_OFF] = { "off", 0, NULL, 0,
	    "take the protection away again" },
	[CLI_OPT_GROUP] = { "group", 0, "G", 0,
	    "a node group" },
	[CLI_OPT_TTL] = { "ttl", 0, "DUR", 0,
	    "how long it stays valid (10m, 2h; default 1h, at most 7 days)" },
};

const struct cmd_group cmd_groups[] = {
	{ "grid", "grids", "Grids", "ls" },
	{ "node", "nodes", "Nodes", "ls" },
	{ "nodegroup", "nodegroups", "Node groups", "ls" },
	{ "stack", "stacks", "Stacks", "ls" },
	{ "service", "services", "Services", "ls" },
	{ "network", "networks", "The grid network", "ls" },
	{ "vault", NULL, "The vault (secrets)", "ls" },
	{ "job", "jobs", "Jobs", "ls" },
	{ "container", "containers", "Containers", NULL },
	{ "master", "masters", "Masters of a cluster (docs/ha.md)", "ls" },
};
const size_t cmd_ngroups = N(cmd_groups);

/*
 * In `berth --help` order. Usage names option values as docs/cli.md does;
 * cmd_check() makes sure that it mentions every option the row takes.
 */
const struct cmd_entry cmd_table[] = {
	/* grid: cmd_grid.c */
	{ .group = "grid", .verb = "ls", .alias = "list", .usage = "",
	  .help = "list grids", .lower = 0, .upper = 0,
	  .exec = cmd_grid_ls },
	{ .group = "grid", .verb = "show", .usage = "G",
	  .help = "show a grid and its settings", .lower = 1, .upper = 1,
	  .exec = cmd_grid_show },
	{ .group = "grid", .verb = "create", .usage = "G",
	  .help = "create a grid (prints its token)", .lower = 1, .upper = 1,
	  .exec = cmd_grid_create },
	{ .group = "grid", .verb = "set", .usage = "G key=value ...",
	  .help = "change a grid's settings",
	  .lower = 2, .upper = -1, .exec = cmd_grid_set,
	  .help_more = cmd_grid_set_help },
	{ .group = "grid", .verb = "rm", .alias = "remove", .usage = "G",
	  .help = "remove an empty grid", .lower = 1, .upper = 1,
	  .exec = cmd_grid_rm },
	{ .group = "grid", .verb = "token", .usage = "G [--rotate]",
	  .help = "print (or rotate) the grid token", .lower = 1, .upper = 1,
	  .opts = CMD_OPT(ROTATE), .exec = cmd_grid_token },
	{ .group = "grid", .verb = "cloud-config",
	  .usage = "G [--label k=v ...] [--name N] [--group G]",
	  .help = "print a #cloud-config for nodes", .lower = 1, .upper = 1,
	  .opts = CMD_OPT(LABEL) | CMD_OPT(NAME) | CMD_OPT(GROUP),
	  .opt_help = {
	    [CLI_OPT_GROUP] = "for the nodes of node group G: its labels and "
		"its own join token (aws-asg: the instance id from EC2's "
		"metadata; the launch template's user data)",
	    [CLI_OPT_LABEL] = "a label of the nodes it boots (repeat for more)",
	    [CLI_OPT_NAME] = "the node's name, for one machine (default: its "
		"hostname)" },
	  .exec = cmd_grid_cloud_config },
	{ .group = "grid", .verb = "events", .usage = "G [--follow]",
	  .help = "show the event log", .lower = 1, .upper = 1,
	  .opts = CMD_OPT(FOLLOW), .exec = cmd_grid_events },

	/* nodegroup: cmd_nodegroup.c (docs/autoscaling.md) */
	{ .group = "nodegroup", .verb = "ls", .alias = "list", .usage = "",
	  .help = "list the grid's node groups", .lower = 0, .upper = 0,
	  .exec = cmd_nodegroup_ls },
	{ .group = "nodegroup", .verb = "show", .usage = "G",
	  .help = "show a node group and its settings", .lower = 1,
	  .upper = 1, .exec = cmd_nodegroup_show },
	{ .group = "nodegroup", .verb = "create",
	  .usage = "G --provider P [--min N] [--max N] [--label k=v]... "
	  "[--set key=value]...",
	  .help = "create a node group (berth launches its machines)",
	  .lower = 1, .upper = 1, .opts = CMD_OPT(PROVIDER) | CMD_OPT(MIN) |
	  CMD_OPT(MAX) | CMD_OPT(LABEL) | CMD_OPT(SET),
	  .opt_help = {
	    [CLI_OPT_LABEL] = "a label of every node it launches, besides "
	    "ephemeral=true and berth.group=G (repeat for more)" },
	  .exec = cmd_nodegroup_create, .help_more = cmd_nodegroup_set_help },
	{ .group = "nodegroup", .verb = "set", .usage = "G key=value ...",
	  .help = "change a node group's settings", .lower = 2, .upper = -1,
	  .exec = cmd_nodegroup_set, .help_more = cmd_nodegroup_set_help },
	{ .group = "nodegroup", .verb = "rm", .alias = "remove", .usage = "G",
	  .help = "remove a node group that has no machines", .lower = 1,
	  .upper = 1, .exec = cmd_nodegroup_rm },
	{ .group = "nodegroup", .verb = "machines", .usage = "G",
	  .help = "list a node group's machines and their states",
	  .lower = 1, .upper = 1, .exec = cmd_nodegroup_machines },
	{ .group = "nodegroup", .verb = "plan", .usage = "[G]",
	  .help = "show what node groups would do now (no provider is called)",
	  .lower = 0, .upper = 1, .exec = cmd_nodegroup_plan },
	/* master: cmd_master.c */
	{ .group = "master", .verb = "ls", .alias = "list", .usage = "",
	  .help = "list the masters of the cluster: id, address, URLs, role, "
	  "online", .lower = 0, .upper = 0, .exec = cmd_master_ls },
	{ .group = "master", .verb = "rm", .alias = "remove",
	  .usage = "[--yes] ID|ADDRESS",
	  .help = "remove a master from the cluster (a leader hands over "
	  "first)", .lower = 1, .upper = 1, .opts = CMD_OPT(YES),
	  .exec = cmd_master_rm },
	{ .group = "master", .verb = "join-token", .usage = "[--ttl DUR]",
	  .help = "mint a token for one new master's --join-token",
	  .lower = 0, .upper = 0, .opts = CMD_OPT(TTL),
	  .exec = cmd_master_join_token },
	/* node: cmd_node.c */
	{ .group = "node", .verb = "ls", .alias = "list", .usage = "",
	  .help = "list nodes of the grid", .lower = 0, .upper = 0,
	  .exec = cmd_node_ls },
	{ .group = "node", .verb = "show", .usage = "N",
	  .help = "show a node", .lower = 1, .upper = 1,
	  .exec = cmd_node_show },
	{ .group = "node", .verb = "label", .usage = "N k=v ... [k-]",
	  .help = "set (or with k- remove) labels", .lower = 2, .upper = -1,
	  .exec = cmd_node_label },
	{ .group = "node", .verb = "rm", .alias = "remove",
	  .usage = "[--force] [--yes] N",
	  .help = "remove a node from the grid (its id is revoked)",
	  .lower = 1, .upper = 1, .opts = CMD_OPT(FORCE) | CMD_OPT(YES),
	  .opt_help = {
	    [CLI_OPT_FORCE] = "remove it even while its agent is connected "
		"(the agent is refused from then on)" },
	  .exec = cmd_node_rm },
	/* node operations: cmd_node_ops.c (docs/nodes.md) */
	{ .group = "node", .verb = "cordon", .usage = "N",
	  .help = "take no new instance, daemon or job on a node (what runs "
	    "there stays)", .lower = 1, .upper = 1,
	  .exec = cmd_node_cordon },
	{ .group = "node", .verb = "uncordon", .usage = "N",
	  .help = "let a node take work again (cancels a drain)",
	  .lower = 1, .upper = 1, .exec = cmd_node_uncordon },
	{ .group = "node", .verb = "drain", .usage = "[--deadline DUR] "
	    "[--no-wait] N",
	  .help = "cordon a node and move its work off it, start-before-stop",
	  .lower = 1, .upper = 1, .opts = CMD_OPT(DEADLINE) |
	    CMD_OPT(NO_WAIT), .exec = cmd_node_drain },
	{ .group = "node", .verb = "approve", .usage = "N",
	  .help = "admit a pending node: it takes work from now on",
	  .lower = 1, .upper = 1, .exec = cmd_node_approve },
	{ .group = "node", .verb = "protect", .usage = "[--off] N",
	  .help = "never choose a node for scale-in (node groups)",
	  .lower = 1, .upper = 1, .opts = CMD_OPT(OFF),
	  .exec = cmd_node_protect },

	/* stack: cmd_stack.c */
	{ .group = "stack", .verb = "install",
	  .usage = "FILE [--name S] [-v K=V]... [--values-from F] "
	    "[--values-to F] [--no-deploy] [--dry-run]",
	  .help = "install a stack file and deploy it", .lower = 1,
	  .upper = 1, .opts = CMD_OPT(NAME) | CMD_OPT(VAR) |
	    CMD_OPT(VALUES_FROM) | CMD_OPT(VALUES_TO) | CMD_OPT(NO_DEPLOY) |
	    CMD_OPT(DRY_RUN),
	  .opt_help = {
	    [CLI_OPT_NAME] = "the stack's name (default: the file's "
		"`stack:` name)" },
	  .exec = cmd_stack_install },
	{ .group = "stack", .verb = "upgrade",
	  .usage = "S FILE [-v K=V]... [--values-from F] [--values-to F] "
	    "[--no-deploy] [--dry-run] [--yes]",
	  .help = "upgrade a stack and deploy it (its values so far are "
	    "kept)", .lower = 2, .upper = 2,
	  .opts = CMD_OPT(VAR) | CMD_OPT(VALUES_FROM) | CMD_OPT(VALUES_TO) |
	    CMD_OPT(NO_DEPLOY) | CMD_OPT(DRY_RUN) | CMD_OPT(YES),
	  .opt_help = {
	    [CLI_OPT_YES] = "do not ask before removing services the file "
		"no longer has (it asks only on a terminal)" },
	  .exec = cmd_stack_upgrade },
	{ .group = "stack", .verb = "validate",
	  .usage = "FILE [-v K=V]... [--values-from F] [--name S]",
	  .help = "check a stack file as install would, writing nothing",
	  .lower = 1, .upper = 1,
	  .opts = CMD_OPT(VAR) | CMD_OPT(VALUES_FROM) | CMD_OPT(NAME),
	  .opt_help = {
	    [CLI_OPT_NAME] = "the name it would be installed under" },
	  .exec = cmd_stack_validate },
	{ .group = "stack", .verb = "ls", .alias = "list", .usage = "",
	  .help = "list stacks", .lower = 0, .upper = 0,
	  .exec = cmd_stack_ls },
	{ .group = "stack", .verb = "show", .usage = "S",
	  .help = "show a stack and its services", .lower = 1, .upper = 1,
	  .exec = cmd_stack_show },
	{ .group = "stack", .verb = "rm", .alias = "remove",
	  .usage = "[--force] [--yes] S",
	  .help = "remove a stack and its containers", .lower = 1,
	  .upper = 1, .opts = CMD_OPT(FORCE) | CMD_OPT(YES),
	  .opt_help = {
	    [CLI_OPT_FORCE] = "remove it even while a deploy is in "
		"progress, and do not ask" },
	  .exec = cmd_stack_rm },
	{ .group = "stack", .verb = "deploy", .usage = "S",
	  .help = "deploy a stack again and follow it", .lower = 1,
	  .upper = 1, .exec = cmd_stack_deploy },
	{ .group = "stack", .verb = "logs",
	  .usage = "[-f] [--tail N] [--since DUR] [-t] S",
	  .help = "print the logs of a stack's containers", .lower = 1,
	  .upper = 1, .opts = CMD_OPT(FOLLOW) | CMD_OPT(TAIL) |
	  CMD_OPT(SINCE) | CMD_OPT(TIMESTAMPS),
	  .exec = cmd_stack_logs },
	/* stack lifecycle: cmd_lifecycle.c */
	{ .group = "stack", .verb = "stop", .usage = "S",
	  .help = "stop every service of a stack (kept, 0 running)",
	  .lower = 1, .upper = 1, .exec = cmd_stack_stop },
	{ .group = "stack", .verb = "start", .usage = "S",
	  .help = "start a stack's stopped services and follow the deploy",
	  .lower = 1, .upper = 1, .exec = cmd_stack_start },
	{ .group = "stack", .verb = "restart", .usage = "S",
	  .help = "restart a stack's services, rolling within min_health",
	  .lower = 1, .upper = 1, .exec = cmd_stack_restart },
	{ .group = "stack", .verb = "deploys", .usage = "S",
	  .help = "list a stack's deploys and why they failed", .lower = 1,
	  .upper = 1, .exec = cmd_stack_deploys },

	/* service: cmd_service.c */
	{ .group = "service", .verb = "ls", .alias = "list", .usage = "",
	  .help = "list services", .lower = 0, .upper = 0,
	  .exec = cmd_service_ls },
	{ .group = "service", .verb = "show", .usage = "STACK/SVC",
	  .help = "show a service", .lower = 1, .upper = 1,
	  .exec = cmd_service_show },
	{ .group = "service", .verb = "scale", .usage = "STACK/SVC N",
	  .help = "set the number of instances", .lower = 2, .upper = 2,
	  .exec = cmd_service_scale },
	{ .group = "service", .verb = "containers", .alias = "ps",
	  .usage = "STACK/SVC",
	  .help = "list a service's containers", .lower = 1, .upper = 1,
	  .exec = cmd_service_containers },
	{ .group = "service", .verb = "logs",
	  .usage = "[-f] [--tail N] [--since DUR] [-t] STACK/SVC",
	  .help = "print the logs of a service's containers", .lower = 1,
	  .upper = 1, .opts = CMD_OPT(FOLLOW) | CMD_OPT(TAIL) |
	  CMD_OPT(SINCE) | CMD_OPT(TIMESTAMPS),
	  .exec = cmd_service_logs },

	/* container: cmd_logs.c */
	{ .group = "container", .verb = "logs",
	  .usage = "[-f] [--tail N] [--since DUR] [-t] NAME",
	  .help = "print a container's logs (NAME, or an id prefix)",
	  .lower = 1, .upper = 1, .opts = CMD_OPT(FOLLOW) | CMD_OPT(TAIL) |
	  CMD_OPT(SINCE) | CMD_OPT(TIMESTAMPS),
	  .exec = cmd_container_logs },

	/* job: cmd_job.c */
	{ .group = "job", .verb = "run",
	  .usage = "[--name J] [--cpus N] [--memory SIZE] [--affinity RULE]... "
	    "[--timeout DUR] [--retries N] [--backoff DUR] [--parallel N] "
	    "[--priority N] [--env K=V]... [--label k=v]... [--wait] "
	    "IMAGE [CMD...] | -f FILE [--name J] [--wait]",
	  .help = "run a job to completion, queued until a node has room",
	  .lower = 0, .upper = -1, .stop = 1,
	  .opts = CMD_OPT(NAME) | CMD_OPT(CPUS) | CMD_OPT(MEMORY) |
	    CMD_OPT(AFFINITY) | CMD_OPT(TIMEOUT) | CMD_OPT(RETRIES) |
	    CMD_OPT(BACKOFF) | CMD_OPT(PARALLEL) | CMD_OPT(PRIORITY) |
	    CMD_OPT(ENV) | CMD_OPT(LABEL) | CMD_OPT(WAIT) | CMD_OPT(FILE),
	  .opt_help = {
	    [CLI_OPT_NAME] = "the job's name (default: job-<id>)",
	    [CLI_OPT_LABEL] = "a label of the job and its containers "
		"(repeat for more)" },
	  .exec = cmd_job_run },
	{ .group = "job", .verb = "ls", .alias = "list", .usage = "[--state STATE]",
	  .help = "list jobs, newest first", .lower = 0, .upper = 0,
	  .opts = CMD_OPT(STATE), .exec = cmd_job_ls },
	{ .group = "job", .verb = "show", .usage = "J",
	  .help = "show a job, its tasks and attempts", .lower = 1, .upper = 1,
	  .exec = cmd_job_show },
	{ .group = "job", .verb = "logs",
	  .usage = "[-f] [--tail N] [--since DUR] [-t] J",
	  .help = "print a job's output (every task and attempt)",
	  .lower = 1, .upper = 1, .opts = CMD_OPT(FOLLOW) | CMD_OPT(TAIL) |
	  CMD_OPT(SINCE) | CMD_OPT(TIMESTAMPS), .exec = cmd_job_logs },
	{ .group = "job", .verb = "cancel", .usage = "J",
	  .help = "cancel a job (its running containers are stopped)",
	  .lower = 1, .upper = 1, .exec = cmd_job_cancel },
	{ .group = "job", .verb = "rm", .alias = "remove", .usage = "[--force] J",
	  .help = "remove a finished job and its containers", .lower = 1,
	  .upper = 1, .opts = CMD_OPT(FORCE),
	  .opt_help = {
	    [CLI_OPT_FORCE] = "cancel it first if it has not finished" },
	  .exec = cmd_job_rm },
	{ .group = "job", .verb = "wait", .usage = "J",
	  .help = "wait for a job to end; exit with its status", .lower = 1,
	  .upper = 1, .exec = cmd_job_wait },

	{ .group = "service", .verb = "exec",
	  .usage = "[-it] STACK/SVC[/N] -- CMD...",
	  .help = "run a command in a container of the service", .lower = 2,
	  .upper = -1, .stop = 1, .opts = CMD_OPT(INTERACTIVE) | CMD_OPT(TTY),
	  .exec = cmd_service_exec },
	/* service lifecycle: cmd_lifecycle.c */
	{ .group = "service", .verb = "stop", .usage = "STACK/SVC",
	  .help = "stop a service: kept, with 0 running", .lower = 1,
	  .upper = 1, .exec = cmd_service_stop },
	{ .group = "service", .verb = "start", .usage = "STACK/SVC",
	  .help = "start a stopped service and follow the deploy",
	  .lower = 1, .upper = 1, .exec = cmd_service_start },
	{ .group = "service", .verb = "restart", .usage = "STACK/SVC",
	  .help = "restart every instance, rolling within min_health",
	  .lower = 1, .upper = 1, .exec = cmd_service_restart },
	{ .group = "service", .verb = "rm", .alias = "remove",
	  .usage = "[--force] STACK/SVC",
	  .help = "remove a service from its stack", .lower = 1, .upper = 1,
	  .opts = CMD_OPT(FORCE),
	  .opt_help = {
	    [CLI_OPT_FORCE] = "remove it even while another service links "
		"to it or a deploy is in progress" },
	  .exec = cmd_service_rm },

	/* container: cmd_exec.c */
	{ .group = "container", .verb = "exec",
	  .usage = "[-it] NAME -- CMD...",
	  .help = "run a command in a container (names as `service "
	      "containers` shows them)", .lower = 2, .upper = -1, .stop = 1,
	  .opts = CMD_OPT(INTERACTIVE) | CMD_OPT(TTY),
	  .exec = cmd_container_exec },

	/* network: cmd_network.c */
	{ .group = "network", .verb = "ls", .alias = "list", .usage = "",
	  .help = "list the grid's networks (its overlay: prefix, VXLAN id, "
	    "domain)", .lower = 0, .upper = 0, .exec = cmd_network_ls },
	{ .group = "network", .verb = "show", .usage = "NAME",
	  .help = "show a network: every node's subnet and underlay address",
	  .lower = 1, .upper = 1, .exec = cmd_network_show },

	/* vault: cmd_vault.c */
	{ .group = "vault", .verb = "ls", .alias = "list", .usage = "",
	  .help = "list the grid's secrets (names, never values)",
	  .lower = 0, .upper = 0, .exec = cmd_vault_ls },
	{ .group = "vault", .verb = "write", .usage = "NAME [VALUE|-]",
	  .help = "write a new secret (the value from stdin without VALUE)",
	  .lower = 1, .upper = 2, .exec = cmd_vault_write },
	{ .group = "vault", .verb = "update", .usage = "[--upsert] NAME "
	    "[VALUE|-]",
	  .help = "change a secret; services that use it take it with their "
	    "next deploy", .lower = 1, .upper = 2, .opts = CMD_OPT(UPSERT),
	  .exec = cmd_vault_update },
	{ .group = "vault", .verb = "read", .usage = "NAME",
	  .help = "print a secret's value (recorded in the grid's events)",
	  .lower = 1, .upper = 1, .exec = cmd_vault_read },
	{ .group = "vault", .verb = "rm", .alias = "remove",
	  .usage = "[--force] NAME",
	  .help = "remove a secret", .lower = 1, .upper = 1,
	  .opts = CMD_OPT(FORCE),
	  .opt_help = {
	    [CLI_OPT_FORCE] = "remove it even while services use it" },
	  .exec = cmd_vault_rm },

	/* commands of one word: help.c */
	{ .group = "version", .usage = "",
	  .help = "print the version", .lower = 0, .upper = 0,
	  .exec = cmd_version },
	{ .group = "help", .usage = "[GROUP [VERB]]",
	  .help = "help on everything, a group or a command", .lower = 0,
	  .upper = 2, .exec = cmd_help },
};
const size_t cmd_ntable = N(cmd_table);

const struct cmd_group *
cmd_find_group(const char *word)
{
	size_t i;

	for (i = 0; i < cmd_ngroups; i++) {
		if (strcmp(cmd_groups[i].name, word) == 0 ||
		    (cmd_groups[i].alias != NULL &&
		    strcmp(cmd_groups[i].alias, word) == 0))
			return &cmd_groups[i];
	}
	return NULL;
}

const struct cmd_entry *
cmd_find_word(const char *word)
{
	size_t i;

	for (i = 0; i < cmd_ntable; i++) {
		if (cmd_table[i].verb == NULL &&
		    strcmp(cmd_table[i].group, word) == 0)
			return &cmd_table[i];
	}
	return NULL;
}

const struct cmd_entry *
cmd_find_verb(const struct cmd_group *g, const char *verb)
{
	const struct cmd_entry *e;
	size_t i;

	for (i = 0; i < cmd_ntable; i++) {
		e = &cmd_table[i];
		if (e->verb == NULL || strcmp(e->group, g->name) != 0)
			continue;
		if (strcmp(e->verb, verb) == 0 ||
		    (e->alias != NULL && strcmp(e->alias, verb) == 0))
			return e;
	}
	return NULL;
}

uint64_t
cmd_accepts(const struct cmd_entry *e)
{
	return CMD_OPTS_GLOBAL | e->opts;
}

const char *
cmd_name(const struct cmd_entry *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", e->group, e->verb ? " " : "",
	    e->verb ? e->verb : "");
	return buf;
}

static void __attribute__((format(printf, 1, 2), noreturn))
cmd_broken(const char *fmt, ...)
{
	va_list ap;

	fputs("berth: command table: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/*
 * Does usage mention option o, as "--name" or as its letter in a word of
 * short flags ("[-it]")? A usage line that omits an option it takes would
 * hide it from `berth --help`.
 */
static int
cmd_usage_mentions(const char *usage, const struct cmd_option *o)
{
	const char *p;
	size_t len = strlen(o->name);

	for (p = usage; (p = strstr(p, "--")) != NULL; p += 2) {
		if (strncmp(p + 2, o->name, len) == 0 &&
		    strchr(" ]|=", p[2 + len]) != NULL)
			return 1;
	}
	if (o->letter == 0)
		return 0;
	for (p = usage; (p = strchr(p, '-')) != NULL; p++) {
		if ((p != usage && p[-1] != ' ' && p[-1] != '[') ||
		    p[1] == '-')
			continue;
		for (p++; *p != '\0' && strchr(" ]|", *p) == NULL; p++) {
			if (*p == o->letter)
				return 1;
		}
		if (*p == '\0')
			break;
	}
	return 0;
}

/* e's option rules (see cmd_check()); name is e's, for the message. */
static void
cmd_check_options(const struct cmd_entry *e, const char *name)
{
	const struct cmd_option *opt, *other;
	uint64_t acc = cmd_accepts(e);
	int o, p;

	for (o = 0; o < CLI_OPT__COUNT; o++) {
		opt = &cmd_options[o];
		if (!(acc & ((uint64_t)1 << o))) {
			if (e->opt_help[o] != NULL)
				cmd_broken("%s: help for --%s, which it does "
				    "not take", name, opt->name);
			continue;
		}
		if (!(CMD_OPTS_GLOBAL & ((uint64_t)1 << o)) &&
		    !cmd_usage_mentions(e->usage, opt))
			cmd_broken("%s: usage does not mention --%s", name,
			    opt->name);
		for (p = 0; p < o && opt->letter != 0; p++) {
			other = &cmd_options[p];
			if ((acc & ((uint64_t)1 << p)) &&
			    other->letter == opt->letter)
				cmd_broken("%s: -%c is both --%s and --%s", name,
				    opt->letter, other->name, opt->name);
		}
	}
}

/*
 * The rules: every option has a row and a unique long name; a group's
 * words are its own, it has a command and its default verb exists; a
 * command's group exists (or, for a one-word command, its word is no
 * group's); verbs and aliases are unique in their group; the bounds are
 * sane; no command takes two options of one letter (which would then be
 * ambiguous); the usage line mentions each option a command takes beyond
 * the global ones; a command's own option help is for options it takes.
 */
void
cmd_check(void)
{
	const struct cmd_option *opt;
	const struct cmd_entry *e;
	const struct cmd_group *g;
	char name[64];
	size_t i, j;
	int o, p;

	for (o = 0; o < CLI_OPT__COUNT; o++) {
		opt = &cmd_options[o];
		if (opt->name == NULL || opt->help == NULL)
			cmd_broken("option %d has no row", o);
		for (p = 0; p < o; p++) {
			if (strcmp(opt->name, cmd_options[p].name) == 0)
				cmd_broken("two options --%s", opt->name);
		}
	}
	for (i = 0; i < cmd_ngroups; i++) {
		g = &cmd_groups[i];
		if (cmd_find_group(g->name) != g || (g->alias != NULL &&
		    cmd_find_group(g->alias) != g))
			cmd_broken("group %s: its word is taken", g->name);
		if (g->dflt != NULL && cmd_find_verb(g, g->dflt) == NULL)
			cmd_broken("group %s: no verb %s", g->name, g->dflt);
		for (j = 0; j < cmd_ntable; j++) {
			if (strcmp(cmd_table[j].group, g->name) == 0)
				break;
		}
		if (j == cmd_ntable)
			cmd_broken("group %s has no command", g->name);
	}
	for (i = 0; i < cmd_ntable; i++) {
		e = &cmd_table[i];
		cmd_name(e, name, sizeof name);
		if (e->usage == NULL || e->help == NULL || e->exec == NULL)
			cmd_broken("%s: no usage, help or function", name);
		/* A lookup finds the first row: any earlier one of the
		   same word would shadow this one. */
		g = e->verb ? cmd_find_group(e->group) : NULL;
		if (e->verb == NULL ? cmd_find_group(e->group) != NULL ||
		    cmd_find_word(e->group) != e : g == NULL ||
		    cmd_find_verb(g, e->verb) != e ||
		    (e->alias != NULL && cmd_find_verb(g, e->alias) != e))
			cmd_broken("%s: its group, verb or alias does not fit "
			    "or is taken", name);
		if (e->lower < 0 || (e->upper != -1 && e->upper < e->lower) ||
		    e->stop < 0)
			cmd_broken("%s: bad argument bounds", name);
		cmd_check_options(e, name);
	}
}
