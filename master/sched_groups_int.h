/*
 * sched_groups_int.h - what the parts of the node groups' pass share:
 * sched_groups.c (the pass, its context and helpers, the plan API),
 * sched_groups_machines.c (provider calls and results, machines'
 * lifecycle), sched_groups_up.c (demand, limits, scale-up) and
 * sched_groups_in.c (scale-in). Scheduler thread only; not for other
 * modules (master/sched_groups.h is their interface).
 */
#ifndef BERTH_SCHED_GROUPS_INT_H
#define BERTH_SCHED_GROUPS_INT_H

#include "master/sched_groups.h"
#include "master/asg_join.h"
#include "master/group_stats.h"
#include "master/provider.h"
#include "master/sched_drain.h"
#include "master/provider_worker.h"
#include "master/sched_sync.h"
#include "master/token.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/units.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GROUPS_MAX_SCALE_IN	10	/* empty nodes terminated per round */

struct groups_ctx {
	struct master		*m;
	struct store		*st;
	int64_t			 grid_id;
	const char		*grid;
	struct sched		*s;
	int64_t			 now;
	struct nodegroup	*groups;
	size_t			 ngroups;
	struct machine		*mach;
	size_t			 nmach;
	const struct grid_settings *gs;		/* the grid's limits */
	json_t			*memo;		/* the grid's said-once notes */
	int			 dry;		/* a plan: write and call nothing */
	json_t			*decisions;	/* what was (or would be) done */
};

int	 groups_acts(const struct groups_ctx *c, const struct nodegroup *g);

void	 groups_agent_path(struct groups_ctx *c, const struct nodegroup *g,
    char *buf, size_t len);

void	 groups_agent_url(struct groups_ctx *c, const struct nodegroup *g,
    char *buf, size_t len);

void	 groups_apply(struct groups_ctx *c, struct provider_res *res);

void	 groups_backoff(struct nodegroup *g, int64_t now);

int	 groups_busy(struct groups_ctx *c, const struct machine *mc);

void	 groups_call(struct groups_ctx *c, const struct provider *p,
    struct provider_req *req);

void	 groups_decide(struct groups_ctx *c, const struct nodegroup *g,
    const char *action, const char *machine, int count, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

const char	*groups_dur(int64_t s, char *buf, size_t len);

int	 groups_fail(struct groups_ctx *c, struct machine *mc, const char *from,
    const char *to, const char *type, const char *why);

struct nodegroup	*groups_find(struct groups_ctx *c, int64_t id);

int	 groups_idle(const struct machine *mc);

void	 groups_joins(struct groups_ctx *c);

void	 groups_launch(struct groups_ctx *c, struct machine *mc);

void	 groups_lifecycle(struct groups_ctx *c, int stand_down);

void	 groups_list_due(struct groups_ctx *c);

struct machine	*groups_machine(struct groups_ctx *c, int64_t id);

void	 groups_node_labels(const struct nodegroup *g, char *buf, size_t len);

int	 groups_plan_demand(const struct sched_plan *p);

void	 groups_reap(struct groups_ctx *c, struct machine *mc);

void	 groups_req(struct groups_ctx *c, const struct nodegroup *g,
    const struct machine *mc, enum provider_op op, struct provider_req *r);

void	 groups_scale_in(struct groups_ctx *c, int growing);

int	 groups_scale_up(struct groups_ctx *c, const struct sched_plan *plan,
    uint64_t seed, char **nofit, json_t *waiting);

int	 groups_target(struct groups_ctx *c, const struct nodegroup *g);

#endif
