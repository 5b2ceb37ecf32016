/*
 * group_stats.h - node groups' counters for GET /metrics, kept in memory
 * (since the master started, as Prometheus counters are).
 *
 * The scheduler thread counts its decisions (master/sched_groups.c); the
 * API threads read them (master/api_events.c). Any thread; one lock.
 */
#ifndef BERTH_GROUP_STATS_H
#define BERTH_GROUP_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum group_stat {
	GROUP_STAT_SCALE_UP = 0,	/* scale-up decisions */
	GROUP_STAT_LAUNCH,		/* machines those asked for */
	GROUP_STAT_SCALE_DOWN,		/* nodes drained for scale-in */
	GROUP_STAT_FAILURE,		/* machines that failed or timed out */
	GROUP_STAT_N
};

/* Add n to a group's counter. */
void	 group_stats_add(int64_t group_id, enum group_stat which, int n);
/* A group's counter. */
uint64_t group_stats_get(int64_t group_id, enum group_stat which);
/* The demand (instances and job tasks waiting for a node) of a grid's
 * last round, and reading it (-1: no round yet). */
void	 group_stats_demand(int64_t grid_id, int n);
int	 group_stats_demand_get(int64_t grid_id);

/*
 * Deploys waiting for capacity (docs/autoscaling.md): the scheduler
 * round of grid_id says which services wait for machines on their way,
 * waiting being {"<service id>": {"text": "2 nodes of burst-a", "since":
 * epoch ms, "timeout_s": 900}, ...} (the grid's previous set is
 * replaced). Readers get "waiting for 2 nodes of burst-a, 1m12s of 15m"
 * into buf: 1, or 0 when service_id waits for none.
 */
void	 group_stats_waiting(int64_t grid_id, json_t *waiting);
int	 group_stats_waiting_text(int64_t service_id, int64_t now_ms,
	    char *buf, size_t len);

#endif
