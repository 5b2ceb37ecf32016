/*
 * nodegroup_settings.c - the one table of a node group's settings.
 *
 * Each row is the whole truth about a setting: its name (the JSON key,
 * the store column in node_groups and the CLI's key), type and unit,
 * bounds, shipped default and help. The timings are those of the issue
 * (cluster-autoscaler's): a machine has 15 minutes to join, a node is
 * removed after 10 minutes unneeded, no scale-in for 10 minutes after a
 * launch or 3 after a failure, a failing group backs off 5 minutes
 * doubling to 30. Tests shorten them through the API.
 */
#include "common/nodegroup_settings.h"

#include "common/xmalloc.h"

#include <stddef.h>
#include <string.h>

#define NG_SECONDS(field, def_, min_, max_, help_) {			\
	.name = #field, .type = SETTING_INT, .unit = SETTING_UNIT_SECONDS,	\
	.off = offsetof(struct nodegroup_settings, field), .def = (def_),	\
	.min = (min_), .max = (max_), .help = (help_) }
#define NG_COUNT(field, def_, min_, max_, help_) {			\
	.name = #field, .type = SETTING_INT, .unit = SETTING_UNIT_NONE,	\
	.off = offsetof(struct nodegroup_settings, field), .def = (def_),	\
	.min = (min_), .max = (max_), .help = (help_) }

/* An absolute path, or empty. */
static int
ng_check_path(const char *v, char **cause)
{
	if (v[0] != '\0' && v[0] != '/') {
		xasprintf(cause, "agent must be an absolute path");
		return -1;
	}
	return 0;
}

static int
ng_check_program(const char *v, char **cause)
{
	if (v[0] != '\0' && v[0] != '/') {
		xasprintf(cause, "exec_program must be an absolute path");
		return -1;
	}
	return 0;
}

/* An image reference: [a-z0-9._/:@-], not empty, no leading dash. */
static int
ng_check_image(const char *v, char **cause)
{
	if (v[0] == '\0' || v[0] == '-' || strspn(v,
	    "abcdefghijklmnopqrstuvwxyz0123456789._/:@-") != strlen(v)) {
		xasprintf(cause, "docker_image must be an image reference "
		    "([a-z0-9._/:@-], not empty)");
		return -1;
	}
	return 0;
}

static int
ng_check_socket(const char *v, char **cause)
{
	if (v[0] != '/' || strchr(v, ':') != NULL) {
		xasprintf(cause, "docker_socket must be an absolute path "
		    "(no ':')");
		return -1;
	}
	return 0;
}

static int
ng_check_url(const char *v, char **cause)
{
	if (v[0] != '\0' && strncmp(v, "ws://", 5) != 0 &&
	    strncmp(v, "wss://", 6) != 0) {
		xasprintf(cause, "agent_url must be a ws:// or wss:// URL");
		return -1;
	}
	return 0;
}

/* "K=V K=V", keys [A-Z0-9_]: environment words for the agent. */
static int
ng_check_env(const char *v, char **cause)
{
	const char *p = v, *eq, *end;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, " ");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || eq == p) {
			xasprintf(cause, "agent_env: every word must be "
			    "KEY=VALUE");
			return -1;
		}
		for (; p < eq; p++)
			if (!((*p >= 'A' && *p <= 'Z') || *p == '_' ||
			    (*p >= '0' && *p <= '9'))) {
				xasprintf(cause, "agent_env: keys are "
				    "[A-Z0-9_]");
				return -1;
			}
		p = end;
	}
	return 0;
}

