/*
 * hub_desired.h - a node's desired container set, and the states its agent
 * reports back, translated between the store and protocol frames.
 *
 * Used by the hub (ws thread) with its own store connection.
 */
#ifndef BERTH_HUB_DESIRED_H
#define BERTH_HUB_DESIRED_H

#include "master/store.h"

#include <jansson.h>

/*
 * The node's desired set as the fields of a desired frame: {"containers":
 * [...], "jobs": [...], "jobs_done": [ids]} (docs/protocol.md, "desired"),
 * with each service's secrets opened with key into its containers'
 * environment. NULL on a store error.
 */
json_t	*desired_build(struct store *st, const unsigned char *key,
	    const char *node_id);
/*
 * Record a state frame's "jobs" (validated here): the ids of jobs that
 * changed go to *changed (caller frees); *desired is 1 when the node's
 * desired set changed with them. 0, or -1 with *cause.
 */
int	 desired_apply_jobs(struct store *st, const char *node_id, json_t *jobs,
	    int64_t **changed, size_t *nchanged, int *desired, char **cause);

/*
 * Record a "state" frame's containers for node_id in one transaction.
 * *grid_changed is set when an instance's state changed (the scheduler and
 * deploys care). 0, or -1 with *cause naming the bad field (nothing is
 * written then).
 */
int	 desired_apply_state(struct store *st, const char *node_id,
	    json_t *containers, int *grid_changed, char **cause);

#endif
