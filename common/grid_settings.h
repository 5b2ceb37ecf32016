/*
 * grid_settings.h - a grid's settings: the struct and the table that
 * declares each of them (common/settings.h is the engine).
 *
 * The master keeps one struct grid_settings per grid (store columns of the
 * same names), the scheduler reads its timings through
 * sched_settings_from_grid(), the hub its heartbeat and offline window,
 * and the CLI prints grid_settings_table's rows in `berth grid set --help`.
 * To add a setting: a field here and a row in grid_settings.c; the store
 * column, the API, the JSON and the help follow from the row.
 */
#ifndef BERTH_GRID_SETTINGS_H
#define BERTH_GRID_SETTINGS_H

#include <stdint.h>

#include "common/settings.h"

#define GRID_WEBHOOK_URL_MAX	512
#define GRID_WEBHOOK_EVENTS_MAX	512
#define GRID_NETWORK_CIDR_MAX	32	/* "255.255.255.255/32" and NUL */

struct grid_settings {
	int64_t	 heartbeat_interval_s;	/* agent ping period */
	int64_t	 offline_after_s;	/* silence before a node is offline */
	int64_t	 ephemeral_removal_s;	/* offline time before removal */
	int64_t	 ha_grace_s;		/* ha: offline time before replacing */
	int64_t	 random_grace_s;	/* random: likewise */
	int64_t	 rebalance_settle_s;	/* a new node attracts moves after */
	int64_t	 move_cooldown_s;	/* a moved instance rests this long */
	int64_t	 instance_settle_s;	/* up this long before it is running */
	int	 dry_run;		/* balancer/reaper plan but do not act */
	int64_t	 job_lost_grace_s;	/* job on an offline node: lost after */
	int64_t	 job_retention_s;	/* finished jobs are kept this long */
	int64_t	 job_retention_max;	/* and at most this many per grid */
	int64_t	 logs_max_bytes;	/* container logs kept for the grid */
	int64_t	 logs_max_age_s;	/* older lines are deleted */
	int64_t	 logs_container_pct;	/* one container's share at most */
	int64_t	 drain_deadline_s;	/* a drain stops what is left after */
	/* node groups (docs/autoscaling.md): 0 is no limit */
	int64_t	 max_nodes_total;	/* nodes and machines on their way */
	int64_t	 max_cost_per_hour;	/* sum of the groups' cost_per_hour */
	int64_t	 max_launches_per_hour;	/* machines launched, last hour */
	/* the grid's webhook (docs/autoscaling.md, "Notifications") */
	/* "": none; a secret: sealed once applied (settings.h) */
	char	 webhook_url[SETTING_SEALED_SIZE(GRID_WEBHOOK_URL_MAX)];
	char	 webhook_events[GRID_WEBHOOK_EVENTS_MAX]; /* "a.,b.c" */
	int64_t	 webhook_timeout_s;	/* one POST at most this long */
	int64_t	 webhook_retries;	/* failed POSTs tried again */
	/* "auto" or "manual": does a new node wait for berth node approve?
	 * (docs/nodes.md, "Pending nodes") */
	char	 join_approval[8];
	/* the grid network (docs/network.md) */
	char	 network_cidr[GRID_NETWORK_CIDR_MAX]; /* overlay prefix */
	int64_t	 network_node_prefix;	/* each node's subnet: a /this */
};

/*
 * 1 when an event of this type is one webhook_events chooses: each of its
 * comma-separated entries is a prefix of the types it takes ("machine."
 * every machine event, "node.drain" node.drain, node.drain_done ...), "*"
 * every type.
 */
int	 grid_webhook_wants(const char *events, const char *type);

extern const struct setting_table grid_settings_table;

/* Every setting at its shipped default. */
void	 grid_settings_default(struct grid_settings *gs);

#endif
