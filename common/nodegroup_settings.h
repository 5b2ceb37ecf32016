/*
 * nodegroup_settings.h - a node group's settings: the struct and the table
 * that declares each of them (common/settings.h is the engine).
 *
 * The master keeps one struct nodegroup_settings per group (store columns
 * of the same names in node_groups), the scheduler thread's autoscaler
 * (master/sched_groups.c) reads them, and the CLI prints the table in
 * `berth nodegroup set --help`. Timings ship with the defaults of
 * docs/autoscaling.md and can be shortened for tests.
 */
#ifndef BERTH_NODEGROUP_SETTINGS_H
#define BERTH_NODEGROUP_SETTINGS_H

#include <stdint.h>

#include "common/settings.h"

#define NODEGROUP_AGENT_MAX	512	/* agent path, agent url */

struct nodegroup_settings {
	int64_t	 min;			/* machines kept even without demand */
	int64_t	 spare;			/* warm idle nodes beyond demand */
	int64_t	 max;			/* machines at most */
	int64_t	 priority;		/* lower is tried first */
	int64_t	 cpus;			/* template: a new node's cpus */
	int64_t	 memory;		/* template: its memory, 0 = any */
	int64_t	 provision_timeout_s;	/* launch to join, at most */
	int64_t	 unneeded_s;		/* unneeded this long: scale in */
	int64_t	 delay_after_add_s;	/* no scale-in after a launch for */
	int64_t	 delay_after_failure_s;	/* no scale-in after a failure for */
	int64_t	 backoff_s;		/* first backoff after a failure */
	int64_t	 backoff_max_s;		/* doubling up to this */
	int64_t	 stop_grace_s;		/* terminate: SIGTERM, then SIGKILL */
	int64_t	 drain_deadline_s;	/* a drain stops what is left after */
	int64_t	 max_jobs_per_node;	/* recycle a node after this many
					 * jobs (Kraken), 0: never */
	/* process provider */
	char	 agent[NODEGROUP_AGENT_MAX];	/* berth-agent path, "" beside
						 * berth-master */
	char	 agent_url[NODEGROUP_AGENT_MAX]; /* what agents dial, "" the
						 * master's agent listener */
	char	 agent_env[NODEGROUP_AGENT_MAX]; /* more "K=V K=V" for it */
	/* exec provider */
	char	 exec_program[NODEGROUP_AGENT_MAX]; /* the operator's program */
	int64_t	 exec_timeout_s;	/* one call at most; then killed */
	int64_t	 list_interval_s;	/* list instances this often, 0 never */
	/* docker provider */
	char	 docker_image[NODEGROUP_AGENT_MAX]; /* the agent's image */
	char	 docker_socket[NODEGROUP_AGENT_MAX]; /* the Engine's socket */
	/* aws-asg provider (no secret is ever a setting) */
	char	 asg_name[256];		/* the Auto Scaling group */
	char	 region[40];		/* its region */
	char	 endpoint[NODEGROUP_AGENT_MAX]; /* "" AWS's, else https://... */
	char	 credentials_file[NODEGROUP_AGENT_MAX]; /* "" the master's env */
	char	 profile[72];		/* "" AWS_PROFILE or default */
	/* limits and modes */
	int64_t	 cost_per_hour;		/* a machine's cost, 0: none given */
	int	 dry_run;		/* decide, say so, call nothing */
	int	 paused;		/* no launch, no scale-in */
};

extern const struct setting_table nodegroup_settings_table;

/* Every setting at its shipped default. */
void	 nodegroup_settings_default(struct nodegroup_settings *ns);

/* Providers a group may name; and those that exist in this build. */
extern const char *const nodegroup_providers[];
int	 nodegroup_provider_available(const char *name);

#endif