static const struct setting nodegroup_setting_rows[] = {
	NG_COUNT(min, 0, 0, 10000,
	    "machines kept running even without demand"),
	NG_COUNT(max, 10, 0, 10000,
	    "machines at most (requested, launching, joined or leaving)"),
	NG_COUNT(spare, 0, 0, 10000,
	    "warm idle nodes kept beyond demand (the group keeps min + spare "
	    "at least; an idle node is scaled in only above both)"),
	NG_COUNT(priority, 0, 0, 1000000,
	    "groups are tried lowest first; demand overflows to the next"),
	NG_COUNT(cpus, 0, 0, 4096,
	    "template: cpus of a new node (0: not set; learned from the "
	    "group's first node; needed to scale from zero)"),
	{ .name = "memory", .type = SETTING_INT, .unit = SETTING_UNIT_BYTES,
	  .off = offsetof(struct nodegroup_settings, memory), .def = 0,
	  .min = 0, .max = 1LL << 50,
	  .help = "template: memory of a new node (0: not set, not counted; "
	  "learned from the group's first node)" },
	NG_SECONDS(provision_timeout_s, 900, 1, 86400,
	    "a machine not joined this long after launch is terminated"),
	NG_SECONDS(unneeded_s, 600, 1, 86400,
	    "a node unneeded this long is drained and terminated"),
	NG_SECONDS(delay_after_add_s, 600, 0, 86400,
	    "no scale-in in this group for this long after a launch"),
	NG_SECONDS(delay_after_failure_s, 180, 0, 86400,
	    "no scale-in in this group for this long after a failure"),
	NG_SECONDS(backoff_s, 300, 1, 86400,
	    "a failed launch stops launches for this long, doubling"),
	NG_SECONDS(backoff_max_s, 1800, 1, 86400,
	    "the backoff grows up to this"),
	NG_SECONDS(stop_grace_s, 10, 0, 3600,
	    "terminate: SIGTERM, then SIGKILL after this (process provider)"),
	NG_SECONDS(drain_deadline_s, 600, 1, 7 * 86400,
	    "a drain of a node of the group stops what is left after this"),
	NG_COUNT(max_jobs_per_node, 0, 0, 1000000,
	    "a node that ran this many jobs is drained (its jobs end first) "
	    "and terminated, even at min (0: never)"),
	{ .name = "agent", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, agent),
	  .size = NODEGROUP_AGENT_MAX, .def_str = "", .check = ng_check_path,
	  .help = "process: the berth-agent to run (\"\": beside berth-master)" },
	{ .name = "agent_url", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, agent_url),
	  .size = NODEGROUP_AGENT_MAX, .def_str = "", .check = ng_check_url,
	  .help = "process: the URL agents dial (\"\": the master's agent "
	  "listener)" },
	{ .name = "agent_env", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, agent_env),
	  .size = NODEGROUP_AGENT_MAX, .def_str = "", .check = ng_check_env,
	  .help = "process: more environment for the agent, \"K=V K=V\" "
	  "(no secrets: settings are shown)" },
	{ .name = "exec_program", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, exec_program),
	  .size = NODEGROUP_AGENT_MAX, .def_str = "",
	  .check = ng_check_program,
	  .help = "exec: the program run as `PROGRAM create|delete|list` "
	  "(JSON on stdin and stdout)" },
	NG_SECONDS(exec_timeout_s, 120, 1, 3600,
	    "exec, docker: one call at most this long; then its process "
	    "group is killed"),
	NG_SECONDS(list_interval_s, 300, 0, 86400,
	    "exec, docker, aws-asg, process: list the provider's instances "
	    "this often, to delete orphans, find lost machines and (aws-asg) "
	    "failed launches (0: never)"),
	{ .name = "docker_image", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, docker_image),
	  .size = NODEGROUP_AGENT_MAX, .def_str = "berth-agent:local",
	  .check = ng_check_image,
	  .help = "docker: the agent's image (scripts/agent-image.sh builds "
	  "berth-agent:local from this build's berth-agent)" },
	{ .name = "docker_socket", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, docker_socket),
	  .size = NODEGROUP_AGENT_MAX, .def_str = "/var/run/docker.sock",
	  .check = ng_check_socket,
	  .help = "docker: the Engine's socket, mounted into each agent's "
	  "container" },
	{ .name = "asg_name", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, asg_name),
	  .size = 256, .def_str = "",
	  .help = "aws-asg: the Auto Scaling group (MinSize 0, MaxSize at "
	  "least max; one per AZ is best)" },
	{ .name = "region", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, region),
	  .size = 40, .def_str = "",
	  .help = "aws-asg: the group's region, such as eu-west-1" },
	{ .name = "endpoint", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, endpoint),
	  .size = NODEGROUP_AGENT_MAX, .def_str = "",
	  .help = "aws-asg: the Auto Scaling endpoint (\"\": AWS's for the "
	  "region; http:// only on loopback)" },
	{ .name = "credentials_file", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, credentials_file),
	  .size = NODEGROUP_AGENT_MAX, .def_str = "",
	  .help = "aws-asg: an AWS credentials file (\"\": the master's "
	  "environment); the secret itself is never a setting" },
	{ .name = "profile", .type = SETTING_STRING,
	  .off = offsetof(struct nodegroup_settings, profile),
	  .size = 72, .def_str = "",
	  .help = "aws-asg: the profile in the credentials file (\"\": "
	  "AWS_PROFILE or default)" },
	NG_COUNT(cost_per_hour, 0, 0, 1000000000,
	    "a machine's cost per hour, in your smallest unit (cents); for "
	    "the grid's max_cost_per_hour"),
	{ .name = "dry_run", .type = SETTING_BOOL,
	  .off = offsetof(struct nodegroup_settings, dry_run), .def = 0,
	  .help = "decide as usual, say so in events, call no provider" },
	{ .name = "paused", .type = SETTING_BOOL,
	  .off = offsetof(struct nodegroup_settings, paused), .def = 0,
	  .help = "launch nothing, scale in nothing (machines on their way "
	  "still join)" },
};

/* Rules across settings. */
static int
nodegroup_settings_check(const void *base, const char **field, char **cause)
{
	const struct nodegroup_settings *ns = base;

	if (ns->min > ns->max) {
		*field = "min";
		xasprintf(cause, "min (%lld) must be at most max (%lld)",
		    (long long)ns->min, (long long)ns->max);
		return -1;
	}
	if (ns->min + ns->spare > ns->max) {
		*field = "spare";
		xasprintf(cause, "min + spare (%lld + %lld) must be at most max "
		    "(%lld)", (long long)ns->min, (long long)ns->spare,
		    (long long)ns->max);
		return -1;
	}
	if (ns->backoff_max_s < ns->backoff_s) {
		*field = "backoff_max_s";
		xasprintf(cause, "backoff_max_s (%lld) must be at least "
		    "backoff_s (%lld)", (long long)ns->backoff_max_s,
		    (long long)ns->backoff_s);
		return -1;
	}
	return 0;
}

const struct setting_table nodegroup_settings_table = {
	.what = "node group",
	.rows = nodegroup_setting_rows,
	.n = sizeof nodegroup_setting_rows / sizeof nodegroup_setting_rows[0],
	.size = sizeof(struct nodegroup_settings),
	.check = nodegroup_settings_check,
};

void
nodegroup_settings_default(struct nodegroup_settings *ns)
{
	settings_defaults(&nodegroup_settings_table, ns);
}

const char *const nodegroup_providers[] = {
	"process", "docker", "exec", "aws-asg", NULL
};

int
nodegroup_provider_available(const char *name)
{
	return strcmp(name, "process") == 0 || strcmp(name, "exec") == 0 ||
	    strcmp(name, "docker") == 0 || strcmp(name, "aws-asg") == 0;
}
